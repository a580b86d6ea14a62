//! The scheduler's I/O shell: watches pods and nodes, keeps a snapshot of the cluster,
//! places pending pods with the pure core, binds them through `pods/binding` (many at
//! once), and reports pods that fit nowhere (PodScheduled=False, a FailedScheduling
//! event). Unschedulable pods are retried when the cluster changes and periodically.
//!
//! The snapshot is kept across passes and rebuilt only when the cluster changed in a
//! way the scheduler did not cause (a node changed, a pod was bound by someone else or
//! went away); pods it bound itself are "assumed" into it until the watch shows them
//! bound, as upstream's scheduler cache does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use controllers::events::Recorder;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};

use crate::{default_profile, needs_scheduling, schedule, Snapshot, DEFAULT_SCHEDULER_NAME};

/// How often pods that fit nowhere are tried again even if nothing changed.
const RETRY: Duration = Duration::from_secs(5);
/// How long a bound pod counts as assumed before the watch must show it.
const ASSUME_TTL: Duration = Duration::from_secs(30);
/// The snapshot is rebuilt at least this often, to pick up changes it ignores (labels
/// of bound pods, status-only updates).
const REBUILD_EVERY: Duration = Duration::from_secs(10);
/// Bindings in flight at once.
const BIND_CONCURRENCY: usize = 64;

fn priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
}

enum Input {
    Pod(Box<watcher::Event<Pod>>),
    Node(Box<watcher::Event<Node>>),
    /// A binding finished: the pod's uid and whether it took.
    Bound(String, bool),
}

fn forward<K>(api: Api<K>, tx: mpsc::Sender<Input>, wrap: fn(watcher::Event<K>) -> Input) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(ev) => {
                    if tx.send(wrap(ev)).await.is_err() {
                        return;
                    }
                }
                Err(e) => tracing::debug!("scheduler watch: {e}"),
            }
        }
    })
}

/// What the scheduler knows of the cluster, from its watches.
#[derive(Default)]
struct World {
    nodes: HashMap<String, Node>,
    bound: HashMap<String, Pod>,
    pending: HashMap<String, Pod>,
    /// Lists in progress (between Init and InitDone) replace the maps when done.
    fresh_nodes: Option<HashMap<String, Node>>,
    fresh_pods: Option<Vec<Pod>>,
    /// Changed in a way the snapshot does not reflect.
    dirty: bool,
    /// Pods this scheduler bound, by uid: (node, when).
    assumed: HashMap<String, (String, Instant)>,
}

/// The parts of a pod scheduling never reads are dropped, so holding every pod of a
/// large cluster stays cheap.
fn slim(mut pod: Pod) -> Pod {
    pod.metadata.managed_fields = None;
    pod.metadata.annotations = None;
    if let Some(status) = pod.status.as_mut() {
        status.conditions = None;
        status.container_statuses = None;
        status.init_container_statuses = None;
        status.host_ips = None;
        status.pod_ips = None;
    }
    pod
}

impl World {
    fn put_pod(&mut self, pod: Pod) {
        let pod = slim(pod);
        let id = uid(&pod);
        if let Some(node) = bound_node(&pod) {
            self.pending.remove(&id);
            let ours = self.assumed.get(&id).is_some_and(|(n, _)| n == node);
            let known = self.bound.get(&id).is_some_and(|p| bound_node(p) == Some(node));
            if !ours && !known {
                self.dirty = true;
            }
            self.assumed.remove(&id);
            self.bound.insert(id, pod);
        } else {
            if self.bound.remove(&id).is_some() {
                self.dirty = true;
            }
            self.pending.insert(id, pod);
        }
    }

    fn remove_pod(&mut self, pod: &Pod) {
        let id = uid(pod);
        self.pending.remove(&id);
        if self.bound.remove(&id).is_some() || self.assumed.remove(&id).is_some() {
            self.dirty = true;
        }
    }

