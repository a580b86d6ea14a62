//! Lean decoding of the pods and nodes the scheduler watches.
//!
//! A stored pod carries much the scheduler never reads (managedFields, annotations,
//! container images, env, volumes, probes, container statuses…); decoding all of it into
//! a full `Pod` and then dropping it costs CPU and transient memory on every watch event.
//! [`LeanPod`] and [`LeanNode`] deserialize only what scheduling needs, straight into
//! the k8s-openapi types the core works on, and serde skips the rest without allocating.
//! They implement `kube::Resource` (kind, version and plural of Pod and Node), so they
//! can be watched with an ordinary `Api`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, ContainerPort, Node, NodeSpec, NodeStatus, Pod, PodCondition, PodSchedulingGate, PodSpec,
    PodStatus, ResourceRequirements, Taint, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer};

/// The one pod condition scheduling reads: preemption skips a nominated node where a
/// lower-priority pod is already terminating because of an earlier preemption.
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";

/// A pod with only the fields scheduling reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeanPod(pub Pod);

/// A node with only the fields scheduling reads (name, uid, labels, taints,
/// unschedulable, allocatable).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeanNode(pub Node);

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
}

impl From<RawMeta> for ObjectMeta {
    fn from(m: RawMeta) -> ObjectMeta {
        ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
            resource_version: m.resource_version,
            labels: m.labels,
            owner_references: m.owner_references,
            creation_timestamp: m.creation_timestamp,
            deletion_timestamp: m.deletion_timestamp,
            ..Default::default()
        }
    }
}

#[derive(Deserialize, Default)]
struct RawResources {
    requests: Option<BTreeMap<String, Quantity>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainer {
    #[serde(default)]
    name: String,
    resources: Option<RawResources>,
    ports: Option<Vec<ContainerPort>>,
    restart_policy: Option<String>,
}

impl From<RawContainer> for Container {
    fn from(c: RawContainer) -> Container {
        Container {
            name: c.name,
            resources: c.resources.map(|r| ResourceRequirements { requests: r.requests, ..Default::default() }),
            ports: c.ports,
            restart_policy: c.restart_policy,
            ..Default::default()
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPodSpec {
    #[serde(default)]
    containers: Vec<RawContainer>,
    init_containers: Option<Vec<RawContainer>>,
    node_name: Option<String>,
    scheduler_name: Option<String>,
    priority: Option<i32>,
    preemption_policy: Option<String>,
    node_selector: Option<BTreeMap<String, String>>,
    affinity: Option<Affinity>,
    tolerations: Option<Vec<Toleration>>,
    topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    scheduling_gates: Option<Vec<PodSchedulingGate>>,
    overhead: Option<BTreeMap<String, Quantity>>,
}

impl From<RawPodSpec> for PodSpec {
    fn from(s: RawPodSpec) -> PodSpec {
        PodSpec {
            containers: s.containers.into_iter().map(Container::from).collect(),
            init_containers: s.init_containers.map(|v| v.into_iter().map(Container::from).collect()),
            node_name: s.node_name,
            scheduler_name: s.scheduler_name,
            priority: s.priority,
            preemption_policy: s.preemption_policy,
            node_selector: s.node_selector,
            affinity: s.affinity,
            tolerations: s.tolerations,
            topology_spread_constraints: s.topology_spread_constraints,
            scheduling_gates: s.scheduling_gates,
            overhead: s.overhead,
            ..Default::default()
        }
    }
}

#[derive(Deserialize)]
struct RawCondition {
    #[serde(rename = "type", default)]
    type_: String,
    #[serde(default)]
    status: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPodStatus {
    phase: Option<String>,
    nominated_node_name: Option<String>,
    conditions: Option<Vec<RawCondition>>,
}

impl From<RawPodStatus> for PodStatus {
    fn from(s: RawPodStatus) -> PodStatus {
        let conditions: Vec<PodCondition> = s
            .conditions
            .into_iter()
            .flatten()
            .filter(|c| c.type_ == DISRUPTION_TARGET)
            .map(|c| PodCondition { type_: c.type_, status: c.status, reason: c.reason, ..Default::default() })
            .collect();
        PodStatus {
            phase: s.phase,
            nominated_node_name: s.nominated_node_name,
            conditions: (!conditions.is_empty()).then_some(conditions),
            ..Default::default()
        }
    }
}

#[derive(Deserialize)]
struct RawPod {
    #[serde(default)]
    metadata: RawMeta,
    spec: Option<RawPodSpec>,
    status: Option<RawPodStatus>,
}

impl<'de> Deserialize<'de> for LeanPod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawPod::deserialize(d)?;
        Ok(LeanPod(Pod {
            metadata: raw.metadata.into(),
            spec: raw.spec.map(PodSpec::from),
            status: raw.status.map(PodStatus::from),
        }))
    }
}

#[derive(Deserialize)]
struct RawNodeSpec {
    taints: Option<Vec<Taint>>,
    unschedulable: Option<bool>,
}

#[derive(Deserialize)]
struct RawNodeStatus {
    allocatable: Option<BTreeMap<String, Quantity>>,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    metadata: RawMeta,
    spec: Option<RawNodeSpec>,
    status: Option<RawNodeStatus>,
}

impl<'de> Deserialize<'de> for LeanNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawNode::deserialize(d)?;
        let meta = raw.metadata;
        Ok(LeanNode(Node {
            // Nodes are cluster-scoped; owner references and timestamps are not read.
            metadata: ObjectMeta {
                name: meta.name,
                uid: meta.uid,
                resource_version: meta.resource_version,
                labels: meta.labels,
                ..Default::default()
            },
            spec: raw.spec.map(|s| NodeSpec { taints: s.taints, unschedulable: s.unschedulable, ..Default::default() }),
            status: raw.status.map(|s| NodeStatus { allocatable: s.allocatable, ..Default::default() }),
        }))
    }
}

macro_rules! lean_resource {
    ($lean:ty, $full:ty, $scope:ty) => {
        impl kube::Resource for $lean {
            type DynamicType = ();
            type Scope = $scope;

            fn kind(_: &()) -> Cow<'_, str> {
                <$full as k8s_openapi::Resource>::KIND.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                <$full as k8s_openapi::Resource>::GROUP.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                <$full as k8s_openapi::Resource>::VERSION.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                <$full as k8s_openapi::Resource>::URL_PATH_SEGMENT.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.0.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.0.metadata
            }
        }
    };
}

