//! Small accessors on objects held as JSON.

use serde_json::{json, Map, Value};

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata").and_then(|m| m.get(field)).and_then(Value::as_str).unwrap_or("")
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace")
}

pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid")
}

pub fn resource_version(obj: &Value) -> &str {
    meta_str(obj, "resourceVersion")
}

pub fn labels(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(|m| m.get("labels")).and_then(Value::as_object)
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.get("metadata").and_then(|m| m.get("deletionTimestamp")).is_some_and(|t| !t.is_null())
}

/// `metadata` as a mutable map, created if absent or not an object.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().unwrap();
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().unwrap()
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    meta_mut(obj).insert("resourceVersion".into(), json!(rev.to_string()));
}

/// RFC 3339 with seconds, as Kubernetes serializes `metav1.Time`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Upstream's generateName suffix: 5 characters from a consonant-and-digit alphabet.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5).map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char).collect()
}

/// Whether two objects are the same but for what every write changes
/// (resourceVersion, generation). managedFields count: an apply that only takes
/// ownership is a change.
pub fn same_except_volatile(a: &Value, b: &Value) -> bool {
    let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else { return a == b };
    let rest_equal = |x: &Map<String, Value>, y: &Map<String, Value>, skip: &[&str]| {
        let count = |m: &Map<String, Value>| m.keys().filter(|k| !skip.contains(&k.as_str())).count();
        count(x) == count(y) && x.iter().filter(|(k, _)| !skip.contains(&k.as_str())).all(|(k, v)| y.get(k) == Some(v))
    };
    if !rest_equal(am, bm, &["metadata"]) {
        return false;
    }
    match (am.get("metadata").and_then(Value::as_object), bm.get("metadata").and_then(Value::as_object)) {
        (Some(x), Some(y)) => rest_equal(x, y, &["resourceVersion", "generation"]),
        (x, y) => x == y,
    }
}

/// When an Event was last written: its lastTimestamp, series.lastObservedTime,
/// eventTime or creationTimestamp, whichever is latest.
pub fn last_written(obj: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let fields = [&obj["lastTimestamp"], &obj["series"]["lastObservedTime"], &obj["eventTime"], &obj["metadata"]["creationTimestamp"]];
    fields
        .iter()
        .filter_map(|v| v.as_str())
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .max()
}
