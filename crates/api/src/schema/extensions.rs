//! Upstream-shaped definitions: the schemas of [`super::schemas`] with the `x-kubernetes-*`
//! extensions kube-openapi derives from the Go types, which k8s-openapi's schemas lack.
//!
//! * `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` (struct tags) come from
//!   api::patch's type graph, walked from every kind's root onto the definitions it
//!   reaches ([`patch_extension`]);
//! * `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type` and
//!   `x-kubernetes-unions` (comment markers) come from `markers.txt`, generated from the
//!   Go sources by `tools/openapi/gen_markers.py` ([`field_markers`]). A merge list the
//!   markers leave untyped gets the type its patch strategy implies (`map` keyed by the
//!   merge key, or `set` for primitives), as structured-merge-diff reads it anyway
//!   ([`list_type`]).
//!
//! It also builds what k8s-openapi has no schemas for: the `*List` kinds (from the item
//! schema, `ListMeta` and the list types' upstream docs) and the meta types operations
//! speak (`DeleteOptions`, `Status`, `WatchEvent`, `Patch`, discovery documents).
//!
//! Nothing here is cached beyond the marker table and the patch index (small); callers
//! that serve documents cache their own serialized output.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::{schemas, REF_PREFIX};
use crate::patch::{Strategy, TypeMeta};

const MARKERS: &str = include_str!("markers.txt");

/// The comment markers of one Go struct field (or, under field `-`, of the type).
#[derive(Debug, Default)]
pub struct Markers {
    /// `+listType`: `atomic`, `set` or `map`.
    pub list_type: Option<&'static str>,
    /// `+listMapKey`, in order.
    pub list_map_keys: Vec<&'static str>,
    /// `+mapType` / `+structType`: `atomic` or `granular`.
    pub map_type: Option<&'static str>,
    /// For a `+union` type: the discriminator field (JSON name).
    pub union_discriminator: Option<&'static str>,
    /// For a `+union` type: member JSON name and Go field name.
    pub union_members: Vec<(&'static str, &'static str)>,
    /// Upstream's description (kept only for the `*List` types).
    pub doc: Option<String>,
}

type MarkerTable = HashMap<&'static str, HashMap<&'static str, Markers>>;

fn marker_table() -> &'static MarkerTable {
    static TABLE: OnceLock<MarkerTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: MarkerTable = HashMap::new();
        for line in MARKERS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let mut parts = line.splitn(3, ' ');
            let (Some(def), Some(field), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let m = table.entry(def).or_default().entry(field).or_default();
            if let Some(doc) = rest.strip_prefix("doc=") {
                m.doc = serde_json::from_str(doc).ok();
                continue;
            }
            for kv in rest.split(' ') {
                let Some((k, v)) = kv.split_once('=') else { continue };
                match k {
                    "listType" => m.list_type = Some(v),
                    "listMapKey" => m.list_map_keys.push(v),
                    "mapType" => m.map_type = Some(v),
                    "unionDiscriminator" => m.union_discriminator = Some(v),
                    "unionMember" => {
                        if let Some((json, go)) = v.split_once(':') {
                            m.union_members.push((json, go));
                        }
                    }
                    _ => {}
                }
            }
        }
        table
    })
}

/// The markers of a field of a definition (`field` `-` for the definition itself).
pub fn field_markers(def: &str, field: &str) -> Option<&'static Markers> {
    marker_table().get(def)?.get(field)
}

/// The strategic-merge-patch facts of a field of a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchExtension {
    /// `x-kubernetes-patch-strategy`: `merge`, `replace`, `retainKeys`, `merge,retainKeys`.
    pub strategy: &'static str,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: Option<&'static str>,
}

fn strategy_name(s: Strategy) -> Option<&'static str> {
    match s {
        Strategy::Unset => None,
        Strategy::Merge => Some("merge"),
        Strategy::Replace => Some("replace"),
        Strategy::RetainKeys => Some("retainKeys"),
        Strategy::MergeRetainKeys => Some("merge,retainKeys"),
    }
}

/// The definition a property schema refers to (directly, through `allOf`, or as the item
/// or value type of an array or map).
pub fn referenced_definition(schema: &Value) -> Option<&str> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.strip_prefix(REF_PREFIX);
    }
    if let Some(first) = schema.get("allOf").and_then(|a| a.get(0)) {
        return referenced_definition(first);
    }
    if let Some(items) = schema.get("items") {
        return referenced_definition(items);
    }
    match schema.get("additionalProperties") {
        Some(v @ Value::Object(_)) => referenced_definition(v),
        _ => None,
    }
}

