//! DefaultPreemption (PostFilter): when no node fits, find a node where evicting
//! lower-priority pods makes room, and name those victims. PodDisruptionBudgets are not
//! considered yet.

use k8s_openapi::api::core::v1::Pod;

use crate::fit_error::Diagnosis;
use crate::framework::{Code, CycleState, Plugin, PostFilterPlugin, PostFilterResult, Profile, Status};
use crate::snapshot::{pod_key, pod_priority, NodeInfo, PodInfo, Snapshot};

pub const NAME: &str = "DefaultPreemption";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";

#[derive(Debug, Default)]
pub struct DefaultPreemption;

impl Plugin for DefaultPreemption {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// A node where preemption would let the pod fit, and the pods to evict there.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub node: String,
    pub victims: Vec<PodInfo>,
}

fn terminating_by_preemption(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        && pod.status.iter().flat_map(|s| s.conditions.iter().flatten()).any(|c| {
            c.type_ == "DisruptionTarget" && c.status == "True" && c.reason.as_deref() == Some("PreemptionByScheduler")
        })
}

/// Upstream `PodEligibleToPreemptOthers`: `Err(message)` when the pod may not preempt.
pub fn eligible_to_preempt(pod: &Pod, snapshot: &Snapshot, diagnosis: &Diagnosis) -> Result<(), String> {
    if pod.spec.as_ref().and_then(|s| s.preemption_policy.as_deref()) == Some("Never") {
        return Err("not eligible due to preemptionPolicy=Never.".into());
    }
    let Some(nominated) = pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).filter(|n| !n.is_empty())
    else {
        return Ok(());
    };
    if diagnosis.status_of(nominated).is_some_and(|s| s.code == Code::UnschedulableAndUnresolvable) {
        return Ok(());
    }
    let prio = pod_priority(pod);
    if let Some(node) = snapshot.get(nominated) {
        if node.pods.iter().any(|p| p.priority() < prio && terminating_by_preemption(&p.pod)) {
            return Err("not eligible due to a terminating pod on the nominated node.".into());
        }
    }
    Ok(())
}

/// Upstream `SelectVictimsOnNode` without PDBs: remove every lower-priority pod, check
/// the pod fits, then reprieve as many (most important first) as still allow it.
pub fn select_victims_on_node(state: &CycleState, pod: &Pod, node: &NodeInfo, profile: &Profile) -> Result<Vec<PodInfo>, Status> {
    let prio = pod_priority(pod);
    // Each node is evaluated on its own copy of the cycle state, which the PreFilter
    // extensions keep in step with the pods removed and re-added here.
    let mut state = state.clone();
    let mut trial = node.clone();
    let mut potential: Vec<PodInfo> = Vec::new();
    for p in node.pods.iter().filter(|p| p.priority() < prio) {
        if let Some(info) = trial.remove_pod(&pod_key(&p.pod)) {
            let st = profile.run_pre_filter_remove_pod(&mut state, pod, &info, &trial);
            if !st.is_success() {
                return Err(st);
            }
            potential.push(info);
        }
    }
    if potential.is_empty() {
        return Err(Status::new(Code::UnschedulableAndUnresolvable, NO_VICTIMS));
    }
    let st = profile.run_filters(&state, pod, &trial);
    if !st.is_success() {
        return Err(st);
    }
    // Most important first: higher priority wins (start time is not compared here).
    potential.sort_by_key(|p| std::cmp::Reverse(p.priority()));
    let mut victims = Vec::new();
    for p in potential {
        let key = pod_key(&p.pod);
        trial.add_pod_info(p.clone());
        let st = profile.run_pre_filter_add_pod(&mut state, pod, &p, &trial);
        if !st.is_success() {
            return Err(st);
        }
        if !profile.run_filters(&state, pod, &trial).is_success() {
            if let Some(removed) = trial.remove_pod(&key) {
                let st = profile.run_pre_filter_remove_pod(&mut state, pod, &removed, &trial);
                if !st.is_success() {
                    return Err(st);
                }
            }
            victims.push(p);
        }
    }
    Ok(victims)
}

/// Orders candidates as upstream's `pickOneNodeForPreemption` (without PDB and start
/// time criteria): lowest highest-victim priority, lowest priority sum, fewest victims.
pub fn pick_candidate(candidates: &[Candidate]) -> Option<&Candidate> {
    let key = |c: &Candidate| {
        let highest = c.victims.iter().map(|v| v.priority()).max().unwrap_or(i32::MIN);
        let sum: i64 = c.victims.iter().map(|v| i64::from(v.priority()) + i64::from(i32::MAX) + 1).sum();
        (highest, sum, c.victims.len())
    };
    candidates.iter().min_by_key(|c| key(c))
}

fn not_helpful(num_all_nodes: usize, node_to_status: Diagnosis) -> String {
    let mut d = node_to_status;
    d.absent_nodes_status = Some(Status::new(Code::UnschedulableAndUnresolvable, NOT_HELPFUL));
    d.render(num_all_nodes)
}

impl PostFilterPlugin for DefaultPreemption {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        profile: &Profile,
        diagnosis: &Diagnosis,
    ) -> (Option<PostFilterResult>, Status) {
        if let Err(msg) = eligible_to_preempt(pod, snapshot, diagnosis) {
            return (None, Status::new(Code::Unschedulable, format!("preemption: {msg}")));
        }
        let mut statuses = Diagnosis::default();
        let mut candidates = Vec::new();
        for node in &snapshot.nodes {
            let resolvable = diagnosis.status_of(node.name()).is_some_and(|s| s.code != Code::UnschedulableAndUnresolvable);
            if !resolvable {
                continue;
            }
            match select_victims_on_node(state, pod, node, profile) {
                Ok(victims) if !victims.is_empty() => candidates.push(Candidate { node: node.name().into(), victims }),
                Ok(_) => {}
                Err(st) => {
                    statuses.node_to_status.insert(node.name().into(), st);
                }
            }
        }
        let Some(best) = pick_candidate(&candidates) else {
            let msg = not_helpful(snapshot.nodes.len(), statuses);
            let cleared = PostFilterResult { nominated_node_name: Some(String::new()), victims: Vec::new() };
            return (Some(cleared), Status::new(Code::Unschedulable, format!("preemption: {msg}")));
        };
        let result = PostFilterResult {
            nominated_node_name: Some(best.node.clone()),
            victims: best.victims.iter().map(|v| pod_key(&v.pod)).collect(),
        };
        (Some(result), Status::success())
    }
}
