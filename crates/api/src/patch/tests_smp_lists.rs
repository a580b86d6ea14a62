use serde_json::{json, Value};

use super::tests_smp::{pod_patch, pod_with, smp_in};
use super::*;

/// Containers named by `spec`: `"3=v"` is `{"name": "3", "value": "v"}`.
fn containers(spec: &[&str]) -> Value {
    spec.iter()
        .map(|s| match s.split_once('=') {
            Some((n, v)) => json!({"name": n, "image": v}),
            None => json!({"name": s}),
        })
        .collect()
}

fn order_patch(order: &[&str], items: &[&str]) -> Value {
    let order: Vec<Value> = order.iter().map(|n| json!({"name": n})).collect();
    json!({"spec": {"$setElementOrder/containers": order, "containers": containers(items)}})
}

fn err(group: &str, kind: &str, doc: Value, patch: Value) -> (u16, String) {
    let e = smp_in(group, kind, doc, patch).unwrap_err();
    (e.http_code(), e.message())
}

#[test]
fn set_element_order_with_server_only_items() {
    // Upstream's "set elements order in a list with server-only items" cases (3-way).
    let cases: [(&[&str], &[&str], &[&str]); 3] = [
        (&["1", "3=3", "4=4", "2=2", "9"], &["4", "2", "3", "1"], &["4=4", "2=2", "3=3", "1", "9"]),
        (&["1", "2=2", "9", "3=3", "4=4"], &["2", "1", "4", "3"], &["2=2", "1", "9", "4=4", "3=3"]),
        (&["1", "2=2", "7", "9", "8", "3=3", "4=4"], &["2", "1", "4", "3"], &["2=2", "1", "7", "9", "8", "4=4", "3=3"]),
    ];
    for (current, order, want) in cases {
        let out = pod_patch(pod_with(containers(current)), order_patch(order, &[]));
        assert_eq!(out["spec"]["containers"], containers(want), "{order:?}");
    }
}

#[test]
fn merge_list_order_follows_the_patch() {
    // Upstream's "preserve the order from the patch in a merging list" cases.
    let doc = pod_with(containers(&["1", "2=b", "3"]));
    let out = pod_patch(doc.clone(), json!({"spec": {"containers": containers(&["3=c", "1=a", "2"])}}));
    assert_eq!(out["spec"]["containers"], containers(&["3=c", "1=a", "2=b"]));
    let out = pod_patch(doc, json!({"spec": {"containers": containers(&["3=c", "1=a"])}}));
    assert_eq!(out["spec"]["containers"], containers(&["2=b", "3=c", "1=a"]));
}

#[test]
fn set_element_order_with_additions_and_deletions() {
    // "merge lists of maps": current [1, 2], add 4 and 3 around them.
    let doc = pod_with(containers(&["1=a", "2=b"]));
    let out = pod_patch(doc.clone(), order_patch(&["4", "1", "2", "3"], &["4=4", "3=3"]));
    assert_eq!(out["spec"]["containers"], containers(&["4=4", "1=a", "2=b", "3=3"]));
    // a deletion alongside the order list
    let mut patch = order_patch(&["2", "5"], &["5=5"]);
    patch["spec"]["containers"].as_array_mut().unwrap().push(json!({"name": "1", "$patch": "delete"}));
    let out = pod_patch(doc, patch);
    assert_eq!(out["spec"]["containers"], containers(&["2=b", "5=5"]));
}

#[test]
fn set_element_order_without_the_list_in_the_original() {
    let doc = json!({"spec": {}});
    let out = pod_patch(doc, order_patch(&["b", "a"], &["b=1", "a=2"]));
    assert_eq!(out["spec"]["containers"], containers(&["b=1", "a=2"]));
}

#[test]
fn set_element_order_must_match_the_patch_list() {
    let doc = pod_with(containers(&["1", "3", "2"]));
    let (code, msg) = err("", "Pod", doc, order_patch(&["1", "2", "3"], &["3=3", "1=1"]));
    assert_eq!(code, 500);
    assert_eq!(
        msg,
        "The order in patch list:\n[map[image:3 name:3] map[image:1 name:1]]\n doesn't match $setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n"
    );
}

#[test]
fn primitive_set_element_order() {
    let doc = json!({"metadata": {"finalizers": ["1", "2", "4"]}});
    let patch = json!({"metadata": {"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3"]}});
    let out = smp_in("", "Pod", doc, patch).unwrap();
    assert_eq!(out["metadata"]["finalizers"], json!(["1", "2", "3", "4"]));
}

#[test]
fn delete_from_primitive_list_edge_cases() {
    let doc = json!({"spec": {"podCIDRs": ["a", "b", "a"]}, "metadata": {"finalizers": null}});
    let patch = json!({"spec": {"$deleteFromPrimitiveList/podCIDRs": ["a"]},
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["x"], "$deleteFromPrimitiveList/other": ["x"]}});
    let out = smp_in("", "Node", doc, patch).unwrap();
    assert_eq!(out, json!({"spec": {"podCIDRs": ["b"]}, "metadata": {"finalizers": null}}));
    // Also works on lists without the merge strategy.
    let doc = pod_with(json!([{"name": "a", "args": ["1", "2", "3"]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "$deleteFromPrimitiveList/args": ["2"]}]}});
    assert_eq!(pod_patch(doc, patch)["spec"]["containers"][0]["args"], json!(["1", "3"]));
}

