#![allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// What Go decodes a value into.

#[derive(Clone, Copy)]
pub(super) enum Shape<'a> {
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
pub(super) fn deref<'a>(s: &'a Schemas, mut schema: &'a Value) -> (&'a Value, Option<&'a str>) {
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

pub(super) fn shape_of<'a>(s: &'a Schemas, schema: &'a Value) -> Shape<'a> {
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
    pub(super) fn field(self, s: &'a Schemas, key: &str) -> Option<Shape<'a>> {
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
