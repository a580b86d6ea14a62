//! The scheduler's I/O shell: watches pods and nodes, keeps a snapshot of the cluster,
//! places pending pods with the pure core, binds them through `pods/binding` (many at
//! once), and reports pods that fit nowhere (PodScheduled=False, a FailedScheduling
//! event). Unschedulable pods are retried when the cluster changes and periodically.
//!
//! Pods and nodes are decoded lean ([`crate::lean`]) and shared (`Arc`) between the
//! shell's view of the cluster and the snapshot, so each is held once. Pending pods wait
//! in a [`SchedulingQueue`] kept in order as they come and go.
//!
//! The snapshot is kept across passes and rebuilt only when the cluster changed in a
//! way the scheduler did not cause (a node's labels, taints or capacity changed, a pod
//! was bound by someone else, changed what scheduling reads, or went away); pods it
//! bound itself are "assumed" into it until the watch shows them bound, as upstream's
//! scheduler cache does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controllers::events::{EventQueue, Involved, Recorder};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Affinity, Node, Pod, PodCondition};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};

use crate::lean::{LeanNode, LeanPod};
use crate::queue::{SchedulingQueue, Uid};
use crate::resource::{pod_requests, Defaults};
use crate::snapshot::{is_terminal, PodInfo};
use crate::{default_profile, needs_scheduling, schedule, Snapshot, DEFAULT_SCHEDULER_NAME};

/// How often pods that fit nowhere are tried again even if nothing changed.
const RETRY: Duration = Duration::from_secs(5);
/// How long a bound pod counts as assumed before the watch must show it.
const ASSUME_TTL: Duration = Duration::from_secs(30);
/// The snapshot is rebuilt at least this often, to pick up changes it ignores.
const REBUILD_EVERY: Duration = Duration::from_secs(10);
/// A pass stops for a rebuild when the cluster changed, but not sooner than this after
/// the previous one: a stream of deletions must not turn into a rebuild per pod.
const REBUILD_AT_MOST_EVERY: Duration = Duration::from_secs(1);
/// Bindings in flight at once.
const BIND_CONCURRENCY: usize = 64;
/// Events waiting to be written; more are dropped (upstream's broadcaster queue).
const EVENT_QUEUE: usize = 1000;
/// Event writes in flight at once.
const EVENT_WRITERS: usize = 16;

fn bound_node(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
}

fn uid_of(pod: &Pod) -> Uid {
    pod.metadata.uid.as_deref().unwrap_or("").into()
}

