//! OpenAPI: `/openapi/v3` (the index), `/openapi/v3/<key>` (one document per group
//! version, plus `api`, `apis`, `apis/<group>` and `version`) and `/openapi/v2` (Swagger
//! 2.0, JSON), generated from the resource registry ([`routes`]) and the schemas of the
//! built-in types (`api::schema`, with the `x-kubernetes-*` extensions of
//! `api::schema::extensions`). `/openapi/v2` is also served as gnostic protobuf, the
//! only form client-go reads it in ([`proto`]).
//!
//! Serving follows kube-openapi's handlers: every document has an `ETag` (a hash of its
//! bytes) and answers `If-None-Match` with 304; the index links each document as
//! `/openapi/v3/<key>?hash=<etag>`, and a request carrying the current hash is marked
//! `Cache-Control: public, immutable` (an outdated hash is redirected to the current
//! URL). Documents are built on first use, off the async workers, and kept only as
//! serialized bytes, and only once served (the index needs every document's hash, not
//! its bytes).

mod json;
mod params;
mod proto;
mod routes;
mod v2;
mod v3;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{header, Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Map};

use crate::server::{error_reply, Reply};
use crate::status::ApiError;

/// A served document: its bytes and their hash (the ETag, unquoted).
pub(crate) struct Doc {
    pub bytes: Bytes,
    pub hash: String,
}

impl Doc {
    fn new(bytes: Vec<u8>) -> Arc<Doc> {
        let hash = content_hash(&bytes);
        Arc::new(Doc { bytes: Bytes::from(bytes), hash })
    }
}

/// A 128-bit content hash (two independent 64-bit FNV-style lanes), upper-case hex, for
/// ETags and cache-busting URLs.
fn content_hash(b: &[u8]) -> String {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x6c62_272e_07bb_0142 ^ (b.len() as u64);
    for &x in b {
        h1 = (h1 ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
        h2 = (h2 ^ x as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23);
    }
    format!("{h1:016X}{h2:016X}")
}

/// A v3 document key's slot: the document's hash (needed by the index for every
/// document) and, once the document itself has been requested, its bytes. Documents only
/// hashed for the index are not kept, so memory holds just the documents clients read.
#[derive(Default)]
struct Slot {
    hash: OnceLock<String>,
    doc: OnceLock<Arc<Doc>>,
}

type Slots = BTreeMap<String, Slot>;

fn v3_slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| v3::document_keys().into_iter().map(|k| (k, Slot::default())).collect())
}

fn v3_bytes(key: &str) -> Vec<u8> {
    v3::document_bytes(key).unwrap_or_else(|| b"{}".to_vec())
}

fn v3_doc(key: &str) -> Option<Arc<Doc>> {
    let slot = v3_slots().get(key)?;
    let doc = slot.doc.get_or_init(|| Doc::new(v3_bytes(key)));
    let _ = slot.hash.set(doc.hash.clone());
    Some(doc.clone())
}

/// The hash of a document (building it, without keeping it, if it was never served).
fn v3_hash(key: &str) -> Option<String> {
    let slot = v3_slots().get(key)?;
    if let Some(doc) = slot.doc.get() {
        return Some(doc.hash.clone());
    }
    Some(slot.hash.get_or_init(|| content_hash(&v3_bytes(key))).clone())
}

fn v3_index() -> Arc<Doc> {
    static INDEX: OnceLock<Arc<Doc>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut paths = Map::new();
            for key in v3_slots().keys() {
                if let Some(hash) = v3_hash(key) {
                    paths.insert(key.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}));
                }
            }
            Doc::new(serde_json::to_vec(&json!({"paths": paths})).unwrap_or_default())
        })
        .clone()
}

fn v2_json() -> Arc<Doc> {
    static V2: OnceLock<Arc<Doc>> = OnceLock::new();
    V2.get_or_init(|| Doc::new(v2::document_bytes())).clone()
}

fn v2_proto() -> Arc<Doc> {
    static V2: OnceLock<Arc<Doc>> = OnceLock::new();
    V2.get_or_init(|| Doc::new(proto::document_bytes())).clone()
}

/// The media type client-go asks `/openapi/v2` for, and the one served with it.
const V2_PROTO: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const V2_PROTO_SERVED: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