#[test]
fn malformed_directives() {
    let doc = pod_with(containers(&["a"]));
    let cases = [
        (json!({"spec": {"containers": [{"image": "x"}]}}), 500, "map: map[image:x] does not contain declared merge key: name"),
        (json!({"spec": {"containers": [{"name": "a", "$patch": "foo"}]}}), 500, "unknown patch type: foo in map: map[$patch:foo name:a]"),
        (json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}), 500, "merging lists cannot yet be specified in the patch"),
        (json!({"spec": {"containers": [{"$patch": "delete"}]}}), 500, "map: map[$patch:delete] does not contain declared merge key: name"),
        (json!({"spec": {"$patch": 5}}), 500, "unknown patch type: %!s(int64=5) in map: map[$patch:5]"),
        (json!({"spec": {"containers": ["a"]}}), 500, "list element types are not identical: [[map[name:a]] [a]]"),
        (json!({"spec": {"$setElementOrderX/containers": []}}), 400, "invalid patch format of setElementOrder list"),
        (json!({"spec": {"$deleteFromPrimitiveListX/args": []}}), 400, "invalid patch format of primitive list"),
        (json!({"spec": {"$setElementOrder/containers": "a"}}), 500, "expected a []interface {}, but received a string"),
    ];
    for (patch, code, msg) in cases {
        assert_eq!(err("", "Pod", doc.clone(), patch.clone()), (code, msg.to_string()), "{patch}");
    }
}

#[test]
fn lists_of_lists_are_422() {
    let (code, msg) = err("", "Pod", pod_with(json!([])), json!({"spec": {"containers": [["a"]]}}));
    assert_eq!((code, msg.as_str()), (422, GENERIC_UNPROCESSABLE_MESSAGE));
    let e = smp_in("", "Pod", pod_with(json!([])), json!({"spec": {"containers": [["a"]]}})).unwrap_err();
    assert_eq!(e.detail(), "lists of lists are not supported");
}

#[test]
fn undecodable_patches_are_400() {
    let doc = pod_with(containers(&["a"]));
    for (patch, msg) in [
        ("[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ("\"x\"", "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        ("{\"a\":", "unexpected end of JSON input"),
        ("{a}", "invalid character 'a' looking for beginning of object key string"),
    ] {
        let e = strategic_merge_patch("", "Pod", &doc, patch.as_bytes()).unwrap_err();
        assert_eq!((e.http_code(), e.message()), (400, msg.to_string()));
        assert_eq!(e.to_status()["reason"], "BadRequest");
    }
}

#[test]
fn internal_errors_have_no_reason() {
    let e = smp_in("", "Pod", pod_with(containers(&["a"])), json!({"spec": {"containers": [{"x": 1}]}})).unwrap_err();
    assert_eq!(e.reason(), "");
    let status = e.to_status();
    assert!(status.get("reason").is_none());
    assert_eq!(status["code"], 500);
}

#[test]
fn list_merge_keys_from_the_type_graph() {
    let cases: [(&str, &str, &[&str], Option<&str>); 12] = [
        ("", "Pod", &["spec", "containers"], Some("name")),
        ("", "Pod", &["spec", "containers", "ports"], Some("containerPort")),
        ("", "Pod", &["spec", "initContainers", "env"], Some("name")),
        ("", "Pod", &["spec", "containers", "volumeMounts"], Some("mountPath")),
        ("", "Pod", &["spec", "volumes"], Some("name")),
        ("", "Pod", &["spec", "tolerations"], None),
        ("", "Pod", &["metadata", "ownerReferences"], Some("uid")),
        ("", "Pod", &["metadata", "finalizers"], None),
        ("apps", "Deployment", &["spec", "template", "spec", "containers"], Some("name")),
        ("apps", "Deployment", &["status", "conditions"], Some("type")),
        ("", "Service", &["spec", "ports"], Some("port")),
        ("example.com", "Widget", &["spec", "items"], None),
    ];
    for (group, kind, path, want) in cases {
        assert_eq!(list_merge_key(group, kind, path), want, "{kind} {path:?}");
    }
    let finalizers = field_meta("", "Namespace", &["metadata", "finalizers"]).unwrap();
    assert_eq!((finalizers.strategy, finalizers.merge_key), (Strategy::Merge, None));
    assert!(field_meta("", "Namespace", &["spec", "finalizers"]).is_none());
    let strategy = field_meta("apps", "Deployment", &["spec", "strategy"]).unwrap();
    assert_eq!(strategy.strategy, Strategy::RetainKeys);
    assert_eq!(list_merge_key("batch", "CronJob", &["spec", "jobTemplate", "spec", "template", "spec", "imagePullSecrets"]), Some("name"));
    assert_eq!(list_merge_key("", "Node", &["status", "addresses"]), Some("type"));
    assert_eq!(list_merge_key("apiregistration.k8s.io", "APIService", &["status", "conditions"]), Some("type"));
}
