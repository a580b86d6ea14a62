//! Builders for test pods and nodes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    NodeSpec, NodeStatus, Pod, PodAffinity, PodAffinityTerm, PodAntiAffinity, PodSpec, PreferredSchedulingTerm,
    ResourceRequirements, Taint, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

pub fn list(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

pub fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement { key: key.into(), operator: op.into(), values: Some(values.iter().map(|s| s.to_string()).collect()) }
}

pub fn term(exprs: Vec<NodeSelectorRequirement>, fields: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm { match_expressions: Some(exprs), match_fields: Some(fields) }
}

pub fn labels(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn selector(match_labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector { match_labels: Some(labels(match_labels)), match_expressions: None }
}

/// A topology spread constraint selecting `match_labels`.
pub fn spread(max_skew: i32, key: &str, when: &str, match_labels: &[(&str, &str)]) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew,
        topology_key: key.into(),
        when_unsatisfiable: when.into(),
        label_selector: Some(selector(match_labels)),
        ..Default::default()
    }
}

/// A pod affinity term selecting `match_labels` in the pod's own namespace.
pub fn affinity_term(match_labels: &[(&str, &str)], key: &str) -> PodAffinityTerm {
    PodAffinityTerm { label_selector: Some(selector(match_labels)), topology_key: key.into(), ..Default::default() }
}

pub const HOSTNAME: &str = "kubernetes.io/hostname";
pub const ZONE: &str = "topology.kubernetes.io/zone";

pub struct PodBuilder(Pod);

pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(Pod {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some("default".into()), ..Default::default() },
        spec: Some(PodSpec::default()),
        status: None,
    })
}

fn container(reqs: &[(&str, &str)]) -> Container {
    let requests = if reqs.is_empty() { None } else { Some(list(reqs)) };
    Container {
        name: "c".into(),
        resources: Some(ResourceRequirements { requests, ..Default::default() }),
        ..Default::default()
    }
}

impl PodBuilder {
    fn spec(&mut self) -> &mut PodSpec {
        self.0.spec.as_mut().unwrap()
    }
    pub fn container(mut self, reqs: &[(&str, &str)]) -> Self {
        self.spec().containers.push(container(reqs));
        self
    }
    pub fn init_container(mut self, reqs: &[(&str, &str)], restartable: bool) -> Self {
        let mut c = container(reqs);
        if restartable {
            c.restart_policy = Some("Always".into());
        }
        self.spec().init_containers.get_or_insert_with(Vec::new).push(c);
        self
    }
    pub fn host_port(mut self, port: i32, protocol: &str, ip: &str) -> Self {
        let p = ContainerPort {
            container_port: port,
            host_port: Some(port),
            protocol: Some(protocol.into()),
            host_ip: (!ip.is_empty()).then(|| ip.to_string()),
            ..Default::default()
        };
        let spec = self.spec();
        if spec.containers.is_empty() {
            spec.containers.push(container(&[]));
        }
        spec.containers[0].ports.get_or_insert_with(Vec::new).push(p);
        self
    }
    pub fn on_node(mut self, node: &str) -> Self {
        self.spec().node_name = Some(node.into());
        self
    }
    pub fn node_selector(mut self, labels: &[(&str, &str)]) -> Self {
        self.spec().node_selector = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        self
    }
    pub fn toleration(mut self, key: &str, op: &str, value: &str, effect: &str) -> Self {
        let s = |x: &str| (!x.is_empty()).then(|| x.to_string());
        let t = Toleration { key: s(key), operator: s(op), value: s(value), effect: s(effect), toleration_seconds: None };
        self.spec().tolerations.get_or_insert_with(Vec::new).push(t);
        self
    }
    fn node_affinity(&mut self) -> &mut NodeAffinity {
        self.affinity().node_affinity.get_or_insert_with(NodeAffinity::default)
    }
    pub fn required_terms(mut self, terms: Vec<NodeSelectorTerm>) -> Self {
        self.node_affinity().required_during_scheduling_ignored_during_execution =
            Some(NodeSelector { node_selector_terms: terms });
        self
    }
    pub fn preferred(mut self, weight: i32, t: NodeSelectorTerm) -> Self {
        let na = self.node_affinity();
        na.preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(PreferredSchedulingTerm { weight, preference: t });
        self
    }
    pub fn priority(mut self, p: i32) -> Self {
        self.spec().priority = Some(p);
        self
    }
    pub fn preemption_policy(mut self, p: &str) -> Self {
        self.spec().preemption_policy = Some(p.into());
        self
    }
    pub fn scheduler_name(mut self, n: &str) -> Self {
        self.spec().scheduler_name = Some(n.into());
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }
    pub fn namespace(mut self, ns: &str) -> Self {
        self.0.metadata.namespace = Some(ns.into());
        self
    }
    /// Controlled by a ReplicaSet with this uid.
    pub fn owner(mut self, uid: &str) -> Self {
        let r = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("rs-{uid}"),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        self.0.metadata.owner_references.get_or_insert_with(Vec::new).push(r);
        self
    }
    pub fn terminating(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(serde_json::from_value(serde_json::json!("2025-01-01T00:00:00Z")).unwrap());
        self
    }
    pub fn spread(mut self, c: TopologySpreadConstraint) -> Self {
        self.spec().topology_spread_constraints.get_or_insert_with(Vec::new).push(c);
        self
    }
    fn affinity(&mut self) -> &mut Affinity {
        self.spec().affinity.get_or_insert_with(Affinity::default)
    }
    pub fn pod_affinity(mut self, t: PodAffinityTerm) -> Self {
        let a = self.affinity().pod_affinity.get_or_insert_with(PodAffinity::default);
        a.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn pod_anti_affinity(mut self, t: PodAffinityTerm) -> Self {
        let a = self.affinity().pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
        a.required_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn preferred_pod_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let a = self.affinity().pod_affinity.get_or_insert_with(PodAffinity::default);
        let w = WeightedPodAffinityTerm { weight, pod_affinity_term: t };
        a.preferred_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(w);
        self
    }
    pub fn preferred_pod_anti_affinity(mut self, weight: i32, t: PodAffinityTerm) -> Self {
        let a = self.affinity().pod_anti_affinity.get_or_insert_with(PodAntiAffinity::default);
        let w = WeightedPodAffinityTerm { weight, pod_affinity_term: t };
        a.preferred_during_scheduling_ignored_during_execution.get_or_insert_with(Vec::new).push(w);
        self
    }
    pub fn build(self) -> Pod {
        self.0
    }
}

pub struct NodeBuilder(Node);

/// A node with 4 CPUs, 8Gi memory, 110 pods, 100Gi ephemeral storage.
pub fn node(name: &str) -> NodeBuilder {
    let alloc = list(&[("cpu", "4"), ("memory", "8Gi"), ("pods", "110"), ("ephemeral-storage", "100Gi")]);
    NodeBuilder(Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("kubernetes.io/hostname".to_string(), name.to_string())].into()),
            ..Default::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus { allocatable: Some(alloc.clone()), capacity: Some(alloc), ..Default::default() }),
    })
}

