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
    strict.walk(s, &node, Shape::Struct(root, true), &mut Vec::new());
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
    strict.walk(s, &Node::from_value(obj, true), Shape::Struct(root, true), &mut Vec::new());
    strict.errs
}

/// Duplicate fields anywhere in a JSON document, as upstream reports them when decoding
/// into an untyped map (custom resources, merge and strategic-merge patch bodies).
pub fn duplicate_fields(raw: &[u8]) -> Vec<String> {
    let Some(node) = parse_raw(raw) else { return Vec::new() };
    let mut strict = Strict::new("");
    strict.walk(schemas(), &node, Shape::Untyped, &mut Vec::new());
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
            strict.walk(s, &node, Shape::JsonPatchOps, &mut Vec::new());
            strict.errs
        }
        (PatchType::Merge | PatchType::StrategicMerge, Some(node @ Node::Object(_))) => {
            let mut strict = Strict::new("");
            strict.walk(s, &node, Shape::Untyped, &mut Vec::new());
            strict.errs
        }
        _ => Vec::new(),
    };
    let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) else {
        return out;
    };
    match patch_type {
        PatchType::Json | PatchType::Merge => {
            let mut strict = Strict::new("");
            strict.walk(s, &Node::from_value(patched, true), Shape::Struct(root, true), &mut Vec::new());
            out.extend(strict.errs);
        }
        PatchType::StrategicMerge => {
            let mut unknown = Vec::new();
            converter_walk(s, patched, Shape::Struct(root, true), &mut Vec::new(), &mut unknown);
            unknown.sort();
            out.extend(unknown);
        }
    }
    out
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

// ---------------------------------------------------------------------------------------
// The document, with duplicate keys kept.

/// A JSON document keeping every key of an object in order, duplicates included.
#[derive(Debug)]
enum Node {
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Scalar,
}

impl Node {
    fn from_value(v: &Value, sorted: bool) -> Node {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(String, Node)> = m.iter().map(|(k, v)| (k.clone(), Node::from_value(v, sorted))).collect();
                if sorted {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                Node::Object(entries)
            }
            Value::Array(a) => Node::Array(a.iter().map(|v| Node::from_value(v, sorted)).collect()),
            _ => Node::Scalar,
        }
    }
}

fn parse_raw(raw: &[u8]) -> Option<Node> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice::<Node>(raw).ok()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Node::Object(entries))
    }
}

// ---------------------------------------------------------------------------------------
// What Go decodes a value into.

#[derive(Clone, Copy)]
enum Shape<'a> {
    /// A type with its own unmarshaler, or a scalar: nothing inside is checked.
    Opaque,
    /// `interface{}`: objects are checked for duplicates, nothing is unknown.
    Untyped,
    /// A struct (the resolved schema; `true` for the kind's root, which always knows
    /// `apiVersion` and `kind`).
    Struct(&'a Value, bool),
    /// `map[string]T` (`None`: values are `interface{}`).
    Map(Option<&'a Value>),
    /// `[]T`.
    Array(&'a Value),
    /// The apiserver's `[]jsonPatchOp`.
    JsonPatchOps,
    /// `jsonPatchOp{op, path, from string; value interface{}}`.
    JsonPatchOp,
}

/// Follows `$ref`s (also wrapped in `allOf`), returning the schema and its definition name.
fn deref<'a>(s: &'a Schemas, mut schema: &'a Value) -> (&'a Value, Option<&'a str>) {
    let mut name = None;
    for _ in 0..8 {
        let reference = schema
            .get("$ref")
            .or_else(|| schema.get("allOf").and_then(|a| a.get(0)).and_then(|x| x.get("$ref")))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(REF_PREFIX));
        match reference.and_then(|n| s.defs.get_key_value(n)) {
            Some((n, def)) => {
                name = Some(n.as_str());
                schema = def;
            }
            None => break,
        }
    }
    (schema, name)
}

