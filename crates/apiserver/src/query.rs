//! Query parameters with Kubernetes' conventions.

use std::collections::HashMap;

use crate::status::ApiError;

#[derive(Debug, Default, Clone)]
pub struct Query {
    params: HashMap<String, String>,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decoding of `application/x-www-form-urlencoded` (`+` is a space).
pub fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        let mut params = HashMap::new();
        for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.entry(decode_component(k)).or_insert_with(|| decode_component(v));
        }
        Query { params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A non-empty value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Kubernetes booleans: only absent, `false` and `0` are false (`?watch` is true).
    pub fn flag(&self, name: &str) -> bool {
        !matches!(self.get(name), None | Some("false") | Some("0"))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {name}: {v:?} is not an integer"))),
        }
    }

    /// `dryRun=All` (the only value upstream accepts).
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other}. Supported values: All"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_kubernetes() {
        let q = Query::parse(Some("watch&a=1&b=false&c=0&d=true&e="));
        assert!(q.flag("watch") && q.flag("a") && q.flag("d") && q.flag("e"));
        assert!(!q.flag("b") && !q.flag("c") && !q.flag("missing"));
    }

    #[test]
    fn decodes_percent_escapes() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a,b)"));
        assert_eq!(decode_component("100%"), "100%");
    }
}
