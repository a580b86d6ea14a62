//! Node lifecycle: a node whose heartbeats (its Lease, or its Ready condition) stop for
//! the grace period gets its conditions set to Unknown and its pods marked not ready;
//! nodes are tainted by their Ready condition (`not-ready` / `unreachable`, NoSchedule
//! and NoExecute) and by `spec.unschedulable`. The taint eviction part then deletes
//! pods that do not tolerate a NoExecute taint, after their `tolerationSeconds`.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::{json, Value};

use crate::events::{Involved, Recorder};
use crate::pods::tolerates;
use crate::runtime::{wait_any, Informer};

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// How often node health is checked (upstream's --node-monitor-period is 5 s; shorter
/// here so short grace periods are honoured closely).
const MONITOR_PERIOD: Duration = Duration::from_secs(1);
const CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

fn ts(t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<i64> {
    t.as_ref().map(|t| t.0.as_second())
}

fn rfc3339(secs: i64) -> String {
    crate::runtime::rfc3339(chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default())
}

/// When the node last showed life: its Lease renewal or its Ready heartbeat.
pub fn last_heartbeat(node: &Node, lease: Option<&Lease>) -> i64 {
    let ready = node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let hb = ready.and_then(|c| ts(&c.last_heartbeat_time)).unwrap_or(0);
    let renew = lease.and_then(|l| l.spec.as_ref()).and_then(|s| s.renew_time.as_ref()).map(|t| t.0.as_second()).unwrap_or(0);
    let created = ts(&node.metadata.creation_timestamp).unwrap_or(0);
    hb.max(renew).max(created)
}

pub fn ready_status(node: &Node) -> &str {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str())
        .unwrap_or("Unknown")
}

/// The conditions to post for a node that has been silent for `silent` seconds (all
/// Unknown), or None.
pub fn unknown_conditions(node: &Node, silent: i64, now: i64, grace: i64) -> Option<Vec<Value>> {
    if silent <= grace {
        return None;
    }
    let current = node.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    if CONDITIONS.iter().all(|ty| current.iter().any(|c| c.type_ == *ty && c.status == "Unknown")) {
        return None;
    }
    let mut out: Vec<Value> = Vec::new();
    for ty in CONDITIONS {
        match current.iter().find(|c| c.type_ == ty) {
            Some(c) => out.push(json!({
                "type": ty, "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.",
                "lastHeartbeatTime": c.last_heartbeat_time, "lastTransitionTime": if c.status == "Unknown" { json!(c.last_transition_time) } else { json!(rfc3339(now)) },
            })),
            None => out.push(json!({
                "type": ty, "status": "Unknown", "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status.",
                "lastHeartbeatTime": rfc3339(now), "lastTransitionTime": rfc3339(now),
            })),
        }
    }
    Some(out)
}

/// The taints a node should carry given its Ready status and `unschedulable`, keeping
/// every other taint; None when they are already right.
pub fn wanted_taints(node: &Node, ready: &str, now: i64) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let mut want: Vec<(&str, &str)> = Vec::new();
    match ready {
        "False" => want.extend([(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]),
        "Unknown" => want.extend([(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]),
        _ => {}
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        want.push((UNSCHEDULABLE, "NoSchedule"));
    }
    let managed = |t: &Taint| [NOT_READY, UNREACHABLE, UNSCHEDULABLE].contains(&t.key.as_str());
    let mut out: Vec<Taint> = current.iter().filter(|t| !managed(t) || want.contains(&(t.key.as_str(), t.effect.as_str()))).cloned().collect();
    for (key, effect) in &want {
        if !out.iter().any(|t| t.key == *key && t.effect == *effect) {
            let time_added = (*effect == "NoExecute").then(|| serde_json::from_value(json!(rfc3339(now))).expect("time"));
            out.push(Taint { key: key.to_string(), effect: effect.to_string(), value: None, time_added });
        }
    }
    if out.len() == current.len() && out.iter().all(|t| current.contains(t)) {
        None
    } else {
        Some(out)
    }
}

/// When a pod on a node with these taints must go: `Some(now)` or later, None if never.
pub fn eviction_time(pod: &Pod, taints: &[Taint], now: i64) -> Option<i64> {
    let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    let mut due: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == "NoExecute") {
        let matching: Vec<_> = tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Some(now);
        }
        if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            continue;
        }
        let secs = matching.iter().filter_map(|t| t.toleration_seconds).min().unwrap_or(0).max(0);
        let added = ts(&taint.time_added).unwrap_or(now);
        let at = added + secs;
        due = Some(due.map_or(at, |d| d.min(at)));
    }
    due
}

