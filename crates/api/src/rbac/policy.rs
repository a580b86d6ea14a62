//! The RBAC policy in memory: roles by name, bindings indexed by the users and groups
//! they name, so a request visits only the bindings that apply to its caller instead
//! of every binding in the cluster. Kept current one object at a time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::compiled::{CompiledRules, Interner, Prepared};
use super::rules::{rules_from_json, PolicyRule};
use super::{service_account_username, Attributes, UserInfo};
use crate::gofmt::quote;

/// A binding's subject.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subject {
    pub kind: String,
    pub api_group: String,
    pub name: String,
    pub namespace: String,
}

/// Which key of the subject index a subject is filed under.
enum Key {
    User(String),
    Group(String),
}

impl Subject {
    pub fn from_json(v: &Value) -> Subject {
        let s = |f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
        Subject { kind: s("kind"), api_group: s("apiGroup"), name: s("name"), namespace: s("namespace") }
    }

    /// A ServiceAccount subject is the user `system:serviceaccount:<ns>:<name>`, its
    /// namespace defaulting to the binding's (never for ClusterRoleBindings).
    fn key(&self, binding_ns: &str) -> Option<Key> {
        match self.kind.as_str() {
            "User" => Some(Key::User(self.name.clone())),
            "Group" => Some(Key::Group(self.name.clone())),
            "ServiceAccount" => {
                let ns = if self.namespace.is_empty() { binding_ns } else { &self.namespace };
                (!ns.is_empty()).then(|| Key::User(service_account_username(ns, &self.name)))
            }
            _ => None,
        }
    }

    fn applies_to(&self, user: &UserInfo, binding_ns: &str) -> bool {
        match self.key(binding_ns) {
            Some(Key::User(name)) => name == user.name,
            Some(Key::Group(g)) => user.in_group(&g),
            None => false,
        }
    }

    fn describe(&self, binding_ns: &str) -> String {
        if self.kind == "ServiceAccount" {
            let ns = if self.namespace.is_empty() { binding_ns } else { &self.namespace };
            format!("{} {}", self.kind, quote(&format!("{}/{ns}", self.name)))
        } else {
            format!("{} {}", self.kind, quote(&self.name))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoleRef {
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

impl RoleRef {
    pub fn from_json(v: &Value) -> RoleRef {
        let s = |f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
        RoleRef { api_group: s("apiGroup"), kind: s("kind"), name: s("name") }
    }
}

/// A RoleBinding (namespace set) or ClusterRoleBinding (namespace empty).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Binding {
    pub name: String,
    pub namespace: String,
    pub role_ref: RoleRef,
    pub subjects: Vec<Subject>,
}

impl Binding {
    pub fn from_json(v: &Value) -> Binding {
        let meta = |f: &str| v["metadata"].get(f).and_then(Value::as_str).unwrap_or("").to_string();
        Binding {
            name: meta("name"),
            namespace: meta("namespace"),
            role_ref: RoleRef::from_json(&v["roleRef"]),
            subjects: v.get("subjects").and_then(Value::as_array).map(|a| a.iter().map(Subject::from_json).collect()).unwrap_or_default(),
        }
    }

    /// `ClusterRoleBinding "x" of ClusterRole "y" to User "jane"`, or for a RoleBinding
    /// `RoleBinding "x/ns" of ...`, as upstream's reason strings.
    pub fn describe(&self, subject: usize) -> String {
        let (kind, name) = if self.namespace.is_empty() {
            ("ClusterRoleBinding", self.name.clone())
        } else {
            ("RoleBinding", format!("{}/{}", self.name, self.namespace))
        };
        let subject = self.subjects.get(subject).map(|s| s.describe(&self.namespace)).unwrap_or_default();
        format!("{kind} {} of {} {} to {subject}", quote(&name), self.role_ref.kind, quote(&self.role_ref.name))
    }

    fn first_applying_subject(&self, user: &UserInfo) -> Option<usize> {
        self.subjects.iter().position(|s| s.applies_to(user, &self.namespace))
    }
}

/// The binding (and its subject) that granted a request.
#[derive(Debug, Clone)]
pub struct Grant {
    pub binding: Arc<Binding>,
    pub subject: usize,
}

impl Grant {
    pub fn reason(&self) -> String {
        format!("RBAC: allowed by {}", self.binding.describe(self.subject))
    }
}

/// A binding in the index, with the slot of the role it references.
#[derive(Clone)]
struct Entry {
    binding: Arc<Binding>,
    slot: Option<usize>,
}

type ByName = BTreeMap<String, Entry>;

/// Bindings by the user names and groups their subjects name.
#[derive(Default)]
struct SubjectIndex {
    users: HashMap<String, ByName>,
    groups: HashMap<String, ByName>,
}

impl SubjectIndex {
    fn slot(&mut self, key: Key) -> (&mut HashMap<String, ByName>, String) {
        match key {
            Key::User(u) => (&mut self.users, u),
            Key::Group(g) => (&mut self.groups, g),
        }
    }

    fn insert(&mut self, e: &Entry) {
        for s in &e.binding.subjects {
            if let Some(key) = s.key(&e.binding.namespace) {
                let (map, k) = self.slot(key);
                map.entry(k).or_default().insert(e.binding.name.clone(), e.clone());
            }
        }
    }

    fn remove(&mut self, b: &Binding) {
        for s in &b.subjects {
            if let Some(key) = s.key(&b.namespace) {
                let (map, k) = self.slot(key);
                if let Some(by_name) = map.get_mut(&k) {
                    by_name.remove(&b.name);
                    if by_name.is_empty() {
                        map.remove(&k);
                    }
                }
            }
        }
    }

    /// The bindings naming the user, then those naming each of its groups (a binding
    /// naming both comes twice; callers that collect rules deduplicate).
    fn matching<'a>(&'a self, user: &'a UserInfo) -> impl Iterator<Item = &'a Entry> + 'a {
        let by_user = self.users.get(&user.name).into_iter().flat_map(|m| m.values());
        let by_group = user.groups.iter().filter_map(|g| self.groups.get(g)).flat_map(|m| m.values());
        by_user.chain(by_group)
    }

    fn len(&self) -> usize {
        self.users.values().chain(self.groups.values()).map(BTreeMap::len).sum()
    }
}

/// Which RBAC resource an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
}

impl Kind {
    /// The kind stored under a storage prefix (`roles`, `clusterrolebindings`, ...).
    pub fn from_storage(storage: &str) -> Option<Kind> {
        Some(match storage {
            "roles" => Kind::Role,
            "clusterroles" => Kind::ClusterRole,
            "rolebindings" => Kind::RoleBinding,
            "clusterrolebindings" => Kind::ClusterRoleBinding,
            _ => return None,
        })
    }

