//! Walking objects with their type: which lists are atomic, sets, or maps keyed by some
//! of their items' fields; the field set of an object; merging an applied configuration
//! into a live object; and removing fields.

use serde_json::{Map, Value};

use super::fieldset::{PathElement, Set};
use crate::schema::Schemas;

#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    Atomic,
    Set,
    Map(Vec<&'static str>),
}

/// The type an object is walked with: the kind (for list semantics) and its schema.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    schemas: &'static Schemas,
    root: Option<&'static Value>,
}

/// Lists upstream keys by more than the strategic-merge key (`+listMapKey` markers).
fn multi_key_list(names: &[&str]) -> Option<ListKind> {
    match names {
        [.., "containers" | "initContainers" | "ephemeralContainers", "ports"] => {
            Some(ListKind::Map(vec!["containerPort", "protocol"]))
        }
        ["spec", "ports"] => Some(ListKind::Map(vec!["port", "protocol"])),
        [.., "topologySpreadConstraints"] => Some(ListKind::Map(vec!["topologyKey", "whenUnsatisfiable"])),
        _ => None,
    }
}

/// Key fields whose absence means their default (so `{port: 80}` and
/// `{port: 80, protocol: TCP}` are the same item).
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

impl<'a> Ctx<'a> {
    pub fn new(group: &'a str, version: &str, kind: &'a str) -> Ctx<'a> {
        let schemas = crate::schema::schemas();
        let root = schemas.root(group, version, kind).and_then(|n| schemas.def(n));
        Ctx { group, kind, schemas, root }
    }

    fn list_kind(&self, names: &[&str], schema: Option<&Value>) -> ListKind {
        if let Some(s) = schema {
            match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("atomic") => return ListKind::Atomic,
                Some("set") => return ListKind::Set,
                Some("map") => {
                    let keys: Vec<&'static str> = s["x-kubernetes-list-map-keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|k| &*Box::leak(k.to_string().into_boxed_str()))
                        .collect();
                    return ListKind::Map(keys);
                }
                _ => {}
            }
        }
        if let Some(kind) = multi_key_list(names) {
            if crate::patch::list_merge_key(self.group, self.kind, names).is_some() {
                return kind;
            }
        }
        match crate::patch::field_meta(self.group, self.kind, names) {
            Some(m) if m.strategy.is_merge() => match m.merge_key {
                Some(k) => ListKind::Map(vec![k]),
                None => ListKind::Set,
            },
            _ => ListKind::Atomic,
        }
    }

    fn child_schema(&self, schema: Option<&'static Value>, field: &str) -> Option<&'static Value> {
        let s = self.schemas.resolve(schema?);
        if is_map_schema(s) {
            self.schemas.items(s)
        } else {
            self.schemas.property(s, field)
        }
    }

    fn item_schema(&self, schema: Option<&'static Value>) -> Option<&'static Value> {
        self.schemas.items(schema?)
    }

    fn resolve(&self, schema: Option<&'static Value>) -> Option<&'static Value> {
        schema.map(|s| self.schemas.resolve(s))
    }
}

fn is_map_schema(s: &Value) -> bool {
    s.get("properties").is_none() && s.get("additionalProperties").is_some_and(Value::is_object)
}

/// The compact JSON naming an associative-list item by its key fields.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut m = Map::new();
    let mut sorted: Vec<&&str> = keys.iter().collect();
    sorted.sort();
    for k in sorted {
        match item.get(*k).cloned().or_else(|| key_default(k)) {
            Some(v) => {
                m.insert(k.to_string(), v);
            }
            None if keys.len() == 1 => return None,
            None => {}
        }
    }
    Some(Value::Object(m).to_string())
}

fn matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, v)| item.get(k).cloned().or_else(|| key_default(k)).as_ref() == Some(v))
}

/// The field set of an object: every path it sets.
pub fn field_set(ctx: &Ctx, obj: &Value) -> Set {
    let mut set = Set::default();
    walk(ctx, obj, ctx.root, &mut Vec::new(), &mut set);
    set
}

