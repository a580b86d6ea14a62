//! The scheduler's view of the cluster: nodes with their allocatable resources and the
//! pods already assigned to them (upstream `framework.NodeInfo` and the cache snapshot).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod};

use crate::resource::{pod_requests, Defaults, Resource};

/// A host port in use on a node (`hostIP` defaults to 0.0.0.0, protocol to TCP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    /// Two host ports conflict on the same protocol and port when either binds all
    /// addresses or both bind the same one.
    pub fn conflicts(&self, o: &HostPort) -> bool {
        const ANY: &str = "0.0.0.0";
        self.port == o.port && self.protocol == o.protocol && (self.ip == ANY || o.ip == ANY || self.ip == o.ip)
    }
}

/// The host ports a pod asks for (containers' ports with a non-zero hostPort).
pub fn pod_host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let port = p.host_port.unwrap_or(0);
            if port <= 0 {
                continue;
            }
            let ip = p.host_ip.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "0.0.0.0".into());
            let protocol = p.protocol.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "TCP".into());
            out.push(HostPort { ip, protocol, port });
        }
    }
    out
}

/// A pod on a node with its precomputed requests.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub pod: Pod,
    pub requests: Resource,
    pub non_zero_requests: Resource,
}

impl PodInfo {
    pub fn new(pod: Pod) -> PodInfo {
        let requests = pod_requests(&pod, Defaults::None);
        let non_zero_requests = pod_requests(&pod, Defaults::NonZero);
        PodInfo { pod, requests, non_zero_requests }
    }

    pub fn priority(&self) -> i32 {
        pod_priority(&self.pod)
    }
}

/// `spec.priority`, 0 when unset.
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// A node and what is already placed on it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub node: Node,
    pub pods: Vec<PodInfo>,
    pub allocatable: Resource,
    /// Sum of the pods' requests (missing requests count as zero).
    pub requested: Resource,
    /// Sum of the pods' requests with the 100m/200Mi scoring defaults.
    pub non_zero_requested: Resource,
    pub used_ports: Vec<HostPort>,
}

impl NodeInfo {
    pub fn new(node: Node) -> NodeInfo {
        let allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .unwrap_or_default();
        NodeInfo {
            node,
            pods: Vec::new(),
            allocatable,
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            used_ports: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or("")
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.node.metadata.labels.as_ref()
    }

    pub fn add_pod(&mut self, pod: Pod) {
        let info = PodInfo::new(pod);
        self.requested.add(&info.requests);
        self.non_zero_requested.add(&info.non_zero_requests);
        self.used_ports.extend(pod_host_ports(&info.pod));
        self.pods.push(info);
    }

    /// Removes a pod by namespace/name; returns it when it was there.
    pub fn remove_pod(&mut self, key: &str) -> Option<PodInfo> {
        let idx = self.pods.iter().position(|p| pod_key(&p.pod) == key)?;
        let info = self.pods.remove(idx);
        self.requested.sub(&info.requests);
        self.non_zero_requested.sub(&info.non_zero_requests);
        for hp in pod_host_ports(&info.pod) {
            if let Some(i) = self.used_ports.iter().position(|u| *u == hp) {
                self.used_ports.remove(i);
            }
        }
        Some(info)
    }
}

/// `namespace/name` of a pod.
pub fn pod_key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.name.as_deref().unwrap_or("")
    )
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

/// All nodes, in a stable order, with their assigned pods.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub nodes: Vec<NodeInfo>,
}

impl Snapshot {
    /// Builds a snapshot from nodes and pods; pods bound to a node (`spec.nodeName`) that
    /// have not terminated are counted on that node, as upstream's scheduler cache does.
    pub fn new(nodes: Vec<Node>, pods: impl IntoIterator<Item = Pod>) -> Snapshot {
        let mut infos: Vec<NodeInfo> = nodes.into_iter().map(NodeInfo::new).collect();
        let index: BTreeMap<String, usize> =
            infos.iter().enumerate().map(|(i, n)| (n.name().to_string(), i)).collect();
        for pod in pods {
            if is_terminal(&pod) {
                continue;
            }
            let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("");
            if let Some(&i) = index.get(node) {
                infos[i].add_pod(pod);
            }
        }
        Snapshot { nodes: infos }
    }

    pub fn get(&self, name: &str) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// Records a pod as placed on a node (the shell's "assume" after a decision).
    pub fn assume(&mut self, mut pod: Pod, node: &str) -> bool {
        let Some(info) = self.nodes.iter_mut().find(|n| n.name() == node) else { return false };
        pod.spec.get_or_insert_with(Default::default).node_name = Some(node.to_string());
        info.add_pod(pod);
        true
    }
}
