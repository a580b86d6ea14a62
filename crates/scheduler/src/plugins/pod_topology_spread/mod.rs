//! PodTopologySpread: `spec.topologySpreadConstraints` spread matching pods evenly over
//! topology domains. `DoNotSchedule` constraints filter (PreFilter/Filter), `ScheduleAnyway`
//! constraints score (PreScore/Score). Pods without constraints get upstream's system
//! default soft constraints (hostname maxSkew 3, zone maxSkew 5).

mod filtering;
mod scoring;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Taint, TopologySpreadConstraint};

use crate::framework::{
    CycleState, FilterPlugin, NodeScore, Plugin, PreFilterPlugin, PreFilterResult, ScorePlugin, Status,
};
use crate::helpers::find_untolerated;
use crate::labels::Selector;
use crate::plugins::node_affinity::pod_matches_node;
use crate::snapshot::{controller_uid, NodeInfo, PodInfo, Snapshot};

pub const NAME: &str = "PodTopologySpread";
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
pub const DO_NOT_SCHEDULE: &str = "DoNotSchedule";
pub const SCHEDULE_ANYWAY: &str = "ScheduleAnyway";

/// Upstream's `systemDefaultConstraints`.
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let soft = |key: &str, max_skew| TopologySpreadConstraint {
        topology_key: key.into(),
        when_unsatisfiable: SCHEDULE_ANYWAY.into(),
        max_skew,
        ..Default::default()
    };
    vec![soft(LABEL_HOSTNAME, 3), soft(LABEL_TOPOLOGY_ZONE, 5)]
}

#[derive(Debug, Clone)]
pub struct PodTopologySpread {
    /// Constraints for pods that declare none.
    pub default_constraints: Vec<TopologySpreadConstraint>,
    /// Whether `default_constraints` are the system defaults (nodes then need not carry
    /// every topology key to be scored).
    pub system_defaulted: bool,
}

impl Default for PodTopologySpread {
    fn default() -> Self {
        PodTopologySpread { default_constraints: system_default_constraints(), system_defaulted: true }
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// Which pods a constraint counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpreadSelector {
    /// The constraint's labelSelector (with matchLabelKeys merged in).
    Labels(Selector),
    /// Default constraints: pods of the same controller. Upstream builds this selector
    /// from the Services, ReplicaSets, ReplicationControllers and StatefulSets selecting
    /// the pod; the snapshot holds none of those, and the pods a ReplicaSet or StatefulSet
    /// selects are (barring orphans adopted by label) exactly the pods it controls, so the
    /// controller ownerReference's uid stands in for that selector. Pods selected only by
    /// a Service get no default spreading.
    Controller(String),
}

impl SpreadSelector {
    pub fn matches(&self, pod: &Pod) -> bool {
        match self {
            SpreadSelector::Labels(sel) => sel.matches(pod.metadata.labels.as_ref()),
            SpreadSelector::Controller(uid) => controller_uid(pod) == Some(uid.as_str()),
        }
    }

    /// Upstream `countPodsMatchSelector`'s predicate: same namespace, not terminating,
    /// selected.
    fn counts(&self, p: &PodInfo, ns: &str) -> bool {
        p.pod.metadata.deletion_timestamp.is_none()
            && p.pod.metadata.namespace.as_deref().unwrap_or("") == ns
            && self.matches(&p.pod)
    }

    /// Calls `f(node position, count)` for the counted pods in the snapshot: once per
    /// pod for a label selector, once per node for a controller (whose counts the
    /// snapshot keeps).
    fn for_each_counted(&self, snapshot: &Snapshot, ns: &str, mut f: impl FnMut(usize, i64)) {
        match self {
            SpreadSelector::Labels(sel) => snapshot.for_each_pod_matching(sel, |n, p| {
                if self.counts(p, ns) {
                    f(n, 1)
                }
            }),
            SpreadSelector::Controller(uid) => {
                for (n, k) in snapshot.controller_spread(ns, uid).into_iter().flat_map(|s| s.per_node.iter()) {
                    f(*n as usize, i64::from(*k));
                }
            }
        }
    }

    /// Counted pods on one node.
    fn count_on_node(&self, node: &NodeInfo, ns: &str) -> i64 {
        node.pods.iter().filter(|p| self.counts(p, ns)).count() as i64
    }
}

/// A constraint with defaults applied and its selector parsed (upstream
/// `topologySpreadConstraint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub selector: SpreadSelector,
    pub min_domains: i32,
    /// nodeAffinityPolicy Honor (the default): only nodes matching the pod's node
    /// affinity/selector are domains.
    pub honor_node_affinity: bool,
    /// nodeTaintsPolicy Honor (default Ignore): only nodes whose NoSchedule/NoExecute
    /// taints the pod tolerates are domains.
    pub honor_node_taints: bool,
}

