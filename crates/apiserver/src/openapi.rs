//! OpenAPI v3: the index and one document per group-version, built from the registry.
//! The documents carry each resource's paths and operations (with the
//! `x-kubernetes-group-version-kind` extension and the query parameters the server
//! honours), which is what kubectl reads to learn that the server validates fields
//! itself. Schemas for `kubectl explain` are not generated yet.

use api::registry::ResourceDef;
use api::registry_data::{GROUPS, RESOURCES};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::server::{bytes_reply, error_reply, Reply};
use crate::status::ApiError;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn all_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs = vec![("", "v1")];
    for g in GROUPS {
        gvs.extend(g.versions.iter().map(|v| (g.name, *v)));
    }
    gvs
}

fn hash_of(s: &str) -> String {
    // FNV-1a: a stable content hash for cache-busting URLs and ETags.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016X}")
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn item_path(r: &ResourceDef) -> String {
    let base = if r.group.is_empty() { "/api/v1".to_string() } else { format!("/apis/{}/{}", r.group, r.version) };
    if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("{base}/{}/{{name}}", r.plural)
    }
}

fn operation(r: &ResourceDef, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", r.kind),
        "parameters": params.iter().map(|p| query_param(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
    })
}

fn group_version_doc(group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for r in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        let mut item = Map::new();
        if r.has_verb("get") {
            item.insert("get".into(), operation(r, "get", &[]));
        }
        if r.has_verb("update") {
            item.insert("put".into(), operation(r, "put", &["dryRun", "fieldManager", "fieldValidation"]));
        }
        if r.has_verb("patch") {
            item.insert("patch".into(), operation(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force"]));
        }
        if r.has_verb("delete") {
            item.insert("delete".into(), operation(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]));
        }
        if !item.is_empty() {
            paths.insert(item_path(r), Value::Object(item));
        }
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

fn index() -> Value {
    let mut paths = Map::new();
    for (g, v) in all_group_versions() {
        if let Some(doc) = group_version_doc(g, v) {
            let p = gv_path(g, v);
            let hash = hash_of(&doc.to_string());
            paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}));
        }
    }
    json!({"paths": paths})
}

pub fn serve(path: &str, _accept: &Option<String>) -> Reply {
    let rest = path.trim_start_matches("/openapi/");
    let doc = match rest.trim_end_matches('/') {
        "v3" => Some(index()),
        p if p.starts_with("v3/") => {
            let gv = &p[3..];
            all_group_versions().into_iter().find(|(g, v)| gv_path(g, v) == gv).and_then(|(g, v)| group_version_doc(g, v))
        }
        _ => None,
    };
    match doc {
        Some(d) => {
            let body = Bytes::from(serde_json::to_vec(&d).unwrap());
            let mut r = bytes_reply(200, body.clone());
            let etag = format!("\"{}\"", hash_of(std::str::from_utf8(&body).unwrap_or("")));
            r.headers_mut().insert(http::header::ETAG, etag.parse().unwrap());
            r
        }
        None => error_reply(&ApiError::path_not_found()),
    }
}
