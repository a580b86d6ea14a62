//! CREATE, UPDATE, PATCH, DELETE and DELETECOLLECTION. Every write is a
//! compare-and-swap on the object's revision; a rejected request stores nothing.

use api::strategy;
use serde_json::{json, Value};
use store::StoreError;

use super::read;
use super::{output, Req};
use std::sync::Arc;

use crate::cache::CachedObject;
use crate::objects::{self, meta_mut};
use crate::server::{json_reply, Reply};
use crate::status::{ApiError, ApiResult};

/// Which side of an object a write may change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
    /// `namespaces/{name}/finalize`: only `spec.finalizers` changes.
    Finalize,
}

impl Part {
    pub fn subresource(self) -> &'static str {
        match self {
            Part::Main => "",
            Part::Status => "status",
            Part::Finalize => "finalize",
        }
    }
}

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The request body as a JSON object: JSON as sent, or Kubernetes protobuf (what
/// kubectl's typed clients send) decoded to the same JSON.
pub fn decode_json(req: &Req) -> ApiResult<Value> {
    let ct = req.content_type.split(';').next().unwrap_or("").trim();
    if ct == PROTOBUF {
        return crate::protobuf::decode(&req.body).map_err(|e| ApiError::bad_request(format!("unable to decode protobuf body: {e}")));
    }
    let v: Value = match ct {
        "" | "application/json" | "*/*" => serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))?,
        "application/yaml" => crate::yaml::parse(&String::from_utf8_lossy(&req.body)).map_err(ApiError::bad_request)?,
        _ => return Err(ApiError::unsupported_media_type(ct)),
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: json: cannot unmarshal into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }",
        ));
    }
    Ok(v)
}

/// Fills in or checks apiVersion and kind against the endpoint.
fn check_type(req: &Req, obj: &mut Value) -> ApiResult<()> {
    let want_version = req.def.api_version();
    let m = obj.as_object_mut().unwrap();
    match m.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            m.insert("apiVersion".into(), json!(want_version));
        }
        Some(v) if v != want_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want_version})"
            )))
        }
        _ => {}
    }
    match m.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            m.insert("kind".into(), json!(req.def.kind));
        }
        Some(k) if k != req.def.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                req.def.kind
            )))
        }
        _ => {}
    }
    Ok(())
}

/// Sets the namespace from the URL, refusing a conflicting one in the body.
fn check_namespace(req: &Req, obj: &mut Value) -> ApiResult<()> {
    let meta = meta_mut(obj);
    if !req.def.namespaced {
        meta.remove("namespace");
        return Ok(());
    }
    match meta.get("namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() && ns != req.ns() => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            meta.insert("namespace".into(), json!(req.ns()));
            Ok(())
        }
    }
}

/// NamespaceLifecycle admission: no new objects in missing or terminating namespaces.
async fn check_namespace_lifecycle(req: &Req, name: &str) -> ApiResult<()> {
    if !req.def.namespaced {
        return Ok(());
    }
    let ns_def = api::registry::find("", "v1", "namespaces").expect("namespaces are registered");
    let ns = req.srv.cache.resource(ns_def.storage).get(&ns_def.key("", req.ns()));
    match ns {
        None => Err(ApiError::namespace_not_found(req.ns())),
        Some(ns) if ns.attrs.is_deleting() => {
            let n = req.ns();
            Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {n} because it is being terminated",
                req.def.qualified_resource()
            ))
            .with_details(json!({
                "name": name,
                "kind": req.def.plural,
                "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {n} is being terminated"), "field": "metadata.namespace"}]
            })))
        }
        Some(_) => Ok(()),
    }
}

fn invalid(req: &Req, obj: &Value, errs: Vec<api::errors::FieldError>) -> ApiResult<()> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(req.def, objects::name(obj), &errs))
    }
}

/// A written object: as the cache serves it, or (dry runs, completed deletions) a
/// value that was never cached.
pub enum Written {
    Cached(Arc<CachedObject>),
    Value(Value),
}

