//! Field validation (`fieldValidation=Strict|Warn|Ignore` on create, update and patch):
//! the unknown and duplicate fields upstream's strict decoding reports, worded and ordered
//! as kube-apiserver does.
//!
//! Upstream decodes a create/update body with `sigs.k8s.io/json`'s `UnmarshalStrict` into
//! the versioned Go type. That walk, mirrored here over the raw JSON and the kind's schema:
//! - keys are matched case-sensitively against the struct's JSON names (so `Spec` is just
//!   an unknown field); an unknown key is reported once at `parent.key` and its value is
//!   skipped (nothing inside it is reported, not even duplicates);
//! - a known field or map key seen twice in one object is a duplicate, reported when the
//!   second occurrence is read (before anything inside that second value);
//! - paths are dotted, list items add `[i]`, map keys are path segments
//!   (`metadata.labels.app`);
//! - identical findings are reported once, and at most 100 per decode;
//! - types with their own JSON unmarshaler (RawExtension, FieldsV1, apiextensions JSON,
//!   JSONSchemaPropsOr{Array,Bool,StringArray}, IntOrString, Quantity, Time, ...) are
//!   opaque: nothing inside them is checked.
//!
//! Strict failures of create/update are `400 BadRequest` with
//! [`decode_error_message`]; in Warn mode each problem becomes one `Warning: 299 - "<text>"`
//! header and the request proceeds. Patches differ (see [`patch_problems`]): their strict
//! failures are `422 Invalid` on field `patch` ([`patch_strict_error`]).

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::errors::FieldError;
use crate::schema::{schemas, Schemas, REF_PREFIX};

/// `sigs.k8s.io/json` stops accumulating strict errors at this many per decode.
const MAX_STRICT_ERRORS: usize = 100;

/// Definitions whose Go types have their own `UnmarshalJSON` yet whose schema claims
/// `type: object`: their contents are never checked.
const OPAQUE_OBJECTS: &[&str] = &[
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
];

/// Problems with a request body for (group, version, kind), in upstream's order and words:
/// `unknown field "spec.foo"`, `duplicate field "metadata.name"` (paths dotted, list items as
/// `spec.containers[0].foo`). `raw` is the JSON body as received; when it is empty or not
/// JSON (e.g. after decoding protobuf), `obj` is walked instead and duplicates are not
/// detected. Kinds without a schema root have no problems.
pub fn problems(group: &str, version: &str, kind: &str, raw: &[u8], obj: &Value) -> Vec<String> {
    let s = schemas();
    let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) else {
        return Vec::new();
    };
    let node = parse_raw(raw).unwrap_or_else(|| Node::from_value(obj, false));
    let mut strict = Strict::new("");
    strict.walk(s, &node, Shape::Struct(root, true), &mut String::new());
    strict.errs
}

/// The problems of a body that arrived as YAML: upstream converts YAML to JSON through a
/// Go map, so fields are visited in sorted key order. (Upstream also reports YAML's own
/// duplicate keys first, as `line N: key "x" already set in map`; not produced here.)
pub fn yaml_problems(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    let s = schemas();
    let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) else {
        return Vec::new();
    };
    let mut strict = Strict::new("");
    strict.walk(s, &Node::from_value(obj, true), Shape::Struct(root, true), &mut String::new());
    strict.errs
}

/// Duplicate fields anywhere in a JSON document, as upstream reports them when decoding
/// into an untyped map (custom resources, merge and strategic-merge patch bodies).
pub fn duplicate_fields(raw: &[u8]) -> Vec<String> {
    let Some(node) = parse_raw(raw) else { return Vec::new() };
    let mut strict = Strict::new("");
    strict.walk(schemas(), &node, Shape::Untyped, &mut String::new());
    strict.errs
}

/// The Strict-mode error text for problems: `strict decoding error: a, b`. The Warn-mode
/// header texts are the problems themselves.
pub fn strict_error_message(problems: &[String]) -> String {
    format!("strict decoding error: {}", problems.join(", "))
}

/// The message of the `400 BadRequest` a Strict create/update gets:
/// `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ...`.
/// `body_kind`/`body_version` are the body's (defaulted from the endpoint), `kind` the
/// endpoint's.
pub fn decode_error_message(body_kind: &str, body_version: &str, kind: &str, problems: &[String]) -> String {
    format!(
        "{body_kind} in version {} cannot be handled as a {kind}: {}",
        go_quote(body_version),
        strict_error_message(problems)
    )
}

/// The patch types upstream applies itself (server-side apply is checked differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    StrategicMerge,
}

