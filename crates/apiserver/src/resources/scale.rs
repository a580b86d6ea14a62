//! The `scale` subresource: an autoscaling/v1 Scale view of a workload's replicas.

use serde_json::{json, Value};

use super::write::{self, Part};
use super::{read, Req};
use crate::objects;
use crate::server::{json_reply, Reply};
use crate::status::{ApiError, ApiResult};

/// The selector as a label-selector string (`app=web,tier in (a,b)`).
fn selector_string(sel: &Value) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    let labels = sel.get("matchLabels").unwrap_or(sel);
    if let Some(m) = labels.as_object() {
        for (k, v) in m {
            if let Some(v) = v.as_str() {
                reqs.push((k.clone(), format!("{k}={v}")));
            }
        }
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or("").to_string();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let text = match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key, text));
    }
    reqs.sort();
    reqs.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
}

fn to_scale(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let mut meta = json!({"name": m["name"], "namespace": m["namespace"], "uid": m["uid"], "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]});
    if m.get("namespace").is_none() {
        meta.as_object_mut().unwrap().remove("namespace");
    }
    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(0);
    let mut status = json!({"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0)});
    if let Some(sel) = obj["spec"].get("selector") {
        status["selector"] = json!(selector_string(sel));
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta, "spec": {"replicas": replicas}, "status": status})
}

pub async fn get(req: &Req) -> ApiResult<Reply> {
    let obj = read::current(req).await?;
    Ok(json_reply(200, &to_scale(&obj.value())))
}

/// Applies a Scale to the workload: only spec.replicas changes; the Scale's
/// resourceVersion, if set, is a precondition.
fn apply_scale(cur: &Value, scale: &Value) -> ApiResult<Value> {
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    let mut new = cur.clone();
    new["spec"]["replicas"] = json!(replicas);
    let rv = objects::resource_version(scale).to_string();
    objects::meta_mut(&mut new).insert("resourceVersion".into(), json!(rv));
    Ok(new)
}

fn check_scale(req: &Req, scale: &Value) -> ApiResult<()> {
    match scale["spec"]["replicas"].as_i64() {
        Some(r) if r < 0 => Err(ApiError::invalid(
            req.def,
            req.name(),
            &[api::errors::FieldError::invalid("spec.replicas", json!(r), "must be greater than or equal to 0")],
        )),
        _ => Ok(()),
    }
}

pub async fn update(req: &Req) -> ApiResult<Reply> {
    let scale = write::decode_json(req)?;
    check_scale(req, &scale)?;
    let new = write::update_loop(req, Part::Main, write::Ownership::Update("scale"), |cur| apply_scale(cur, &scale)).await?;
    Ok(json_reply(200, &to_scale(&new.value())))
}

pub async fn patch(req: &Req) -> ApiResult<Reply> {
    let ct = req.content_type.split(';').next().unwrap_or("").trim().to_string();
    let new = write::update_loop(req, Part::Main, write::Ownership::Update("scale"), |cur| {
        let patched = write::apply_patch(&ct, "autoscaling", "Scale", &to_scale(cur), &req.body)?;
        check_scale(req, &patched)?;
        apply_scale(cur, &patched)
    })
    .await?;
    Ok(json_reply(200, &to_scale(&new.value())))
}
