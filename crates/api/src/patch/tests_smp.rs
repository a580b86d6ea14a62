use serde_json::{json, Value};

use super::*;

pub(super) fn smp_in(group: &str, kind: &str, doc: Value, patch: Value) -> Result<Value, PatchError> {
    strategic_merge_patch(group, kind, &doc, patch.to_string().as_bytes())
}

pub(super) fn pod_patch(doc: Value, patch: Value) -> Value {
    smp_in("", "Pod", doc, patch).expect("patch applies")
}

pub(super) fn pod_with(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn changes_one_container_image_among_three() {
    let doc = pod_with(json!([
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "b:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "c", "image": "c:1"}
    ]));
    let out = pod_patch(doc.clone(), json!({"spec": {"containers": [{"name": "b", "image": "b:2"}]}}));
    let mut want = doc;
    want["spec"]["containers"][1]["image"] = json!("b:2");
    assert_eq!(out, want);
}

#[test]
fn adds_a_port_by_container_port() {
    let doc = pod_with(json!([{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 443, "name": "https"}]}]}});
    let out = pod_patch(doc.clone(), patch);
    // Upstream puts patch items that are new to the list ahead of server-only ones.
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 443, "name": "https"}, {"containerPort": 80, "name": "http"}])
    );
    // With $setElementOrder (as kubectl sends it) the requested order is kept.
    let patch = json!({"spec": {"containers": [{"name": "a",
        "$setElementOrder/ports": [{"containerPort": 80}, {"containerPort": 443}],
        "ports": [{"containerPort": 443, "name": "https"}]}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}])
    );
}

#[test]
fn updates_an_existing_port_in_place() {
    let doc = pod_with(json!([{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 90}]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 90, "protocol": "UDP"}]}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80}, {"containerPort": 90, "protocol": "UDP"}])
    );
}

#[test]
fn deletes_an_env_var_with_patch_delete() {
    let doc = pod_with(json!([{"name": "a", "env": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}
    ]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "env": [{"name": "B", "$patch": "delete"}]}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(
        out["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])
    );
}

#[test]
fn deleting_a_missing_item_is_a_no_op_and_removes_all_duplicates() {
    let doc = pod_with(json!([{"name": "a"}, {"name": "b"}, {"name": "a", "image": "dup"}]));
    // Upstream re-sorts by first position of each key, grouping duplicates.
    let out = pod_patch(doc.clone(), json!({"spec": {"containers": [{"name": "zz", "$patch": "delete"}]}}));
    assert_eq!(out["spec"]["containers"], json!([{"name": "a"}, {"name": "a", "image": "dup"}, {"name": "b"}]));
    let out = pod_patch(doc, json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}));
    assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));
}

#[test]
fn set_element_order_reorders_containers() {
    let doc = pod_with(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(names(&out["spec"]["containers"]), ["c", "a", "b"]);
    assert!(out["spec"].get("$setElementOrder/containers").is_none());
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    let doc = json!({"metadata": {"name": "d"}, "spec": {"replicas": 1,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let out = smp_in("apps", "Deployment", doc, patch).unwrap();
    assert_eq!(out["spec"], json!({"replicas": 1, "strategy": {"type": "Recreate"}}));
}

#[test]
fn retain_keys_in_a_volume_switches_the_source() {
    let doc = pod_with(json!([{"name": "a"}]));
    let mut doc = doc;
    doc["spec"]["volumes"] = json!([{"name": "v", "emptyDir": {}}, {"name": "w", "secret": {"secretName": "s"}}]);
    let patch = json!({"spec": {"volumes": [
        {"name": "v", "$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}}
    ]}});
    let out = pod_patch(doc, patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "secret": {"secretName": "s"}}])
    );
}

#[test]
fn retain_keys_errors() {
    let doc = json!({"spec": {"strategy": {"type": "RollingUpdate"}}});
    for patch in [
        json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
    ] {
        let err = smp_in("apps", "Deployment", doc.clone(), patch).unwrap_err();
        assert_eq!((err.http_code(), err.message().as_str()), (400, "invalid patch format of retainKeys"));
    }
}

#[test]
fn finalizers_merge_as_a_set() {
    let doc = json!({"metadata": {"name": "p", "finalizers": ["a", "b"]}});
    let out = smp_in("", "ConfigMap", doc.clone(), json!({"metadata": {"finalizers": ["b", "c"]}})).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let out = smp_in("", "ConfigMap", doc.clone(), json!({"metadata": {"finalizers": ["c"]}})).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}});
    let out = smp_in("", "ConfigMap", doc.clone(), patch).unwrap();
    assert_eq!(out["metadata"], json!({"name": "p", "finalizers": ["b"]}));
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["b", "a", "c"], "finalizers": ["c"]}});
    let out = smp_in("", "ConfigMap", doc, patch).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["b", "a", "c"]));
}

#[test]
fn null_deletes_labels() {
    let doc = json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}});
    let patch = json!({"metadata": {"labels": {"a": null, "c": "3", "zz": null}}});
    let out = smp_in("", "Pod", doc, patch).unwrap();
    assert_eq!(out["metadata"]["labels"], json!({"b": "2", "c": "3"}));
    let out = smp_in("", "Pod", out, json!({"metadata": {"labels": null}})).unwrap();
    assert_eq!(out["metadata"], json!({"name": "p"}));
}

