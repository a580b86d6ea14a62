use serde_json::{json, Value};

use super::*;

fn deploy(image: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}}})
}

fn writer<'a>(manager: &'a str) -> Writer<'a> {
    Writer { manager, api_version: "apps/v1", subresource: "", now: "2026-01-01T00:00:00Z" }
}

#[test]
fn field_set_uses_keys_and_marks_maps() {
    let ctx = Ctx::new("apps", "v1", "Deployment");
    let mut m = Managed::default();
    m.update(&ctx, &writer("kubectl-create"), &json!({}), &deploy("nginx", 1));
    let f = m.encode()[0]["fieldsV1"].clone();
    assert_eq!(f["f:metadata"]["f:labels"], json!({".": {}, "f:app": {}}));
    let c = &f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
    assert_eq!(c["."], json!({}));
    assert_eq!(c["f:image"], json!({}));
    assert!(c["f:ports"].get("k:{\"containerPort\":80,\"protocol\":\"TCP\"}").is_some(), "{c}");
    assert!(f["f:spec"].get(".").is_none(), "structs are not members");
}

#[test]
fn apply_conflicts_then_forces() {
    let ctx = Ctx::new("apps", "v1", "Deployment");
    let mut m = Managed::default();
    let live = m.apply(&ctx, &writer("alice"), &json!({}), &deploy("nginx", 1), false).unwrap();
    let err = m.apply(&ctx, &writer("bob"), &live, &deploy("nginx", 3), false).unwrap_err();
    assert_eq!(conflict_message(&err), "Apply failed with 1 conflict: conflict with \"alice\" using apps/v1: .spec.replicas");
    let live = m.apply(&ctx, &writer("bob"), &live, &deploy("nginx", 3), true).unwrap();
    assert_eq!(live["spec"]["replicas"], 3);
    let alice = m.entries.iter().find(|e| e.manager == "alice").unwrap();
    assert!(!alice.fields.contains(&[fieldset::PathElement::Field("spec".into()), fieldset::PathElement::Field("replicas".into())]));
    // Same value: shared ownership, no conflict.
    m.apply(&ctx, &writer("carol"), &live, &deploy("nginx", 3), false).unwrap();
}

#[test]
fn fields_no_longer_applied_are_removed_unless_owned_by_others() {
    let ctx = Ctx::new("apps", "v1", "Deployment");
    let mut m = Managed::default();
    let mut cfg = deploy("nginx", 1);
    cfg["metadata"]["labels"]["tier"] = json!("front");
    cfg["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]);
    let live = m.apply(&ctx, &writer("alice"), &json!({}), &cfg, false).unwrap();
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    m.update(&ctx, &Writer { manager: "kubectl-scale", ..writer("") }, &live, &scaled);
    let mut next = deploy("nginx:2", 1);
    next["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    next["spec"].as_object_mut().unwrap().remove("replicas");
    let live = m.apply(&ctx, &writer("alice"), &scaled, &next, false).unwrap();
    assert_eq!(live["spec"]["replicas"], 5, "kept: owned by kubectl-scale");
    assert!(live["metadata"]["labels"].get("tier").is_none(), "removed: only alice had it");
    assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:2");
    assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["env"], json!([{"name": "A", "value": "1"}]));
}

#[test]
fn updates_take_changed_fields_from_others() {
    let ctx = Ctx::new("apps", "v1", "Deployment");
    let mut m = Managed::default();
    let live = deploy("nginx", 1);
    m.update(&ctx, &writer("kubectl-create"), &json!({}), &live);
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(2);
    m.update(&ctx, &writer("kubectl-edit"), &live, &edited);
    let enc = m.encode();
    assert_eq!(enc.as_array().unwrap().len(), 2);
    let edit = enc.as_array().unwrap().iter().find(|e| e["manager"] == "kubectl-edit").unwrap();
    assert_eq!(edit["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    let create = enc.as_array().unwrap().iter().find(|e| e["manager"] == "kubectl-create").unwrap();
    assert!(create["fieldsV1"]["f:spec"].get("f:replicas").is_none());
}
