//! Endpoints and EndpointSlice controllers: every Service with a selector gets an
//! Endpoints object and EndpointSlices listing the IPs of its pods (ready ones as
//! addresses, others as not ready), with target ports resolved against each pod's
//! container ports. Written with the endpoint(slice) controllers' own identities.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{json, Value};

use crate::pods::{is_ready, is_terminal, label_map};
use crate::runtime::{wait_any, Change, Informer};

pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const SLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// Upstream's --max-endpoints-per-slice default.
const MAX_PER_SLICE: usize = 100;

/// One service port resolved for one pod: (name, port, protocol, appProtocol).
type Port = (String, i32, String, Option<String>);

/// The pod's port for a service port's targetPort (a number, or a container port name).
fn resolve(svc_port: &Value, pod: &Pod) -> Option<i32> {
    let target = svc_port.get("targetPort").cloned().unwrap_or_else(|| svc_port["port"].clone());
    match target {
        Value::Number(n) => n.as_i64().map(|n| n as i32),
        Value::String(name) => pod.spec.as_ref()?.containers.iter().flat_map(|c| c.ports.iter().flatten()).find(|p| p.name.as_deref() == Some(name.as_str())).map(|p| p.container_port),
        _ => None,
    }
}

fn ports_for(svc: &Value, pod: &Pod) -> Vec<Port> {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = resolve(p, pod)?;
            Some((p["name"].as_str().unwrap_or("").to_string(), port, p["protocol"].as_str().unwrap_or("TCP").to_string(), p["appProtocol"].as_str().map(str::to_string)))
        })
        .collect()
}

/// A pod as an endpoint of a service.
#[derive(Debug, Clone)]
pub struct Member {
    pub ip: String,
    pub node: Option<String>,
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub ready: bool,
    pub terminating: bool,
    pub ports: Vec<Port>,
}

/// The pods that back `svc` (IP assigned, not finished), with their ports.
pub fn members(svc: &Value, pods: &[&Pod]) -> Vec<Member> {
    let Ok(selector) = api::selector::LabelSelector::from_label_selector(Some(&json!({"matchLabels": svc["spec"]["selector"]}))) else { return vec![] };
    let publish_not_ready = svc["spec"]["publishNotReadyAddresses"] == true;
    let mut out: Vec<Member> = pods
        .iter()
        .filter(|p| selector.matches(Some(&label_map(p.metadata.labels.as_ref()))))
        .filter(|p| !is_terminal(p))
        .filter_map(|p| {
            let ip = p.status.as_ref()?.pod_ip.clone().filter(|ip| !ip.is_empty())?;
            Some(Member {
                ip,
                node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
                name: p.metadata.name.clone().unwrap_or_default(),
                namespace: p.metadata.namespace.clone().unwrap_or_default(),
                uid: p.metadata.uid.clone().unwrap_or_default(),
                ready: publish_not_ready || is_ready(p),
                terminating: p.metadata.deletion_timestamp.is_some(),
                ports: ports_for(svc, p),
            })
        })
        .collect();
    out.sort_by(|a, b| a.ip.cmp(&b.ip).then(a.name.cmp(&b.name)));
    out
}

fn address(m: &Member) -> Value {
    let mut a = json!({"ip": m.ip, "targetRef": {"kind": "Pod", "namespace": m.namespace, "name": m.name, "uid": m.uid}});
    if let Some(n) = &m.node {
        a["nodeName"] = json!(n);
    }
    a
}

fn port_json(p: &Port) -> Value {
    let mut v = json!({"port": p.1, "protocol": p.2});
    if !p.0.is_empty() {
        v["name"] = json!(p.0);
    }
    if let Some(a) = &p.3 {
        v["appProtocol"] = json!(a);
    }
    v
}

