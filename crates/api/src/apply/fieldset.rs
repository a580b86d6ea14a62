//! Sets of field paths, as server-side apply tracks ownership, and their `FieldsV1`
//! encoding (`{"f:spec":{"f:replicas":{}}}`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One step of a path: a struct field or map key, an associative-list item by its key
/// fields, a set item by value, or a list index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    Field(String),
    /// Compact JSON of the key fields, sorted by name: `{"name":"nginx"}`.
    Key(String),
    /// Compact JSON of the value: `"example.com/x"`.
    Value(String),
    Index(usize),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => format!("k:{k}"),
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Option<PathElement> {
        let (kind, rest) = s.split_once(':')?;
        Some(match kind {
            "f" => PathElement::Field(rest.to_string()),
            "k" => PathElement::Key(rest.to_string()),
            "v" => PathElement::Value(rest.to_string()),
            "i" => PathElement::Index(rest.parse().ok()?),
            _ => return None,
        })
    }

    /// As upstream prints a path step in conflict messages.
    fn display(&self) -> String {
        match self {
            PathElement::Field(f) => format!(".{f}"),
            PathElement::Key(k) => {
                let fields: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={v}]"),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

pub type Path = Vec<PathElement>;

pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

/// A trie of paths. A node is a member when the path itself is in the set (leaves
/// always are; maps and list items are too when they have members below them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    pub member: bool,
    pub children: BTreeMap<PathElement, Set>,
}

impl Set {
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(Set::is_empty)
    }

    pub fn insert(&mut self, path: &[PathElement]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Every member path, depth first.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (el, child) in &self.children {
            prefix.push(el.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    pub fn union_in_place(&mut self, other: &Set) {
        self.member |= other.member;
        for (el, child) in &other.children {
            self.children.entry(el.clone()).or_default().union_in_place(child);
        }
    }

    /// Members of `self` that are not members of `other` (walking both tries at once).
    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Set { member: self.member && !other.member, children: BTreeMap::new() };
        for (el, child) in &self.children {
            let d = match other.children.get(el) {
                Some(o) => child.difference(o),
                None => child.clone(),
            };
            if !d.is_empty() {
                out.children.insert(el.clone(), d);
            }
        }
        out
    }

    /// Whether some path is a member of both.
    pub fn intersects(&self, other: &Set) -> bool {
        (self.member && other.member) || self.children.iter().any(|(el, c)| other.children.get(el).is_some_and(|o| c.intersects(o)))
    }

    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set { member: self.member && other.member, children: BTreeMap::new() };
        for (el, child) in &self.children {
            if let Some(o) = other.children.get(el) {
                let i = child.intersection(o);
                if !i.is_empty() {
                    out.children.insert(el.clone(), i);
                }
            }
        }
        out
    }

    /// The `FieldsV1` JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (el, child) in &self.children {
            if !child.is_empty() {
                m.insert(el.encode(), child.to_fields_v1());
            }
        }
        Value::Object(m)
    }

    pub fn from_fields_v1(v: &Value) -> Set {
        let mut set = Set::default();
        let Some(m) = v.as_object() else { return set };
        for (k, child) in m {
            if k == "." {
                set.member = true;
                continue;
            }
            let Some(el) = PathElement::decode(k) else { continue };
            let mut c = Set::from_fields_v1(child);
            if child.as_object().is_some_and(|o| o.is_empty()) {
                c.member = true;
            }
            set.children.insert(el, c);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_v1_round_trips() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                       "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}, "f:replicas": {}}});
        let s = Set::from_fields_v1(&v);
        assert!(s.contains(&[PathElement::Field("spec".into()), PathElement::Field("replicas".into())]));
        assert!(!s.contains(&[PathElement::Field("spec".into())]));
        assert_eq!(s.to_fields_v1(), v);
        let item = [PathElement::Field("spec".into()), PathElement::Field("containers".into()), PathElement::Key("{\"name\":\"web\"}".into()), PathElement::Field("image".into())];
        assert_eq!(path_string(&item), ".spec.containers[name=\"web\"].image");
    }

    #[test]
    fn set_algebra() {
        let a = Set::from_fields_v1(&json!({"f:a": {}, "f:b": {"f:c": {}}}));
        let b = Set::from_fields_v1(&json!({"f:b": {"f:c": {}}, "f:d": {}}));
        assert_eq!(a.difference(&b).to_fields_v1(), json!({"f:a": {}}));
        assert_eq!(a.intersection(&b).to_fields_v1(), json!({"f:b": {"f:c": {}}}));
        assert_eq!(a.union(&b).paths().len(), 3);
    }
}
