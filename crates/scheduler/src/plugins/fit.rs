//! NodeResourcesFit: the node must have room for the pod's requests; scores by the
//! LeastAllocated strategy.

use k8s_openapi::api::core::v1::Pod;

use super::resource_allocation::{cycle_requests, default_resources, pod_request_list, with_score_inputs, ResourceSpec, ScoreInputs};
use crate::framework::{
    Code, CycleState, FilterPlugin, NodeScore, Plugin, PreFilterPlugin, PreFilterResult, ScorePlugin, Status, MAX_NODE_SCORE,
};
use crate::resource::{pod_requests, Defaults, Resource};
use crate::snapshot::{NodeInfo, Snapshot};

pub const NAME: &str = "NodeResourcesFit";
const PRE_FILTER_KEY: &str = "PreFilterNodeResourcesFit";
const PRE_SCORE_KEY: &str = "PreScoreNodeResourcesFit";

/// NodeResourcesFit with the LeastAllocated scoring strategy.
#[derive(Debug, Clone)]
pub struct Fit {
    pub resources: Vec<ResourceSpec>,
}

impl Default for Fit {
    fn default() -> Self {
        Fit { resources: default_resources() }
    }
}

impl Plugin for Fit {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// One resource the node lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientResource {
    pub resource: String,
    pub reason: String,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
}

fn insufficient(resource: &str, reason: String, requested: i64, used: i64, capacity: i64) -> InsufficientResource {
    InsufficientResource { resource: resource.into(), reason, requested, used, capacity }
}

/// Upstream `fitsRequest`: every resource the node cannot hold, in upstream's order.
pub fn fits_request(req: &Resource, node: &NodeInfo) -> Vec<InsufficientResource> {
    let mut out = Vec::new();
    let (alloc, used) = (&node.allocatable, &node.requested);
    if node.pods.len() as i64 + 1 > alloc.allowed_pod_number {
        out.push(insufficient("pods", "Too many pods".into(), 1, node.pods.len() as i64, alloc.allowed_pod_number));
    }
    if req.milli_cpu == 0 && req.memory == 0 && req.ephemeral_storage == 0 && req.scalar.values().all(|v| *v == 0) {
        return out;
    }
    let checks = [
        ("cpu", req.milli_cpu, used.milli_cpu, alloc.milli_cpu),
        ("memory", req.memory, used.memory, alloc.memory),
        ("ephemeral-storage", req.ephemeral_storage, used.ephemeral_storage, alloc.ephemeral_storage),
    ];
    for (name, want, in_use, cap) in checks {
        if want > 0 && want > cap - in_use {
            out.push(insufficient(name, format!("Insufficient {name}"), want, in_use, cap));
        }
    }
    for (name, &want) in &req.scalar {
        if want == 0 {
            continue;
        }
        let (cap, in_use) = (alloc.get(name), used.get(name));
        if want > cap - in_use {
            out.push(insufficient(name, format!("Insufficient {name}"), want, in_use, cap));
        }
    }
    out
}

impl PreFilterPlugin for Fit {
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, _: &Snapshot) -> (PreFilterResult, Status) {
        state.write(PRE_FILTER_KEY, pod_requests(pod, Defaults::None));
        (None, Status::success())
    }
}

impl FilterPlugin for Fit {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let computed;
        let req: &Resource = match state.read(PRE_FILTER_KEY) {
            Some(r) => r,
            None => {
                computed = pod_requests(pod, Defaults::None);
                &computed
            }
        };
        let lacking = fits_request(req, node);
        if lacking.is_empty() {
            return Status::success();
        }
        Status::with_reasons(Code::Unschedulable, lacking.into_iter().map(|r| r.reason).collect())
    }
}

/// `(capacity - requested) * 100 / capacity`, 0 when over capacity.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// Weighted mean of the per-resource least-requested scores.
pub fn least_allocated_score(resources: &[ResourceSpec], requested: &[i64], allocatable: &[i64]) -> i64 {
    let (mut total, mut weights) = (0, 0);
    for (i, spec) in resources.iter().enumerate() {
        if allocatable[i] == 0 {
            continue;
        }
        total += least_requested_score(requested[i], allocatable[i]) * spec.weight;
        weights += spec.weight;
    }
    if weights == 0 {
        0
    } else {
        total / weights
    }
}

impl ScorePlugin for Fit {
    fn pre_score(&self, state: &mut CycleState, pod: &Pod, _: &[&NodeInfo], _: &Snapshot) -> Status {
        state.write(PRE_SCORE_KEY, pod_request_list(pod, &self.resources, false));
        Status::success()
    }

    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let reqs = cycle_requests(state, PRE_SCORE_KEY, pod, &self.resources, false);
        Ok(with_score_inputs(node, &self.resources, &reqs, false, |requested, allocatable| {
            least_allocated_score(&self.resources, requested, allocatable)
        }))
    }

    fn score_nodes(&self, state: &CycleState, pod: &Pod, nodes: &[&NodeInfo], scores: &mut [NodeScore]) {
        let reqs = cycle_requests(state, PRE_SCORE_KEY, pod, &self.resources, false);
        let inputs = ScoreInputs::new(&self.resources, &reqs, false);
        for (s, n) in scores.iter_mut().zip(nodes) {
            s.score = inputs.with(n, |requested, allocatable| least_allocated_score(&self.resources, requested, allocatable));
        }
    }
}
