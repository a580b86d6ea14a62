//! Create-only kinds that are answered, not stored: access, rules, self-subject and
//! token reviews (answered by the authorizer and authenticators), and pod bindings
//! (which set a pod's node).

use api::errors::FieldError;
use api::rbac::Attributes;
use serde_json::{json, Value};
use store::StoreError;

use super::write::{self, decode_json};
use super::{output, Req};
use crate::auth::User;
use crate::objects;
use crate::server::Reply;
use crate::status::{ApiError, ApiResult};

pub fn is_virtual(req: &Req) -> bool {
    req.def.verbs == ["create"]
}

fn spec_strings(spec: &Value, field: &str) -> Vec<String> {
    spec[field].as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// The user a SubjectAccessReview asks about.
fn spec_user(req: &Req, spec: &Value) -> ApiResult<User> {
    let user = User {
        name: spec["user"].as_str().unwrap_or("").to_string(),
        uid: spec["uid"].as_str().unwrap_or("").to_string(),
        groups: spec_strings(spec, "groups"),
        extra: spec["extra"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default())).collect())
            .unwrap_or_default(),
    };
    if user.name.is_empty() && user.groups.is_empty() {
        let err = FieldError::invalid("spec.user", json!(""), "at least one of user or group must be specified");
        return Err(ApiError::invalid(req.def, "", &[err]));
    }
    Ok(user)
}

/// The attributes an access review's spec asks about.
fn review_attributes(req: &Req, spec: &Value) -> ApiResult<Attributes> {
    let (res, non) = (&spec["resourceAttributes"], &spec["nonResourceAttributes"]);
    let s = |v: &Value, f: &str| v[f].as_str().unwrap_or("").to_string();
    let invalid = |field: &str, value: &Value, detail: &str| {
        ApiError::invalid(req.def, "", &[FieldError::invalid(field, value.clone(), detail)])
    };
    match (res.is_object(), non.is_object()) {
        (true, true) => Err(invalid("spec.nonResourceAttributes", non, "cannot be specified in combination with resourceAttributes")),
        (false, false) => Err(invalid("spec.resourceAttributes", non, "exactly one of nonResourceAttributes or resourceAttributes must be specified")),
        (true, false) => Ok(Attributes {
            verb: s(res, "verb"),
            resource_request: true,
            namespace: s(res, "namespace"),
            api_group: s(res, "group"),
            api_version: s(res, "version"),
            resource: s(res, "resource"),
            subresource: s(res, "subresource"),
            name: s(res, "name"),
            field_selector: s(&res["fieldSelector"], "rawSelector"),
            ..Default::default()
        }),
        (false, true) => Ok(Attributes { verb: s(non, "verb"), path: s(non, "path"), ..Default::default() }),
    }
}

/// An access review's status: allowed (always present), then denied and reason when set.
fn access_status(req: &Req, user: &User, attrs: &Attributes) -> Value {
    let decision = req.srv.authz.authorize(user, attrs);
    let mut status = json!({"allowed": decision.allowed()});
    let reason = decision.reason();
    if !reason.is_empty() {
        status["reason"] = json!(reason);
    }
    status
}

/// The rules `user` has in `namespace`, as a SelfSubjectRulesReview reports them.
fn rules_status(req: &Req, namespace: &str) -> Value {
    let user = &req.user;
    let (rules, mut errors) = req.srv.authz.with_policy(|p| p.rules_for(user, namespace));
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for r in &rules {
        if !r.resources.is_empty() {
            let mut rule = json!({"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources});
            if !r.resource_names.is_empty() {
                rule["resourceNames"] = json!(r.resource_names);
            }
            resource_rules.push(rule);
        }
        if !r.non_resource_urls.is_empty() {
            non_resource_rules.push(json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}));
        }
    }
    // Nodes' permissions are the Node authorizer's, which cannot list them.
    let incomplete = api::rbac::node::node_identity(user).is_some();
    if incomplete {
        errors.insert(0, "node authorizer does not support user rule resolution".into());
    }
    let mut status = json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": incomplete});
    if !errors.is_empty() {
        status["evaluationError"] = json!(api::rbac::aggregate_errors(&errors));
    }
    status
}

fn review_status(req: &Req, obj: &Value) -> ApiResult<Value> {
    let spec = &obj["spec"];
    Ok(match req.def.kind {
        "SelfSubjectAccessReview" => access_status(req, &req.user, &review_attributes(req, spec)?),
        "SubjectAccessReview" => {
            let attrs = review_attributes(req, spec)?;
            access_status(req, &spec_user(req, spec)?, &attrs)
        }
        "LocalSubjectAccessReview" => {
            let attrs = review_attributes(req, spec)?;
            if !attrs.resource_request || attrs.namespace != req.ns() {
                return Err(ApiError::bad_request(format!(
                    "spec.resourceAttributes.namespace must match namespace: {}",
                    req.ns()
                )));
            }
            access_status(req, &spec_user(req, spec)?, &attrs)
        }
        "SelfSubjectRulesReview" => rules_status(req, spec["namespace"].as_str().unwrap_or("")),
        "SelfSubjectReview" => json!({"userInfo": req.user.to_json()}),
        "TokenReview" => {
            let token = spec["token"].as_str().unwrap_or("");
            if token.is_empty() {
                return Err(ApiError::bad_request("token is required for TokenReview in authentication"));
            }
            match req.srv.authn.authenticate_token(token) {
                Some(u) => json!({"authenticated": true, "user": u.to_json()}),
                None => json!({"user": {}}),
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
        let cur_value = cur.value();
        if let Some(uid) = binding["metadata"]["uid"].as_str().filter(|u| !u.is_empty()) {
            if uid != objects::uid(&cur_value) {
                return Err(fail(format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", objects::uid(&cur_value))));
            }
        }
        if objects::is_deleting(&cur_value) {
            return Err(fail(format!("pod {pod} is being deleted, cannot be assigned to a host")));
        }
        if let Some(n) = cur_value["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(fail(format!("pod {pod} is already assigned to node \"{n}\"")));
        }
        let mut new = cur_value;
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
