//! In-tree plugins and the default profile.

use std::sync::Arc;

use crate::framework::Profile;

pub mod balanced_allocation;
pub mod default_preemption;
pub mod fit;
pub mod inter_pod_affinity;
pub mod node_affinity;
pub mod node_name;
pub mod node_ports;
pub mod node_unschedulable;
pub mod pod_topology_spread;
pub mod resource_allocation;
pub mod taint_toleration;

pub use balanced_allocation::BalancedAllocation;
pub use default_preemption::DefaultPreemption;
pub use fit::Fit;
pub use inter_pod_affinity::InterPodAffinity;
pub use node_affinity::NodeAffinity;
pub use node_name::NodeName;
pub use node_ports::NodePorts;
pub use node_unschedulable::NodeUnschedulable;
pub use pod_topology_spread::PodTopologySpread;
pub use taint_toleration::TaintToleration;

/// The `default-scheduler` profile: upstream's default plugins in upstream's order and
/// score weights (TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1,
/// PodTopologySpread 2, InterPodAffinity 2, NodeResourcesBalancedAllocation 1). Volume
/// plugins and ImageLocality are not implemented yet.
pub fn default_profile() -> Profile {
    let mut p = Profile::empty(crate::DEFAULT_SCHEDULER_NAME);
    let unschedulable = Arc::new(NodeUnschedulable);
    let node_name = Arc::new(NodeName);
    let taints = Arc::new(TaintToleration);
    let affinity = Arc::new(NodeAffinity);
    let ports = Arc::new(NodePorts);
    let fit = Arc::new(Fit::default());
    let spread = Arc::new(PodTopologySpread::default());
    let inter_pod = Arc::new(InterPodAffinity::default());
    let balanced = Arc::new(BalancedAllocation::default());

    p.pre_filter.push(affinity.clone());
    p.pre_filter.push(ports.clone());
    p.pre_filter.push(fit.clone());
    p.pre_filter.push(spread.clone());
    p.pre_filter.push(inter_pod.clone());

    p.filter.push(unschedulable);
    p.filter.push(node_name);
    p.filter.push(taints.clone());
    p.filter.push(affinity.clone());
    p.filter.push(ports);
    p.filter.push(fit.clone());
    p.filter.push(spread.clone());
    p.filter.push(inter_pod.clone());

    p.post_filter.push(Arc::new(DefaultPreemption));

    p.score.push((taints, 3));
    p.score.push((affinity, 2));
    p.score.push((fit, 1));
    p.score.push((spread, 2));
    p.score.push((inter_pod, 2));
    p.score.push((balanced, 1));
    p
}
