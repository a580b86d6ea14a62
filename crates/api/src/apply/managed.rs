//! `metadata.managedFields`: which manager owns which fields, kept up to date by every
//! write (operation `Update`) and by server-side apply (operation `Apply`).

use serde_json::{json, Value};

use super::fieldset::{path_string, Path, Set};
use super::typed::{self, Ctx};

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: Set,
    /// `fields` as FieldsV1, while they are what was decoded: most writes leave most
    /// entries alone, and encoding them again is a good part of a write's cost.
    encoded: Encoded,
}

/// A cache that takes no part in comparisons.
#[derive(Debug, Clone, Default)]
struct Encoded(Option<Value>);

impl PartialEq for Encoded {
    fn eq(&self, _: &Encoded) -> bool {
        true
    }
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Managed {
    pub entries: Vec<Entry>,
}

/// One field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

impl Managed {
    pub fn decode(obj: &Value) -> Managed {
        let entries = obj["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let s = |f: &str| e.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
                Entry {
                    manager: s("manager"),
                    operation: s("operation"),
                    api_version: s("apiVersion"),
                    time: s("time"),
                    subresource: s("subresource"),
                    fields: Set::from_fields_v1(&e["fieldsV1"]),
                    encoded: Encoded(e.get("fieldsV1").filter(|f| f.is_object()).cloned()),
                }
            })
            .collect();
        Managed { entries }
    }

    /// The managedFields list, in upstream's order (operation, time, manager, ...).
    pub fn encode(&self) -> Value {
        let mut entries: Vec<&Entry> = self.entries.iter().filter(|e| !e.fields.is_empty()).collect();
        entries.sort_by(|a, b| {
            (&a.operation, &a.time, &a.manager, &a.api_version, &a.subresource)
                .cmp(&(&b.operation, &b.time, &b.manager, &b.api_version, &b.subresource))
        });
        let list: Vec<Value> = entries
            .into_iter()
            .map(|e| {
                let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version, "time": e.time,
                                   "fieldsType": "FieldsV1", "fieldsV1": e.encoded.0.clone().unwrap_or_else(|| e.fields.to_fields_v1())});
                if !e.subresource.is_empty() {
                    v["subresource"] = json!(e.subresource);
                }
                v
            })
            .collect();
        Value::Array(list)
    }

    fn entry_mut(&mut self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> &mut Entry {
        let pos = self.entries.iter().position(|e| e.same_owner(manager, operation, api_version, subresource));
        let pos = pos.unwrap_or_else(|| {
            self.entries.push(Entry {
                manager: manager.into(),
                operation: operation.into(),
                api_version: api_version.into(),
                time: String::new(),
                subresource: subresource.into(),
                fields: Set::default(),
                encoded: Encoded(None),
            });
            self.entries.len() - 1
        });
        &mut self.entries[pos]
    }

    /// Records a non-apply write from `old` to `new`: the manager takes the fields it
    /// added or changed; removed fields leave every manager.
    pub fn update(&mut self, ctx: &Ctx, w: &Writer, old: &Value, new: &Value) {
        // Fields under a top-level or metadata field with the same value before and after
        // are neither changed nor removed: only differing ones are walked.
        let differs = |k: &str| old.get(k) != new.get(k);
        let meta_differs = |k: &str| old["metadata"].get(k) != new["metadata"].get(k);
        let before = owned_fields_where(ctx, old, w.subresource, &differs, &meta_differs);
        let after = owned_fields_where(ctx, new, w.subresource, &differs, &meta_differs);
        let removed = before.difference(&after);
        let mut changed = after.difference(&before);
        changed.union_in_place(&typed::modified_leaves(old, new, &after.intersection(&before)));
        let taken = changed.union(&removed);
        for e in self.entries.iter_mut().filter(|e| e.fields.intersects(&taken)) {
            e.fields = e.fields.difference(&taken);
            e.encoded = Encoded(None);
        }
        if !changed.is_empty() {
            let e = self.entry_mut(w.manager, "Update", w.api_version, w.subresource);
            e.fields = e.fields.union(&changed);
            e.encoded = Encoded(None);
            e.time = w.now.to_string();
        }
        self.entries.retain(|e| !e.fields.is_empty());
    }

    /// Server-side apply of `applied` onto `live`: the merged object, or the conflicts
    /// with other managers (taken over instead when `force`).
    pub fn apply(&mut self, ctx: &Ctx, w: &Writer, live: &Value, applied: &Value, force: bool) -> Result<Value, Vec<Conflict>> {
        let applied_set = owned_fields(ctx, applied, w.subresource);
        // Leaves the applied configuration sets to a value other than the live one.
        let differing = typed::modified_leaves(live, applied, &applied_set);
        let mut conflicts = Vec::new();
        if !differing.is_empty() {
            for e in self.entries.iter().filter(|e| !e.same_owner(w.manager, "Apply", w.api_version, w.subresource)) {
                for path in e.fields.intersection(&differing).paths() {
                    conflicts.push(Conflict { manager: e.manager.clone(), api_version: e.api_version.clone(), path });
                }
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflicts);
        }
        let conflicting: Set = conflicts.iter().fold(Set::default(), |mut s, c| {
            s.insert(&c.path);
            s
        });
        for e in self.entries.iter_mut().filter(|e| !e.same_owner(w.manager, "Apply", w.api_version, w.subresource)) {
            if e.fields.intersects(&conflicting) {
                e.fields = e.fields.difference(&conflicting);
                e.encoded = Encoded(None);
            }
        }
        let mut merged = match strip_for_apply(applied, w.subresource) {
            Some(stripped) => typed::merge(ctx, live, &stripped),
            None => typed::merge(ctx, live, applied),
        };
        let previous = self.entry_mut(w.manager, "Apply", w.api_version, w.subresource).fields.clone();
        let others = self
            .entries
            .iter()
            .filter(|e| !e.same_owner(w.manager, "Apply", w.api_version, w.subresource))
            .fold(Set::default(), |acc, e| acc.union(&e.fields));
        let stale = previous.difference(&applied_set).difference(&others);
        typed::remove(&mut merged, &stale);
        let e = self.entry_mut(w.manager, "Apply", w.api_version, w.subresource);
        e.fields = applied_set;
        e.encoded = Encoded(None);
        e.api_version = w.api_version.to_string();
        e.time = w.now.to_string();
        self.entries.retain(|e| !e.fields.is_empty());
        Ok(merged)
    }
}

