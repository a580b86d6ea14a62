//! The Node authorizer and the NodeRestriction admission plugin: a kubelet
//! (`system:node:<name>` in `system:nodes`) reads only the secrets, config maps, volumes
//! and service account tokens of pods bound to it, and writes only its own Node, its
//! own Lease and the status of its pods. Other requests are judged by the static
//! `system:node` rules.

use std::sync::OnceLock;

use serde_json::Value;

use super::{bootstrap, Attributes, PolicyRule, UserInfo};
use crate::selector::FieldSelector;

pub const NODES_GROUP: &str = "system:nodes";
pub const NODE_USER_PREFIX: &str = "system:node:";
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// `NodeIdentity`: the node a credential speaks for (possibly empty: a node credential
/// naming no node), or None for a user that is not a node.
pub fn node_identity(user: &UserInfo) -> Option<&str> {
    let name = user.name.strip_prefix(NODE_USER_PREFIX)?;
    user.in_group(NODES_GROUP).then_some(name)
}

/// Kinds of objects whose access depends on their relation to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vertex {
    Pod,
    Secret,
    ConfigMap,
    PersistentVolumeClaim,
    PersistentVolume,
    ServiceAccount,
    ResourceClaim,
    VolumeAttachment,
}

/// What the authorizer knows of the cluster: whether an object is related to a node
/// (a pod bound to it, or something such a pod uses).
pub trait NodeGraph {
    fn related(&self, node: &str, kind: Vertex, namespace: &str, name: &str) -> bool;
}

/// A graph that relates nothing (for callers that judge no node requests).
pub struct NoGraph;

impl NodeGraph for NoGraph {
    fn related(&self, _: &str, _: Vertex, _: &str, _: &str) -> bool {
        false
    }
}

/// The rules every node gets for resources the graph does not subdivide.
pub fn node_rules() -> &'static [PolicyRule] {
    static RULES: OnceLock<Vec<PolicyRule>> = OnceLock::new();
    RULES.get_or_init(bootstrap::node_rules)
}

type Verdict = Result<(), String>;

fn deny(reason: impl Into<String>) -> Verdict {
    Err(reason.into())
}

/// The Node authorizer: Ok to allow, Err(reason) for no opinion.
pub fn authorize(node: &str, a: &Attributes, graph: &dyn NodeGraph) -> Verdict {
    if a.resource_request {
        let related = |kind| relation(node, kind, a, graph);
        match (a.api_group.as_str(), a.resource.as_str()) {
            ("", "secrets") => return read_namespaced(a).and_then(|_| related(Vertex::Secret)),
            ("", "configmaps") => return read_namespaced(a).and_then(|_| related(Vertex::ConfigMap)),
            ("", "persistentvolumeclaims") if a.subresource == "status" => {
                if !matches!(a.verb.as_str(), "update" | "patch") {
                    return deny("can only get/update/patch this type");
                }
                return related(Vertex::PersistentVolumeClaim);
            }
            ("", "persistentvolumeclaims") => return get_only(a).and_then(|_| related(Vertex::PersistentVolumeClaim)),
            ("", "persistentvolumes") => return get_only(a).and_then(|_| related(Vertex::PersistentVolume)),
            ("resource.k8s.io", "resourceclaims") => return get_only(a).and_then(|_| related(Vertex::ResourceClaim)),
            ("storage.k8s.io", "volumeattachments") => return get_only(a).and_then(|_| related(Vertex::VolumeAttachment)),
            ("", "serviceaccounts") => {
                if a.verb != "create" || a.name.is_empty() {
                    return deny("can only create tokens for individual service accounts");
                }
                if a.subresource != "token" {
                    return deny("can only create token subresource of serviceaccount");
                }
                return related(Vertex::ServiceAccount);
            }
            ("coordination.k8s.io", "leases") => return lease(node, a),
            ("storage.k8s.io", "csinodes") => return csinode(node, a),
            ("", "nodes") => return own_node(node, a),
            ("", "pods") => return pod(node, a, graph),
            _ => {}
        }
    }
    if node_rules().iter().any(|r| r.allows(a)) {
        Ok(())
    } else {
        deny("")
    }
}

