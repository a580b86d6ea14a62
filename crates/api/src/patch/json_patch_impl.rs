//! RFC 6902 JSON Patch with the behaviour (and error texts) of
//! `gopkg.in/evanphx/json-patch.v4` as vendored by kube-apiserver.
//!
//! Decoding failures are 400s carrying Go's `encoding/json` message; more than
//! 10000 operations is a 413; every failure while applying is a 422 whose Status
//! message is generic (the library's text is kept as the error's detail).

use serde_json::{Map, Value};

use super::{gojson, strict};
use super::{FieldValidation, PatchError, Patched};

/// `maxJSONPatchOperations` in the apiserver's patch handler.
const MAX_OPERATIONS: usize = 10000;
/// `JSONPatchMaxCopyBytes`, armed into `jsonpatch.AccumulatedCopySizeLimit`.
const COPY_LIMIT: usize = 3 * 1024 * 1024;
/// `jsonpatch.ErrMissing`.
const MISSING: &str = "missing value";

pub fn apply(doc: &Value, patch: &[u8], validation: FieldValidation) -> Result<Patched, PatchError> {
    let mut strict_errors = Vec::new();
    if validation.is_strict_decoding() {
        decode_strict(patch)
            .map_err(|e| PatchError::BadRequest(format!("error decoding patch: {e}")))?;
        strict_errors = strict::json_patch_fields(patch)
            .into_iter()
            .map(|e| format!("json patch {e}"))
            .collect();
    }
    let ops = decode(patch).map_err(PatchError::BadRequest)?;
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::TooLarge(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {}",
            ops.len()
        )));
    }
    let mut doc = doc.clone();
    let mut copied = 0usize;
    for op in &ops {
        apply_op(&mut doc, Op(op.as_object()), &mut copied).map_err(PatchError::Unprocessable)?;
    }
    Ok(Patched { object: doc, strict_errors })
}

/// The handler's `kjson.UnmarshalStrict` into `[]jsonPatchOp` (fatal errors only).
fn decode_strict(patch: &[u8]) -> Result<(), String> {
    let items = match gojson::parse(patch)? {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        other => return Err(gojson::type_error(&other, "[]handlers.jsonPatchOp")),
    };
    for item in &items {
        match item {
            Value::Null => {}
            Value::Object(op) => {
                let bad = op.iter().find(|(k, v)| {
                    ["op", "path", "from"].contains(&k.as_str()) && !(v.is_string() || v.is_null())
                });
                if let Some((field, v)) = bad {
                    let kind = gojson::unmarshal_kind(v);
                    return Err(format!(
                        "json: cannot unmarshal {kind} into Go struct field jsonPatchOp.{field} of type string"
                    ));
                }
            }
            other => return Err(gojson::type_error(other, "handlers.jsonPatchOp")),
        }
    }
    Ok(())
}

/// `jsonpatch.DecodePatch`: a JSON array (or `null`) of objects (or `null`s).
fn decode(patch: &[u8]) -> Result<Vec<Value>, String> {
    match gojson::parse(patch)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            if let Some(bad) = items.iter().find(|v| !(v.is_object() || v.is_null())) {
                return Err(gojson::type_error(bad, "jsonpatch.Operation"));
            }
            Ok(items)
        }
        other => Err(gojson::type_error(&other, "jsonpatch.Patch")),
    }
}

/// One operation; `None` for a `null` entry (whose kind is "unknown").
#[derive(Clone, Copy)]
struct Op<'a>(Option<&'a Map<String, Value>>);

impl Op<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.and_then(|m| m.get(name))
    }

    fn kind(&self) -> String {
        match self.get("op") {
            Some(Value::String(s)) => s.clone(),
            _ => "unknown".to_string(),
        }
    }

    fn string_field(&self, name: &str, missing: &str) -> Result<String, String> {
        match self.get(name) {
            None | Some(Value::Null) => Err(format!("{missing}: {MISSING}")),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(gojson::type_error(other, "string")),
        }
    }

    fn path(&self) -> Result<String, String> {
        self.string_field("path", "operation missing path field")
    }

    fn from(&self) -> Result<String, String> {
        self.string_field("from", "operation, missing from field")
    }

    /// The `value` member: `None` when absent, `Some(Null)` for an explicit null.
    fn value(&self) -> Option<&Value> {
        self.get("value")
    }
}

