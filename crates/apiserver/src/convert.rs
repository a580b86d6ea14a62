//! Conversion between versions that share storage. Objects are stored in the version
//! they were written in; reads convert to the version the request addresses.

use api::registry::ResourceDef;
use serde_json::{json, Value};

/// The object as `def`'s group/version serves it.
pub fn to_version(def: &ResourceDef, obj: &Value) -> Value {
    let want = def.api_version();
    if obj.get("apiVersion").and_then(Value::as_str) == Some(want.as_str()) {
        return obj.clone();
    }
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), json!(want));
        m.insert("kind".into(), json!(def.kind));
    }
    out
}
