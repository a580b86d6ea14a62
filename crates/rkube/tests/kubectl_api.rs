//! The API server through stock kubectl: a real `rkube server` per test.

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

const MANIFEST: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: demo}
data: {password: aHVudGVyMg==}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa1, namespace: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: busybox, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: demo}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: sa1, namespace: demo}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: demo}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox, command: [date]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: demo}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: demo}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
"#;

fn configmap(name: &str, ns: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{k: v}}\n")
}

#[test]
fn version_and_api_resources() {
    let s = TestServer::start(BIN);
    let v: Value = serde_json::from_str(&s.ok(&["version", "-o", "json"])).unwrap();
    assert_eq!(v["serverVersion"]["major"], "1");
    assert_eq!(v["serverVersion"]["minor"], "33");
    let res = s.ok(&["api-resources"]);
    for (name, short) in [("pods", "po"), ("deployments", "deploy"), ("services", "svc"), ("cronjobs", "cj"), ("horizontalpodautoscalers", "hpa")] {
        let line = res.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name} missing:\n{res}"));
        assert!(line.split_whitespace().any(|w| w == short), "{name} lacks short name {short}: {line}");
    }
    assert!(res.contains("flowcontrol.apiserver.k8s.io/v1"));
    let ns = s.ok(&["get", "namespaces", "-o", "name"]);
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.contains(&format!("namespace/{n}")), "{ns}");
    }
    let svc = s.ok(&["get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"]);
    assert_eq!(svc, "10.43.0.1");
}

#[test]
fn apply_twice_reports_unchanged() {
    // No controllers: their status writes (the disruption controller's on the PDB)
    // would move the resourceVersions this test compares.
    let s = TestServer::start_with(BIN, &["--disable-controller-manager"]);
    let first = s.ok_stdin(&["apply", "-f", "-"], Some(MANIFEST));
    assert_eq!(first.matches(" created").count(), 11, "{first}");
    let pdb_rv = s.ok(&["get", "pdb", "web", "-n", "demo", "-o", "jsonpath={.metadata.resourceVersion}"]);
    let second = s.ok_stdin(&["apply", "-f", "-"], Some(MANIFEST));
    assert_eq!(second.matches(" unchanged").count(), 10, "{second}");
    // As against upstream: a PDB's selector has patchStrategy "replace", so kubectl
    // always sends it and says "configured"; the object itself must not change.
    assert!(second.contains("poddisruptionbudget.policy/web configured"), "{second}");
    let pdb_rv_after = s.ok(&["get", "pdb", "web", "-n", "demo", "-o", "jsonpath={.metadata.resourceVersion}"]);
    assert_eq!(pdb_rv, pdb_rv_after, "a no-op patch must not bump resourceVersion");
    let deploy = s.ok(&["get", "deploy", "web", "-n", "demo", "-o", "json"]);
    let d: Value = serde_json::from_str(&deploy).unwrap();
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["metadata"]["generation"], 1);
}

#[test]
fn get_formats_selectors_and_chunks() {
    let s = TestServer::start(BIN);
    s.ok(&["create", "namespace", "sel"]);
    for i in 1..=5 {
        s.ok_stdin(&["apply", "-f", "-"], Some(&configmap(&format!("c{i}"), "sel")));
    }
    s.ok(&["label", "cm", "c1", "c2", "c3", "-n", "sel", "tier=a"]);
    s.ok(&["label", "cm", "c3", "-n", "sel", "env=prod"]);
    let names = s.ok(&["get", "cm", "-n", "sel", "-l", "tier in (a),env notin (prod)", "-o", "name"]);
    assert_eq!(names, "configmap/c1\nconfigmap/c2\n");
    let names = s.ok(&["get", "cm", "-n", "sel", "--field-selector", "metadata.name!=c1", "-o", "name"]);
    assert!(!names.contains("c1\n") && names.contains("c5"), "{names}");
    let chunked = s.ok(&["get", "cm", "-n", "sel", "--chunk-size=2", "-o", "name"]);
    assert_eq!(chunked.lines().filter(|l| l.starts_with("configmap/c")).count(), 5, "{chunked}");
    let wide = s.ok(&["get", "cm", "-n", "sel", "-o", "wide"]);
    assert!(wide.starts_with("NAME") && wide.contains("DATA"), "{wide}");
    let all = s.ok(&["get", "cm", "-A", "--no-headers"]);
    assert!(all.lines().count() >= 5);
    let jp = s.ok(&["get", "cm", "c1", "-n", "sel", "-o", "jsonpath={.metadata.labels.tier}"]);
    assert_eq!(jp, "a");
    let cc = s.ok(&["get", "cm", "-n", "sel", "-o", "custom-columns=N:.metadata.name,K:.data.k", "--no-headers"]);
    assert!(cc.lines().next().unwrap().split_whitespace().eq(["c1", "v"]), "{cc}");
    let yaml = s.ok(&["get", "cm", "c2", "-n", "sel", "-o", "yaml"]);
    assert!(yaml.contains("tier: a") && yaml.contains("resourceVersion:"), "{yaml}");
    let err = s.fails(&["get", "pods", "--field-selector", "spec.bogus=x"], None);
    assert!(err.contains("spec.bogus"), "{err}");
}

