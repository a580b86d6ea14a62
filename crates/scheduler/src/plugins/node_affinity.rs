//! NodeAffinity: `spec.nodeSelector` and required node affinity filter nodes; preferred
//! node affinity terms score them.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{NodeSelectorTerm, Pod, PreferredSchedulingTerm};

use crate::framework::{
    default_normalize_score, Code, CycleState, FilterPlugin, NodeScore, Plugin, PreFilterPlugin, PreFilterResult,
    ScorePlugin, Status, MAX_NODE_SCORE,
};
use crate::helpers::{node_matches_term, node_matches_terms};
use crate::snapshot::{NodeInfo, Snapshot};

pub const NAME: &str = "NodeAffinity";
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";

#[derive(Debug, Default)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &'static str {
        NAME
    }
}

pub(crate) fn required_terms(pod: &Pod) -> Option<&Vec<NodeSelectorTerm>> {
    let na = pod.spec.as_ref()?.affinity.as_ref()?.node_affinity.as_ref()?;
    na.required_during_scheduling_ignored_during_execution.as_ref().map(|r| &r.node_selector_terms)
}

fn preferred_terms(pod: &Pod) -> &[PreferredSchedulingTerm] {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.preferred_during_scheduling_ignored_during_execution.as_deref())
        .unwrap_or(&[])
}

/// Whether the node satisfies the pod's nodeSelector and required node affinity.
pub fn pod_matches_node(pod: &Pod, node: &NodeInfo) -> bool {
    let labels = node.labels();
    let selector_ok = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref()).is_none_or(|sel| {
        sel.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    });
    selector_ok && required_terms(pod).is_none_or(|terms| node_matches_terms(terms, labels, node.name()))
}

/// The node names a term pins the pod to via `matchFields metadata.name In`, if any.
fn term_node_names(term: &NodeSelectorTerm) -> Option<BTreeSet<String>> {
    let mut names: Option<BTreeSet<String>> = None;
    for r in term.match_fields.iter().flatten() {
        if r.key != "metadata.name" || r.operator != "In" {
            continue;
        }
        let s: BTreeSet<String> = r.values.iter().flatten().cloned().collect();
        names = Some(match names {
            None => s,
            Some(prev) => prev.intersection(&s).cloned().collect(),
        });
    }
    names
}

impl PreFilterPlugin for NodeAffinity {
    fn pre_filter(&self, _: &mut CycleState, pod: &Pod, _: &Snapshot) -> (PreFilterResult, Status) {
        let has_selector = pod.spec.as_ref().is_some_and(|s| s.node_selector.is_some());
        let Some(terms) = required_terms(pod) else {
            return (None, if has_selector { Status::success() } else { Status::skip() });
        };
        if terms.is_empty() {
            return (None, Status::success());
        }
        let mut all: BTreeSet<String> = BTreeSet::new();
        for t in terms {
            // A term without a node-name pin makes every node eligible (terms are ORed).
            let Some(names) = term_node_names(t) else { return (None, Status::success()) };
            all.extend(names);
        }
        if all.is_empty() {
            return (None, Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_CONFLICT));
        }
        (Some(all), Status::success())
    }
}

impl FilterPlugin for NodeAffinity {
    fn filter(&self, _: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        if pod_matches_node(pod, node) {
            Status::success()
        } else {
            Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON_POD)
        }
    }
}

impl ScorePlugin for NodeAffinity {
    fn pre_score(&self, _: &mut CycleState, pod: &Pod, _: &[&NodeInfo], _: &Snapshot) -> Status {
        if preferred_terms(pod).is_empty() {
            Status::skip()
        } else {
            Status::success()
        }
    }

    fn score(&self, _: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let total = preferred_terms(pod)
            .iter()
            .filter(|t| t.weight != 0 && node_matches_term(&t.preference, node.labels(), node.name()))
            .map(|t| i64::from(t.weight))
            .sum();
        Ok(total)
    }

    fn normalize_score(&self, _: &CycleState, _: &Pod, scores: &mut [NodeScore]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}
