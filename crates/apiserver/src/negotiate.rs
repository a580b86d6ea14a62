//! Content negotiation: which representation the Accept header asks for.

use crate::status::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    /// meta.k8s.io Table (server-side printing).
    Table,
    /// meta.k8s.io PartialObjectMetadata(List).
    PartialMetadata,
}

fn params(media: &str) -> (String, Vec<(String, String)>) {
    let mut parts = media.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect();
    (mime, params)
}

/// The first acceptable representation in the Accept header.
pub fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Ok(Output::Json) };
    for media in accept.split(',') {
        let (mime, params) = params(media);
        if !matches!(mime.as_str(), "application/json" | "*/*" | "application/*" | "*") {
            continue;
        }
        let get = |k: &str| params.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.as_str());
        match get("as") {
            None => return Ok(Output::Json),
            Some(r#as) => {
                if get("g") != Some("meta.k8s.io") || !matches!(get("v"), Some("v1") | Some("v1beta1")) {
                    continue;
                }
                match r#as {
                    "Table" => return Ok(Output::Table),
                    "PartialObjectMetadata" | "PartialObjectMetadataList" => return Ok(Output::PartialMetadata),
                    _ => continue,
                }
            }
        }
    }
    Err(ApiError::not_acceptable())
}

/// Whether the Accept header asks for aggregated discovery (apidiscovery.k8s.io/v2).
pub fn wants_aggregated_discovery(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    for media in accept.split(',') {
        let (mime, params) = params(media);
        let get = |k: &str| params.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.as_str());
        if mime == "application/json" && get("g") == Some("apidiscovery.k8s.io") {
            return get("v") == Some("v2") && get("as") == Some("APIGroupDiscoveryList");
        }
        if mime == "application/json" && get("as").is_none() {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_first_supported() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(kubectl)).unwrap(), Output::Table);
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf, application/json")).unwrap(), Output::Json);
        assert_eq!(negotiate(None).unwrap(), Output::Json);
        assert!(negotiate(Some("application/vnd.kubernetes.protobuf")).is_err());
        let d = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated_discovery(Some(d)));
        assert!(!wants_aggregated_discovery(Some("application/json")));
    }
}
