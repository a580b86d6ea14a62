//! PreFilter/Filter for `DoNotSchedule` constraints: count matching pods per domain once
//! per cycle, then check each node's skew against the smallest domain.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::{node_has_all_keys, Constraint, PodTopologySpread, DO_NOT_SCHEDULE};
use super::{ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH};
use crate::framework::{Code, CycleState, PreFilterResult, Status};
use crate::index::TopologyDomains;
use crate::snapshot::{NodeInfo, Snapshot};

const PRE_FILTER_KEY: &str = "PreFilterPodTopologySpread";

/// Matching-pod counts of one constraint over its eligible domains.
#[derive(Debug, Clone)]
struct DomainCounts {
    domains: Arc<TopologyDomains>,
    /// Per domain (index into `domains.values`): matching pods on eligible nodes.
    counts: Vec<i64>,
    /// Domains holding at least one eligible node (upstream: keys of TpValueToMatchNum).
    eligible: Vec<bool>,
    eligible_num: usize,
    /// The smallest count over eligible domains and how many domains have it (upstream
    /// keeps "critical paths" for the same purpose).
    min: i64,
    at_min: usize,
}

impl DomainCounts {
    fn recompute_min(&mut self) {
        let mut min = i64::from(i32::MAX);
        let mut at_min = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            if !self.eligible[i] {
                continue;
            }
            if c < min {
                (min, at_min) = (c, 1);
            } else if c == min {
                at_min += 1;
            }
        }
        (self.min, self.at_min) = (min, at_min);
    }

    /// Adds `delta` pods to a domain, keeping the minimum current.
    fn update(&mut self, domain: usize, delta: i64) {
        let old = self.counts[domain];
        let new = old + delta;
        self.counts[domain] = new;
        if !self.eligible[domain] {
            // A domain new to the minimum computation.
            self.eligible[domain] = true;
            self.eligible_num += 1;
            if new < self.min {
                (self.min, self.at_min) = (new, 1);
            } else if new == self.min {
                self.at_min += 1;
            }
            return;
        }
        if new < self.min {
            (self.min, self.at_min) = (new, 1);
        } else if new == self.min && old != self.min {
            self.at_min += 1;
        } else if old == self.min && new > old {
            self.at_min -= 1;
            if self.at_min == 0 {
                self.recompute_min();
            }
        }
    }
}

#[derive(Debug, Clone)]
struct PreFilterState {
    constraints: Arc<Vec<Constraint>>,
    counts: Vec<DomainCounts>,
}

impl PreFilterState {
    /// Upstream `minMatchNum`: 0 while fewer domains than minDomains exist.
    fn min_match(&self, i: usize) -> i64 {
        let c = &self.counts[i];
        if (c.eligible_num as i64) < i64::from(self.constraints[i].min_domains) {
            0
        } else {
            c.min
        }
    }
}

impl PodTopologySpread {
    pub(super) fn run_pre_filter(&self, state: &mut CycleState, pod: &Pod, snapshot: &Snapshot) -> (PreFilterResult, Status) {
        let constraints = self.constraints(pod, DO_NOT_SCHEDULE);
        if constraints.is_empty() {
            return (None, Status::skip());
        }
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let tables: Vec<Arc<TopologyDomains>> = constraints.iter().map(|c| snapshot.topology(&c.topology_key)).collect();
        let has_all_keys = |n: usize| tables.iter().all(|t| t.of_node(n).is_some());
        let policy_checks: Vec<bool> = constraints.iter().map(|c| c.may_exclude_nodes(pod)).collect();
        // A node is a domain member of constraint i when it carries every key and passes
        // constraint i's inclusion policies.
        let included = |n: usize, i: usize| {
            has_all_keys(n) && (!policy_checks[i] || constraints[i].node_included(pod, &snapshot.nodes[n]))
        };
        let mut counts: Vec<DomainCounts> = tables
            .iter()
            .map(|t| DomainCounts {
                domains: t.clone(),
                counts: vec![0; t.len()],
                eligible: vec![false; t.len()],
                eligible_num: 0,
                min: 0,
                at_min: 0,
            })
            .collect();
        if constraints.len() == 1 && !policy_checks[0] {
            // Every value in the table comes from a node carrying the (only) key.
            counts[0].eligible.iter_mut().for_each(|e| *e = true);
        } else {
            for n in 0..snapshot.nodes.len() {
                for (i, dc) in counts.iter_mut().enumerate() {
                    if let Some(d) = dc.domains.of_node(n).filter(|_| included(n, i)) {
                        dc.eligible[d] = true;
                    }
                }
            }
        }
        for (i, c) in constraints.iter().enumerate() {
            let dc = &mut counts[i];
            c.selector.for_each_counted(snapshot, ns, |n, k| {
                if let Some(d) = dc.domains.of_node(n).filter(|_| included(n, i)) {
                    dc.counts[d] += k;
                }
            });
            dc.eligible_num = dc.eligible.iter().filter(|e| **e).count();
            dc.recompute_min();
        }
        state.write(PRE_FILTER_KEY, PreFilterState { constraints: Arc::new(constraints), counts });
        (None, Status::success())
    }
}

/// Upstream `updateWithPod` (PreFilter extensions during preemption).
pub(super) fn update_with_pod(state: &mut CycleState, pod: &Pod, updated: &Pod, node: &NodeInfo, delta: i64) {
    let Some(s) = state.read_mut::<PreFilterState>(PRE_FILTER_KEY) else { return };
    if updated.metadata.namespace != pod.metadata.namespace || !node_has_all_keys(node, &s.constraints) {
        return;
    }
    for (i, c) in s.constraints.iter().enumerate() {
        if !c.selector.matches(updated) || !c.node_included(pod, node) {
            continue;
        }
        let dc = &mut s.counts[i];
        if let Some(d) = node.label(&c.topology_key).and_then(|v| dc.domains.value_index(v)) {
            dc.update(d, delta);
        }
    }
}

pub(super) fn filter(state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
    let Some(s) = state.read::<PreFilterState>(PRE_FILTER_KEY) else {
        return Status::new(Code::Error, format!("reading {PRE_FILTER_KEY:?} from cycleState: not found"));
    };
    for (i, c) in s.constraints.iter().enumerate() {
        let Some(value) = node.label(&c.topology_key) else {
            return Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH);
        };
        let dc = &s.counts[i];
        let match_num = dc.domains.value_index(value).map_or(0, |d| dc.counts[d]);
        let self_match = i64::from(c.selector.matches(pod));
        // existing matches + the pod itself - global minimum must stay within maxSkew.
        if match_num + self_match - s.min_match(i) > i64::from(c.max_skew) {
            return Status::new(Code::Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
        }
    }
    Status::success()
}