lean_resource!(LeanPod, Pod, k8s_openapi::NamespaceResourceScope);
lean_resource!(LeanNode, Node, k8s_openapi::ClusterResourceScope);

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    /// A pod as the API server stores it after admission and a kubelet status update.
    const POD: &str = r#"{
      "apiVersion": "v1", "kind": "Pod",
      "metadata": {
        "name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "42", "generation": 1,
        "creationTimestamp": "2025-01-02T03:04:05Z",
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1", "controller": true, "blockOwnerDeletion": true}],
        "finalizers": ["example.com/x"],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "2025-01-02T03:04:05Z",
                           "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:containers": {}}}}]
      },
      "spec": {
        "containers": [{
          "name": "c", "image": "busybox:1.36", "command": ["sleep", "1d"], "env": [{"name": "A", "value": "b"}],
          "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}, "limits": {"cpu": "1"}},
          "ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}],
          "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
          "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"
        }],
        "initContainers": [{"name": "sidecar", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}],
        "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
        "schedulerName": "default-scheduler", "priority": 7, "preemptionPolicy": "PreemptLowerPriority",
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}],
        "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}},
        "overhead": {"cpu": "10m"}
      },
      "status": {
        "phase": "Pending", "qosClass": "Burstable", "nominatedNodeName": "n1",
        "conditions": [
          {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available", "lastTransitionTime": "2025-01-02T03:04:06Z"},
          {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler", "lastTransitionTime": "2025-01-02T03:04:07Z"}
        ],
        "containerStatuses": [{"name": "c", "image": "busybox:1.36", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}],
        "hostIPs": [{"ip": "10.0.0.1"}], "podIPs": [{"ip": "10.1.0.5"}]
      }
    }"#;

    #[test]
    fn lean_pod_keeps_what_scheduling_reads() {
        let full: Pod = serde_json::from_str(POD).unwrap();
        let LeanPod(lean) = serde_json::from_str(POD).unwrap();
        // Metadata: identity, labels, owners and timestamps; nothing else.
        let m = &lean.metadata;
        assert_eq!(m.name.as_deref(), Some("web-1"));
        assert_eq!(m.namespace.as_deref(), Some("shop"));
        assert_eq!(m.uid.as_deref(), Some("u-1"));
        assert_eq!(m.resource_version.as_deref(), Some("42"));
        assert_eq!(m.labels, full.metadata.labels);
        assert_eq!(m.owner_references, full.metadata.owner_references);
        assert_eq!(m.creation_timestamp, full.metadata.creation_timestamp);
        assert!(m.managed_fields.is_none() && m.annotations.is_none() && m.finalizers.is_none());
        // Spec: every field a plugin reads is as in the full decode.
        let (s, f) = (lean.spec.as_ref().unwrap(), full.spec.as_ref().unwrap());
        assert_eq!(s.priority, Some(7));
        assert_eq!(s.scheduler_name, f.scheduler_name);
        assert_eq!(s.preemption_policy, f.preemption_policy);
        assert_eq!(s.node_selector, f.node_selector);
        assert_eq!(s.tolerations, f.tolerations);
        assert_eq!(s.topology_spread_constraints, f.topology_spread_constraints);
        assert_eq!(s.affinity, f.affinity);
        assert_eq!(s.overhead, f.overhead);
        assert_eq!(s.containers[0].ports, f.containers[0].ports);
        assert_eq!(s.containers[0].resources.as_ref().unwrap().requests, f.containers[0].resources.as_ref().unwrap().requests);
        assert!(s.containers[0].image.is_none() && s.containers[0].env.is_none() && s.volumes.is_none());
        assert_eq!(s.init_containers.as_ref().unwrap()[0].restart_policy.as_deref(), Some("Always"));
        // Requests, as the core computes them, agree with the full pod's.
        use crate::resource::{pod_requests, Defaults};
        assert_eq!(pod_requests(&lean, Defaults::None), pod_requests(&full, Defaults::None));
        assert_eq!(pod_requests(&lean, Defaults::NonZero), pod_requests(&full, Defaults::NonZero));
        // Status: phase, nomination and only the DisruptionTarget condition.
        let st = lean.status.as_ref().unwrap();
        assert_eq!(st.phase.as_deref(), Some("Pending"));
        assert_eq!(st.nominated_node_name.as_deref(), Some("n1"));
        let conds = st.conditions.as_ref().unwrap();
        assert_eq!(conds.len(), 1);
        assert_eq!((conds[0].type_.as_str(), conds[0].reason.as_deref()), (DISRUPTION_TARGET, Some("PreemptionByScheduler")));
        assert!(st.container_statuses.is_none() && st.pod_ips.is_none() && st.qos_class.is_none());
        assert!(crate::needs_scheduling(&lean, crate::DEFAULT_SCHEDULER_NAME));
    }

    #[test]
    fn lean_pod_decodes_minimal_and_null_fields() {
        let LeanPod(p) = serde_json::from_str(r#"{"metadata": {"name": "p", "labels": null}, "spec": {"containers": [{"name": "c"}]}, "status": {}}"#).unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("p"));
        assert!(p.metadata.labels.is_none());
        assert_eq!(p.spec.unwrap().containers.len(), 1);
        assert_eq!(p.status, Some(PodStatus::default()));
    }

    #[test]
    fn lean_node_keeps_labels_taints_and_allocatable() {
        let json = r#"{
          "apiVersion": "v1", "kind": "Node",
          "metadata": {"name": "n1", "uid": "nu", "resourceVersion": "9", "labels": {"zone": "a"}, "annotations": {"x": "y"},
                       "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
          "spec": {"podCIDR": "10.0.0.0/24", "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "unschedulable": true},
          "status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "4", "pods": "110"},
                     "conditions": [{"type": "Ready", "status": "True"}],
                     "images": [{"names": ["busybox"], "sizeBytes": 1}],
                     "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "k", "osImage": "o",
                                  "containerRuntimeVersion": "c", "kubeletVersion": "v", "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}
        }"#;
        let full: Node = serde_json::from_str(json).unwrap();
        let LeanNode(n) = serde_json::from_str(json).unwrap();
        assert_eq!(n.metadata.name.as_deref(), Some("n1"));
        assert_eq!(n.metadata.labels, full.metadata.labels);
        assert!(n.metadata.annotations.is_none() && n.metadata.managed_fields.is_none());
        let spec = n.spec.as_ref().unwrap();
        assert_eq!(spec.taints, full.spec.as_ref().unwrap().taints);
        assert_eq!(spec.unschedulable, Some(true));
        assert!(spec.pod_cidr.is_none());
        let status = n.status.as_ref().unwrap();
        assert_eq!(status.allocatable, full.status.as_ref().unwrap().allocatable);
        assert!(status.conditions.is_none() && status.images.is_none() && status.node_info.is_none());
    }

    #[test]
    fn resource_identity() {
        assert_eq!(LeanPod::kind(&()), "Pod");
        assert_eq!(LeanPod::api_version(&()), "v1");
        assert_eq!(LeanPod::url_path(&(), Some("ns")), "/api/v1/namespaces/ns/pods");
        assert_eq!(LeanNode::url_path(&(), None), "/api/v1/nodes");
        assert_eq!(LeanNode::kind(&()), "Node");
    }
}
