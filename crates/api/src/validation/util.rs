//! Small helpers shared by the validators: field paths as upstream prints them, JSON
//! accessors that treat `null` like an absent field, defaulting setters and upstream's
//! "semantic" deep equality.

use serde_json::{Map, Value};

use super::quantity::Quantity;
use crate::errors::FieldError;

pub type Errs = Vec<FieldError>;

/// A field path such as `spec.containers[0].image`, built like upstream's `field.Path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn new(root: &str) -> Path {
        Path(root.to_string())
    }
    /// `a.b`, or `b` on an empty path.
    pub fn ch(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }
    /// `a[3]`.
    pub fn ix(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }
    /// `a[key]` (upstream does not quote map keys).
    pub fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Path> for String {
    fn from(p: &Path) -> String {
        p.0.clone()
    }
}

impl From<Path> for String {
    fn from(p: Path) -> String {
        p.0
    }
}

static EMPTY: Vec<Value> = Vec::new();

/// The member `k` of an object, `None` when absent or `null`.
pub fn get<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    match v.get(k) {
        Some(Value::Null) | None => None,
        Some(x) => Some(x),
    }
}

/// The member at a dotted chain of keys.
pub fn at<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |cur, k| get(cur, k))
}

/// A string member, `""` when absent or not a string.
pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    get(v, k).and_then(Value::as_str).unwrap_or("")
}

/// A string member that may be absent (`None`) yet set to `""`.
pub fn opt_s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    get(v, k).and_then(Value::as_str)
}

/// An integer member (JSON numbers with a zero fraction count).
pub fn int(v: &Value, k: &str) -> Option<i64> {
    get(v, k).and_then(as_int)
}

pub fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

pub fn boolean(v: &Value, k: &str) -> Option<bool> {
    get(v, k).and_then(Value::as_bool)
}

/// An array member, empty when absent.
pub fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    match get(v, k) {
        Some(Value::Array(a)) => a,
        _ => &EMPTY,
    }
}

pub fn obj<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    get(v, k).and_then(Value::as_object)
}

/// A map of strings such as labels, in document order. Non-string values are shown as
/// their JSON text.
pub fn str_map<'a>(v: &'a Value, k: &str) -> Vec<(&'a str, String)> {
    match obj(v, k) {
        Some(m) => m.iter().map(|(k, v)| (k.as_str(), value_text(v))).collect(),
        None => Vec::new(),
    }
}

/// A string array member (non-strings skipped).
pub fn str_list<'a>(v: &'a Value, k: &str) -> Vec<&'a str> {
    arr(v, k).iter().filter_map(Value::as_str).collect()
}

pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Whether a member is present and not `null`.
pub fn has(v: &Value, k: &str) -> bool {
    get(v, k).is_some()
}

/// The member `k`, created as `{}` when absent or `null`. `v` must be an object.
pub fn ensure_obj<'a>(v: &'a mut Value, k: &str) -> &'a mut Value {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    let m = v.as_object_mut().expect("object");
    let slot = m.entry(k.to_string()).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot
}

/// Sets `k` when absent or `null` (a Go pointer left nil).
pub fn default_ptr(v: &mut Value, k: &str, d: Value) {
    if let Some(m) = v.as_object_mut() {
        let slot = m.entry(k.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = d;
        }
    }
}

/// Sets a string `k` when absent, `null` or `""` (a Go string left empty).
pub fn default_str(v: &mut Value, k: &str, d: &str) {
    if let Some(m) = v.as_object_mut() {
        if d.is_empty() {
            // An empty default is what Go's omitempty leaves out of the JSON.
            if m.get(k).is_some_and(Value::is_null) {
                m.remove(k);
            }
            return;
        }
        let slot = m.entry(k.to_string()).or_insert(Value::Null);
        if slot.is_null() || slot.as_str() == Some("") {
            *slot = Value::String(d.to_string());
        }
    }
}

/// Sets an integer `k` when absent, `null` or `0` (a Go int left zero).
pub fn default_int(v: &mut Value, k: &str, d: i64) {
    if let Some(m) = v.as_object_mut() {
        let slot = m.entry(k.to_string()).or_insert(Value::Null);
        if slot.is_null() || as_int(slot) == Some(0) {
            *slot = Value::from(d);
        }
    }
}

/// Applies `f` to every element of the array member `k`.
pub fn each_mut(v: &mut Value, k: &str, f: impl FnMut(&mut Value)) {
    if let Some(Value::Array(items)) = v.get_mut(k) {
        items.iter_mut().for_each(f);
    }
}

/// Applies `f` to the object member `k` when present.
pub fn with_mut(v: &mut Value, k: &str, f: impl FnOnce(&mut Value)) {
    if let Some(x) = v.get_mut(k) {
        if x.is_object() {
            f(x)
        }
    }
}

/// Map keys whose values are resource quantities: compared by value, not spelling.
const QUANTITY_MAPS: &[&str] = &["limits", "requests", "capacity", "allocatable", "hard", "used", "overhead"];