impl NodeBuilder {
    pub fn alloc(mut self, name: &str, q: &str) -> Self {
        let a = self.0.status.as_mut().unwrap().allocatable.as_mut().unwrap();
        a.insert(name.into(), Quantity(q.into()));
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(BTreeMap::new).insert(k.into(), v.into());
        self
    }
    pub fn taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let t = Taint { key: key.into(), value: (!value.is_empty()).then(|| value.into()), effect: effect.into(), time_added: None };
        self.0.spec.as_mut().unwrap().taints.get_or_insert_with(Vec::new).push(t);
        self
    }
    pub fn unschedulable(mut self) -> Self {
        self.0.spec.as_mut().unwrap().unschedulable = Some(true);
        self
    }
    pub fn build(self) -> Node {
        self.0
    }
}

/// Runs one plugin's PreFilter then Filter on every node: each node's reasons (empty
/// when it passes) and code; `None` when PreFilter skipped.
pub fn filter_all<P: crate::framework::PreFilterPlugin + crate::framework::FilterPlugin>(
    pl: &P,
    pod: &Pod,
    snap: &crate::Snapshot,
) -> Option<Vec<(String, crate::Code)>> {
    let mut state = crate::CycleState::default();
    let (_, st) = pl.pre_filter(&mut state, pod, snap);
    if st.is_skip() {
        return None;
    }
    assert!(st.is_success(), "{st:?}");
    Some(snap.nodes.iter().map(|n| { let s = pl.filter(&state, pod, n); (s.message(), s.code) }).collect())
}

/// Runs one plugin's PreScore, Score and NormalizeScore over every node; `None` when
/// PreScore skipped.
pub fn score_all<P: crate::framework::ScorePlugin>(pl: &P, pod: &Pod, snap: &crate::Snapshot) -> Option<Vec<i64>> {
    let mut state = crate::CycleState::default();
    let nodes: Vec<&crate::NodeInfo> = snap.nodes.iter().collect();
    if pl.pre_score(&mut state, pod, &nodes, snap).is_skip() {
        return None;
    }
    let mut scores: Vec<crate::NodeScore> =
        nodes.iter().map(|n| crate::NodeScore { name: n.name().into(), score: pl.score(&state, pod, n).unwrap() }).collect();
    pl.normalize_score(&state, pod, &mut scores);
    Some(scores.into_iter().map(|s| s.score).collect())
}

/// Schedules pods one at a time with the default profile, assuming each into the
/// snapshot; the chosen node names.
pub fn schedule_each(snap: &mut crate::Snapshot, pods: Vec<Pod>) -> Vec<String> {
    let profile = crate::default_profile();
    pods.into_iter()
        .map(|p| {
            let node = crate::schedule(&p, snap, &profile, 0).unwrap();
            snap.assume(p, &node);
            node
        })
        .collect()
}
