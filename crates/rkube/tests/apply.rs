//! kubectl apply (client- and server-side), patch, edit, replace and diff, and the
//! field ownership every write records.

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn deployment(image: &str, ports: &str, env: &str, replicas: Option<u32>) -> String {
    let replicas = replicas.map(|r| format!("  replicas: {r}\n")).unwrap_or_default();
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default}}
spec:
{replicas}  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {image}
        ports: [{ports}]
        env: [{env}]
      - name: sidecar
        image: busybox
"
    )
}

fn get(s: &TestServer, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&s.ok(&args)).unwrap()
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["manager"].as_str().unwrap().to_string(), m["operation"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn client_side_apply_edit_file_and_reapply_keeps_others_changes() {
    let s = TestServer::start(BIN);
    let v1 = deployment("nginx:1", "{containerPort: 80}", "{name: A, value: '1'}, {name: B, value: '2'}", None);
    s.ok_stdin(&["apply", "-f", "-"], Some(&v1));
    s.ok(&["scale", "deploy", "web", "--replicas=3"]);
    let v2 = deployment("nginx:2", "{containerPort: 80}, {containerPort: 443}", "{name: A, value: '1'}", None);
    let out = s.ok_stdin(&["apply", "-f", "-"], Some(&v2));
    assert!(out.contains("configured"), "{out}");
    let d = get(&s, &["deploy", "web"]);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:2");
    let ports: Vec<i64> = c["ports"].as_array().unwrap().iter().map(|p| p["containerPort"].as_i64().unwrap()).collect();
    assert_eq!(ports, [80, 443]);
    assert_eq!(c["env"].as_array().unwrap().len(), 1, "env B removed: {}", c["env"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][1]["image"], "busybox");
    assert_eq!(d["spec"]["replicas"], 3, "kubectl scale's change survives");
    let m = managers(&d);
    assert!(m.contains(&("kubectl-client-side-apply".into(), "Update".into())), "{m:?}");
    assert!(m.contains(&("kubectl-scale".into(), "Update".into())) || m.iter().any(|(n, _)| n.starts_with("kubectl")), "{m:?}");
    let again = s.ok_stdin(&["apply", "-f", "-"], Some(&v2));
    assert!(again.contains("unchanged"), "{again}");
}

#[test]
fn server_side_apply_conflicts_until_forced() {
    let s = TestServer::start(BIN);
    let a = deployment("nginx:1", "{containerPort: 80}", "{name: A, value: '1'}", Some(2));
    s.ok_stdin(&["apply", "--server-side", "--field-manager=alice", "-f", "-"], Some(&a));
    let b = deployment("nginx:1", "{containerPort: 80}", "{name: A, value: '1'}", Some(5));
    let err = s.fails(&["apply", "--server-side", "--field-manager=bob", "-f", "-"], Some(&b));
    assert!(err.contains(r#"Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas"#), "{err}");
    assert_eq!(get(&s, &["deploy", "web"])["spec"]["replicas"], 2, "a conflict changes nothing");
    s.ok_stdin(&["apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", "-"], Some(&b));
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 5);
    let m = managers(&d);
    assert!(m.contains(&("alice".into(), "Apply".into())) && m.contains(&("bob".into(), "Apply".into())), "{m:?}");
    // Alice stops applying env: removed, since nobody else set it... bob co-owns it, so it stays.
    let a2 = deployment("nginx:1", "{containerPort: 80}", "", Some(2)).replace("  replicas: 2\n", "");
    s.ok_stdin(&["apply", "--server-side", "--field-manager=alice", "-f", "-"], Some(&a2));
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"], "A");
}

#[test]
fn patch_types_edit_replace_and_diff() {
    // No controllers: the deployment controller's status writes would move the
    // resourceVersion this test compares.
    let s = TestServer::start_with(BIN, &["--disable-controller-manager"]);
    let base = deployment("nginx:1", "{containerPort: 80}", "{name: A, value: '1'}", Some(1));
    s.ok_stdin(&["create", "-f", "-"], Some(&base));
    s.ok(&["patch", "deploy", "web", "--type=json", "-p", r#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":2}]"#]);
    let err = s.fails(&["patch", "deploy", "web", "--type=json", "-p", r#"[{"op":"test","path":"/spec/replicas","value":9}]"#], None);
    assert!(err.contains("rejected") || err.contains("test"), "{err}");
    s.ok(&["patch", "deploy", "web", "--type=merge", "-p", r#"{"metadata":{"labels":{"tier":"web"}}}"#]);
    s.ok(&["patch", "deploy", "web", "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:2"}]}}}}"#]);
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["metadata"]["labels"]["tier"], "web");
    let cs = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!((cs[0]["image"].as_str(), cs[1]["image"].as_str()), (Some("nginx:1"), Some("busybox:2")), "strategic merge by name");
    let rv = d["metadata"]["resourceVersion"].clone();
    s.ok(&["patch", "deploy", "web", "--type=merge", "-p", r#"{"spec":{"replicas":2}}"#]);
    assert_eq!(get(&s, &["deploy", "web"])["metadata"]["resourceVersion"], rv, "a no-op patch keeps the resourceVersion");

    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/image: nginx:1/image: nginx:edited/' \"$1\"\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&editor).status().unwrap();
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .args(["edit", "deploy", "web"])
        .env("EDITOR", &editor)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = get(&s, &["deploy", "web"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:edited");
    assert!(managers(&d).iter().any(|(m, _)| m == "kubectl-edit"), "{:?}", managers(&d));
    assert!(managers(&d).iter().any(|(m, _)| m == "kubectl-create"), "{:?}", managers(&d));

    let replaced = deployment("nginx:3", "{containerPort: 80}", "{name: A, value: '1'}", Some(1));
    s.ok_stdin(&["replace", "-f", "-"], Some(&replaced));
    assert_eq!(get(&s, &["deploy", "web"])["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:3");

    // A diff against what was last applied shows nothing (one never applied would show
    // kubectl's last-applied annotation being added, as upstream).
    s.ok_stdin(&["apply", "-f", "-"], Some(&replaced));
    let same = s.kubectl_stdin(&["diff", "-f", "-"], Some(&replaced));
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    let changed = deployment("nginx:4", "{containerPort: 80}", "{name: A, value: '1'}", Some(1));
    let diff = s.kubectl_stdin(&["diff", "-f", "-"], Some(&changed));
    assert_eq!(diff.status.code(), Some(1), "{}", String::from_utf8_lossy(&diff.stderr));
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+        image: nginx:4"));
    let diff = s.kubectl_stdin(&["diff", "--server-side", "-f", "-"], Some(&changed));
    assert_ne!(diff.status.code(), Some(0), "kubectl-replace owns the image: a conflict");
    let diff = s.kubectl_stdin(&["diff", "--server-side", "--force-conflicts", "-f", "-"], Some(&changed));
    assert_eq!(diff.status.code(), Some(1), "{}", String::from_utf8_lossy(&diff.stderr));
    assert_eq!(get(&s, &["deploy", "web"])["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:3", "diff changes nothing");
}

#[test]
fn create_and_label_record_their_managers() {
    let s = TestServer::start(BIN);
    s.ok(&["create", "configmap", "c", "--from-literal=a=b"]);
    s.ok(&["label", "configmap", "c", "x=y"]);
    let cm = get(&s, &["configmap", "c"]);
    let m = managers(&cm);
    assert!(m.contains(&("kubectl-create".into(), "Update".into())), "{m:?}");
    assert!(m.contains(&("kubectl-label".into(), "Update".into())), "{m:?}");
    let label = cm["metadata"]["managedFields"].as_array().unwrap().iter().find(|e| e["manager"] == "kubectl-label").unwrap();
    // The labels map was new, so the labeller owns it too.
    assert_eq!(label["fieldsV1"], serde_json::json!({"f:metadata": {"f:labels": {".": {}, "f:x": {}}}}));
}

#[test]
fn field_validation_strict_warn_ignore() {
    let s = TestServer::start(BIN);
    let bad = deployment("nginx:1", "{containerPort: 80}", "{name: A, value: '1'}", Some(1)).replace("  selector:", "  replicass: 3\n  selector:");
    let err = s.fails(&["create", "--validate=strict", "-f", "-"], Some(&bad));
    assert!(err.contains(r#"strict decoding error: unknown field "spec.replicass""#), "{err}");
    assert!(s.fails(&["get", "deploy", "web"], None).contains("not found"), "nothing stored");
    let out = s.kubectl_stdin(&["create", "--validate=warn", "-f", "-"], Some(&bad));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"unknown field "spec.replicass""#), "{}", String::from_utf8_lossy(&out.stderr));
    s.ok(&["delete", "deploy", "web"]);
    let out = s.kubectl_stdin(&["create", "--validate=false", "-f", "-"], Some(&bad));
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("unknown field"));
    // kubectl patch sends no fieldValidation: Warn, and the unknown field is dropped.
    let out = s.kubectl(&["patch", "deploy", "web", "--type=merge", "-p", r#"{"spec":{"bogus":1}}"#]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"unknown field "spec.bogus""#), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(get(&s, &["deploy", "web"])["spec"].get("bogus").is_none());
    assert!(get(&s, &["deploy", "web"])["spec"].get("replicass").is_none());
    let dry = s.kubectl_stdin(&["create", "--dry-run=server", "-f", "-"], Some(&configmap_yaml("dry")));
    assert!(dry.status.success());
    assert!(s.fails(&["get", "cm", "dry"], None).contains("not found"), "a dry run leaves nothing behind");
}

fn configmap_yaml(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\ndata: {{a: b}}\n")
}
