//! One scheduling attempt: PreFilter → Filter → (PostFilter on failure) → PreScore →
//! Score → NormalizeScore → select host (upstream `schedulePod`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use crate::fit_error::{Diagnosis, FitError};
use crate::framework::{
    num_feasible_nodes_to_find, run_filter_list, Code, CycleState, NodeScore, PostFilterResult, Profile, Status, MAX_NODE_SCORE,
    MIN_NODE_SCORE,
};
use crate::snapshot::{pod_key, NodeInfo, Snapshot};

/// PreFilter outcome: the candidate node names (`None` = all) and the plugins that
/// narrowed them; or the rejecting status and those plugins.
type PreFilterOutcome = Result<(Option<BTreeSet<String>>, BTreeSet<String>), (Status, BTreeSet<String>)>;

/// Picks a node for the pod or explains why none fits. `tie_break` chooses among nodes
/// sharing the top score (upstream picks at random): index `tie_break % ties`.
#[allow(clippy::result_large_err)]
pub fn schedule(pod: &Pod, snapshot: &Snapshot, profile: &Profile, tie_break: u64) -> Result<String, FitError> {
    let mut state = CycleState::default();
    let fit_error = |diagnosis| FitError {
        pod: pod_key(pod),
        num_all_nodes: snapshot.nodes.len(),
        diagnosis,
        post_filter_result: None,
    };
    if snapshot.nodes.is_empty() {
        return Err(fit_error(Diagnosis::default()));
    }
    let (feasible, diagnosis) = find_nodes_that_fit(&mut state, pod, snapshot, profile);
    match feasible.len() {
        0 => {
            let mut err = fit_error(diagnosis);
            let (result, msg) = run_post_filter(&state, pod, snapshot, profile, &err.diagnosis);
            err.diagnosis.post_filter_msg = msg;
            err.post_filter_result = result;
            Err(err)
        }
        1 => Ok(feasible[0].name().to_string()),
        _ => {
            let scores = prioritize_nodes(&mut state, pod, snapshot, &feasible, profile);
            Ok(select_host(&scores, tie_break))
        }
    }
}

/// Whether a PreFilter narrowed the candidates.
fn merge_names(acc: Option<BTreeSet<String>>, r: Option<BTreeSet<String>>) -> Option<BTreeSet<String>> {
    match (acc, r) {
        (None, r) => r,
        (a, None) => a,
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
    }
}

/// Runs PreFilter plugins; `Err` carries the rejecting status and the plugins involved.
fn run_pre_filter(
    state: &mut CycleState,
    pod: &Pod,
    snapshot: &Snapshot,
    profile: &Profile,
) -> PreFilterOutcome {
    let mut result: Option<BTreeSet<String>> = None;
    let mut with_nodes: BTreeSet<String> = BTreeSet::new();
    let mut rejected: Option<Status> = None;
    for pl in &profile.pre_filter {
        let (r, mut st) = pl.pre_filter(state, pod, snapshot);
        if st.is_skip() {
            state.skip_filter_plugins.insert(pl.name());
            continue;
        }
        if !st.is_success() {
            st.plugin = pl.name().to_string();
            if st.code == Code::Unschedulable {
                // Keep going so later PreFilters still run (preemption needs their state).
                rejected.get_or_insert(st);
                continue;
            }
            return Err((st, with_nodes));
        }
        if r.is_some() {
            with_nodes.insert(pl.name().to_string());
        }
        result = merge_names(result, r);
        if result.as_ref().is_some_and(|s| s.is_empty()) {
            let list: Vec<&str> = with_nodes.iter().map(String::as_str).collect();
            let msg = if list.len() == 1 {
                format!("node(s) didn't satisfy plugin {}", list[0])
            } else {
                format!("node(s) didn't satisfy plugin(s) [{}] simultaneously", list.join(" "))
            };
            return Err((Status::new(Code::UnschedulableAndUnresolvable, msg), with_nodes));
        }
    }
    match rejected {
        Some(st) => Err((st, with_nodes)),
        None => Ok((result, with_nodes)),
    }
}