fn relation(node: &str, kind: Vertex, a: &Attributes, graph: &dyn NodeGraph) -> Verdict {
    if a.name.is_empty() {
        return deny("No Object name found");
    }
    if graph.related(node, kind, &a.namespace, &a.name) {
        Ok(())
    } else {
        deny(format!("no relationship found between node '{node}' and this object"))
    }
}

fn read_namespaced(a: &Attributes) -> Verdict {
    if !matches!(a.verb.as_str(), "get" | "list" | "watch") {
        return deny("can only read resources of this type");
    }
    if !a.subresource.is_empty() {
        return deny("cannot read subresource");
    }
    if a.namespace.is_empty() {
        return deny("can only read namespaced object of this type");
    }
    Ok(())
}

fn get_only(a: &Attributes) -> Verdict {
    if a.verb != "get" {
        return deny("can only get individual resources of this type");
    }
    if !a.subresource.is_empty() {
        return deny("cannot get subresource");
    }
    Ok(())
}

fn lease(node: &str, a: &Attributes) -> Verdict {
    if !matches!(a.verb.as_str(), "get" | "create" | "update" | "patch" | "delete") {
        return deny("can only get, create, update, patch, or delete a node lease");
    }
    if a.namespace != NODE_LEASE_NAMESPACE {
        return deny(format!("can only access leases in the \"{NODE_LEASE_NAMESPACE}\" system namespace"));
    }
    // The name of a create is checked by NodeRestriction, which sees the object.
    if a.verb != "create" && a.name != node {
        return deny("can only access node lease with the same name as the requesting node");
    }
    Ok(())
}

fn csinode(node: &str, a: &Attributes) -> Verdict {
    if !matches!(a.verb.as_str(), "get" | "create" | "update" | "patch" | "delete") {
        return deny("can only get, create, update, patch, or delete a CSINode");
    }
    if !a.subresource.is_empty() {
        return deny("cannot authorize CSINode subresources");
    }
    if a.verb != "create" && a.name != node {
        return deny("can only access CSINode with the same name as the requesting node");
    }
    Ok(())
}

fn own_node(node: &str, a: &Attributes) -> Verdict {
    match (a.subresource.as_str(), a.verb.as_str()) {
        // NodeRestriction limits writes to the node's own object.
        ("", "create" | "update" | "patch") | ("status", "update" | "patch") => Ok(()),
        ("", "get" | "list" | "watch") if a.name == node => Ok(()),
        ("", "get" | "list" | "watch") if a.name.is_empty() => {
            deny(format!("node '{node}' cannot read all nodes, only its own Node object"))
        }
        ("", "get" | "list" | "watch") => deny(format!("node '{node}' cannot read '{}', only its own Node object", a.name)),
        _ => deny(""),
    }
}

fn selects_node(a: &Attributes, field: &str, node: &str) -> bool {
    FieldSelector::parse(&a.field_selector).ok().is_some_and(|s| s.exact(field) == Some(node))
}

fn pod(node: &str, a: &Attributes, graph: &dyn NodeGraph) -> Verdict {
    match (a.subresource.as_str(), a.verb.as_str()) {
        ("", "get") => relation(node, Vertex::Pod, a, graph),
        ("", "list" | "watch") if selects_node(a, "spec.nodeName", node) => Ok(()),
        ("", "list" | "watch") if !a.name.is_empty() => relation(node, Vertex::Pod, a, graph),
        ("", "list" | "watch") => deny("can only list/watch pods with spec.nodeName field selector"),
        // Mirror pods; NodeRestriction limits them to pods bound to this node.
        ("", "create" | "delete") | ("status", "update" | "patch") | ("eviction", "create") => Ok(()),
        _ => deny(""),
    }
}

