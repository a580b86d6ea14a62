//! Pod status from what the agent observes: a pure function, so upstream's phase and
//! condition rules are tested without containers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{json, Value};

use crate::runtime::State;

/// What is known of one container of the pod.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The current instance: its state, id, restart count, image and image id.
    pub current: Option<Instance>,
    /// The instance before it (for lastState and `--previous`).
    pub previous: Option<Instance>,
    /// Why it is not running, when it is waiting (ContainerCreating, ErrImagePull,
    /// CrashLoopBackOff, …) and the message.
    pub waiting: Option<(String, String)>,
    /// Readiness probe result (None: no probe, ready once running).
    pub ready_probe: Option<bool>,
    /// Startup probe result (None: no probe, started once running).
    pub started_probe: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub restart_count: i32,
    pub state: State,
    pub image: String,
    pub image_id: String,
    /// The termination message (from terminationMessagePath or the log).
    pub message: Option<String>,
}

pub const CONTAINER_ID_PREFIX: &str = "runc://";

fn terminated(i: &Instance) -> Option<Value> {
    let State::Exited(rec) = &i.state else { return None };
    let reason = if rec.start_error.is_some() && rec.started_at.is_empty() {
        "StartError"
    } else if rec.oom_killed {
        "OOMKilled"
    } else if rec.start_error.is_some() {
        "ContainerStatusUnknown"
    } else if rec.exit_code == 0 {
        "Completed"
    } else {
        "Error"
    };
    let mut t = json!({
        "exitCode": rec.exit_code,
        "reason": reason,
        "startedAt": if rec.started_at.is_empty() { Value::Null } else { json!(rec.started_at) },
        "finishedAt": rec.finished_at,
        "containerID": format!("{CONTAINER_ID_PREFIX}{}", i.id),
    });
    if let Some(m) = i.message.clone().or_else(|| rec.start_error.clone()) {
        if !m.is_empty() {
            t["message"] = json!(m);
        }
    }
    Some(json!({"terminated": t}))
}

