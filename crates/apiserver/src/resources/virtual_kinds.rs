//! Create-only kinds that are answered, not stored: access and token reviews, and pod
//! bindings (which set a pod's node).

use serde_json::{json, Value};
use store::StoreError;

use super::write::{self, decode_json};
use super::{output, Req};
use crate::objects;
use crate::server::Reply;
use crate::status::{ApiError, ApiResult};

pub fn is_virtual(req: &Req) -> bool {
    req.def.verbs == ["create"]
}

fn user_info(req: &Req) -> Value {
    let mut u = json!({"username": req.user.name, "groups": req.user.groups});
    if !req.user.uid.is_empty() {
        u["uid"] = json!(req.user.uid);
    }
    u
}

/// Until RBAC (issue 6) every authenticated user may do everything, so reviews allow.
fn review_status(req: &Req, obj: &Value) -> ApiResult<Value> {
    Ok(match req.def.kind {
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => json!({"allowed": true}),
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false
        }),
        "SelfSubjectReview" => json!({"userInfo": user_info(req)}),
        "TokenReview" => {
            let token = obj["spec"]["token"].as_str().unwrap_or("");
            match req.srv.tokens.authenticate(token) {
                Some(u) => json!({"authenticated": true, "user": {"username": u.name, "uid": u.uid, "groups": u.groups}}),
                None => json!({"authenticated": false}),
            }
        }
        other => return Err(ApiError::method_not_supported(req.def, &format!("create {other}"))),
    })
}

pub async fn create(req: &Req) -> ApiResult<Reply> {
    let mut obj = decode_json(req)?;
    if req.def.kind == "Binding" {
        let pod = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        return bind(req, &pod, &obj).await;
    }
    obj["apiVersion"] = json!(req.def.api_version());
    obj["kind"] = json!(req.def.kind);
    obj["status"] = review_status(req, &obj)?;
    objects::meta_mut(&mut obj).insert("creationTimestamp".into(), Value::Null);
    Ok(output::value_reply(req, 201, &obj))
}

/// `pods/binding`: the pod's Binding names it in metadata.name.
pub async fn bind_subresource(req: &Req) -> ApiResult<Reply> {
    let obj = decode_json(req)?;
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    if !name.is_empty() && name != req.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    bind(req, req.name(), &obj).await
}

/// Assigns a pod to the Binding's target node, once, as upstream's binding storage does:
/// spec.nodeName set and a PodScheduled=True condition.
async fn bind(req: &Req, pod: &str, binding: &Value) -> ApiResult<Reply> {
    let node = binding["target"]["name"].as_str().unwrap_or("").to_string();
    let pods = api::registry::find("", "v1", "pods").expect("pods are registered");
    let fail = |why: String| {
        ApiError::new(409, "Conflict", format!("Operation cannot be fulfilled on pods/binding \"{pod}\": {why}"))
            .with_details(json!({"name": pod, "kind": "pods/binding"}))
    };
    if node.is_empty() {
        return Err(ApiError::invalid(pods, pod, &[api::errors::FieldError::required("target.name", "")]));
    }
    let key = pods.key(req.ns(), pod);
    loop {
        req.srv.cache.sync().await?;
        let cur = req.srv.cache.resource(pods.storage).get(&key).ok_or_else(|| ApiError::not_found(pods, pod))?;
        if let Some(uid) = binding["metadata"]["uid"].as_str().filter(|u| !u.is_empty()) {
            if uid != objects::uid(&cur.value) {
                return Err(fail(format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", objects::uid(&cur.value))));
            }
        }
        if objects::is_deleting(&cur.value) {
            return Err(fail(format!("pod {pod} is being deleted, cannot be assigned to a host")));
        }
        if let Some(n) = cur.value["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(fail(format!("pod {pod} is already assigned to node \"{n}\"")));
        }
        let mut new = cur.value.clone();
        new["spec"]["nodeName"] = json!(node);
        set_scheduled(&mut new);
        match write::store_put(req, pods.storage, &key, new, Some(cur.rev)).await {
            Ok(_) => return Ok(output::value_reply(req, 201, &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))),
            Err(StoreError::Conflict(_)) => continue,
            Err(StoreError::NotFound) => return Err(ApiError::not_found(pods, pod)),
            Err(e) => return Err(e.into()),
        }
    }
}

fn set_scheduled(pod: &mut Value) {
    let now = objects::now_rfc3339();
    let conds = pod["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let mut conds: Vec<Value> = conds.into_iter().filter(|c| c["type"] != "PodScheduled").collect();
    conds.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
    pod["status"]["conditions"] = Value::Array(conds);
}
