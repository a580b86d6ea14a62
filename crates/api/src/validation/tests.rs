//! End-to-end tests of the public API: defaulting followed by validation.

use serde_json::{json, Value};

use super::*;

fn msgs(e: Vec<FieldError>) -> Vec<String> {
    e.iter().map(|e| e.message()).collect()
}

fn defaulted(group: &str, kind: &str, mut v: Value) -> Value {
    default_object(group, kind, &mut v);
    v
}

fn pod(spec: Value) -> Value {
    defaulted("", "Pod", json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec}))
}

#[test]
fn valid_pod_round_trip() {
    let p = pod(json!({"containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}],
        "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
        "readinessProbe": {"tcpSocket": {"port": 80}},
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data"}]}));
    assert_eq!(msgs(validate_create("", "Pod", true, &p)), Vec::<String>::new());
    assert_eq!(p["status"]["qosClass"], "Burstable");
}

#[test]
fn pod_errors() {
    let p = pod(json!({"containers": [{"name": "Web", "image": ""}, {"name": "Web", "image": "x"}], "restartPolicy": "Sometimes"}));
    let m = msgs(validate_create("", "Pod", true, &p));
    assert!(m[0].starts_with("spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label"));
    assert!(m.contains(&"spec.containers[0].image: Required value".to_string()));
    assert!(m.contains(&"spec.containers[1].name: Duplicate value: \"Web\"".to_string()));
    assert!(m.contains(&"spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"".to_string()));
    let empty = pod(json!({}));
    assert_eq!(msgs(validate_create("", "Pod", true, &empty)), vec!["spec.containers: Required value"]);
}

#[test]
fn pod_update_only_image() {
    let old = pod(json!({"containers": [{"name": "web", "image": "nginx:1"}]}));
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"a": "b"});
    new["spec"]["containers"][0]["image"] = json!("nginx:2");
    assert!(validate_update("", "Pod", true, &new, &old).is_empty());
    new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 81, "protocol": "TCP"}]);
    assert!(msgs(validate_update("", "Pod", true, &new, &old))[0].starts_with("spec: Forbidden: pod updates may not change fields other than"));
}

#[test]
fn deployment_end_to_end() {
    let d = defaulted("apps", "Deployment", json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}));
    assert!(validate_create("apps", "Deployment", true, &d).is_empty());
    let mut bad = d.clone();
    bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "x"});
    assert_eq!(msgs(validate_create("apps", "Deployment", true, &bad)),
        vec!["spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"]);
    let mut st = d.clone();
    st["status"] = json!({"observedGeneration": -1});
    assert_eq!(msgs(validate_status_update("apps", "Deployment", &st, &d)), vec!["status.observedGeneration: Invalid value: -1: must be greater than or equal to 0"]);
}

#[test]
fn name_validators_per_kind() {
    let ns = json!({"metadata": {"name": "a.b"}});
    assert_eq!(msgs(validate_create("", "Namespace", false, &ns)), vec!["metadata.name: Invalid value: \"a.b\": must not contain dots"]);
    let svc = defaulted("", "Service", json!({"metadata": {"name": "1svc", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}}));
    assert!(msgs(validate_create("", "Service", true, &svc))[0].starts_with("metadata.name: Invalid value: \"1svc\": a DNS-1035 label"));
    let role = json!({"metadata": {"name": "system:controller:x", "namespace": "d"}, "rules": []});
    assert!(validate_create(RBAC, "Role", true, &role).is_empty());
    let cr = json!({"metadata": {"name": "a/b"}, "rules": []});
    assert_eq!(msgs(validate_create(RBAC, "ClusterRole", false, &cr)), vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]);
    let unknown = json!({"metadata": {"name": "Bad", "namespace": "d", "finalizers": ["custom"]}});
    assert_eq!(msgs(validate_create("example.com", "Widget", true, &unknown)).len(), 1);
}

