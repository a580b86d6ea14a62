//! The scheduling framework: statuses, cycle state, extension-point traits and profiles.

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::fit_error::Diagnosis;
use crate::snapshot::{NodeInfo, PodInfo, Snapshot};

/// The highest score a Score plugin may give after normalization.
pub const MAX_NODE_SCORE: i64 = 100;
/// The lowest score.
pub const MIN_NODE_SCORE: i64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Success,
    /// An internal error; scheduling of the pod is aborted.
    Error,
    /// The node does not fit now; preemption may help.
    Unschedulable,
    /// The node does not fit and preemption cannot change that.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod (PreFilter/PreScore).
    Skip,
}

/// A plugin's verdict with human-readable reasons (each counted in the FitError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    /// The plugin that produced it (set by the framework).
    pub plugin: String,
}

impl Status {
    pub fn success() -> Status {
        Status { code: Code::Success, reasons: Vec::new(), plugin: String::new() }
    }
    pub fn skip() -> Status {
        Status { code: Code::Skip, reasons: Vec::new(), plugin: String::new() }
    }
    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status { code, reasons: vec![reason.into()], plugin: String::new() }
    }
    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Status {
        Status { code, reasons, plugin: String::new() }
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }
    /// Reasons joined as upstream's `Status.Message()`.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// Data a plugin keeps in the CycleState. Cloneable because preemption evaluates each
/// candidate node on its own copy of the state (upstream `StateData.Clone`).
pub trait StateData: Any + Send + Sync {
    fn clone_data(&self) -> Box<dyn StateData>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Any + Clone + Send + Sync> StateData for T {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Per-cycle data written by PreFilter/PreScore and read by Filter/Score.
#[derive(Default)]
pub struct CycleState {
    /// A handful of entries read for every node: a short list found by key length and
    /// address (keys are string constants) beats hashing the key each time.
    data: Vec<(&'static str, Box<dyn StateData>)>,
    /// Filter plugins whose PreFilter returned `Skip`.
    pub skip_filter_plugins: BTreeSet<&'static str>,
    /// Score plugins whose PreScore returned `Skip`.
    pub skip_score_plugins: BTreeSet<&'static str>,
}

fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

impl CycleState {
    pub fn write<T: StateData>(&mut self, key: &'static str, value: T) {
        match self.data.iter_mut().find(|(k, _)| same_key(k, key)) {
            Some(entry) => entry.1 = Box::new(value),
            None => self.data.push((key, Box::new(value))),
        }
    }
    pub fn read<T: Any>(&self, key: &'static str) -> Option<&T> {
        let (_, b) = self.data.iter().find(|(k, _)| same_key(k, key))?;
        (**b).as_any().downcast_ref::<T>()
    }
    pub fn read_mut<T: Any>(&mut self, key: &'static str) -> Option<&mut T> {
        let (_, b) = self.data.iter_mut().find(|(k, _)| same_key(k, key))?;
        (**b).as_any_mut().downcast_mut::<T>()
    }
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            data: self.data.iter().map(|(k, v)| (*k, (**v).clone_data())).collect(),
            skip_filter_plugins: self.skip_filter_plugins.clone(),
            skip_score_plugins: self.skip_score_plugins.clone(),
        }
    }
}

pub trait Plugin: Send + Sync {
    fn name(&self) -> &'static str;
}

/// Restricts the candidate nodes (`Some(names)`) or rejects the pod outright.
pub type PreFilterResult = Option<BTreeSet<String>>;

pub trait PreFilterPlugin: Plugin {
    /// Returns `Skip` when the plugin's Filter has nothing to check for this pod.
    fn pre_filter(&self, state: &mut CycleState, pod: &Pod, snapshot: &Snapshot) -> (PreFilterResult, Status);

    /// PreFilterExtensions.AddPod: `added` now counts on `node` (preemption's what-if
    /// evaluation); plugins whose PreFilter state depends on other pods update it.
    fn add_pod(&self, _state: &mut CycleState, _pod: &Pod, _added: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }

    /// PreFilterExtensions.RemovePod: `removed` no longer counts on `node`.
    fn remove_pod(&self, _state: &mut CycleState, _pod: &Pod, _removed: &PodInfo, _node: &NodeInfo) -> Status {
        Status::success()
    }
}

pub trait FilterPlugin: Plugin {
    fn filter(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status;
}

/// What a PostFilter plugin (preemption) proposes when no node fits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFilterResult {
    /// The node the pod should be nominated to (`status.nominatedNodeName`).
    pub nominated_node_name: Option<String>,
    /// Pods (`namespace/name`) to evict so the nominated node fits.
    pub victims: Vec<String>,
}

pub trait PostFilterPlugin: Plugin {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &Pod,
        snapshot: &Snapshot,
        profile: &Profile,
        diagnosis: &Diagnosis,
    ) -> (Option<PostFilterResult>, Status);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeScore {
    /// Shared with the snapshot's node: a cycle scores hundreds of nodes, and copying
    /// each name into a fresh string cost more than some plugins' scoring.
    pub name: Arc<str>,
    pub score: i64,
}

pub trait ScorePlugin: Plugin {
    /// Precomputation over the feasible nodes (and, through the snapshot, the whole
    /// cluster); `Skip` disables Score for this pod.
    fn pre_score(&self, _state: &mut CycleState, _pod: &Pod, _nodes: &[&NodeInfo], _snapshot: &Snapshot) -> Status {
        Status::success()
    }
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status>;
    /// Scores every node of `nodes` into `scores` (same positions; a failed score counts
    /// 0). Plugins whose per-node work repeats per-cycle work (reading the cycle state,
    /// resolving names) override it to do that once; the scores must be those of `score`.
    fn score_nodes(&self, state: &CycleState, pod: &Pod, nodes: &[&NodeInfo], scores: &mut [NodeScore]) {
        for (s, n) in scores.iter_mut().zip(nodes) {
            s.score = self.score(state, pod, n).unwrap_or(0);
        }
    }
    /// NormalizeScore: brings raw scores into [0, MAX_NODE_SCORE].
    fn normalize_score(&self, _state: &CycleState, _pod: &Pod, _scores: &mut [NodeScore]) {}
}

/// Upstream's `DefaultNormalizeScore`: scale to `max` by the highest score, optionally
/// reversed (higher raw = worse).
pub fn default_normalize_score(max: i64, reverse: bool, scores: &mut [NodeScore]) {
    let highest = scores.iter().map(|s| s.score).max().unwrap_or(0).max(0);
    if highest == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| s.score = max);
        }
        return;
    }
    for s in scores.iter_mut() {
        let v = max * s.score / highest;
        s.score = if reverse { max - v } else { v };
    }
}