fn shape_of<'a>(s: &'a Schemas, schema: &'a Value) -> Shape<'a> {
    let (schema, name) = deref(s, schema);
    if name.is_some_and(|n| OPAQUE_OBJECTS.contains(&n))
        || schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true)
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
    {
        return Shape::Opaque;
    }
    if schema.get("properties").is_some() {
        return Shape::Struct(schema, false);
    }
    if let Some(items) = schema.get("items") {
        return Shape::Array(items);
    }
    match schema.get("additionalProperties") {
        Some(ap @ Value::Object(_)) => return Shape::Map(Some(ap)),
        Some(Value::Bool(true)) => return Shape::Map(None),
        _ => {}
    }
    if schema.get("type").and_then(Value::as_str) == Some("object") {
        // A struct without fields (e.g. CustomResourceSubresourceStatus).
        return Shape::Struct(schema, false);
    }
    Shape::Opaque
}

impl<'a> Shape<'a> {
    /// The shape of a struct's field, `None` when the struct has no such field.
    fn field(self, s: &'a Schemas, key: &str) -> Option<Shape<'a>> {
        match self {
            Shape::Struct(schema, root) => match schema.get("properties").and_then(|p| p.get(key)) {
                Some(prop) => Some(shape_of(s, prop)),
                None if root && (key == "apiVersion" || key == "kind") => Some(Shape::Opaque),
                None => None,
            },
            Shape::JsonPatchOp => match key {
                "op" | "path" | "from" => Some(Shape::Opaque),
                "value" => Some(Shape::Untyped),
                _ => None,
            },
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// sigs.k8s.io/json's strict decoding.

struct Strict {
    prefix: &'static str,
    errs: Vec<String>,
    seen: HashSet<String>,
    count: usize,
}

impl Strict {
    fn new(prefix: &'static str) -> Self {
        Strict { prefix, errs: Vec::new(), seen: HashSet::new(), count: 0 }
    }

    /// `saveStrictError`: capped, deduplicated.
    fn save(&mut self, what: &str, stack: &[String], key: &str) {
        if self.count >= MAX_STRICT_ERRORS {
            return;
        }
        let path = if stack.is_empty() { key.to_string() } else { format!("{}.{key}", stack.concat()) };
        let msg = format!("{what} field {}", go_quote(&path));
        if self.seen.insert(msg.clone()) {
            self.count += 1;
            self.errs.push(format!("{}{msg}", self.prefix));
        }
    }

    fn walk<'a>(&mut self, s: &'a Schemas, node: &Node, shape: Shape<'a>, stack: &mut Vec<String>) {
        match (shape, node) {
            (Shape::Struct(..) | Shape::JsonPatchOp, Node::Object(entries)) => {
                let mut seen: HashSet<&str> = HashSet::new();
                for (key, value) in entries {
                    match shape.field(s, key) {
                        Some(field) => {
                            if !seen.insert(key) {
                                self.save("duplicate", stack, key);
                            }
                            let depth = push_key(stack, key);
                            self.walk(s, value, field, stack);
                            stack.truncate(depth);
                        }
                        None => self.save("unknown", stack, key),
                    }
                }
            }
            (Shape::Map(_) | Shape::Untyped, Node::Object(entries)) => {
                let values = match shape {
                    Shape::Map(Some(schema)) => shape_of(s, schema),
                    _ => Shape::Untyped,
                };
                let mut seen: HashSet<&str> = HashSet::new();
                for (key, value) in entries {
                    if !seen.insert(key) {
                        self.save("duplicate", stack, key);
                    }
                    let depth = push_key(stack, key);
                    self.walk(s, value, values, stack);
                    stack.truncate(depth);
                }
            }
            (Shape::Array(_) | Shape::Untyped | Shape::JsonPatchOps, Node::Array(items)) => {
                let elems = match shape {
                    Shape::Array(schema) => shape_of(s, schema),
                    Shape::JsonPatchOps => Shape::JsonPatchOp,
                    _ => Shape::Untyped,
                };
                for (i, item) in items.iter().enumerate() {
                    let depth = push_index(stack, i);
                    self.walk(s, item, elems, stack);
                    stack.truncate(depth);
                }
            }
            // Opaque values, scalars, and mismatched types (a decode error upstream, not a
            // strict one).
            _ => {}
        }
    }
}

/// `appendStrictFieldStackKey`; returns the depth to truncate back to.
fn push_key(stack: &mut Vec<String>, key: &str) -> usize {
    let depth = stack.len();
    if !stack.is_empty() {
        stack.push(".".into());
    }
    stack.push(key.to_string());
    depth
}

/// `appendStrictFieldStackIndex`.
fn push_index(stack: &mut Vec<String>, i: usize) -> usize {
    let depth = stack.len();
    stack.push(format!("[{i}]"));
    depth
}

// ---------------------------------------------------------------------------------------
// runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation (strategic merge
// patches): unknown fields only, map keys not part of paths, no quoting of paths.

fn converter_walk<'a>(s: &'a Schemas, v: &Value, shape: Shape<'a>, stack: &mut Vec<String>, out: &mut Vec<String>) {
    match (shape, v) {
        (Shape::Struct(..), Value::Object(m)) => {
            for (key, value) in m {
                match shape.field(s, key) {
                    Some(field) => {
                        if !value.is_null() {
                            let depth = push_key(stack, key);
                            converter_walk(s, value, field, stack, out);
                            stack.truncate(depth);
                        }
                    }
                    None => {
                        let depth = push_key(stack, key);
                        out.push(format!("unknown field \"{}\"", stack.concat()));
                        stack.truncate(depth);
                    }
                }
            }
        }
        (Shape::Map(Some(schema)), Value::Object(m)) => {
            let values = shape_of(s, schema);
            for value in m.values().filter(|v| !v.is_null()) {
                converter_walk(s, value, values, stack, out);
            }
        }
        (Shape::Array(schema), Value::Array(items)) => {
            let elems = shape_of(s, schema);
            for (i, item) in items.iter().enumerate() {
                let depth = push_index(stack, i);
                converter_walk(s, item, elems, stack, out);
                stack.truncate(depth);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Go formatting.

/// Go's `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` for characters outside ASCII.
fn go_is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !(c.is_control()
        || c.is_whitespace()
        || u == 0xad
        || (0x600..=0x605).contains(&u)
        || u == 0x61c
        || u == 0x6dd
        || u == 0x70f
        || u == 0x180e
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || u == 0xfeff
        || (0xfff9..=0xfffb).contains(&u)
        || (0xfffe..=0xffff).contains(&u)
        || u >= 0xf0000)
}

/// How Go's `fmt` prints a value decoded into `interface{}` with `%v`/`%+v`:
/// `map[a:1 b:[x y]]`, keys sorted, strings bare, null as `<nil>`.
fn write_go_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(f)) => out.push_str(&go_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go_value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go_value(out, &m[k]);
            }
            out.push(']');
        }
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): shortest digits,
/// exponent form when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.push_str(&"0".repeat(int_len - digits.len()));
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Compact JSON as Go's `json.Marshal` of maps writes it: keys sorted, `<`, `>`, `&`,
/// U+2028 and U+2029 escaped.
fn write_go_json(out: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(out, k);
                out.push(':');
                write_go_json(out, &m[k]);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, x);
            }
            out.push(']');
        }
        Value::String(s) => write_go_json_string(out, s),
        other => out.push_str(&other.to_string()),
    }
}

