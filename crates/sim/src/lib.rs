//! Simulated nodes for scale tests and benchmarks, in the spirit of kwok: `rkube sim`
//! registers nodes, keeps their Leases fresh and moves pods bound to them to Running
//! with a pod IP — only API writes, no containers. Everything it creates says it is a
//! simulation (labels, node info, container IDs).

mod pods;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use serde_json::{json, Value};

pub const SIMULATED_LABEL: &str = "rkube.io/simulated";
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// Kubelet's default lease duration.
const LEASE_DURATION_SECONDS: i64 = 40;
/// Requests in flight at once; enough to keep the API server busy on two cores.
const CONCURRENCY: usize = 64;

/// What the simulated nodes look like.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    pub name_prefix: String,
    pub cpu: String,
    pub memory: String,
    pub pods: String,
    /// Nodes are spread over this many zones (`topology.kubernetes.io/zone=zone-<i>`).
    pub zones: usize,
    pub labels: Vec<(String, String)>,
    /// How often Leases are renewed (kubelet: 10 s).
    pub heartbeat_interval: Duration,
}

/// One simulated node: its name and the /24 its pods get addresses from.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub name: String,
    pub index: usize,
    pub node_ip: String,
    pub pod_cidr: String,
}

impl SimNode {
    fn new(cfg: &SimConfig, index: usize) -> Self {
        // 10.128.0.0/9 holds 32768 node /24s; node IPs come from 100.64.0.0/10. Each name
        // prefix starts at its own block, so several simulators rarely overlap.
        let block = cfg.name_prefix.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % 8 * 16;
        let index = index + block * 256;
        let (hi, lo) = (128 + (index / 256) % 128, index % 256);
        SimNode {
            name: format!("{}{}", cfg.name_prefix, index - block * 256),
            index: index - block * 256,
            node_ip: format!("100.{}.{}.{}", 64 + (index / 65536) % 64, (index / 256) % 256, 1 + index % 254),
            pod_cidr: format!("10.{hi}.{lo}.0/24"),
        }
    }

    /// The `n`th pod address on this node.
    pub fn pod_ip(&self, n: u64) -> String {
        let base = self.pod_cidr.trim_end_matches(".0/24");
        format!("{base}.{}", 2 + n % 252)
    }
}

pub fn now_micro() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The Node object registered for `node`, status included (nodes may set status on create).
pub fn node_object(cfg: &SimConfig, node: &SimNode) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("kubernetes.io/hostname".into(), json!(node.name));
    labels.insert("kubernetes.io/os".into(), json!("linux"));
    labels.insert("kubernetes.io/arch".into(), json!("amd64"));
    labels.insert("type".into(), json!("simulated"));
    labels.insert(SIMULATED_LABEL.into(), json!("true"));
    if cfg.zones > 0 {
        labels.insert("topology.kubernetes.io/region".into(), json!("simulated"));
        labels.insert("topology.kubernetes.io/zone".into(), json!(format!("zone-{}", node.index % cfg.zones)));
    }
    for (k, v) in &cfg.labels {
        labels.insert(k.clone(), json!(v));
    }
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": labels,
            "annotations": {"rkube.io/simulated-by": "rkube sim", "node.alpha.kubernetes.io/ttl": "0"}
        },
        "spec": {"podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr]},
        "status": status(cfg, node),
    })
}

fn status(cfg: &SimConfig, node: &SimNode) -> Value {
    let resources = json!({"cpu": cfg.cpu, "memory": cfg.memory, "pods": cfg.pods, "ephemeral-storage": "100Gi"});
    let t = now();
    let cond = |ty: &str, status: &str, reason: &str, message: &str| {
        json!({"type": ty, "status": status, "lastHeartbeatTime": t, "lastTransitionTime": t, "reason": reason, "message": message})
    };
    json!({
        "capacity": resources,
        "allocatable": resources,
        "phase": "Running",
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "simulated node has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "simulated node has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "simulated node has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "simulated node is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": node.node_ip}, {"type": "Hostname", "address": node.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": format!("sim-{}", node.index),
            "systemUUID": format!("sim-{}", node.index),
            "bootID": format!("sim-{}", node.index),
            "kernelVersion": "simulated",
            "osImage": "rkube simulated node",
            "containerRuntimeVersion": "simulated://1.0",
            "kubeletVersion": "v1.33.0-rkube-sim",
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64"
        }
    })
}

fn lease_object(node: &SimNode, node_uid: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {
            "name": node.name, "namespace": LEASE_NAMESPACE,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node_uid}]
        },
        "spec": {"holderIdentity": node.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": now_micro()}
    })
}

