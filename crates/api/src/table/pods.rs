//! The Pod printer: READY, STATUS (with its reason precedence), RESTARTS, wide columns.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::util::{
    age, arr, at, condition_true, deleting, human_duration, name, none_if_empty, parse_time,
    row_condition, s,
};

/// Running totals while walking container statuses.
#[derive(Default)]
struct Tally {
    ready: i64,
    restarts: i64,
    last_restart: Option<DateTime<Utc>>,
}

impl Tally {
    fn add_restarts(&mut self, status: &Value) {
        self.restarts += status
            .get("restartCount")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        self.note_termination(status);
    }

    fn note_termination(&mut self, status: &Value) {
        let Some(term) = at(status, "lastState.terminated").filter(|t| t.is_object()) else {
            return;
        };
        let finished = parse_time(term.get("finishedAt").and_then(Value::as_str));
        if finished > self.last_restart {
            self.last_restart = finished;
        }
    }
}

fn restartable(spec: &Value, container: &str) -> bool {
    arr(spec, "initContainers")
        .iter()
        .find(|c| s(c, "name") == container)
        .is_some_and(|c| s(c, "restartPolicy") == "Always")
}

/// The reason a terminated container gives: its reason, else Signal:/ExitCode:.
fn terminated_reason(term: &Value, prefix: &str) -> String {
    let reason = s(term, "reason");
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = term.get("signal").and_then(Value::as_i64).unwrap_or(0);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!(
            "{prefix}ExitCode:{}",
            term.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
        )
    }
}

fn state<'a>(status: &'a Value, which: &str) -> Option<&'a Value> {
    status
        .get("state")
        .and_then(|st| st.get(which))
        .filter(|v| v.is_object())
}

/// Walks init container statuses; returns Some(reason) while the pod is initializing.
/// `restartable_tally` gets the restarts of restartable (sidecar) init containers only.
fn walk_init(pod: &Value, all: &mut Tally, restartable_tally: &mut Tally) -> Option<String> {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let total_init = arr(spec, "initContainers").len();
    for (i, c) in arr(pod, "status.initContainerStatuses").iter().enumerate() {
        let sidecar = restartable(spec, s(c, "name"));
        all.add_restarts(c);
        if sidecar {
            restartable_tally.add_restarts(c);
        }
        let terminated = state(c, "terminated");
        let exit_code = terminated
            .and_then(|t| t.get("exitCode"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if terminated.is_some() && exit_code == 0 {
            continue;
        }
        if sidecar && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                all.ready += 1;
            }
            continue;
        }
        return Some(init_reason(c, terminated, i, total_init));
    }
    None
}

fn init_reason(c: &Value, terminated: Option<&Value>, i: usize, total: usize) -> String {
    if let Some(term) = terminated {
        return terminated_reason(term, "Init:");
    }
    let waiting = state(c, "waiting").map(|w| s(w, "reason")).unwrap_or("");
    if !waiting.is_empty() && waiting != "PodInitializing" {
        return format!("Init:{waiting}");
    }
    format!("Init:{i}/{total}")
}

/// Walks app container statuses (last to first, so the first container wins).
fn walk_containers(pod: &Value, reason: &mut String, tally: &mut Tally) {
    let mut has_running = false;
    for c in arr(pod, "status.containerStatuses").iter().rev() {
        tally.add_restarts(c);
        let waiting = state(c, "waiting").map(|w| s(w, "reason")).unwrap_or("");
        if !waiting.is_empty() {
            *reason = waiting.to_string();
        } else if let Some(term) = state(c, "terminated") {
            *reason = terminated_reason(term, "");
        } else if c.get("ready").and_then(Value::as_bool) == Some(true)
            && state(c, "running").is_some()
        {
            has_running = true;
            tally.ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        let ready = condition_true(arr(pod, "status.conditions"), "Ready");
        *reason = if ready { "Running" } else { "NotReady" }.to_string();
    }
}

fn base_reason(pod: &Value) -> String {
    let mut reason = s(pod, "status.phase").to_string();
    if !s(pod, "status.reason").is_empty() {
        reason = s(pod, "status.reason").to_string();
    }
    let gated = arr(pod, "status.conditions")
        .iter()
        .any(|c| s(c, "type") == "PodScheduled" && s(c, "reason") == "SchedulingGated");
    if gated {
        reason = "SchedulingGated".to_string();
    }
    reason
}

fn initialized(pod: &Value) -> bool {
    arr(pod, "status.conditions")
        .iter()
        .find(|c| s(c, "type") == "Initialized")
        .is_some_and(|c| s(c, "status") == "True")
}

/// READY, STATUS and RESTARTS of a pod.
fn status_cells(pod: &Value, now: DateTime<Utc>) -> (String, String, String) {
    let mut reason = base_reason(pod);
    let mut all = Tally::default();
    let mut sidecars = Tally::default();
    let init = walk_init(pod, &mut all, &mut sidecars);
    let initializing = init.is_some();
    if let Some(r) = init {
        reason = r;
    }
    let mut tally = all;
    if !initializing || initialized(pod) {
        tally = Tally {
            ready: tally.ready,
            ..sidecars
        };
        walk_containers(pod, &mut reason, &mut tally);
    }
    let phase = s(pod, "status.phase");
    if deleting(pod) && s(pod, "status.reason") == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }
    let total = arr(pod, "spec.containers").len()
        + arr(pod, "spec.initContainers")
            .iter()
            .filter(|c| s(c, "restartPolicy") == "Always")
            .count();
    let restarts = match tally.last_restart {
        Some(t) if tally.restarts != 0 => {
            format!("{} ({} ago)", tally.restarts, human_duration(now - t))
        }
        _ => tally.restarts.to_string(),
    };
    (format!("{}/{}", tally.ready, total), reason, restarts)
}

fn pod_ip(pod: &Value) -> String {
    let first = arr(pod, "status.podIPs")
        .first()
        .map(|p| s(p, "ip"))
        .unwrap_or("");
    let ip = if first.is_empty() {
        s(pod, "status.podIP")
    } else {
        first
    };
    none_if_empty(ip.to_string())
}

fn readiness_gates(pod: &Value) -> String {
    let gates = arr(pod, "spec.readinessGates");
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conds = arr(pod, "status.conditions");
    let ok = gates
        .iter()
        .filter(|g| condition_true(conds, s(g, "conditionType")))
        .count();
    format!("{ok}/{}", gates.len())
}

pub fn pod(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (ready, status, restarts) = status_cells(obj, now);
    vec![
        name(obj),
        ready.into(),
        status.into(),
        restarts.into(),
        age(obj, now),
        pod_ip(obj).into(),
        none_if_empty(s(obj, "spec.nodeName").to_string()).into(),
        none_if_empty(s(obj, "status.nominatedNodeName").to_string()).into(),
        readiness_gates(obj).into(),
    ]
}

/// Row conditions upstream attaches to finished pods.
pub fn pod_conditions(obj: &Value) -> Option<Value> {
    match s(obj, "status.phase") {
        "Succeeded" => Some(row_condition(
            "Succeeded",
            "The pod has completed successfully.",
        )),
        "Failed" => Some(row_condition("Failed", "The pod failed.")),
        _ => None,
    }
}
