//! The scheduler's view of the cluster: nodes with their allocatable resources and the
//! pods already assigned to them (upstream `framework.NodeInfo` and the cache snapshot),
//! with the indexes plugins use to avoid scanning every pod in every cycle.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, PodSpec, PodStatus, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::affinity_terms::PodAffinityTerms;
use crate::index::{FastMap, PodLabelIndex, PodRef, TopologyCache, TopologyDomains};
use crate::labels::{NamespaceLabels, Selector};
use crate::plugins::pod_topology_spread::LABEL_TOPOLOGY_ZONE;
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

/// A pod on a node with its precomputed requests and affinity terms. The pod is shared
/// (`Arc`): the shell's view of the cluster and every snapshot built from it hold the
/// same copy, and cloning a `PodInfo` copies no pod.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    pub requests: Resource,
    pub non_zero_requests: Resource,
    /// Parsed podAffinity/podAntiAffinity, `None` when the pod has neither.
    pub affinity: Option<Arc<PodAffinityTerms>>,
    /// The host ports its containers ask for.
    pub host_ports: Vec<HostPort>,
}

impl PodInfo {
    pub fn new(pod: impl Into<Arc<Pod>>) -> PodInfo {
        let pod = pod.into();
        let requests = pod_requests(&pod, Defaults::None);
        let non_zero_requests = pod_requests(&pod, Defaults::NonZero);
        let affinity = PodAffinityTerms::of(&pod).map(Arc::new);
        let host_ports = pod_host_ports(&pod);
        PodInfo { pod, requests, non_zero_requests, affinity, host_ports }
    }

    /// The info of a pod placed on a node, holding a trimmed copy of the pod: what
    /// plugins read of pods already placed (identity, labels, owners, deletion,
    /// priority, affinity, phase, conditions). Requests, host ports and affinity terms
    /// are computed from the full pod first; the containers, whose k8s-openapi form alone
    /// takes 2 KiB per container, are not kept. The trimmed pod must not be scheduled
    /// or given to [`PodInfo::new`] again.
    pub fn placed(pod: &Pod, node: &str) -> PodInfo {
        let m = &pod.metadata;
        let trimmed = Pod {
            metadata: ObjectMeta {
                name: m.name.clone(),
                namespace: m.namespace.clone(),
                uid: m.uid.clone(),
                labels: m.labels.clone(),
                owner_references: m.owner_references.clone(),
                creation_timestamp: m.creation_timestamp.clone(),
                deletion_timestamp: m.deletion_timestamp.clone(),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.to_string()),
                priority: pod.spec.as_ref().and_then(|s| s.priority),
                affinity: pod.spec.as_ref().and_then(|s| s.affinity.clone()),
                ..Default::default()
            }),
            status: pod.status.as_ref().map(|s| PodStatus {
                phase: s.phase.clone(),
                conditions: s.conditions.clone(),
                ..Default::default()
            }),
        };
        PodInfo {
            pod: Arc::new(trimmed),
            requests: pod_requests(pod, Defaults::None),
            non_zero_requests: pod_requests(pod, Defaults::NonZero),
            affinity: PodAffinityTerms::of(pod).map(Arc::new),
            host_ports: pod_host_ports(pod),
        }
    }

    pub fn priority(&self) -> i32 {
        pod_priority(&self.pod)
    }

    pub fn has_required_anti_affinity(&self) -> bool {
        self.affinity.as_ref().is_some_and(|a| a.has_required_anti_affinity())
    }
}

/// `spec.priority`, 0 when unset.
pub fn pod_priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// The uid of the pod's controller (the ownerReference with `controller: true`).
pub fn controller_uid(pod: &Pod) -> Option<&str> {
    pod.metadata.owner_references.iter().flatten().find(|o| o.controller == Some(true)).map(|o| o.uid.as_str())
}

/// A node and what is already placed on it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Shared with the shell's view of the cluster: building a snapshot copies no node.
    pub node: Arc<Node>,
    /// The node's name, shared by the per-node scores of every cycle instead of copied.
    name: Arc<str>,
    /// `spec.unschedulable` and whether it has taints, read by filters on every node:
    /// kept here so most nodes are decided without touching the `Node` itself.
    unschedulable: bool,
    tainted: bool,
    /// The node's position in its snapshot's `nodes` (0 outside a snapshot).
    pos: u32,
    pub pods: Vec<PodInfo>,
    pub allocatable: Resource,
    /// Sum of the pods' requests (missing requests count as zero).
    pub requested: Resource,
    /// Sum of the pods' requests with the 100m/200Mi scoring defaults.
    pub non_zero_requested: Resource,
    pub used_ports: Vec<HostPort>,
    /// Positions in `pods` of pods with podAffinity or podAntiAffinity.
    pub pods_with_affinity: Vec<usize>,
    /// Positions in `pods` of pods with required podAntiAffinity terms.
    pub pods_with_required_anti_affinity: Vec<usize>,
}

