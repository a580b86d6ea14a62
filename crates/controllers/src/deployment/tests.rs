use serde_json::{json, Value};

use super::*;

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "d-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        }
    })
}

/// The ReplicaSet a create action made, as the server would hold it once its pods run.
fn settled(rs: &Value, available: i64) -> Value {
    let mut rs = rs.clone();
    rs["metadata"]["uid"] = json!(format!("{}-uid", name(&rs)));
    rs["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    rs["status"] = json!({"replicas": available, "readyReplicas": available, "availableReplicas": available});
    rs
}

#[test]
fn first_sync_creates_a_replica_set_with_all_replicas() {
    let d = deployment(4, "a");
    let actions = plan(&d, &[], chrono::Utc::now());
    let Action::CreateReplicaSet(rs) = &actions[0] else { panic!("{actions:?}") };
    assert_eq!(rs["spec"]["replicas"], 4);
    assert_eq!(rs["metadata"]["annotations"][REVISION], "1");
    let hash = rs["spec"]["template"]["metadata"]["labels"][POD_TEMPLATE_HASH].as_str().unwrap();
    assert_eq!(name(rs), format!("web-{hash}"));
    assert_eq!(rs["spec"]["selector"]["matchLabels"][POD_TEMPLATE_HASH], hash);
    assert!(actions.iter().any(|a| matches!(a, Action::Event { message, .. } if message == &format!("Scaled up replica set web-{hash} from 0 to 4"))));
    assert!(actions.iter().any(|a| matches!(a, Action::Status(s) if s["conditions"][1]["reason"] == "NewReplicaSetCreated")));
}

#[test]
fn a_new_template_surges_then_scales_the_old_set_down_within_max_unavailable() {
    let d1 = deployment(4, "a");
    let Action::CreateReplicaSet(rs1) = &plan(&d1, &[], chrono::Utc::now())[0] else { panic!() };
    let old = settled(rs1, 4);
    let d2 = deployment(4, "b");
    let actions = plan(&d2, &[&old], chrono::Utc::now());
    // maxSurge 25% of 4 = 1: the new set starts at 1, revision 2.
    let Action::CreateReplicaSet(rs2) = &actions[0] else { panic!("{actions:?}") };
    assert_eq!(rs2["spec"]["replicas"], 1);
    assert_eq!(rs2["metadata"]["annotations"][REVISION], "2");
    // The new pod is not available yet: 5 pods, min available 3, new unavailable 1 → one old pod may go.
    let scaled_old: Vec<_> = actions.iter().filter_map(|a| match a {
        Action::PatchReplicaSet { name: n, patch } if n == name(&old) => patch["spec"]["replicas"].as_i64(),
        _ => None,
    }).collect();
    assert_eq!(scaled_old, vec![3]);
}

#[test]
fn scaling_with_one_active_set_resizes_it() {
    let d = deployment(3, "a");
    let Action::CreateReplicaSet(rs) = &plan(&d, &[], chrono::Utc::now())[0] else { panic!() };
    let rs = settled(rs, 3);
    let d10 = deployment(10, "a");
    let actions = plan(&d10, &[&rs], chrono::Utc::now());
    assert!(actions.iter().any(|a| matches!(a, Action::PatchReplicaSet { patch, .. } if patch["spec"]["replicas"] == 10)), "{actions:?}");
}

#[test]
fn template_hash_ignores_key_order() {
    let a = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
    let b = json!({"spec": {"x": 1}, "metadata": {"labels": {"b": "2", "a": "1"}}});
    assert_eq!(template_hash(&a, 0), template_hash(&b, 0));
    assert_ne!(template_hash(&a, 0), template_hash(&a, 1));
}
