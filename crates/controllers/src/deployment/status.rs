//! A Deployment's status: replica counts summed over its ReplicaSets and the
//! Available and Progressing conditions, with upstream's reasons and messages.

use serde_json::{json, Value};

use super::rollout::{Action, Rs};

/// What this pass did that the Progressing condition reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    None,
    Created(String),
    Found(String),
}

fn condition(ty: &str, status: &str, reason: &str, message: String, now: &str) -> Value {
    json!({"type": ty, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

/// Upstream's SetDeploymentCondition: the same status and reason changes nothing; the
/// same status keeps its transition time.
fn set(conds: &mut Vec<Value>, mut c: Value) {
    if let Some(cur) = conds.iter().find(|x| x["type"] == c["type"]) {
        if cur["status"] == c["status"] && cur["reason"] == c["reason"] {
            return;
        }
        if cur["status"] == c["status"] {
            c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    conds.retain(|x| x["type"] != c["type"]);
    conds.push(c);
}

fn seconds_since(t: &Value, now: chrono::DateTime<chrono::Utc>) -> i64 {
    t.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| now.timestamp() - t.timestamp()).unwrap_or(0)
}

pub(super) fn update(d: &Value, owned: &[Rs], new_idx: Option<usize>, max_unavailable: i64, progress: Progress, now_t: chrono::DateTime<chrono::Utc>) -> Vec<Action> {
    let now = crate::runtime::rfc3339(now_t);
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let replicas: i64 = owned.iter().map(|r| r.status_replicas).sum();
    let updated = new_idx.map(|i| owned[i].status_replicas).unwrap_or(0);
    let ready: i64 = owned.iter().map(|r| r.ready).sum();
    let available: i64 = owned.iter().map(|r| r.available).sum();
    let old = &d["status"];
    let mut conds: Vec<Value> = old["conditions"].as_array().cloned().unwrap_or_default();
    if available >= want - max_unavailable {
        set(&mut conds, condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.".into(), &now));
    } else {
        set(&mut conds, condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.".into(), &now));
    }
    let progressing = conds.iter().find(|c| c["type"] == "Progressing").cloned();
    let reason = progressing.as_ref().and_then(|c| c["reason"].as_str()).unwrap_or("").to_string();
    let new_name = new_idx.map(|i| owned[i].name.clone()).unwrap_or_default();
    if d["spec"]["paused"] == true {
        if reason != "DeploymentPaused" {
            set(&mut conds, condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused".into(), &now));
        }
    } else if reason == "DeploymentPaused" {
        set(&mut conds, condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed".into(), &now));
    } else if let Some(deadline) = d["spec"]["progressDeadlineSeconds"].as_i64().filter(|s| *s < i32::MAX as i64).or(Some(600)) {
        let complete = updated == want && replicas == want && available == want;
        let moved = updated > old["updatedReplicas"].as_i64().unwrap_or(0)
            || (replicas - updated) < (old["replicas"].as_i64().unwrap_or(0) - old["updatedReplicas"].as_i64().unwrap_or(0))
            || ready > old["readyReplicas"].as_i64().unwrap_or(0)
            || available > old["availableReplicas"].as_i64().unwrap_or(0);
        match progress {
            Progress::Created(n) => {
                set(&mut conds, condition("Progressing", "True", "NewReplicaSetCreated", format!("Created new replica set \"{n}\""), &now))
            }
            Progress::Found(n) => set(&mut conds, condition("Progressing", "True", "FoundNewReplicaSet", format!("Found new replica set \"{n}\""), &now)),
            Progress::None if complete && !new_name.is_empty() => set(
                &mut conds,
                condition("Progressing", "True", "NewReplicaSetAvailable", format!("ReplicaSet \"{new_name}\" has successfully progressed."), &now),
            ),
            Progress::None if moved && !new_name.is_empty() => {
                let mut c = condition("Progressing", "True", "ReplicaSetUpdated", format!("ReplicaSet \"{new_name}\" is progressing."), &now);
                if let Some(cur) = progressing.as_ref().filter(|c| c["status"] == "True") {
                    c["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                }
                // Progress renews the deadline: replace, not merge.
                conds.retain(|x| x["type"] != "Progressing");
                conds.push(c);
            }
            Progress::None => {
                if let Some(cur) = &progressing {
                    let done = reason == "NewReplicaSetAvailable" || reason == "ProgressDeadlineExceeded";
                    if !done && !complete && seconds_since(&cur["lastUpdateTime"], now_t) > deadline {
                        set(
                            &mut conds,
                            condition("Progressing", "False", "ProgressDeadlineExceeded", format!("ReplicaSet \"{new_name}\" has timed out progressing."), &now),
                        );
                    }
                }
            }
        }
    }
    // Upstream lists Available before Progressing.
    conds.sort_by_key(|c| if c["type"] == "Available" { 0 } else { 1 });
    let nonzero = |n: i64| if n == 0 { Value::Null } else { json!(n) };
    let mut status = json!({
        "observedGeneration": d["metadata"]["generation"].as_i64().unwrap_or(0),
        "replicas": nonzero(replicas),
        "updatedReplicas": nonzero(updated),
        "readyReplicas": nonzero(ready),
        "availableReplicas": nonzero(available),
        "unavailableReplicas": nonzero((want - available).max(0)),
        "conditions": conds,
    });
    if let Some(c) = old.get("collisionCount") {
        status["collisionCount"] = c.clone();
    }
    let differs = status.as_object().unwrap().iter().any(|(k, v)| {
        let cur = old.get(k).cloned().unwrap_or(Value::Null);
        let cur = if cur == json!(0) { Value::Null } else { cur };
        cur != *v
    });
    if differs {
        vec![Action::Status(status)]
    } else {
        vec![]
    }
}