impl NodeInfo {
    pub fn new(node: impl Into<Arc<Node>>) -> NodeInfo {
        let node = node.into();
        let allocatable = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .map(Resource::from_list)
            .unwrap_or_default();
        let spec = node.spec.as_ref();
        NodeInfo {
            name: node.metadata.name.as_deref().unwrap_or("").into(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            tainted: spec.and_then(|s| s.taints.as_ref()).is_some_and(|t| !t.is_empty()),
            node,
            pos: 0,
            pods: Vec::new(),
            allocatable,
            requested: Resource::default(),
            non_zero_requested: Resource::default(),
            used_ports: Vec::new(),
            pods_with_affinity: Vec::new(),
            pods_with_required_anti_affinity: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's position in its snapshot's `nodes`.
    pub fn pos(&self) -> u32 {
        self.pos
    }

    /// `spec.unschedulable` (cordoned).
    pub fn unschedulable(&self) -> bool {
        self.unschedulable
    }

    /// `spec.taints`.
    pub fn taints(&self) -> &[Taint] {
        if !self.tainted {
            return &[];
        }
        self.node.spec.as_ref().and_then(|s| s.taints.as_deref()).unwrap_or(&[])
    }

    /// The node's name as a shared string (cheap to clone).
    pub fn shared_name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.node.metadata.labels.as_ref()
    }

    /// The node's value for a label key.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels().and_then(|l| l.get(key)).map(String::as_str)
    }

    pub fn add_pod(&mut self, pod: impl Into<Arc<Pod>>) {
        self.add_pod_info(PodInfo::new(pod));
    }

    pub fn add_pod_info(&mut self, info: PodInfo) {
        self.requested.add(&info.requests);
        self.non_zero_requested.add(&info.non_zero_requests);
        self.used_ports.extend(info.host_ports.iter().cloned());
        let at = self.pods.len();
        if info.affinity.is_some() {
            self.pods_with_affinity.push(at);
        }
        if info.has_required_anti_affinity() {
            self.pods_with_required_anti_affinity.push(at);
        }
        self.pods.push(info);
    }

    /// Removes a pod by namespace/name; returns it when it was there.
    pub fn remove_pod(&mut self, key: &str) -> Option<PodInfo> {
        let idx = self.pods.iter().position(|p| pod_key(&p.pod) == key)?;
        let info = self.pods.remove(idx);
        self.requested.sub(&info.requests);
        self.non_zero_requested.sub(&info.non_zero_requests);
        for hp in &info.host_ports {
            if let Some(i) = self.used_ports.iter().position(|u| u == hp) {
                self.used_ports.remove(i);
            }
        }
        // Positions after the removed pod shifted; rebuild the (short) lists.
        self.pods_with_affinity = (0..self.pods.len()).filter(|&i| self.pods[i].affinity.is_some()).collect();
        self.pods_with_required_anti_affinity =
            (0..self.pods.len()).filter(|&i| self.pods[i].has_required_anti_affinity()).collect();
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

/// Succeeded or Failed: the pod holds no resources on its node any more.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

/// A controller's pods that topology spreading counts (not terminating), per node
/// position and per zone (the zone label's value, "" for nodes without one).
#[derive(Debug, Clone, Default)]
pub struct ControllerSpread {
    pub per_node: FastMap<u32, u32>,
    pub per_zone: FastMap<String, u32>,
}

/// All nodes, in a stable order, with their assigned pods and indexes over them.
///
/// `nodes` is public for reading; pods must be added through [`Snapshot::assume`] so
/// the indexes stay in step.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub nodes: Vec<NodeInfo>,
    /// Labels of namespaces, for `namespaceSelector` (see [`NamespaceLabels`]).
    pub namespace_labels: NamespaceLabels,
    by_name: FastMap<Arc<str>, usize>,
    pod_labels: PodLabelIndex,
    /// Per controller (keyed `namespace/uid`): its pods that topology spreading counts
    /// (not terminating) on each node, by node position. Kept as pods are added, so
    /// spreading a big ReplicaSet's next pod does not walk all its pods again.
    controller_spread: HashMap<String, Arc<ControllerSpread>>,
    pod_count: usize,
    /// Positions of nodes holding pods with affinity / required anti-affinity (upstream
    /// `HavePodsWithAffinityList` / `HavePodsWithRequiredAntiAffinityList`).
    have_pods_with_affinity: Vec<usize>,
    have_pods_with_required_anti_affinity: Vec<usize>,
    topology: TopologyCache,
}

impl Snapshot {
    /// Builds a snapshot from nodes and pods; pods bound to a node (`spec.nodeName`) that
    /// have not terminated are counted on that node, as upstream's scheduler cache does.
    pub fn new(nodes: Vec<Node>, pods: impl IntoIterator<Item = Pod>) -> Snapshot {
        let mut snap = Snapshot::with_nodes(nodes.into_iter().map(Arc::new));
        for pod in pods {
            if is_terminal(&pod) {
                continue;
            }
            let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("");
            if let Some(&i) = snap.by_name.get(node) {
                snap.add(i, PodInfo::new(pod));
            }
        }
        snap
    }

    /// A snapshot of these nodes without pods; pods are added with [`Snapshot::assume`]
    /// or [`Snapshot::place`]. Nodes are shared, not copied.
    pub fn with_nodes(nodes: impl IntoIterator<Item = Arc<Node>>) -> Snapshot {
        let nodes = nodes.into_iter().enumerate().map(|(i, n)| NodeInfo { pos: i as u32, ..NodeInfo::new(n) }).collect();
        let mut snap = Snapshot { nodes, ..Default::default() };
        snap.by_name = snap.nodes.iter().enumerate().map(|(i, n)| (n.shared_name().clone(), i)).collect();
        snap
    }

    /// The position of a node in `nodes`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&NodeInfo> {
        self.index_of(name).map(|i| &self.nodes[i])
    }

    /// Records a pod as placed on a node (the shell's "assume" after a decision); the
    /// pod's `spec.nodeName` is set to the node.
    pub fn assume(&mut self, mut pod: Pod, node: &str) -> bool {
        let Some(i) = self.index_of(node) else { return false };
        pod.spec.get_or_insert_with(Default::default).node_name = Some(node.to_string());
        self.add(i, PodInfo::new(pod));
        true
    }

    /// Counts a pod on a node whatever its `spec.nodeName` says, sharing the pod (no
    /// plugin reads the nodeName of pods already placed). Terminated pods are skipped,
    /// as in [`Snapshot::new`].
    pub fn place(&mut self, info: PodInfo, node: &str) -> bool {
        let Some(i) = self.index_of(node) else { return false };
        if is_terminal(&info.pod) {
            return false;
        }
        self.add(i, info);
        true
    }

    fn add(&mut self, node: usize, pod: PodInfo) {
        let info = &mut self.nodes[node];
        let at = PodRef { node: node as u32, pod: info.pods.len() as u32 };
        info.add_pod_info(pod);
        let added = &info.pods[at.pod as usize];
        self.pod_labels.insert(added.pod.metadata.labels.iter().flatten(), at);
        if let Some(uid) = controller_uid(&added.pod) {
            if added.pod.metadata.deletion_timestamp.is_none() {
                let key = format!("{}/{uid}", added.pod.metadata.namespace.as_deref().unwrap_or(""));
                let zone = info.label(LABEL_TOPOLOGY_ZONE).unwrap_or("");
                let spread = Arc::make_mut(self.controller_spread.entry(key).or_default());
                *spread.per_node.entry(node as u32).or_default() += 1;
                match spread.per_zone.get_mut(zone) {
                    Some(k) => *k += 1,
                    None => {
                        spread.per_zone.insert(zone.to_string(), 1);
                    }
                }
            }
        }
        if added.affinity.is_some() && info.pods_with_affinity.len() == 1 {
            self.have_pods_with_affinity.push(node);
        }
        if added.has_required_anti_affinity() && info.pods_with_required_anti_affinity.len() == 1 {
            self.have_pods_with_required_anti_affinity.push(node);
        }
        self.pod_count += 1;
    }

    fn resolve(&self, at: PodRef) -> Option<(usize, &PodInfo)> {
        let node = at.node as usize;
        self.nodes.get(node)?.pods.get(at.pod as usize).map(|p| (node, p))
    }

    /// Calls `f(node position, pod)` for every pod whose labels match the selector,
    /// looking only at pods the label index says can match.
    pub fn for_each_pod_matching<'a>(&'a self, sel: &Selector, mut f: impl FnMut(usize, &'a PodInfo)) {
        if sel.nothing {
            return;
        }
        let mut visit = |node: usize, p: &'a PodInfo| {
            if sel.matches(p.pod.metadata.labels.as_ref()) {
                f(node, p);
            }
        };
        match self.pod_labels.candidates(sel) {
            Some(lists) => {
                for at in lists.into_iter().flatten() {
                    if let Some((node, p)) = self.resolve(*at) {
                        visit(node, p);
                    }
                }
            }
            None => {
                for (node, info) in self.nodes.iter().enumerate() {
                    info.pods.iter().for_each(|p| visit(node, p));
                }
            }
        }
    }

    /// How many pods of a controller in a namespace that spreading counts (not
    /// terminating) each node holds, by node position.
    pub fn controller_spread(&self, namespace: &str, uid: &str) -> Option<&Arc<ControllerSpread>> {
        self.controller_spread.get(&format!("{namespace}/{uid}"))
    }

    /// Positions of nodes that hold pods with podAffinity or podAntiAffinity.
    pub fn nodes_with_affinity_pods(&self) -> &[usize] {
        &self.have_pods_with_affinity
    }

    /// Positions of nodes that hold pods with required podAntiAffinity.
    pub fn nodes_with_required_anti_affinity_pods(&self) -> &[usize] {
        &self.have_pods_with_required_anti_affinity
    }

    /// How many pods the snapshot holds.
    pub fn pod_count(&self) -> usize {
        self.pod_count
    }

    /// The domains of a topology key (built once per snapshot and key).
    pub fn topology(&self, key: &str) -> Arc<TopologyDomains> {
        self.topology.get_or_build(key, || {
            TopologyDomains::build(key, self.nodes.iter().map(|n| n.labels().and_then(|l| l.get(key))))
        })
    }
}