enum Input {
    Pod(Box<watcher::Event<LeanPod>>),
    Node(Box<watcher::Event<LeanNode>>),
    /// A binding finished: the pod's uid and whether it took.
    Bound(Uid, bool),
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

/// What the scheduler knows of one pod.
enum PodState {
    /// Waiting for a node; queued while it [needs scheduling](needs_scheduling).
    Pending(Arc<Pod>),
    /// Placed by this scheduler; the binding is in flight or the watch has not shown it
    /// yet. `pod` is the pending pod, scheduled again if the binding fails or expires.
    Assumed { pod: Arc<Pod>, info: PodInfo, node: Arc<str>, at: Instant },
    /// Bound to a node, as the watch shows (by this scheduler or another).
    Bound { info: PodInfo, node: Arc<str> },
}

/// Whether a bound pod's update leaves what the snapshot holds of it
/// ([`PodInfo::placed`]) as it is. The phase matters only as terminated or not.
fn same_placed(info: &PodInfo, pod: &Pod) -> bool {
    let (a, b) = (&info.pod.metadata, &pod.metadata);
    fn spec(p: &Pod) -> Option<(Option<i32>, Option<&Affinity>)> {
        p.spec.as_ref().map(|s| (s.priority, s.affinity.as_ref()))
    }
    fn conditions(p: &Pod) -> Option<&Vec<PodCondition>> {
        p.status.as_ref().and_then(|s| s.conditions.as_ref()).filter(|c| !c.is_empty())
    }
    a.name == b.name
        && a.namespace == b.namespace
        && a.labels == b.labels
        && a.owner_references == b.owner_references
        && a.deletion_timestamp == b.deletion_timestamp
        && spec(&info.pod) == spec(pod)
        && is_terminal(&info.pod) == is_terminal(pod)
        && conditions(&info.pod) == conditions(pod)
        && info.requests == pod_requests(pod, Defaults::None)
        && info.non_zero_requests == pod_requests(pod, Defaults::NonZero)
}

/// Whether a node update leaves what scheduling reads of it as it is (status updates
/// of conditions and heartbeats are not even decoded).
fn same_node(a: &Node, b: &Node) -> bool {
    a.metadata.labels == b.metadata.labels && a.spec == b.spec && a.status == b.status
}

/// What the scheduler knows of the cluster, from its watches.
#[derive(Default)]
struct World {
    /// By name; ordered, so that snapshots list nodes in a stable order.
    nodes: BTreeMap<String, Arc<Node>>,
    pods: HashMap<Uid, PodState>,
    queue: SchedulingQueue,
    /// Lists in progress (between Init and InitDone) replace the maps when done.
    fresh_nodes: Option<BTreeMap<String, Arc<Node>>>,
    fresh_pods: Option<Vec<Pod>>,
    /// Whether each watch has finished its first list: nothing is scheduled before
    /// (upstream waits for its informers to sync), lest pods be found to fit nowhere.
    nodes_listed: bool,
    pods_listed: bool,
    /// Changed in a way the snapshot does not reflect.
    dirty: bool,
}

impl World {
    fn initializing(&self) -> bool {
        self.fresh_nodes.is_some() || self.fresh_pods.is_some() || !self.nodes_listed || !self.pods_listed
    }

    fn put_pod(&mut self, pod: Pod) {
        let uid = uid_of(&pod);
        match bound_node(&pod).map(str::to_string) {
            Some(node) => self.put_bound(uid, pod, &node),
            None => self.put_pending(uid, pod),
        }
    }

    fn put_bound(&mut self, uid: Uid, pod: Pod, node: &str) {
        self.queue.remove(&uid);
        let kept = match self.pods.remove(&uid) {
            Some(PodState::Assumed { info, node: n, .. } | PodState::Bound { info, node: n }) if &*n == node => {
                // Ours confirmed, or a known pod's status moved on: the snapshot already
                // holds it (and keeps sharing the same copy).
                same_placed(&info, &pod).then_some((info, n))
            }
            _ => None,
        };
        let state = match kept {
            Some((info, node)) => PodState::Bound { info, node },
            None => {
                self.dirty = true;
                PodState::Bound { info: PodInfo::placed(&pod, node), node: node.into() }
            }
        };
        self.pods.insert(uid, state);
    }

    fn put_pending(&mut self, uid: Uid, pod: Pod) {
        match self.pods.get_mut(&uid) {
            Some(PodState::Assumed { pod: p, .. }) => {
                // The binding is in flight: keep the placement, remember the update.
                *p = Arc::new(pod);
                return;
            }
            Some(PodState::Bound { .. }) => self.dirty = true,
            _ => {}
        }
        if needs_scheduling(&pod, DEFAULT_SCHEDULER_NAME) {
            self.queue.add(&pod, &uid);
            self.pods.insert(uid, PodState::Pending(Arc::new(pod)));
        } else {
            self.queue.remove(&uid);
            self.pods.remove(&uid);
        }
    }

    fn remove_pod(&mut self, pod: &Pod) {
        let uid = pod.metadata.uid.as_deref().unwrap_or("");
        self.queue.remove(uid);
        if let Some(PodState::Assumed { .. } | PodState::Bound { .. }) = self.pods.remove(uid) {
            self.dirty = true;
        }
    }