fn manager() -> PostParams {
    PostParams { field_manager: Some("rkube-sim".into()), ..Default::default() }
}

/// Registers `node` (or refreshes its status if it exists) and returns its uid.
async fn register(client: &kube::Client, cfg: &SimConfig, node: &SimNode) -> Result<String, kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let obj: Node = serde_json::from_value(node_object(cfg, node)).expect("node object");
    match nodes.create(&manager(), &obj).await {
        Ok(n) => return Ok(n.metadata.uid.unwrap_or_default()),
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e),
    }
    let patch = json!({"spec": {"unschedulable": null}, "status": status(cfg, node)});
    let n = nodes.patch_status(&node.name, &PatchParams::default(), &Patch::Strategic(patch)).await?;
    Ok(n.metadata.uid.unwrap_or_default())
}

async fn renew(client: &kube::Client, node: &SimNode, uid: &str) -> Result<(), kube::Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let patch = json!({"spec": {"holderIdentity": node.name, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": now_micro()}});
    match leases.patch(&node.name, &PatchParams::default(), &Patch::Merge(patch)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease: Lease = serde_json::from_value(lease_object(node, uid)).expect("lease object");
            leases.create(&manager(), &lease).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// Registers the nodes, then keeps them alive and runs their pods until the process ends.
pub async fn run(client: kube::Client, cfg: SimConfig) -> Result<(), String> {
    let nodes: Vec<SimNode> = (0..cfg.nodes).map(|i| SimNode::new(&cfg, i)).collect();
    let started = std::time::Instant::now();
    let registered: Vec<Result<(String, String), String>> = stream::iter(nodes.iter())
        .map(|n| {
            let (client, cfg) = (client.clone(), cfg.clone());
            async move {
                let uid = register(&client, &cfg, n).await.map_err(|e| format!("registering node {}: {e}", n.name))?;
                renew(&client, n, &uid).await.map_err(|e| format!("creating the lease of node {}: {e}", n.name))?;
                Ok((n.name.clone(), uid))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let uids: HashMap<String, String> = registered.into_iter().collect::<Result<_, _>>()?;
    eprintln!(
        "rkube sim: {} simulated nodes registered and Ready in {:.2}s (no containers run on them)",
        nodes.len(),
        started.elapsed().as_secs_f64()
    );
    let nodes: Arc<HashMap<String, SimNode>> = Arc::new(nodes.into_iter().map(|n| (n.name.clone(), n)).collect());
    tokio::spawn(pods::run(client.clone(), nodes.clone()));
    let watched = watch_nodes(&client);
    let mut tick = tokio::time::interval(cfg.heartbeat_interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        stream::iter(nodes.values())
            .for_each_concurrent(CONCURRENCY, |n| {
                let client = client.clone();
                let uid = uids.get(&n.name).cloned().unwrap_or_default();
                async move {
                    if let Err(e) = renew(&client, n, &uid).await {
                        tracing::warn!("renewing the lease of node {}: {e}", n.name);
                    }
                }
            })
            .await;
        keep_ready(&client, &cfg, &nodes, &watched).await;
    }
}

/// A cache of the simulated nodes as the API server has them.
fn watch_nodes(client: &kube::Client) -> reflector::Store<Node> {
    let (reader, writer) = reflector::store();
    let cfg = watcher::Config::default().labels(&format!("{SIMULATED_LABEL}=true"));
    let stream = reflector::reflector(writer, watcher(Api::<Node>::all(client.clone()), cfg)).default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    reader
}

/// Puts back Ready=True on nodes the node lifecycle controller marked Unknown while
/// this simulator was away (a kubelet does the same with its next status update).
async fn keep_ready(client: &kube::Client, cfg: &SimConfig, nodes: &HashMap<String, SimNode>, watched: &reflector::Store<Node>) {
    let api: Api<Node> = Api::all(client.clone());
    let stale: Vec<&SimNode> = watched
        .state()
        .iter()
        .filter(|n| {
            let ready = n.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
            ready.is_none_or(|c| c.status != "True")
        })
        .filter_map(|n| nodes.get(n.metadata.name.as_deref().unwrap_or("")))
        .collect();
    for n in stale {
        let patch = json!({"status": status(cfg, n)});
        if let Err(e) = api.patch_status(&n.name, &PatchParams::default(), &Patch::Strategic(patch)).await {
            tracing::warn!("node {}: {e}", n.name);
        }
    }
}
