//! Printers for networking.k8s.io, discovery.k8s.io and storage.k8s.io kinds.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::util::{
    age, annotation, arr, at, boolean, format_selector, lb_ingress, len, list_with_more, name,
    opt_s, s,
};

/// formatHosts: the first three non-empty rule hosts, "*" when none.
fn ingress_hosts(rules: &[Value]) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        more |= hosts.len() == 3;
        if !more && !s(rule, "host").is_empty() {
            hosts.push(s(rule, "host"));
        }
    }
    if hosts.is_empty() {
        return "*".to_string();
    }
    let ret = hosts.join(",");
    if more {
        format!("{ret} + {} more...", rules.len() - 3)
    } else {
        ret
    }
}

pub fn ingress(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports = if arr(obj, "spec.tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(obj),
        opt_s(obj, "spec.ingressClassName")
            .unwrap_or("<none>")
            .into(),
        ingress_hosts(arr(obj, "spec.rules")).into(),
        lb_ingress(at(obj, "status.loadBalancer")).join(",").into(),
        ports.into(),
        age(obj, now),
    ]
}

pub fn ingress_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let params = match at(obj, "spec.parameters").filter(|v| v.is_object()) {
        Some(p) => {
            let kind = match opt_s(p, "apiGroup") {
                Some(g) => format!("{}.{g}", s(p, "kind")),
                None => s(p, "kind").to_string(),
            };
            format!("{kind}/{}", s(p, "name"))
        }
        None => "<none>".to_string(),
    };
    vec![
        name(obj),
        s(obj, "spec.controller").into(),
        params.into(),
        age(obj, now),
    ]
}

pub fn network_policy(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let empty = Value::Object(Default::default());
    let selector = at(obj, "spec.podSelector").unwrap_or(&empty);
    vec![
        name(obj),
        format_selector(Some(selector)).into(),
        age(obj, now),
    ]
}

pub fn service_cidr(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(obj, "spec.cidrs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    vec![name(obj), cidrs.join(",").into(), age(obj, now)]
}

/// Upstream also appends an AGE cell although the kind has no AGE column;
/// it is left out here so that cells match columns.
pub fn ip_address(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let parent = match at(obj, "spec.parentRef").filter(|v| v.is_object()) {
        Some(p) => {
            let (group, resource) = (s(p, "group"), s(p, "resource"));
            let mut out = if group.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}.{group}")
            };
            out = out.to_lowercase();
            if !s(p, "namespace").is_empty() {
                out = format!("{out}/{}", s(p, "namespace"));
            }
            format!("{out}/{}", s(p, "name"))
        }
        None => "<none>".to_string(),
    };
    vec![name(obj), parent.into()]
}

fn slice_ports(ports: &[Value]) -> String {
    let list: Vec<String> = ports
        .iter()
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => opt_s(p, "name").unwrap_or("*").to_string(),
        })
        .collect();
    list_with_more(&list, list.len(), 3)
}

fn slice_endpoints(endpoints: &[Value]) -> String {
    let list: Vec<String> = endpoints
        .iter()
        .flat_map(|e| {
            arr(e, "addresses")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    list_with_more(&list, list.len(), 3)
}

pub fn endpoint_slice(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "addressType").into(),
        slice_ports(arr(obj, "ports")).into(),
        slice_endpoints(arr(obj, "endpoints")).into(),
        age(obj, now),
    ]
}

pub fn csi_node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), len(obj, "spec.drivers").into(), age(obj, now)]
}

fn bool_or(obj: &Value, path: &str, default: bool) -> Value {
    at(obj, path)
        .and_then(Value::as_bool)
        .unwrap_or(default)
        .into()
}

pub fn csi_driver(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let modes: Vec<&str> = arr(obj, "spec.volumeLifecycleModes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let tokens = match at(obj, "spec.tokenRequests").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|t| s(t, "audience"))
            .collect::<Vec<_>>()
            .join(","),
        None => "<unset>".to_string(),
    };
    vec![
        name(obj),
        bool_or(obj, "spec.attachRequired", true),
        bool_or(obj, "spec.podInfoOnMount", false),
        bool_or(obj, "spec.storageCapacity", false),
        tokens.into(),
        bool_or(obj, "spec.requiresRepublish", false),
        super::util::none_if_empty(modes.join(",")).into(),
        age(obj, now),
    ]
}

pub fn csi_storage_capacity(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let capacity = match at(obj, "capacity") {
        Some(Value::String(q)) => q.clone(),
        _ => "<unset>".to_string(),
    };
    vec![
        name(obj),
        s(obj, "storageClassName").into(),
        capacity.into(),
    ]
}

fn default_marked(obj: &Value, keys: &[&str]) -> Value {
    let is_default = keys.iter().any(|k| annotation(obj, k) == Some("true"));
    let n = s(obj, "metadata.name");
    Value::from(if is_default {
        format!("{n} (default)")
    } else {
        n.to_string()
    })
}

pub fn storage_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let keys = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ];
    vec![
        default_marked(obj, &keys),
        s(obj, "provisioner").into(),
        opt_s(obj, "reclaimPolicy").unwrap_or("Delete").into(),
        opt_s(obj, "volumeBindingMode")
            .unwrap_or("Immediate")
            .into(),
        boolean(obj, "allowVolumeExpansion").into(),
        age(obj, now),
    ]
}

pub fn volume_attributes_class(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let keys = ["volumeattributesclass.alpha.kubernetes.io/is-default-class"];
    vec![
        default_marked(obj, &keys),
        s(obj, "driverName").into(),
        age(obj, now),
    ]
}

pub fn volume_attachment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.attacher").into(),
        s(obj, "spec.source.persistentVolumeName").into(),
        s(obj, "spec.nodeName").into(),
        boolean(obj, "status.attached").into(),
        age(obj, now),
    ]
}