/// The objects a pod uses, as the Node authorizer's graph records them.
#[derive(Debug, Default, PartialEq)]
pub struct PodRefs {
    pub secrets: Vec<String>,
    pub config_maps: Vec<String>,
    pub claims: Vec<String>,
    pub resource_claims: Vec<String>,
    pub service_account: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str().filter(|s| !s.is_empty())
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The secrets, config maps, claims and service account a pod references.
pub fn pod_references(pod: &Value) -> PodRefs {
    let spec = &pod["spec"];
    let mut r = PodRefs::default();
    let push = |list: &mut Vec<String>, s: Option<&str>| {
        if let Some(s) = s {
            if !list.iter().any(|x| x == s) {
                list.push(s.to_string());
            }
        }
    };
    for s in items(spec, "imagePullSecrets") {
        push(&mut r.secrets, str_at(s, &["name"]));
    }
    for kind in ["initContainers", "containers", "ephemeralContainers"] {
        for c in items(spec, kind) {
            for e in items(c, "envFrom") {
                push(&mut r.secrets, str_at(e, &["secretRef", "name"]));
                push(&mut r.config_maps, str_at(e, &["configMapRef", "name"]));
            }
            for e in items(c, "env") {
                push(&mut r.secrets, str_at(e, &["valueFrom", "secretKeyRef", "name"]));
                push(&mut r.config_maps, str_at(e, &["valueFrom", "configMapKeyRef", "name"]));
            }
        }
    }
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    for v in items(spec, "volumes") {
        push(&mut r.secrets, str_at(v, &["secret", "secretName"]));
        push(&mut r.secrets, str_at(v, &["azureFile", "secretName"]));
        for plugin in ["cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos"] {
            push(&mut r.secrets, str_at(v, &[plugin, "secretRef", "name"]));
        }
        push(&mut r.secrets, str_at(v, &["csi", "nodePublishSecretRef", "name"]));
        push(&mut r.config_maps, str_at(v, &["configMap", "name"]));
        for src in items(&v["projected"], "sources") {
            push(&mut r.secrets, str_at(src, &["secret", "name"]));
            push(&mut r.config_maps, str_at(src, &["configMap", "name"]));
        }
        push(&mut r.claims, str_at(v, &["persistentVolumeClaim", "claimName"]));
        if v.get("ephemeral").is_some_and(|e| !e.is_null()) {
            let claim = format!("{pod_name}-{}", v["name"].as_str().unwrap_or(""));
            push(&mut r.claims, Some(&claim));
        }
    }
    for s in items(&pod["status"], "resourceClaimStatuses") {
        push(&mut r.resource_claims, str_at(s, &["resourceClaimName"]));
    }
    r.service_account = spec["serviceAccountName"].as_str().unwrap_or("").to_string();
    r
}

/// Whether a pod references an object of `kind` named `name` (in the pod's namespace).
pub fn pod_uses(pod: &Value, kind: Vertex, name: &str) -> bool {
    let r = pod_references(pod);
    let has = |v: &Vec<String>| v.iter().any(|x| x == name);
    match kind {
        Vertex::Secret => has(&r.secrets),
        Vertex::ConfigMap => has(&r.config_maps),
        Vertex::PersistentVolumeClaim => has(&r.claims),
        Vertex::ResourceClaim => has(&r.resource_claims),
        Vertex::ServiceAccount => r.service_account == name,
        _ => false,
    }
}

/// The admission operation NodeRestriction judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// One write by a node, as NodeRestriction sees it.
pub struct Write<'a> {
    pub node: &'a str,
    pub operation: Operation,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
    pub namespace: &'a str,
    /// The object written (create and update).
    pub object: Option<&'a Value>,
    /// The stored object (update and delete).
    pub old: Option<&'a Value>,
}

fn node_name_of(pod: Option<&Value>) -> &str {
    pod.and_then(|p| p["spec"]["nodeName"].as_str()).unwrap_or("")
}