impl Written {
    pub fn value(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Written::Cached(o) => std::borrow::Cow::Owned(o.value()),
            Written::Value(v) => std::borrow::Cow::Borrowed(v),
        }
    }

    pub fn reply(&self, req: &Req, code: u16) -> Reply {
        match self {
            Written::Cached(o) => output::object_reply(req, code, o),
            Written::Value(v) => output::value_reply(req, code, v),
        }
    }
}

/// Stores `obj` at `key` (a create, or a compare-and-swap on `expected`), and returns
/// it as the cache serves it; the cache takes the value instead of decoding it again.
pub(super) async fn store_put(
    req: &Req,
    storage: &str,
    key: &str,
    mut obj: Value,
    expected: Option<i64>,
) -> Result<Arc<CachedObject>, StoreError> {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("selfLink");
    }
    let bytes = serde_json::to_vec(&obj).expect("JSON values serialize");
    let cache = &req.srv.cache;
    cache.expect_write(key, &bytes, obj);
    let fallback = bytes.clone();
    let written = match expected {
        None => req.srv.store.create(key, bytes).await,
        Some(rev) => req.srv.store.update(key, bytes, rev).await,
    };
    let rev = match written {
        Ok(rev) => rev,
        Err(e) => {
            cache.forget_write(key);
            return Err(e);
        }
    };
    if cache.wait_for(rev).await.is_ok() {
        if let Some(o) = cache.resource(storage).get(key).filter(|o| o.rev == rev) {
            return Ok(o);
        }
    }
    let value = serde_json::from_slice(&fallback).map_err(|e| StoreError::Internal(e.to_string()))?;
    CachedObject::from_value(key.to_string(), rev, value).ok_or_else(|| StoreError::Internal("unencodable object".into()))
}

fn storage_bytes(obj: &Value) -> Vec<u8> {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("selfLink");
    }
    serde_json::to_vec(&v).expect("JSON values serialize")
}

pub async fn create(req: &Req) -> ApiResult<Reply> {
    let mut obj = decode_json(req)?;
    check_type(req, &mut obj)?;
    super::fields::check_body(req, "CreateOptions", &mut obj)?;
    create_object(req, crate::convert::to_storage(req.def, obj), Ownership::Update("")).await
}

/// How a write records field ownership.
#[derive(Clone, Copy)]
pub enum Ownership {
    /// A plain write by the field manager (to the main resource or a subresource).
    Update(&'static str),
    /// Server-side apply, which computed managedFields itself.
    Applied,
}

/// Creates an object given in its storage version.
pub async fn create_object(req: &Req, mut obj: Value, ownership: Ownership) -> ApiResult<Reply> {
    check_namespace(req, &mut obj)?;
    let meta = meta_mut(&mut obj);
    if meta.get("resourceVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    if objects::name(&obj).is_empty() {
        if let Some(prefix) = obj["metadata"].get("generateName").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            let name = format!("{prefix}{}", objects::random_suffix());
            meta_mut(&mut obj).insert("name".into(), json!(name));
        }
    }
    let name = objects::name(&obj).to_string();
    check_namespace_lifecycle(req, &name).await?;
    let meta = meta_mut(&mut obj);
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(objects::now_rfc3339()));
    for f in ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"] {
        meta.remove(f);
    }
    strategy::prepare_for_create(req.def, &mut obj);
    api::validation::default_object(req.def.group, req.def.kind, &mut obj);
    let _allocating = allocate_service(req, &mut obj, None).await?;
    invalid(req, &obj, api::validation::validate_create(req.def.group, req.def.kind, req.def.namespaced, &obj))?;
    crate::authz::admit(req, crate::authz::Operation::Create, Some(&obj), None)?;
    if let Ownership::Update(sub) = ownership {
        meta_mut(&mut obj).remove("managedFields");
        super::fields::record_update(req, sub, &json!({}), &mut obj)?;
    }
    let key = req.def.key(req.ns(), &name);
    if req.query.dry_run()? {
        // A dry run stores nothing but fails as the real create would.
        req.srv.cache.sync().await?;
        if req.srv.cache.resource(req.def.storage).get(&key).is_some() {
            return Err(ApiError::already_exists(req.def, &name));
        }
        return Ok(output::value_reply(req, 201, &obj));
    }
    match store_put(req, req.def.storage, &key, obj, None).await {
        Ok(o) => Ok(output::object_reply(req, 201, &o)),
        Err(StoreError::AlreadyExists) => Err(ApiError::already_exists(req.def, &name)),
        Err(e) => Err(e.into()),
    }
}

