//! Projected volume sources.

use serde_json::Value;

use super::util::{arr, get, int, s, sv, Errs, Path};
use super::volumes::{validate_downward_api_file, validate_key_to_path, validate_local_non_reserved_path, validate_mode};
use crate::errors::FieldError;

/// `validateProjectedVolumeSource`.
pub fn validate_projected(src: &Value, p: &Path) -> Errs {
    let mut errs = validate_mode(src, "defaultMode", p);
    let mut paths: Vec<String> = Vec::new();
    for (i, source) in arr(src, "sources").iter().enumerate() {
        let sp = p.ch("sources").ix(i);
        let mut n = 0;
        for key in ["secret", "configMap"] {
            if let Some(x) = get(source, key) {
                n += 1;
                errs.extend(validate_key_ref_source(x, &sp.ch(key), p, &mut paths));
            }
        }
        if let Some(d) = get(source, "downwardAPI") {
            n += 1;
            for f in arr(d, "items") {
                errs.extend(validate_downward_api_file(f, &sp.ch("downwardAPI")));
                errs.extend(note_path(s(f, "path"), p, &mut paths, sv(s(f, "path"))));
            }
        }
        if let Some(t) = get(source, "serviceAccountToken") {
            n += 1;
            errs.extend(validate_token(t, &sp.ch("serviceAccountToken"), p));
        }
        if let Some(b) = get(source, "clusterTrustBundle") {
            n += 1;
            errs.extend(validate_trust_bundle(b, &sp.ch("clusterTrustBundle")));
            errs.extend(note_path(s(b, "path"), p, &mut paths, sv(s(b, "path"))));
        }
        if n > 1 {
            errs.push(FieldError::forbidden(&sp, "may not specify more than 1 volume type per source"));
        }
    }
    errs
}

fn note_path(path: &str, p: &Path, paths: &mut Vec<String>, shown: Value) -> Errs {
    if path.is_empty() {
        return Vec::new();
    }
    if paths.iter().any(|x| x == path) {
        return vec![FieldError::invalid(p, shown, "conflicting duplicate paths")];
    }
    paths.push(path.to_string());
    Vec::new()
}

fn validate_key_ref_source(x: &Value, sp: &Path, p: &Path, paths: &mut Vec<String>) -> Errs {
    let mut errs = Vec::new();
    let name = s(x, "name");
    if name.is_empty() {
        errs.push(FieldError::required(sp.ch("name"), ""));
    }
    for (i, kp) in arr(x, "items").iter().enumerate() {
        errs.extend(validate_key_to_path(kp, &sp.ch("items").ix(i)));
        errs.extend(note_path(s(kp, "path"), p, paths, sv(name)));
    }
    errs
}

fn validate_token(t: &Value, tp: &Path, p: &Path) -> Errs {
    let mut errs = Vec::new();
    let exp = int(t, "expirationSeconds").unwrap_or(0);
    if exp < 600 {
        errs.push(FieldError::invalid(tp.ch("expirationSeconds"), Value::from(exp), "may not specify a duration less than 10 minutes"));
    }
    if exp > 1 << 32 {
        errs.push(FieldError::invalid(tp.ch("expirationSeconds"), Value::from(exp), "may not specify a duration larger than 2^32 seconds"));
    }
    let path = s(t, "path");
    if path.is_empty() {
        errs.push(FieldError::required(p.ch("path"), ""));
    } else {
        errs.extend(validate_local_non_reserved_path(path, &p.ch("path")));
    }
    errs
}

fn validate_trust_bundle(b: &Value, bp: &Path) -> Errs {
    let mut errs = Vec::new();
    match (get(b, "name"), get(b, "signerName")) {
        (Some(_), Some(_)) => errs.push(FieldError::invalid(bp, b.clone(), "only one of name and signerName may be used")),
        (Some(n), None) => {
            if n.as_str() == Some("") {
                errs.push(FieldError::required(bp.ch("name"), "must be a valid object name"));
            }
            if get(b, "labelSelector").is_some() {
                errs.push(FieldError::invalid(bp.ch("labelSelector"), b["labelSelector"].clone(), "labelSelector must be unset if name is specified"));
            }
        }
        (None, Some(sn)) => {
            if sn.as_str() == Some("") {
                errs.push(FieldError::required(bp.ch("signerName"), "must be a valid signer name"));
            }
            errs.extend(super::meta::validate_label_selector(get(b, "labelSelector"), &bp.ch("labelSelector")));
        }
        (None, None) => errs.push(FieldError::required(bp, "either name or signerName must be specified")),
    }
    let path = s(b, "path");
    if path.is_empty() {
        errs.push(FieldError::required(bp.ch("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(path, &bp.ch("path")));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projected_sources() {
        let src = json!({"sources": [
            {"secret": {"name": "s", "items": [{"key": "a", "path": "x"}]}, "configMap": {"name": "c"}},
            {"configMap": {"name": "c", "items": [{"key": "b", "path": "x"}]}},
            {"serviceAccountToken": {"expirationSeconds": 60, "path": "token"}}]});
        let m: Vec<String> = validate_projected(&src, &Path::new("v")).iter().map(|e| e.message()).collect();
        assert_eq!(m, vec![
            "v.sources[0]: Forbidden: may not specify more than 1 volume type per source",
            "v: Invalid value: \"c\": conflicting duplicate paths",
            "v.sources[2].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes",
        ]);
    }
}