#[test]
fn map_directives() {
    let doc = json!({"metadata": {"name": "p", "labels": {"a": "1"}, "annotations": {"x": "y"}}});
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "b": "2"}, "annotations": {"$patch": "delete"}}});
    let out = smp_in("", "Pod", doc, patch).unwrap();
    assert_eq!(out["metadata"], json!({"name": "p", "labels": {"b": "2"}, "annotations": {}}));
    let out = smp_in("", "Pod", json!({"a": 1}), json!({"$patch": "replace", "b": 2})).unwrap();
    assert_eq!(out, json!({"b": 2}));
}

#[test]
fn list_replace_directive() {
    let doc = pod_with(json!([{"name": "a", "image": "x"}, {"name": "b"}]));
    let patch = json!({"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "z"}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(out["spec"]["containers"], json!([{"name": "c", "image": "z"}]));
}

#[test]
fn untagged_lists_are_replaced() {
    let mut doc = pod_with(json!([{"name": "a", "args": ["x", "y"]}]));
    doc["spec"]["tolerations"] = json!([{"key": "k1", "operator": "Exists"}]);
    let patch = json!({"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}],
        "containers": [{"name": "a", "args": ["z"]}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(out["spec"]["tolerations"], json!([{"key": "k2", "operator": "Exists"}]));
    assert_eq!(out["spec"]["containers"][0]["args"], json!(["z"]));
}

#[test]
fn owner_references_merge_by_uid() {
    let doc = json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}});
    let patch = json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}});
    let out = smp_in("apps", "ReplicaSet", doc, patch).unwrap();
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}])
    );
}

#[test]
fn service_ports_and_node_conditions() {
    let doc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}});
    let out = smp_in("", "Service", doc, patch).unwrap();
    assert_eq!(out["spec"]["ports"], json!([{"port": 80, "targetPort": 9090}, {"port": 443}]));
    let doc = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}]}});
    let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let out = smp_in("", "Node", doc, patch).unwrap();
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}])
    );
}

#[test]
fn pod_templates_inside_workloads_merge() {
    let template = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
    let patch_tpl = json!({"spec": {"containers": [{"name": "b", "image": "2"}]}});
    let cases = [
        ("apps", "Deployment", json!({"spec": {"template": template}}), json!({"spec": {"template": patch_tpl}}), vec!["spec", "template"]),
        ("batch", "CronJob", json!({"spec": {"jobTemplate": {"spec": {"template": template}}}}),
            json!({"spec": {"jobTemplate": {"spec": {"template": patch_tpl}}}}), vec!["spec", "jobTemplate", "spec", "template"]),
        ("", "PodTemplate", json!({"template": template}), json!({"template": patch_tpl}), vec!["template"]),
    ];
    for (group, kind, doc, patch, path) in cases {
        let out = smp_in(group, kind, doc, patch).unwrap();
        let tpl = path.iter().fold(&out, |v, k| &v[*k]);
        assert_eq!(tpl["spec"]["containers"], json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]), "{kind}");
    }
}

#[test]
fn unknown_kinds_merge_maps_and_replace_lists() {
    let doc = json!({"spec": {"items": [{"name": "a"}], "m": {"x": 1, "y": 2}}});
    let patch = json!({"spec": {"items": [{"name": "b"}], "m": {"x": null, "z": 3, "w": {"$patch": "delete"}}}});
    let out = smp_in("example.com", "Widget", doc, patch).unwrap();
    assert_eq!(out, json!({"spec": {"items": [{"name": "b"}], "m": {"y": 2, "z": 3}}}));
}

#[test]
fn new_values_lose_nulls_and_directives() {
    let doc = pod_with(json!([{"name": "a"}]));
    let patch = json!({"spec": {"nodeSelector": {"a": "1", "b": null},
        "containers": [{"name": "n", "image": null, "env": [{"name": "E", "$patch": "delete"}]}]}});
    let out = pod_patch(doc, patch);
    assert_eq!(out["spec"]["nodeSelector"], json!({"a": "1"}));
    assert_eq!(out["spec"]["containers"], json!([{"name": "n", "env": [{"name": "E"}]}, {"name": "a"}]));
}

#[test]
fn pdb_selector_is_replaced() {
    let doc = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}});
    let patch = json!({"spec": {"selector": {"matchExpressions": []}}});
    let out = smp_in("policy", "PodDisruptionBudget", doc, patch).unwrap();
    assert_eq!(out["spec"], json!({"selector": {"matchExpressions": []}, "minAvailable": 1}));
}

#[test]
fn null_or_empty_patch_is_a_no_op() {
    let doc = pod_with(json!([{"name": "a"}]));
    assert_eq!(strategic_merge_patch("", "Pod", &doc, b"null").unwrap(), doc);
    assert_eq!(strategic_merge_patch("", "Pod", &doc, b"{}").unwrap(), doc);
}

#[test]
fn directive_maps_for_missing_keys_are_dropped() {
    // Upstream's removeDirectives: a new value carrying `$patch` is not added at all.
    let doc = json!({"metadata": {"name": "p"}});
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "a": "1"}}});
    assert_eq!(smp_in("", "Pod", doc.clone(), patch).unwrap(), doc);
    let patch = json!({"spec": {"containers": [{"name": "x", "$patch": "delete"}, {"name": "y"}]}});
    let out = smp_in("", "Pod", json!({"spec": {}}), patch).unwrap();
    assert_eq!(out, json!({"spec": {"containers": [{"name": "y"}]}}));
}