fn patch_index() -> &'static HashMap<(String, String), PatchExtension> {
    static INDEX: OnceLock<HashMap<(String, String), PatchExtension>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let s = schemas();
        let mut index = HashMap::new();
        let mut seen: HashSet<(String, usize)> = HashSet::new();
        for (name, def) in &s.defs {
            let Some(gvks) = def.get("x-kubernetes-group-version-kind").and_then(Value::as_array) else {
                continue;
            };
            for gvk in gvks {
                let group = gvk.get("group").and_then(Value::as_str).unwrap_or_default();
                let kind = gvk.get("kind").and_then(Value::as_str).unwrap_or_default();
                if let Some(root) = crate::patch::meta::root(group, kind) {
                    walk_patch(name, root, &mut index, &mut seen);
                }
            }
        }
        index
    })
}

fn walk_patch(
    def_name: &str,
    node: &'static TypeMeta,
    index: &mut HashMap<(String, String), PatchExtension>,
    seen: &mut HashSet<(String, usize)>,
) {
    if !seen.insert((def_name.to_string(), node as *const TypeMeta as usize)) {
        return;
    }
    let Some(def) = schemas().def(def_name) else { return };
    for (field, meta) in node.fields {
        let Some(prop) = def.get("properties").and_then(|p| p.get(*field)) else { continue };
        if let Some(strategy) = strategy_name(meta.strategy) {
            index.insert(
                (def_name.to_string(), field.to_string()),
                PatchExtension { strategy, merge_key: meta.merge_key },
            );
        }
        if let (Some(elem), Some(target)) = (meta.elem, referenced_definition(prop)) {
            walk_patch(target, elem, index, seen);
        }
    }
}

/// The patch strategy and merge key of a field of a definition, as upstream's struct tags
/// give them (through api::patch's type graph).
pub fn patch_extension(def: &str, field: &str) -> Option<&'static PatchExtension> {
    patch_index().get(&(def.to_string(), field.to_string()))
}

/// The effective `x-kubernetes-list-type` and `x-kubernetes-list-map-keys` of an array
/// field: the upstream markers, else what its patch strategy implies (`map` keyed by the
/// merge key; `set` for a merge list of primitives). `None`: atomic by default.
pub fn list_type(def: &str, field: &str) -> Option<(&'static str, Vec<&'static str>)> {
    if let Some(lt) = field_markers(def, field).and_then(|m| m.list_type) {
        return Some((lt, field_markers(def, field).map(|m| m.list_map_keys.clone()).unwrap_or_default()));
    }
    let patch = patch_extension(def, field)?;
    if !patch.strategy.starts_with("merge") {
        return None;
    }
    let prop = schemas().def(def)?.get("properties")?.get(field)?;
    if prop.get("type").and_then(Value::as_str) != Some("array") {
        return None;
    }
    match patch.merge_key {
        Some(key) => Some(("map", vec![key])),
        None => Some(("set", Vec::new())),
    }
}

/// The extensions of one property, in upstream's (alphabetical) order.
fn property_extensions(def: &str, field: &str, prop: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if prop.get("type").and_then(Value::as_str) == Some("array") {
        if let Some((lt, keys)) = list_type(def, field) {
            if lt == "map" && !keys.is_empty() {
                out.push(("x-kubernetes-list-map-keys", json!(keys)));
            }
            out.push(("x-kubernetes-list-type", json!(lt)));
        }
    }
    if let Some(mt) = field_markers(def, field).and_then(|m| m.map_type) {
        out.push(("x-kubernetes-map-type", json!(mt)));
    }
    if let Some(p) = patch_extension(def, field) {
        if let Some(key) = p.merge_key {
            out.push(("x-kubernetes-patch-merge-key", json!(key)));
        }
        out.push(("x-kubernetes-patch-strategy", json!(p.strategy)));
    }
    out
}

fn meta_defs() -> &'static Map<String, Value> {
    static META: OnceLock<Map<String, Value>> = OnceLock::new();
    META.get_or_init(|| {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::Status>();
        generator.subschema_for::<meta::WatchEvent<k8s_openapi::api::core::v1::Pod>>();
        generator.subschema_for::<meta::ListMeta>();
        generator.subschema_for::<meta::Patch>();
        generator.subschema_for::<meta::APIResourceList>();
        generator.subschema_for::<meta::APIGroup>();
        generator.subschema_for::<meta::APIGroupList>();
        generator.subschema_for::<meta::APIVersions>();
        generator.subschema_for::<k8s_openapi::apimachinery::pkg::version::Info>();
        generator
            .take_definitions(true)
            .into_iter()
            .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or_default()))
            .collect()
    })
}

