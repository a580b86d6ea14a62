//! Scheduling throughput on a 5,000-node cluster (3 zones), in the spirit of upstream's
//! scheduler_perf workloads. Each decision is assumed into the snapshot before the next
//! pod, as the shell does. Run: `cargo bench -p scheduler --bench schedule`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use k8s_openapi::api::core::v1::{
    Affinity, Container, Node, NodeStatus, Pod, PodAffinityTerm, PodAntiAffinity, PodSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use scheduler::{default_profile, schedule, Profile, Snapshot};

const NODES: usize = 5_000;
const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";

fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn quantities(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

fn node(i: usize) -> Node {
    let name = format!("node-{i}");
    let alloc = quantities(&[("cpu", "32"), ("memory", "128Gi"), ("pods", "110")]);
    Node {
        metadata: ObjectMeta {
            labels: Some(map(&[(HOSTNAME, &name), (ZONE, &format!("zone-{}", i % 3))])),
            name: Some(name),
            ..Default::default()
        },
        spec: Some(Default::default()),
        status: Some(NodeStatus { allocatable: Some(alloc.clone()), capacity: Some(alloc), ..Default::default() }),
    }
}

/// Upstream's default scheduler_perf pod: requests 100m CPU and 500Mi memory.
fn pod(ns: &str, name: &str, labels: &[(&str, &str)]) -> Pod {
    let container = Container {
        name: "pause".into(),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", "100m"), ("memory", "500Mi")])),
            ..Default::default()
        }),
        ..Default::default()
    };
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: Some(map(labels)),
            ..Default::default()
        },
        spec: Some(PodSpec { containers: vec![container], ..Default::default() }),
        status: None,
    }
}

fn anti_affinity(mut p: Pod, labels: &[(&str, &str)], namespaces: Option<Vec<String>>) -> Pod {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector { match_labels: Some(map(labels)), match_expressions: None }),
        namespaces,
        topology_key: HOSTNAME.into(),
        ..Default::default()
    };
    p.spec.as_mut().unwrap().affinity = Some(Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..Default::default()
        }),
        ..Default::default()
    });
    p
}

fn owned(mut p: Pod, uid: &str) -> Pod {
    p.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: uid.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    p
}

fn cluster() -> Snapshot {
    Snapshot::new((0..NODES).map(node).collect(), Vec::new())
}

