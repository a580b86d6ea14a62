//! OpenAPI through stock kubectl: `kubectl explain` reads the v3 documents' schemas (and
//! the v2 document, in protobuf, with `--output=plaintext-openapiv2`), and client-side
//! `kubectl apply` computes strategic merge patches from their patch extensions.

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn deployment(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default, labels: {{app: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {image}
        ports: [{{containerPort: 80}}]
        env: [{{name: A, value: "1"}}]
      - name: side
        image: busybox
"#
    )
}

#[test]
fn explain_prints_upstream_field_docs() {
    let s = TestServer::start(BIN);
    let out = s.ok(&["explain", "deployment.spec.strategy.rollingUpdate"]);
    assert!(out.contains("GROUP:      apps"), "{out}");
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("FIELD: rollingUpdate <RollingUpdateDeployment>"), "{out}");
    assert!(out.contains("maxSurge\t<IntOrString>"), "{out}");
    assert!(out.contains("The maximum number of pods that can be scheduled above the desired number of"), "{out}");
    assert!(out.contains("maxUnavailable\t<IntOrString>"), "{out}");

    let out = s.ok(&["explain", "pods.spec.containers.resources"]);
    assert!(out.contains("KIND:       Pod"), "{out}");
    assert!(out.contains("FIELD: resources <ResourceRequirements>"), "{out}");
    assert!(out.contains("limits\t<map[string]Quantity>"), "{out}");
    assert!(out.contains("requests\t<map[string]Quantity>"), "{out}");
    assert!(out.contains("Limits describes the maximum amount of compute resources allowed."), "{out}");

    let out = s.ok(&["explain", "pods.spec.containers"]);
    assert!(out.contains("FIELD: containers <[]Container>"), "{out}");
    assert!(out.contains("name\t<string> -required-"), "{out}");

    let out = s.ok(&["explain", "services.spec.ports.protocol"]);
    assert!(out.contains("FIELD: protocol <string>"), "{out}");

    let out = s.ok(&["explain", "hpa.spec.metrics", "--api-version=autoscaling/v2"]);
    assert!(out.contains("VERSION:    v2"), "{out}");
    assert!(out.contains("FIELD: metrics <[]MetricSpec>"), "{out}");

    let out = s.ok(&["explain", "clusterroles.rules.verbs"]);
    assert!(out.contains("GROUP:      rbac.authorization.k8s.io"), "{out}");

    let out = s.ok(&["explain", "deployment", "--recursive"]);
    assert!(out.contains("DESCRIPTION:\n    Deployment enables declarative updates for Pods and ReplicaSets."), "{out}");
    for field in ["  metadata\t<ObjectMeta>", "    strategy\t<DeploymentStrategy>", "      rollingUpdate\t<RollingUpdateDeployment>", "        maxSurge\t<IntOrString>"] {
        assert!(out.contains(field), "{field:?} missing:\n{out}");
    }
    // `metadata` is optional, as upstream's (k8s-openapi's schemas mark it required).
    assert!(!out.contains("metadata\t<ObjectMeta> -required-"), "{out}");

    let err = s.fails(&["explain", "deployment.spec.bogus"], None);
    assert!(err.contains("field \"bogus\" does not exist"), "{err}");

    // The v2 explainer reads /openapi/v2 in protobuf, as client-go fetches it.
    let out = s.ok(&["explain", "--output=plaintext-openapiv2", "deployment.spec.strategy.rollingUpdate"]);
    assert!(out.contains("RESOURCE: rollingUpdate <Object>"), "{out}");
    assert!(out.contains("maxSurge\t<string>"), "{out}");
    assert!(out.contains("The maximum number of pods that can be scheduled above the desired number"), "{out}");
    let out = s.ok(&["explain", "--output=plaintext-openapiv2", "pods.spec.containers.resources"]);
    assert!(out.contains("limits\t<map[string]string>"), "{out}");
}

#[test]
fn client_side_apply_uses_strategic_merge_patch_from_openapi_v3() {
    // The Deployment controller would write status between the applies and move the
    // resourceVersion this test compares.
    let s = TestServer::start_with(BIN, &["--disable-controller-manager"]);
    let first = s.ok_stdin(&["apply", "-f", "-"], Some(&deployment("nginx:1.25")));
    assert!(first.contains("deployment.apps/web created"), "{first}");
    let second = s.ok_stdin(&["apply", "-f", "-"], Some(&deployment("nginx:1.25")));
    assert!(second.contains("deployment.apps/web unchanged"), "{second}");

    // Someone else adds an env var to the first container; a strategic merge patch (by
    // container name, env merged by name) keeps it, where a JSON merge patch would
    // replace the whole containers list.
    s.ok(&["set", "env", "deployment/web", "-c", "web", "B=2"]);

    let out = s.kubectl_stdin(&["apply", "-v=5", "-f", "-"], Some(&deployment("nginx:1.27")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("deployment.apps/web configured"), "{stdout}");
    assert!(!stderr.contains("does not support strategic merge patch"), "{stderr}");
    assert!(!stderr.contains("OpenAPI V3 path does not exist"), "{stderr}");
    assert!(!stderr.contains("error calculating patch"), "{stderr}");

    let yaml = s.ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(yaml.contains("image: nginx:1.27"), "{yaml}");
    let d: Value = serde_json::from_str(&s.ok(&["get", "deployment", "web", "-o", "json"])).unwrap();
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2, "{containers:?}");
    assert_eq!(containers[0]["name"], "web");
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[1]["image"], "busybox");
    let env: Vec<&str> = containers[0]["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(env, ["A", "B"], "the env var set by someone else survives the apply");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);

    // Applying the same file again changes nothing (kubectl still sends the
    // `$setElementOrder` directives for the env list someone else extended, as it does
    // against kube-apiserver, so it may say "configured").
    let rv = d["metadata"]["resourceVersion"].clone();
    s.ok_stdin(&["apply", "-f", "-"], Some(&deployment("nginx:1.27")));
    let again: Value = serde_json::from_str(&s.ok(&["get", "deployment", "web", "-o", "json"])).unwrap();
    assert_eq!(again["metadata"]["resourceVersion"], rv);
}

#[test]
fn openapi_endpoints_through_kubectl_raw() {
    let s = TestServer::start(BIN);
    let index: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/openapi/v3"])).unwrap();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap().to_string();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let doc: Value = serde_json::from_str(&s.ok(&["get", "--raw", &url])).unwrap();
    assert_eq!(doc["openapi"], "3.0.0");
    assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentList"].is_object());
    let v2: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/openapi/v2"])).unwrap();
    assert_eq!(v2["swagger"], "2.0");
    assert!(v2["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
}
