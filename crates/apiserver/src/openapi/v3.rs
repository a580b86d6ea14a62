//! OpenAPI v3 documents: one per group version (paths of its resources and every
//! definition they reach), plus the discovery documents upstream also lists (`api`,
//! `apis`, `apis/<group>`, `version`).

use api::registry_data::{GROUPS, RESOURCES};
use api::schema::REF_PREFIX;
use serde_json::{json, Map, Value};

use super::json as jw;
use super::params::{In, Param};
use super::routes::{self, Operation, Route, Schema, META, OBJECT_TYPES};

/// The group versions served, core first.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs = vec![("", "v1")];
    for g in GROUPS {
        gvs.extend(g.versions.iter().map(|v| (g.name, *v)));
    }
    gvs.retain(|(g, v)| RESOURCES.iter().any(|r| r.group == *g && r.version == *v));
    gvs
}

/// `api/v1`, `apis/apps/v1`: the document's key in the index.
pub fn gv_key(group: &str, version: &str) -> String {
    routes::prefix(group, version).trim_start_matches('/').to_string()
}

/// Every document key of the index, sorted: group versions, groups and the discovery
/// documents.
pub fn document_keys() -> Vec<String> {
    let mut keys = vec!["api".to_string(), "apis".to_string(), "version".to_string()];
    for (g, v) in group_versions() {
        keys.push(gv_key(g, v));
        if !g.is_empty() {
            keys.push(format!("apis/{g}"));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

pub fn schema_ref(s: &Schema) -> Value {
    match s {
        Schema::Def(name) => json!({"$ref": format!("{REF_PREFIX}{name}")}),
        Schema::String => json!({"type": "string"}),
    }
}

fn param(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), json!(p.description));
    m.insert("in".into(), json!(if p.location == In::Path { "path" } else { "query" }));
    m.insert("name".into(), json!(p.name));
    if p.required() {
        m.insert("required".into(), json!(true));
    }
    m.insert("schema".into(), json!({"type": p.ty, "uniqueItems": true}));
    Value::Object(m)
}

fn content(types: &[&str], schema: &Value) -> Value {
    let mut sorted: Vec<&str> = types.to_vec();
    sorted.sort();
    Value::Object(sorted.into_iter().map(|t| (t.to_string(), json!({"schema": schema}))).collect())
}

pub fn gvk_value(gvk: &(String, String, String)) -> Value {
    json!({"group": gvk.0, "kind": gvk.2, "version": gvk.1})
}

fn operation(op: &Operation) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), json!(op.description));
    m.insert("operationId".into(), json!(op.id));
    if !op.params.is_empty() {
        m.insert("parameters".into(), Value::Array(op.params.iter().map(param).collect()));
    }
    if let Some(body) = &op.body {
        let mut rb = Map::new();
        rb.insert("content".into(), content(body.media_types, &schema_ref(&body.schema)));
        if body.required {
            rb.insert("required".into(), json!(true));
        }
        m.insert("requestBody".into(), Value::Object(rb));
    }
    let mut responses = Map::new();
    for (code, desc) in &op.responses {
        let mut r = Map::new();
        if let (Some(schema), true) = (&op.response, *code < 300) {
            r.insert("content".into(), content(op.produces, &schema_ref(schema)));
        }
        r.insert("description".into(), json!(desc));
        responses.insert(code.to_string(), Value::Object(r));
    }
    m.insert("responses".into(), Value::Object(responses));
    m.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        m.insert("x-kubernetes-action".into(), json!(op.action));
    }
    if let Some(gvk) = &op.gvk {
        m.insert("x-kubernetes-group-version-kind".into(), gvk_value(gvk));
    }
    Value::Object(m)
}

/// The path item of a route; methods and `parameters` in upstream's (alphabetical) order.
fn path_item(r: &Route) -> Value {
    let mut entries: Vec<(String, Value)> = r.operations.iter().map(|op| (op.method.to_string(), operation(op))).collect();
    if !r.params.is_empty() {
        entries.push(("parameters".into(), Value::Array(r.params.iter().map(param).collect())));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// The definitions the routes refer to directly.
pub fn root_definitions(routes: &[Route]) -> Vec<String> {
    let mut roots = Vec::new();
    for op in routes.iter().flat_map(|r| &r.operations) {
        for s in op.response.iter().chain(op.body.as_ref().map(|b| &b.schema)) {
            if let Schema::Def(n) = s {
                roots.push(n.clone());
            }
        }
    }
    roots
}

pub fn version_string() -> String {
    crate::server::version_info()["gitVersion"].as_str().unwrap_or("v1.33.0").to_string()
}

pub fn bearer_token_scheme() -> Value {
    json!({
        "BearerToken": {
            "description": "Bearer Token authentication",
            "in": "header",
            "name": "authorization",
            "type": "apiKey",
        },
    })
}

/// Writes the document of a set of routes: every definition they reach, and their paths.
fn write_document(routes: &[Route], out: &mut Vec<u8>) {
    let defs = jw::definitions(root_definitions(routes), |_, _| {});
    let mut doc = jw::Object::begin(out);
    {
        let mut components = jw::Object::begin(doc.key("components"));
        jw::write_map(components.key("schemas"), &defs);
        components.value("securitySchemes", &bearer_token_scheme());
        components.end();
    }
    doc.value("info", &json!({"title": "Kubernetes", "version": version_string()}));
    doc.value("openapi", "3.0.0");
    {
        let mut paths = jw::Object::begin(doc.key("paths"));
        for r in routes {
            paths.value(&r.path, &path_item(r));
        }
        paths.end();
    }
    doc.end();
}

/// The routes of one index entry, or `None` if there is no such document.
pub fn routes_for(key: &str) -> Option<Vec<Route>> {
    match key {
        "api" => Some(vec![routes::simple_get("/api/", "getCoreAPIVersions", "get available API versions", &format!("{META}.APIVersions"), "core", OBJECT_TYPES)]),
        "apis" => Some(vec![routes::simple_get("/apis/", "getAPIVersions", "get available API versions", &format!("{META}.APIGroupList"), "apis", OBJECT_TYPES)]),
        "version" => Some(vec![routes::simple_get(
            "/version/",
            "getCodeVersion",
            "get the code version",
            "io.k8s.apimachinery.pkg.version.Info",
            "version",
            routes::JSON_TYPE,
        )]),
        _ => group_versions().into_iter().find(|(g, v)| gv_key(g, v) == key).map(|(g, v)| routes::group_version(g, v)),
    }
    .or_else(|| {
        let group = key.strip_prefix("apis/")?;
        GROUPS.iter().find(|g| g.name == group && !group.contains('/'))?;
        let camel = routes::group_camel(group);
        Some(vec![routes::simple_get(
            &format!("/apis/{group}/"),
            &format!("get{camel}APIGroup"),
            "get information of a group",
            &format!("{META}.APIGroup"),
            &routes::group_tag(group),
            OBJECT_TYPES,
        )])
    })
}

/// The serialized document of one index entry.
pub fn document_bytes(key: &str) -> Option<Vec<u8>> {
    let routes = routes_for(key)?;
    let mut out = Vec::new();
    write_document(&routes, &mut out);
    Some(out)
}