    fn apply(&mut self, input: Input) {
        match input {
            Input::Node(ev) => {
                self.dirty = true;
                match *ev {
                    watcher::Event::Init => self.fresh_nodes = Some(HashMap::new()),
                    watcher::Event::InitApply(n) => {
                        if let Some(f) = self.fresh_nodes.as_mut() {
                            f.insert(n.metadata.name.clone().unwrap_or_default(), n);
                        }
                    }
                    watcher::Event::InitDone => self.nodes = self.fresh_nodes.take().unwrap_or_default(),
                    watcher::Event::Apply(n) => {
                        self.nodes.insert(n.metadata.name.clone().unwrap_or_default(), n);
                    }
                    watcher::Event::Delete(n) => {
                        self.nodes.remove(n.metadata.name.as_deref().unwrap_or(""));
                    }
                }
            }
            Input::Pod(ev) => match *ev {
                watcher::Event::Init => self.fresh_pods = Some(Vec::new()),
                watcher::Event::InitApply(p) => {
                    if let Some(f) = self.fresh_pods.as_mut() {
                        f.push(p);
                    }
                }
                watcher::Event::InitDone => {
                    self.bound.clear();
                    self.pending.clear();
                    for p in self.fresh_pods.take().unwrap_or_default() {
                        self.put_pod(p);
                    }
                    self.dirty = true;
                }
                watcher::Event::Apply(p) => {
                    if p.metadata.deletion_timestamp.is_some() && bound_node(&p).is_none() {
                        self.remove_pod(&p);
                    } else {
                        self.put_pod(p);
                    }
                }
                watcher::Event::Delete(p) => self.remove_pod(&p),
            },
            Input::Bound(id, ok) => {
                if !ok && self.assumed.remove(&id).is_some() {
                    // The snapshot holds a placement that did not happen.
                    self.dirty = true;
                }
            }
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        self.assumed.retain(|_, (_, at)| at.elapsed() < ASSUME_TTL);
        let mut s = Snapshot::new(self.nodes.values().cloned().collect(), self.bound.values().cloned());
        for (id, (node, _)) in &self.assumed {
            if let Some(p) = self.pending.get(id) {
                s.assume(p.clone(), node);
            }
        }
        self.dirty = false;
        s
    }
}

/// Runs the default scheduler until the process ends (or its task is dropped).
pub async fn run(client: kube::Client) {
    let (tx, mut rx) = mpsc::channel::<Input>(4096);
    let watches = [
        forward(Api::<Pod>::all(client.clone()), tx.clone(), |e| Input::Pod(Box::new(e))),
        forward(Api::<Node>::all(client.clone()), tx.clone(), |e| Input::Node(Box::new(e))),
    ];
    let _stop = controllers::runtime::AbortOnDrop(watches[0].abort_handle());
    let _stop_nodes = controllers::runtime::AbortOnDrop(watches[1].abort_handle());
    let profile = default_profile();
    let events = Recorder::new(client.clone(), DEFAULT_SCHEDULER_NAME);
    let binds = Arc::new(Semaphore::new(BIND_CONCURRENCY));
    let mut world = World::default();
    let mut snapshot: Option<Snapshot> = None;
    let mut built = Instant::now();
    let mut reported: HashMap<String, String> = HashMap::new();
    // Pods that fit nowhere, tried again when the cluster changes or after RETRY.
    let mut unschedulable: HashSet<String> = HashSet::new();
    let mut retried = Instant::now();
    let mut tie_break: u64 = 0;
    loop {
        match tokio::time::timeout(RETRY, rx.recv()).await {
            Ok(Some(input)) => world.apply(input),
            Ok(None) => return,
            Err(_) => {}
        }
        while let Ok(input) = rx.try_recv() {
            world.apply(input);
        }
        if world.fresh_nodes.is_some() || world.fresh_pods.is_some() || world.nodes.is_empty() && world.pending.is_empty() {
            continue;
        }
        let changed = world.dirty || built.elapsed() > REBUILD_EVERY;
        if changed || retried.elapsed() > RETRY {
            unschedulable.clear();
            retried = Instant::now();
        }
        // Uids only: cloning every pending pod each pass would double the memory of a
        // large backlog.
        let mut pending: Vec<(std::cmp::Reverse<i32>, Option<i64>, String)> = world
            .pending
            .values()
            .filter(|p| needs_scheduling(p, DEFAULT_SCHEDULER_NAME))
            .filter(|p| !world.assumed.contains_key(&uid(p)) && !unschedulable.contains(&uid(p)))
            .map(|p| (std::cmp::Reverse(priority(p)), p.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()), uid(p)))
            .collect();
        if pending.is_empty() && !changed {
            continue;
        }
        if changed || snapshot.is_none() {
            snapshot = Some(world.snapshot());
            built = Instant::now();
        }
        let snap = snapshot.as_mut().expect("snapshot");
        let pass_start = Instant::now();
        let count = pending.len();
        pending.sort();
        for (_, _, id) in pending {
            let Some(pod) = world.pending.get(&id) else { continue };
            tie_break = tie_break.wrapping_add(1);
            match schedule(pod, snap, &profile, tie_break) {
                Ok(node) => {
                    let pod = pod.clone();
                    snap.assume(pod.clone(), &node);
                    world.assumed.insert(id.clone(), (node.clone(), Instant::now()));
                    let permit = binds.clone().acquire_owned().await.expect("semaphore");
                    let (client, tx, events) = (client.clone(), tx.clone(), events.clone());
                    tokio::spawn(async move {
                        let ok = bind(&client, &pod, &node).await;
                        if ok {
                            let (ns, name) = ns_name(&pod);
                            let about = controllers::events::Involved::of(&pod);
                            events.normal(&about, "Scheduled", format!("Successfully assigned {ns}/{name} to {node}")).await;
                        }
                        drop(permit);
                        let _ = tx.send(Input::Bound(id, ok)).await;
                    });
                }
                Err(fit) => {
                    if let Some(result) = &fit.post_filter_result {
                        preempt(&client, pod, result).await;
                    }
                    let message = fit.to_string();
                    if reported.get(&id) != Some(&message) {
                        report_unschedulable(&client, &events, pod, &message).await;
                        reported.insert(id.clone(), message);
                    }
                    unschedulable.insert(id);
                }
            }
        }
        tracing::debug!("scheduling pass: {count} pods in {:?}, rebuilt: {changed}", pass_start.elapsed());
        reported.retain(|id, _| world.pending.contains_key(id));
        unschedulable.retain(|id| world.pending.contains_key(id));
    }
}