/// The raw (k8s-openapi) schema of a definition, including the meta types.
fn raw_definition(name: &str) -> Option<&'static Value> {
    schemas().def(name).or_else(|| meta_defs().get(name))
}

/// Whether a definition exists (built-in type, meta type or `*List` kind).
pub fn exists(name: &str) -> bool {
    raw_definition(name).is_some() || list_item_definition(name).is_some()
}

/// The group versions (and kinds) the meta types are registered under upstream, for their
/// `x-kubernetes-group-version-kind`.
fn meta_gvks(kind: &str) -> Value {
    let mut gvks = vec![json!({"group": "", "kind": kind, "version": "v1"})];
    if kind != "Status" {
        let mut groups: Vec<(&str, &str)> = crate::registry_data::GROUPS
            .iter()
            .flat_map(|g| g.versions.iter().map(move |v| (g.name, *v)))
            .collect();
        groups.sort();
        gvks.extend(groups.into_iter().map(|(g, v)| json!({"group": g, "kind": kind, "version": v})));
    }
    Value::Array(gvks)
}

/// A definition as upstream's OpenAPI documents carry it (v3 references), or `None` if
/// unknown. Built fresh on each call.
pub fn definition(name: &str) -> Option<Value> {
    if let Some(item) = list_item_definition(name) {
        return list_definition(name, &item);
    }
    let mut def = raw_definition(name)?.clone();
    let obj = def.as_object_mut()?;
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            obj.remove("x-kubernetes-int-or-string");
            obj.insert("format".into(), json!("int-or-string"));
            obj.insert("oneOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
            obj.remove("x-kubernetes-int-or-string");
            obj.insert("oneOf".into(), json!([{"type": "string"}, {"type": "number"}]));
        }
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions" | "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent" => {
            let kind = name.rsplit('.').next().unwrap_or_default();
            obj.insert("x-kubernetes-group-version-kind".into(), meta_gvks(kind));
        }
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status" => {
            obj.insert("x-kubernetes-group-version-kind".into(), meta_gvks("Status"));
        }
        _ => {}
    }
    // k8s-openapi makes `metadata` required (its Rust field is not optional); upstream's
    // is `omitempty`.
    if let Some(Value::Array(req)) = obj.get_mut("required") {
        let is_meta = |f: &str| f == "metadata";
        req.retain(|f| !f.as_str().is_some_and(is_meta));
        if req.is_empty() {
            obj.remove("required");
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (field, prop) in props.iter_mut() {
            let exts = property_extensions(name, field, prop);
            if let Value::Object(p) = prop {
                for (k, v) in exts {
                    p.insert(k.into(), v);
                }
            }
        }
    }
    if let Some(m) = field_markers(name, "-") {
        if let Some(mt) = m.map_type {
            obj.insert("x-kubernetes-map-type".into(), json!(mt));
        }
        if !m.union_members.is_empty() {
            let mut union = Map::new();
            if let Some(d) = m.union_discriminator {
                union.insert("discriminator".into(), json!(d));
            }
            let members: Map<String, Value> =
                m.union_members.iter().map(|(j, g)| (j.to_string(), json!(g))).collect();
            union.insert("fields-to-discriminateBy".into(), Value::Object(members));
            obj.insert("x-kubernetes-unions".into(), json!([union]));
        }
    }
    Some(def)
}

/// The definition name of a kind's list (`io.k8s.api.apps.v1.DeploymentList`).
pub fn list_name(group: &str, version: &str, kind: &str) -> Option<String> {
    Some(format!("{}List", schemas().root(group, version, kind)?))
}

/// For a `*List` definition name, its item definition (a kind root).
fn list_item_definition(name: &str) -> Option<String> {
    let item = name.strip_suffix("List")?;
    if raw_definition(name).is_some() {
        return None;
    }
    let def = schemas().def(item)?;
    def.get("x-kubernetes-group-version-kind")?;
    Some(item.to_string())
}

