//! PreScore/Score/NormalizeScore: sum term weights per topology pair, then score each
//! node by the pairs it belongs to, scaled to [0, MAX_NODE_SCORE] between the lowest and
//! the highest node.

use k8s_openapi::api::core::v1::Pod;

use super::InterPodAffinity;
use crate::affinity_terms::{AffinityTerm, PodAffinityTerms, WeightedAffinityTerm};
use crate::framework::{Code, CycleState, NodeScore, Status, MAX_NODE_SCORE};
use crate::index::FastMap;
use crate::labels::NamespaceLabels;
use crate::snapshot::{NodeInfo, Snapshot};

const PRE_SCORE_KEY: &str = "PreScoreInterPodAffinity";

/// Topology key → value → accumulated weight (upstream `scoreMap`).
#[derive(Debug, Clone, Default)]
struct ScoreMap(FastMap<String, FastMap<String, i64>>);

impl ScoreMap {
    fn add(&mut self, node: &NodeInfo, key: &str, delta: i64) {
        let Some(value) = node.label(key) else { return };
        let values = match self.0.get_mut(key) {
            Some(v) => v,
            None => self.0.entry(key.to_string()).or_default(),
        };
        match values.get_mut(value) {
            Some(v) => *v += delta,
            None => {
                values.insert(value.to_string(), delta);
            }
        }
    }

    /// The existing pod's terms that the incoming pod matches credit the existing
    /// pod's node's domain.
    fn add_terms(&mut self, terms: &[WeightedAffinityTerm], incoming: &Pod, ns: &NamespaceLabels, node: &NodeInfo, sign: i64) {
        for wt in terms.iter().filter(|wt| wt.term.matches(incoming, ns)) {
            self.add(node, &wt.term.topology_key, i64::from(wt.weight) * sign);
        }
    }
}

#[derive(Debug, Clone)]
struct PreScoreState {
    topology_score: ScoreMap,
}

impl InterPodAffinity {
    pub(super) fn run_pre_score(&self, state: &mut CycleState, pod: &Pod, nodes: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        if nodes.is_empty() {
            return Status::skip();
        }
        let terms = PodAffinityTerms::of(pod).unwrap_or_default();
        let has_constraints = !terms.preferred_affinity.is_empty() || !terms.preferred_anti_affinity.is_empty();
        if self.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        let ns = &snapshot.namespace_labels;
        let mut scores = ScoreMap::default();
        // The incoming pod's preferred terms credit the domains of the pods they match.
        let mut add_incoming = |wt: &WeightedAffinityTerm, sign: i64| {
            let t: &AffinityTerm = &wt.term;
            snapshot.for_each_pod_matching(&t.selector, |n, p| {
                if t.matches_namespace(p.pod.metadata.namespace.as_deref().unwrap_or(""), ns) {
                    scores.add(&snapshot.nodes[n], &t.topology_key, i64::from(wt.weight) * sign);
                }
            });
        };
        terms.preferred_affinity.iter().for_each(|wt| add_incoming(wt, 1));
        terms.preferred_anti_affinity.iter().for_each(|wt| add_incoming(wt, -1));
        // Existing pods' terms that the incoming pod matches credit their own domains.
        for &n in snapshot.nodes_with_affinity_pods() {
            let node = &snapshot.nodes[n];
            for existing in node.pods_with_affinity.iter().filter_map(|&p| node.pods.get(p)?.affinity.as_ref()) {
                if self.hard_pod_affinity_weight > 0 {
                    for t in existing.required_affinity.iter().filter(|t| t.matches(pod, ns)) {
                        scores.add(node, &t.topology_key, i64::from(self.hard_pod_affinity_weight));
                    }
                }
                scores.add_terms(&existing.preferred_affinity, pod, ns, node, 1);
                scores.add_terms(&existing.preferred_anti_affinity, pod, ns, node, -1);
            }
        }
        if scores.0.is_empty() {
            return Status::skip();
        }
        state.write(PRE_SCORE_KEY, PreScoreState { topology_score: scores });
        Status::success()
    }
}

fn read(state: &CycleState) -> Result<&PreScoreState, Status> {
    state
        .read::<PreScoreState>(PRE_SCORE_KEY)
        .ok_or_else(|| Status::new(Code::Error, format!("reading {PRE_SCORE_KEY:?} from cycleState: not found")))
}

/// The sum of the weights of the pairs the node belongs to (may be negative).
pub(super) fn score(state: &CycleState, node: &NodeInfo) -> Result<i64, Status> {
    let s = read(state)?;
    let total = s
        .topology_score
        .0
        .iter()
        .filter_map(|(key, values)| node.label(key).and_then(|v| values.get(v)))
        .sum();
    Ok(total)
}

/// Min-max scaling to [0, MAX_NODE_SCORE]; all 0 when every node scored the same.
pub(super) fn normalize_score(state: &CycleState, scores: &mut [NodeScore]) {
    let Ok(s) = read(state) else { return };
    if s.topology_score.0.is_empty() {
        return;
    }
    let min = scores.iter().map(|n| n.score).min().unwrap_or(0);
    let max = scores.iter().map(|n| n.score).max().unwrap_or(0);
    let diff = max - min;
    for n in scores.iter_mut() {
        n.score = if diff > 0 { (MAX_NODE_SCORE as f64 * ((n.score - min) as f64 / diff as f64)) as i64 } else { 0 };
    }
}
