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

/// Keeps of a pod only what the controllers read (identity, labels and owners; node,
/// tolerations, host name and container ports; phase, conditions, IPs and restart
/// counts): a big cluster's pods are held in memory once per controller manager.
pub fn slim(pod: &mut Pod) {
    use k8s_openapi::api::core::v1::{Container, ContainerStatus, PodSpec, PodStatus};
    pod.metadata.annotations = None;
    if let Some(spec) = pod.spec.take() {
        let containers = spec.containers.into_iter().map(|c| Container { name: c.name, ports: c.ports, ..Default::default() }).collect();
        pod.spec = Some(PodSpec {
            containers,
            node_name: spec.node_name,
            tolerations: spec.tolerations,
            hostname: spec.hostname,
            subdomain: spec.subdomain,
            host_network: spec.host_network,
            ..Default::default()
        });
    }
    if let Some(status) = pod.status.take() {
        let statuses = status.container_statuses.map(|all| {
            all.into_iter().map(|c| ContainerStatus { name: c.name, ready: c.ready, restart_count: c.restart_count, ..Default::default() }).collect()
        });
        pod.status = Some(PodStatus {
            phase: status.phase,
            conditions: status.conditions,
            pod_ip: status.pod_ip,
            pod_ips: status.pod_ips,
            container_statuses: statuses,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod slim_tests {
    use super::*;

    #[test]
    fn slim_pods_keep_what_controllers_read() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "labels": {"app": "a"}, "annotations": {"big": "x"}},
            "spec": {"nodeName": "n1", "hostname": "h", "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "c", "image": "i", "env": [{"name": "E", "value": "v"}], "ports": [{"name": "http", "containerPort": 80}]}],
                     "volumes": [{"name": "v", "emptyDir": {}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "c", "ready": true, "restartCount": 3, "image": "i", "imageID": "x"}]}
        }))
        .unwrap();
        slim(&mut pod);
        let spec = pod.spec.as_ref().unwrap();
        assert!(spec.volumes.is_none() && spec.containers[0].env.is_none() && pod.metadata.annotations.is_none());
        assert_eq!(spec.containers[0].ports.as_ref().unwrap()[0].container_port, 80);
        assert_eq!((node_name(&pod), restarts(&pod), is_ready(&pod), phase(&pod)), ("n1", 3, true, "Running"));
        assert_eq!(pod.metadata.labels.as_ref().unwrap()["app"], "a");
    }
}