fn is_service(req: &Req) -> bool {
    req.def.group.is_empty() && req.def.kind == "Service"
}

/// For Services: takes the allocation lock (held until the write is cached) and
/// allocates cluster IPs and node ports.
async fn allocate_service<'a>(
    req: &'a Req,
    obj: &mut Value,
    old: Option<&Value>,
) -> ApiResult<Option<tokio::sync::MutexGuard<'a, ()>>> {
    if !is_service(req) {
        return Ok(None);
    }
    let guard = req.srv.service_alloc.lock().await;
    req.srv.cache.sync().await?;
    let errs = super::service_ips::allocate(req, obj, old, &req.srv.service_ranges);
    invalid(req, obj, errs)?;
    Ok(Some(guard))
}

/// Carries over from `old` what this write may not change, and checks what it may
/// not change at all.
fn prepare_update(req: &Req, part: Part, new: Value, old: &Value) -> ApiResult<Value> {
    let mut new = match part {
        Part::Status => {
            let mut merged = old.clone();
            merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
            let rv = new["metadata"].get("resourceVersion").cloned();
            if let Some(rv) = rv {
                meta_mut(&mut merged).insert("resourceVersion".into(), rv);
            }
            merged
        }
        Part::Finalize => {
            let mut merged = old.clone();
            merged["spec"]["finalizers"] = new["spec"].get("finalizers").cloned().unwrap_or(json!([]));
            if let Some(rv) = new["metadata"].get("resourceVersion").cloned() {
                meta_mut(&mut merged).insert("resourceVersion".into(), rv);
            }
            merged
        }
        Part::Main => {
            let mut new = new;
            if strategy::has_status(req.def) {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().unwrap().remove("status");
                    }
                }
            }
            new
        }
    };
    let name = objects::name(&new).to_string();
    if name != req.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    check_namespace(req, &mut new)?;
    let new_uid = objects::uid(&new).to_string();
    if !new_uid.is_empty() && new_uid != objects::uid(old) {
        return Err(ApiError::conflict(
            req.def,
            &name,
            &format!("Precondition failed: UID in precondition: {new_uid}, UID in object meta: {}", objects::uid(old)),
        ));
    }
    let old_meta = &old["metadata"];
    let meta = meta_mut(&mut new);
    for f in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
        match old_meta.get(f) {
            Some(v) => meta.insert(f.into(), v.clone()),
            None => meta.remove(f),
        };
    }
    meta.remove("selfLink");
    if strategy::tracks_generation(req.def) && strategy::spec_changed(&new, old) {
        let g = old_meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
        meta_mut(&mut new).insert("generation".into(), json!(g + 1));
    }
    api::validation::default_object(req.def.group, req.def.kind, &mut new);
    let errs = match part {
        Part::Main | Part::Finalize => api::validation::validate_update(req.def.group, req.def.kind, req.def.namespaced, &new, old),
        Part::Status => api::validation::validate_status_update(req.def.group, req.def.kind, &new, old),
    };
    invalid(req, &new, errs)?;
    crate::authz::admit(req, crate::authz::Operation::Update, Some(&new), Some(old))?;
    Ok(new)
}