fn apply_op(doc: &mut Value, op: Op, copied: &mut usize) -> Result<(), String> {
    match op.kind().as_str() {
        "add" => add(doc, op),
        "remove" => remove(doc, op),
        "replace" => replace(doc, op),
        "move" => move_op(doc, op),
        "test" => test(doc, op),
        "copy" => copy(doc, op, copied),
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn add(doc: &mut Value, op: Op) -> Result<(), String> {
    let path = op.path().map_err(|_| format!("add operation failed to decode path: {MISSING}"))?;
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!("add operation does not apply: doc is missing path: \"{path}\": {MISSING}"));
    };
    let val = op.value().cloned().unwrap_or(Value::Null);
    con_add(con, &key, val).map_err(|e| format!("error in add for path: '{path}': {e}"))
}

fn remove(doc: &mut Value, op: Op) -> Result<(), String> {
    let path =
        op.path().map_err(|_| format!("remove operation failed to decode path: {MISSING}"))?;
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": {MISSING}"
        ));
    };
    con_remove(con, &key)
        .map(|_| ())
        .map_err(|e| format!("error in remove for path: '{path}': {e}"))
}

fn replace(doc: &mut Value, op: Op) -> Result<(), String> {
    let path = op.path().map_err(|e| format!("replace operation failed to decode path: {e}"))?;
    if path.is_empty() {
        return match op.value() {
            Some(v @ (Value::Object(_) | Value::Array(_))) => {
                *doc = v.clone();
                Ok(())
            }
            _ => Err("replace operation value must be object or array: %!w(<nil>)".to_string()),
        };
    }
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!("replace operation does not apply: doc is missing path: {path}: {MISSING}"));
    };
    if con_get(con, &key).is_err() {
        return Err(format!("replace operation does not apply: doc is missing key: {path}: {MISSING}"));
    }
    let val = op.value().cloned().unwrap_or(Value::Null);
    con_set(con, &key, val).map_err(|e| format!("error in remove for path: '{path}': {e}"))
}