fn walk(ctx: &Ctx, v: &Value, schema: Option<&'static Value>, names: &mut Vec<String>, set: &mut Set) {
    match v {
        Value::Object(m) => {
            let is_map = ctx.resolve(schema).is_some_and(is_map_schema);
            for (k, child) in m {
                walk_field(ctx, k, child, schema, is_map, names, set);
            }
        }
        Value::Array(items) => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match ctx.list_kind(&refs, ctx.resolve(schema)) {
                ListKind::Atomic => {}
                ListKind::Set => {
                    for item in items {
                        set.children.entry(PathElement::Value(item.to_string())).or_default().member = true;
                    }
                }
                ListKind::Map(keys) => {
                    let item_schema = ctx.item_schema(schema);
                    for item in items {
                        let Some(key) = item_key(item, &keys) else { continue };
                        let node = set.children.entry(PathElement::Key(key)).or_default();
                        walk(ctx, item, item_schema, names, node);
                        node.member = true;
                    }
                }
            }
        }
        _ => {}
    }
}

/// Adds one field of an object (struct field or map entry) and what is below it.
fn walk_field(
    ctx: &Ctx,
    k: &str,
    child: &Value,
    parent: Option<&'static Value>,
    parent_is_map: bool,
    names: &mut Vec<String>,
    set: &mut Set,
) {
    let child_schema = ctx.child_schema(parent, k);
    if !parent_is_map {
        names.push(k.to_string());
    }
    let node = set.children.entry(PathElement::Field(k.to_string())).or_default();
    walk(ctx, child, child_schema, names, node);
    let child_is_map = child.is_object() && ctx.resolve(child_schema).is_some_and(is_map_schema);
    if node.children.is_empty() || child_is_map {
        node.member = true;
    }
    if !parent_is_map {
        names.pop();
    }
}

/// The field set of the top-level fields `keep_top` accepts and, inside metadata, the
/// fields `keep_meta` accepts; without copying the object.
pub fn field_set_filtered(ctx: &Ctx, obj: &Value, keep_top: &dyn Fn(&str) -> bool, keep_meta: &dyn Fn(&str) -> bool) -> Set {
    let mut set = Set::default();
    let Some(m) = obj.as_object() else { return set };
    let mut names = Vec::new();
    for (k, v) in m.iter().filter(|(k, _)| keep_top(k)) {
        match (k.as_str(), v.as_object()) {
            ("metadata", Some(meta)) => {
                let meta_schema = ctx.child_schema(ctx.root, "metadata");
                names.push("metadata".to_string());
                let mut node = Set::default();
                for (mk, mv) in meta.iter().filter(|(mk, _)| keep_meta(mk)) {
                    walk_field(ctx, mk, mv, meta_schema, false, &mut names, &mut node);
                }
                names.pop();
                if !node.children.is_empty() {
                    set.children.insert(PathElement::Field("metadata".into()), node);
                }
            }
            _ => walk_field(ctx, k, v, ctx.root, false, &mut names, &mut set),
        }
    }
    set
}

/// One step down a path.
pub fn step<'v>(v: &'v Value, el: &PathElement) -> Option<&'v Value> {
    match el {
        PathElement::Field(f) => v.get(f),
        PathElement::Index(i) => v.get(*i),
        PathElement::Key(k) => {
            let key: Map<String, Value> = serde_json::from_str(k).ok()?;
            v.as_array()?.iter().find(|item| matches_key(item, &key))
        }
        PathElement::Value(want) => {
            let want: Value = serde_json::from_str(want).ok()?;
            v.as_array()?.iter().find(|item| **item == want)
        }
    }
}

/// The leaves of `common` (paths both objects have) whose values differ.
pub fn modified_leaves(old: &Value, new: &Value, common: &Set) -> Set {
    let mut out = Set::default();
    for (el, child) in &common.children {
        let (Some(o), Some(n)) = (step(old, el), step(new, el)) else { continue };
        if child.children.is_empty() {
            let comparable = !matches!(n, Value::Object(m) if !m.is_empty());
            if child.member && comparable && o != n {
                out.children.entry(el.clone()).or_default().member = true;
            }
            continue;
        }
        let sub = modified_leaves(o, n, child);
        if !sub.is_empty() {
            out.children.insert(el.clone(), sub);
        }
    }
    out
}

