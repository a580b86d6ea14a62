//! Strategic merge patch of lists: merging by key (or as a set), the `$patch`
//! element directives, `$deleteFromPrimitiveList`, `$setElementOrder` and the
//! element-order normalization upstream applies after every list merge.

use serde_json::Value;

use super::gojson;
use super::smp::{
    bad_arg_type, bad_patch_type, extract_key, internal, lookup, merge_map, no_merge_key,
    remove_directives, without_nulls, Field, JsonMap, Schema, DIRECTIVE, ERR_LIST_OF_LISTS,
    ORDER_PREFIX,
};
use super::PatchError;

const MAP_TYPE: &str = "map[string]interface {}";
const LIST_TYPE: &str = "[]interface {}";

/// Whether list elements are maps (merged by key) or anything else (scalars).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Scalar,
}

/// `mergeSliceHandler`: merge lists (and deletion lists) are merged, other lists
/// replaced by the patch.
pub fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: Field,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if field.strategy.is_merge() || is_delete_list {
        merge_slice(original, patch, field, is_delete_list)
    } else {
        Ok(as_list(without_nulls(Value::Array(patch))))
    }
}

fn as_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// `sliceElementType`: the common Go type of all elements.
fn element_kind(lists: &[&[Value]]) -> Result<Kind, PatchError> {
    let mut first: Option<&Value> = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        match first {
            None if item.is_null() => {
                return Err(internal("runtime error: invalid memory address or nil pointer dereference"));
            }
            None if item.is_array() => return Err(PatchError::Unprocessable(ERR_LIST_OF_LISTS.into())),
            None => first = Some(item),
            Some(f) if !gojson::same_go_type(f, item) => {
                let all: Vec<Value> = lists.iter().map(|l| Value::Array(l.to_vec())).collect();
                return Err(internal(format!(
                    "list element types are not identical: {}",
                    gojson::fmt_v_list(&all)
                )));
            }
            Some(_) => {}
        }
    }
    match first {
        Some(v) if v.is_object() => Ok(Kind::Map),
        Some(_) => Ok(Kind::Scalar),
        None => Err(internal("no elements in any of the given slices")),
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    field: Field,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if element_kind(&[&original, &patch])? == Kind::Scalar {
        if is_delete_list {
            return Ok(original.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        let mut merged = original.clone();
        merged.extend(patch.iter().cloned());
        let merged = dedupe(merged);
        let (in_patch, server_only) = partition_scalars(merged, &patch);
        return normalize_element_order(in_patch, server_only, &patch, &original, Kind::Scalar, "");
    }
    let Some(key) = field.key else {
        let name = field.elem_kind_name();
        return Err(internal(format!("cannot merge lists without merge key for {name}")));
    };
    let (original, patch) = split_special_elements(original, patch, key)?;
    let merged = merge_by_key(original.clone(), patch.clone(), key, field.elem)?;
    let (in_patch, server_only) = partition_maps(merged, &patch, key)?;
    normalize_element_order(in_patch, server_only, &patch, &original, Kind::Map, key)
}

/// `deduplicateScalars`: removes later duplicates (upstream's order is then
/// normalized anyway).
fn dedupe(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// `mergeSliceWithSpecialElements`: applies `$patch: delete` elements to
/// `original`, honours `$patch: replace` and returns the remaining patch elements.
fn split_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut kept = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let map = item.as_object().expect("elements checked to be maps");
        let Some(directive) = map.get(DIRECTIVE) else {
            kept.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
                original.retain(|o| o.get(key) != Some(value));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(internal("merging lists cannot yet be specified in the patch"));
            }
            _ => return Err(bad_patch_type(directive, map)),
        }
    }
    if replace {
        return Ok((as_list(without_nulls(Value::Array(kept))), Vec::new()));
    }
    Ok((original, kept))
}

