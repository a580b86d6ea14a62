//! Workload printers: controllers, jobs, disruption budgets, autoscalers.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::util::{
    age, arr, at, bool_ptr, condition_true, containers, deleting, format_labels, format_selector,
    human_duration, int, len, name, opt_int, opt_s, parse_time, s, selector_string, since,
};

/// CONTAINERS, IMAGES (and optionally SELECTOR) appended to `row`.
fn with_template(
    mut row: Vec<Value>,
    obj: &Value,
    spec: &str,
    selector: Option<String>,
) -> Vec<Value> {
    let (names, images) = containers(obj, spec);
    row.push(names);
    row.push(images);
    if let Some(sel) = selector {
        row.push(sel.into());
    }
    row
}

pub fn pod_template(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) = containers(obj, "template.spec");
    vec![
        name(obj),
        names,
        images,
        format_labels(at(obj, "template.metadata.labels")).into(),
    ]
}

fn int_or_na(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(t)) => t.clone(),
        _ => "N/A".to_string(),
    }
}

pub fn pdb(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        int_or_na(at(obj, "spec.minAvailable")).into(),
        int_or_na(at(obj, "spec.maxUnavailable")).into(),
        int(obj, "status.disruptionsAllowed").into(),
        age(obj, now),
    ]
}

pub fn replication_controller(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let row = vec![
        name(obj),
        int(obj, "spec.replicas").into(),
        int(obj, "status.replicas").into(),
        int(obj, "status.readyReplicas").into(),
        age(obj, now),
    ];
    with_template(
        row,
        obj,
        "spec.template.spec",
        Some(format_labels(at(obj, "spec.selector"))),
    )
}

pub fn replica_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let row = vec![
        name(obj),
        int(obj, "spec.replicas").into(),
        int(obj, "status.replicas").into(),
        int(obj, "status.readyReplicas").into(),
        age(obj, now),
    ];
    with_template(
        row,
        obj,
        "spec.template.spec",
        Some(format_selector(at(obj, "spec.selector"))),
    )
}

pub fn daemon_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let row = vec![
        name(obj),
        int(obj, "status.desiredNumberScheduled").into(),
        int(obj, "status.currentNumberScheduled").into(),
        int(obj, "status.numberReady").into(),
        int(obj, "status.updatedNumberScheduled").into(),
        int(obj, "status.numberAvailable").into(),
        format_labels(at(obj, "spec.template.spec.nodeSelector")).into(),
        age(obj, now),
    ];
    with_template(
        row,
        obj,
        "spec.template.spec",
        Some(format_selector(at(obj, "spec.selector"))),
    )
}

pub fn stateful_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ready = format!(
        "{}/{}",
        int(obj, "status.readyReplicas"),
        int(obj, "spec.replicas")
    );
    with_template(
        vec![name(obj), ready.into(), age(obj, now)],
        obj,
        "spec.template.spec",
        None,
    )
}

pub fn deployment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ready = format!(
        "{}/{}",
        int(obj, "status.readyReplicas"),
        int(obj, "spec.replicas")
    );
    let row = vec![
        name(obj),
        ready.into(),
        int(obj, "status.updatedReplicas").into(),
        int(obj, "status.availableReplicas").into(),
        age(obj, now),
    ];
    let selector =
        selector_string(at(obj, "spec.selector")).unwrap_or_else(|()| "<invalid>".to_string());
    with_template(row, obj, "spec.template.spec", Some(selector))
}

fn job_completions(obj: &Value) -> String {
    let succeeded = int(obj, "status.succeeded");
    if let Some(c) = opt_int(obj, "spec.completions") {
        return format!("{succeeded}/{c}");
    }
    match opt_int(obj, "spec.parallelism").unwrap_or(0) {
        p if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    }
}

fn job_duration(obj: &Value, now: DateTime<Utc>) -> String {
    let Some(start) = parse_time(opt_s(obj, "status.startTime")) else {
        return String::new();
    };
    let end = parse_time(opt_s(obj, "status.completionTime")).unwrap_or(now);
    human_duration(end - start)
}

fn job_status(obj: &Value) -> &'static str {
    let conds = arr(obj, "status.conditions");
    if condition_true(conds, "Complete") {
        "Complete"
    } else if condition_true(conds, "Failed") {
        "Failed"
    } else if deleting(obj) {
        "Terminating"
    } else if condition_true(conds, "Suspended") {
        "Suspended"
    } else if condition_true(conds, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

pub fn job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let row = vec![
        name(obj),
        job_status(obj).into(),
        job_completions(obj).into(),
        job_duration(obj, now).into(),
        age(obj, now),
    ];
    with_template(
        row,
        obj,
        "spec.template.spec",
        Some(format_selector(at(obj, "spec.selector"))),
    )
}

pub fn cron_job(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last = match opt_s(obj, "status.lastScheduleTime") {
        Some(t) => since(Some(t), now),
        None => "<none>".to_string(),
    };
    let row = vec![
        name(obj),
        s(obj, "spec.schedule").into(),
        opt_s(obj, "spec.timeZone").unwrap_or("<none>").into(),
        bool_ptr(at(obj, "spec.suspend")).into(),
        len(obj, "status.active").into(),
        last.into(),
        age(obj, now),
    ];
    let selector = format_selector(at(obj, "spec.jobTemplate.spec.selector"));
    with_template(
        row,
        obj,
        "spec.jobTemplate.spec.template.spec",
        Some(selector),
    )
}

/// "kind.group/name" of the controlling owner, lower-cased; "<none>" without one.
fn controller_name(obj: &Value) -> String {
    let owners = arr(obj, "metadata.ownerReferences");
    let Some(owner) = owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let api_version = s(owner, "apiVersion");
    let group = match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    };
    let kind = s(owner, "kind");
    if group.is_empty() && kind.is_empty() {
        return s(owner, "name").to_string();
    }
    let gk = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    format!("{}/{}", gk.to_lowercase(), s(owner, "name"))
}

pub fn controller_revision(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        controller_name(obj).into(),
        int(obj, "revision").into(),
        age(obj, now),
    ]
}

pub fn scale(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        int(obj, "spec.replicas").into(),
        int(obj, "status.replicas").into(),
        age(obj, now),
    ]
}

pub fn hpa(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        s(obj, "spec.scaleTargetRef.kind"),
        s(obj, "spec.scaleTargetRef.name")
    );
    let min = opt_int(obj, "spec.minReplicas").map_or("<unset>".to_string(), |m| m.to_string());
    vec![
        name(obj),
        reference.into(),
        super::hpa::targets(obj).into(),
        min.into(),
        int(obj, "spec.maxReplicas").into(),
        int(obj, "status.currentReplicas").into(),
        age(obj, now),
    ]
}
