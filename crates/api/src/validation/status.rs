//! Status-subresource validation of the workload controllers (replica counters).

use serde_json::Value;

use super::util::{get, int, nonneg, Errs, Path};
use crate::errors::FieldError;

fn status(o: &Value) -> Value {
    get(o, "status").cloned().unwrap_or_default()
}

/// Non-negative counters, then "cannot be greater than" ordering rules.
fn counters(st: &Value, fields: &[&str], greater: &[(&str, &str, &str)]) -> Errs {
    let p = Path::new("status");
    let mut errs: Errs = fields.iter().flat_map(|f| nonneg(int(st, f), &p.ch(f))).collect();
    for (small, big, msg) in greater {
        let (a, b) = (int(st, small).unwrap_or(0), int(st, big).unwrap_or(0));
        if a > b {
            errs.push(FieldError::invalid(p.ch(small), Value::from(a), *msg));
        }
    }
    errs
}

fn collision_count(new: &Value, old: &Value) -> Errs {
    let (n, o) = (int(&status(new), "collisionCount"), int(&status(old), "collisionCount"));
    let decremented = match (n, o) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a < b,
        _ => false,
    };
    if decremented {
        return vec![FieldError::invalid(Path::new("status").ch("collisionCount"), Value::from(n.unwrap_or(0)), "cannot be decremented")];
    }
    Vec::new()
}

const GT_REPLICAS: &str = "cannot be greater than status.replicas";

pub fn deployment_status(new: &Value, old: &Value) -> Errs {
    let fields = ["observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas", "collisionCount"];
    let rules = [
        ("updatedReplicas", "replicas", GT_REPLICAS),
        ("readyReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "readyReplicas", "cannot be greater than readyReplicas"),
    ];
    let mut errs = counters(&status(new), &fields, &rules);
    errs.extend(collision_count(new, old));
    errs
}

/// ReplicaSet and ReplicationController status.
pub fn replica_set_status(new: &Value, _old: &Value) -> Errs {
    let fields = ["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"];
    let rules = [
        ("fullyLabeledReplicas", "replicas", GT_REPLICAS),
        ("readyReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "readyReplicas", "cannot be greater than readyReplicas"),
    ];
    counters(&status(new), &fields, &rules)
}

pub fn stateful_set_status(new: &Value, old: &Value) -> Errs {
    let fields = ["replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas", "observedGeneration", "collisionCount"];
    let rules = [
        ("readyReplicas", "replicas", GT_REPLICAS),
        ("currentReplicas", "replicas", GT_REPLICAS),
        ("updatedReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "replicas", GT_REPLICAS),
        ("availableReplicas", "readyReplicas", "cannot be greater than status.readyReplicas"),
    ];
    let mut errs = counters(&status(new), &fields, &rules);
    errs.extend(collision_count(new, old));
    errs
}

pub fn daemon_set_status(new: &Value, old: &Value) -> Errs {
    let fields = [
        "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady", "observedGeneration",
        "updatedNumberScheduled", "numberAvailable", "numberUnavailable", "collisionCount",
    ];
    let mut errs = counters(&status(new), &fields, &[]);
    errs.extend(collision_count(new, old));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn negative_and_inconsistent_counters() {
        let new = json!({"status": {"replicas": 1, "updatedReplicas": -1, "readyReplicas": 2, "availableReplicas": 1, "collisionCount": 1}});
        let old = json!({"status": {"collisionCount": 2}});
        let m: Vec<String> = deployment_status(&new, &old).iter().map(|e| e.message()).collect();
        assert_eq!(m, vec![
            "status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0",
            "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
            "status.collisionCount: Invalid value: 1: cannot be decremented",
        ]);
        assert!(replica_set_status(&json!({"status": {"replicas": 2, "readyReplicas": 1}}), &json!({})).is_empty());
    }
}