    /// A placement that did not happen: the pod is pending again.
    fn unassume(&mut self, uid: &Uid) {
        if let Some(PodState::Assumed { pod, .. }) = self.pods.remove(uid) {
            self.dirty = true;
            if needs_scheduling(&pod, DEFAULT_SCHEDULER_NAME) {
                self.queue.add(&pod, uid);
                self.pods.insert(uid.clone(), PodState::Pending(pod));
            }
        }
    }

    fn put_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        if self.nodes.get(&name).is_some_and(|old| same_node(old, &node)) {
            return;
        }
        self.dirty = true;
        self.nodes.insert(name, Arc::new(node));
    }

    fn apply(&mut self, input: Input) {
        match input {
            Input::Node(ev) => match *ev {
                watcher::Event::Init => self.fresh_nodes = Some(BTreeMap::new()),
                watcher::Event::InitApply(LeanNode(n)) => {
                    if let Some(f) = self.fresh_nodes.as_mut() {
                        f.insert(n.metadata.name.clone().unwrap_or_default(), Arc::new(n));
                    }
                }
                watcher::Event::InitDone => {
                    self.nodes = self.fresh_nodes.take().unwrap_or_default();
                    self.nodes_listed = true;
                    self.dirty = true;
                }
                watcher::Event::Apply(LeanNode(n)) => self.put_node(n),
                watcher::Event::Delete(LeanNode(n)) => {
                    self.nodes.remove(n.metadata.name.as_deref().unwrap_or(""));
                    self.dirty = true;
                }
            },
            Input::Pod(ev) => match *ev {
                watcher::Event::Init => self.fresh_pods = Some(Vec::new()),
                watcher::Event::InitApply(LeanPod(p)) => {
                    if let Some(f) = self.fresh_pods.as_mut() {
                        f.push(p);
                    }
                }
                watcher::Event::InitDone => self.relisted(),
                watcher::Event::Apply(LeanPod(p)) => {
                    if p.metadata.deletion_timestamp.is_some() && bound_node(&p).is_none() {
                        self.remove_pod(&p);
                    } else {
                        self.put_pod(p);
                    }
                }
                watcher::Event::Delete(LeanPod(p)) => self.remove_pod(&p),
            },
            Input::Bound(uid, ok) => {
                if !ok {
                    self.unassume(&uid);
                }
            }
        }
    }

    /// A (re)list finished: it replaces what was known. Known pods keep their state, so
    /// placements in flight stay assumed and unchanged bound pods keep their shared copy.
    fn relisted(&mut self) {
        self.pods_listed = true;
        let mut old = std::mem::take(&mut self.pods);
        self.queue.clear();
        for p in self.fresh_pods.take().unwrap_or_default() {
            let uid = uid_of(&p);
            if let Some(state) = old.remove(&uid) {
                self.pods.insert(uid, state);
            }
            if p.metadata.deletion_timestamp.is_some() && bound_node(&p).is_none() {
                self.remove_pod(&p);
            } else {
                self.put_pod(p);
            }
        }
        self.dirty = true;
    }

