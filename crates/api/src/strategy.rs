//! What differs between kinds in the generic create/update/delete flow, beyond
//! defaulting and validation: status resets, generation tracking, QoS class.

use serde_json::{json, Value};

use crate::registry::ResourceDef;

/// Kinds whose `metadata.generation` starts at 1 and increases on spec changes.
const GENERATION_KINDS: &[(&str, &str)] = &[
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "ReplicationController"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
];

/// Kinds for which PUT of a missing object creates it (upstream's AllowCreateOnUpdate).
const CREATE_ON_UPDATE_KINDS: &[(&str, &str)] =
    &[("", "Endpoints"), ("", "Event"), ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease"), ("", "LimitRange")];

pub fn tracks_generation(def: &ResourceDef) -> bool {
    GENERATION_KINDS.contains(&(def.group, def.kind))
}

pub fn create_on_update(def: &ResourceDef) -> bool {
    CREATE_ON_UPDATE_KINDS.contains(&(def.group, def.kind))
}

pub fn has_status(def: &ResourceDef) -> bool {
    def.subresource("status").is_some()
}

/// The status a new object starts with; `None` keeps what the client sent.
fn initial_status(def: &ResourceDef, obj: &Value) -> Option<Value> {
    match (def.group, def.kind) {
        ("", "Pod") => Some(json!({"phase": "Pending", "qosClass": qos_class(obj.get("spec"))})),
        ("", "Namespace") => Some(json!({"phase": "Active"})),
        ("", "PersistentVolume") | ("", "PersistentVolumeClaim") => Some(json!({"phase": "Pending"})),
        ("", "Service") => Some(json!({"loadBalancer": {}})),
        ("", "Node") => None,
        _ if has_status(def) => Some(json!({})),
        _ => None,
    }
}

/// Resets what a client may not set on create (status of kinds with a status
/// subresource) and starts the generation.
pub fn prepare_for_create(def: &ResourceDef, obj: &mut Value) {
    if let Some(status) = initial_status(def, obj) {
        obj["status"] = status;
    }
    if tracks_generation(def) {
        obj["metadata"]["generation"] = json!(1);
    }
    if def.group.is_empty() && def.kind == "Namespace" {
        // Every namespace is emptied before it goes: the namespace controller's finalizer.
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    if def.group.is_empty() && def.kind == "Pod" {
        add_default_toleration_seconds(obj);
    }
}

/// Upstream's DefaultTolerationSeconds admission: a pod that does not tolerate the
/// `not-ready` and `unreachable` NoExecute taints tolerates them for 300 s, so a node
/// that stops reporting has its pods evicted after five minutes.
pub fn add_default_toleration_seconds(pod: &mut Value) {
    const TAINTS: [&str; 2] = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
    let spec = &mut pod["spec"];
    if !spec.is_object() {
        return;
    }
    let existing = spec["tolerations"].as_array().cloned().unwrap_or_default();
    let tolerates = |key: &str| {
        existing.iter().any(|t| {
            let effect_ok = matches!(t["effect"].as_str(), None | Some("") | Some("NoExecute"));
            let key_ok = match t["operator"].as_str() {
                Some("Exists") => t["key"].as_str().is_none_or(|k| k.is_empty() || k == key),
                _ => t["key"].as_str() == Some(key),
            };
            effect_ok && key_ok
        })
    };
    let mut all = existing.clone();
    for key in TAINTS {
        if !tolerates(key) {
            all.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if all.len() != existing.len() {
        spec["tolerations"] = Value::Array(all);
    }
}

/// The parts of an object that count as its spec when deciding on a new generation:
/// everything but metadata and status.
pub fn spec_changed(new: &Value, old: &Value) -> bool {
    const NOT_SPEC: [&str; 4] = ["metadata", "status", "apiVersion", "kind"];
    let (Some(n), Some(o)) = (new.as_object(), old.as_object()) else { return new != old };
    let spec = |m: &'_ serde_json::Map<String, Value>| m.iter().filter(|(k, _)| !NOT_SPEC.contains(&k.as_str())).count();
    spec(n) != spec(o) || n.iter().filter(|(k, _)| !NOT_SPEC.contains(&k.as_str())).any(|(k, v)| o.get(k) != Some(v))
}

fn resource_list(c: &Value, which: &str) -> Vec<(String, String)> {
    c.get("resources")
        .and_then(|r| r.get(which))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// Upstream's pod QoS class from the containers' requests and limits.
pub fn qos_class(spec: Option<&Value>) -> &'static str {
    let Some(spec) = spec else { return "BestEffort" };
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|f| spec.get(*f).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = resource_list(c, "requests");
        let limits = resource_list(c, "limits");
        let relevant = |l: &[(String, String)]| l.iter().filter(|(k, _)| k == "cpu" || k == "memory").count();
        if relevant(&requests) + relevant(&limits) > 0 {
            any = true;
        }
        for res in ["cpu", "memory"] {
            let limit = limits.iter().find(|(k, _)| k == res);
            let request = requests.iter().find(|(k, _)| k == res);
            match (limit, request) {
                (Some((_, l)), Some((_, r))) if l != r => guaranteed = false,
                (None, _) => guaranteed = false,
                _ => {}
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        _ => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        let c = |r: Value| json!({"containers": [{"name": "a", "resources": r}]});
        assert_eq!(qos_class(Some(&c(json!({})))), "BestEffort");
        assert_eq!(qos_class(Some(&c(json!({"limits": {"cpu": "1", "memory": "1Gi"}})))), "Guaranteed");
        assert_eq!(qos_class(Some(&c(json!({"requests": {"cpu": "1"}})))), "Burstable");
    }
}
