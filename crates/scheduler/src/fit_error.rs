//! Why a pod fits no node, rendered exactly as upstream's `FitError.Error()`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::framework::{PostFilterResult, Status};

/// Upstream's `ErrNoNodesAvailable` text.
pub const NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";

/// What went wrong where during one scheduling attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// Statuses of the nodes that were evaluated and rejected.
    pub node_to_status: BTreeMap<String, Status>,
    /// The status of every node not in `node_to_status` (PreFilter narrowed or rejected).
    pub absent_nodes_status: Option<Status>,
    /// Plugins that rejected the pod somewhere.
    pub unschedulable_plugins: BTreeSet<String>,
    /// The PreFilter rejection message, when PreFilter rejected the pod.
    pub pre_filter_msg: String,
    /// The PostFilter (preemption) message.
    pub post_filter_msg: String,
}

impl Diagnosis {
    /// The status of a node (explicit or the absent-nodes default).
    pub fn status_of(&self, node: &str) -> Option<&Status> {
        self.node_to_status.get(node).or(self.absent_nodes_status.as_ref())
    }

    /// "N reason" entries, sorted as strings like upstream's histogram.
    fn reason_histogram(&self, num_all_nodes: usize) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for st in self.node_to_status.values() {
            for r in &st.reasons {
                *counts.entry(r.as_str()).or_default() += 1;
            }
        }
        let absent = num_all_nodes.saturating_sub(self.node_to_status.len());
        if absent > 0 {
            for r in self.absent_nodes_status.iter().flat_map(|s| s.reasons.iter()) {
                *counts.entry(r.as_str()).or_default() += absent;
            }
        }
        let mut out: Vec<String> = counts.into_iter().map(|(r, n)| format!("{n} {r}")).collect();
        out.sort();
        out
    }

    /// Upstream's `FitError.Error()` for this diagnosis.
    pub fn render(&self, num_all_nodes: usize) -> String {
        let mut msg = format!("0/{num_all_nodes} nodes are available:");
        if !self.pre_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", self.pre_filter_msg));
        } else {
            let reasons = self.reason_histogram(num_all_nodes);
            if !reasons.is_empty() {
                msg.push_str(&format!(" {}.", reasons.join(", ")));
            }
        }
        if !self.post_filter_msg.is_empty() {
            msg.push_str(&format!(" {}.", self.post_filter_msg));
        }
        msg
    }
}

/// The pod fits no node (or there are no nodes at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    /// `namespace/name` of the pod.
    pub pod: String,
    pub num_all_nodes: usize,
    pub diagnosis: Diagnosis,
    /// What preemption proposes (nominated node and victims), if it ran and found one.
    pub post_filter_result: Option<PostFilterResult>,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_all_nodes == 0 {
            return f.write_str(NO_NODES_AVAILABLE);
        }
        f.write_str(&self.diagnosis.render(self.num_all_nodes))
    }
}

impl std::error::Error for FitError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Code;

    fn st(reasons: &[&str]) -> Status {
        Status::with_reasons(Code::Unschedulable, reasons.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn renders_sorted_histogram() {
        let mut d = Diagnosis::default();
        d.node_to_status.insert("a".into(), st(&["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]));
        d.node_to_status.insert("b".into(), st(&["Insufficient memory"]));
        d.node_to_status.insert("c".into(), st(&["Insufficient memory"]));
        d.node_to_status.insert("d".into(), st(&["node(s) didn't match Pod's node affinity/selector"]));
        d.node_to_status.insert("e".into(), st(&["node(s) didn't match Pod's node affinity/selector"]));
        assert_eq!(
            d.render(5),
            "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             2 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector."
        );
    }

    #[test]
    fn counts_absent_nodes_and_post_filter() {
        let mut d = Diagnosis::default();
        d.node_to_status.insert("a".into(), st(&["Insufficient cpu", "Insufficient memory"]));
        d.absent_nodes_status = Some(st(&["node(s) didn't satisfy plugin(s) [NodeAffinity]"]));
        d.post_filter_msg = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.".into();
        assert_eq!(
            d.render(3),
            "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, \
             2 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."
        );
    }

    #[test]
    fn pre_filter_message_replaces_histogram() {
        let d = Diagnosis {
            absent_nodes_status: Some(st(&["pod affinity terms conflict"])),
            pre_filter_msg: "pod affinity terms conflict".into(),
            ..Default::default()
        };
        assert_eq!(d.render(2), "0/2 nodes are available: pod affinity terms conflict.");
    }

    #[test]
    fn no_nodes() {
        let e = FitError { pod: "ns/p".into(), num_all_nodes: 0, diagnosis: Diagnosis::default(), post_filter_result: None };
        assert_eq!(e.to_string(), "no nodes available to schedule pods");
    }
}
