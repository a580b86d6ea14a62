//! PreScore/Score/NormalizeScore for `ScheduleAnyway` (and system default) constraints:
//! fewer matching pods in a node's domains scores higher.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{node_has_all_keys, Constraint, PodTopologySpread, SpreadSelector, LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE, SCHEDULE_ANYWAY};
use crate::framework::{Code, CycleState, NodeScore, Status, MAX_NODE_SCORE};
use crate::index::FastMap;
use crate::plugins::node_affinity::required_terms;
use crate::snapshot::{ControllerSpread, NodeInfo, Snapshot};

const PRE_SCORE_KEY: &str = "PreScorePodTopologySpread";

#[derive(Debug, Clone)]
struct PreScoreState {
    constraints: Vec<Constraint>,
    /// Feasible nodes missing a required topology key; they score 0.
    ignored_nodes: HashSet<String>,
    /// Per constraint: matching pods per domain of the feasible nodes. Hostname
    /// constraints count per node at Score instead.
    counts: Vec<FastMap<String, i64>>,
    /// Per constraint: for a hostname constraint over a controller's pods, the
    /// snapshot's count of them per node position (shared, not copied).
    per_host: Vec<Option<Arc<ControllerSpread>>>,
    /// Per constraint: `ln(domains + 2)`, so that counts in topologies with many small
    /// domains are not watered down by topologies with few big ones.
    weights: Vec<f64>,
}

fn topology_normalizing_weight(size: usize) -> f64 {
    ((size + 2) as f64).ln()
}

/// `maxSkew - 1` is added so that small differences between domains matter less.
fn score_for_count(count: i64, max_skew: i32, weight: f64) -> f64 {
    count as f64 * weight + f64::from(max_skew - 1)
}

impl PodTopologySpread {
    pub(super) fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        filtered: &[&NodeInfo],
        snapshot: &Snapshot,
    ) -> Status {
        if snapshot.nodes.is_empty() {
            return Status::skip();
        }
        let declared = pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_ref()).is_some_and(|c| !c.is_empty());
        let constraints = self.constraints(pod, SCHEDULE_ANYWAY);
        if constraints.is_empty() {
            return Status::skip();
        }
        // Only system defaults let nodes without a zone label still be spread by hostname.
        let require_all = declared || !self.system_defaulted;
        let mut ignored_nodes = HashSet::new();
        let mut counts: Vec<FastMap<String, i64>> = vec![FastMap::default(); constraints.len()];
        for node in filtered {
            if require_all && !node_has_all_keys(node, &constraints) {
                ignored_nodes.insert(node.name().to_string());
                continue;
            }
            for (i, c) in constraints.iter().enumerate() {
                if c.topology_key == LABEL_HOSTNAME {
                    continue;
                }
                let value = node.label(&c.topology_key).unwrap_or("");
                if !counts[i].contains_key(value) {
                    counts[i].insert(value.to_string(), 0);
                }
            }
        }
        let weights = constraints
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let size =
                    if c.topology_key == LABEL_HOSTNAME { filtered.len() - ignored_nodes.len() } else { counts[i].len() };
                topology_normalizing_weight(size)
            })
            .collect();
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let empty = Arc::new(ControllerSpread::default());
        let mut per_host = vec![None; constraints.len()];
        for (i, c) in constraints.iter().enumerate() {
            let domain_counts = &mut counts[i];
            match &c.selector {
                SpreadSelector::Controller(uid) => {
                    let spread = snapshot.controller_spread(ns, uid).unwrap_or(&empty);
                    if c.topology_key == LABEL_HOSTNAME {
                        per_host[i] = Some(spread.clone());
                        continue;
                    }
                    // Every node is a domain member: the snapshot's zone counts are the answer.
                    if c.topology_key == LABEL_TOPOLOGY_ZONE && !require_all && !c.honor_node_taints && selects_every_node(pod) {
                        for (zone, k) in &spread.per_zone {
                            if let Some(d) = domain_counts.get_mut(zone.as_str()) {
                                *d += i64::from(*k);
                            }
                        }
                        continue;
                    }
                }
                SpreadSelector::Labels(_) if c.topology_key == LABEL_HOSTNAME => continue,
                SpreadSelector::Labels(_) => {}
            }
            // Matching pods per node position first: the checks and the label lookups
            // below then run once per node, not once per matching pod.
            let mut per_node = vec![0i64; snapshot.nodes.len()];
            c.selector.for_each_counted(snapshot, ns, |n, k| per_node[n] += k);
            let per_node = per_node.into_iter().enumerate().filter(|(_, k)| *k > 0);
            for (n, count) in per_node {
                let node = &snapshot.nodes[n];
                if (require_all && !node_has_all_keys(node, &constraints)) || !c.node_included(pod, node) {
                    continue;
                }
                // Only domains of feasible nodes are tracked.
                if let Some(d) = domain_counts.get_mut(node.label(&c.topology_key).unwrap_or("")) {
                    *d += count;
                }
            }
        }
        state.write(PRE_SCORE_KEY, PreScoreState { constraints, ignored_nodes, counts, per_host, weights });
        Status::success()
    }
}

/// The pod has no nodeSelector and no required node affinity: node affinity excludes
/// no node from its domains.
fn selects_every_node(pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.node_selector.as_ref()).is_none_or(|s| s.is_empty()) && required_terms(pod).is_none()
}

fn read(state: &CycleState) -> Result<&PreScoreState, Status> {
    state
        .read::<PreScoreState>(PRE_SCORE_KEY)
        .ok_or_else(|| Status::new(Code::Error, format!("reading {PRE_SCORE_KEY:?} from cycleState: not found")))
}

/// The node's raw score: weighted matching pods over its domains (lower is better).
pub(super) fn score(state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
    let s = read(state)?;
    if s.ignored_nodes.contains(node.name()) {
        return Ok(0);
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let mut total = 0.0;
    for (i, c) in s.constraints.iter().enumerate() {
        let Some(value) = node.label(&c.topology_key) else { continue };
        let count = if c.topology_key == LABEL_HOSTNAME {
            match &s.per_host[i] {
                Some(spread) => spread.per_node.get(&node.pos()).copied().map_or(0, i64::from),
                None => c.selector.count_on_node(node, ns),
            }
        } else {
            s.counts[i].get(value).copied().unwrap_or(0)
        };
        total += score_for_count(count, c.max_skew, s.weights[i]);
    }
    Ok(total.round() as i64)
}

/// Reverses and scales: the node with the fewest matching pods gets MAX_NODE_SCORE;
/// ignored nodes get 0.
pub(super) fn normalize_score(state: &CycleState, scores: &mut [NodeScore]) {
    let Ok(s) = read(state) else { return };
    let ignored = |n: &NodeScore| !s.ignored_nodes.is_empty() && s.ignored_nodes.contains(&*n.name);
    let (mut min, mut max) = (i64::MAX, 0i64);
    for n in scores.iter().filter(|n| !ignored(n)) {
        min = min.min(n.score);
        max = max.max(n.score);
    }
    for n in scores.iter_mut() {
        n.score = if ignored(n) {
            0
        } else if max == 0 {
            MAX_NODE_SCORE
        } else {
            MAX_NODE_SCORE * (max + min - n.score) / max
        };
    }
}
