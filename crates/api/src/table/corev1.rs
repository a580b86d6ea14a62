//! Printers for core/v1 kinds other than Pod (events of both APIs included).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::util::{
    age, annotation, arr, at, deleting, format_labels, int, lb_ingress, len, name, none_if_empty,
    opt_s, quantity, s, since,
};

fn cluster_ip(svc: &Value) -> String {
    let first = arr(svc, "spec.clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or("");
    let ip = if first.is_empty() {
        s(svc, "spec.clusterIP")
    } else {
        first
    };
    none_if_empty(ip.to_string())
}

fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = arr(svc, "spec.externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match s(svc, "spec.type") {
        "ClusterIP" | "NodePort" => none_if_empty(external.join(",")),
        "LoadBalancer" => {
            let mut all = lb_ingress(at(svc, "status.loadBalancer"));
            if all.is_empty() && external.is_empty() {
                return "<pending>".to_string();
            }
            all.extend(external.iter().map(|e| e.to_string()));
            all.join(",")
        }
        "ExternalName" => s(svc, "spec.externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service_ports(svc: &Value) -> String {
    let pieces: Vec<String> = arr(svc, "spec.ports")
        .iter()
        .map(|p| {
            let (port, proto) = (int(p, "port"), s(p, "protocol"));
            match int(p, "nodePort") {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    none_if_empty(pieces.join(","))
}

pub fn service(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "spec.type").into(),
        cluster_ip(obj).into(),
        external_ip(obj).into(),
        service_ports(obj).into(),
        age(obj, now),
        format_labels(at(obj, "spec.selector")).into(),
    ]
}

fn host_port(ip: &str, port: i64) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// formatEndpoints: up to three "ip:port" entries, then "+ N more...".
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr(obj, "subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut count = 0;
    for ss in subsets {
        let addrs = arr(ss, "addresses");
        let ports = arr(ss, "ports");
        if ports.is_empty() {
            count += addrs.len();
            list.extend(addrs.iter().map(|a| s(a, "ip").to_string()));
            continue;
        }
        for p in ports {
            count += addrs.len();
            list.extend(addrs.iter().map(|a| host_port(s(a, "ip"), int(p, "port"))));
        }
    }
    list.truncate(3);
    let ret = list.join(",");
    if count > 3 {
        format!("{ret} + {} more...", count - 3)
    } else {
        ret
    }
}

pub fn endpoints(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), format_endpoints(obj).into(), age(obj, now)]
}

fn node_status(node: &Value) -> String {
    let mut status: Vec<String> = Vec::new();
    let ready = arr(node, "status.conditions")
        .iter()
        .rev()
        .find(|c| s(c, "type") == "Ready");
    if let Some(c) = ready {
        status.push(
            if s(c, "status") == "True" {
                "Ready"
            } else {
                "NotReady"
            }
            .to_string(),
        );
    } else {
        status.push("Unknown".to_string());
    }
    if at(node, "spec.unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    status.join(",")
}

/// Roles from node-role.kubernetes.io/<role> keys and the kubernetes.io/role value.
fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = Vec::new();
    for (k, v) in at(node, "metadata.labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(role) = k
            .strip_prefix("node-role.kubernetes.io/")
            .filter(|r| !r.is_empty())
        {
            roles.push(role);
        } else if k == "kubernetes.io/role" && !v.as_str().unwrap_or("").is_empty() {
            roles.push(v.as_str().unwrap_or(""));
        }
    }
    roles.sort();
    roles.dedup();
    none_if_empty(roles.join(","))
}

fn node_address(node: &Value, type_: &str) -> String {
    let found = arr(node, "status.addresses")
        .iter()
        .find(|a| s(a, "type") == type_);
    found.map_or("<none>".to_string(), |a| s(a, "address").to_string())
}

fn unknown_if_empty(v: &str) -> Value {
    Value::from(if v.is_empty() { "<unknown>" } else { v })
}

pub fn node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        node_status(obj).into(),
        node_roles(obj).into(),
        age(obj, now),
        s(obj, "status.nodeInfo.kubeletVersion").into(),
        node_address(obj, "InternalIP").into(),
        node_address(obj, "ExternalIP").into(),
        unknown_if_empty(s(obj, "status.nodeInfo.osImage")),
        unknown_if_empty(s(obj, "status.nodeInfo.kernelVersion")),
        unknown_if_empty(s(obj, "status.nodeInfo.containerRuntimeVersion")),
    ]
}

/// Field names of an event in core/v1 and in events.k8s.io/v1.
struct EventFields {
    object: &'static str,
    message: &'static str,
    source: &'static str,
    first: &'static str,
    last: &'static str,
    count: &'static str,
}

const CORE_EVENT: EventFields = EventFields {
    object: "involvedObject",
    message: "message",
    source: "source",
    first: "firstTimestamp",
    last: "lastTimestamp",
    count: "count",
};

const EVENTS_API_EVENT: EventFields = EventFields {
    object: "regarding",
    message: "note",
    source: "deprecatedSource",
    first: "deprecatedFirstTimestamp",
    last: "deprecatedLastTimestamp",
    count: "deprecatedCount",
};

