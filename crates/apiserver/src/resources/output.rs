//! Encoding objects and lists in the negotiated representation: JSON (the cached bytes
//! as they are), Table, or PartialObjectMetadata.

use std::sync::Arc;

use api::registry::ResourceDef;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};

use super::Req;
use crate::cache::CachedObject;
use crate::negotiate::Output;
use crate::server::{bytes_reply, json_reply, Reply};

/// An object converted to the version the request addresses (versions that share
/// storage may differ, e.g. HPAs in autoscaling v1 and v2).
pub fn served_value<'a>(def: &ResourceDef, obj: &'a Value) -> std::borrow::Cow<'a, Value> {
    if obj.get("apiVersion").and_then(Value::as_str) == Some(def.api_version().as_str()) {
        std::borrow::Cow::Borrowed(obj)
    } else {
        std::borrow::Cow::Owned(crate::convert::to_version(def, obj))
    }
}

fn needs_conversion(def: &ResourceDef, obj: &CachedObject) -> bool {
    obj.attrs.api_version() != def.api_version()
}

/// The JSON bytes of an object as served.
pub fn object_bytes(def: &ResourceDef, obj: &CachedObject) -> Bytes {
    if needs_conversion(def, obj) {
        Bytes::from(serde_json::to_vec(&served_value(def, &obj.value())).unwrap_or_default())
    } else {
        obj.json.clone()
    }
}

pub fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The PartialObjectMetadata of a cached object, spliced from its bytes: only the
/// metadata is found, nothing is parsed into values (metadata watches follow every
/// write of a big cluster). Same bytes as serializing [`partial_metadata`].
pub fn partial_metadata_bytes(json: &[u8]) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Meta<'a> {
        #[serde(borrow)]
        metadata: Option<&'a serde_json::value::RawValue>,
    }
    let meta = serde_json::from_slice::<Meta>(json).ok().and_then(|m| m.metadata).map_or("{}", |m| m.get());
    let mut out = Vec::with_capacity(meta.len() + 80);
    out.extend_from_slice(br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#);
    out.extend_from_slice(meta.as_bytes());
    out.push(b'}');
    out
}

fn table_row(req: &Req, obj: &Value, now: chrono::DateTime<chrono::Utc>) -> Value {
    let served = served_value(req.def, obj);
    let cells = api::table::cells(req.def.group, req.def.kind, &served, now);
    let object = match req.query.get("includeObject") {
        Some("None") => Value::Null,
        Some("Object") => served.into_owned(),
        _ => partial_metadata(obj),
    };
    if object.is_null() {
        json!({"cells": cells})
    } else {
        json!({"cells": cells, "object": object})
    }
}

/// A Table for the objects; `list_meta` is the ListMeta to report.
pub fn table(req: &Req, objs: &[&Value], list_meta: Value, with_columns: bool) -> Value {
    let now = chrono::Utc::now();
    let rows: Vec<Value> = objs.iter().map(|o| table_row(req, o, now)).collect();
    let mut t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta});
    if with_columns {
        let cols: Vec<Value> = api::table::columns(req.def.group, req.def.kind).iter().map(api::table::column_json).collect();
        t["columnDefinitions"] = Value::Array(cols);
    }
    t["rows"] = Value::Array(rows);
    t
}

/// One object in the negotiated representation.
pub fn object_reply(req: &Req, code: u16, obj: &CachedObject) -> Reply {
    match req.output {
        Output::Json => bytes_reply(code, object_bytes(req.def, obj)),
        Output::Table => json_reply(code, &table(req, &[&obj.value()], json!({"resourceVersion": obj.rev.to_string()}), true)),
        Output::PartialMetadata => bytes_reply(code, partial_metadata_bytes(&obj.json).into()),
    }
}

/// A value that was never cached (dry runs, deletes) in the negotiated representation.
pub fn value_reply(req: &Req, code: u16, obj: &Value) -> Reply {
    match req.output {
        Output::Json => json_reply(code, &served_value(req.def, obj)),
        Output::Table => json_reply(code, &table(req, &[obj], json!({}), true)),
        Output::PartialMetadata => json_reply(code, &partial_metadata(obj)),
    }
}

pub struct ListPage {
    pub items: Vec<Arc<CachedObject>>,
    pub resource_version: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

fn list_meta(page: &ListPage) -> Value {
    let mut m = json!({"resourceVersion": page.resource_version.to_string()});
    if let Some(c) = &page.continue_token {
        m["continue"] = json!(c);
    }
    if let Some(r) = page.remaining {
        m["remainingItemCount"] = json!(r);
    }
    m
}

pub fn list_reply(req: &Req, page: &ListPage) -> Reply {
    match req.output {
        Output::Json => bytes_reply(200, list_json(req.def, page)),
        Output::Table => {
            let parsed: Vec<Value> = page.items.iter().map(|o| o.value()).collect();
            let values: Vec<&Value> = parsed.iter().collect();
            json_reply(200, &table(req, &values, list_meta(page), true))
        }
        Output::PartialMetadata => {
            let items: Vec<Value> = page.items.iter().map(|o| partial_metadata(&o.value())).collect();
            json_reply(
                200,
                &json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta(page), "items": items}),
            )
        }
    }
}

/// `<Kind>List` built from the cached bytes of each item, without re-encoding them.
fn list_json(def: &ResourceDef, page: &ListPage) -> Bytes {
    let size: usize = page.items.iter().map(|o| o.json.len() + 1).sum();
    let mut buf = BytesMut::with_capacity(size + 256);
    let head = json!({"kind": format!("{}List", def.kind), "apiVersion": def.api_version(), "metadata": list_meta(page)});
    let head = serde_json::to_vec(&head).unwrap();
    buf.put_slice(&head[..head.len() - 1]);
    buf.put_slice(b",\"items\":[");
    for (i, o) in page.items.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        buf.put_slice(&object_bytes(def, o));
    }
    buf.put_slice(b"]}");
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spliced_partial_metadata_is_the_serialized_one() {
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b\"c"}, "managedFields": [{"manager": "m"}]}, "spec": {"x": [1, 2]}});
        let bytes = serde_json::to_vec(&obj).unwrap();
        assert_eq!(partial_metadata_bytes(&bytes), serde_json::to_vec(&partial_metadata(&obj)).unwrap());
        let bare = serde_json::to_vec(&json!({"kind": "X"})).unwrap();
        assert_eq!(partial_metadata_bytes(&bare), serde_json::to_vec(&partial_metadata(&json!({"kind": "X"}))).unwrap());
    }
}
