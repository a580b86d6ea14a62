//! ConfigMap and Secret, with the base64 handling their `binaryData`/`data` need.

use serde_json::Value;

use super::names::is_config_map_key;
use super::util::{boolean, each_invalid, get, obj, s, sem_eq, sv, Errs, Path};
use super::Op;
use crate::errors::FieldError;

pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding, as Go's `[]byte` JSON decoding expects. The error is
/// Go's `illegal base64 data at input byte N`.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let err = |i: usize| format!("illegal base64 data at input byte {i}");
    let body = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, &c) in b[..body].iter().enumerate() {
        let v = ALPHABET.iter().position(|&a| a == c).ok_or_else(|| err(i))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if !b.len().is_multiple_of(4) || b.len() - body > 2 || (b.len() - body > 0 && body % 4 < 2) {
        return Err(err(body.min(b.len().saturating_sub(1)) / 4 * 4));
    }
    Ok(out)
}

/// Decoded sizes of a base64 map, reporting undecodable values.
fn decoded(v: &Value, key: &str, p: &Path, errs: &mut Errs) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (k, val) in obj(v, key).into_iter().flatten() {
        match base64_decode(val.as_str().unwrap_or("")) {
            Ok(b) => out.push((k.clone(), b)),
            Err(e) => errs.push(FieldError::invalid(p.key(k), sv("<secret contents redacted>"), e)),
        }
    }
    out
}

pub fn validate_config_map(o: &Value, op: Op) -> Errs {
    let mut errs = Vec::new();
    let mut total = 0;
    let binary = obj(o, "binaryData");
    for (k, v) in obj(o, "data").into_iter().flatten() {
        let kp = Path::new("data").key(k);
        errs.extend(each_invalid(&kp, k, is_config_map_key(k)));
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid(&kp, sv(k), "duplicate of key present in binaryData"));
        }
        total += v.as_str().map(str::len).unwrap_or(0);
    }
    let bp = Path::new("binaryData");
    for k in binary.into_iter().flatten().map(|(k, _)| k) {
        errs.extend(each_invalid(&bp.key(k), k, is_config_map_key(k)));
    }
    total += decoded(o, "binaryData", &bp, &mut errs).iter().map(|(_, b)| b.len()).sum::<usize>();
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(Path::new(""), sv(""), MAX_SECRET_SIZE));
    }
    if let Op::Update(old) = op {
        errs.splice(0..0, immutable_data(o, old, &["data", "binaryData"]));
    }
    errs
}

fn immutable_data(new: &Value, old: &Value, keys: &[&str]) -> Errs {
    if boolean(old, "immutable") != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    if boolean(new, "immutable") != Some(true) {
        errs.push(FieldError::forbidden(Path::new("immutable"), "field is immutable when `immutable` is set"));
    }
    for k in keys {
        if !sem_eq(get(new, k), get(old, k)) {
            errs.push(FieldError::forbidden(Path::new(k), "field is immutable when `immutable` is set"));
        }
    }
    errs
}

pub fn validate_secret(o: &Value, op: Op) -> Errs {
    let mut errs = Vec::new();
    if let Op::Update(old) = op {
        errs.extend(super::util::immutable(get(o, "type"), get(old, "type"), &Path::new("type")));
        errs.extend(immutable_data(o, old, &["data"]));
    }
    let dp = Path::new("data");
    for k in obj(o, "data").into_iter().flatten().map(|(k, _)| k) {
        errs.extend(each_invalid(&dp.key(k), k, is_config_map_key(k)));
    }
    let data = decoded(o, "data", &dp, &mut errs);
    if data.iter().map(|(_, b)| b.len()).sum::<usize>() > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&dp, sv(""), MAX_SECRET_SIZE));
    }
    errs.extend(validate_secret_type(o, &data, &dp));
    errs
}

fn validate_secret_type(o: &Value, data: &[(String, Vec<u8>)], dp: &Path) -> Errs {
    let find = |k: &str| data.iter().find(|(n, _)| n == k).map(|(_, b)| b);
    let required = |k: &str| FieldError::required(dp.key(k), "");
    let json_key = |k: &str| -> Errs {
        match find(k) {
            None => vec![required(k)],
            Some(b) => match serde_json::from_slice::<serde_json::Map<String, Value>>(b) {
                Ok(_) => Vec::new(),
                Err(e) => vec![FieldError::invalid(dp.key(k), sv("<secret contents redacted>"), e.to_string())],
            },
        }
    };
    match s(o, "type") {
        "kubernetes.io/service-account-token" => {
            let ann = get(o, "metadata").and_then(|m| obj(m, "annotations"));
            let name = ann.and_then(|a| a.get("kubernetes.io/service-account.name")).and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                return vec![FieldError::required(Path::new("metadata").ch("annotations").key("kubernetes.io/service-account.name"), "")];
            }
            Vec::new()
        }
        "kubernetes.io/dockercfg" => json_key(".dockercfg"),
        "kubernetes.io/dockerconfigjson" => json_key(".dockerconfigjson"),
        "kubernetes.io/basic-auth" if find("username").is_none() && find("password").is_none() => {
            vec![required("username"), required("password")]
        }
        "kubernetes.io/ssh-auth" if find("ssh-privatekey").is_none_or(|b| b.is_empty()) => vec![required("ssh-privatekey")],
        "kubernetes.io/tls" => ["tls.crt", "tls.key"].iter().filter(|k| find(k).is_none()).map(|k| required(k)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::validation::util::msgs;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "hello world"] {
            assert_eq!(base64_decode(&base64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert!(base64_decode("a$==").is_err());
    }

    #[test]
    fn config_map_keys_and_immutability() {
        let cm = json!({"data": {"bad key": "x", "k": "v"}, "binaryData": {"k": "AA=="}});
        let m = msgs(validate_config_map(&cm, Op::Create));
        assert!(m[0].starts_with("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
        assert_eq!(m[1], "data[k]: Invalid value: \"k\": duplicate of key present in binaryData");
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let new = json!({"immutable": true, "data": {"a": "2"}});
        assert_eq!(msgs(validate_config_map(&new, Op::Update(&old))), vec!["data: Forbidden: field is immutable when `immutable` is set"]);
        let big = json!({"data": {"a": "x".repeat(MAX_SECRET_SIZE + 1)}});
        assert_eq!(msgs(validate_config_map(&big, Op::Create)), vec![": Too long: must have at most 1048576 bytes"]);
    }

    #[test]
    fn secret_types() {
        let tls = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}});
        assert_eq!(msgs(validate_secret(&tls, Op::Create)), vec!["data[tls.key]: Required value"]);
        let dc = json!({"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": base64_encode(b"{}")}});
        assert!(validate_secret(&dc, Op::Create).is_empty());
        let old = json!({"type": "Opaque"});
        let new = json!({"type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
        assert_eq!(msgs(validate_secret(&new, Op::Update(&old))), vec!["type: Invalid value: \"kubernetes.io/tls\": field is immutable"]);
    }
}
