//! TaintToleration: filter out nodes with untolerated NoSchedule/NoExecute taints;
//! prefer nodes with fewer untolerated PreferNoSchedule taints.

use k8s_openapi::api::core::v1::{Pod, Toleration};

use crate::framework::{
    default_normalize_score, Code, CycleState, FilterPlugin, NodeScore, Plugin, ScorePlugin, Status, MAX_NODE_SCORE,
};
use crate::helpers::{find_untolerated, tolerations_tolerate};
use crate::snapshot::NodeInfo;

pub const NAME: &str = "TaintToleration";

#[derive(Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &'static str {
        NAME
    }
}

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec.as_ref().and_then(|s| s.tolerations.as_deref()).unwrap_or(&[])
}

impl FilterPlugin for TaintToleration {
    fn filter(&self, _: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        let taints = node.taints();
        let hard = |t: &k8s_openapi::api::core::v1::Taint| t.effect == "NoSchedule" || t.effect == "NoExecute";
        match find_untolerated(taints, tolerations(pod), hard) {
            None => Status::success(),
            Some(t) => Status::new(
                Code::UnschedulableAndUnresolvable,
                format!("node(s) had untolerated taint {{{}: {}}}", t.key, t.value.as_deref().unwrap_or("")),
            ),
        }
    }
}

impl ScorePlugin for TaintToleration {
    fn score(&self, _: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status> {
        let taints = node.taints();
        if taints.is_empty() {
            return Ok(0);
        }
        let prefer: Vec<Toleration> = tolerations(pod)
            .iter()
            .filter(|t| matches!(t.effect.as_deref(), None | Some("") | Some("PreferNoSchedule")))
            .cloned()
            .collect();
        let count = taints
            .iter()
            .filter(|t| t.effect == "PreferNoSchedule" && !tolerations_tolerate(&prefer, t))
            .count();
        Ok(count as i64)
    }

    fn normalize_score(&self, _: &CycleState, _: &Pod, scores: &mut [NodeScore]) {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
    }
}