fn event_source(ev: &Value, f: &EventFields) -> String {
    let pick = |a: &str, b: &str| -> String {
        let first = at(ev, f.source).map(|src| s(src, a)).unwrap_or("");
        if first.is_empty() { s(ev, b) } else { first }.to_string()
    };
    let component = pick("component", "reportingController");
    let instance = pick("host", "reportingInstance");
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

fn event_cells(ev: &Value, f: &EventFields, now: DateTime<Utc>) -> Vec<Value> {
    let first = match opt_s(ev, f.first).filter(|t| super::util::parse_time(Some(t)).is_some()) {
        Some(t) => since(Some(t), now),
        None => since(opt_s(ev, "eventTime"), now),
    };
    let mut last = match opt_s(ev, f.last).filter(|t| super::util::parse_time(Some(t)).is_some()) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int(ev, f.count);
    if let Some(series) = at(ev, "series").filter(|v| v.is_object()) {
        last = since(opt_s(series, "lastObservedTime"), now);
        count = int(series, "count");
    } else if count == 0 {
        count = 1;
    }
    let obj = at(ev, f.object).unwrap_or(&Value::Null);
    let kind = s(obj, "kind").to_lowercase();
    let target = if s(obj, "name").is_empty() {
        kind
    } else {
        format!("{kind}/{}", s(obj, "name"))
    };
    vec![
        last.into(),
        s(ev, "type").into(),
        s(ev, "reason").into(),
        target.into(),
        s(obj, "fieldPath").into(),
        event_source(ev, f).into(),
        s(ev, f.message).trim().into(),
        first.into(),
        count.into(),
        name(ev),
    ]
}

pub fn event(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(obj, &CORE_EVENT, now)
}

pub fn events_api_event(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(obj, &EVENTS_API_EVENT, now)
}

pub fn namespace(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), s(obj, "status.phase").into(), age(obj, now)]
}

pub fn secret(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        s(obj, "type").into(),
        len(obj, "data").into(),
        age(obj, now),
    ]
}

pub fn service_account(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(obj), len(obj, "secrets").into(), age(obj, now)]
}

pub fn config_map(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        (len(obj, "data") + len(obj, "binaryData")).into(),
        age(obj, now),
    ]
}

/// GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, each once.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    let table = [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ];
    table
        .iter()
        .filter(|(m, _)| has(m))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

fn unset_or(v: Option<&str>) -> Value {
    v.unwrap_or("<unset>").into()
}

fn phase_or_terminating(obj: &Value) -> Value {
    Value::from(if deleting(obj) {
        "Terminating"
    } else {
        s(obj, "status.phase")
    })
}

pub fn persistent_volume(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let claim = match at(obj, "spec.claimRef").filter(|v| v.is_object()) {
        Some(c) => format!("{}/{}", s(c, "namespace"), s(c, "name")),
        None => String::new(),
    };
    let class =
        annotation(obj, BETA_CLASS_ANNOTATION).unwrap_or_else(|| s(obj, "spec.storageClassName"));
    vec![
        name(obj),
        quantity(at(obj, "spec.capacity.storage")).into(),
        access_modes(arr(obj, "spec.accessModes")).into(),
        s(obj, "spec.persistentVolumeReclaimPolicy").into(),
        phase_or_terminating(obj),
        claim.into(),
        class.into(),
        unset_or(opt_s(obj, "spec.volumeAttributesClassName")),
        s(obj, "status.reason").into(),
        age(obj, now),
        unset_or(opt_s(obj, "spec.volumeMode")),
    ]
}

pub fn persistent_volume_claim(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let bound = !s(obj, "spec.volumeName").is_empty();
    let (capacity, modes) = if bound {
        (
            quantity(at(obj, "status.capacity.storage")),
            access_modes(arr(obj, "status.accessModes")),
        )
    } else {
        (String::new(), String::new())
    };
    let class = annotation(obj, BETA_CLASS_ANNOTATION)
        .or_else(|| opt_s(obj, "spec.storageClassName"))
        .unwrap_or("");
    vec![
        name(obj),
        phase_or_terminating(obj),
        s(obj, "spec.volumeName").into(),
        capacity.into(),
        modes.into(),
        class.into(),
        unset_or(opt_s(obj, "spec.volumeAttributesClassName")),
        age(obj, now),
        unset_or(opt_s(obj, "spec.volumeMode")),
    ]
}

pub fn component_status(obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    let healthy = arr(obj, "conditions")
        .iter()
        .find(|c| s(c, "type") == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => {
            let st = if s(c, "status") == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            };
            (st, s(c, "message"), s(c, "error"))
        }
        None => ("Unknown", "", ""),
    };
    vec![name(obj), status.into(), message.into(), error.into()]
}

pub fn resource_quota(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut hard: Vec<(&String, &Value)> = at(obj, "status.hard")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    hard.sort_by(|a, b| a.0.cmp(b.0));
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for (res, hard_q) in hard {
        let used = quantity(at(obj, "status.used").and_then(|u| u.get(res.as_str())));
        let entry = format!("{res}: {used}/{}", quantity(Some(hard_q)));
        let is_limit = res
            .split_once('.')
            .is_some_and(|(head, _)| head == "limits");
        if is_limit {
            limits.push(entry)
        } else {
            requests.push(entry)
        }
    }
    vec![
        name(obj),
        requests.join(", ").into(),
        limits.join(", ").into(),
        age(obj, now),
    ]
}