fn list_definition(name: &str, item: &str) -> Option<Value> {
    let root = schemas().def(item)?;
    let gvks: Vec<Value> = root
        .get("x-kubernetes-group-version-kind")?
        .as_array()?
        .iter()
        .map(|g| {
            let mut g = g.clone();
            let kind = format!("{}List", g["kind"].as_str().unwrap_or_default());
            g["kind"] = json!(kind);
            g
        })
        .collect();
    let kind = item.rsplit('.').next().unwrap_or_default();
    let doc = |field: &str, fallback: String| {
        field_markers(name, field).and_then(|m| m.doc.clone()).unwrap_or(fallback)
    };
    let mut props = Map::new();
    if let Some(p) = root.pointer("/properties/apiVersion") {
        props.insert("apiVersion".into(), p.clone());
    }
    props.insert(
        "items".into(),
        json!({
            "description": doc("items", format!("Items is the list of {kind}.")),
            "items": {"$ref": format!("{REF_PREFIX}{item}")},
            "type": "array",
        }),
    );
    if let Some(p) = root.pointer("/properties/kind") {
        props.insert("kind".into(), p.clone());
    }
    props.insert(
        "metadata".into(),
        json!({
            "allOf": [{"$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}],
            "description": doc("metadata", "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds".into()),
        }),
    );
    Some(json!({
        "description": doc("-", format!("{kind}List is a list of {kind} objects.")),
        "properties": props,
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": gvks,
    }))
}

/// Calls `f` with the name of every definition `schema` refers to.
pub fn for_each_reference(schema: &Value, f: &mut impl FnMut(&str)) {
    match schema {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix(REF_PREFIX)) {
                        f(name);
                    }
                } else {
                    for_each_reference(v, f);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| for_each_reference(v, f)),
        _ => {}
    }
}

/// The definitions reachable from `roots` (roots included), sorted by name, each built
/// with [`definition`]. Unknown names are skipped.
pub fn closure<I: IntoIterator<Item = String>>(roots: I) -> Vec<(String, Value)> {
    let mut todo: Vec<String> = roots.into_iter().collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut built: HashMap<String, Value> = HashMap::new();
    while let Some(name) = todo.pop() {
        if seen.contains(&name) {
            continue;
        }
        let Some(def) = definition(&name) else { continue };
        seen.insert(name.clone());
        for_each_reference(&def, &mut |r| {
            if !seen.contains(r) {
                todo.push(r.to_string());
            }
        });
        built.insert(name, def);
    }
    seen.into_iter().filter_map(|n| built.remove(&n).map(|d| (n, d))).collect()
}