/// Reads the current object, lets `change` compute the new one, and writes it with a
/// compare-and-swap; retries on conflict unless the client pinned a resourceVersion.
pub(super) async fn update_loop(
    req: &Req,
    part: Part,
    ownership: Ownership,
    change: impl Fn(&Value) -> ApiResult<Value>,
) -> ApiResult<Written> {
    loop {
        let cur = read::current(req).await?;
        let cur_value = cur.value();
        let mut proposed = crate::convert::to_storage(req.def, change(&cur_value)?);
        let _allocating = if part == Part::Main { allocate_service(req, &mut proposed, Some(&cur_value)).await? } else { None };
        let pinned = objects::resource_version(&proposed).to_string();
        if !pinned.is_empty() && pinned != cur.rev.to_string() {
            return Err(ApiError::modified(req.def, req.name()));
        }
        let mut new = prepare_update(req, part, proposed, &cur_value)?;
        if let Ownership::Update(sub) = ownership {
            super::fields::record_update(req, sub, &cur_value, &mut new)?;
        }
        if objects::same_except_volatile(&new, &cur_value) {
            return Ok(Written::Cached(cur));
        }
        if req.query.dry_run()? {
            let mut new = new;
            objects::set_resource_version(&mut new, cur.rev);
            return Ok(Written::Value(new));
        }
        let key = req.key();
        let spec_finalizers = req.def.kind == "Namespace" && new["spec"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if objects::is_deleting(&new) && objects::finalizers(&new).is_empty() && !spec_finalizers {
            // Removing the last finalizer of a deleting object completes its deletion.
            return match req.srv.store.delete(&key, Some(cur.rev)).await {
                Ok((rev, _)) => {
                    let mut gone = new;
                    objects::set_resource_version(&mut gone, rev);
                    Ok(Written::Value(gone))
                }
                Err(StoreError::Conflict(_)) if pinned.is_empty() => continue,
                Err(StoreError::Conflict(_)) => Err(ApiError::modified(req.def, req.name())),
                Err(StoreError::NotFound) => Err(ApiError::not_found(req.def, req.name())),
                Err(e) => Err(e.into()),
            };
        }
        match store_put(req, req.def.storage, &key, new, Some(cur.rev)).await {
            Ok(o) => return Ok(Written::Cached(o)),
            Err(StoreError::Conflict(_)) if pinned.is_empty() => continue,
            Err(StoreError::Conflict(_)) => return Err(ApiError::modified(req.def, req.name())),
            Err(StoreError::NotFound) => return Err(ApiError::not_found(req.def, req.name())),
            Err(e) => return Err(e.into()),
        }
    }
}

pub async fn update(req: &Req, part: Part) -> ApiResult<Reply> {
    let mut body = decode_json(req)?;
    check_type(req, &mut body)?;
    super::fields::check_body(req, "UpdateOptions", &mut body)?;
    if part == Part::Main && strategy::create_on_update(req.def) {
        req.srv.cache.sync().await?;
        if req.srv.cache.resource(req.def.storage).get(&req.key()).is_none() {
            return create(req).await;
        }
    }
    let new = update_loop(req, part, Ownership::Update(part.subresource()), |_| Ok(body.clone())).await?;
    Ok(new.reply(req, 200))
}

pub async fn patch(req: &Req, part: Part) -> ApiResult<Reply> {
    let ct = req.content_type.split(';').next().unwrap_or("").trim().to_string();
    if ct == "application/apply-patch+yaml" {
        return super::apply::apply(req, part).await;
    }
    if req.query.get("force").is_some() {
        return Err(super::fields::invalid_patch_options("force", "Forbidden: may not be specified for non-apply patch"));
    }
    let def = req.def;
    let new = update_loop(req, part, Ownership::Update(part.subresource()), |cur| {
        let served = output::served_value(def, cur);
        let mut patched = apply_patch(&ct, def.group, def.kind, &served, &req.body)?;
        super::fields::check_patch(req, &ct, &mut patched)?;
        if !patched.is_object() {
            return Err(ApiError::bad_request("the patch produced something that is not an object"));
        }
        Ok(patched)
    })
    .await?;
    Ok(new.reply(req, 200))
}

pub fn apply_patch(ct: &str, group: &str, kind: &str, doc: &Value, body: &[u8]) -> ApiResult<Value> {
    let result = match ct {
        "application/json-patch+json" => api::patch::json_patch(doc, body),
        "application/merge-patch+json" => api::patch::merge_patch(doc, body),
        "application/strategic-merge-patch+json" => api::patch::strategic_merge_patch(group, kind, doc, body),
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other})"),
            ))
        }
    };
    result.map_err(|e| ApiError::new(e.http_code(), e.reason(), e.message()))
}

/// DeleteOptions from the body and the query.
pub(super) struct DeleteOptions {
    grace: Option<i64>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
    /// `Orphan`, `Foreground` or `Background`; None leaves the kind's default.
    propagation: Option<&'static str>,
}

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Kinds whose dependents are orphaned unless the client asks otherwise, kept for
/// compatibility as upstream keeps them (core/v1 ReplicationController, batch/v1 Job).
fn orphans_by_default(req: &Req) -> bool {
    matches!((req.def.group, req.def.kind), ("", "ReplicationController") | ("batch", "Job"))
}