/// `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, item) in list.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| internal(format!("value for key {i} is not a map")))?;
        if map.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `mergeSliceWithoutSpecialElements`: merges each patch element into the original
/// element with the same key, or appends it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    elem: Schema,
) -> Result<Vec<Value>, PatchError> {
    for item in patch {
        let Value::Object(map) = item else { continue };
        let value = map.get(key).cloned().ok_or_else(|| no_merge_key(&map, key))?;
        match find_by_key(&original, key, &value)? {
            Some(i) => {
                let Value::Object(cur) = std::mem::take(&mut original[i]) else { continue };
                original[i] = Value::Object(merge_map(cur, map, elem)?);
            }
            None => original.push(without_nulls(Value::Object(map))),
        }
    }
    Ok(original)
}

/// `partitionPrimitivesByPresentInList`.
fn partition_scalars(items: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    items.into_iter().partition(|v| by.contains(v))
}

/// `partitionMapsByPresentInList`.
fn partition_maps(
    items: Vec<Value>,
    by: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let (mut found, mut rest) = (Vec::new(), Vec::new());
    for item in items {
        let map = item.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, &item))?;
        let value = map.get(key).ok_or_else(|| no_merge_key(map, key))?;
        if find_by_key(by, key, value)?.is_some() {
            found.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((found, rest))
}

/// The identity used to order elements: the merge key's value for maps, the
/// element itself for scalars.
fn ident<'a>(item: &'a Value, kind: Kind, key: &str) -> Option<&'a Value> {
    match kind {
        Kind::Map => item.as_object().and_then(|m| m.get(key)),
        Kind::Scalar => Some(item),
    }
}

/// `index`: position of `item` in `order`, by identity.
fn index(order: &[Value], item: &Value, kind: Kind, key: &str) -> Option<usize> {
    let want = ident(item, kind, key);
    order.iter().position(|v| ident(v, kind, key) == want)
}

/// `normalizeElementOrder`: patch items in patch order, server-only items in server
/// order, then interleaved by server order.
fn normalize_element_order(
    in_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    kind: Kind,
    key: &str,
) -> Result<Vec<Value>, PatchError> {
    let in_patch = normalize_slice_order(in_patch, patch_order, kind, key)?;
    let server_only = normalize_slice_order(server_only, server_order, kind, key)?;
    Ok(merge_sorted(server_only, in_patch, server_order, kind, key))
}

/// `normalizeSliceOrder`: a stable sort by position in `order` (with upstream's
/// comparator, under which an element missing from `order` moves to the front),
/// deleted maps last.
fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    kind: Kind,
    key: &str,
) -> Result<Vec<Value>, PatchError> {
    let (items, deleted) = match kind {
        Kind::Map => {
            for item in items.iter().chain(order) {
                let map = item.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, item))?;
                map.get(key).ok_or_else(|| no_merge_key(map, key))?;
            }
            items.into_iter().partition(|v| !is_delete_item(v))
        }
        Kind::Scalar => (items, Vec::new()),
    };
    // Positions are computed once; the insertion sort matches Go's stable sort for
    // the short lists found in objects, with upstream's comparator.
    let mut keyed: Vec<(Option<usize>, Value)> =
        items.into_iter().map(|v| (index(order, &v, kind, key), v)).collect();
    let less = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(i), Some(j)) => i < j,
        _ => true,
    };
    for i in 1..keyed.len() {
        let mut j = i;
        while j > 0 && less(keyed[j].0, keyed[j - 1].0) {
            keyed.swap(j, j - 1);
            j -= 1;
        }
    }
    let mut items: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    items.extend(deleted);
    Ok(items)
}

fn is_delete_item(v: &Value) -> bool {
    v.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// `mergeSortedSlice`: inserts the server-only items (`left`) among the patch items
/// (`right`), taking a left item first only when both are in `server_order` and the
/// left one comes earlier there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    kind: Kind,
    key: &str,
) -> Vec<Value> {
    let position = |v: Value| (index(server_order, &v, kind, key), v);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().map(position).peekable();
    let mut right = right.into_iter().map(position).peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((Some(i), _)), Some((Some(j), _))) => i < j,
            (Some(_), Some(_)) => false,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next.map(|(_, v)| v));
    }
    out
}

