//! Strategic merge patch (`k8s.io/apimachinery/pkg/util/strategicpatch`, as
//! `StrategicMergeMapPatch` runs it server side: parallel lists merged, unmatched
//! nulls ignored): maps, directives and the per-key merge.
//!
//! Error kinds follow `interpretStrategicMergePatchError` in the apiserver: the
//! `mergepatch.ErrBadPatchFormat*` sentinels are 400s, `ErrNoListOfLists` a 422 and
//! every other error a plain 500 carrying the Go message.

use serde_json::{Map, Value};

use super::gojson;
use super::meta::{Strategy, TypeMeta};
use super::smp_list;
use super::PatchError;

/// The type being merged; `None` when unknown (untagged behaviour everywhere).
pub type Schema = Option<&'static TypeMeta>;
pub type JsonMap = Map<String, Value>;

pub const DIRECTIVE: &str = "$patch";
pub const RETAIN_KEYS: &str = "$retainKeys";
pub const DELETE_PREFIX: &str = "$deleteFromPrimitiveList";
pub const ORDER_PREFIX: &str = "$setElementOrder";

pub const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
pub const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
pub const ERR_SET_ORDER: &str = "invalid patch format of setElementOrder list";
pub const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// The patch metadata of one field, resolved against the schema.
#[derive(Clone, Copy)]
pub struct Field {
    pub strategy: Strategy,
    pub key: Option<&'static str>,
    pub elem: Schema,
}

impl Field {
    /// `patchMeta.GetPatchMergeKey()`: empty when there is none.
    pub fn merge_key(&self) -> &'static str {
        self.key.unwrap_or("")
    }

    /// `schema.Name()` of the element type (its Go kind) in error messages.
    pub fn elem_kind_name(&self) -> &'static str {
        if self.strategy.is_merge() && self.key.is_none() {
            "string"
        } else {
            "struct"
        }
    }
}

/// Looks `name` up in `schema`; unknown fields have no metadata.
pub fn lookup(schema: Schema, name: &str) -> Field {
    match schema.and_then(|s| s.field(name)) {
        Some(f) => Field { strategy: f.strategy, key: f.merge_key, elem: f.elem },
        None => Field { strategy: Strategy::Unset, key: None, elem: None },
    }
}

pub fn internal(msg: impl Into<String>) -> PatchError {
    PatchError::Internal(msg.into())
}

pub fn bad_request(msg: &str) -> PatchError {
    PatchError::BadRequest(msg.to_string())
}

/// `mergepatch.ErrNoMergeKey`.
pub fn no_merge_key(m: &JsonMap, key: &str) -> PatchError {
    internal(format!(
        "map: {} does not contain declared merge key: {key}",
        gojson::fmt_v(&Value::Object(m.clone()))
    ))
}

/// `mergepatch.ErrBadArgType`.
pub fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    internal(format!(
        "expected a {expected}, but received a {}",
        gojson::go_type_name(actual)
    ))
}

/// `mergepatch.ErrBadPatchType`.
pub fn bad_patch_type(directive: &Value, m: &JsonMap) -> PatchError {
    internal(format!(
        "unknown patch type: {} in map: {}",
        fmt_s(directive),
        gojson::fmt_v(&Value::Object(m.clone()))
    ))
}

/// `%s` of a decoded value.
fn fmt_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".to_string(),
        Value::Object(_) | Value::Array(_) => gojson::fmt_v(v),
        _ => format!("%!s({}={})", gojson::go_type_name(v), gojson::fmt_v(v)),
    }
}

pub fn apply(schema: Schema, doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let patch = match gojson::parse(patch).map_err(PatchError::BadRequest)? {
        Value::Object(m) => m,
        Value::Null => return Ok(doc.clone()),
        other => {
            let msg = gojson::type_error(&other, "map[string]interface {}");
            return Err(PatchError::BadRequest(msg));
        }
    };
    let original = doc.as_object().cloned().unwrap_or_default();
    let mut merged = Value::Object(merge_map(original, patch, schema)?);
    scrub_directives(&mut merged);
    Ok(merged)
}