pub struct Settings {
    /// Seconds without a heartbeat before a node is Unknown (upstream's
    /// --node-monitor-grace-period).
    pub grace: i64,
}

/// Runs node lifecycle and taint eviction until the process ends.
pub async fn run(client: kube::Client, nodes: Informer<Node>, leases: Informer<Lease>, pods: Informer<Pod>, settings: Settings) {
    let rec = Recorder::new(client.clone(), "node-controller");
    let evictions = Recorder::new(client.clone(), "taint-eviction-controller");
    // Leases are renewed all the time: the controller looks every MONITOR_PERIOD (and when
    // a node changes), not at every renewal.
    let mut rxs = [nodes.subscribe()];
    nodes.ready().await;
    leases.ready().await;
    pods.ready().await;
    let node_api: Api<Node> = Api::all(client.clone());
    let pp = PatchParams::default();
    // Silence is timed by this controller's clock from when it saw a heartbeat change
    // (as upstream's probe timestamps), so a restart or clock skew never condemns a node.
    let mut seen: HashMap<String, (i64, i64)> = HashMap::new();
    loop {
        let started = std::time::Instant::now();
        let now = chrono::Utc::now().timestamp();
        let lease_list = leases.list();
        let by_name: HashMap<&str, &Lease> = lease_list
            .iter()
            .filter(|l| l.metadata.namespace.as_deref() == Some("kube-node-lease"))
            .map(|l| (l.metadata.name.as_deref().unwrap_or(""), &**l))
            .collect();
        let mut next_check = MONITOR_PERIOD;
        let mut tainted: HashMap<String, Vec<Taint>> = HashMap::new();
        let node_list = nodes.list();
        let names: std::collections::HashSet<&str> = node_list.iter().filter_map(|n| n.metadata.name.as_deref()).collect();
        seen.retain(|n, _| names.contains(n.as_str()));
        for node in node_list.iter() {
            let name = node.metadata.name.clone().unwrap_or_default();
            let lease = by_name.get(name.as_str()).copied();
            let mut ready = ready_status(node).to_string();
            let beat = last_heartbeat(node, lease);
            let entry = seen.entry(name.clone()).or_insert((beat, now));
            if entry.0 != beat {
                *entry = (beat, now);
            }
            let silent = now - entry.1;
            if ready != "Unknown" {
                next_check = next_check.min(Duration::from_secs((settings.grace - silent + 1).max(1) as u64));
            }
            if let Some(conds) = unknown_conditions(node, silent, now, settings.grace) {
                let patch = Patch::Strategic(json!({"status": {"conditions": conds}}));
                match node_api.patch_status(&name, &pp, &patch).await {
                    Ok(_) => {
                        ready = "Unknown".into();
                        rec.normal(&Involved::of(&**node), "NodeNotReady", format!("Node {name} status is now: NodeNotReady")).await;
                        mark_pods_not_ready(&client, &pods, &name).await;
                    }
                    Err(e) => tracing::debug!("node {name}: {e}"),
                }
            }
            let taints = match wanted_taints(node, &ready, now) {
                Some(t) => {
                    if let Err(e) = node_api.patch(&name, &pp, &Patch::Merge(json!({"spec": {"taints": t}}))).await {
                        tracing::debug!("tainting node {name}: {e}");
                    }
                    t
                }
                None => node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default(),
            };
            if taints.iter().any(|t| t.effect == "NoExecute") {
                tainted.insert(name, taints);
            }
        }
        let tainted_pods = if tainted.is_empty() { Vec::new() } else { pods.list() };
        for pod in tainted_pods.iter() {
            let Some(taints) = tainted.get(crate::pods::node_name(pod)) else { continue };
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            match eviction_time(pod, taints, now) {
                Some(at) if at <= now => evict(&client, &evictions, pod).await,
                Some(at) => next_check = next_check.min(Duration::from_secs((at - now) as u64)),
                None => {}
            }
        }
        wait_any(&mut rxs, next_check, crate::runtime::pace(started, Duration::from_millis(100))).await;
    }
}