/// `mergePatchIntoOriginal`: handles every `$setElementOrder/<field>` of `patch`
/// together with `<field>`, removing both from `patch`.
pub fn merge_set_element_order(
    original: &mut JsonMap,
    patch: &mut JsonMap,
    schema: Schema,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(ORDER_PREFIX)).cloned().collect();
    for order_key in keys {
        let order = patch.shift_remove(&order_key).unwrap_or_default();
        let Value::Array(order) = order else {
            return Err(bad_arg_type(LIST_TYPE, &order));
        };
        let name = extract_key(&order_key, ORDER_PREFIX)?;
        let current = list_at(original, &name)?;
        let patch_list = list_at(patch, &name)?;
        let field = lookup(schema, &name);
        validate_order(patch_list.as_deref().unwrap_or(&[]), &order, field.merge_key())?;
        let server_order = current.clone().unwrap_or_default();
        let patch_items = patch_list.clone().unwrap_or_default();
        let merged = match (current, patch_list) {
            (Some(cur), None) => cur,
            (None, Some(p)) => as_list(remove_directives(without_nulls(Value::Array(p))).unwrap_or_default()),
            (Some(cur), Some(p)) => merge_slice_handler(cur, p, field, false)?,
            (None, None) => continue,
        };
        let (in_order, server_only) = match field.key {
            None => partition_scalars(merged, &order),
            Some(key) => partition_maps(merged, &order, key)?,
        };
        let kind = element_kind(&[&server_order, &patch_items])?;
        let key = field.merge_key();
        let both = normalize_element_order(in_order, server_only, &order, &server_order, kind, key)?;
        original.insert(name.clone(), Value::Array(both));
        patch.shift_remove(&name);
    }
    Ok(())
}

/// The list stored under `name`, if any (anything else is a type error).
fn list_at(map: &JsonMap, name: &str) -> Result<Option<Vec<Value>>, PatchError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(bad_arg_type(LIST_TYPE, other)),
    }
}

/// `validatePatchWithSetOrderList`: the (non-deleting) patch elements must appear
/// in the `$setElementOrder` list, in the same relative order.
fn validate_order(patch: &[Value], order: &[Value], key: &str) -> Result<(), PatchError> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let mut wanted: Vec<&Value> = Vec::with_capacity(patch.len());
    for item in patch {
        let map = item.as_object();
        if !key.is_empty() && map.is_none() {
            return Err(bad_arg_type(MAP_TYPE, item));
        }
        if key.is_empty() || !is_delete_item(item) {
            wanted.push(item);
        }
    }
    let (mut p, mut o) = (0, 0);
    while p < wanted.len() && o < order.len() {
        if wanted[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        if merge_key_equal(wanted[p], &order[o], key)? {
            p += 1;
        }
        o += 1;
    }
    if p < wanted.len() && o >= order.len() {
        return Err(internal(format!(
            "The order in patch list:\n{}\n doesn't match {ORDER_PREFIX} list:\n{}\n",
            gojson::fmt_v_list(patch),
            gojson::fmt_v_list(order)
        )));
    }
    Ok(())
}

/// `mergeKeyValueEqual`.
fn merge_key_equal(left: &Value, right: &Value, key: &str) -> Result<bool, PatchError> {
    if key.is_empty() {
        return Ok(left == right);
    }
    let l = left.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, left))?;
    let r = right.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, right))?;
    let lv = l.get(key).ok_or_else(|| no_merge_key(l, key))?;
    let rv = r.get(key).ok_or_else(|| no_merge_key(r, key))?;
    Ok(lv == rv)
}