    fn snapshot(&mut self) -> Snapshot {
        let expired: Vec<Uid> = self
            .pods
            .iter()
            .filter(|(_, s)| matches!(s, PodState::Assumed { at, .. } if at.elapsed() >= ASSUME_TTL))
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in &expired {
            self.unassume(uid);
        }
        let mut s = Snapshot::with_nodes(self.nodes.values().cloned());
        for state in self.pods.values() {
            if let PodState::Assumed { info, node, .. } | PodState::Bound { info, node } = state {
                s.place(info.clone(), node);
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
        forward(Api::<LeanPod>::all(client.clone()), tx.clone(), |e| Input::Pod(Box::new(e))),
        forward(Api::<LeanNode>::all(client.clone()), tx.clone(), |e| Input::Node(Box::new(e))),
    ];
    let _stop = controllers::runtime::AbortOnDrop(watches[0].abort_handle());
    let _stop_nodes = controllers::runtime::AbortOnDrop(watches[1].abort_handle());
    let profile = default_profile();
    // Events are written by a background task so that they never hold up binding.
    let events = Recorder::new(client.clone(), DEFAULT_SCHEDULER_NAME).queue(EVENT_QUEUE, EVENT_WRITERS);
    let binds = Arc::new(Semaphore::new(BIND_CONCURRENCY));
    let mut world = World::default();
    let mut snapshot: Option<Snapshot> = None;
    let mut built = Instant::now();
    // The last FailedScheduling message reported per pod, so a repeat is not reported.
    let mut reported: HashMap<Uid, String> = HashMap::new();
    let mut retried = Instant::now();
    let mut tie_break: u64 = 0;
    loop {
        if world.initializing() || world.queue.active_len() == 0 {
            match tokio::time::timeout(RETRY, rx.recv()).await {
                Ok(Some(input)) => world.apply(input),
                Ok(None) => return,
                Err(_) => {}
            }
        }
        while let Ok(input) = rx.try_recv() {
            world.apply(input);
        }
        if world.initializing() {
            continue;
        }
        if world.dirty || built.elapsed() > REBUILD_EVERY || retried.elapsed() > RETRY {
            world.queue.flush_unschedulable();
            reported.retain(|uid, _| world.pods.contains_key(uid));
            retried = Instant::now();
        }
        if world.queue.active_len() == 0 {
            if world.dirty {
                // Nothing to place: rebuild when there is, and let go of what the stale
                // snapshot holds meanwhile.
                snapshot = None;
            }
            continue;
        }
        if snapshot.is_none() || world.dirty || built.elapsed() > REBUILD_EVERY {
            snapshot = Some(world.snapshot());
            built = Instant::now();
        }
        let snap = snapshot.as_mut().expect("snapshot");
        let pass_start = Instant::now();
        let mut count = 0;
        while let Some(uid) = world.queue.pop() {
            let Some(PodState::Pending(pod)) = world.pods.get(&uid) else { continue };
            let pod = pod.clone();
            count += 1;
            tie_break = tie_break.wrapping_add(1);
            match schedule(&pod, snap, &profile, tie_break) {
                Ok(node) => {
                    let info = PodInfo::placed(&pod, &node);
                    snap.place(info.clone(), &node);
                    let node: Arc<str> = node.into();
                    let assumed = PodState::Assumed { pod: pod.clone(), info, node: node.clone(), at: Instant::now() };
                    world.pods.insert(uid.clone(), assumed);
                    let permit = binds.clone().acquire_owned().await.expect("semaphore");
                    let (client, tx, events) = (client.clone(), tx.clone(), events.clone());
                    tokio::spawn(async move {
                        let ok = bind(&client, &pod, &node).await;
                        drop(permit);
                        if ok {
                            let (ns, name) = ns_name(&pod);
                            events.normal(Involved::of(&*pod), "Scheduled", format!("Successfully assigned {ns}/{name} to {node}"));
                        }
                        let _ = tx.send(Input::Bound(uid, ok)).await;
                    });
                }
                Err(fit) => {
                    if let Some(result) = &fit.post_filter_result {
                        preempt(&client, &pod, result).await;
                    }
                    let message = fit.to_string();
                    if reported.get(&uid) != Some(&message) {
                        report_unschedulable(&client, &events, &pod, &message).await;
                        reported.insert(uid.clone(), message);
                    }
                    world.queue.park(&pod, &uid);
                }
            }
            // Keep up with the watches during a long pass; stop for a rebuild when the
            // cluster changed under the snapshot.
            while let Ok(input) = rx.try_recv() {
                world.apply(input);
            }
            let age = built.elapsed();
            if (world.dirty && age > REBUILD_AT_MOST_EVERY) || age > REBUILD_EVERY {
                break;
            }
        }
        tracing::debug!(
            "scheduling pass: {count} pods in {:?}; {} waiting, {} unschedulable",
            pass_start.elapsed(),
            world.queue.active_len(),
            world.queue.unschedulable_len()
        );
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
    match api.create_subresource::<serde_json::Value, serde::de::IgnoredAny>("binding", &name, &PostParams::default(), &binding).await {
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
async fn report_unschedulable(client: &kube::Client, events: &EventQueue, pod: &Pod, message: &str) {
    let (ns, name) = ns_name(pod);
    let now = controllers::runtime::now_rfc3339();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let condition = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null, "lastTransitionTime": now}]}});
    let params = PatchParams { field_manager: Some(DEFAULT_SCHEDULER_NAME.into()), ..Default::default() };
    if let Err(e) = pods.patch_status(&name, &params, &Patch::Strategic(condition)).await {
        tracing::debug!("marking {ns}/{name} unschedulable: {e}");
    }
    events.warning(Involved::of(pod), "FailedScheduling", message.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{node, pod};

    fn lean(p: Pod) -> Input {
        Input::Pod(Box::new(watcher::Event::Apply(LeanPod(p))))
    }

    fn with_uid(mut p: Pod, uid: &str) -> Pod {
        p.metadata.uid = Some(uid.into());
        p
    }

    fn world() -> World {
        let mut w = World::default();
        w.apply(Input::Node(Box::new(watcher::Event::Init)));
        w.apply(Input::Node(Box::new(watcher::Event::InitDone)));
        w.apply(Input::Pod(Box::new(watcher::Event::Init)));
        w.apply(Input::Pod(Box::new(watcher::Event::InitDone)));
        assert!(!w.initializing());
        for n in ["n1", "n2"] {
            w.apply(Input::Node(Box::new(watcher::Event::Apply(LeanNode(node(n).build())))));
        }
        w
    }

    #[test]
    fn nothing_is_scheduled_before_both_lists() {
        let mut w = World::default();
        assert!(w.initializing());
        w.apply(Input::Pod(Box::new(watcher::Event::Init)));
        w.apply(Input::Pod(Box::new(watcher::Event::InitApply(LeanPod(with_uid(pod("a").build(), "a"))))));
        w.apply(Input::Pod(Box::new(watcher::Event::InitDone)));
        assert!(w.initializing(), "nodes not listed yet");
        w.apply(Input::Node(Box::new(watcher::Event::Init)));
        assert!(w.initializing());
        w.apply(Input::Node(Box::new(watcher::Event::InitApply(LeanNode(node("n1").build())))));
        w.apply(Input::Node(Box::new(watcher::Event::InitDone)));
        assert!(!w.initializing());
        assert_eq!((w.nodes.len(), w.queue.active_len()), (1, 1));
    }

    #[test]
    fn pending_pods_are_queued_and_bound_ones_placed() {
        let mut w = world();
        w.apply(lean(with_uid(pod("a").container(&[("cpu", "1")]).build(), "a")));
        w.apply(lean(with_uid(pod("b").container(&[("cpu", "1")]).on_node("n1").build(), "b")));
        w.apply(lean(with_uid(pod("c").scheduler_name("other").build(), "c")));
        assert_eq!(w.queue.active_len(), 1);
        let snap = w.snapshot();
        assert!(!w.dirty);
        assert_eq!(snap.pod_count(), 1);
        assert_eq!(snap.get("n1").unwrap().requested.milli_cpu, 1000);
        // The snapshot shares the world's copy of the bound pod.
        let Some(PodState::Bound { info, .. }) = w.pods.get("b") else { panic!("b not bound") };
        assert!(Arc::ptr_eq(&info.pod, &snap.get("n1").unwrap().pods[0].pod));
        // Containers are not kept for placed pods; their requests are.
        assert!(info.pod.spec.as_ref().unwrap().containers.is_empty());
    }

    #[test]
    fn own_bindings_and_status_updates_keep_the_snapshot() {
        let mut w = world();
        let a = with_uid(pod("a").container(&[("cpu", "1")]).label("app", "x").build(), "a");
        w.apply(lean(a.clone()));
        let uid = w.queue.pop().unwrap();
        let Some(PodState::Pending(p)) = w.pods.get(&uid) else { panic!() };
        let info = PodInfo::placed(p, "n2");
        w.pods.insert(uid.clone(), PodState::Assumed { pod: p.clone(), info, node: "n2".into(), at: Instant::now() });
        w.dirty = false;
        // The watch shows it bound where we put it, then Running: nothing to rebuild.
        let mut bound = a.clone();
        bound.spec.as_mut().unwrap().node_name = Some("n2".into());
        w.apply(lean(bound.clone()));
        assert!(!w.dirty);
        bound.status = Some(k8s_openapi::api::core::v1::PodStatus { phase: Some("Running".into()), ..Default::default() });
        w.apply(lean(bound.clone()));
        assert!(!w.dirty);
        // A node heartbeat changes nothing scheduling reads.
        w.apply(Input::Node(Box::new(watcher::Event::Apply(LeanNode(node("n1").build())))));
        assert!(!w.dirty);
        // A label change does, and so does finishing.
        bound.metadata.labels.as_mut().unwrap().insert("app".into(), "y".into());
        w.apply(lean(bound.clone()));
        assert!(w.dirty);
        w.dirty = false;
        bound.status.as_mut().unwrap().phase = Some("Succeeded".into());
        w.apply(lean(bound));
        assert!(w.dirty);
        assert_eq!(w.snapshot().pod_count(), 0);
    }

    #[test]
    fn failed_bindings_and_expiry_requeue() {
        let mut w = world();
        w.apply(lean(with_uid(pod("a").build(), "a")));
        let uid = w.queue.pop().unwrap();
        let Some(PodState::Pending(p)) = w.pods.get(&uid) else { panic!() };
        let (p, info) = (p.clone(), PodInfo::placed(p, "n1"));
        w.pods.insert(uid.clone(), PodState::Assumed { pod: p.clone(), info: info.clone(), node: "n1".into(), at: Instant::now() });
        assert_eq!(w.snapshot().pod_count(), 1);
        w.apply(Input::Bound(uid.clone(), false));
        assert!(w.dirty);
        assert_eq!(w.queue.pop().as_deref(), Some("a"));
        assert_eq!(w.snapshot().pod_count(), 0);
        // An assumption the watch never confirms expires.
        let long_ago = Instant::now() - ASSUME_TTL - Duration::from_secs(1);
        w.pods.insert(uid.clone(), PodState::Assumed { pod: p, info, node: "n1".into(), at: long_ago });
        assert_eq!(w.snapshot().pod_count(), 0);
        assert_eq!(w.queue.pop().as_deref(), Some("a"));
    }

    #[test]
    fn deletions_and_relists() {
        let mut w = world();
        w.apply(lean(with_uid(pod("a").build(), "a")));
        w.apply(lean(with_uid(pod("b").on_node("n1").build(), "b")));
        w.snapshot();
        w.apply(Input::Pod(Box::new(watcher::Event::Delete(LeanPod(with_uid(pod("b").on_node("n1").build(), "b"))))));
        assert!(w.dirty);
        // A relist drops what it no longer lists.
        w.apply(Input::Pod(Box::new(watcher::Event::Init)));
        assert!(w.initializing());
        w.apply(Input::Pod(Box::new(watcher::Event::InitApply(LeanPod(with_uid(pod("c").build(), "c"))))));
        w.apply(Input::Pod(Box::new(watcher::Event::InitDone)));
        assert!(!w.initializing());
        assert_eq!(w.queue.pop().as_deref(), Some("c"));
        assert_eq!(w.queue.pop(), None);
        assert!(!w.pods.contains_key("a"));
    }
}

#[cfg(test)]
mod footprint {
    use super::*;

