//! The decision core of rkube's `default-scheduler`: the scheduling framework
//! (PreFilter, Filter, PostFilter, Score extension points), the in-tree plugins and one
//! scheduling attempt over a [`Snapshot`]. Pure: no I/O, no clocks, no randomness (the
//! caller passes a tie-break value). The shell watches pods and nodes, builds snapshots,
//! binds through `pods/binding`, records events and evicts preemption victims.

pub mod affinity_terms;
pub mod fit_error;
pub mod framework;
pub mod helpers;
pub mod index;
pub mod labels;
pub mod lean;
pub mod plugins;
pub mod quantity;
pub mod resource;
pub mod queue;
pub mod schedule;
pub mod shell;
pub mod snapshot;

#[cfg(test)]
mod testutil;
#[cfg(test)]
mod tests;

use k8s_openapi::api::core::v1::Pod;

pub use fit_error::{Diagnosis, FitError};
pub use framework::{Code, CycleState, NodeScore, PostFilterResult, Profile, Status};
pub use plugins::default_profile;
pub use schedule::{find_nodes_that_fit, prioritize_nodes, schedule, select_host};
pub use snapshot::{NodeInfo, PodInfo, Snapshot};

/// The name of the default scheduler and its profile.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Whether a pod is this scheduler's to place: its `spec.schedulerName` (defaulted to
/// `default-scheduler` when empty) names the profile.
pub fn responsible_for(pod: &Pod, scheduler_name: &str) -> bool {
    let name = pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).filter(|n| !n.is_empty());
    name.unwrap_or(DEFAULT_SCHEDULER_NAME) == scheduler_name
}

/// Whether a pod is waiting to be scheduled by `scheduler_name`: not bound, not
/// terminal, not being deleted, without scheduling gates, and ours.
pub fn needs_scheduling(pod: &Pod, scheduler_name: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return false };
    let bound = spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
    let terminal = matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"));
    let gated = spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty());
    !bound && !terminal && !gated && pod.metadata.deletion_timestamp.is_none() && responsible_for(pod, scheduler_name)
}
