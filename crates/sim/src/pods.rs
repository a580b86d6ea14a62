//! The simulated nodes' kubelet: pods bound to them become Running (with a pod IP and
//! running, ready containers), and pods being deleted are released at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::SimNode;

/// What a simulated kubelet does for one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Start,
    Release,
}

/// The work `pod` needs from the simulated node `nodes` names, if any.
pub fn work_for(pod: &Pod, nodes: &HashMap<String, SimNode>) -> Option<Work> {
    let spec = pod.spec.as_ref()?;
    nodes.get(spec.node_name.as_deref()?)?;
    if pod.metadata.deletion_timestamp.is_some() {
        return Some(Work::Release);
    }
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let has_ip = status.and_then(|s| s.pod_ip.as_deref()).is_some_and(|ip| !ip.is_empty());
    match phase {
        "Succeeded" | "Failed" => None,
        "Running" if has_ip => None,
        _ => Some(Work::Start),
    }
}

fn container_status(c: &k8s_openapi::api::core::v1::Container, uid: &str, started: &str, running: bool) -> Value {
    let state = if running {
        json!({"running": {"startedAt": started}})
    } else {
        json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started, "containerID": format!("simulated://{uid}-{}", c.name)}})
    };
    json!({
        "name": c.name,
        "image": c.image.clone().unwrap_or_default(),
        "imageID": format!("simulated://{}", c.image.clone().unwrap_or_default()),
        "containerID": format!("simulated://{uid}-{}", c.name),
        "ready": running,
        "started": running,
        "restartCount": 0,
        "state": state,
    })
}

/// The status a running pod on `node` reports: a merge patch of `status` that sets every
/// condition (a merge patch is cheaper for the server than a strategic one).
pub fn running_status(pod: &Pod, node: &SimNode, pod_ip: &str) -> Value {
    let t = crate::now_micro();
    let t = format!("{}Z", &t[..19]);
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let cond = |ty: &str| json!({"type": ty, "status": "True", "lastProbeTime": null, "lastTransitionTime": t});
    let mut status = json!({
        "phase": "Running",
        "conditions": [cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
        "hostIP": node.node_ip,
        "hostIPs": [{"ip": node.node_ip}],
        "startTime": t,
        "containerStatuses": spec.containers.iter().map(|c| container_status(c, &uid, &t, true)).collect::<Vec<_>>(),
        "qosClass": pod.status.as_ref().and_then(|s| s.qos_class.clone()),
    });
    if spec.host_network == Some(true) {
        status["podIP"] = json!(node.node_ip);
        status["podIPs"] = json!([{"ip": node.node_ip}]);
    } else {
        status["podIP"] = json!(pod_ip);
        status["podIPs"] = json!([{"ip": pod_ip}]);
    }
    if let Some(init) = &spec.init_containers {
        status["initContainerStatuses"] = init.iter().map(|c| container_status(c, &uid, &t, false)).collect();
    }
    json!({"status": status})
}

/// A pod as the simulated kubelet reads it from its watch: only what it acts on is
/// decoded (managed fields, most of the spec and the whole status are skipped), which
/// is most of the cost of following every bound pod of a big cluster.
#[derive(Clone, Debug)]
pub struct LeanPod(pub Pod);

impl<'de> serde::Deserialize<'de> for LeanPod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use k8s_openapi::api::core::v1::{Container, PodSpec, PodStatus};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Meta {
            name: Option<String>,
            namespace: Option<String>,
            uid: Option<String>,
            resource_version: Option<String>,
            deletion_timestamp: Option<Time>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct RawContainer {
            name: String,
            image: Option<String>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Spec {
            node_name: Option<String>,
            host_network: Option<bool>,
            containers: Vec<RawContainer>,
            init_containers: Option<Vec<RawContainer>>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Status {
            phase: Option<String>,
            #[serde(rename = "podIP")]
            pod_ip: Option<String>,
            qos_class: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(default)]
            metadata: Meta,
            spec: Option<Spec>,
            status: Option<Status>,
        }
        let raw = Raw::deserialize(d)?;
        let container = |c: RawContainer| Container { name: c.name, image: c.image, ..Default::default() };
        let m = raw.metadata;
        Ok(LeanPod(Pod {
            metadata: kube::api::ObjectMeta {
                name: m.name,
                namespace: m.namespace,
                uid: m.uid,
                resource_version: m.resource_version,
                deletion_timestamp: m.deletion_timestamp,
                ..Default::default()
            },
            spec: raw.spec.map(|s| PodSpec {
                node_name: s.node_name,
                host_network: s.host_network,
                containers: s.containers.into_iter().map(container).collect(),
                init_containers: s.init_containers.map(|i| i.into_iter().map(container).collect()),
                ..Default::default()
            }),
            status: raw.status.map(|s| PodStatus { phase: s.phase, pod_ip: s.pod_ip, qos_class: s.qos_class, ..Default::default() }),
        }))
    }
}

impl kube::Resource for LeanPod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> std::borrow::Cow<'_, str> {
        Pod::kind(&())
    }
    fn group(_: &()) -> std::borrow::Cow<'_, str> {
        Pod::group(&())
    }
    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        Pod::version(&())
    }
    fn plural(_: &()) -> std::borrow::Cow<'_, str> {
        Pod::plural(&())
    }
    fn meta(&self) -> &kube::api::ObjectMeta {
        &self.0.metadata
    }
    fn meta_mut(&mut self) -> &mut kube::api::ObjectMeta {
        &mut self.0.metadata
    }
}