    /// A pod as the API server returns it after admission (defaults, service account
    /// volume, default tolerations, managedFields).
    fn pod_json(i: usize, node: Option<&str>) -> String {
        let node = node.map(|n| format!(r#""nodeName": "{n}","#)).unwrap_or_default();
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod",
  "metadata": {{"name": "sched-{i:06}", "namespace": "default", "uid": "6c1f8a0e-0000-4000-8000-{i:012}", "resourceVersion": "{rv}",
    "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {{"app": "sched"}},
    "managedFields": [{{"manager": "bench", "operation": "Update", "apiVersion": "v1", "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1",
      "fieldsV1": {{"f:metadata": {{"f:labels": {{".": {{}}, "f:app": {{}}}}}}, "f:spec": {{"f:containers": {{"k:{{\"name\":\"c\"}}": {{".": {{}}, "f:image": {{}}, "f:name": {{}}, "f:resources": {{".": {{}}, "f:requests": {{".": {{}}, "f:cpu": {{}}, "f:memory": {{}}}}}}}}}}}}}}}}]}},
  "spec": {{ {node}
    "containers": [{{"name": "c", "image": "busybox:1.36", "resources": {{"requests": {{"cpu": "100m", "memory": "500Mi"}}}},
      "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
      "volumeMounts": [{{"name": "kube-api-access-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}}]}}],
    "volumes": [{{"name": "kube-api-access-abcde", "projected": {{"defaultMode": 420, "sources": [{{"serviceAccountToken": {{"expirationSeconds": 3607, "path": "token"}}}},
      {{"configMap": {{"name": "kube-root-ca.crt", "items": [{{"key": "ca.crt", "path": "ca.crt"}}]}}}},
      {{"downwardAPI": {{"items": [{{"path": "namespace", "fieldRef": {{"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}}]}}}}]}}}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "serviceAccount": "default",
    "securityContext": {{}}, "schedulerName": "default-scheduler", "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority",
    "tolerations": [{{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}},
                    {{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}}]}},
  "status": {{"phase": "Pending", "qosClass": "Burstable"}}}}"#,
            rv = 1000 + i
        )
    }

    #[repr(C)]
    struct MallInfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }

    extern "C" {
        fn mallinfo2() -> MallInfo2;
    }

    /// Bytes allocated with glibc's malloc (its main arena: run with MALLOC_ARENA_MAX=1).
    fn allocated() -> i64 {
        // SAFETY: mallinfo2 only reads the allocator's statistics.
        let m = unsafe { mallinfo2() };
        (m.uordblks + m.hblkhd) as i64
    }

    /// Prints the scheduler's memory per pod: `MALLOC_ARENA_MAX=1 cargo test -p
    /// scheduler --lib footprint -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn memory_per_pod() {
        const N: usize = 50_000;
        let mut w = World::default();
        for ev in [watcher::Event::Init, watcher::Event::InitDone] {
            w.apply(Input::Pod(Box::new(ev)));
        }
        w.apply(Input::Node(Box::new(watcher::Event::Init)));
        for i in 0..100 {
            let n = crate::testutil::node(&format!("n{i}")).alloc("pods", "1000").alloc("cpu", "1000").alloc("memory", "10000Gi").build();
            w.apply(Input::Node(Box::new(watcher::Event::InitApply(LeanNode(n)))));
        }
        w.apply(Input::Node(Box::new(watcher::Event::InitDone)));
        let start = allocated();
        for i in 0..N {
            let LeanPod(p) = serde_json::from_str(&pod_json(i, None)).unwrap();
            w.apply(Input::Pod(Box::new(watcher::Event::Apply(LeanPod(p)))));
        }
        let pending = allocated();
        println!("pending: {} bytes per pod", (pending - start) / N as i64);
        for i in 0..N {
            let LeanPod(p) = serde_json::from_str(&pod_json(i, Some(&format!("n{}", i % 100)))).unwrap();
            w.apply(Input::Pod(Box::new(watcher::Event::Apply(LeanPod(p)))));
        }
        let snap = w.snapshot();
        assert_eq!(snap.pod_count(), N);
        let bound = allocated();
        println!("bound, with a snapshot: {} bytes per pod", (bound - start) / N as i64);
    }
}