    pub const STORAGES: [&'static str; 4] = ["roles", "clusterroles", "rolebindings", "clusterrolebindings"];
}

/// Every role and binding, with bindings indexed by subject. Roles live in slots that
/// bindings point at, so a role can change (or appear) without touching its bindings.
#[derive(Default)]
pub struct Policy {
    syms: Interner,
    slots: Vec<Option<Arc<CompiledRules>>>,
    cluster_role_slots: HashMap<String, usize>,
    role_slots: HashMap<String, HashMap<String, usize>>,
    cluster_bindings: HashMap<String, Arc<Binding>>,
    bindings: HashMap<String, HashMap<String, Arc<Binding>>>,
    cluster_index: SubjectIndex,
    namespace_index: HashMap<String, SubjectIndex>,
}

impl Policy {
    fn new_slot(slots: &mut Vec<Option<Arc<CompiledRules>>>) -> usize {
        slots.push(None);
        slots.len() - 1
    }

    /// The slot of a role, created empty if the role does not exist (yet).
    fn role_slot(&mut self, role_ref: &RoleRef, namespace: &str) -> Option<usize> {
        let slots = &mut self.slots;
        match role_ref.kind.as_str() {
            "ClusterRole" => Some(*self.cluster_role_slots.entry(role_ref.name.clone()).or_insert_with(|| Self::new_slot(slots))),
            "Role" => Some(
                *self.role_slots.entry(namespace.to_string()).or_default().entry(role_ref.name.clone()).or_insert_with(|| Self::new_slot(slots)),
            ),
            _ => None,
        }
    }

    fn set_rules(&mut self, role_ref: &RoleRef, namespace: &str, rules: Option<Vec<PolicyRule>>) {
        let compiled = rules.map(|r| Arc::new(CompiledRules::new(r, &mut self.syms)));
        let slot = self.role_slot(role_ref, namespace).expect("role kinds have slots");
        self.slots[slot] = compiled;
    }

    pub fn set_cluster_role(&mut self, name: &str, rules: Option<Vec<PolicyRule>>) {
        let r = RoleRef { kind: "ClusterRole".into(), name: name.into(), ..Default::default() };
        self.set_rules(&r, "", rules);
    }

    pub fn set_role(&mut self, namespace: &str, name: &str, rules: Option<Vec<PolicyRule>>) {
        let r = RoleRef { kind: "Role".into(), name: name.into(), ..Default::default() };
        self.set_rules(&r, namespace, rules);
    }

    /// Adds, replaces (`Some`) or removes (`None`) the binding `namespace/name`; an
    /// empty namespace means a ClusterRoleBinding.
    pub fn set_binding(&mut self, namespace: &str, name: &str, binding: Option<Binding>) {
        let entry = binding.map(|mut b| {
            b.name = name.to_string();
            b.namespace = namespace.to_string();
            let slot = self.role_slot(&b.role_ref, namespace);
            Entry { binding: Arc::new(b), slot }
        });
        let (map, index) = if namespace.is_empty() {
            (&mut self.cluster_bindings, &mut self.cluster_index)
        } else {
            (self.bindings.entry(namespace.to_string()).or_default(), self.namespace_index.entry(namespace.to_string()).or_default())
        };
        if let Some(old) = map.remove(name) {
            index.remove(&old);
        }
        if let Some(e) = entry {
            index.insert(&e);
            map.insert(name.to_string(), e.binding);
        }
        if !namespace.is_empty() && self.bindings.get(namespace).is_some_and(HashMap::is_empty) {
            self.bindings.remove(namespace);
            self.namespace_index.remove(namespace);
        }
    }