/// NodeRestriction: Err(why) to refuse the write (the caller wraps it in Forbidden).
pub fn admit(w: &Write) -> Result<(), String> {
    let node = w.node;
    if node.is_empty() {
        return Err("could not determine node from user".into());
    }
    match (w.api_group, w.resource, w.subresource) {
        ("", "pods", "") => match w.operation {
            Operation::Create => admit_mirror_pod(node, w.object.unwrap_or(&Value::Null)),
            Operation::Delete if node_name_of(w.old) != node => {
                Err(format!("node \"{node}\" can only delete pods with spec.nodeName set to itself"))
            }
            Operation::Delete => Ok(()),
            Operation::Update => Err(format!("unexpected operation \"UPDATE\", node \"{node}\" can only create and delete mirror pods")),
        },
        ("", "pods", "status") => {
            if node_name_of(w.old) != node {
                return Err(format!("node \"{node}\" can only update pod status for pods with spec.nodeName set to itself"));
            }
            let labels = |v: Option<&Value>| v.map(|p| p["metadata"]["labels"].clone()).filter(|l| !l.is_null() && l != &serde_json::json!({}));
            if labels(w.object) != labels(w.old) {
                return Err(format!("node \"{node}\" cannot update labels through pod status"));
            }
            Ok(())
        }
        ("", "pods", sub) if sub != "eviction" => {
            Err(format!("unexpected pod subresource \"{sub}\", only 'status' and 'eviction' are allowed"))
        }
        ("", "nodes", _) if w.name != node => Err(format!("node \"{node}\" is not allowed to modify node \"{}\"", w.name)),
        ("", "nodes", "") if w.operation == Operation::Create => {
            let has_config_source = w.object.is_some_and(|n| !n["spec"]["configSource"].is_null());
            if has_config_source {
                return Err(format!("node \"{node}\" is not allowed to create pods with a non-nil configSource"));
            }
            Ok(())
        }
        ("", "persistentvolumeclaims", sub) if sub != "status" => Err("may only update PVC status".into()),
        ("coordination.k8s.io", "leases", _) if w.namespace == NODE_LEASE_NAMESPACE && w.name != node => {
            Err("can only access node lease with the same name as the requesting node".into())
        }
        ("storage.k8s.io", "csinodes", _) if w.name != node => {
            Err("can only access CSINode with the same name as the requesting node".into())
        }
        _ => Ok(()),
    }
}

fn admit_mirror_pod(node: &str, pod: &Value) -> Result<(), String> {
    if pod["metadata"]["annotations"].get(MIRROR_POD_ANNOTATION).is_none() {
        return Err(format!("pod does not have \"{MIRROR_POD_ANNOTATION}\" annotation, node \"{node}\" can only create mirror pods"));
    }
    if node_name_of(Some(pod)) != node {
        return Err(format!("node \"{node}\" can only create pods with spec.nodeName set to itself"));
    }
    let owners = pod["metadata"]["ownerReferences"].as_array().cloned().unwrap_or_default();
    match owners.as_slice() {
        [] => return Err(format!("node \"{node}\" can only create pods with an owner reference set to itself")),
        [o] => {
            if o["apiVersion"] != "v1" || o["kind"] != "Node" || o["name"] != node {
                return Err(format!("node \"{node}\" can only create pods with an owner reference set to itself"));
            }
            if o["controller"] != true {
                return Err(format!("node \"{node}\" can only create pods with a controller owner reference set to itself"));
            }
            if o["blockOwnerDeletion"] == true {
                return Err(format!("node \"{node}\" must not set blockOwnerDeletion on an owner reference"));
            }
        }
        _ => return Err(format!("node \"{node}\" can only create pods with a single owner reference set to itself")),
    }
    let refs = pod_references(pod);
    if !refs.service_account.is_empty() {
        return Err(format!("node \"{node}\" can not create pods that reference a service account"));
    }
    if !refs.secrets.is_empty() {
        return Err(format!("node \"{node}\" can not create pods that reference secrets"));
    }
    if !refs.config_maps.is_empty() {
        return Err(format!("node \"{node}\" can not create pods that reference configmaps"));
    }
    let pvc = items(&pod["spec"], "volumes").any(|v| v.get("persistentVolumeClaim").is_some_and(|c| !c.is_null()));
    if pvc {
        return Err(format!("node \"{node}\" can not create pods that reference persistentvolumeclaims"));
    }
    Ok(())
}
