//! The scheduler's I/O shell: watches pods and nodes (one shared cache each), builds a
//! snapshot, places pending pods with the pure core, binds them through `pods/binding`,
//! and reports pods that fit nowhere (PodScheduled=False, a FailedScheduling event).
//! Level-triggered: every change, and a periodic tick, re-examines what is pending.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use controllers::runtime::follow;
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::Notify;

use crate::{default_profile, needs_scheduling, schedule, Snapshot, DEFAULT_SCHEDULER_NAME};

const RETRY: Duration = Duration::from_secs(5);
/// How long a bound pod counts as assumed before the cache must show it.
const ASSUME_TTL: Duration = Duration::from_secs(30);

fn priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// Runs the default scheduler until the process ends.
pub async fn run(client: kube::Client) {
    let changed = Arc::new(Notify::new());
    let pods = follow(Api::<Pod>::all(client.clone()), watcher::Config::default(), changed.clone());
    let nodes = follow(Api::<Node>::all(client.clone()), watcher::Config::default(), changed.clone());
    let _ = pods.wait_until_ready().await;
    let _ = nodes.wait_until_ready().await;
    let profile = default_profile();
    let mut reported: HashMap<String, String> = HashMap::new();
    // Pods bound by this scheduler that its cache does not show bound yet (upstream's
    // assumed pods): they count on their node, so the next pass does not overfill it.
    let mut assumed: HashMap<String, (String, std::time::Instant)> = HashMap::new();
    let mut tie_break: u64 = 0;
    loop {
        let all: Vec<Pod> = pods.state().iter().map(|p| (**p).clone()).collect();
        let mut snapshot = Snapshot::new(nodes.state().iter().map(|n| (**n).clone()).collect(), all.iter().cloned());
        assumed.retain(|uid, (_, at)| {
            at.elapsed() < ASSUME_TTL && all.iter().any(|p| p.metadata.uid.as_deref() == Some(uid.as_str()) && needs_scheduling(p, DEFAULT_SCHEDULER_NAME))
        });
        for p in all.iter() {
            if let Some((node, _)) = p.metadata.uid.as_ref().and_then(|u| assumed.get(u)) {
                snapshot.assume(p.clone(), node);
            }
        }
        let is_assumed = |p: &Pod| p.metadata.uid.as_ref().is_some_and(|u| assumed.contains_key(u));
        let mut pending: Vec<&Pod> = all.iter().filter(|p| needs_scheduling(p, DEFAULT_SCHEDULER_NAME) && !is_assumed(p)).collect();
        pending.sort_by_key(|p| (std::cmp::Reverse(priority(p)), p.metadata.creation_timestamp.clone().map(|t| t.0)));
        for pod in pending {
            tie_break = tie_break.wrapping_add(1);
            match schedule(pod, &snapshot, &profile, tie_break) {
                Ok(node) => {
                    if bind(&client, pod, &node).await {
                        snapshot.assume(pod.clone(), &node);
                        assumed.insert(pod.metadata.uid.clone().unwrap_or_default(), (node.clone(), std::time::Instant::now()));
                    }
                }
                Err(fit) => {
                    if let Some(result) = &fit.post_filter_result {
                        preempt(&client, pod, result).await;
                    }
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    let message = fit.to_string();
                    if reported.get(&uid) != Some(&message) {
                        report_unschedulable(&client, pod, &message).await;
                        reported.insert(uid, message);
                    }
                }
            }
        }
        reported.retain(|uid, _| all.iter().any(|p| p.metadata.uid.as_deref() == Some(uid.as_str())));
        let _ = tokio::time::timeout(RETRY, changed.notified()).await;
    }
}

fn ns_name(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

async fn bind(client: &kube::Client, pod: &Pod, node: &str) -> bool {
    let (ns, name) = ns_name(pod);
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": name, "namespace": ns, "uid": pod.metadata.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}
    });
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    match api.create_subresource::<serde_json::Value, serde_json::Value>("binding", &name, &PostParams::default(), &binding).await {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!("binding {ns}/{name} to {node}: {e}");
            false
        }
    }
}

/// Carries out what preemption proposed: the pod is nominated to the node and the
/// lower-priority victims there are deleted (gracefully); the pod is placed once they go.
async fn preempt(client: &kube::Client, pod: &Pod, result: &crate::PostFilterResult) {
    let Some(node) = &result.nominated_node_name else { return };
    let (ns, name) = ns_name(pod);
    if pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()) != Some(node.as_str()) {
        let params = PatchParams { field_manager: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() };
        let patch = Patch::Merge(json!({"status": {"nominatedNodeName": node}}));
        if let Err(e) = Api::<Pod>::namespaced(client.clone(), &ns).patch_status(&name, &params, &patch).await {
            tracing::debug!("nominating {ns}/{name} to {node}: {e}");
        }
    }
    for victim in &result.victims {
        let Some((vns, vname)) = victim.split_once('/') else { continue };
        let api: Api<Pod> = Api::namespaced(client.clone(), vns);
        if let Err(e) = api.delete(vname, &Default::default()).await {
            tracing::debug!("preempting {victim} for {ns}/{name}: {e}");
        }
    }
}

/// PodScheduled=False with upstream's reason and message, and a FailedScheduling event.
async fn report_unschedulable(client: &kube::Client, pod: &Pod, message: &str) {
    let (ns, name) = ns_name(pod);
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let condition = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null, "lastTransitionTime": now}]}});
    let params = PatchParams { field_manager: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() };
    if let Err(e) = pods.patch_status(&name, &params, &Patch::Strategic(condition)).await {
        tracing::debug!("marking {ns}/{name} unschedulable: {e}");
    }
    let event: Event = serde_json::from_value(json!({
        "metadata": {"name": format!("{name}.{:x}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()), "namespace": ns},
        "involvedObject": {"kind": "Pod", "apiVersion": "v1", "namespace": ns, "name": name, "uid": pod.metadata.uid,
                           "resourceVersion": pod.metadata.resource_version},
        "reason": "FailedScheduling", "message": message, "type": "Warning",
        "source": {"component": DEFAULT_SCHEDULER_NAME},
        "reportingComponent": DEFAULT_SCHEDULER_NAME, "reportingInstance": DEFAULT_SCHEDULER_NAME,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1
    }))
    .expect("an Event");
    if let Err(e) = Api::<Event>::namespaced(client.clone(), &ns).create(&PostParams::default(), &event).await {
        tracing::debug!("recording FailedScheduling for {ns}/{name}: {e}");
    }
}