#[test]
fn config_objects() {
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a b": "x"}});
    assert!(msgs(validate_create("", "ConfigMap", true, &cm))[0].starts_with("data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    let sec = defaulted("", "Secret", json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "stringData": {"tls.crt": "x"}}));
    assert_eq!(msgs(validate_create("", "Secret", true, &sec)), vec!["data[tls.key]: Required value"]);
    let old = json!({"metadata": {"name": "c"}, "immutable": true, "data": {"a": "1"}});
    let new = json!({"metadata": {"name": "c"}, "immutable": false, "data": {"a": "1"}});
    assert_eq!(msgs(validate_update("", "ConfigMap", true, &new, &old)), vec!["immutable: Forbidden: field is immutable when `immutable` is set"]);
}

#[test]
fn jobs_and_cronjobs() {
    let j = defaulted("batch", "Job", json!({"metadata": {"name": "pi", "namespace": "d", "uid": "abc"}, "spec": {"template": {"spec": {
        "containers": [{"name": "pi", "image": "perl"}], "restartPolicy": "Never"}}}}));
    assert_eq!(msgs(validate_create("batch", "Job", true, &j)), Vec::<String>::new());
    let cj = defaulted("batch", "CronJob", json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "OnFailure"}}}}}}));
    assert_eq!(msgs(validate_create("batch", "CronJob", true, &cj)), vec!["spec.schedule: Required value"]);
}

#[test]
fn rbac_role_ref_is_immutable() {
    let old = defaulted(RBAC, "RoleBinding", json!({"metadata": {"name": "b", "namespace": "d"}, "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]}));
    assert!(validate_create(RBAC, "RoleBinding", true, &old).is_empty());
    let mut new = old.clone();
    new["roleRef"]["name"] = json!("r2");
    assert_eq!(msgs(validate_update(RBAC, "RoleBinding", true, &new, &old)).len(), 1);
}

#[test]
fn namespace_and_pvc_defaults() {
    let ns = defaulted("", "Namespace", json!({"metadata": {"name": "dev"}}));
    assert!(validate_create("", "Namespace", false, &ns).is_empty());
    let pvc = defaulted("", "PersistentVolumeClaim", json!({"metadata": {"name": "c", "namespace": "d"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert!(validate_create("", "PersistentVolumeClaim", true, &pvc).is_empty());
    let sc = defaulted("storage.k8s.io", "StorageClass", json!({"metadata": {"name": "fast"}, "provisioner": "kubernetes.io/no-provisioner"}));
    assert!(validate_create("storage.k8s.io", "StorageClass", false, &sc).is_empty());
}

#[test]
fn events_need_only_a_name() {
    let ev = json!({"metadata": {"namespace": "default"}, "involvedObject": {"namespace": "default"}});
    assert_eq!(msgs(validate_create("", "Event", true, &ev)), vec!["metadata.name: Required value: name or generateName is required"]);
}

#[test]
fn malformed_input_never_panics() {
    let samples = [
        json!({}),
        json!({"metadata": 5, "spec": "x", "status": []}),
        json!({"metadata": {"name": 3, "labels": {"a": 1}}, "spec": {"containers": ["x", 1, null], "volumes": [5, {"name": "v", "secret": "s"}],
            "template": {"spec": {"containers": [{"ports": ["p"], "env": [3]}]}}, "ports": [1, "x"], "selector": "x"},
            "data": {"k": 1}, "subsets": [1], "rules": [1], "subjects": [1], "roleRef": 1}),
        json!({"spec": {"replicas": "3", "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x%"}},
            "jobTemplate": {"spec": {"template": 1}}, "schedule": "@every", "limits": [{"type": "Container", "max": {"cpu": []}}],
            "hard": {"pods": {}}, "clusterIPs": [1], "type": "LoadBalancer", "metrics": [{"type": "é"}]}}),
    ];
    for r in RULES {
        for s in &samples {
            let mut v = s.clone();
            default_object(r.group, r.kind, &mut v);
            let _ = validate_create(r.group, r.kind, true, &v);
            let _ = validate_update(r.group, r.kind, true, &v, s);
            let _ = validate_status_update(r.group, r.kind, &v, s);
        }
    }
}
