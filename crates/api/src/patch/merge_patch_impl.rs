//! RFC 7386 JSON Merge Patch as `jsonpatch.MergePatch` (evanphx/json-patch v4)
//! implements it for kube-apiserver.

use serde_json::{Map, Value};

use super::{gojson, strict};
use super::{FieldValidation, PatchError, Patched};

/// `jsonpatch.ErrBadJSONPatch`, which the apiserver turns into a 400.
const BAD_PATCH: &str = "Invalid JSON Patch";

pub fn apply(doc: &Value, patch: &[u8], validation: FieldValidation) -> Result<Patched, PatchError> {
    let mut strict_errors = Vec::new();
    if validation.is_strict_decoding() {
        decode_strict(patch)
            .map_err(|e| PatchError::BadRequest(format!("error decoding patch: {e}")))?;
        strict_errors = strict::duplicate_fields(patch);
    }
    let object = merge(doc, patch)?;
    Ok(Patched { object, strict_errors })
}

/// The handler's `kjson.UnmarshalStrict` into `map[string]interface{}` (fatal
/// errors only; `null` decodes to a nil map).
fn decode_strict(patch: &[u8]) -> Result<(), String> {
    match gojson::parse(patch)? {
        Value::Object(_) | Value::Null => Ok(()),
        other => Err(gojson::type_error(&other, "map[string]interface {}")),
    }
}

/// `jsonpatch.MergePatch`.
fn merge(doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let bad = || PatchError::BadRequest(BAD_PATCH.to_string());
    let patch = gojson::parse(patch).map_err(|_| bad())?;
    match patch {
        Value::Object(patch) => match doc {
            Value::Object(doc) => {
                let mut doc = doc.clone();
                merge_docs(&mut doc, patch);
                Ok(Value::Object(doc))
            }
            // Not an object document: the patch (without nulls) becomes the result.
            _ => {
                let mut patch = Value::Object(patch);
                prune_nulls(&mut patch);
                Ok(patch)
            }
        },
        // An array patch replaces the document, as upstream does.
        mut array @ Value::Array(_) => {
            prune_nulls(&mut array);
            Ok(array)
        }
        _ => Err(bad()),
    }
}

/// Merges `patch` into `doc`: `null` deletes, objects merge recursively, anything
/// else replaces.
pub fn merge_docs(doc: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            doc.shift_remove(&key);
            continue;
        }
        match doc.get_mut(&key) {
            Some(cur) if !cur.is_null() => {
                let cur = std::mem::take(cur);
                doc.insert(key, merge_value(cur, value));
            }
            _ => {
                let mut value = value;
                prune_nulls(&mut value);
                doc.insert(key, value);
            }
        }
    }
}

fn merge_value(cur: Value, mut patch: Value) -> Value {
    match (cur, patch.is_object()) {
        (Value::Object(mut cur), true) => {
            if let Value::Object(patch) = patch {
                merge_docs(&mut cur, patch);
            }
            Value::Object(cur)
        }
        // The current value is an object but the patch is not: taken as is.
        (Value::Object(_), false) => patch,
        _ => {
            prune_nulls(&mut patch);
            patch
        }
    }
}

/// Drops null members of objects, recursively (null array elements are kept).
pub fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}
