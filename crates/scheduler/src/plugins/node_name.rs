//! NodeName: a pod that names a node only fits that node.

use k8s_openapi::api::core::v1::Pod;

use crate::framework::{Code, CycleState, FilterPlugin, Plugin, Status};
use crate::snapshot::NodeInfo;

pub const NAME: &str = "NodeName";
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

#[derive(Debug, Default)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &'static str {
        NAME
    }
}

impl FilterPlugin for NodeName {
    fn filter(&self, _: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        match pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            Some(n) if !n.is_empty() && n != node.name() => Status::new(Code::UnschedulableAndUnresolvable, ERR_REASON),
            _ => Status::success(),
        }
    }
}