/// The containerStatuses entry of one container.
pub fn container_status(c: &Container, o: &Observed, _sidecar: bool) -> Value {
    let running = matches!(o.current.as_ref().map(|i| &i.state), Some(State::Running { .. }));
    let state = match (&o.waiting, &o.current) {
        (Some((reason, message)), _) => {
            let mut w = json!({"reason": reason});
            if !message.is_empty() {
                w["message"] = json!(message);
            }
            json!({"waiting": w})
        }
        (None, Some(i)) => match &i.state {
            State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            State::Created => json!({"waiting": {"reason": "ContainerCreating"}}),
            State::Exited(_) => terminated(i).unwrap_or_default(),
        },
        (None, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
    };
    let last = o.previous.as_ref().and_then(terminated).unwrap_or_else(|| json!({}));
    // A container whose current instance ended and is about to restart shows that end
    // as its last state.
    let last = match (&o.waiting, &o.current) {
        (Some(_), Some(i)) if matches!(i.state, State::Exited(_)) => terminated(i).unwrap_or(last),
        _ => last,
    };
    let started = running && o.started_probe.unwrap_or(true);
    let ready = running && started && o.ready_probe.unwrap_or(true);
    let current = o.current.as_ref();
    let mut s = json!({
        "name": c.name,
        "state": state,
        "lastState": last,
        "ready": ready,
        "restartCount": current.map(|i| i.restart_count).unwrap_or(0),
        "image": current.map(|i| i.image.clone()).unwrap_or_else(|| c.image.clone().unwrap_or_default()),
        "imageID": current.map(|i| i.image_id.clone()).unwrap_or_default(),
        "started": started,
    });
    if let Some(i) = current {
        s["containerID"] = json!(format!("{CONTAINER_ID_PREFIX}{}", i.id));
    }
    s
}

fn exited_code(o: &Observed) -> Option<i32> {
    match o.current.as_ref().map(|i| &i.state) {
        Some(State::Exited(rec)) => Some(rec.exit_code),
        _ => None,
    }
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// Inputs for the whole status.
pub struct PodView<'a> {
    pub pod: &'a Pod,
    pub observed: &'a BTreeMap<String, Observed>,
    pub sandbox_ready: bool,
    pub host_ip: Option<String>,
    pub pod_ips: Vec<String>,
    pub qos: &'a str,
    pub now: &'a str,
    /// Set when the agent decided the pod failed (activeDeadlineSeconds, …): reason, message.
    pub failed: Option<(String, String)>,
}

/// Upstream's phase rule (getPhase): init containers first, then app containers.
pub fn phase(pod: &Pod, observed: &BTreeMap<String, Observed>) -> &'static str {
    let spec = match &pod.spec {
        Some(s) => s,
        None => return "Pending",
    };
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let none = Observed::default();
    let get = |name: &str| observed.get(name).unwrap_or(&none);
    let (mut pending_init, mut failed_init) = (0, 0);
    for c in spec.init_containers.iter().flatten() {
        let o = get(&c.name);
        if is_sidecar(c) {
            if !matches!(o.current.as_ref().map(|i| &i.state), Some(State::Running { .. })) {
                pending_init += 1;
            }
            continue;
        }
        match exited_code(o) {
            Some(0) => {}
            Some(_) => {
                pending_init += 1;
                failed_init += 1;
            }
            None => pending_init += 1,
        }
    }
    if pending_init > 0 {
        return if failed_init > 0 && policy == "Never" { "Failed" } else { "Pending" };
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &spec.containers {
        let o = get(&c.name);
        match (&o.waiting, o.current.as_ref().map(|i| &i.state)) {
            (None, Some(State::Running { .. })) => running += 1,
            (None, Some(State::Exited(rec))) => {
                stopped += 1;
                if rec.exit_code == 0 {
                    succeeded += 1;
                }
            }
            // Waiting to restart after it ran: counts as stopped, as upstream does.
            (Some(_), Some(State::Exited(rec))) => {
                stopped += 1;
                if rec.exit_code == 0 {
                    succeeded += 1;
                }
            }
            _ => waiting += 1,
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped == 0 {
        return "Pending";
    }
    match policy {
        "Always" => "Running",
        "OnFailure" if stopped == succeeded => "Succeeded",
        "OnFailure" => "Running",
        _ if stopped == succeeded => "Succeeded",
        _ => "Failed",
    }
}

fn condition(existing: &[Value], ty: &str, status: bool, reason: Option<String>, message: Option<String>, now: &str) -> Value {
    let status = if status { "True" } else { "False" };
    let old = existing.iter().find(|c| c["type"] == ty);
    let since = match old {
        Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let mut c = json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// The pod's whole status as this node reports it.
pub fn pod_status(v: &PodView) -> Value {
    let pod = v.pod;
    let spec = pod.spec.clone().unwrap_or_default();
    let old_status = pod.status.clone().unwrap_or_default();
    let existing: Vec<Value> = old_status.conditions.iter().flatten().filter_map(|c| serde_json::to_value(c).ok()).collect();
    let none = Observed::default();
    let get = |name: &str| v.observed.get(name).unwrap_or(&none);
    let mut phase = phase(pod, v.observed);
    // A pod that finished stays finished (its containers will not run again).
    let old_phase = old_status.phase.as_deref().unwrap_or("");
    if matches!(old_phase, "Succeeded" | "Failed") {
        phase = if old_phase == "Succeeded" { "Succeeded" } else { "Failed" };
    }
    if v.failed.is_some() {
        phase = "Failed";
    }
    let terminal = matches!(phase, "Succeeded" | "Failed");

    let init_statuses: Vec<Value> = spec.init_containers.iter().flatten().map(|c| container_status(c, get(&c.name), is_sidecar(c))).collect();
    let mut statuses: Vec<Value> = spec.containers.iter().map(|c| container_status(c, get(&c.name), false)).collect();
    // While init containers run, app containers wait with PodInitializing.
    let incomplete_init: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| {
            let o = get(&c.name);
            if is_sidecar(c) {
                !matches!(o.current.as_ref().map(|i| &i.state), Some(State::Running { .. }))
            } else {
                exited_code(o) != Some(0)
            }
        })
        .map(|c| c.name.clone())
        .collect();
    if !incomplete_init.is_empty() {
        for s in statuses.iter_mut() {
            if s["state"]["waiting"]["reason"] == "ContainerCreating" {
                s["state"] = json!({"waiting": {"reason": "PodInitializing"}});
            }
        }
    }
    let unready: Vec<String> = statuses.iter().filter(|s| s["ready"] != true).filter_map(|s| s["name"].as_str().map(str::to_string)).collect();
    let unready_sidecars: Vec<String> = init_statuses
        .iter()
        .zip(spec.init_containers.iter().flatten())
        .filter(|(s, c)| is_sidecar(c) && s["ready"] != true)
        .map(|(_, c)| c.name.clone())
        .collect();
    let mut not_ready: Vec<String> = unready_sidecars;
    not_ready.extend(unready.iter().cloned());
    let now = v.now;
    let mut conditions = vec![condition(&existing, "PodReadyToStartContainers", v.sandbox_ready, None, None, now)];
    let init_done = incomplete_init.is_empty();
    conditions.push(condition(
        &existing,
        "Initialized",
        init_done || terminal && incomplete_init.is_empty(),
        (!init_done).then(|| "ContainersNotInitialized".into()),
        (!init_done).then(|| format!("containers with incomplete status: [{}]", incomplete_init.join(" "))),
        now,
    ));
    let ready = not_ready.is_empty() && !terminal;
    let gates: Vec<String> = spec.readiness_gates.iter().flatten().map(|g| g.condition_type.clone()).collect();
    let gates_ok = gates.iter().all(|g| existing.iter().any(|c| c["type"] == g.as_str() && c["status"] == "True"));
    let (reason, message) = if terminal {
        (Some("PodCompleted".to_string()), None)
    } else if !not_ready.is_empty() {
        (Some("ContainersNotReady".to_string()), Some(format!("containers with unready status: [{}]", not_ready.join(" "))))
    } else {
        (None, None)
    };
    conditions.push(condition(&existing, "ContainersReady", ready, reason.clone(), message.clone(), now));
    let (r2, m2) = if ready && !gates_ok {
        (Some("ReadinessGatesNotReady".to_string()), Some(format!("corresponding condition of pod readiness gate {:?} does not exist.", gates.join(", "))))
    } else {
        (reason, message)
    };
    conditions.push(condition(&existing, "Ready", ready && gates_ok, r2, m2, now));
    // Conditions others own (PodScheduled, DisruptionTarget, readiness gates) stay.
    let mine = ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"];
    for c in &existing {
        if !mine.contains(&c["type"].as_str().unwrap_or("")) {
            conditions.push(c.clone());
        }
    }
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "qosClass": v.qos,
        "containerStatuses": statuses,
        "startTime": old_status.start_time.as_ref().map(|t| json!(t)).unwrap_or_else(|| json!(now)),
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    if let Some(h) = &v.host_ip {
        status["hostIP"] = json!(h);
        status["hostIPs"] = json!([{"ip": h}]);
    }
    if let Some(first) = v.pod_ips.first() {
        status["podIP"] = json!(first);
        status["podIPs"] = json!(v.pod_ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>());
    }
    if let Some((reason, message)) = &v.failed {
        status["reason"] = json!(reason);
        status["message"] = json!(message);
    } else if let (Some(r), true) = (&old_status.reason, terminal) {
        status["reason"] = json!(r);
        if let Some(m) = &old_status.message {
            status["message"] = json!(m);
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::ExitRecord;

    fn pod(policy: &str, init: bool) -> Pod {
        let mut spec = json!({"restartPolicy": policy, "containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]});
        if init {
            spec["initContainers"] = json!([{"name": "init", "image": "i"}]);
        }
        serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": spec})).unwrap()
    }

    fn inst(state: State) -> Option<Instance> {
        Some(Instance { id: "x".into(), restart_count: 0, state, image: "i".into(), image_id: "sha256:1".into(), message: None })
    }

    fn running() -> Observed {
        Observed { current: inst(State::Running { started_at: "t".into() }), ..Default::default() }
    }

    fn exited(code: i32) -> Observed {
        let rec = ExitRecord { exit_code: code, finished_at: "t".into(), started_at: "s".into(), ..Default::default() };
        Observed { current: inst(State::Exited(rec)), ..Default::default() }
    }

    #[test]
    fn phases_follow_upstream() {
        let mut o = BTreeMap::new();
        assert_eq!(phase(&pod("Always", false), &o), "Pending");
        o.insert("a".to_string(), running());
        assert_eq!(phase(&pod("Always", false), &o), "Pending", "b still waits");
        o.insert("b".to_string(), running());
        assert_eq!(phase(&pod("Always", false), &o), "Running");
        o.insert("a".to_string(), exited(0));
        o.insert("b".to_string(), exited(1));
        assert_eq!(phase(&pod("Never", false), &o), "Failed");
        assert_eq!(phase(&pod("OnFailure", false), &o), "Running");
        assert_eq!(phase(&pod("Always", false), &o), "Running");
        o.insert("b".to_string(), exited(0));
        assert_eq!(phase(&pod("Never", false), &o), "Succeeded");
        assert_eq!(phase(&pod("Never", true), &o), "Pending", "init not done");
        o.insert("init".to_string(), exited(2));
        assert_eq!(phase(&pod("Never", true), &o), "Failed");
        assert_eq!(phase(&pod("Always", true), &o), "Pending");
    }

    #[test]
    fn crash_loop_shows_waiting_with_last_state() {
        let c: Container = serde_json::from_value(json!({"name": "a", "image": "i"})).unwrap();
        let mut o = exited(1);
        o.waiting = Some(("CrashLoopBackOff".into(), "back-off 10s restarting failed container=a pod=p_default(u)".into()));
        let s = container_status(&c, &o, false);
        assert_eq!(s["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(s["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(s["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(s["ready"], false);
    }

    #[test]
    fn ready_conditions_and_pod_ips() {
        let p = pod("Always", true);
        let mut o = BTreeMap::new();
        o.insert("init".to_string(), exited(0));
        o.insert("a".to_string(), running());
        o.insert("b".to_string(), Observed { ready_probe: Some(false), ..running() });
        let v = PodView { pod: &p, observed: &o, sandbox_ready: true, host_ip: Some("10.0.0.1".into()), pod_ips: vec!["10.42.0.5".into()], qos: "BestEffort", now: "2026-11-23T00:00:00Z", failed: None };
        let s = pod_status(&v);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.42.0.5");
        let ready = s["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["message"], "containers with unready status: [b]");
        let init = s["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Initialized").unwrap();
        assert_eq!(init["status"], "True");
    }
}