/// Every definition name: the built-in types, the meta types and the `*List` kinds.
pub fn all_definition_names() -> Vec<String> {
    let mut names: BTreeSet<String> = schemas().defs.keys().cloned().collect();
    names.extend(meta_defs().keys().cloned());
    for (name, def) in &schemas().defs {
        if def.get("x-kubernetes-group-version-kind").is_some() {
            names.insert(format!("{name}List"));
        }
    }
    names.into_iter().filter(|n| exists(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(def: &Value, field: &str) -> Value {
        def["properties"][field].clone()
    }

    #[test]
    fn container_lists_carry_patch_and_list_extensions() {
        let pod_spec = definition("io.k8s.api.core.v1.PodSpec").unwrap();
        let containers = prop(&pod_spec, "containers");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        assert_eq!(prop(&pod_spec, "volumes")["x-kubernetes-patch-strategy"], "merge,retainKeys");
        assert_eq!(prop(&pod_spec, "tolerations")["x-kubernetes-list-type"], "atomic");
        assert_eq!(prop(&pod_spec, "nodeSelector")["x-kubernetes-map-type"], "atomic");
        let tsc = prop(&pod_spec, "topologySpreadConstraints");
        assert_eq!(tsc["x-kubernetes-list-map-keys"], json!(["topologyKey", "whenUnsatisfiable"]));

        let container = definition("io.k8s.api.core.v1.Container").unwrap();
        let ports = prop(&container, "ports");
        assert_eq!(ports["x-kubernetes-list-map-keys"], json!(["containerPort", "protocol"]));
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        assert!(prop(&container, "image").get("x-kubernetes-list-type").is_none());

        let svc = definition("io.k8s.api.core.v1.ServiceSpec").unwrap();
        assert_eq!(prop(&svc, "ports")["x-kubernetes-list-map-keys"], json!(["port", "protocol"]));

        let meta = definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta").unwrap();
        assert_eq!(prop(&meta, "finalizers")["x-kubernetes-list-type"], "set");
        assert_eq!(prop(&meta, "finalizers")["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(prop(&meta, "ownerReferences")["x-kubernetes-list-map-keys"], json!(["uid"]));

        let strategy = definition("io.k8s.api.apps.v1.DeploymentSpec").unwrap();
        assert_eq!(prop(&strategy, "strategy")["x-kubernetes-patch-strategy"], "retainKeys");
        let status = definition("io.k8s.api.apps.v1.DeploymentStatus").unwrap();
        assert_eq!(prop(&status, "conditions")["x-kubernetes-list-type"], "map");
        assert_eq!(prop(&status, "conditions")["x-kubernetes-patch-merge-key"], "type");
    }

    #[test]
    fn definition_level_markers_and_fixups() {
        let sel = definition("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector").unwrap();
        assert_eq!(sel["x-kubernetes-map-type"], "atomic");
        let seccomp = definition("io.k8s.api.core.v1.SeccompProfile").unwrap();
        assert_eq!(seccomp["x-kubernetes-unions"][0]["discriminator"], "type");
        assert_eq!(seccomp["x-kubernetes-unions"][0]["fields-to-discriminateBy"]["localhostProfile"], "LocalhostProfile");
        let deploy = definition("io.k8s.api.apps.v1.Deployment").unwrap();
        assert!(deploy.get("required").is_none(), "{deploy}");
        let ios = definition("io.k8s.apimachinery.pkg.util.intstr.IntOrString").unwrap();
        assert_eq!(ios["format"], "int-or-string");
        assert!(ios.get("x-kubernetes-int-or-string").is_none());
    }

    #[test]
    fn lists_and_meta_types() {
        let name = list_name("apps", "v1", "Deployment").unwrap();
        assert_eq!(name, "io.k8s.api.apps.v1.DeploymentList");
        let list = definition(&name).unwrap();
        assert_eq!(list["description"], "DeploymentList is a list of Deployments.");
        assert_eq!(list["properties"]["items"]["items"]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.Deployment");
        assert_eq!(list["x-kubernetes-group-version-kind"][0]["kind"], "DeploymentList");
        assert_eq!(list["required"], json!(["items"]));
        for meta in ["DeleteOptions", "Status", "WatchEvent", "ListMeta", "Patch", "APIResourceList"] {
            assert!(exists(&format!("io.k8s.apimachinery.pkg.apis.meta.v1.{meta}")), "{meta}");
        }
        let del = definition("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions").unwrap();
        assert!(del["x-kubernetes-group-version-kind"].as_array().unwrap().len() > 10);
        assert!(definition("io.k8s.api.apps.v1.NopeList").is_none());
    }

    #[test]
    fn closure_reaches_nested_types() {
        let defs = closure(["io.k8s.api.apps.v1.DeploymentList".to_string()]);
        let names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
        for n in [
            "io.k8s.api.apps.v1.Deployment",
            "io.k8s.api.apps.v1.RollingUpdateDeployment",
            "io.k8s.api.core.v1.Container",
            "io.k8s.api.core.v1.ResourceRequirements",
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
        ] {
            assert!(names.contains(&n), "{n} missing");
        }
        assert!(!names.contains(&"io.k8s.api.rbac.v1.Role"));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    /// Every merge list of api::patch's graph is typed consistently with upstream's markers.
    #[test]
    fn patch_graph_agrees_with_list_markers() {
        let mut checked = 0;
        for ((def, field), p) in patch_index() {
            let Some(prop) = schemas().def(def).and_then(|d| d["properties"].get(field.as_str())) else {
                panic!("{def}.{field} not in schemas");
            };
            if prop.get("type").and_then(Value::as_str) != Some("array") || !p.strategy.starts_with("merge") {
                continue;
            }
            let (lt, keys) = list_type(def, field).unwrap();
            if lt == "atomic" {
                // Upstream marks a few merge lists atomic (Job conditions, ...): the
                // marker wins, as in upstream's spec.
                assert!(field_markers(def, field).is_some_and(|m| m.list_type == Some("atomic")));
                continue;
            }
            match p.merge_key {
                Some(k) => {
                    assert_eq!(lt, "map", "{def}.{field}");
                    assert_eq!(keys.first().copied(), Some(k), "{def}.{field}");
                }
                None => assert_eq!(lt, "set", "{def}.{field}"),
            }
            checked += 1;
        }
        assert!(checked > 30, "{checked}");
    }
}