fn delete_options(req: &Req) -> ApiResult<DeleteOptions> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else if req.content_type.starts_with(PROTOBUF) {
        crate::protobuf::decode(&req.body).map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    } else {
        serde_json::from_slice(&req.body).map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    delete_options_from(req, &body)
}

/// DeleteOptions given as a JSON object (a request body, or an Eviction's deleteOptions).
pub(super) fn delete_options_from(req: &Req, body: &Value) -> ApiResult<DeleteOptions> {
    let grace = match body.get("gracePeriodSeconds").and_then(Value::as_i64) {
        Some(g) => Some(g),
        None => req.query.int("gracePeriodSeconds")?,
    };
    let pre = body.get("preconditions");
    let s = |f: &str| pre.and_then(|p| p.get(f)).and_then(Value::as_str).map(str::to_string);
    let body_dry = body.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == "All"));
    let policy = body.get("propagationPolicy").and_then(Value::as_str).map(str::to_string).or_else(|| req.query.get("propagationPolicy").map(str::to_string));
    let orphan = match body.get("orphanDependents").and_then(Value::as_bool) {
        Some(o) => Some(o),
        None => req.query.get("orphanDependents").map(|v| v == "true" || v == "1"),
    };
    let propagation = match (policy.as_deref(), orphan) {
        (Some(p), Some(_)) => {
            return Err(delete_options_invalid(&format!("propagationPolicy: Invalid value: \"{p}\": orphanDependents and deletionPropagation cannot be both set")))
        }
        (Some("Orphan"), None) => Some("Orphan"),
        (Some("Foreground"), None) => Some("Foreground"),
        (Some("Background"), None) => Some("Background"),
        (Some(p), None) => {
            return Err(delete_options_invalid(&format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )))
        }
        (None, Some(true)) => Some("Orphan"),
        (None, Some(false)) => Some("Background"),
        (None, None) => None,
    };
    Ok(DeleteOptions {
        grace,
        uid: s("uid"),
        resource_version: s("resourceVersion"),
        dry_run: body_dry || req.query.dry_run()?,
        propagation,
    })
}

fn delete_options_invalid(detail: &str) -> ApiError {
    ApiError::new(422, "Invalid", format!("DeleteOptions.meta.k8s.io \"\" is invalid: {detail}"))
}

/// The finalizers that garbage collection needs for this deletion (upstream's
/// `deletionFinalizersForGarbageCollection`): `orphan` to orphan the dependents,
/// `foregroundDeletion` to delete them first; background deletion needs neither.
fn gc_finalizers(req: &Req, obj: &Value, opts: &DeleteOptions) -> Vec<String> {
    let mut finalizers = objects::finalizers(obj);
    let policy = match opts.propagation {
        Some(p) => p,
        None if finalizers.iter().any(|f| f == ORPHAN_FINALIZER || f == FOREGROUND_FINALIZER) => return finalizers,
        None if orphans_by_default(req) => "Orphan",
        None => "Background",
    };
    finalizers.retain(|f| f != ORPHAN_FINALIZER && f != FOREGROUND_FINALIZER);
    match policy {
        "Orphan" => finalizers.push(ORPHAN_FINALIZER.into()),
        "Foreground" => finalizers.push(FOREGROUND_FINALIZER.into()),
        _ => {}
    }
    finalizers
}

/// How long a deletion waits: pods on a node terminate gracefully; others go at once.
fn grace_period(req: &Req, obj: &Value, requested: Option<i64>) -> i64 {
    if !req.def.group.is_empty() || req.def.kind != "Pod" {
        return 0;
    }
    let spec = &obj["spec"];
    let phase = obj["status"]["phase"].as_str().unwrap_or("");
    if spec["nodeName"].as_str().unwrap_or("").is_empty() || matches!(phase, "Succeeded" | "Failed") {
        return 0;
    }
    requested.unwrap_or_else(|| spec["terminationGracePeriodSeconds"].as_i64().unwrap_or(30)).max(0)
}