#[test]
fn watch_sees_added_modified_deleted() {
    let s = TestServer::start(BIN);
    let mut watch = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(["get", "cm", "-n", "default", "-w", "--output-watch-events", "--request-timeout=20s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    s.ok_stdin(&["apply", "-f", "-"], Some(&configmap("w1", "default")));
    s.ok(&["label", "cm", "w1", "x=y"]);
    s.ok(&["delete", "cm", "w1"]);
    std::thread::sleep(std::time::Duration::from_millis(800));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let events: Vec<&str> =
        text.lines().filter(|l| l.contains(" w1 ")).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(events, ["ADDED", "MODIFIED", "DELETED"], "{text}");
}

#[test]
fn label_annotate_scale() {
    let s = TestServer::start(BIN);
    s.ok_stdin(&["apply", "-f", "-"], Some(MANIFEST));
    s.ok(&["annotate", "deploy", "web", "-n", "demo", "note=hello"]);
    s.ok(&["label", "deploy", "web", "-n", "demo", "team=a"]);
    s.ok(&["scale", "deploy", "web", "-n", "demo", "--replicas=4"]);
    let d: Value = serde_json::from_str(&s.ok(&["get", "deploy", "web", "-n", "demo", "-o", "json"])).unwrap();
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["generation"], 2, "scaling changes the spec");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");
    assert_eq!(d["metadata"]["labels"]["team"], "a");
    let scale = s.ok(&["get", "--raw", "/apis/apps/v1/namespaces/demo/deployments/web/scale"]);
    let scale: Value = serde_json::from_str(&scale).unwrap();
    assert_eq!((scale["kind"].as_str(), scale["spec"]["replicas"].as_i64()), (Some("Scale"), Some(4)));
    assert_eq!(scale["status"]["selector"], "app=web");
}

#[test]
fn finalizer_holds_deletion_until_removed() {
    let s = TestServer::start(BIN);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: default, finalizers: [example.com/hold]}\n";
    s.ok_stdin(&["apply", "-f", "-"], Some(cm));
    s.ok(&["delete", "cm", "held", "--wait=false"]);
    let ts = s.ok(&["get", "cm", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"]);
    assert!(!ts.is_empty(), "deletionTimestamp set");
    s.ok(&["patch", "cm", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    let err = s.fails(&["get", "cm", "held"], None);
    assert!(err.contains(r#"configmaps "held" not found"#), "{err}");
}

#[test]
fn bad_input_fails_with_upstream_messages_and_stores_nothing() {
    let s = TestServer::start(BIN);
    s.ok_stdin(&["create", "-f", "-"], Some(&configmap("dup", "default")));
    let err = s.fails(&["create", "-f", "-"], Some(&configmap("dup", "default")));
    assert!(err.contains(r#"configmaps "dup" already exists"#), "{err}");
    let err = s.fails(&["create", "-f", "-"], Some(&configmap("Bad_Name", "default")));
    assert!(err.contains(r#"ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#), "{err}");
    let err = s.fails(&["create", "-f", "-"], Some("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  bad: [\n"));
    assert!(err.contains("error converting YAML to JSON"), "{err}");
    let err = s.fails(&["create", "-f", "-"], Some(&configmap("lost", "nope")));
    assert!(err.contains(r#"namespaces "nope" not found"#), "{err}");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {containers: [{name: c}]}\n";
    let err = s.fails(&["create", "-f", "-"], Some(pod));
    assert!(err.contains(r#"Pod "p" is invalid"#) && err.contains("spec.containers[0].image: Required value"), "{err}");
    let names = s.ok(&["get", "cm,pods", "-o", "name"]);
    assert!(!names.contains("Bad_Name") && !names.contains("pod/p") && names.contains("configmap/dup"), "{names}");
    let err = s.fails(&["create", "-f", "-", "--dry-run=server"], Some(&configmap("dup", "default")));
    assert!(err.contains("already exists"), "{err}");
    s.ok_stdin(&["create", "-f", "-", "--dry-run=server"], Some(&configmap("ghost", "default")));
    assert!(s.fails(&["get", "cm", "ghost"], None).contains("not found"));
}

#[test]
fn state_and_certificates_survive_restart() {
    let mut s = TestServer::start(BIN);
    s.ok_stdin(&["apply", "-f", "-"], Some(&configmap("kept", "default")));
    let before = std::fs::read_to_string(s.data_dir().join("tls/ca.crt")).unwrap();
    s.restart();
    assert_eq!(before, std::fs::read_to_string(s.data_dir().join("tls/ca.crt")).unwrap());
    assert_eq!(s.ok(&["get", "cm", "kept", "-o", "jsonpath={.data.k}"]), "v");
}

#[test]
fn deleting_a_namespace_empties_it_then_removes_it() {
    let s = TestServer::start(BIN);
    s.ok_stdin(&["apply", "-f", "-"], Some(MANIFEST));
    s.ok(&["delete", "namespace", "demo", "--timeout=20s"]);
    let err = s.fails(&["get", "namespace", "demo"], None);
    assert!(err.contains(r#"namespaces "demo" not found"#), "{err}");
    let left = s.ok(&["get", "cm,deploy,svc,secrets", "-n", "demo", "-o", "name"]);
    assert!(left.is_empty(), "{left}");
}

#[test]
fn terminating_namespace_refuses_new_objects() {
    let s = TestServer::start(BIN);
    let held = "apiVersion: v1\nkind: Namespace\nmetadata: {name: going}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: going, finalizers: [example.com/hold]}\n";
    s.ok_stdin(&["apply", "-f", "-"], Some(held));
    s.ok(&["delete", "namespace", "going", "--wait=false"]);
    let err = s.fails(&["create", "-f", "-"], Some(&configmap("late", "going")));
    assert!(err.contains("unable to create new content in namespace going because it is being terminated"), "{err}");
    s.ok(&["patch", "cm", "held", "-n", "going", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    s.ok(&["wait", "--for=delete", "namespace/going", "--timeout=20s"]);
}

#[test]
fn kubectl_typed_creates_send_protobuf_and_work() {
    let s = TestServer::start(BIN);
    s.ok(&["create", "namespace", "pb"]);
    s.ok(&["create", "configmap", "x", "-n", "pb", "--from-literal=a=b"]);
    s.ok(&["create", "secret", "generic", "s", "-n", "pb", "--from-literal=p=q"]);
    s.ok(&["create", "deployment", "web", "-n", "pb", "--image=busybox", "--replicas=3"]);
    s.ok(&["create", "service", "clusterip", "web", "-n", "pb", "--tcp=80:8080"]);
    assert_eq!(s.ok(&["get", "cm", "x", "-n", "pb", "-o", "jsonpath={.data.a}"]), "b");
    assert_eq!(s.ok(&["get", "secret", "s", "-n", "pb", "-o", "jsonpath={.data.p}"]), "cQ==");
    let d: Value = serde_json::from_str(&s.ok(&["get", "deploy", "web", "-n", "pb", "-o", "json"])).unwrap();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "busybox");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
    let svc: Value = serde_json::from_str(&s.ok(&["get", "svc", "web", "-n", "pb", "-o", "json"])).unwrap();
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    s.ok(&["delete", "deploy", "web", "-n", "pb"]);
    s.fails(&["get", "deploy", "web", "-n", "pb"], None);
    // stringData is write-only: merged into data, as upstream.
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: sd, namespace: pb}\nstringData: {password: hunter2}\n";
    s.ok_stdin(&["apply", "-f", "-"], Some(secret));
    let got: Value = serde_json::from_str(&s.ok(&["get", "secret", "sd", "-n", "pb", "-o", "json"])).unwrap();
    assert_eq!(got["data"]["password"], "aHVudGVyMg==");
    assert!(got.get("stringData").is_none());
}

#[test]
fn services_get_cluster_ips_and_node_ports_that_survive_restart() {
    let mut s = TestServer::start(BIN);
    s.ok(&["create", "service", "clusterip", "a", "--tcp=80:8080"]);
    s.ok(&["create", "service", "nodeport", "b", "--tcp=80:8080", "--node-port=30080"]);
    let a: Value = serde_json::from_str(&s.ok(&["get", "svc", "a", "-o", "json"])).unwrap();
    let ip = a["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.43.") && ip != "10.43.0.1", "{ip}");
    assert_eq!(a["spec"]["clusterIPs"], serde_json::json!([ip]));
    assert_eq!(a["spec"]["ipFamilies"], serde_json::json!(["IPv4"]));
    let err = s.fails(&["create", "service", "clusterip", "c", "--clusterip=10.0.0.5", "--tcp=80"], None);
    assert!(err.contains("failed to allocate IP 10.0.0.5: provided IP is not in the valid range. The range of valid IPs is 10.43.0.0/16"), "{err}");
    let err = s.fails(&["create", "service", "nodeport", "d", "--tcp=80", "--node-port=80"], None);
    assert!(err.contains("provided port is not in the valid range. The range of valid ports is 30000-32767"), "{err}");
    s.restart();
    let err = s.fails(&["create", "service", "nodeport", "e", "--tcp=80", "--node-port=30080"], None);
    assert!(err.contains("spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"), "{err}");
    let err = s.fails(&["create", "service", "clusterip", "f", &format!("--clusterip={ip}"), "--tcp=80"], None);
    assert!(err.contains("provided IP is already allocated"), "{err}");
    s.ok(&["delete", "svc", "a"]);
    s.ok(&["create", "service", "clusterip", "f", &format!("--clusterip={ip}"), "--tcp=80"]);
    s.ok(&["patch", "svc", "b", "-p", r#"{"spec":{"type":"ClusterIP"}}"#]);
    let b: Value = serde_json::from_str(&s.ok(&["get", "svc", "b", "-o", "json"])).unwrap();
    assert!(b["spec"]["ports"][0].get("nodePort").is_none() && b["spec"].get("externalTrafficPolicy").is_none(), "{b}");
}

#[test]
fn events_expire_after_their_ttl() {
    let s = TestServer::start_with(BIN, &["--event-ttl", "2"]);
    let ev = "apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: default}\ninvolvedObject: {kind: Pod, name: p, namespace: default}\nreason: Test\nmessage: hello\ntype: Normal\n";
    s.ok_stdin(&["create", "-f", "-"], Some(ev));
    assert!(s.ok(&["get", "events", "-o", "name"]).contains("event/e1"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.ok(&["get", "events", "-o", "name"]).contains("event/e1") {
        assert!(std::time::Instant::now() < deadline, "event still there after its TTL");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn every_namespace_gets_a_default_service_account_and_the_root_ca() {
    let s = TestServer::start(BIN);
    s.ok(&["create", "namespace", "team"]);
    let ca = std::fs::read_to_string(s.data_dir().join("tls/ca.crt")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let sa = s.kubectl(&["get", "serviceaccount", "default", "-n", "team"]);
        let cm = s.kubectl(&["get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "jsonpath={.data.ca\\.crt}"]);
        if sa.status.success() && String::from_utf8_lossy(&cm.stdout) == ca {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "defaults did not appear");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    s.ok(&["delete", "serviceaccount", "default", "-n", "team"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !s.kubectl(&["get", "serviceaccount", "default", "-n", "team"]).status.success() {
        assert!(std::time::Instant::now() < deadline, "default ServiceAccount not recreated");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(s.kubectl(&["get", "serviceaccount", "default", "-n", "kube-system"]).status.success());
}
