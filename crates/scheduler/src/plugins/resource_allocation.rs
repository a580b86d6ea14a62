//! Shared scoring arithmetic for NodeResourcesFit and NodeResourcesBalancedAllocation
//! (upstream `resourceAllocationScorer`).

use k8s_openapi::api::core::v1::Pod;

use crate::resource::{is_scalar_resource, pod_requests, Defaults, Resource, CPU, EPHEMERAL_STORAGE, MEMORY};
use crate::snapshot::NodeInfo;

/// A resource considered in scoring and its weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    pub name: String,
    pub weight: i64,
}

/// The default scored resources: cpu and memory, weight 1 each.
pub fn default_resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec { name: CPU.into(), weight: 1 }, ResourceSpec { name: MEMORY.into(), weight: 1 }]
}

/// The pod's request of each scored resource; `use_requested == false` applies the
/// 100m/200Mi defaults to containers without CPU/memory requests.
/// The pod's requests as PreScore stored them in the cycle state under `key`, or
/// computed now when PreScore did not run.
pub fn cycle_requests<'a>(
    state: &'a crate::framework::CycleState,
    key: &'static str,
    pod: &Pod,
    resources: &[ResourceSpec],
    use_requested: bool,
) -> std::borrow::Cow<'a, [i64]> {
    match state.read::<Vec<i64>>(key) {
        Some(r) => std::borrow::Cow::Borrowed(r.as_slice()),
        None => std::borrow::Cow::Owned(pod_request_list(pod, resources, use_requested)),
    }
}

pub fn pod_request_list(pod: &Pod, resources: &[ResourceSpec], use_requested: bool) -> Vec<i64> {
    let defaults = if use_requested { Defaults::None } else { Defaults::NonZero };
    let r: Resource = pod_requests(pod, defaults);
    resources.iter().map(|s| r.get(&s.name)).collect()
}

/// (allocatable, requested-including-this-pod) of one resource on a node; (0, 0) for
/// scalar resources the pod does not request, which excludes them from scoring.
pub fn allocatable_and_requested(node: &NodeInfo, resource: &str, pod_request: i64, use_requested: bool) -> (i64, i64) {
    let requested = if use_requested { &node.requested } else { &node.non_zero_requested };
    if pod_request == 0 && is_scalar_resource(resource) {
        return (0, 0);
    }
    match resource {
        CPU => (node.allocatable.milli_cpu, requested.milli_cpu + pod_request),
        MEMORY => (node.allocatable.memory, requested.memory + pod_request),
        EPHEMERAL_STORAGE => (node.allocatable.ephemeral_storage, node.requested.ephemeral_storage + pod_request),
        n => (node.allocatable.get(n), node.requested.get(n) + pod_request),
    }
}

/// Up to this many scored resources are scored without allocating.
const INLINE: usize = 8;

/// Calls `f(requested, allocatable)` with the scorer's inputs (see [`score_inputs`]),
/// on the stack for the usual handful of resources: this runs for every node.
pub fn with_score_inputs<R>(
    node: &NodeInfo,
    resources: &[ResourceSpec],
    pod_reqs: &[i64],
    use_requested: bool,
    f: impl FnOnce(&[i64], &[i64]) -> R,
) -> R {
    let n = resources.len();
    if n > INLINE {
        let (requested, allocatable) = score_inputs(node, resources, pod_reqs, use_requested);
        return f(&requested, &allocatable);
    }
    let (mut requested, mut allocatable) = ([0i64; INLINE], [0i64; INLINE]);
    for (i, spec) in resources.iter().enumerate() {
        let (alloc, req) = allocatable_and_requested(node, &spec.name, pod_reqs[i], use_requested);
        if alloc != 0 {
            (allocatable[i], requested[i]) = (alloc, req);
        }
    }
    f(&requested[..n], &allocatable[..n])
}

/// Where one scored resource's amounts live in a [`NodeInfo`], resolved once per cycle.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Cpu,
    Memory,
    EphemeralStorage,
    /// Another resource, by its position in the scored resources.
    Named(usize),
    /// A scalar resource the pod does not request: excluded from scoring.
    Skip,
}

/// The scorer's inputs for one pod with resource names resolved up front, so that
/// scoring each node is arithmetic only. Same values as [`with_score_inputs`].
pub struct ScoreInputs<'a> {
    resources: &'a [ResourceSpec],
    slots: Vec<(Slot, i64)>,
    use_requested: bool,
}

impl<'a> ScoreInputs<'a> {
    pub fn new(resources: &'a [ResourceSpec], pod_reqs: &[i64], use_requested: bool) -> ScoreInputs<'a> {
        let slots = resources
            .iter()
            .zip(pod_reqs)
            .enumerate()
            .map(|(i, (spec, &req))| {
                let slot = match spec.name.as_str() {
                    n if req == 0 && is_scalar_resource(n) => Slot::Skip,
                    CPU => Slot::Cpu,
                    MEMORY => Slot::Memory,
                    EPHEMERAL_STORAGE => Slot::EphemeralStorage,
                    _ => Slot::Named(i),
                };
                (slot, req)
            })
            .collect();
        ScoreInputs { resources, slots, use_requested }
    }

    /// Calls `f(requested, allocatable)` for a node (see [`with_score_inputs`]).
    pub fn with<R>(&self, node: &NodeInfo, f: impl FnOnce(&[i64], &[i64]) -> R) -> R {
        let n = self.slots.len();
        if n > INLINE {
            let reqs: Vec<i64> = self.slots.iter().map(|s| s.1).collect();
            return with_score_inputs(node, self.resources, &reqs, self.use_requested, f);
        }
        let requested = if self.use_requested { &node.requested } else { &node.non_zero_requested };
        let (mut req, mut alloc) = ([0i64; INLINE], [0i64; INLINE]);
        for (i, &(slot, pod_request)) in self.slots.iter().enumerate() {
            let (a, r) = match slot {
                Slot::Skip => (0, 0),
                Slot::Cpu => (node.allocatable.milli_cpu, requested.milli_cpu + pod_request),
                Slot::Memory => (node.allocatable.memory, requested.memory + pod_request),
                Slot::EphemeralStorage => (node.allocatable.ephemeral_storage, node.requested.ephemeral_storage + pod_request),
                Slot::Named(at) => {
                    let name = self.resources[at].name.as_str();
                    (node.allocatable.get(name), node.requested.get(name) + pod_request)
                }
            };
            if a != 0 {
                (alloc[i], req[i]) = (a, r);
            }
        }
        f(&req[..n], &alloc[..n])
    }
}

/// Requested and allocatable vectors for the scorer (zeros for skipped resources).
pub fn score_inputs(node: &NodeInfo, resources: &[ResourceSpec], pod_reqs: &[i64], use_requested: bool) -> (Vec<i64>, Vec<i64>) {
    let mut requested = vec![0; resources.len()];
    let mut allocatable = vec![0; resources.len()];
    for (i, spec) in resources.iter().enumerate() {
        let (alloc, req) = allocatable_and_requested(node, &spec.name, pod_reqs[i], use_requested);
        if alloc == 0 {
            continue;
        }
        allocatable[i] = alloc;
        requested[i] = req;
    }
    (requested, allocatable)
}