/// The Endpoints subsets: pods grouped by their resolved port sets (upstream's repack).
pub fn subsets(members: &[Member]) -> Vec<Value> {
    // Per port set: (ready addresses, not-ready addresses, ports).
    type Group = (Vec<Value>, Vec<Value>, Vec<Value>);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for m in members.iter().filter(|m| !m.terminating && !m.ports.is_empty()) {
        let mut ports: Vec<Value> = m.ports.iter().map(port_json).collect();
        ports.sort_by_key(|p| p.to_string());
        let key = serde_json::to_string(&ports).unwrap();
        let g = groups.entry(key).or_insert_with(|| (Vec::new(), Vec::new(), ports));
        if m.ready {
            g.0.push(address(m));
        } else {
            g.1.push(address(m));
        }
    }
    groups
        .into_values()
        .map(|(ready, not_ready, ports)| {
            let mut s = json!({"ports": ports});
            if !ready.is_empty() {
                s["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                s["notReadyAddresses"] = json!(not_ready);
            }
            s
        })
        .collect()
}

/// The endpoints of the EndpointSlices (terminating pods included, as upstream).
pub fn slice_endpoints(members: &[Member]) -> Vec<Value> {
    members
        .iter()
        .map(|m| {
            let mut e = json!({
                "addresses": [m.ip],
                "conditions": {"ready": m.ready && !m.terminating, "serving": m.ready, "terminating": m.terminating},
                "targetRef": {"kind": "Pod", "namespace": m.namespace, "name": m.name, "uid": m.uid},
            });
            if let Some(n) = &m.node {
                e["nodeName"] = json!(n);
            }
            e
        })
        .collect()
}

fn has_selector(svc: &Value) -> bool {
    svc["spec"]["selector"].as_object().is_some_and(|s| !s.is_empty())
}

fn service_labels(svc: &Value) -> serde_json::Map<String, Value> {
    let mut labels = svc["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    if svc["spec"]["clusterIP"] == "None" {
        labels.insert("service.kubernetes.io/headless".into(), json!(""));
    }
    labels
}

async fn sync_endpoints(client: &kube::Client, svc: &Value, members: &[Member], existing: Option<&Endpoints>) {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    let api: Api<Endpoints> = Api::namespaced(client.clone(), ns);
    let want = json!(subsets(members));
    let labels = service_labels(svc);
    let pp = PostParams::default();
    let result = match existing {
        Some(ep) => {
            let cur = serde_json::to_value(ep).unwrap_or_default();
            let cur_subsets = if cur["subsets"].is_null() { json!([]) } else { cur["subsets"].clone() };
            let cur_labels = cur["metadata"]["labels"].as_object().cloned().unwrap_or_default();
            if cur_subsets == want && cur_labels == labels {
                return;
            }
            let mut v = cur.clone();
            v["subsets"] = want;
            v["metadata"]["labels"] = json!(labels);
            v["metadata"]["annotations"][TRIGGER_TIME] = json!(crate::runtime::now_rfc3339());
            match serde_json::from_value::<Endpoints>(v) {
                Ok(ep) => api.replace(name, &pp, &ep).await.map(|_| ()),
                Err(_) => Ok(()),
            }
        }
        None => {
            let v = json!({"metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": {TRIGGER_TIME: crate::runtime::now_rfc3339()}}, "subsets": want});
            match serde_json::from_value::<Endpoints>(v) {
                Ok(ep) => api.create(&pp, &ep).await.map(|_| ()),
                Err(_) => Ok(()),
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!("endpoints {ns}/{name}: {e}");
    }
}

async fn sync_slices(client: &kube::Client, svc: &Value, members: &[Member], existing: &[&EndpointSlice]) {
    let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
    let name = svc["metadata"]["name"].as_str().unwrap_or("");
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    // Ports as the service declares them; pods whose target ports resolve differently
    // than the first pod's still share the slice (a simplification of upstream's
    // per-port-set slices).
    // A slice port always has a name ("" when unnamed): clients dereference it.
    let ports: Vec<Value> = members
        .first()
        .map(|m| {
            m.ports
                .iter()
                .map(|p| {
                    let mut v = port_json(p);
                    v["name"] = json!(p.0);
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    let endpoints = slice_endpoints(members);
    let chunks: Vec<&[Value]> = if endpoints.is_empty() { vec![&[]] } else { endpoints.chunks(MAX_PER_SLICE).collect() };
    let mut labels = service_labels(svc);
    labels.insert(SERVICE_NAME.into(), json!(name));
    labels.insert(MANAGED_BY.into(), json!(SLICE_CONTROLLER));
    let owner = json!([{"apiVersion": "v1", "kind": "Service", "name": name, "uid": svc["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]);
    let pp = PostParams::default();
    let mut slices: Vec<&EndpointSlice> = existing.to_vec();
    slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for (i, chunk) in chunks.iter().enumerate() {
        let mut want = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": ns, "labels": labels, "ownerReferences": owner},
            "addressType": "IPv4",
            "endpoints": chunk,
            "ports": ports,
        });
        let result = match slices.get(i) {
            Some(cur) => {
                let cur_v = serde_json::to_value(cur).unwrap_or_default();
                let same = cur_v["endpoints"].as_array().map(Vec::as_slice).unwrap_or(&[]) == *chunk
                    && cur_v["ports"].as_array().cloned().unwrap_or_default() == ports
                    && cur_v["metadata"]["labels"].as_object() == Some(&labels);
                if same {
                    continue;
                }
                want["metadata"] = cur_v["metadata"].clone();
                want["metadata"]["labels"] = json!(labels);
                match serde_json::from_value::<EndpointSlice>(want) {
                    Ok(s) => api.replace(cur.metadata.name.as_deref().unwrap_or(""), &pp, &s).await.map(|_| ()),
                    Err(_) => Ok(()),
                }
            }
            None => {
                want["metadata"]["generateName"] = json!(format!("{name}-"));
                match serde_json::from_value::<EndpointSlice>(want) {
                    Ok(s) => api.create(&pp, &s).await.map(|_| ()),
                    Err(_) => Ok(()),
                }
            }
        };
        if let Err(e) = result {
            tracing::debug!("endpointslice for {ns}/{name}: {e}");
        }
    }
    for extra in slices.iter().skip(chunks.len()) {
        let _ = api.delete(extra.metadata.name.as_deref().unwrap_or(""), &DeleteParams::default()).await;
    }
}

pub struct Caches {
    pub services: Informer<Service>,
    pub pods: Informer<Pod>,
    pub endpoints: Informer<Endpoints>,
    pub slices: Informer<EndpointSlice>,
}

/// Runs both controllers until the process ends; `endpoints_client` and `slices_client`
/// are the identities they write as.
pub async fn run(endpoints_client: kube::Client, slices_client: kube::Client, c: Caches) {
    let mut rxs = [c.services.subscribe(), c.pods.subscribe(), c.endpoints.subscribe(), c.slices.subscribe()];
    let mut pod_feed = c.pods.feed();
    c.services.ready().await;
    c.pods.ready().await;
    c.endpoints.ready().await;
    c.slices.ready().await;
    // Services, Endpoints and EndpointSlices changed since a pass began when their
    // change counters moved (taken before the pass reads the caches, so nothing that
    // changes during a pass is missed).
    let counts = |rxs: &[tokio::sync::watch::Receiver<u64>]| [*rxs[0].borrow(), *rxs[2].borrow(), *rxs[3].borrow()];
    loop {
        let started = std::time::Instant::now();
        let before = counts(&rxs);
        let services: Vec<Value> = c.services.list().iter().filter_map(|s| serde_json::to_value(&**s).ok()).collect();
        let all_pods = c.pods.list();
        let mut pods_by_ns: HashMap<&str, Vec<&Pod>> = HashMap::new();
        for p in all_pods.iter() {
            pods_by_ns.entry(p.metadata.namespace.as_deref().unwrap_or("")).or_default().push(p);
        }
        let eps = c.endpoints.list();
        let ep_by_key: HashMap<(&str, &str), &Endpoints> =
            eps.iter().map(|e| ((e.metadata.namespace.as_deref().unwrap_or(""), e.metadata.name.as_deref().unwrap_or("")), &**e)).collect();
        let all_slices = c.slices.list();
        let mut slices_by_svc: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
        for s in all_slices.iter() {
            let labels = s.metadata.labels.as_ref();
            if labels.and_then(|l| l.get(MANAGED_BY)).map(String::as_str) != Some(SLICE_CONTROLLER) {
                continue;
            }
            if let Some(svc) = labels.and_then(|l| l.get(SERVICE_NAME)) {
                slices_by_svc.entry((s.metadata.namespace.as_deref().unwrap_or(""), svc.as_str())).or_default().push(s);
            }
        }
        for svc in services.iter().filter(|s| has_selector(s)) {
            let ns = svc["metadata"]["namespace"].as_str().unwrap_or("");
            let name = svc["metadata"]["name"].as_str().unwrap_or("");
            let pods = pods_by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]);
            let m = members(svc, pods);
            sync_endpoints(&endpoints_client, svc, &m, ep_by_key.get(&(ns, name)).copied()).await;
            sync_slices(&slices_client, svc, &m, slices_by_svc.get(&(ns, name)).map(Vec::as_slice).unwrap_or(&[])).await;
        }
        // Endpoints this controller wrote whose Service is gone (slices go with their
        // owner through the garbage collector).
        for ep in eps.iter() {
            let (ns, name) = (ep.metadata.namespace.as_deref().unwrap_or(""), ep.metadata.name.as_deref().unwrap_or(""));
            let ours = ep.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(TRIGGER_TIME));
            let svc = services.iter().find(|s| s["metadata"]["namespace"] == ns && s["metadata"]["name"] == name);
            if ours && svc.is_none_or(|s| !has_selector(s)) {
                let api: Api<Endpoints> = Api::namespaced(endpoints_client.clone(), ns);
                let _ = api.delete(name, &DeleteParams::default()).await;
            }
        }
        drop(all_pods);
        // Only pods in namespaces with selecting Services matter; a big cluster's other
        // pods churn all the time.
        let selecting: HashSet<String> =
            services.iter().filter(|s| has_selector(s)).filter_map(|s| s["metadata"]["namespace"].as_str().map(str::to_string)).collect();
        // Paced by what the pass cost, fixed now: measured inside the loop, the time spent
        // waiting on unrelated pods would grow the pause until a new Service waited ~30 s.
        let settle = crate::runtime::pace(started, Duration::from_millis(200));
        loop {
            wait_any(&mut rxs, Duration::from_secs(30), settle).await;
            let pods_matter = pod_feed.drain().iter().any(|change| match change {
                Change::Applied(p) | Change::Deleted(p) => selecting.contains(p.metadata.namespace.as_deref().unwrap_or("")),
                Change::Relisted => true,
            });
            if pods_matter || counts(&rxs) != before || started.elapsed() >= Duration::from_secs(30) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ip: &str, ready: bool, port_name: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"), "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": port_name, "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .unwrap()
    }

    #[test]
    fn ready_and_not_ready_pods_are_listed_with_resolved_ports() {
        let svc = json!({"metadata": {"name": "web", "namespace": "ns"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}});
        let (a, b) = (pod("a", "10.0.0.2", true, "http"), pod("b", "10.0.0.1", false, "http"));
        let m = members(&svc, &[&a, &b]);
        let s = subsets(&m);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["addresses"][0]["ip"], "10.0.0.2");
        assert_eq!(s[0]["notReadyAddresses"][0]["ip"], "10.0.0.1");
        assert_eq!(s[0]["ports"][0], json!({"name": "http", "port": 8080, "protocol": "TCP"}));
        let e = slice_endpoints(&m);
        assert_eq!(e[0]["conditions"], json!({"ready": false, "serving": false, "terminating": false}));
        assert_eq!(e[1]["targetRef"]["name"], "a");
    }
}
