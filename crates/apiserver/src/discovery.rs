//! Discovery documents: `/api`, `/apis`, `/apis/<group>`, the per-group-version
//! resource lists, and aggregated discovery (apidiscovery.k8s.io/v2) when asked for.

use api::registry::{self, ResourceDef, SubresourceDef};
use api::registry_data::GROUPS;
use serde_json::{json, Map, Value};

pub const AGGREGATED_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn group_versions(group: &str) -> Vec<&'static str> {
    if group.is_empty() {
        return vec!["v1"];
    }
    GROUPS.iter().find(|g| g.name == group).map(|g| g.versions.to_vec()).unwrap_or_default()
}

fn gv_entry(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

fn api_group(name: &str) -> Value {
    let versions = group_versions(name);
    json!({
        "name": name,
        "versions": versions.iter().map(|v| gv_entry(name, v)).collect::<Vec<_>>(),
        "preferredVersion": gv_entry(name, versions[0]),
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

pub fn api_group_list() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": GROUPS.iter().map(|g| api_group(g.name)).collect::<Vec<_>>(),
    })
}

pub fn group(name: &str) -> Option<Value> {
    GROUPS.iter().find(|g| g.name == name)?;
    let mut v = json!({"kind": "APIGroup", "apiVersion": "v1"});
    let obj = v.as_object_mut().unwrap();
    if let Value::Object(g) = api_group(name) {
        obj.extend(g);
    }
    Some(v)
}

fn sub_kind_fields(parent: &ResourceDef, sub: &SubresourceDef, m: &mut Map<String, Value>) {
    if sub.group != parent.group || sub.version != parent.version {
        m.insert("group".into(), json!(sub.group));
        m.insert("version".into(), json!(sub.version));
    }
    m.insert("kind".into(), json!(sub.kind));
}

fn resource_entry(r: &ResourceDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.plural));
    m.insert("singularName".into(), json!(r.singular));
    m.insert("namespaced".into(), json!(r.namespaced));
    m.insert("kind".into(), json!(r.kind));
    m.insert("verbs".into(), json!(r.verbs));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    Value::Object(m)
}

fn subresource_entry(r: &ResourceDef, sub: &SubresourceDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(format!("{}/{}", r.plural, sub.name)));
    m.insert("singularName".into(), json!(""));
    m.insert("namespaced".into(), json!(r.namespaced));
    sub_kind_fields(r, sub, &mut m);
    m.insert("verbs".into(), json!(sub.verbs));
    Value::Object(m)
}

pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in registry::in_group_version(group, version) {
        resources.push(resource_entry(r));
        resources.extend(r.subresources.iter().map(|s| subresource_entry(r, s)));
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

fn aggregated_resource(r: &ResourceDef) -> Value {
    let mut m = Map::new();
    m.insert("resource".into(), json!(r.plural));
    m.insert("responseKind".into(), json!({"group": r.group, "version": r.version, "kind": r.kind}));
    m.insert("scope".into(), json!(if r.namespaced { "Namespaced" } else { "Cluster" }));
    m.insert("singularResource".into(), json!(r.singular));
    m.insert("verbs".into(), json!(r.verbs));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    if !r.subresources.is_empty() {
        let subs: Vec<Value> = r
            .subresources
            .iter()
            .map(|s| {
                json!({
                    "subresource": s.name,
                    "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                    "verbs": s.verbs,
                })
            })
            .collect();
        m.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(m)
}

fn aggregated_group(name: &str) -> Value {
    let versions: Vec<Value> = group_versions(name)
        .iter()
        .map(|v| {
            let resources: Vec<Value> = registry::in_group_version(name, v).map(aggregated_resource).collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if name.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": name, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (legacy) or `/apis`.
pub fn aggregated(legacy: bool) -> Value {
    let items: Vec<Value> =
        if legacy { vec![aggregated_group("")] } else { GROUPS.iter().map(|g| aggregated_group(g.name)).collect() };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}
