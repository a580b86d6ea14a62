//! The controllers inside `rkube server`, driven by stock kubectl against simulated
//! nodes (`rkube sim`): Deployments roll out within maxSurge/maxUnavailable, roll back
//! and scale; deletion cascades (or orphans); namespaces empty themselves; budgets hold
//! a drain; a node that stops heartbeating is tainted and its pods move.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

/// A running `rkube sim`, stopped when dropped.
struct Sim(Child);

impl Sim {
    fn start(s: &TestServer, nodes: usize, prefix: &str) -> Sim {
        let kc = s.kubeconfig();
        let child = Command::new(BIN)
            .args(["sim", "--kubeconfig", kc.to_str().unwrap(), "--nodes", &nodes.to_string(), "--name-prefix", prefix, "--heartbeat-interval", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rkube sim");
        Sim(child)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json(s: &TestServer, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

fn wait_for(s: &TestServer, what: &str, args: &[&str], check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let v = json(s, args);
        if check(&v) {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}: {v}\nserver log tail:\n{}", log_tail(s));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_tail(s: &TestServer) -> String {
    let log = s.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.contains("already exists")).collect();
    lines[lines.len().saturating_sub(40)..].iter().map(|l| &l[..l.len().min(400)]).collect::<Vec<_>>().join("\n")
}

/// `kubectl rollout status`, showing the server's log if it does not finish.
fn rollout(s: &TestServer, args: &[&str]) {
    let mut all = vec!["rollout", "status", "--timeout=30s"];
    all.extend_from_slice(args);
    let out = s.kubectl(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !stdout.contains("successfully rolled out") {
        panic!("rollout {args:?} did not finish: {stdout}\n{}\nserver log tail:\n{}", String::from_utf8_lossy(&out.stderr), log_tail(s));
    }
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap()
}

fn running(v: &Value) -> Vec<&Value> {
    items(v).iter().filter(|p| p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()).collect()
}

fn ready_nodes(s: &TestServer, n: usize) {
    wait_for(s, "nodes", &["get", "nodes", "-o", "json"], |v| {
        items(v).iter().filter(|n| n["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))).count() == n
    });
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

#[test]
fn deployments_roll_out_within_surge_roll_back_scale_and_cascade() {
    let s = TestServer::start(BIN);
    let _sim = Sim::start(&s, 3, "sim-node-");
    ready_nodes(&s, 3);
    s.ok(&["create", "deployment", "web", "--image=busybox", "--replicas=3"]);
    rollout(&s, &["deployment/web"]);
    let pods = json(&s, &["get", "pods", "-l", "app=web", "-o", "json"]);
    let mut nodes: Vec<&str> = running(&pods).iter().map(|p| p["spec"]["nodeName"].as_str().unwrap()).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "three replicas on three nodes: {pods}");

    // Watch pods during a rolling update: never more than replicas + maxSurge (3 + 1)
    // pods, never fewer than replicas - maxUnavailable (3 - 0) ready ones.
    let kc = s.kubeconfig();
    let mut watch = Command::new("kubectl")
        .args(["--kubeconfig", kc.to_str().unwrap(), "get", "pods", "-l", "app=web", "-w", "-o", "json", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    s.ok(&["set", "image", "deployment/web", "busybox=busybox:1.36"]);
    rollout(&s, &["deployment/web"]);
    std::thread::sleep(Duration::from_millis(500));
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut live: std::collections::BTreeMap<String, Value> = Default::default();
    let (mut max_pods, mut min_ready, mut events) = (0, usize::MAX, 0);
    for ev in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let ev = ev.unwrap();
        events += 1;
        let obj = ev["object"].clone();
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        if ev["type"] == "DELETED" || !obj["metadata"]["deletionTimestamp"].is_null() {
            live.remove(&name);
        } else {
            live.insert(name, obj);
        }
        if events > 3 {
            // The first three events are the initial list.
            max_pods = max_pods.max(live.len());
            min_ready = min_ready.min(live.values().filter(|p| is_ready(p)).count());
        }
    }
    assert!(events > 6, "the watch saw the rollout: {text}");
    assert!(max_pods <= 4, "at most replicas + maxSurge pods, saw {max_pods}");
    assert!(min_ready >= 3, "at least replicas - maxUnavailable ready, saw {min_ready}");

    let history = s.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains("1 ") && history.contains("2 "), "{history}");
    s.ok(&["rollout", "undo", "deployment/web"]);
    rollout(&s, &["deployment/web"]);
    let d = json(&s, &["get", "deployment", "web", "-o", "json"]);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "busybox");
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");
    let history = s.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains("3 ") && !history.contains("\n1 "), "revision 1 became 3: {history}");

    s.ok(&["scale", "deployment/web", "--replicas=0"]);
    wait_for(&s, "no pods", &["get", "pods", "-l", "app=web", "-o", "json"], |v| items(v).is_empty());
    s.ok(&["scale", "deployment/web", "--replicas=10"]);
    rollout(&s, &["deployment/web"]);
    wait_for(&s, "10 running", &["get", "pods", "-l", "app=web", "-o", "json"], |v| running(v).len() == 10);
    let d = json(&s, &["get", "deployment", "web", "-o", "json"]);
    let conds = d["status"]["conditions"].as_array().unwrap();
    assert!(conds.iter().any(|c| c["type"] == "Available" && c["status"] == "True" && c["reason"] == "MinimumReplicasAvailable"));
    assert!(conds.iter().any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable"));
    assert!(s.ok(&["describe", "deployment", "web"]).contains("ScalingReplicaSet"));

    // Deleting cascades to ReplicaSets and pods …
    s.ok(&["delete", "deployment", "web"]);
    wait_for(&s, "web's pods gone", &["get", "rs,pods", "-l", "app=web", "-o", "json"], |v| items(v).is_empty());
    // … unless told to orphan them.
    s.ok(&["create", "deployment", "keep", "--image=busybox", "--replicas=2"]);
    rollout(&s, &["deployment/keep"]);
    s.ok(&["delete", "deployment", "keep", "--cascade=orphan"]);
    let left = wait_for(&s, "orphans released", &["get", "rs", "-l", "app=keep", "-o", "json"], |v| {
        items(v).len() == 1 && items(v)[0]["metadata"]["ownerReferences"].is_null()
    });
    assert_eq!(left["items"][0]["status"]["replicas"], 2);
    assert_eq!(running(&json(&s, &["get", "pods", "-l", "app=keep", "-o", "json"])).len(), 2);
    assert!(s.fails(&["get", "deployment", "keep"], None).contains("NotFound"));
}

#[test]
fn unfit_pods_wait_taints_keep_pods_off_and_budgets_hold_a_drain() {
    let s = TestServer::start(BIN);
    let _sim = Sim::start(&s, 3, "sim-node-");
    ready_nodes(&s, 3);
    s.ok_stdin(
        &["create", "-f", "-"],
        Some("apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec:\n  containers: [{name: c, image: busybox, resources: {requests: {cpu: \"1000\"}}}]\n"),
    );
    wait_for(&s, "FailedScheduling", &["get", "events", "--field-selector", "involvedObject.name=huge", "-o", "json"], |v| {
        items(v).iter().any(|e| e["reason"] == "FailedScheduling" && e["message"].as_str().unwrap_or("").starts_with("0/3 nodes are available: 3 Insufficient cpu."))
    });
    assert_eq!(json(&s, &["get", "pod", "huge", "-o", "json"])["status"]["phase"], "Pending");

    s.ok(&["taint", "nodes", "--all", "dedicated=infra:NoSchedule"]);
    s.ok(&["run", "tainted", "--image=busybox"]);
    wait_for(&s, "untolerated taint", &["get", "events", "--field-selector", "involvedObject.name=tainted", "-o", "json"], |v| {
        items(v).iter().any(|e| e["message"].as_str().unwrap_or("").contains("3 node(s) had untolerated taint {dedicated: infra}"))
    });
    assert!(json(&s, &["get", "pod", "tainted", "-o", "json"])["spec"]["nodeName"].is_null());
    s.ok(&["taint", "nodes", "--all", "dedicated-"]);
    wait_for(&s, "tainted pod runs once the taint is gone", &["get", "pod", "tainted", "-o", "json"], |p| p["status"]["phase"] == "Running");

    s.ok(&["create", "deployment", "db", "--image=busybox", "--replicas=3"]);
    rollout(&s, &["deployment/db"]);
    s.ok(&["create", "poddisruptionbudget", "db", "--selector=app=db", "--min-available=3"]);
    wait_for(&s, "budget status", &["get", "pdb", "db", "-o", "json"], |b| b["status"]["currentHealthy"] == 3 && b["status"]["observedGeneration"] == 1);
    let pods = json(&s, &["get", "pods", "-l", "app=db", "-o", "json"]);
    let node = items(&pods)[0]["spec"]["nodeName"].as_str().unwrap().to_string();
    let out = s.kubectl(&["drain", &node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=4s"]);
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "drain must not break the budget: {text}");
    assert!(text.contains("Cannot evict pod as it would violate the pod's disruption budget."), "{text}");
    // The cordon stays; a looser budget lets the drain finish and the pod moves.
    s.ok(&["patch", "pdb", "db", "--type=merge", "-p", r#"{"spec":{"minAvailable":2}}"#]);
    wait_for(&s, "budget allows one", &["get", "pdb", "db", "-o", "json"], |b| b["status"]["disruptionsAllowed"] == 1);
    s.ok(&["drain", &node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=30s"]);
    let pods = wait_for(&s, "db back to 3 elsewhere", &["get", "pods", "-l", "app=db", "-o", "json"], |v| running(v).len() == 3);
    assert!(running(&pods).iter().all(|p| p["spec"]["nodeName"] != node.as_str()), "{pods}");
    let n = json(&s, &["get", "node", &node, "-o", "json"]);
    assert_eq!(n["spec"]["unschedulable"], true);
    assert!(n["spec"]["taints"].as_array().unwrap().iter().any(|t| t["key"] == "node.kubernetes.io/unschedulable"));
}

#[test]
fn deleting_a_namespace_empties_it_then_removes_it() {
    let s = TestServer::start(BIN);
    let _sim = Sim::start(&s, 1, "sim-node-");
    ready_nodes(&s, 1);
    s.ok(&["create", "namespace", "doomed"]);
    s.ok(&["-n", "doomed", "create", "deployment", "web", "--image=busybox", "--replicas=2"]);
    s.ok(&["-n", "doomed", "create", "configmap", "held", "--from-literal=a=b"]);
    s.ok(&["-n", "doomed", "patch", "configmap", "held", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);
    rollout(&s, &["-n", "doomed", "deployment/web"]);
    s.ok(&["delete", "namespace", "doomed", "--wait=false"]);
    let ns = wait_for(&s, "content remaining", &["get", "namespace", "doomed", "-o", "json"], |n| {
        n["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "NamespaceFinalizersRemaining" && c["status"] == "True"))
    });
    assert_eq!(ns["status"]["phase"], "Terminating");
    let conds = ns["status"]["conditions"].as_array().unwrap();
    let remaining = conds.iter().find(|c| c["type"] == "NamespaceFinalizersRemaining").unwrap();
    assert_eq!(remaining["message"], "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances");
    assert!(json(&s, &["-n", "doomed", "get", "pods", "-o", "json"])["items"].as_array().unwrap().is_empty());
    s.ok(&["-n", "doomed", "patch", "configmap", "held", "--type=json", "-p", r#"[{"op":"remove","path":"/metadata/finalizers"}]"#]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.kubectl(&["get", "namespace", "doomed"]).status.success() {
        assert!(Instant::now() < deadline, "namespace still there");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_node_that_stops_heartbeating_is_tainted_and_its_pods_move() {
    let s = TestServer::start_with(BIN, &["--node-monitor-grace-period", "3"]);
    let _steady = Sim::start(&s, 2, "sim-node-");
    let mut doomed = Sim::start(&s, 1, "sim-doomed-");
    ready_nodes(&s, 3);
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec:\n      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}]\n      containers: [{name: c, image: busybox}]\n";
    s.ok_stdin(&["create", "-f", "-"], Some(manifest));
    let pods = wait_for(&s, "3 running", &["get", "pods", "-l", "app=app", "-o", "json"], |v| running(v).len() == 3);
    assert!(running(&pods).iter().any(|p| p["spec"]["nodeName"] == "sim-doomed-0"), "one replica on the doomed node: {pods}");
    let _ = doomed.0.kill();
    let _ = doomed.0.wait();
    let node = wait_for(&s, "NotReady", &["get", "node", "sim-doomed-0", "-o", "json"], |n| {
        n["status"]["conditions"].as_array().unwrap().iter().any(|c| c["type"] == "Ready" && c["status"] == "Unknown")
    });
    let ready = node["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["reason"], "NodeStatusUnknown");
    assert_eq!(ready["message"], "Kubelet stopped posting node status.");
    let taints = wait_for(&s, "unreachable taints", &["get", "node", "sim-doomed-0", "-o", "json"], |n| {
        n["spec"]["taints"].as_array().is_some_and(|t| t.iter().any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute"))
    });
    assert!(taints["spec"]["taints"].as_array().unwrap().iter().any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoSchedule"));
    assert!(s.ok(&["get", "nodes"]).contains("NotReady"));
    wait_for(&s, "replaced elsewhere", &["get", "pods", "-l", "app=app", "-o", "json"], |v| {
        running(v).iter().filter(|p| p["spec"]["nodeName"] != "sim-doomed-0").count() == 3
    });
    let events = s.ok(&["get", "events", "-A"]);
    assert!(events.contains("TaintManagerEviction"), "{events}");
}

#[test]
fn services_list_their_pods_in_endpoints_and_endpoint_slices() {
    let s = TestServer::start(BIN);
    let _sim = Sim::start(&s, 2, "sim-node-");
    ready_nodes(&s, 2);
    s.ok(&["create", "deployment", "web", "--image=busybox", "--replicas=3", "--port=8080"]);
    s.ok(&["expose", "deployment", "web", "--port=80", "--target-port=8080"]);
    rollout(&s, &["deployment/web"]);
    let ep = wait_for(&s, "3 endpoints", &["get", "endpoints", "web", "-o", "json"], |e| {
        e["subsets"][0]["addresses"].as_array().is_some_and(|a| a.len() == 3)
    });
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 8080);
    let pods = json(&s, &["get", "pods", "-l", "app=web", "-o", "json"]);
    let mut pod_ips: Vec<&str> = items(&pods).iter().map(|p| p["status"]["podIP"].as_str().unwrap()).collect();
    let mut ep_ips: Vec<&str> = ep["subsets"][0]["addresses"].as_array().unwrap().iter().map(|a| a["ip"].as_str().unwrap()).collect();
    pod_ips.sort();
    ep_ips.sort();
    assert_eq!(pod_ips, ep_ips);
    let slices = json(&s, &["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"]);
    let slice = &items(&slices)[0];
    assert_eq!(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"], "endpointslice-controller.k8s.io");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
    assert_eq!(slice["endpoints"].as_array().unwrap().len(), 3);
    assert!(slice["endpoints"].as_array().unwrap().iter().all(|e| e["conditions"]["ready"] == true));
    assert!(s.ok(&["describe", "service", "web"]).contains(":8080"));

    s.ok(&["scale", "deployment/web", "--replicas=1"]);
    wait_for(&s, "1 endpoint", &["get", "endpoints", "web", "-o", "json"], |e| e["subsets"][0]["addresses"].as_array().is_some_and(|a| a.len() == 1));
    s.ok(&["delete", "service", "web"]);
    wait_for(&s, "endpoints and slices gone", &["get", "endpoints,endpointslices", "-l", "app=web", "-o", "json"], |v| items(v).is_empty());
}

#[test]
fn finished_jobs_go_after_their_ttl() {
    let s = TestServer::start(BIN);
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  ttlSecondsAfterFinished: 1\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n";
    s.ok_stdin(&["create", "-f", "-"], Some(job));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(s.kubectl(&["get", "job", "once"]).status.success(), "an unfinished job stays");
    let now = chrono_like_now();
    let status = format!(r#"{{"status":{{"conditions":[{{"type":"Complete","status":"True","lastTransitionTime":"{now}"}}],"succeeded":1}}}}"#);
    s.ok(&["patch", "job", "once", "--subresource=status", "--type=merge", "-p", &status]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.kubectl(&["get", "job", "once"]).status.success() {
        assert!(Instant::now() < deadline, "the finished job is still there");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Now as RFC 3339 seconds, from `date` (tests have no clock crate).
fn chrono_like_now() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