/// A scheduling profile: the scheduler name it serves and the enabled plugins per
/// extension point, in order.
#[derive(Clone)]
pub struct Profile {
    pub scheduler_name: String,
    pub pre_filter: Vec<Arc<dyn PreFilterPlugin>>,
    pub filter: Vec<Arc<dyn FilterPlugin>>,
    pub post_filter: Vec<Arc<dyn PostFilterPlugin>>,
    /// Score plugins with their weights.
    pub score: Vec<(Arc<dyn ScorePlugin>, i64)>,
    /// `percentageOfNodesToScore`: 0 picks upstream's adaptive percentage.
    pub percentage_of_nodes_to_score: i32,
    /// Where the next cycle starts looking for feasible nodes (upstream's
    /// `nextStartNodeIndex`), so every node gets examined across cycles when only a
    /// sample is searched. Lives with the profile because the profile outlives cycles.
    pub next_start_node_index: Arc<AtomicUsize>,
}

impl Profile {
    pub fn empty(scheduler_name: &str) -> Profile {
        Profile {
            scheduler_name: scheduler_name.to_string(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            score: Vec::new(),
            percentage_of_nodes_to_score: 0,
            next_start_node_index: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs the Filter plugins on one node, stopping at the first rejection.
    pub fn run_filters(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        run_filter_list(&self.active_filters(state), state, pod, node)
    }

    /// The Filter plugins whose PreFilter did not skip, in order.
    pub fn active_filters(&self, state: &CycleState) -> Vec<&dyn FilterPlugin> {
        let skipped = &state.skip_filter_plugins;
        self.filter.iter().filter(|pl| skipped.is_empty() || !skipped.contains(pl.name())).map(|pl| &**pl).collect()
    }

    /// Runs the PreFilter plugins' AddPod extensions (skipping plugins that skipped).
    pub fn run_pre_filter_add_pod(&self, state: &mut CycleState, pod: &Pod, added: &PodInfo, node: &NodeInfo) -> Status {
        for pl in &self.pre_filter {
            if state.skip_filter_plugins.contains(pl.name()) {
                continue;
            }
            let st = pl.add_pod(state, pod, added, node);
            if !st.is_success() {
                return st;
            }
        }
        Status::success()
    }

    /// Runs the PreFilter plugins' RemovePod extensions (skipping plugins that skipped).
    pub fn run_pre_filter_remove_pod(&self, state: &mut CycleState, pod: &Pod, removed: &PodInfo, node: &NodeInfo) -> Status {
        for pl in &self.pre_filter {
            if state.skip_filter_plugins.contains(pl.name()) {
                continue;
            }
            let st = pl.remove_pod(state, pod, removed, node);
            if !st.is_success() {
                return st;
            }
        }
        Status::success()
    }

    pub(crate) fn start_node_index(&self) -> usize {
        self.next_start_node_index.load(Ordering::Relaxed)
    }

    pub(crate) fn set_start_node_index(&self, i: usize) {
        self.next_start_node_index.store(i, Ordering::Relaxed);
    }
}

/// Runs the given Filter plugins on one node, stopping at the first rejection.
pub fn run_filter_list(filters: &[&dyn FilterPlugin], state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
    for pl in filters {
        let mut st = pl.filter(state, pod, node);
        if !st.is_success() {
            st.plugin = pl.name().to_string();
            return st;
        }
    }
    Status::success()
}

/// Upstream `minFeasibleNodesToFind`: below this many nodes all are searched.
pub const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
/// Upstream `minFeasibleNodesPercentageToFind`.
pub const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;

/// Upstream `numFeasibleNodesToFind`: how many feasible nodes to look for before
/// scoring. Large clusters search a sample (50% minus 1% per 125 nodes, at least 5%,
/// at least 100 nodes) unless a percentage is configured.
pub fn num_feasible_nodes_to_find(percentage: i32, num_all_nodes: usize) -> usize {
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut pct = i64::from(percentage);
    if pct == 0 {
        pct = (50 - num_all_nodes as i64 / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let n = (num_all_nodes as i64 * pct / 100) as usize;
    n.max(MIN_FEASIBLE_NODES_TO_FIND)
}