/// The value at a path, if the object has it.
pub fn value_at<'v>(obj: &'v Value, path: &[PathElement]) -> Option<&'v Value> {
    path.iter().try_fold(obj, |cur, el| step(cur, el))
}

/// Merges an applied configuration into a live object: maps and structs field by
/// field, associative lists and sets item by item, everything else replaced.
pub fn merge(ctx: &Ctx, live: &Value, applied: &Value) -> Value {
    let mut out = live.clone();
    merge_into(ctx, &mut out, applied, ctx.root, &mut Vec::new());
    out
}

fn merge_into(ctx: &Ctx, live: &mut Value, applied: &Value, schema: Option<&'static Value>, names: &mut Vec<String>) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            let is_map = ctx.resolve(schema).is_some_and(is_map_schema);
            for (k, av) in a {
                match l.get_mut(k) {
                    Some(lv) => {
                        if !is_map {
                            names.push(k.clone());
                        }
                        merge_into(ctx, lv, av, ctx.child_schema(schema, k), names);
                        if !is_map {
                            names.pop();
                        }
                    }
                    None => {
                        l.insert(k.clone(), av.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            match ctx.list_kind(&refs, ctx.resolve(schema)) {
                ListKind::Atomic => *l = a.clone(),
                ListKind::Set => {
                    let new: Vec<Value> = a.iter().filter(|x| !l.contains(x)).cloned().collect();
                    l.extend(new);
                }
                ListKind::Map(keys) => {
                    let item_schema = ctx.item_schema(schema);
                    for item in a {
                        let key = item_key(item, &keys);
                        let pos = key.as_ref().and_then(|k| l.iter().position(|o| item_key(o, &keys).as_ref() == Some(k)));
                        match pos {
                            Some(p) => merge_into(ctx, &mut l[p], item, item_schema, names),
                            None => l.push(item.clone()),
                        }
                    }
                }
            }
        }
        (live, applied) => *live = applied.clone(),
    }
}

/// Removes the member paths of `set` from the object; a map or list item that only
/// holds members of its own is removed once it is empty.
pub fn remove(obj: &mut Value, set: &Set) {
    for (el, child) in &set.children {
        remove_child(obj, el, child);
    }
}

fn remove_child(parent: &mut Value, el: &PathElement, child: &Set) {
    let leaf = child.children.is_empty();
    match (parent, el) {
        (Value::Object(m), PathElement::Field(f)) => {
            if leaf && child.member {
                m.remove(f);
                return;
            }
            if let Some(v) = m.get_mut(f) {
                remove(v, child);
                if child.member && is_empty_container(v) {
                    m.remove(f);
                }
            }
        }
        (Value::Array(items), PathElement::Key(_) | PathElement::Value(_)) => {
            let Some(pos) = items.iter().position(|i| matches(i, el)) else { return };
            if leaf && child.member {
                items.remove(pos);
                return;
            }
            remove(&mut items[pos], child);
            if child.member && is_item_empty(&items[pos], el) {
                items.remove(pos);
            }
        }
        _ => {}
    }
}

fn matches(item: &Value, el: &PathElement) -> bool {
    match el {
        PathElement::Key(k) => serde_json::from_str::<Map<String, Value>>(k).is_ok_and(|key| matches_key(item, &key)),
        PathElement::Value(v) => serde_json::from_str::<Value>(v).is_ok_and(|want| *item == want),
        _ => false,
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// An associative-list item with nothing left but its key fields.
fn is_item_empty(item: &Value, el: &PathElement) -> bool {
    let PathElement::Key(k) = el else { return false };
    let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
    item.as_object().is_some_and(|m| m.keys().all(|f| key.contains_key(f)))
}
