//! PreFilter/Filter: count, per topology pair, the existing pods matching the incoming
//! pod's required terms and the existing pods whose required anti-affinity the incoming
//! pod would violate; Filter then only looks up the node's pairs.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{TopologyCounts, ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH};
use super::ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH;
use crate::affinity_terms::{AffinityTerm, PodAffinityTerms};
use crate::framework::{Code, CycleState, Status};
use crate::labels::NamespaceLabels;
use crate::snapshot::{NodeInfo, PodInfo, Snapshot};

const PRE_FILTER_KEY: &str = "PreFilterInterPodAffinity";

#[derive(Debug, Clone)]
struct PreFilterState {
    pod: Pod,
    terms: Arc<PodAffinityTerms>,
    ns_labels: NamespaceLabels,
    /// Existing pods whose required anti-affinity terms match the incoming pod.
    existing_anti_affinity: TopologyCounts,
    /// Existing pods matching all of the incoming pod's required affinity terms.
    affinity: TopologyCounts,
    /// Existing pods matching the incoming pod's required anti-affinity terms.
    anti_affinity: TopologyCounts,
}

/// Whether the pod matches every term (and there is at least one).
fn matches_all(terms: &[AffinityTerm], pod: &Pod, ns_labels: &NamespaceLabels) -> bool {
    !terms.is_empty() && terms.iter().all(|t| t.matches(pod, ns_labels))
}

pub(super) fn pre_filter(state: &mut CycleState, pod: &Pod, snapshot: &Snapshot) -> Status {
    let terms = Arc::new(PodAffinityTerms::of(pod).unwrap_or_default());
    let ns_labels = snapshot.namespace_labels.clone();
    let mut existing_anti_affinity = TopologyCounts::default();
    for &n in snapshot.nodes_with_required_anti_affinity_pods() {
        let node = &snapshot.nodes[n];
        for &p in &node.pods_with_required_anti_affinity {
            let Some(existing) = node.pods.get(p).and_then(|p| p.affinity.as_ref()) else { continue };
            for t in existing.required_anti_affinity.iter().filter(|t| t.matches(pod, &ns_labels)) {
                existing_anti_affinity.add_at(snapshot, n, &t.topology_key, 1);
            }
        }
    }
    // Every key of the incoming terms gets counters up front, so that preemption's
    // updates find them even where nothing matched yet.
    let (mut affinity, mut anti_affinity) = (TopologyCounts::default(), TopologyCounts::default());
    let affinity_keys: Vec<usize> =
        terms.required_affinity.iter().map(|t| affinity.ensure_key(snapshot, &t.topology_key)).collect();
    let anti_affinity_keys: Vec<usize> =
        terms.required_anti_affinity.iter().map(|t| anti_affinity.ensure_key(snapshot, &t.topology_key)).collect();
    if let Some(first) = terms.required_affinity.first() {
        // A pod matching all terms matches the first: its selector narrows the search.
        snapshot.for_each_pod_matching(&first.selector, |n, p| {
            if matches_all(&terms.required_affinity, &p.pod, &ns_labels) {
                for &k in &affinity_keys {
                    affinity.add_at_key(k, n, 1);
                }
            }
        });
    }
    for (t, &k) in terms.required_anti_affinity.iter().zip(&anti_affinity_keys) {
        snapshot.for_each_pod_matching(&t.selector, |n, p| {
            if t.matches_namespace(p.pod.metadata.namespace.as_deref().unwrap_or(""), &ns_labels) {
                anti_affinity.add_at_key(k, n, 1);
            }
        });
    }
    if existing_anti_affinity.is_empty() && terms.required_affinity.is_empty() && terms.required_anti_affinity.is_empty() {
        return Status::skip();
    }
    let s = PreFilterState { pod: pod.clone(), terms, ns_labels, existing_anti_affinity, affinity, anti_affinity };
    state.write(PRE_FILTER_KEY, s);
    Status::success()
}

/// Upstream `updateWithPod` (PreFilter extensions during preemption).
pub(super) fn update_with_pod(state: &mut CycleState, updated: &PodInfo, node: &NodeInfo, delta: i64) {
    let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) else { return };
    if let Some(existing) = &updated.affinity {
        for t in existing.required_anti_affinity.iter().filter(|t| t.matches(&s.pod, &s.ns_labels)) {
            s.existing_anti_affinity.add_to_node(node, &t.topology_key, delta);
        }
    }
    if matches_all(&s.terms.required_affinity, &updated.pod, &s.ns_labels) {
        for t in &s.terms.required_affinity {
            s.affinity.add_to_node(node, &t.topology_key, delta);
        }
    }
    for t in s.terms.required_anti_affinity.iter().filter(|t| t.matches(&updated.pod, &s.ns_labels)) {
        s.anti_affinity.add_to_node(node, &t.topology_key, delta);
    }
}

/// Every required affinity term has a matching pod in the node's domain, or the pod is
/// the first of a group with affinity to itself.
fn satisfies_pod_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    let mut pods_exist = true;
    for t in &s.terms.required_affinity {
        // The node must carry every topology key.
        let Some(value) = node.label(&t.topology_key) else { return false };
        if s.affinity.get(&t.topology_key, value) <= 0 {
            pods_exist = false;
        }
    }
    if pods_exist {
        return true;
    }
    // No pod anywhere matches, but the pod matches its own terms: allow it, so that the
    // first pod of a self-affine group does not stay pending forever.
    s.affinity.is_empty() && matches_all(&s.terms.required_affinity, &s.pod, &s.ns_labels)
}

fn satisfies_pod_anti_affinity(s: &PreFilterState, node: &NodeInfo) -> bool {
    s.terms.required_anti_affinity.iter().all(|t| {
        node.label(&t.topology_key).is_none_or(|value| s.anti_affinity.get(&t.topology_key, value) <= 0)
    })
}

pub(super) fn filter(state: &CycleState, node: &NodeInfo) -> Status {
    let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
        return Status::new(Code::Error, format!("reading {PRE_FILTER_KEY:?} from cycleState: not found"));
    };
    if !satisfies_pod_affinity(s, node) {
        return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH);
    }
    if !satisfies_pod_anti_affinity(s, node) {
        return Status::new(Code::Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
    }
    if s.existing_anti_affinity.any_on_node(node) {
        return Status::new(Code::Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
    }
    Status::success()
}