/// Schedules and assumes each pod; prints and returns pods/s.
fn run(label: &str, snapshot: &mut Snapshot, profile: &Profile, pods: Vec<Pod>) -> f64 {
    let n = pods.len();
    let mut failed = 0;
    let start = Instant::now();
    for (i, p) in pods.into_iter().enumerate() {
        match schedule(&p, snapshot, profile, i as u64) {
            Ok(node) => {
                snapshot.assume(p, &node);
            }
            Err(_) => failed += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    println!("{label}: {n} pods in {secs:.3}s = {rate:.0} pods/s ({failed} unschedulable)");
    rate
}

fn main() {
    // `cargo bench -p scheduler --bench schedule -- plain` runs only workloads whose
    // number or name contains an argument.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |id: &str| args.is_empty() || args.iter().any(|a| id.contains(a.as_str()));
    let profile = default_profile();
    let built = Instant::now();
    let mut snap = cluster();
    println!("snapshot of {NODES} nodes built in {:.3}s", built.elapsed().as_secs_f64());

    // 1. Plain pods (upstream SchedulingBasic).
    if wanted("1 plain 2 groups") {
        let plain = (0..10_000).map(|i| pod("default", &format!("plain-{i}"), &[("app", "plain")])).collect();
        run("plain", &mut snap, &profile, plain);
    }

    // 2. On top of those: groups of 10 pods, each with required anti-affinity on hostname
    //    against its own group.
    if wanted("2 groups") {
        let grouped = (0..2_000)
        .map(|i| {
            let group = format!("g{}", i / 10);
            let labels = [("group", group.as_str())];
            anti_affinity(pod("default", &format!("anti-{i}"), &labels), &labels, None)
        })
        .collect();
            run("anti-affinity (groups of 10, hostname)", &mut snap, &profile, grouped);
        // Placement check: no two pods of a group share a node.
        let mut seen = std::collections::HashSet::new();
        let clashes = snap
            .nodes
            .iter()
            .flat_map(|n| n.pods.iter().map(move |p| (n.name(), p)))
            .filter_map(|(node, p)| p.pod.metadata.labels.as_ref()?.get("group").map(|g| (node, g)))
            .filter(|pair| !seen.insert(*pair))
            .count();
        println!("  pods sharing a node with a group sibling: {clashes}");
    }

    // 3. Upstream SchedulingPodAntiAffinity/5000Nodes: 1,000 initial and 1,000 measured
    //    pods, all mutually anti-affine on hostname across two namespaces.
    if wanted("3 mutual") {
        mutual_anti_affinity(&profile);
    }
    if wanted("4 owned") {
        owned_pods(&profile);
    }
    if wanted("5 decode") {
        decode();
    }
}

/// A pod as the API server sends it in a watch event after admission.
const POD_JSON: &str = r#"{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "sched-000001", "namespace": "default", "uid": "6c1f8a0e-0000-4000-8000-000000000001", "resourceVersion": "1001",
    "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"app": "sched"},
    "managedFields": [{"manager": "bench", "operation": "Update", "apiVersion": "v1", "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1",
      "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {".": {}, "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}}}}}}}]},
  "spec": {"nodeName": "node-1",
    "containers": [{"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}},
      "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
      "volumeMounts": [{"name": "kube-api-access-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
    "volumes": [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
      {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
      {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "serviceAccount": "default",
    "securityContext": {}, "schedulerName": "default-scheduler", "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority",
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]},
  "status": {"phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}], "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
    "startTime": "2025-01-01T00:00:01Z",
    "conditions": [{"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"},
                   {"type": "Initialized", "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"},
                   {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"},
                   {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"},
                   {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}],
    "containerStatuses": [{"name": "c", "image": "busybox:1.36", "imageID": "docker.io/library/busybox@sha256:0000", "containerID": "containerd://0000",
      "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": "2025-01-01T00:00:01Z"}}}]}}"#;

/// 5. Decoding a watched pod: the full k8s-openapi `Pod` against the lean one the shell
///    watches, then what each keeps of a bound pod ([`PodInfo::placed`]).
fn decode() {
    const N: usize = 50_000;
    let start = Instant::now();
    for _ in 0..N {
        let pod: Pod = serde_json::from_str(POD_JSON).unwrap();
        std::hint::black_box(pod);
    }
    let full = start.elapsed().as_secs_f64() * 1e6 / N as f64;
    let start = Instant::now();
    for _ in 0..N {
        let pod: scheduler::lean::LeanPod = serde_json::from_str(POD_JSON).unwrap();
        std::hint::black_box(pod);
    }
    let lean = start.elapsed().as_secs_f64() * 1e6 / N as f64;
    let pod: scheduler::lean::LeanPod = serde_json::from_str(POD_JSON).unwrap();
    let start = Instant::now();
    for _ in 0..N {
        std::hint::black_box(scheduler::PodInfo::placed(&pod.0, "node-1"));
    }
    let placed = start.elapsed().as_secs_f64() * 1e6 / N as f64;
    println!("decode a watched pod: full Pod {full:.1} µs, lean pod {lean:.1} µs; placed info {placed:.1} µs");
}

fn mutual_anti_affinity(profile: &Profile) {
    let mut snap = cluster();
    let namespaces = Some(vec!["sched-0".to_string(), "sched-1".to_string()]);
    let green = |ns: &str, i: usize| {
        let labels = [("color", "green"), ("name", "test")];
        anti_affinity(pod(ns, &format!("anti-affinity-pod-{i}"), &labels), &[("color", "green")], namespaces.clone())
    };
    run("anti-affinity init (all mutually anti-affine)", &mut snap, profile, (0..1_000).map(|i| green("sched-0", i)).collect());
    run("anti-affinity measured (all mutually anti-affine)", &mut snap, profile, (0..1_000).map(|i| green("sched-1", i)).collect());
}

fn owned_pods(profile: &Profile) {
    // 4. Deployment-style pods (controller owner): system default topology spreading.
    let mut snap = cluster();
    let replicas = (0..10_000)
        .map(|i| owned(pod("default", &format!("web-{i}"), &[("app", "web")]), &format!("rs-{}", i % 100)))
        .collect();
    run("owned pods, default spreading (100 ReplicaSets)", &mut snap, profile, replicas);
    // Placement check: how evenly each ReplicaSet's 100 pods spread.
    let mut per_node: HashMap<(String, String), usize> = HashMap::new();
    let mut per_zone: HashMap<(String, String), usize> = HashMap::new();
    for n in &snap.nodes {
        for p in &n.pods {
            let rs = p.pod.metadata.owner_references.as_ref().unwrap()[0].uid.clone();
            *per_node.entry((rs.clone(), n.name().to_string())).or_default() += 1;
            *per_zone.entry((rs, n.label(ZONE).unwrap().to_string())).or_default() += 1;
        }
    }
    let (lo, hi) = (per_zone.values().min().unwrap(), per_zone.values().max().unwrap());
    println!(
        "  most pods of one ReplicaSet on one node: {}; per zone: {lo}..{hi}",
        per_node.values().max().unwrap()
    );
}