    /// Applies a stored object (or its deletion).
    pub fn apply(&mut self, kind: Kind, obj: &Value, deleted: bool) {
        let meta = &obj["metadata"];
        let name = meta["name"].as_str().unwrap_or("");
        let ns = meta["namespace"].as_str().unwrap_or("");
        match kind {
            Kind::ClusterRole => self.set_cluster_role(name, (!deleted).then(|| rules_from_json(obj.get("rules")))),
            Kind::Role => self.set_role(ns, name, (!deleted).then(|| rules_from_json(obj.get("rules")))),
            Kind::ClusterRoleBinding => self.set_binding("", name, (!deleted).then(|| Binding::from_json(obj))),
            Kind::RoleBinding if !ns.is_empty() => self.set_binding(ns, name, (!deleted).then(|| Binding::from_json(obj))),
            Kind::RoleBinding => {}
        }
    }

    fn not_found(role_ref: &RoleRef) -> String {
        match role_ref.kind.as_str() {
            "ClusterRole" | "Role" => {
                format!("{}.rbac.authorization.k8s.io {} not found", role_ref.kind.to_lowercase(), quote(&role_ref.name))
            }
            other => format!("unsupported role reference kind: {}", quote(other)),
        }
    }

    fn entry_rules(&self, e: &Entry) -> Result<&Arc<CompiledRules>, String> {
        e.slot.and_then(|s| self.slots[s].as_ref()).ok_or_else(|| Self::not_found(&e.binding.role_ref))
    }

    /// The rules a binding's roleRef names (`GetRoleReferenceRules`), or the lister's
    /// NotFound text.
    pub fn role_ref_rules(&self, role_ref: &RoleRef, namespace: &str) -> Result<&[PolicyRule], String> {
        let slot = match role_ref.kind.as_str() {
            "ClusterRole" => self.cluster_role_slots.get(&role_ref.name),
            "Role" => self.role_slots.get(namespace).and_then(|m| m.get(&role_ref.name)),
            _ => None,
        };
        slot.and_then(|s| self.slots[*s].as_ref()).map(|c| c.rules.as_slice()).ok_or_else(|| Self::not_found(role_ref))
    }

    /// The index entries that apply to `user` in `namespace`: cluster-wide ones first.
    fn matching<'a>(&'a self, user: &'a UserInfo, namespace: &str) -> impl Iterator<Item = &'a Entry> + 'a {
        let namespaced = if namespace.is_empty() { None } else { self.namespace_index.get(namespace) };
        self.cluster_index.matching(user).chain(namespaced.into_iter().flat_map(|idx| idx.matching(user)))
    }

    /// RBAC's decision: the grant, or the role resolution errors met on the way.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Result<Grant, Vec<String>> {
        let req = Prepared::new(attrs, &self.syms);
        let mut errors = Vec::new();
        for e in self.matching(user, &attrs.namespace) {
            match self.entry_rules(e) {
                Ok(rules) if rules.allows(&req) => {
                    let subject = e.binding.first_applying_subject(user).unwrap_or(0);
                    return Ok(Grant { binding: e.binding.clone(), subject });
                }
                Ok(_) => {}
                Err(err) => errors.push(err),
            }
        }
        Err(errors)
    }

    /// Every rule that applies to `user` in `namespace` (`RulesFor`), each binding
    /// once, and the role resolution errors met.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut entries: Vec<&Entry> = self.matching(user, namespace).collect();
        entries.sort_by(|a, b| (&a.binding.namespace, &a.binding.name).cmp(&(&b.binding.namespace, &b.binding.name)));
        entries.dedup_by(|a, b| Arc::ptr_eq(&a.binding, &b.binding));
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for e in entries {
            match self.entry_rules(e) {
                Ok(r) => rules.extend(r.rules.iter().cloned()),
                Err(err) => errors.push(err),
            }
        }
        (rules, errors)
    }

    /// Counts of cluster roles, roles, cluster bindings, bindings and index entries.
    pub fn stats(&self) -> [usize; 5] {
        let exists = |s: &usize| self.slots[*s].is_some();
        let cluster_roles = self.cluster_role_slots.values().filter(|s| exists(s)).count();
        let roles = self.role_slots.values().flat_map(HashMap::values).filter(|s| exists(s)).count();
        let bindings = self.bindings.values().map(HashMap::len).sum();
        let index = self.cluster_index.len() + self.namespace_index.values().map(SubjectIndex::len).sum::<usize>();
        [cluster_roles, roles, self.cluster_bindings.len(), bindings, index]
    }
}
