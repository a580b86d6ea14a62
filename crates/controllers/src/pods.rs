//! Facts about pods that several controllers need (upstream's podutil).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Taint, Toleration};
use kube::api::ObjectMeta;
use serde_json::{Map, Value};

pub fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// Counted by controllers: not finished and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && pod.metadata.deletion_timestamp.is_none()
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready")
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// Seconds since the pod became Ready, if it is.
pub fn ready_for(pod: &Pod, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let c = ready_condition(pod).filter(|c| c.status == "True")?;
    let since = c.last_transition_time.as_ref().map(|t| t.0.as_second()).unwrap_or(0);
    Some(now.timestamp() - since)
}

/// Ready for at least `min_ready_seconds` (upstream's IsPodAvailable).
pub fn is_available(pod: &Pod, min_ready_seconds: i64, now: chrono::DateTime<chrono::Utc>) -> bool {
    ready_for(pod, now).is_some_and(|s| min_ready_seconds == 0 || s >= min_ready_seconds)
}

/// The owner reference with `controller: true`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    meta.owner_references.as_ref()?.iter().find(|o| o.controller == Some(true))
}

/// Labels as the JSON map selectors match against.
pub fn label_map(labels: Option<&BTreeMap<String, String>>) -> Map<String, Value> {
    labels.into_iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
}

pub fn restarts(pod: &Pod) -> i32 {
    pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).map(|c| c.iter().map(|c| c.restart_count).max().unwrap_or(0)).unwrap_or(0)
}

pub fn node_name(pod: &Pod) -> &str {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("")
}

pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

/// Upstream `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}
