//! InterPodAffinity: required podAffinity/podAntiAffinity terms filter nodes (including
//! existing pods' required anti-affinity against the incoming pod); preferred terms of
//! the incoming and the existing pods score them.

mod filtering;
mod scoring;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::framework::{
    CycleState, FilterPlugin, NodeScore, Plugin, PreFilterPlugin, PreFilterResult, ScorePlugin, Status,
};
use crate::index::TopologyDomains;
use crate::snapshot::{NodeInfo, PodInfo, Snapshot};

pub const NAME: &str = "InterPodAffinity";
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod anti-affinity rules";

/// The plugin with upstream's `InterPodAffinityArgs`.
#[derive(Debug, Clone)]
pub struct InterPodAffinity {
    /// Score credit for matching an existing pod's required affinity term (default 1).
    pub hard_pod_affinity_weight: i32,
    /// Skip existing pods' preferred terms when the incoming pod has none (default false).
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinity {
    fn default() -> Self {
        InterPodAffinity { hard_pod_affinity_weight: 1, ignore_preferred_terms_of_existing_pods: false }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Counts per topology pair (upstream `topologyToMatchedTermCount`), stored per topology
/// key as one counter per domain of the snapshot's topology table: PreFilter bumps
/// counters by node position instead of hashing label strings for every matching pod.
#[derive(Debug, Clone, Default)]
pub struct TopologyCounts {
    keys: Vec<KeyCounts>,
}

#[derive(Debug, Clone)]
struct KeyCounts {
    domains: Arc<TopologyDomains>,
    counts: Vec<i64>,
    /// Domains with a non-zero count.
    nonzero: usize,
}

impl KeyCounts {
    fn add(&mut self, domain: usize, delta: i64) {
        let c = &mut self.counts[domain];
        let was_zero = *c == 0;
        *c += delta;
        match (was_zero, *c == 0) {
            (true, false) => self.nonzero += 1,
            (false, true) => self.nonzero -= 1,
            _ => {}
        }
    }
}

impl TopologyCounts {
    fn key(&self, key: &str) -> Option<&KeyCounts> {
        self.keys.iter().find(|k| k.domains.key == key)
    }

    /// Adds `delta` to the domain of the node at snapshot position `node`, if the node
    /// has the key.
    pub fn add_at(&mut self, snapshot: &Snapshot, node: usize, key: &str, delta: i64) {
        let i = self.ensure_key(snapshot, key);
        self.add_at_key(i, node, delta);
    }

    /// Like [`TopologyCounts::add_at`] for a key position from
    /// [`TopologyCounts::ensure_key`]: loops over many pods resolve their term's key once.
    pub fn add_at_key(&mut self, key: usize, node: usize, delta: i64) {
        let k = &mut self.keys[key];
        if let Some(d) = k.domains.of_node(node) {
            k.add(d, delta);
        }
    }

    /// Makes room for counting pairs of this key; its position in `keys`.
    pub fn ensure_key(&mut self, snapshot: &Snapshot, key: &str) -> usize {
        if let Some(i) = self.keys.iter().position(|k| k.domains.key == key) {
            return i;
        }
        let domains = snapshot.topology(key);
        let counts = vec![0; domains.len()];
        self.keys.push(KeyCounts { domains, counts, nonzero: 0 });
        self.keys.len() - 1
    }

    /// Adds `delta` to the node's domain for a key counted before (preemption's
    /// what-if updates concern pods PreFilter already saw).
    pub fn add_to_node(&mut self, node: &NodeInfo, key: &str, delta: i64) {
        let Some(k) = self.keys.iter_mut().find(|k| k.domains.key == key) else { return };
        if let Some(d) = k.domains.of_labels(node.labels()) {
            k.add(d, delta);
        }
    }

    /// The count of the pair (key, value).
    pub fn get(&self, key: &str, value: &str) -> i64 {
        self.key(key).and_then(|k| Some(k.counts[k.domains.value_index(value)?])).unwrap_or(0)
    }

    /// Whether every count is zero ("nothing matched anywhere").
    pub fn is_empty(&self) -> bool {
        self.keys.iter().all(|k| k.nonzero == 0)
    }

    /// Whether any pair the node belongs to has a positive count.
    pub fn any_on_node(&self, node: &NodeInfo) -> bool {
        self.keys
            .iter()
            .filter(|k| k.nonzero > 0)
            .any(|k| k.domains.of_labels(node.labels()).is_some_and(|d| k.counts[d] > 0))
    }
}

impl PreFilterPlugin for InterPodAffinity {
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, snapshot: &Snapshot) -> (PreFilterResult, Status) {
        (None, filtering::pre_filter(state, pod, snapshot))
    }

    fn add_pod(&self, state: &mut CycleState, _: &Pod, added: &PodInfo, node: &NodeInfo) -> Status {
        filtering::update_with_pod(state, added, node, 1);
        Status::success()
    }

    fn remove_pod(&self, state: &mut CycleState, _: &Pod, removed: &PodInfo, node: &NodeInfo) -> Status {
        filtering::update_with_pod(state, removed, node, -1);
        Status::success()
    }
}

impl FilterPlugin for InterPodAffinity {
    fn filter(&self, state: &CycleState, _: &Pod, node: &NodeInfo) -> Status {
        filtering::filter(state, node)
    }
}

impl ScorePlugin for InterPodAffinity {
    fn pre_score(&self, state: &mut CycleState, pod: &Pod, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        self.run_pre_score(state, pod, nodes, snapshot)
    }

    fn score(&self, state: &CycleState, _: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        scoring::score(state, node)
    }

    fn normalize_score(&self, state: &CycleState, _: &Pod, scores: &mut [NodeScore]) {
        scoring::normalize_score(state, scores)
    }
}