fn ns_name(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

async fn bind(client: &kube::Client, pod: &Pod, node: &str) -> bool {
    let (ns, name) = ns_name(pod);
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": name, "namespace": ns, "uid": pod.metadata.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}
    });
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    match api.create_subresource::<serde_json::Value, serde_json::Value>("binding", &name, &PostParams::default(), &binding).await {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!("binding {ns}/{name} to {node}: {e}");
            false
        }
    }
}

/// Carries out what preemption proposed: the pod is nominated to the node and the
/// lower-priority victims there are deleted (gracefully); the pod is placed once they go.
async fn preempt(client: &kube::Client, pod: &Pod, result: &crate::PostFilterResult) {
    let Some(node) = &result.nominated_node_name else { return };
    let (ns, name) = ns_name(pod);
    if pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()) != Some(node.as_str()) {
        let params = PatchParams { field_manager: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() };
        let patch = Patch::Merge(json!({"status": {"nominatedNodeName": node}}));
        if let Err(e) = Api::<Pod>::namespaced(client.clone(), &ns).patch_status(&name, &params, &patch).await {
            tracing::debug!("nominating {ns}/{name} to {node}: {e}");
        }
    }
    for victim in &result.victims {
        let Some((vns, vname)) = victim.split_once('/') else { continue };
        let api: Api<Pod> = Api::namespaced(client.clone(), vns);
        if let Err(e) = api.delete(vname, &Default::default()).await {
            tracing::debug!("preempting {victim} for {ns}/{name}: {e}");
        }
    }
}

/// PodScheduled=False with upstream's reason and message, and a FailedScheduling event.
async fn report_unschedulable(client: &kube::Client, events: &Recorder, pod: &Pod, message: &str) {
    let (ns, name) = ns_name(pod);
    let now = controllers::runtime::now_rfc3339();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let condition = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null, "lastTransitionTime": now}]}});
    let params = PatchParams { field_manager: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() };
    if let Err(e) = pods.patch_status(&name, &params, &Patch::Strategic(condition)).await {
        tracing::debug!("marking {ns}/{name} unschedulable: {e}");
    }
    let about = controllers::events::Involved::of(pod);
    events.warning(&about, "FailedScheduling", message.to_string()).await;
}