fn move_op(doc: &mut Value, op: Op) -> Result<(), String> {
    let from = op.from().map_err(|e| format!("move operation failed to decode from: {e}"))?;
    let Some((con, key)) = find_object(doc, &from) else {
        return Err(format!(
            "move operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let val = con_remove(con, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
    let path = op.path().map_err(|e| format!("move operation failed to decode path: {e}"))?;
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!(
            "move operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    con_add(con, &key, val).map_err(|e| format!("error in move for path: '{path}': {e}"))
}

fn test(doc: &mut Value, op: Op) -> Result<(), String> {
    let path = op.path().map_err(|e| format!("test operation failed to decode path: {e}"))?;
    let failed = || format!("testing value {path} failed: test failed");
    if path.is_empty() {
        return if op.value() == Some(&*doc) { Ok(()) } else { Err(failed()) };
    }
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!("test operation does not apply: is missing path: {path}: {MISSING}"));
    };
    let found = con_get(con, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
    let want = op.value();
    let ok = match found {
        // A missing (or null) target passes against an absent or null value.
        None => want.is_none_or(Value::is_null),
        Some(have) => want == Some(have),
    };
    if ok {
        Ok(())
    } else {
        Err(failed())
    }
}

fn copy(doc: &mut Value, op: Op, copied: &mut usize) -> Result<(), String> {
    let from = op.from().map_err(|e| format!("copy operation failed to decode from: {e}"))?;
    let Some((con, key)) = find_object(doc, &from) else {
        return Err(format!(
            "copy operation does not apply: doc is missing from path: {from}: {MISSING}"
        ));
    };
    let val = con_get(con, &key)
        .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
        .cloned();
    let path = op.path().map_err(|_| format!("copy operation failed to decode path: {MISSING}"))?;
    let Some((con, key)) = find_object(doc, &path) else {
        return Err(format!(
            "copy operation does not apply: doc is missing destination path: {path}: {MISSING}"
        ));
    };
    *copied += val.as_ref().map_or(0, |v| serde_json::to_vec(v).map_or(0, |b| b.len()));
    if *copied > COPY_LIMIT {
        return Err(format!(
            "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {COPY_LIMIT}"
        ));
    }
    let val = val.unwrap_or(Value::Null);
    con_add(con, &key, val).map_err(|e| format!("error while adding value during copy: {e}"))
}

/// RFC 6901 unescaping: `~1` → `/`, then `~0` → `~` (in a single left-to-right pass).
fn decode_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('~', Some('1')) => {
                out.push('/');
                chars.next();
            }
            ('~', Some('0')) => {
                out.push('~');
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Upstream's `findObject`: the container addressed by all but the last token of
/// `path`, and that last token. The first token (before the first `/`) is ignored;
/// intermediate values must be objects or arrays.
fn find_object<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let tokens: Vec<&str> = path.split('/').collect();
    if tokens.len() < 2 {
        return None;
    }
    let key = decode_token(tokens[tokens.len() - 1]);
    let mut cur = doc;
    for token in &tokens[1..tokens.len() - 1] {
        let part = decode_token(token);
        let next = match cur {
            Value::Object(map) => map.get_mut(&part),
            Value::Array(items) => {
                let len = items.len();
                index_for_get(&part, len).ok().and_then(move |i| items.get_mut(i))
            }
            _ => None,
        }?;
        if !(next.is_object() || next.is_array()) {
            return None;
        }
        cur = next;
    }
    Some((cur, key))
}

/// Go's `strconv.Atoi`, with its error text.
fn atoi(s: &str) -> Result<i64, String> {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let syntax = || format!("strconv.Atoi: parsing {quoted}: invalid syntax");
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    s.parse::<i64>().map_err(|_| format!("strconv.Atoi: parsing {quoted}: value out of range"))
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// Index resolution of `partialArray.get`/`set` (negative indices count from the end).
fn index_for_get(key: &str, len: usize) -> Result<usize, String> {
    let idx = atoi(key)?;
    let len = len as i64;
    let adjusted = if idx < 0 {
        if idx < -len {
            return Err(invalid_index(idx));
        }
        idx + len
    } else {
        idx
    };
    if adjusted >= len {
        return Err(invalid_index(adjusted));
    }
    Ok(adjusted as usize)
}

/// `container.get`: `Ok(None)` for a missing object key or a null value.
fn con_get<'a>(con: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    let found = match con {
        Value::Object(map) => map.get(key),
        Value::Array(items) => items.get(index_for_get(key, items.len())?),
        _ => None,
    };
    Ok(found.filter(|v| !v.is_null()))
}

fn con_set(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(map) => {
            map.insert(key.to_string(), val);
        }
        Value::Array(items) => {
            let idx = index_for_get(key, items.len())?;
            items[idx] = val;
        }
        _ => {}
    }
    Ok(())
}

fn con_add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(map) => {
            map.insert(key.to_string(), val);
        }
        Value::Array(items) if key == "-" => items.push(val),
        Value::Array(items) => {
            let idx = atoi(key).map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            let size = items.len() as i64 + 1;
            if idx >= size || idx < -size {
                return Err(invalid_index(idx));
            }
            let idx = if idx < 0 { idx + size } else { idx };
            items.insert(idx as usize, val);
        }
        _ => {}
    }
    Ok(())
}

/// `container.remove`, returning the removed value.
fn con_remove(con: &mut Value, key: &str) -> Result<Value, String> {
    match con {
        Value::Object(map) => map
            .shift_remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: {MISSING}")),
        Value::Array(items) => {
            let idx = atoi(key)?;
            let len = items.len() as i64;
            if idx >= len || idx < -len {
                return Err(invalid_index(idx));
            }
            let idx = if idx < 0 { idx + len } else { idx };
            Ok(items.remove(idx as usize))
        }
        _ => Ok(Value::Null),
    }
}
