//! Pod garbage collector: deletes finished pods beyond `--terminated-pod-gc-threshold`
//! (oldest first), pods bound to nodes that no longer exist, and unscheduled pods that
//! are being deleted (no node agent will ever finish them).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use crate::pods::{is_terminal, node_name};
use crate::runtime::{wait_any, Informer};

/// A node must be missing this long before its pods are collected (upstream's
/// quarantine, so a node being re-registered keeps its pods).
const ORPHAN_QUARANTINE: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    Terminated,
    Orphaned,
    UnscheduledTerminating,
}

/// The pods to delete now. `missing_since` says how long each absent node has been absent.
pub fn collect(pods: &[&Pod], nodes: &HashSet<&str>, missing_for: &dyn Fn(&str) -> Duration, threshold: usize) -> Vec<(usize, Why)> {
    let mut out = Vec::new();
    let mut finished: Vec<usize> = (0..pods.len()).filter(|i| is_terminal(pods[*i]) && pods[*i].metadata.deletion_timestamp.is_none()).collect();
    if threshold > 0 && finished.len() > threshold {
        finished.sort_by_key(|i| pods[*i].metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()).unwrap_or(0));
        let excess = finished.len() - threshold;
        out.extend(finished.into_iter().take(excess).map(|i| (i, Why::Terminated)));
    }
    for (i, p) in pods.iter().enumerate() {
        let node = node_name(p);
        if !node.is_empty() && !nodes.contains(node) && missing_for(node) >= ORPHAN_QUARANTINE {
            out.push((i, Why::Orphaned));
        } else if node.is_empty() && p.metadata.deletion_timestamp.is_some() {
            out.push((i, Why::UnscheduledTerminating));
        }
    }
    out
}

/// Runs the pod garbage collector until the process ends.
pub async fn run(client: kube::Client, pods: Informer<Pod>, nodes: Informer<Node>, threshold: usize) {
    // Periodic, as upstream's (every 20 s), and when nodes change: not on every pod change.
    let mut rxs = [nodes.subscribe()];
    pods.ready().await;
    nodes.ready().await;
    let mut missing_since: HashMap<String, std::time::Instant> = HashMap::new();
    loop {
        let started = std::time::Instant::now();
        let node_list = nodes.list();
        let names: HashSet<&str> = node_list.iter().filter_map(|n| n.metadata.name.as_deref()).collect();
        let all = pods.list();
        let refs: Vec<&Pod> = all.iter().map(|p| &**p).collect();
        for p in &refs {
            let n = node_name(p);
            if !n.is_empty() && !names.contains(n) {
                missing_since.entry(n.to_string()).or_insert_with(std::time::Instant::now);
            }
        }
        missing_since.retain(|n, _| !names.contains(n.as_str()));
        let missing_for = |n: &str| missing_since.get(n).map(|t| t.elapsed()).unwrap_or_default();
        for (i, why) in collect(&refs, &names, &missing_for, threshold) {
            let p = refs[i];
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let name = p.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            if why == Why::Orphaned {
                // Upstream marks the pod failed and says why before removing it.
                let now = crate::runtime::now_rfc3339();
                let status = json!({"status": {"phase": "Failed", "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                    "message": "PodGC: node no longer exists", "lastTransitionTime": now}]}});
                let _ = api.patch_status(&name, &PatchParams::default(), &Patch::Strategic(status)).await;
            }
            let grace = if why == Why::Terminated { None } else { Some(0) };
            let dp = DeleteParams { grace_period_seconds: grace, preconditions: Some(Preconditions { uid: p.metadata.uid.clone(), resource_version: None }), ..Default::default() };
            if let Err(e) = api.delete(&name, &dp).await {
                tracing::debug!("pod gc {ns}/{name}: {e}");
            }
        }
        drop(all);
        let timeout = if missing_since.is_empty() { Duration::from_secs(20) } else { Duration::from_secs(5) };
        wait_any(&mut rxs, timeout, crate::runtime::pace(started, Duration::from_millis(200))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, node: &str, phase: &str, created: &str, deleting: bool) -> Pod {
        let mut v = json!({"metadata": {"name": name, "creationTimestamp": created}, "spec": {"nodeName": node, "containers": []}, "status": {"phase": phase}});
        if deleting {
            v["metadata"]["deletionTimestamp"] = json!(created);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn collects_excess_finished_orphaned_and_unscheduled_terminating_pods() {
        let pods = [
            pod("old", "n1", "Succeeded", "2026-01-01T00:00:00Z", false),
            pod("new", "n1", "Failed", "2026-01-02T00:00:00Z", false),
            pod("orphan", "gone", "Running", "2026-01-01T00:00:00Z", false),
            pod("stuck", "", "Pending", "2026-01-01T00:00:00Z", true),
            pod("fine", "n1", "Running", "2026-01-01T00:00:00Z", false),
        ];
        let refs: Vec<&Pod> = pods.iter().collect();
        let nodes = HashSet::from(["n1"]);
        let got = collect(&refs, &nodes, &|_| Duration::from_secs(60), 1);
        assert_eq!(got, vec![(0, Why::Terminated), (2, Why::Orphaned), (3, Why::UnscheduledTerminating)]);
        assert!(collect(&refs, &nodes, &|_| Duration::from_secs(1), 5).iter().all(|(_, w)| *w == Why::UnscheduledTerminating));
    }
}
