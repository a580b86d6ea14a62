#![allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------
// sigs.k8s.io/json's strict decoding.

pub(super) struct Strict {
    pub(super) prefix: &'static str,
    pub(super) errs: Vec<String>,
    pub(super) seen: HashSet<String>,
    pub(super) count: usize,
}

impl Strict {
    pub(super) fn new(prefix: &'static str) -> Self {
        Strict { prefix, errs: Vec::new(), seen: HashSet::new(), count: 0 }
    }

    /// `saveStrictError`: capped, deduplicated.
    pub(super) fn save(&mut self, what: &str, stack: &str, key: &str) {
        if self.count >= MAX_STRICT_ERRORS {
            return;
        }
        let path = if stack.is_empty() { key.to_string() } else { format!("{stack}.{key}") };
        let msg = format!("{what} field {}", go_quote(&path));
        if self.seen.insert(msg.clone()) {
            self.count += 1;
            self.errs.push(format!("{}{msg}", self.prefix));
        }
    }

    pub(super) fn walk<'a>(&mut self, s: &'a Schemas, node: &Node, shape: Shape<'a>, stack: &mut String) {
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
pub(super) fn push_key(stack: &mut String, key: &str) -> usize {
    let depth = stack.len();
    if !stack.is_empty() {
        stack.push('.');
    }
    stack.push_str(key);
    depth
}

/// `appendStrictFieldStackIndex`.
pub(super) fn push_index(stack: &mut String, i: usize) -> usize {
    use std::fmt::Write;
    let depth = stack.len();
    let _ = write!(stack, "[{i}]");
    depth
}

// ---------------------------------------------------------------------------------------
// runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation (strategic merge
// patches): unknown fields only, map keys not part of paths, no quoting of paths.

pub(super) fn converter_walk<'a>(s: &'a Schemas, v: &Value, shape: Shape<'a>, stack: &mut String, out: &mut Vec<String>) {
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
                        out.push(format!("unknown field \"{stack}\""));
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