impl Constraint {
    /// Upstream `matchNodeInclusionPolicies`.
    pub fn node_included(&self, pod: &Pod, node: &NodeInfo) -> bool {
        if self.honor_node_affinity && !pod_matches_node(pod, node) {
            return false;
        }
        if self.honor_node_taints {
            let taints = node.taints();
            let tolerations = pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[]);
            let hard = |t: &Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
            if find_untolerated(taints, tolerations, hard).is_some() {
                return false;
            }
        }
        true
    }

    /// Whether the inclusion policies can exclude any node for this pod at all.
    fn may_exclude_nodes(&self, pod: &Pod) -> bool {
        let has_node_affinity = pod.spec.as_ref().is_some_and(|s| {
            s.node_selector.as_ref().is_some_and(|m| !m.is_empty())
                || s.affinity.as_ref().and_then(|a| a.node_affinity.as_ref()).is_some_and(|na| {
                    na.required_during_scheduling_ignored_during_execution.is_some()
                })
        });
        (self.honor_node_affinity && has_node_affinity) || self.honor_node_taints
    }
}

/// Upstream `filterTopologySpreadConstraints`: the constraints with the given
/// whenUnsatisfiable, defaults applied, matchLabelKeys merged from the pod's labels.
pub fn parse_constraints(
    constraints: &[TopologySpreadConstraint],
    pod_labels: Option<&BTreeMap<String, String>>,
    action: &str,
) -> Vec<Constraint> {
    let mut out = Vec::new();
    for c in constraints.iter().filter(|c| c.when_unsatisfiable == action) {
        let mut selector = Selector::from_label_selector(c.label_selector.as_ref());
        let keys = c.match_label_keys.as_deref().unwrap_or(&[]);
        let own: BTreeMap<String, String> =
            keys.iter().filter_map(|k| pod_labels.and_then(|l| l.get(k)).map(|v| (k.clone(), v.clone()))).collect();
        if !own.is_empty() {
            selector = selector.merged_with_set(&own);
        }
        out.push(Constraint {
            max_skew: c.max_skew,
            topology_key: c.topology_key.clone(),
            selector: SpreadSelector::Labels(selector),
            min_domains: c.min_domains.unwrap_or(1),
            honor_node_affinity: c.node_affinity_policy.as_deref() != Some("Ignore"),
            honor_node_taints: c.node_taints_policy.as_deref() == Some("Honor"),
        });
    }
    out
}

/// Whether the node carries every constraint's topology key.
pub fn node_has_all_keys(node: &NodeInfo, constraints: &[Constraint]) -> bool {
    constraints.iter().all(|c| node.label(&c.topology_key).is_some())
}

impl PodTopologySpread {
    /// The pod's own constraints with this action, or the default constraints (which
    /// need a controller to select its siblings).
    pub fn constraints(&self, pod: &Pod, action: &str) -> Vec<Constraint> {
        let declared = pod.spec.as_ref().and_then(|s| s.topology_spread_constraints.as_deref()).unwrap_or(&[]);
        if !declared.is_empty() {
            return parse_constraints(declared, pod.metadata.labels.as_ref(), action);
        }
        let Some(uid) = controller_uid(pod) else { return Vec::new() };
        let mut out = parse_constraints(&self.default_constraints, pod.metadata.labels.as_ref(), action);
        for c in &mut out {
            c.selector = SpreadSelector::Controller(uid.to_string());
        }
        out
    }
}

impl PreFilterPlugin for PodTopologySpread {
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, snapshot: &Snapshot) -> (PreFilterResult, Status) {
        self.run_pre_filter(state, pod, snapshot)
    }

    fn add_pod(&self, state: &mut CycleState, pod: &Pod, added: &PodInfo, node: &NodeInfo) -> Status {
        filtering::update_with_pod(state, pod, &added.pod, node, 1);
        Status::success()
    }

    fn remove_pod(&self, state: &mut CycleState, pod: &Pod, removed: &PodInfo, node: &NodeInfo) -> Status {
        filtering::update_with_pod(state, pod, &removed.pod, node, -1);
        Status::success()
    }
}

impl FilterPlugin for PodTopologySpread {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        filtering::filter(state, pod, node)
    }
}

impl ScorePlugin for PodTopologySpread {
    fn pre_score(&self, state: &mut CycleState, pod: &Pod, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        self.run_pre_score(state, pod, nodes, snapshot)
    }

    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        scoring::score(state, pod, node)
    }

    fn normalize_score(&self, state: &CycleState, _: &Pod, scores: &mut [NodeScore]) {
        scoring::normalize_score(state, scores)
    }
}
