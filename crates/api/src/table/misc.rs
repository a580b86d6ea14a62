//! Printers for admission, RBAC, certificates, coordination, scheduling, node,
//! flow control, apiserver-internal, DRA and storage-migration kinds.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::util::{
    age, arr, at, boolean, human_duration, int, len, list_with_more, name, opt_int, opt_s, s,
};

pub fn webhook_configuration(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), len(obj, "webhooks").into(), age(obj, now)]
}

fn param_kind(obj: &Value) -> Value {
    match at(obj, "spec.paramKind").filter(|v| v.is_object()) {
        Some(p) => format!("{}/{}", s(p, "apiVersion"), s(p, "kind")).into(),
        None => "<unset>".into(),
    }
}

pub fn validating_policy(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        len(obj, "spec.validations").into(),
        param_kind(obj),
        age(obj, now),
    ]
}

pub fn mutating_policy(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        len(obj, "spec.mutations").into(),
        param_kind(obj),
        age(obj, now),
    ]
}

/// The protobuf-style String() of a metav1.LabelSelector, as upstream prints it.
fn selector_debug_string(sel: &Value) -> String {
    let mut keys: Vec<(&String, &Value)> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let labels: String = keys
        .iter()
        .map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or("")))
        .collect();
    let exprs: String = arr(sel, "matchExpressions")
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr(e, "values").iter().filter_map(Value::as_str).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                s(e, "key"),
                s(e, "operator"),
                values.join(" ")
            )
        })
        .collect();
    format!("&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")
}

fn param_ref(obj: &Value) -> String {
    let Some(pr) = at(obj, "spec.paramRef").filter(|v| v.is_object()) else {
        return "<unset>".to_string();
    };
    let (ns, n) = (s(pr, "namespace"), s(pr, "name"));
    if !n.is_empty() {
        return if ns.is_empty() {
            format!("*/{n}")
        } else {
            format!("{ns}/{n}")
        };
    }
    match pr.get("selector").filter(|v| v.is_object()) {
        Some(sel) => selector_debug_string(sel),
        None => "<unset>".to_string(),
    }
}

pub fn policy_binding(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.policyName").into(),
        param_ref(obj).into(),
        age(obj, now),
    ]
}

/// Users, groups and service accounts ("ns/name") of a binding, each ", "-joined.
fn subjects(obj: &Value) -> [Value; 3] {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for sub in arr(obj, "subjects") {
        match s(sub, "kind") {
            "ServiceAccount" => sas.push(format!("{}/{}", s(sub, "namespace"), s(sub, "name"))),
            "User" => users.push(s(sub, "name").to_string()),
            "Group" => groups.push(s(sub, "name").to_string()),
            _ => {}
        }
    }
    [
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

pub fn role_binding(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let role = format!("{}/{}", s(obj, "roleRef.kind"), s(obj, "roleRef.name"));
    let mut row = vec![name(obj), role.into(), age(obj, now)];
    row.extend(subjects(obj));
    row
}

fn csr_condition(obj: &Value) -> String {
    let conds = arr(obj, "status.conditions");
    let has = |t: &str| conds.iter().any(|c| s(c, "type") == t);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !s(obj, "status.certificate").is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn none_or(v: &str) -> Value {
    Value::from(if v.is_empty() { "<none>" } else { v })
}

pub fn csr(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let duration = match opt_int(obj, "spec.expirationSeconds") {
        Some(secs) => human_duration(chrono::Duration::seconds(secs)),
        None => "<none>".to_string(),
    };
    vec![
        name(obj),
        age(obj, now),
        none_or(s(obj, "spec.signerName")),
        s(obj, "spec.username").into(),
        duration.into(),
        csr_condition(obj).into(),
    ]
}

pub fn cluster_trust_bundle(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), none_or(s(obj, "spec.signerName"))]
}

pub fn lease(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.holderIdentity").into(),
        age(obj, now),
    ]
}

pub fn lease_candidate(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.leaseName").into(),
        s(obj, "spec.binaryVersion").into(),
        s(obj, "spec.emulationVersion").into(),
        age(obj, now),
    ]
}

pub fn priority_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        int(obj, "value").into(),
        boolean(obj, "globalDefault").into(),
        age(obj, now),
        s(obj, "preemptionPolicy").into(),
    ]
}

pub fn runtime_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), s(obj, "handler").into(), age(obj, now)]
}

pub fn flow_schema(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let dangling = arr(obj, "status.conditions")
        .iter()
        .find(|c| s(c, "type") == "Dangling");
    vec![
        name(obj),
        s(obj, "spec.priorityLevelConfiguration.name").into(),
        int(obj, "spec.matchingPrecedence").into(),
        opt_s(obj, "spec.distinguisherMethod.type")
            .unwrap_or("<none>")
            .into(),
        age(obj, now),
        dangling.map_or("?", |c| s(c, "status")).into(),
    ]
}

pub fn priority_level(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let none = || Value::from("<none>");
    let mut limits = [none(), none(), none(), none()];
    if let Some(limited) = at(obj, "spec.limited").filter(|v| v.is_object()) {
        limits[0] = int(limited, "nominalConcurrencyShares").into();
        if let Some(q) = at(limited, "limitResponse.queuing").filter(|v| v.is_object()) {
            limits[1] = int(q, "queues").into();
            limits[2] = int(q, "handSize").into();
            limits[3] = int(q, "queueLengthLimit").into();
        }
    }
    let mut row = vec![name(obj), s(obj, "spec.type").into()];
    row.extend(limits);
    row.push(age(obj, now));
    row
}

pub fn storage_version(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let versions: Vec<String> = arr(obj, "status.storageVersions")
        .iter()
        .map(|v| format!("{}={}", s(v, "apiServerID"), s(v, "encodingVersion")))
        .collect();
    vec![
        name(obj),
        opt_s(obj, "status.commonEncodingVersion")
            .unwrap_or("<unset>")
            .into(),
        list_with_more(&versions, versions.len(), 3).into(),
        age(obj, now),
    ]
}

pub fn name_age(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), age(obj, now)]
}

fn claim_state(obj: &Value) -> String {
    let deleted = super::util::deleting(obj);
    let mut states = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if at(obj, "status.allocation").is_some_and(Value::is_object) {
        states.push("allocated");
        if !arr(obj, "status.reservedFor").is_empty() {
            states.push("reserved");
        }
    } else if !deleted {
        states.push("pending");
    }
    states.join(",")
}

pub fn resource_claim(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), claim_state(obj).into(), age(obj, now)]
}

pub fn resource_slice(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.nodeName").into(),
        s(obj, "spec.driver").into(),
        s(obj, "spec.pool.name").into(),
        age(obj, now),
    ]
}

pub fn storage_version_migration(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let r = at(obj, "spec.resource").unwrap_or(&Value::Null);
    vec![
        name(obj),
        format!("{}.{}.{}", s(r, "resource"), s(r, "version"), s(r, "group")).into(),
    ]
}