pub async fn delete(req: &Req) -> ApiResult<Reply> {
    let opts = delete_options(req)?;
    delete_one(req, req.name(), &opts).await.map(|v| output::value_reply(req, 200, &v))
}

pub(super) async fn delete_one(req: &Req, name: &str, opts: &DeleteOptions) -> ApiResult<Value> {
    let key = req.def.key(req.ns(), name);
    loop {
        req.srv.cache.sync().await?;
        let cur = req.srv.cache.resource(req.def.storage).get(&key).ok_or_else(|| ApiError::not_found(req.def, name))?;
        let mut obj = cur.value();
        check_preconditions(req, name, &obj, opts)?;
        crate::authz::admit(req, crate::authz::Operation::Delete, None, Some(&obj))?;
        let grace = grace_period(req, &obj, opts.grace);
        let is_namespace = req.def.group.is_empty() && req.def.kind == "Namespace";
        let has_spec_finalizers = is_namespace && obj["spec"]["finalizers"].as_array().is_some_and(|a| !a.is_empty());
        let finalizers = gc_finalizers(req, &obj, opts);
        let finalizers_changed = finalizers != objects::finalizers(&obj);
        if !finalizers.is_empty() || grace > 0 || has_spec_finalizers {
            if objects::is_deleting(&obj) && !finalizers_changed {
                return Ok(obj);
            }
            let deleting = objects::is_deleting(&obj);
            let meta = meta_mut(&mut obj);
            if finalizers_changed {
                meta.insert("finalizers".into(), json!(finalizers));
            }
            if !deleting {
                meta.insert("deletionTimestamp".into(), json!(objects::rfc3339_in(grace)));
                meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
            }
            if is_namespace {
                obj["status"]["phase"] = json!("Terminating");
            }
            if opts.dry_run {
                return Ok(obj);
            }
            match req.srv.store.update(&key, storage_bytes(&obj), cur.rev).await {
                Ok(rev) => {
                    objects::set_resource_version(&mut obj, rev);
                    return Ok(obj);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(StoreError::NotFound) => return Err(ApiError::not_found(req.def, name)),
                Err(e) => return Err(e.into()),
            }
        }
        if opts.dry_run {
            return Ok(obj);
        }
        match req.srv.store.delete(&key, Some(cur.rev)).await {
            Ok(_) => return Ok(obj),
            Err(StoreError::Conflict(_)) => continue,
            Err(StoreError::NotFound) => return Err(ApiError::not_found(req.def, name)),
            Err(e) => return Err(e.into()),
        }
    }
}

fn check_preconditions(req: &Req, name: &str, obj: &Value, opts: &DeleteOptions) -> ApiResult<()> {
    if let Some(uid) = &opts.uid {
        if uid != objects::uid(obj) {
            return Err(ApiError::conflict(
                req.def,
                name,
                &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", objects::uid(obj)),
            ));
        }
    }
    if let Some(rv) = &opts.resource_version {
        if rv != objects::resource_version(obj) {
            return Err(ApiError::conflict(
                req.def,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    objects::resource_version(obj)
                ),
            ));
        }
    }
    Ok(())
}

pub async fn delete_collection(req: &Req) -> ApiResult<Reply> {
    let opts = delete_options(req)?;
    let filter = read::Filter::from_request(req)?;
    req.srv.cache.sync().await?;
    let prefix = req.def.prefix(req.namespace.as_deref());
    let names: Vec<(String, String)> = req
        .srv
        .cache
        .resource(req.def.storage)
        .list(&prefix)
        .into_iter()
        .filter(|o| filter.matches(&o.attrs))
        .map(|o| (o.namespace().to_string(), o.attrs.name().to_string()))
        .collect();
    let mut items = Vec::new();
    for (ns, name) in names {
        let mut r = req.clone();
        r.namespace = req.def.namespaced.then_some(ns);
        match delete_one(&r, &name, &opts).await {
            Ok(v) => items.push(output::served_value(req.def, &v).into_owned()),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rev = req.srv.cache.revision();
    Ok(json_reply(
        200,
        &json!({"kind": format!("{}List", req.def.kind), "apiVersion": req.def.api_version(), "metadata": {"resourceVersion": rev.to_string()}, "items": items}),
    ))
}
