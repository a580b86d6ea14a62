//! The scheduling framework: statuses, cycle state, extension-point traits and profiles.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use crate::fit_error::Diagnosis;
use crate::snapshot::{NodeInfo, Snapshot};

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

/// Per-cycle data written by PreFilter/PreScore and read by Filter/Score.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn Any + Send + Sync>>,
    /// Filter plugins whose PreFilter returned `Skip`.
    pub skip_filter_plugins: BTreeSet<&'static str>,
    /// Score plugins whose PreScore returned `Skip`.
    pub skip_score_plugins: BTreeSet<&'static str>,
}

impl CycleState {
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }
    pub fn read<T: Any>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key).and_then(|b| b.downcast_ref::<T>())
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
    pub name: String,
    pub score: i64,
}

pub trait ScorePlugin: Plugin {
    /// Precomputation over the feasible nodes; `Skip` disables Score for this pod.
    fn pre_score(&self, _state: &mut CycleState, _pod: &Pod, _nodes: &[&NodeInfo]) -> Status {
        Status::success()
    }
    fn score(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Result<i64, Status>;
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
}

impl Profile {
    pub fn empty(scheduler_name: &str) -> Profile {
        Profile {
            scheduler_name: scheduler_name.to_string(),
            pre_filter: Vec::new(),
            filter: Vec::new(),
            post_filter: Vec::new(),
            score: Vec::new(),
        }
    }

    /// Runs the Filter plugins on one node, stopping at the first rejection.
    pub fn run_filters(&self, state: &CycleState, pod: &Pod, node: &NodeInfo) -> Status {
        for pl in &self.filter {
            if state.skip_filter_plugins.contains(pl.name()) {
                continue;
            }
            let mut st = pl.filter(state, pod, node);
            if !st.is_success() {
                st.plugin = pl.name().to_string();
                return st;
            }
        }
        Status::success()
    }
}