/// Watches every bound pod and does the simulated nodes' part until the process ends.
pub async fn run(client: kube::Client, nodes: Arc<HashMap<String, SimNode>>) {
    let counters: Arc<HashMap<String, AtomicU64>> = Arc::new(nodes.keys().map(|n| (n.clone(), AtomicU64::new(0))).collect());
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let limit = Arc::new(Semaphore::new(crate::CONCURRENCY));
    let cfg = watcher::Config::default().fields("spec.nodeName!=");
    let stream = watcher(Api::<LeanPod>::all(client.clone()), cfg).default_backoff().touched_objects();
    let mut stream = std::pin::pin!(stream);
    while let Some(ev) = stream.next().await {
        let pod = match ev {
            Ok(LeanPod(p)) => p,
            Err(e) => {
                tracing::debug!("sim pod watch: {e}");
                continue;
            }
        };
        let Some(work) = work_for(&pod, &nodes) else { continue };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if !in_flight.lock().unwrap().insert(uid.clone()) {
            continue;
        }
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        let (client, nodes, counters, in_flight) = (client.clone(), nodes.clone(), counters.clone(), in_flight.clone());
        tokio::spawn(async move {
            if let Err(e) = execute(&client, &pod, &work, &nodes, &counters).await {
                tracing::debug!("sim pod {:?}: {e}", pod.metadata.name);
            }
            in_flight.lock().unwrap().remove(&uid);
            drop(permit);
        });
    }
}

async fn execute(
    client: &kube::Client,
    pod: &Pod,
    work: &Work,
    nodes: &HashMap<String, SimNode>,
    counters: &HashMap<String, AtomicU64>,
) -> Result<(), kube::Error> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let node_name = pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
    match work {
        Work::Start => {
            let node = &nodes[&node_name];
            let n = counters[&node_name].fetch_add(1, Ordering::Relaxed);
            let patch = running_status(pod, node, &node.pod_ip(n));
            // The reply (the whole pod) is not needed: skip decoding it.
            let req = kube::core::Request::new(Api::<Pod>::namespaced(client.clone(), &ns).resource_url())
                .patch_subresource("status", &name, &PatchParams::default(), &Patch::Merge(patch))
                .map_err(kube::Error::BuildRequest)?;
            client.request_text(req).await.map(|_| ())
        }
        Work::Release => {
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..Default::default()
            };
            match Api::<Pod>::namespaced(client.clone(), &ns).delete(&name, &dp).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    fn cfg() -> SimConfig {
        SimConfig { nodes: 2, name_prefix: "sim-".into(), cpu: "8".into(), memory: "16Gi".into(), pods: "110".into(), zones: 2, labels: vec![], heartbeat_interval: std::time::Duration::from_secs(10) }
    }

    #[test]
    fn bound_pods_start_and_deleting_pods_are_released() {
        let nodes: HashMap<String, SimNode> = (0..2).map(|i| SimNode::new(&cfg(), i)).map(|n| (n.name.clone(), n)).collect();
        let mut pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"nodeName": "sim-1", "containers": [{"name": "c", "image": "busybox"}]}})).unwrap();
        assert_eq!(work_for(&pod, &nodes), Some(Work::Start));
        let status = running_status(&pod, &nodes["sim-1"], &nodes["sim-1"].pod_ip(0));
        let base = nodes["sim-1"].pod_cidr.trim_end_matches("0/24").to_string();
        assert_eq!(status["status"]["podIP"], format!("{base}2"));
        assert_ne!(nodes["sim-0"].pod_cidr, nodes["sim-1"].pod_cidr);
        assert_eq!(status["status"]["containerStatuses"][0]["state"]["running"]["startedAt"], status["status"]["startTime"]);
        pod.status = serde_json::from_value(status["status"].clone()).unwrap();
        assert_eq!(work_for(&pod, &nodes), None);
        pod.metadata.deletion_timestamp = serde_json::from_value(json!("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(work_for(&pod, &nodes), Some(Work::Release));
        pod.spec.as_mut().unwrap().node_name = Some("elsewhere".into());
        assert_eq!(work_for(&pod, &nodes), None);
    }

    #[test]
    fn lean_pods_keep_what_the_simulated_kubelet_reads() {
        let LeanPod(pod) = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "7", "labels": {"a": "b"},
                         "managedFields": [{"manager": "m", "operation": "Update", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"nodeName": "sim-1", "containers": [{"name": "c", "image": "busybox", "env": [{"name": "X", "value": "1"}]}],
                     "initContainers": [{"name": "i", "image": "init"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.2", "qosClass": "BestEffort", "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        assert_eq!(pod.metadata.resource_version.as_deref(), Some("7"));
        assert!(pod.metadata.managed_fields.is_none() && pod.metadata.labels.is_none());
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!((spec.node_name.as_deref(), spec.containers[0].image.as_deref()), (Some("sim-1"), Some("busybox")));
        assert_eq!(spec.init_containers.as_ref().unwrap()[0].name, "i");
        let status = pod.status.as_ref().unwrap();
        assert_eq!((status.phase.as_deref(), status.pod_ip.as_deref()), (Some("Running"), Some("10.0.0.2")));
    }
}
