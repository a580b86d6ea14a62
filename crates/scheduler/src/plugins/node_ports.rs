//! NodePorts: a pod's host ports must be free on the node.

use k8s_openapi::api::core::v1::Pod;

use crate::framework::{Code, CycleState, FilterPlugin, Plugin, PreFilterPlugin, PreFilterResult, Status};
use crate::snapshot::{pod_host_ports, HostPort, NodeInfo, Snapshot};

pub const NAME: &str = "NodePorts";
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";
const STATE_KEY: &str = "PreFilterNodePorts";

#[derive(Debug, Default)]
pub struct NodePorts;

impl Plugin for NodePorts {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl PreFilterPlugin for NodePorts {
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, _: &Snapshot) -> (PreFilterResult, Status) {
        let ports = pod_host_ports(pod);
        if ports.is_empty() {
            return (None, Status::skip());
        }
        state.write(STATE_KEY, ports);
        (None, Status::success())
    }
}

impl FilterPlugin for NodePorts {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let computed;
        let wanted: &Vec<HostPort> = match state.read(STATE_KEY) {
            Some(w) => w,
            None => {
                computed = pod_host_ports(pod);
                &computed
            }
        };
        if wanted.iter().any(|w| node.used_ports.iter().any(|u| u.conflicts(w))) {
            Status::new(Code::Unschedulable, ERR_REASON)
        } else {
            Status::success()
        }
    }
}