fn is_empty_like(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Bool(b)) => !b,
        _ => false,
    }
}

/// Upstream's `apiequality.Semantic.DeepEqual` on JSON: absent, `null` and empty values
/// are equal, numbers compare by value and quantities in resource maps by amount.
pub fn sem_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    sem_eq_in(a, b, false)
}

fn sem_eq_in(a: Option<&Value>, b: Option<&Value>, quantities: bool) -> bool {
    if is_empty_like(a) && is_empty_like(b) {
        return true;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys = x.keys().chain(y.keys());
            keys.into_iter().all(|k| {
                let q = QUANTITY_MAPS.contains(&k.as_str());
                let (l, r) = (x.get(k), y.get(k));
                if quantities {
                    qty_eq(l, r)
                } else {
                    sem_eq_in(l, r, q)
                }
            })
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(l, r)| sem_eq_in(Some(l), Some(r), false))
        }
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn qty_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(Quantity::from_value), b.and_then(Quantity::from_value)) {
        (Some(x), Some(y)) => x.cmp_q(&y) == std::cmp::Ordering::Equal,
        _ => sem_eq_in(a, b, false),
    }
}

/// `field is immutable` when the two values differ semantically.
pub fn immutable(new: Option<&Value>, old: Option<&Value>, p: &Path) -> Errs {
    if sem_eq(new, old) {
        Vec::new()
    } else {
        vec![FieldError::invalid(p, new.cloned().unwrap_or(Value::Null), "field is immutable")]
    }
}

pub const IS_NEGATIVE: &str = "must be greater than or equal to 0";

/// Upstream's `ValidateNonnegativeField`.
pub fn nonneg(v: Option<i64>, p: &Path) -> Errs {
    match v {
        Some(n) if n < 0 => vec![FieldError::invalid(p, Value::from(n), IS_NEGATIVE)],
        _ => Vec::new(),
    }
}

/// `Invalid value: ...` for each message of a name/format check.
pub fn each_invalid(p: &Path, value: &str, msgs: Vec<String>) -> Errs {
    msgs.into_iter().map(|m| FieldError::invalid(p, Value::from(value), m)).collect()
}

/// A `Duplicate value` error carrying a detail (upstream sets `.Detail` by hand).
pub fn duplicate_with(p: &Path, v: Value, detail: &str) -> FieldError {
    let mut e = FieldError::duplicate(p, v);
    e.detail = detail.to_string();
    e
}

/// A short rendering of how two objects differ, in place of upstream's `cmp.Diff`.
pub fn diff(old: Option<&Value>, new: Option<&Value>) -> String {
    let empty = Map::new();
    let o = old.and_then(Value::as_object).unwrap_or(&empty);
    let n = new.and_then(Value::as_object).unwrap_or(&empty);
    let mut lines = vec!["  {".to_string()];
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.dedup();
    let mut seen = Vec::new();
    for k in keys {
        if seen.contains(&k) || sem_eq(o.get(k), n.get(k)) {
            continue;
        }
        seen.push(k);
        let show = |v: Option<&Value>| v.map(|x| x.to_string()).unwrap_or_else(|| "nil".to_string());
        lines.push(format!("- \t{k:?}: {},", show(o.get(k))));
        lines.push(format!("+ \t{k:?}: {},", show(n.get(k))));
    }
    lines.push("  }".to_string());
    lines.join("\n")
}

/// The JSON value of a string for error reporting.
pub fn sv(x: &str) -> Value {
    Value::String(x.to_string())
}

/// The messages of field errors, for tests to compare against upstream's texts.
#[cfg(test)]
pub fn msgs(e: Errs) -> Vec<String> {
    e.iter().map(|e| e.message()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_render_like_upstream() {
        let p = Path::new("spec").ch("containers").ix(0).ch("resources").key("cpu");
        assert_eq!(p.as_str(), "spec.containers[0].resources[cpu]");
        assert_eq!(Path::new("").ch("a").as_str(), "a");
    }

    #[test]
    fn semantic_equality() {
        assert!(sem_eq(Some(&json!({"a": null, "b": []})), Some(&json!({}))));
        assert!(sem_eq(Some(&json!({"limits": {"cpu": "1000m"}})), Some(&json!({"limits": {"cpu": "1"}}))));
        assert!(!sem_eq(Some(&json!({"image": "a"})), Some(&json!({"image": "b"}))));
        assert!(sem_eq(Some(&json!(1)), Some(&json!(1.0))));
    }

    #[test]
    fn defaulting_setters() {
        let mut v = json!({"a": "", "b": 0, "c": null});
        default_str(&mut v, "a", "x");
        default_int(&mut v, "b", 3);
        default_ptr(&mut v, "c", json!(true));
        default_ptr(&mut v, "d", json!(1));
        assert_eq!(v, json!({"a": "x", "b": 3, "c": true, "d": 1}));
    }
}
