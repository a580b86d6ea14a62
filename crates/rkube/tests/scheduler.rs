//! The default scheduler inside `rkube server`: pending pods are bound to nodes that
//! fit, spread by least allocation; a pod that fits nowhere gets PodScheduled=False and
//! a FailedScheduling event in upstream's words, and is placed once the cluster changes.

use serde_json::Value;
use testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rkube");

fn node(name: &str, cpu: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  capacity: {{cpu: \"{cpu}\", memory: 8Gi, pods: \"110\"}}\n  allocatable: {{cpu: \"{cpu}\", memory: 8Gi, pods: \"110\"}}\n  conditions: [{{type: Ready, status: \"True\"}}]\n"
    )
}

fn pod(name: &str, cpu: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  containers: [{{name: c, image: busybox, resources: {{requests: {{cpu: \"{cpu}\"}}}}}}]\n"
    )
}

fn wait_for(s: &TestServer, what: &str, check: impl Fn(&Value) -> bool, args: &[&str]) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let v: Value = serde_json::from_str(&s.ok(args)).unwrap();
        if check(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {v}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn pods_are_bound_to_fitting_nodes_and_unfit_pods_are_reported() {
    let s = TestServer::start(BIN);
    for n in ["n1", "n2", "n3"] {
        s.ok_stdin(&["create", "-f", "-"], Some(&node(n, "2")));
    }
    for p in ["a", "b", "c"] {
        s.ok_stdin(&["create", "-f", "-"], Some(&pod(p, "1500m")));
    }
    let pods = wait_for(
        &s,
        "three pods bound",
        |v| v["items"].as_array().unwrap().iter().all(|p| p["spec"]["nodeName"].is_string()),
        &["get", "pods", "-o", "json"],
    );
    let mut nodes: Vec<&str> = pods["items"].as_array().unwrap().iter().map(|p| p["spec"]["nodeName"].as_str().unwrap()).collect();
    nodes.sort();
    assert_eq!(nodes, ["n1", "n2", "n3"], "1.5 CPUs each fit once per 2-CPU node");
    s.ok_stdin(&["create", "-f", "-"], Some(&pod("big", "1")));
    let big = wait_for(
        &s,
        "PodScheduled=False",
        |v| v["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "PodScheduled" && c["status"] == "False")),
        &["get", "pod", "big", "-o", "json"],
    );
    let msg = big["status"]["conditions"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("0/3 nodes are available: 3 Insufficient cpu."), "{msg}");
    let events = s.ok(&["get", "events", "--field-selector", "involvedObject.name=big,reason=FailedScheduling", "-o", "name"]);
    assert!(!events.trim().is_empty(), "a FailedScheduling event is recorded");
    // More capacity: the pending pod is placed.
    s.ok_stdin(&["create", "-f", "-"], Some(&node("n4", "4")));
    let big = wait_for(&s, "big bound", |v| v["spec"]["nodeName"].is_string(), &["get", "pod", "big", "-o", "json"]);
    assert_eq!(big["spec"]["nodeName"], "n4");
}

#[test]
fn pods_for_another_scheduler_are_left_alone() {
    let s = TestServer::start(BIN);
    s.ok_stdin(&["create", "-f", "-"], Some(&node("n1", "4")));
    let other = pod("mine", "100m").replace("spec:\n", "spec:\n  schedulerName: my-scheduler\n");
    s.ok_stdin(&["create", "-f", "-"], Some(&other));
    s.ok_stdin(&["create", "-f", "-"], Some(&pod("theirs", "100m")));
    wait_for(&s, "default pod bound", |v| v["spec"]["nodeName"].is_string(), &["get", "pod", "theirs", "-o", "json"]);
    let mine: Value = serde_json::from_str(&s.ok(&["get", "pod", "mine", "-o", "json"])).unwrap();
    assert!(mine["spec"].get("nodeName").is_none(), "{mine}");
}

#[test]
fn a_higher_priority_pod_preempts_lower_priority_ones() {
    let s = TestServer::start(BIN);
    s.ok_stdin(&["create", "-f", "-"], Some(&node("n1", "2")));
    let low = pod("low", "1500m").replace("spec:\n", "spec:\n  nodeName: n1\n  priority: 0\n");
    s.ok_stdin(&["create", "-f", "-"], Some(&low));
    let high = pod("high", "1").replace("spec:\n", "spec:\n  priority: 1000\n");
    s.ok_stdin(&["create", "-f", "-"], Some(&high));
    wait_for(&s, "high nominated to n1", |v| v["status"]["nominatedNodeName"] == "n1", &["get", "pod", "high", "-o", "json"]);
    wait_for(&s, "low being deleted", |v| v["metadata"]["deletionTimestamp"].is_string(), &["get", "pod", "low", "-o", "json"]);
}
