//! Documents are written piece by piece (each path item and each definition serialized
//! on its own), so building one never holds a whole document as a `serde_json::Value`.

use std::collections::{BTreeMap, BTreeSet};

use api::schema::extensions::{definition, for_each_reference};
use serde::Serialize;
use serde_json::Value;

/// Writes a JSON object member by member.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    pub fn begin(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// Starts a member; its value must be written next (to [`Object::out`]).
    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        let _ = serde_json::to_writer(&mut *self.out, k);
        self.out.push(b':');
        self.out
    }

    pub fn value<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) {
        let out = self.key(k);
        let _ = serde_json::to_writer(out, v);
    }

    pub fn raw(&mut self, k: &str, raw: &[u8]) {
        self.key(k).extend_from_slice(raw);
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// The definitions reachable from `roots`, each converted with `convert` and serialized,
/// sorted by name.
pub fn definitions(roots: impl IntoIterator<Item = String>, convert: impl Fn(&str, &mut Value)) -> BTreeMap<String, Vec<u8>> {
    let mut todo: Vec<String> = roots.into_iter().collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeMap::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(mut def) = definition(&name) else { continue };
        for_each_reference(&def, &mut |r| {
            if !seen.contains(r) {
                todo.push(r.to_string());
            }
        });
        convert(&name, &mut def);
        out.insert(name, serde_json::to_vec(&def).unwrap_or_default());
    }
    out
}

/// Writes `{"name": definition, ...}`.
pub fn write_map(out: &mut Vec<u8>, entries: &BTreeMap<String, Vec<u8>>) {
    let mut obj = Object::begin(out);
    for (k, v) in entries {
        obj.raw(k, v);
    }
    obj.end();
}
