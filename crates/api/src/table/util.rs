//! Small accessors and formatters shared by the printers.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Follows a dotted path of object keys.
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, key| cur.get(key))
}

/// String at `path`, or "" when absent or not a string.
pub fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

/// Optional string at `path` (a JSON null counts as absent).
pub fn opt_s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

/// Integer at `path`, or 0.
pub fn int(v: &Value, path: &str) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

/// Optional integer at `path`.
pub fn opt_int(v: &Value, path: &str) -> Option<i64> {
    at(v, path).and_then(Value::as_i64)
}

/// Boolean at `path`, or false.
pub fn boolean(v: &Value, path: &str) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

/// Array at `path`, or an empty slice.
pub fn arr<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Number of entries of the object or array at `path`.
pub fn len(v: &Value, path: &str) -> i64 {
    match at(v, path) {
        Some(Value::Object(m)) => m.len() as i64,
        Some(Value::Array(a)) => a.len() as i64,
        _ => 0,
    }
}

/// The object's metadata.name.
pub fn name(obj: &Value) -> Value {
    Value::from(s(obj, "metadata.name"))
}

/// An annotation value, if set.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    at(obj, "metadata.annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// Whether metadata.deletionTimestamp is set.
pub fn deleting(obj: &Value) -> bool {
    at(obj, "metadata.deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// Parses an RFC 3339 (micro)timestamp; the Go zero time counts as unset.
pub fn parse_time(ts: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(ts?).ok()?.with_timezone(&Utc);
    (t.timestamp() != ZERO_TIME_SECS).then_some(t)
}

/// Seconds of 0001-01-01T00:00:00Z since the Unix epoch (Go's zero time.Time).
const ZERO_TIME_SECS: i64 = -62_135_596_800;

/// translateTimestampSince: "<unknown>" for unset, else the human duration since.
pub fn since(ts: Option<&str>, now: DateTime<Utc>) -> String {
    match parse_time(ts) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

/// The AGE cell of an object.
pub fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    Value::from(since(opt_s(obj, "metadata.creationTimestamp"), now))
}

/// A duration with ~2-3 significant figures, as apimachinery's HumanDuration.
pub fn human_duration(d: chrono::Duration) -> String {
    let ms = d.num_milliseconds();
    let secs = ms / 1000;
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 {
        return "0s".to_string();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", secs % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_rest(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return with_rest(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

fn with_rest(major: i64, mu: &str, minor: i64, nu: &str) -> String {
    if minor == 0 {
        format!("{major}{mu}")
    } else {
        format!("{major}{mu}{minor}{nu}")
    }
}

/// labels.FormatLabels: "k=v,..." sorted by key, or "<none>".
pub fn format_labels(map: Option<&Value>) -> String {
    let mut pairs: Vec<(&str, &str)> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    let out: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    none_if_empty(out.join(","))
}

/// "<none>" for an empty string.
pub fn none_if_empty(v: String) -> String {
    if v.is_empty() {
        "<none>".to_string()
    } else {
        v
    }
}

/// The selector string of a metav1.LabelSelector (LabelSelectorAsSelector + String);
/// Err for an operator that is not valid.
pub fn selector_string(sel: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in arr(sel, "matchExpressions") {
        reqs.push((s(e, "key").to_string(), requirement(e)?));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(reqs.into_iter().map(|r| r.1).collect::<Vec<_>>().join(","))
}

fn requirement(e: &Value) -> Result<String, ()> {
    let key = s(e, "key");
    let mut values: Vec<&str> = arr(e, "values").iter().filter_map(Value::as_str).collect();
    values.sort();
    let list = values.join(",");
    match s(e, "operator") {
        "In" => Ok(format!("{key} in ({list})")),
        "NotIn" => Ok(format!("{key} notin ({list})")),
        "Exists" => Ok(key.to_string()),
        "DoesNotExist" => Ok(format!("!{key}")),
        _ => Err(()),
    }
}

/// metav1.FormatLabelSelector: the selector string, "<none>" when empty, "<error>" when invalid.
pub fn format_selector(sel: Option<&Value>) -> String {
    match selector_string(sel) {
        Ok(v) => none_if_empty(v),
        Err(()) => "<error>".to_string(),
    }
}

/// Comma-joined container names and images of the pod spec at `spec_path`.
pub fn containers(obj: &Value, spec_path: &str) -> (Value, Value) {
    let list = at(obj, spec_path)
        .map(|spec| arr(spec, "containers"))
        .unwrap_or(&[]);
    let names: Vec<&str> = list.iter().map(|c| s(c, "name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "image")).collect();
    (Value::from(names.join(",")), Value::from(images.join(",")))
}

/// printBoolPtr: "True"/"False", or "<unset>".
pub fn bool_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

/// The text of a resource.Quantity (or an int-or-string); "0" when absent.
pub fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// Joins a capped list: "a,b,c + N more...", "<unset>" when empty.
pub fn list_with_more(list: &[String], count: usize, max: usize) -> String {
    let shown = &list[..list.len().min(max)];
    let ret = shown.join(",");
    if count > max {
        format!("{ret} + {} more...", count - max)
    } else if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

/// Whether the first condition of `type_` in `conds` has status "True".
pub fn condition_true(conds: &[Value], type_: &str) -> bool {
    conds
        .iter()
        .find(|c| s(c, "type") == type_)
        .is_some_and(|c| s(c, "status") == "True")
}

/// A Table row condition (metav1.TableRowCondition).
pub fn row_condition(reason: &str, message: &str) -> Value {
    json!([{ "type": "Completed", "status": "True", "reason": reason, "message": message }])
}

/// Sorted, de-duplicated IPs (or hostnames) of a load balancer status.
pub fn lb_ingress(status: Option<&Value>) -> Vec<String> {
    let list = status.map(|st| arr(st, "ingress")).unwrap_or(&[]);
    let mut out: Vec<String> = list
        .iter()
        .map(|i| {
            if s(i, "ip").is_empty() {
                s(i, "hostname")
            } else {
                s(i, "ip")
            }
        })
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}