/// `mergeMap`: merges `patch` into `original` according to `schema`.
pub fn merge_map(
    mut original: JsonMap,
    mut patch: JsonMap,
    schema: Schema,
) -> Result<JsonMap, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(JsonMap::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    smp_list::merge_set_element_order(&mut original, &mut patch, schema)?;
    for (key, value) in patch {
        merge_entry(&mut original, key, value, schema)?;
    }
    Ok(original)
}

/// `applyRetainKeysDirective`: keeps only the listed keys of `original`, after
/// checking every (non-null, non-directive) patch key is listed.
fn apply_retain_keys(original: &mut JsonMap, patch: &mut JsonMap) -> Result<(), PatchError> {
    let Some(list) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(bad_request(ERR_RETAIN_KEYS));
    };
    let retained = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    let unlisted = patch.iter().any(|(k, v)| {
        !v.is_null() && !k.starts_with(DELETE_PREFIX) && !k.starts_with(ORDER_PREFIX) && !retained(k)
    });
    if unlisted {
        return Err(bad_request(ERR_RETAIN_KEYS));
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// `extractKey`: the field name after `<prefix>/`.
pub fn extract_key(key: &str, prefix: &str) -> Result<String, PatchError> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Ok(rest.to_string()),
        _ if prefix == DELETE_PREFIX => Err(bad_request(ERR_PRIMITIVE_LIST)),
        _ => Err(bad_request(ERR_SET_ORDER)),
    }
}

/// One iteration of `mergeMap`'s main loop.
fn merge_entry(
    original: &mut JsonMap,
    key: String,
    value: Value,
    schema: Schema,
) -> Result<(), PatchError> {
    let (key, is_delete_list) = if key.starts_with(DELETE_PREFIX) {
        let field = extract_key(&key, DELETE_PREFIX)?;
        (if field.is_empty() { key } else { field }, true)
    } else {
        (key, false)
    };
    if value.is_null() {
        original.shift_remove(&key);
        return Ok(());
    }
    let Some(current) = original.get_mut(&key) else {
        if !is_delete_list {
            place(original, key, value);
        }
        return Ok(());
    };
    let field = lookup(schema, &key);
    match (std::mem::take(current), value) {
        (Value::Object(cur), Value::Object(patch)) => {
            *current = if field.strategy == Strategy::Replace {
                without_nulls(Value::Object(patch))
            } else {
                Value::Object(merge_map(cur, patch, field.elem)?)
            };
        }
        (Value::Array(cur), Value::Array(patch)) => {
            let merged = smp_list::merge_slice_handler(cur, patch, field, is_delete_list)?;
            *current = Value::Array(merged);
        }
        (cur, value) if gojson::same_go_type(&cur, &value) => {
            *current = value;
        }
        (cur, value) => {
            *current = cur;
            if !is_delete_list {
                place(original, key, value);
            }
        }
    }
    Ok(())
}

/// Stores a patch value taken as is: nulls discarded, maps carrying `$patch`
/// dropped (`discardNullValuesFromPatch` + `removeDirectives`).
fn place(original: &mut JsonMap, key: String, value: Value) {
    match remove_directives(without_nulls(value)) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

/// `discardNullValuesFromPatch`: null members of objects removed, recursively.
pub fn without_nulls(mut value: Value) -> Value {
    super::merge_patch_impl::prune_nulls(&mut value);
    value
}

/// `removeDirectives`: `None` for a map carrying `$patch`; such maps are also
/// dropped from nested maps and lists.
pub fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            let kept = map
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(kept))
        }
        Value::Array(items) => {
            Some(Value::Array(items.into_iter().filter_map(remove_directives).collect()))
        }
        other => Some(other),
    }
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
}

/// Removes directive keys left in the merged object (upstream drops them as unknown
/// fields when decoding into the typed object).
pub fn scrub_directives(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !is_directive_key(k));
            map.values_mut().for_each(scrub_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_directives),
        _ => {}
    }
}