fn accepts_v2_proto(media: &str) -> bool {
    media == V2_PROTO || media == V2_PROTO_SERVED
}

/// Runs a (possibly slow, first-time) document build off the async workers.
async fn build<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The media types a request accepts, best first (by `q`, then by order).
fn accepted(accept: Option<&str>) -> Vec<String> {
    let accept = accept.filter(|a| !a.trim().is_empty()).unwrap_or("*/*");
    let mut clauses: Vec<(f32, usize, String)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, c)| {
            let mut parts = c.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok()))
                .next()
                .unwrap_or(1.0);
            (q > 0.0 && !media.is_empty()).then_some((q, i, media))
        })
        .collect();
    clauses.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    clauses.into_iter().map(|c| c.2).collect()
}

fn accepts_json(media: &str) -> bool {
    matches!(media, "application/json" | "application/*" | "*/*")
}

fn not_acceptable() -> Reply {
    Response::builder()
        .status(406)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::VARY, "Accept")
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

/// Whether an `If-None-Match` header names the current ETag.
fn etag_matches(if_none_match: Option<&str>, hash: &str) -> bool {
    let Some(v) = if_none_match else { return false };
    v.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == hash)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// Replies with a document, honouring `If-None-Match` and the immutable `?hash=` URLs.
fn reply_doc(doc: &Doc, content_type: &str, if_none_match: Option<&str>, hash_param: Option<&str>, location: Option<&str>) -> Reply {
    if let (Some(h), Some(loc)) = (hash_param, location) {
        if h != doc.hash {
            return Response::builder()
                .status(301)
                .header(header::LOCATION, format!("{loc}?hash={}", doc.hash))
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Full::new(Bytes::new()).boxed())
                .unwrap();
        }
    }
    let mut b = Response::builder().header(header::ETAG, format!("\"{}\"", doc.hash)).header(header::VARY, "Accept");
    if hash_param.is_some() && location.is_some() {
        let expires = (chrono::Utc::now() + chrono::Duration::days(365)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        b = b.header(header::CACHE_CONTROL, "public, immutable").header(header::EXPIRES, expires);
    } else {
        b = b.header(header::CACHE_CONTROL, "no-cache, private");
    }
    if etag_matches(if_none_match, &doc.hash) {
        return b.status(304).body(Full::new(Bytes::new()).boxed()).unwrap();
    }
    b.status(200)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(doc.bytes.clone()).boxed())
        .unwrap()
}

/// Serves `/openapi/...`.
pub async fn serve<B>(req: &Request<B>) -> Reply {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let query = req.uri().query();
    let header_str = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    let accept = accepted(header_str(header::ACCEPT));
    let if_none_match = header_str(header::IF_NONE_MATCH);
    let hash = query_param(query, "hash");
    match path.as_str() {
        "/openapi/v2" => match accept.iter().find(|m| accepts_json(m) || accepts_v2_proto(m)) {
            Some(m) if accepts_v2_proto(m) => {
                let doc = build(v2_proto).await;
                reply_doc(&doc, V2_PROTO_SERVED, if_none_match, None, None)
            }
            Some(_) => {
                let doc = build(v2_json).await;
                reply_doc(&doc, "application/json", if_none_match, None, None)
            }
            None => not_acceptable(),
        },
        "/openapi/v3" => {
            if !accept.iter().any(|m| accepts_json(m)) {
                return not_acceptable();
            }
            let doc = build(v3_index).await;
            reply_doc(&doc, "application/json", if_none_match, None, None)
        }
        p => {
            let Some(key) = p.strip_prefix("/openapi/v3/").map(str::to_string) else {
                return error_reply(&ApiError::path_not_found());
            };
            if !v3_slots().contains_key(&key) {
                return error_reply(&ApiError::path_not_found());
            }
            if !accept.iter().any(|m| accepts_json(m)) {
                return not_acceptable();
            }
            let k = key.clone();
            let Some(doc) = build(move || v3_doc(&k)).await else {
                return error_reply(&ApiError::path_not_found());
            };
            reply_doc(&doc, "application/json", if_none_match, hash, Some(&format!("/openapi/v3/{key}")))
        }
    }
}