/// Problems of a patch, in upstream's order: first those of the patch document itself,
/// then the unknown fields of the patched object (`patched`, as the patch produced it).
///
/// - JSON patch: the operation list is decoded strictly, each finding prefixed
///   `json patch ` (`json patch unknown field "[0].foo"`, `json patch duplicate field
///   "[1].path"`, duplicates inside values as `"[0].value.k"`); the patched object is then
///   decoded strictly, which upstream does from JSON with sorted keys.
/// - Merge patch: duplicates anywhere in the patch, then the patched object's unknown
///   fields in sorted key order.
/// - Strategic merge patch: duplicates anywhere in the patch, then the patched object's
///   unknown fields as the unstructured converter reports them: sorted as strings, and map
///   keys left out of paths (`spec.foo.bar` for `spec.foo[key].bar`).
///
/// Patch-document findings do not depend on the kind; patched-object findings need a
/// schema root.
pub fn patch_problems(group: &str, version: &str, kind: &str, patch_type: PatchType, patch: &[u8], patched: &Value) -> Vec<String> {
    let s = schemas();
    let mut out = match (patch_type, parse_raw(patch)) {
        (PatchType::Json, Some(node @ Node::Array(_))) => {
            let mut strict = Strict::new("json patch ");
            strict.walk(s, &node, Shape::JsonPatchOps, &mut String::new());
            strict.errs
        }
        (PatchType::Merge | PatchType::StrategicMerge, Some(node @ Node::Object(_))) => {
            let mut strict = Strict::new("");
            strict.walk(s, &node, Shape::Untyped, &mut String::new());
            strict.errs
        }
        _ => Vec::new(),
    };
    let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) else {
        return out;
    };
    match patch_type {
        PatchType::Json | PatchType::Merge => {
            // A merge patch merges objects and replaces everything else, and the stored
            // object holds no unknown fields: the result's unknown fields are exactly the
            // patch's (nulls delete). Walking the patch alone is cheaper than the result,
            // and sorted keys report them in the same order.
            let merge_body = match patch_type {
                PatchType::Merge => serde_json::from_slice::<Value>(patch).ok().filter(Value::is_object).map(|mut v| {
                    drop_nulls(&mut v);
                    v
                }),
                _ => None,
            };
            let mut strict = Strict::new("");
            strict.walk(s, &Node::from_value(merge_body.as_ref().unwrap_or(patched), true), Shape::Struct(root, true), &mut String::new());
            out.extend(strict.errs);
        }
        PatchType::StrategicMerge => {
            let mut unknown = Vec::new();
            converter_walk(s, patched, Shape::Struct(root, true), &mut String::new(), &mut unknown);
            unknown.sort();
            out.extend(unknown);
        }
    }
    out
}

/// Removes the members a merge patch deletes (null), at every depth of objects.
fn drop_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        m.values_mut().for_each(drop_nulls);
    }
}

/// The field error of a Strict patch failure. Upstream answers `422 Invalid` with an empty
/// kind and name: message `format!(" \"\" is invalid: {}", err.message())` (see
/// [`invalid_patch_message`]), one cause `{reason: FieldValueInvalid, field: "patch",
/// message: err.body()}`. The bad value is the patched object as compact JSON with sorted
/// keys (JSON and merge patches) or the patch as Go prints a map (`map[spec:map[a:1]]`,
/// strategic merge patches).
pub fn patch_strict_error(patch_type: PatchType, patch: &[u8], patched: &Value, problems: &[String]) -> FieldError {
    let shown = match patch_type {
        PatchType::Json | PatchType::Merge => {
            let mut out = String::new();
            write_go_json(&mut out, patched);
            out
        }
        PatchType::StrategicMerge => {
            let map = serde_json::from_slice::<Value>(patch).unwrap_or(Value::Object(Map::new()));
            let mut out = String::new();
            write_go_value(&mut out, &map);
            out
        }
    };
    FieldError::invalid("patch", Value::String(shown), strict_error_message(problems))
}

/// The Status message of a Strict patch failure: ` "" is invalid: patch: Invalid value: ...`.
pub fn invalid_patch_message(err: &FieldError) -> String {
    format!(" \"\" is invalid: {}", err.message())
}

mod gofmt;
mod node;
mod prune;
mod shape;
mod walk;

use gofmt::*;
use node::*;
pub use prune::prune;
use shape::*;

/// Compact JSON with object keys sorted (as Go's `json.Marshal` writes maps): the same
/// value always gives the same text, whatever order its maps were built in.
pub fn sorted_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(&mut out, v);
    out
}
use walk::*;

#[cfg(test)]
mod tests;
