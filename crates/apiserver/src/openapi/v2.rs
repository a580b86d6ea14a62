//! The OpenAPI v2 (Swagger 2.0) document: every route of every group version in one
//! document, `#/definitions/` references, body parameters, and `produces`/`consumes`
//! lists instead of v3's content maps.

use api::schema::REF_PREFIX;
use serde_json::{json, Map, Value};

use super::json as jw;
use super::params::{In, Param};
use super::routes::{Operation, Route, Schema};
use super::v3;

pub const DEF_PREFIX: &str = "#/definitions/";

fn schema_ref(s: &Schema) -> Value {
    match s {
        Schema::Def(name) => json!({"$ref": format!("{DEF_PREFIX}{name}")}),
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
    m.insert("type".into(), json!(p.ty));
    m.insert("uniqueItems".into(), json!(true));
    Value::Object(m)
}

fn operation(op: &Operation) -> Value {
    let mut m = Map::new();
    let consumes = op.body.as_ref().map(|b| b.media_types).unwrap_or(&["*/*"]);
    m.insert("consumes".into(), json!(consumes));
    m.insert("description".into(), json!(op.description));
    m.insert("operationId".into(), json!(op.id));
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = &op.body {
        let mut b = Map::new();
        b.insert("in".into(), json!("body"));
        b.insert("name".into(), json!("body"));
        if body.required {
            b.insert("required".into(), json!(true));
        }
        b.insert("schema".into(), schema_ref(&body.schema));
        params.push(Value::Object(b));
    }
    params.extend(op.params.iter().map(param));
    if !params.is_empty() {
        m.insert("parameters".into(), Value::Array(params));
    }
    m.insert("produces".into(), json!(op.produces));
    let mut responses = Map::new();
    for (code, desc) in &op.responses {
        let mut r = Map::new();
        r.insert("description".into(), json!(desc));
        if let (Some(schema), true) = (&op.response, *code < 300) {
            r.insert("schema".into(), schema_ref(schema));
        }
        responses.insert(code.to_string(), Value::Object(r));
    }
    m.insert("responses".into(), Value::Object(responses));
    m.insert("schemes".into(), json!(["https"]));
    m.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        m.insert("x-kubernetes-action".into(), json!(op.action));
    }
    if let Some(gvk) = &op.gvk {
        m.insert("x-kubernetes-group-version-kind".into(), v3::gvk_value(gvk));
    }
    Value::Object(m)
}

/// A v3 schema in v2 form: `#/definitions/` references, `allOf` wrappers of a single
/// reference folded into the reference, `oneOf` (not in Swagger 2.0) dropped.
pub fn to_v2(name: Option<&str>, schema: &mut Value) {
    if let Value::Object(m) = schema {
        if let Some(Value::String(r)) = m.get_mut("$ref") {
            if let Some(n) = r.strip_prefix(REF_PREFIX) {
                *r = format!("{DEF_PREFIX}{n}");
            }
        }
        let single_ref = match m.get("allOf") {
            Some(Value::Array(a)) if a.len() == 1 && a[0].get("$ref").is_some() && !m.contains_key("$ref") => a[0]["$ref"].as_str().map(str::to_string),
            _ => None,
        };
        if let Some(r) = single_ref {
            m.remove("allOf");
            let n = r.strip_prefix(REF_PREFIX).unwrap_or(&r);
            m.insert("$ref".into(), json!(format!("{DEF_PREFIX}{n}")));
        }
        // Swagger 2.0 has no `oneOf`: upstream's v2 types IntOrString and Quantity as
        // strings, and leaves the JSONSchemaPropsOr* types untyped.
        if m.remove("oneOf").is_some()
            && matches!(name, Some("io.k8s.apimachinery.pkg.util.intstr.IntOrString" | "io.k8s.apimachinery.pkg.api.resource.Quantity"))
        {
            m.insert("type".into(), json!("string"));
        }
        for (k, v) in m.iter_mut() {
            if k != "$ref" {
                to_v2(None, v);
            }
        }
    } else if let Value::Array(items) = schema {
        items.iter_mut().for_each(|v| to_v2(None, v));
    }
}

/// Every route of the server: discovery documents and all group versions.
pub fn all_routes() -> Vec<Route> {
    let mut routes = Vec::new();
    for key in v3::document_keys() {
        if let Some(r) = v3::routes_for(&key) {
            routes.extend(r);
        }
    }
    routes.sort_by(|a, b| a.path.cmp(&b.path));
    routes.dedup_by(|a, b| a.path == b.path);
    routes
}

pub fn path_item(r: &Route) -> Value {
    let mut entries: Vec<(String, Value)> = r.operations.iter().map(|op| (op.method.to_string(), operation(op))).collect();
    if !r.params.is_empty() {
        entries.push(("parameters".into(), Value::Array(r.params.iter().map(param).collect())));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// The serialized Swagger 2.0 document.
pub fn document_bytes() -> Vec<u8> {
    let routes = all_routes();
    let defs = jw::definitions(v3::root_definitions(&routes), |name, def| to_v2(Some(name), def));
    let mut out = Vec::new();
    let mut doc = jw::Object::begin(&mut out);
    jw::write_map(doc.key("definitions"), &defs);
    drop(defs);
    doc.value("info", &json!({"title": "Kubernetes", "version": v3::version_string()}));
    {
        let mut paths = jw::Object::begin(doc.key("paths"));
        for r in &routes {
            paths.value(&r.path, &path_item(r));
        }
        paths.end();
    }
    doc.value("security", &json!([{"BearerToken": []}]));
    doc.value("securityDefinitions", &v3::bearer_token_scheme());
    doc.value("swagger", "2.0");
    doc.end();
    out
}
