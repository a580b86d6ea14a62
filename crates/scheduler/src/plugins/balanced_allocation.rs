//! NodeResourcesBalancedAllocation: prefer nodes whose resource utilisation fractions
//! stay close to each other after placing the pod.

use k8s_openapi::api::core::v1::Pod;

use super::resource_allocation::{cycle_requests, default_resources, pod_request_list, with_score_inputs, ResourceSpec, ScoreInputs};
use crate::framework::{CycleState, NodeScore, Plugin, ScorePlugin, Status, MAX_NODE_SCORE};
use crate::snapshot::{NodeInfo, Snapshot};

pub const NAME: &str = "NodeResourcesBalancedAllocation";
const PRE_SCORE_KEY: &str = "PreScoreNodeResourcesBalancedAllocation";

#[derive(Debug, Clone)]
pub struct BalancedAllocation {
    pub resources: Vec<ResourceSpec>,
}

impl Default for BalancedAllocation {
    fn default() -> Self {
        BalancedAllocation { resources: default_resources() }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// `(1 - std(fractions)) * 100`, fractions capped at 1.
pub fn balanced_score(requested: &[i64], allocatable: &[i64]) -> i64 {
    let fractions = || {
        requested.iter().zip(allocatable).filter(|(_, &a)| a != 0).map(|(&r, &a)| (r as f64 / a as f64).min(1.0))
    };
    let n = fractions().count();
    let std = match n {
        0 | 1 => 0.0,
        2 => {
            let mut f = fractions();
            let (a, b) = (f.next().unwrap_or(0.0), f.next().unwrap_or(0.0));
            ((a - b) / 2.0).abs()
        }
        n => {
            let mean = fractions().sum::<f64>() / n as f64;
            (fractions().map(|f| (f - mean) * (f - mean)).sum::<f64>() / n as f64).sqrt()
        }
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl ScorePlugin for BalancedAllocation {
    fn pre_score(&self, state: &mut CycleState, pod: &Pod, _: &[&NodeInfo], _: &Snapshot) -> Status {
        let reqs = pod_request_list(pod, &self.resources, true);
        if reqs.iter().all(|r| *r == 0) {
            // Best-effort pods are not scored, so they do not all pile onto one node.
            return Status::skip();
        }
        state.write(PRE_SCORE_KEY, reqs);
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let reqs = cycle_requests(state, PRE_SCORE_KEY, pod, &self.resources, true);
        Ok(with_score_inputs(node, &self.resources, &reqs, true, balanced_score))
    }

    fn score_nodes(&self, state: &CycleState, pod: &Pod, nodes: &[&NodeInfo], scores: &mut [NodeScore]) {
        let reqs = cycle_requests(state, PRE_SCORE_KEY, pod, &self.resources, true);
        let inputs = ScoreInputs::new(&self.resources, &reqs, true);
        for (s, n) in scores.iter_mut().zip(nodes) {
            s.score = inputs.with(n, balanced_score);
        }
    }
}