/// Who writes, and how.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    /// "" for the main resource, or "status", "scale".
    pub subresource: &'a str,
    pub now: &'a str,
}

/// The part of an applied configuration the written resource covers: status is
/// dropped for the main resource; the status subresource takes only status.
/// `None` when nothing needs stripping.
fn strip_for_apply(obj: &Value, subresource: &str) -> Option<Value> {
    let keep = |k: &str| match subresource {
        "status" => matches!(k, "status" | "apiVersion" | "kind" | "metadata"),
        _ => k != "status",
    };
    let m = obj.as_object()?;
    if m.keys().all(|k| keep(k)) {
        return None;
    }
    let mut v = obj.clone();
    v.as_object_mut()?.retain(|k, _| keep(k));
    Some(v)
}

/// Metadata no manager owns: identity and what the server sets.
const UNOWNED_METADATA: &[&str] = &[
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "selfLink",
    "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName",
];

fn owned_fields(ctx: &Ctx, obj: &Value, subresource: &str) -> Set {
    owned_fields_where(ctx, obj, subresource, &|_| true, &|_| true)
}

/// The owned fields under the top-level fields `top` accepts and, in metadata, the
/// fields `meta` accepts.
fn owned_fields_where(ctx: &Ctx, obj: &Value, subresource: &str, top: &dyn Fn(&str) -> bool, meta: &dyn Fn(&str) -> bool) -> Set {
    let status_only = subresource == "status";
    let keep_top = |k: &str| {
        let owned = match k {
            "apiVersion" | "kind" => false,
            "status" => status_only,
            "metadata" => !status_only,
            _ => !status_only,
        };
        owned && top(k)
    };
    let keep_meta = |k: &str| !UNOWNED_METADATA.contains(&k) && meta(k);
    typed::field_set_filtered(ctx, obj, &keep_top, &keep_meta)
}

/// Upstream's conflict message: `Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let n = conflicts.len();
    if n == 1 {
        let c = &conflicts[0];
        return format!("Apply failed with 1 conflict: conflict with \"{}\" using {}: {}", c.manager, c.api_version, path_string(&c.path));
    }
    let mut managers: Vec<(&str, &str)> = conflicts.iter().map(|c| (c.manager.as_str(), c.api_version.as_str())).collect();
    managers.dedup();
    let mut msg = format!("Apply failed with {n} conflicts: ");
    let parts: Vec<String> = managers
        .iter()
        .map(|(m, v)| {
            let paths: Vec<String> = conflicts
                .iter()
                .filter(|c| c.manager == *m && c.api_version == *v)
                .map(|c| format!("- {}", path_string(&c.path)))
                .collect();
            format!("conflicts with \"{m}\" using {v}:\n{}", paths.join("\n"))
        })
        .collect();
    msg.push_str(&parts.join("\n"));
    msg
}
