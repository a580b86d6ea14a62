//! Builders for test pods and nodes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    NodeSpec, NodeStatus, Pod, PodSpec, PreferredSchedulingTerm, ResourceRequirements, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub fn list(items: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    items.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

pub fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement { key: key.into(), operator: op.into(), values: Some(values.iter().map(|s| s.to_string()).collect()) }
}

pub fn term(exprs: Vec<NodeSelectorRequirement>, fields: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm { match_expressions: Some(exprs), match_fields: Some(fields) }
}

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
        let a = self.spec().affinity.get_or_insert_with(Affinity::default);
        a.node_affinity.get_or_insert_with(NodeAffinity::default)
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