async fn mark_pods_not_ready(client: &kube::Client, pods: &Informer<Pod>, node: &str) {
    let now = rfc3339(chrono::Utc::now().timestamp());
    for pod in pods.list().iter().filter(|p| crate::pods::node_name(p) == node && crate::pods::is_ready(p)) {
        let api: Api<Pod> = Api::namespaced(client.clone(), pod.metadata.namespace.as_deref().unwrap_or(""));
        let patch = Patch::Strategic(json!({"status": {"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}]}}));
        let _ = api.patch_status(pod.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &patch).await;
    }
}

async fn evict(client: &kube::Client, rec: &Recorder, pod: &Pod) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let now = rfc3339(chrono::Utc::now().timestamp());
    let cond = json!({"status": {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
        "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": now}]}});
    let _ = api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(cond)).await;
    rec.normal(&Involved::of(pod), "TaintManagerEviction", format!("Marking for deletion Pod {ns}/{name}")).await;
    let dp = DeleteParams { preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }), ..Default::default() };
    if let Err(e) = api.delete(&name, &dp).await {
        tracing::debug!("evicting pod {ns}/{name}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ready: &str, heartbeat: &str, taints: Value) -> Node {
        serde_json::from_value(json!({
            "metadata": {"name": "n", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat}]}
        }))
        .unwrap()
    }

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn a_silent_node_turns_unknown_and_gets_unreachable_taints() {
        let n = node("True", "2026-01-01T00:00:00Z", json!([{"key": "custom", "effect": "NoSchedule"}]));
        assert_eq!(last_heartbeat(&n, None), at("2026-01-01T00:00:00Z"));
        assert!(unknown_conditions(&n, 30, 0, 40).is_none());
        let conds = unknown_conditions(&n, 60, 0, 40).unwrap();
        assert_eq!(conds[0]["status"], "Unknown");
        assert_eq!(conds[0]["reason"], "NodeStatusUnknown");
        assert_eq!(conds[1]["reason"], "NodeStatusNeverUpdated");
        let taints = wanted_taints(&n, "Unknown", at("2026-01-01T00:01:00Z")).unwrap();
        let keys: Vec<(&str, &str)> = taints.iter().map(|t| (t.key.as_str(), t.effect.as_str())).collect();
        assert_eq!(keys, vec![("custom", "NoSchedule"), (UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]);
        assert!(wanted_taints(&n, "True", 0).is_none());
    }

    #[test]
    fn pods_go_after_their_toleration_seconds_or_at_once_without_one() {
        let taint: Taint = serde_json::from_value(json!({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2026-01-01T00:00:00Z"})).unwrap();
        let mut pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": []}})).unwrap();
        assert_eq!(eviction_time(&pod, std::slice::from_ref(&taint), 100), Some(100));
        let mut v = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
        api::strategy::add_default_toleration_seconds(&mut v);
        pod = serde_json::from_value(v).unwrap();
        assert_eq!(eviction_time(&pod, std::slice::from_ref(&taint), 100), Some(at("2026-01-01T00:05:00Z")));
        pod.spec.as_mut().unwrap().tolerations = Some(vec![serde_json::from_value(json!({"operator": "Exists"})).unwrap()]);
        assert_eq!(eviction_time(&pod, &[taint], 100), None);
    }
}