/// PreFilter + Filter over the snapshot: the feasible nodes and the diagnosis of the rest.
pub fn find_nodes_that_fit<'a>(
    state: &mut CycleState,
    pod: &Pod,
    snapshot: &'a Snapshot,
    profile: &Profile,
) -> (Vec<&'a NodeInfo>, Diagnosis) {
    let mut diagnosis = Diagnosis::default();
    let names = match run_pre_filter(state, pod, snapshot, profile) {
        Err((st, plugins)) => {
            diagnosis.unschedulable_plugins = plugins;
            if !st.plugin.is_empty() {
                diagnosis.unschedulable_plugins.insert(st.plugin.clone());
            }
            diagnosis.pre_filter_msg = st.message();
            diagnosis.absent_nodes_status = Some(st);
            return (Vec::new(), diagnosis);
        }
        Ok((names, plugins)) => {
            if names.is_some() {
                let list: Vec<&str> = plugins.iter().map(String::as_str).collect();
                let msg = format!("node(s) didn't satisfy plugin(s) [{}]", list.join(" "));
                diagnosis.absent_nodes_status = Some(Status::new(Code::UnschedulableAndUnresolvable, msg));
            }
            diagnosis.unschedulable_plugins = plugins;
            names
        }
    };
    if let Some(node) = nominated_node_fits(state, pod, snapshot, profile, names.as_ref()) {
        return (vec![node], diagnosis);
    }
    // Candidates as positions in the snapshot, in snapshot order.
    let narrowed: Option<Vec<usize>> = names.as_ref().map(|set| {
        let mut idx: Vec<usize> = set.iter().filter_map(|n| snapshot.index_of(n)).collect();
        idx.sort_unstable();
        idx
    });
    let count = narrowed.as_ref().map_or(snapshot.nodes.len(), Vec::len);
    // Upstream searches a sample of large clusters, starting where the previous cycle
    // stopped so that every node gets its turn.
    let want = num_feasible_nodes_to_find(profile.percentage_of_nodes_to_score, count);
    let start = profile.start_node_index();
    let filters = profile.active_filters(state);
    let mut feasible = Vec::new();
    let mut processed = 0;
    for i in 0..count {
        if feasible.len() >= want {
            break;
        }
        let at = (start + i) % count;
        let node = &snapshot.nodes[narrowed.as_ref().map_or(at, |v| v[at])];
        processed += 1;
        let st = run_filter_list(&filters, state, pod, node);
        if st.is_success() {
            feasible.push(node);
        } else {
            diagnosis.unschedulable_plugins.insert(st.plugin.clone());
            diagnosis.node_to_status.insert(node.name().to_string(), st);
        }
    }
    if !snapshot.nodes.is_empty() {
        profile.set_start_node_index((start + processed) % snapshot.nodes.len());
    }
    (feasible, diagnosis)
}

/// A node nominated by an earlier preemption is tried first and taken if it fits.
fn nominated_node_fits<'a>(
    state: &CycleState,
    pod: &Pod,
    snapshot: &'a Snapshot,
    profile: &Profile,
    names: Option<&BTreeSet<String>>,
) -> Option<&'a NodeInfo> {
    let nominated = pod.status.as_ref()?.nominated_node_name.as_deref().filter(|n| !n.is_empty())?;
    if names.is_some_and(|s| !s.contains(nominated)) {
        return None;
    }
    let node = snapshot.get(nominated)?;
    profile.run_filters(state, pod, node).is_success().then_some(node)
}

/// PreScore + Score + NormalizeScore + weights: the total score per feasible node.
pub fn prioritize_nodes(
    state: &mut CycleState,
    pod: &Pod,
    snapshot: &Snapshot,
    nodes: &[&NodeInfo],
    profile: &Profile,
) -> Vec<NodeScore> {
    for (pl, _) in &profile.score {
        if pl.pre_score(state, pod, nodes, snapshot).is_skip() {
            state.skip_score_plugins.insert(pl.name());
        }
    }
    let mut totals = vec![0i64; nodes.len()];
    // One scratch list, names filled once, reused by every plugin.
    let mut scores: Vec<NodeScore> = nodes.iter().map(|n| NodeScore { name: n.shared_name().clone(), score: 0 }).collect();
    for (pl, weight) in &profile.score {
        if state.skip_score_plugins.contains(pl.name()) {
            continue;
        }
        pl.score_nodes(state, pod, nodes, &mut scores);
        pl.normalize_score(state, pod, &mut scores);
        for (total, s) in totals.iter_mut().zip(&scores) {
            *total += s.score.clamp(MIN_NODE_SCORE, MAX_NODE_SCORE) * weight;
        }
    }
    for (s, total) in scores.iter_mut().zip(totals) {
        s.score = total;
    }
    scores
}

/// The highest-scoring node; ties broken by `tie_break` over the tied nodes in order.
pub fn select_host(scores: &[NodeScore], tie_break: u64) -> String {
    let Some(best) = scores.iter().map(|s| s.score).max() else { return String::new() };
    let tied = || scores.iter().filter(|s| s.score == best);
    let pick = (tie_break % tied().count() as u64) as usize;
    tied().nth(pick).map_or_else(String::new, |s| s.name.to_string())
}

/// Runs PostFilter plugins until one succeeds; returns its result and the message.
fn run_post_filter(
    state: &CycleState,
    pod: &Pod,
    snapshot: &Snapshot,
    profile: &Profile,
    diagnosis: &Diagnosis,
) -> (Option<PostFilterResult>, String) {
    let mut reasons = Vec::new();
    let mut result = None;
    for pl in &profile.post_filter {
        let (r, st) = pl.post_filter(state, pod, snapshot, profile, diagnosis);
        if st.is_success() || st.code == Code::UnschedulableAndUnresolvable || !st.is_rejected() {
            return (r.or(result), st.message());
        }
        if r.is_some() {
            result = r;
        }
        reasons.extend(st.reasons);
    }
    (result, reasons.join(", "))
}