fn write_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(raw: &str) -> Vec<String> {
        let obj: Value = serde_json::from_str(raw).unwrap();
        problems("apps", "v1", "Deployment", raw.as_bytes(), &obj)
    }

    fn pod(raw: &str) -> Vec<String> {
        let obj: Value = serde_json::from_str(raw).unwrap();
        problems("", "v1", "Pod", raw.as_bytes(), &obj)
    }

    // Upstream's test/integration/apiserver/field_validation_test.go invalidBodyJSON.
    const INVALID_DEPLOYMENT: &str = r#"
	{
		"apiVersion": "apps/v1",
		"kind": "Deployment",
		"metadata": {
			"name": "dupename",
			"name": "n",
			"labels": {"app": "nginx"},
			"unknownMeta": "metaVal"
		},
		"spec": {
			"unknown1": "val1",
			"unknownDupe": "valDupe",
			"unknownDupe": "valDupe2",
			"paused": true,
			"paused": false,
			"selector": {"matchLabels": {"app": "nginx"}},
			"template": {
				"metadata": {"labels": {"app": "nginx"}},
				"spec": {
					"containers": [{
						"name":  "nginx",
						"image": "nginx:latest",
						"unknownNested": "val1",
						"imagePullPolicy": "Always",
						"imagePullPolicy": "Never"
					}]
				}
			}
		}
	}"#;

    #[test]
    fn upstream_create_body_in_decode_order() {
        let got = deployment(INVALID_DEPLOYMENT);
        assert_eq!(
            strict_error_message(&got),
            r#"strict decoding error: duplicate field "metadata.name", unknown field "metadata.unknownMeta", unknown field "spec.unknown1", unknown field "spec.unknownDupe", duplicate field "spec.paused", unknown field "spec.template.spec.containers[0].unknownNested", duplicate field "spec.template.spec.containers[0].imagePullPolicy""#
        );
        assert_eq!(
            decode_error_message("Deployment", "v1", "Deployment", &got[..1]),
            r#"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "metadata.name""#
        );
    }

    #[test]
    fn valid_bodies_have_no_problems() {
        let raw = r#"{"apiVersion":"apps/v1","kind":"Deployment",
            "metadata":{"name":"d","labels":{"a":"b"},"annotations":{"x":"y"},
                "managedFields":[{"manager":"m","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}],
                "ownerReferences":[{"apiVersion":"v1","kind":"X","name":"o","uid":"u"}]},
            "spec":{"replicas":2,"selector":{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"k","operator":"In","values":["v"]}]},
                "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}},
                "template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i",
                    "ports":[{"containerPort":80}],
                    "resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":0.5}},
                    "livenessProbe":{"httpGet":{"port":"http","path":"/"}}}],
                    "nodeSelector":{"disk":"ssd"}}}},
            "status":{"replicas":1,"conditions":[{"type":"Available","status":"True","lastUpdateTime":"2024-01-01T00:00:00Z"}]}}"#;
        assert_eq!(deployment(raw), Vec::<String>::new());
    }

    #[test]
    fn unknown_top_level_and_nested_fields() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","bogus":1},"foo":{"a":1},
            "spec":{"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","imagee":"x",
                "env":[{"name":"E","value":"v","valueFrom2":{}}]}],"bar":true}}"#;
        assert_eq!(
            pod(raw),
            [
                r#"unknown field "metadata.bogus""#,
                r#"unknown field "foo""#,
                r#"unknown field "spec.containers[1].imagee""#,
                r#"unknown field "spec.containers[1].env[0].valueFrom2""#,
                r#"unknown field "spec.bar""#,
            ]
        );
    }

    #[test]
    fn matching_is_case_sensitive() {
        let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","Metadata":{"name":"x"},"metadata":{"Name":"x"},"Data":{}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            problems("", "v1", "ConfigMap", raw.as_bytes(), &obj),
            [r#"unknown field "Metadata""#, r#"unknown field "metadata.Name""#, r#"unknown field "Data""#]
        );
    }

    #[test]
    fn maps_accept_any_key_but_report_duplicate_keys() {
        let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a":"1","b":"2","a":"3"},
            "annotations":{"anything/goes":"v"}},"data":{"k":"v","k2":"v"},"binaryData":{"b":"AA=="}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(problems("", "v1", "ConfigMap", raw.as_bytes(), &obj), [r#"duplicate field "metadata.labels.a""#]);
    }

    #[test]
    fn duplicates_at_nested_paths_and_in_lists() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"a","image":"i"},{"name":"b","image":"i","ports":[{"containerPort":1,"containerPort":2}]}],
            "nodeSelector":{"x":"1","x":"2"}},
            "spec":{"restartPolicy":"Always"}}"#;
        assert_eq!(
            pod(raw),
            [
                r#"duplicate field "spec.containers[1].ports[0].containerPort""#,
                r#"duplicate field "spec.nodeSelector.x""#,
                r#"duplicate field "spec""#,
            ]
        );
    }

    #[test]
    fn the_second_occurrence_is_reported_before_its_contents_and_findings_are_deduplicated() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","foo":1},"metadata":{"foo":2,"bar":3},"baz":1,"baz":2}"#;
        assert_eq!(
            pod(raw),
            [
                r#"unknown field "metadata.foo""#,
                r#"duplicate field "metadata""#,
                r#"unknown field "metadata.bar""#,
                r#"unknown field "baz""#,
            ]
        );
    }

    #[test]
    fn nothing_inside_an_unknown_field_is_reported() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"extra":{"a":1,"a":2,"b":{"c":1}}}"#;
        assert_eq!(pod(raw), [r#"unknown field "extra""#]);
    }

    #[test]
    fn int_or_string_and_quantity_fields_are_opaque() {
        let raw = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},
            "spec":{"ports":[{"port":80,"targetPort":"http"},{"port":81,"targetPort":8081},{"port":82,"targetPort":{"x":1,"x":2}}]}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(problems("", "v1", "Service", raw.as_bytes(), &obj), Vec::<String>::new());
        let raw = r#"{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},
            "spec":{"hard":{"cpu":"2","pods":10,"memory":{"weird":1}}}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(problems("", "v1", "ResourceQuota", raw.as_bytes(), &obj), Vec::<String>::new());
    }

    #[test]
    fn free_form_fields_are_not_checked() {
        let raw = r#"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"r"},"revision":1,
            "data":{"spec":{"anything":{"a":1,"a":2}},"whatever":[1,2]}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(problems("apps", "v1", "ControllerRevision", raw.as_bytes(), &obj), Vec::<String>::new());
        let raw = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
            "managedFields":[{"manager":"m","fieldsV1":{"f:data":{},"f:data":{}},"bogus":1}]}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            problems("", "v1", "ConfigMap", raw.as_bytes(), &obj),
            [r#"unknown field "metadata.managedFields[0].bogus""#]
        );
    }

    #[test]
    fn crd_schemas_are_checked_except_where_go_has_custom_unmarshalers() {
        let raw = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"foos.example.com"},
            "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"foos","kind":"Foo","bogusName":1},
              "versions":[{"name":"v1","served":true,"storage":true,
                "subresources":{"status":{"nope":1},"scale":{"specReplicasPath":".spec.r","statusReplicasPath":".status.r"}},
                "schema":{"openAPIV3Schema":{"type":"object","typo":1,
                  "properties":{"spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"bad":1,
                      "default":{"free":{"x":1,"x":2}}},
                    "list":{"type":"array","items":{"type":"string","ignoredInsideItems":1}},
                    "map":{"type":"object","additionalProperties":{"type":"string","ignoredToo":1}}}}}}]}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert_eq!(
            problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", raw.as_bytes(), &obj),
            [
                r#"unknown field "spec.names.bogusName""#,
                r#"unknown field "spec.versions[0].subresources.status.nope""#,
                r#"unknown field "spec.versions[0].schema.openAPIV3Schema.typo""#,
                r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.bad""#,
            ]
        );
    }

    #[test]
    fn without_raw_the_object_is_walked() {
        let obj = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","zz":1},"spec":{"containers":[{"name":"c","q":1}]}});
        assert_eq!(
            problems("", "v1", "Pod", b"", &obj),
            [r#"unknown field "metadata.zz""#, r#"unknown field "spec.containers[0].q""#]
        );
        // A body that is not JSON (e.g. protobuf) falls back to the object as well.
        assert_eq!(problems("", "v1", "Pod", b"k8s\0\x0a", &obj).len(), 2);
    }

    #[test]
    fn kinds_without_a_schema_have_no_problems() {
        let raw = r#"{"apiVersion":"example.com/v1","kind":"Foo","spec":{"a":1,"a":2}}"#;
        let obj: Value = serde_json::from_str(raw).unwrap();
        assert!(problems("example.com", "v1", "Foo", raw.as_bytes(), &obj).is_empty());
        assert!(problems("apps", "v9", "Deployment", raw.as_bytes(), &obj).is_empty());
        assert_eq!(duplicate_fields(raw.as_bytes()), [r#"duplicate field "spec.a""#]);
    }

    #[test]
    fn duplicate_fields_of_untyped_documents() {
        let raw = br#"{"a":1,"a":2,"b":{"c":[{"d":1,"d":2}],"c":3},"e":{"":{"f":1,"f":1}}}"#;
        assert_eq!(
            duplicate_fields(raw),
            [
                r#"duplicate field "a""#,
                r#"duplicate field "b.c[0].d""#,
                r#"duplicate field "b.c""#,
                r#"duplicate field "e..f""#,
            ]
        );
    }

    #[test]
    fn findings_stop_at_one_hundred() {
        let fields: Vec<String> = (0..150).map(|i| format!("\"f{i}\":1")).collect();
        let raw = format!(r#"{{"apiVersion":"v1","kind":"Pod",{}}}"#, fields.join(","));
        let got = pod(&raw);
        assert_eq!(got.len(), 100);
        assert_eq!(got[99], r#"unknown field "f99""#);
    }

    #[test]
    fn paths_are_quoted_as_go_does() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"a\"b":1,"tab\tnew\nline":1,"ü":1,"\u0001":1}"#;
        assert_eq!(
            pod(raw),
            [
                r#"unknown field "a\"b""#,
                r#"unknown field "tab\tnew\nline""#,
                r#"unknown field "ü""#,
                r#"unknown field "\x01""#,
            ]
        );
    }

    #[test]
    fn root_type_meta_is_always_known_and_yaml_bodies_are_sorted() {
        let obj = json!({"kind":"Pod","apiVersion":"v1","zeta":1,"metadata":{"name":"p"},"alpha":1});
        assert_eq!(problems("", "v1", "Pod", b"", &obj), [r#"unknown field "zeta""#, r#"unknown field "alpha""#]);
        assert_eq!(yaml_problems("", "v1", "Pod", &obj), [r#"unknown field "alpha""#, r#"unknown field "zeta""#]);
    }

    fn patched_deployment() -> Value {
        json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","labels":{"app":"nginx"}},
            "spec":{"unknown1":"val1","unknownDupe":"valDupe2","paused":false,"replicas":2,
              "selector":{"matchLabels":{"app":"nginx"}},
              "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[
                {"name":"nginx","image":"nginx:latest","unknownNested":"val1","imagePullPolicy":"Never"}]}}}})
    }

    #[test]
    fn merge_patch_like_upstream() {
        let patch = br#"{"spec":{"unknown1":"val1","unknownDupe":"valDupe","unknownDupe":"valDupe2","paused":true,"paused":false,
            "template":{"spec":{"containers":[{"name":"nginx","image":"nginx:latest","unknownNested":"val1",
            "imagePullPolicy":"Always","imagePullPolicy":"Never"}]}}}}"#;
        let got = patch_problems("apps", "v1", "Deployment", PatchType::Merge, patch, &patched_deployment());
        assert_eq!(
            strict_error_message(&got),
            r#"strict decoding error: duplicate field "spec.unknownDupe", duplicate field "spec.paused", duplicate field "spec.template.spec.containers[0].imagePullPolicy", unknown field "spec.template.spec.containers[0].unknownNested", unknown field "spec.unknown1", unknown field "spec.unknownDupe""#
        );
    }

    #[test]
    fn json_patch_like_upstream() {
        let patch = br#"[
            {"op": "add", "path": "/spec/unknown1", "value": "val1", "foo":"bar"},
            {"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"},
            {"op": "add", "path": "/spec/unknownDupe", "value": "valDupe"},
            {"op": "add", "path": "/spec/unknownDupe", "value": "valDupe2"},
            {"op": "add", "path": "/spec/template/spec/containers/0/unknownNested", "value": "val1"},
            {"op": "add", "path": "/x", "value": {"k": 1, "k": 2}}
        ]"#;
        let mut patched = patched_deployment();
        patched["spec"]["unknown3"] = json!("val1");
        let got = patch_problems("apps", "v1", "Deployment", PatchType::Json, patch, &patched);
        assert_eq!(
            got,
            [
                r#"json patch unknown field "[0].foo""#,
                r#"json patch duplicate field "[1].path""#,
                r#"json patch duplicate field "[5].value.k""#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknown3""#,
                r#"unknown field "spec.unknownDupe""#,
            ]
        );
    }

    #[test]
    fn strategic_merge_patch_like_upstream() {
        let patch = br#"{"spec":{"unknown1":"val1","unknownDupe":"valDupe","unknownDupe":"valDupe2","paused":true,"paused":false,
            "template":{"spec":{"containers":[{"name":"nginx","unknownNested":"val1","imagePullPolicy":"Always","imagePullPolicy":"Never"}]}}}}"#;
        let got = patch_problems("apps", "v1", "Deployment", PatchType::StrategicMerge, patch, &patched_deployment());
        assert_eq!(
            got,
            [
                r#"duplicate field "spec.unknownDupe""#,
                r#"duplicate field "spec.paused""#,
                r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
            ]
        );
    }

    #[test]
    fn strategic_merge_patch_paths_skip_map_keys_and_sort_as_strings() {
        let patched = json!({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"x"},
            "spec":{"group":"g","names":{"plural":"p","kind":"K"},"scope":"Cluster","versions":[{"name":"v1","served":true,"storage":true,
              "schema":{"openAPIV3Schema":{"type":"object","properties":{"spec":{"type":"object","bad":1}}}}}]},
            "a-b":1,"a":{"x":1}});
        let got = patch_problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", PatchType::StrategicMerge, b"{}", &patched);
        assert_eq!(
            got,
            [r#"unknown field "a""#, r#"unknown field "a-b""#, r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.bad""#]
        );
        // The JSON patch path keeps map keys and visits keys in sorted order.
        let got = patch_problems("apiextensions.k8s.io", "v1", "CustomResourceDefinition", PatchType::Json, b"[]", &patched);
        assert_eq!(
            got,
            [r#"unknown field "a""#, r#"unknown field "a-b""#, r#"unknown field "spec.versions[0].schema.openAPIV3Schema.properties.spec.bad""#]
        );
    }

    #[test]
    fn patch_documents_are_checked_whatever_the_kind() {
        let got = patch_problems("example.com", "v1", "Foo", PatchType::Merge, br#"{"a":1,"a":2}"#, &json!({"a":2}));
        assert_eq!(got, [r#"duplicate field "a""#]);
        // Not an object / not a list: a decode error upstream, not a strict one.
        assert!(patch_problems("", "v1", "Pod", PatchType::Merge, b"[1]", &json!({})).is_empty());
        assert!(patch_problems("", "v1", "Pod", PatchType::Json, br#"{"op":"add"}"#, &json!({})).is_empty());
    }

    #[test]
    fn patch_strict_errors_are_invalid_on_the_patch_field() {
        let problems = vec![r#"unknown field "spec.x""#.to_string()];
        let patched = json!({"spec":{"x":"<&>"},"kind":"Pod"});
        let err = patch_strict_error(PatchType::Merge, b"", &patched, &problems);
        assert_eq!(err.field, "patch");
        assert_eq!(err.bad_value, Some(json!(r#"{"kind":"Pod","spec":{"x":"\u003c\u0026\u003e"}}"#)));
        assert_eq!(
            invalid_patch_message(&err),
            r#" "" is invalid: patch: Invalid value: "{\"kind\":\"Pod\",\"spec\":{\"x\":\"\\u003c\\u0026\\u003e\"}}": strict decoding error: unknown field "spec.x""#
        );
        let patch = br#"{"spec":{"replicas":3,"b":[1.5,"s",null,true],"a":{"z":1e6,"y":0.0001,"w":1e-5,"v":123456.0}}}"#;
        let err = patch_strict_error(PatchType::StrategicMerge, patch, &json!({}), &problems);
        assert_eq!(err.bad_value, Some(json!("map[spec:map[a:map[v:123456 w:1e-05 y:0.0001 z:1e+06] b:[1.5 s <nil> true] replicas:3]]")));
    }

    #[test]
    fn go_float_formatting() {
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(-2.5), "-2.5");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(0.00012), "0.00012");
        assert_eq!(go_float(1.5e-7), "1.5e-07");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.8446744073709552e19), "1.8446744073709552e+19");
    }
}

/// Drops the fields the kind's type does not have, as decoding into upstream's typed
/// objects does when validation is not Strict (so unknown fields are never stored).
pub fn prune(group: &str, version: &str, kind: &str, obj: &mut Value) {
    let s = schemas();
    if let Some(root) = s.root(group, version, kind).and_then(|n| s.def(n)) {
        prune_at(s, obj, Shape::Struct(root, true));
    }
}

fn prune_at(s: &Schemas, v: &mut Value, shape: Shape) {
    match (shape, v) {
        (Shape::Struct(schema, root), Value::Object(m)) => {
            let props = schema.get("properties");
            m.retain(|k, _| props.and_then(|p| p.get(k)).is_some() || (root && (k == "apiVersion" || k == "kind")));
            for (k, child) in m.iter_mut() {
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    prune_at(s, child, shape_of(s, p));
                }
            }
        }
        (Shape::Map(Some(values)), Value::Object(m)) => {
            for child in m.values_mut() {
                prune_at(s, child, shape_of(s, values));
            }
        }
        (Shape::Array(items), Value::Array(a)) => {
            for child in a.iter_mut() {
                prune_at(s, child, shape_of(s, items));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod prune_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prune_drops_unknown_fields_only() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": 1,
            "metadata": {"name": "x", "labels": {"any": "thing"}, "nope": true},
            "spec": {"replicas": 1, "extra": {}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "junk": 2}]}}}});
        prune("apps", "v1", "Deployment", &mut d);
        assert_eq!(d, json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"any": "thing"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}));
    }
}
