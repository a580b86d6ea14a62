//! ReplicaSet and ReplicationController: keep `spec.replicas` pods that match the
//! selector, adopting orphans and releasing pods that no longer match, and report how
//! many exist, are ready and are available.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use api::selector::LabelSelector;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{json, Value};

use crate::events::{Involved, Recorder};
use crate::pods::{self, controller_of, is_active, label_map};
use crate::runtime::{wait_any, Change, Expectations, Informer};

/// Upstream's burstReplicas: at most this many creates or deletes per pass.
const BURST: usize = 500;

/// The owner of a set of replicas, whichever kind it is.
#[derive(Debug, Clone)]
pub struct Owner {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub replicas: i64,
    pub selector: LabelSelector,
    pub template: Value,
    pub min_ready_seconds: i64,
    pub deleting: bool,
    pub status: Value,
    pub resource_version: String,
    /// The object as cached, for the status update.
    pub object: Value,
}

impl Owner {
    fn from_value(kind: &'static str, api_version: &'static str, v: &Value) -> Option<Owner> {
        let spec = &v["spec"];
        let selector = if kind == "ReplicationController" {
            // An RC's selector is a plain map, defaulted from the template's labels.
            let s = if spec["selector"].is_object() { spec["selector"].clone() } else { spec["template"]["metadata"]["labels"].clone() };
            LabelSelector::from_label_selector(Some(&json!({"matchLabels": s}))).ok()?
        } else {
            LabelSelector::from_label_selector(Some(&spec["selector"])).ok()?
        };
        let meta = &v["metadata"];
        Some(Owner {
            kind,
            api_version,
            namespace: meta["namespace"].as_str()?.to_string(),
            name: meta["name"].as_str()?.to_string(),
            uid: meta["uid"].as_str()?.to_string(),
            generation: meta["generation"].as_i64().unwrap_or(0),
            replicas: spec["replicas"].as_i64().unwrap_or(1),
            selector,
            template: spec["template"].clone(),
            min_ready_seconds: spec["minReadySeconds"].as_i64().unwrap_or(0),
            deleting: !meta["deletionTimestamp"].is_null(),
            status: v["status"].clone(),
            resource_version: meta["resourceVersion"].as_str().unwrap_or("").to_string(),
            object: v.clone(),
        })
    }

    fn involved(&self) -> Involved {
        Involved {
            api_version: self.api_version.into(),
            kind: self.kind.into(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            resource_version: self.resource_version.clone(),
        }
    }

    fn matches(&self, pod: &Pod) -> bool {
        !self.selector.is_empty() && self.selector.matches(Some(&label_map(pod.metadata.labels.as_ref())))
    }
}

/// The writes one pass makes for one owner.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    pub create: usize,
    /// (name, uid) of pods to delete, most expendable first.
    pub delete: Vec<(String, String)>,
    pub status: Option<Value>,
}

/// Orders pods so the most expendable come first (upstream's ActivePodsWithRanks):
/// unscheduled, then pending, then not ready, then doubled up on a node, then ready for
/// less time, then more restarts, then newer.
fn deletion_order(pods: &mut [&Pod], now: chrono::DateTime<chrono::Utc>) {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for p in pods.iter() {
        *per_node.entry(pods::node_name(p)).or_default() += 1;
    }
    let phase_rank = |p: &Pod| match pods::phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    pods.sort_by_cached_key(|p| {
        let node = pods::node_name(p);
        (
            !node.is_empty(),
            phase_rank(p),
            pods::is_ready(p),
            std::cmp::Reverse(if node.is_empty() { 0 } else { per_node[node] }),
            pods::ready_for(p, now).unwrap_or(0),
            std::cmp::Reverse(pods::restarts(p)),
            std::cmp::Reverse(p.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second()).unwrap_or(0)),
        )
    });
}

/// What `owner` needs, given the active pods it controls and the orphans in its namespace.
pub fn plan(owner: &Owner, owned: &[&Pod], orphans: &[&Pod], now: chrono::DateTime<chrono::Utc>) -> Plan {
    let mut plan = Plan::default();
    let mut mine: Vec<&Pod> = Vec::new();
    for p in owned.iter().copied() {
        if owner.matches(p) {
            mine.push(p);
        } else if !owner.deleting {
            plan.release.push(p.metadata.name.clone().unwrap_or_default());
        }
    }
    if !owner.deleting {
        for p in orphans.iter().copied().filter(|p| owner.matches(p)) {
            plan.adopt.push(p.metadata.name.clone().unwrap_or_default());
            mine.push(p);
        }
    }
    let active: Vec<&Pod> = mine.iter().copied().filter(|p| is_active(p)).collect();
    if !owner.deleting {
        let diff = owner.replicas - active.len() as i64;
        if diff > 0 {
            plan.create = (diff as usize).min(BURST);
        } else if diff < 0 {
            let mut victims = active.clone();
            deletion_order(&mut victims, now);
            plan.delete = victims
                .iter()
                .take((-diff as usize).min(BURST))
                .map(|p| (p.metadata.name.clone().unwrap_or_default(), p.metadata.uid.clone().unwrap_or_default()))
                .collect();
        }
    }
    let template_labels = owner.template["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    let fully_labeled = active
        .iter()
        .filter(|p| {
            let l = label_map(p.metadata.labels.as_ref());
            template_labels.iter().all(|(k, v)| l.get(k) == Some(v))
        })
        .count();
    let ready = active.iter().filter(|p| pods::is_ready(p)).count();
    let available = active.iter().filter(|p| pods::is_available(p, owner.min_ready_seconds, now)).count();
    let nonzero = |n: usize| if n == 0 { Value::Null } else { json!(n) };
    let status = json!({
        "replicas": active.len(),
        "fullyLabeledReplicas": nonzero(fully_labeled),
        "readyReplicas": nonzero(ready),
        "availableReplicas": nonzero(available),
        "observedGeneration": owner.generation,
    });
    let current = &owner.status;
    let differs = status.as_object().unwrap().iter().any(|(k, v)| {
        let cur = current.get(k).cloned().unwrap_or(Value::Null);
        let cur = if cur == json!(0) && k != "replicas" { Value::Null } else { cur };
        cur != *v
    });
    if differs {
        plan.status = Some(status);
    }
    plan
}

/// The pod a replica of `owner` is created as.
pub fn pod_for(owner: &Owner) -> Value {
    let t = &owner.template;
    let mut meta = json!({
        "generateName": format!("{}-", owner.name),
        "namespace": owner.namespace,
        "ownerReferences": [{
            "apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid,
            "controller": true, "blockOwnerDeletion": true
        }],
    });
    for f in ["labels", "annotations", "finalizers"] {
        if !t["metadata"][f].is_null() {
            meta[f] = t["metadata"][f].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": t["spec"]})
}

fn owner_ref_patch(owner: &Owner, pod: &Pod, adopt: bool) -> Value {
    let mut refs: Vec<Value> = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|o| o.uid != owner.uid)
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    if adopt {
        refs.push(json!({"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid, "controller": true, "blockOwnerDeletion": true}));
    }
    json!({"metadata": {"ownerReferences": refs, "uid": pod.metadata.uid}})
}

/// What one pass did for an owner: the uids it created and deleted.
struct Done {
    owner: String,
    created: Vec<String>,
    deleted: Vec<String>,
}

async fn execute(client: &kube::Client, rec: &Recorder, owner: &Owner, plan: Plan, pods_by_name: &HashMap<(&str, &str), &Pod>) -> Done {
    let api: Api<Pod> = Api::namespaced(client.clone(), &owner.namespace);
    let pp = PatchParams::default();
    for (names, adopt) in [(&plan.adopt, true), (&plan.release, false)] {
        for name in names {
            if let Some(pod) = pods_by_name.get(&(owner.namespace.as_str(), name.as_str())) {
                if let Err(e) = api.patch(name, &pp, &Patch::Merge(owner_ref_patch(owner, pod, adopt))).await {
                    tracing::debug!("{} {}/{}: pod {name}: {e}", owner.kind, owner.namespace, owner.name);
                }
            }
        }
    }
    let mut created = Vec::new();
    // Slow start (upstream's slowStartBatch): 1, 2, 4, … so a failing template costs one
    // error, not hundreds.
    let mut remaining = plan.create;
    let mut batch = 1;
    let pod: Pod = serde_json::from_value(pod_for(owner)).unwrap_or_default();
    let pp_create = PostParams::default();
    while remaining > 0 {
        let n = batch.min(remaining);
        let mut results = Vec::new();
        for _ in 0..n {
            results.push(api.create(&pp_create, &pod));
        }
        let results = futures_util::future::join_all(results).await;
        let mut failed = false;
        // Events are written side by side: one after another, they would pace the creates.
        let involved = owner.involved();
        let mut events = Vec::new();
        for r in results {
            match r {
                Ok(p) => {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    created.push(p.metadata.uid.unwrap_or_default());
                    events.push(("Normal", "SuccessfulCreate", format!("Created pod: {name}")));
                }
                Err(e) => {
                    failed = true;
                    events.push(("Warning", "FailedCreate", format!("Error creating: {}", api_message(&e))));
                }
            }
        }
        let (rec, involved) = (&rec, &involved);
        futures_util::future::join_all(events.into_iter().map(|(ty, reason, message)| async move {
            match ty {
                "Normal" => rec.normal(involved, reason, message).await,
                _ => rec.warning(involved, reason, message).await,
            }
        }))
        .await;
        if failed {
            break;
        }
        remaining -= n;
        batch *= 2;
    }
    let mut deleted = Vec::new();
    let mut results = Vec::new();
    for chunk in plan.delete.chunks(32) {
        let mut batch = Vec::new();
        for (name, uid) in chunk {
            let dp = DeleteParams { preconditions: Some(Preconditions { uid: Some(uid.clone()), resource_version: None }), ..Default::default() };
            let api = api.clone();
            batch.push(async move { (name, uid, api.delete(name, &dp).await) });
        }
        results.extend(futures_util::future::join_all(batch).await);
    }
    let involved = owner.involved();
    let mut events = Vec::new();
    for (name, uid, r) in results {
        match r {
            Ok(_) => {
                deleted.push(uid.clone());
                events.push(format!("Deleted pod: {name}"));
            }
            Err(e) => tracing::debug!("deleting pod {name}: {e}"),
        }
    }
    futures_util::future::join_all(events.into_iter().map(|message| rec.normal(&involved, "SuccessfulDelete", message))).await;
    if let Some(status) = plan.status {
        // An update of the status subresource from the cached object: a stale cache
        // gets a conflict, and the next pass tries again from fresh state.
        let mut obj = owner.object.clone();
        obj["status"] = status;
        let pp = PostParams::default();
        let result = match owner.kind {
            "ReplicaSet" => match serde_json::from_value::<ReplicaSet>(obj) {
                Ok(rs) => Api::<ReplicaSet>::namespaced(client.clone(), &owner.namespace).replace_status(&owner.name, &pp, &rs).await.map(|_| ()),
                Err(_) => Ok(()),
            },
            _ => match serde_json::from_value::<ReplicationController>(obj) {
                Ok(rc) => Api::<ReplicationController>::namespaced(client.clone(), &owner.namespace).replace_status(&owner.name, &pp, &rc).await.map(|_| ()),
                Err(_) => Ok(()),
            },
        };
        if let Err(e) = result {
            tracing::debug!("{} {}/{} status: {e}", owner.kind, owner.namespace, owner.name);
        }
    }
    Done { owner: owner.uid.clone(), created, deleted }
}

/// The message of an API error, as upstream puts it in FailedCreate events.
pub fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// The pods of each owner and the active orphans of each namespace, kept current from
/// the pod informer's feed, so a pass looks only at the owners something happened to
/// instead of indexing every pod of the cluster again.
#[derive(Default)]
struct PodIndex {
    /// Pod uid → the pod and the uid of its controller.
    pods: HashMap<String, (Arc<Pod>, Option<String>)>,
    owned: HashMap<String, HashMap<String, Arc<Pod>>>,
    orphans: HashMap<String, HashMap<String, Arc<Pod>>>,
}

/// What changes touched: owners (by uid) and namespaces whose orphans changed.
#[derive(Default)]
struct Touched {
    owners: HashSet<String>,
    namespaces: HashSet<String>,
}

impl Touched {
    fn note(&mut self, pod: &Pod, owner: &Option<String>) {
        match owner {
            Some(o) => {
                self.owners.insert(o.clone());
            }
            None => {
                self.namespaces.insert(pod.metadata.namespace.clone().unwrap_or_default());
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.owners.is_empty() && self.namespaces.is_empty()
    }
}

fn remove_from(map: &mut HashMap<String, HashMap<String, Arc<Pod>>>, key: &str, uid: &str) {
    if let Some(m) = map.get_mut(key) {
        m.remove(uid);
        if m.is_empty() {
            map.remove(key);
        }
    }
}

impl PodIndex {
    fn remove(&mut self, uid: &str, touched: &mut Touched) {
        let Some((pod, owner)) = self.pods.remove(uid) else { return };
        match &owner {
            Some(o) => remove_from(&mut self.owned, o, uid),
            None => remove_from(&mut self.orphans, pod.metadata.namespace.as_deref().unwrap_or(""), uid),
        }
        touched.note(&pod, &owner);
    }

    fn put(&mut self, pod: Arc<Pod>, touched: &mut Touched) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        self.remove(&uid, touched);
        let owner = controller_of(&pod.metadata).map(|c| c.uid.clone());
        touched.note(&pod, &owner);
        match &owner {
            Some(o) => {
                self.owned.entry(o.clone()).or_default().insert(uid.clone(), pod.clone());
            }
            None if is_active(&pod) => {
                let ns = pod.metadata.namespace.clone().unwrap_or_default();
                self.orphans.entry(ns).or_default().insert(uid.clone(), pod.clone());
            }
            None => {}
        }
        self.pods.insert(uid, (pod, owner));
    }
}

/// A change to an owner, by its uid.
fn uid_change<K: kube::Resource>(c: Change<K>) -> Change<String> {
    let uid = |o: &K| o.meta().uid.clone().unwrap_or_default();
    match c {
        Change::Applied(o) => Change::Applied(Arc::new(uid(&o))),
        Change::Deleted(o) => Change::Deleted(Arc::new(uid(&o))),
        Change::Relisted => Change::Relisted,
    }
}

/// Every owner is looked at this often even if nothing happened to it (pods become
/// available minReadySeconds after Ready; expectations expire).
const FULL_PASS: Duration = Duration::from_secs(5);

/// Runs the ReplicaSet and ReplicationController controllers until the process ends;
/// `writers` are the identities each writes as.
pub async fn run(writers: (kube::Client, kube::Client), pods: Informer<Pod>, sets: Informer<ReplicaSet>, rcs: Informer<ReplicationController>) {
    let (rs_client, rc_client) = writers;
    let rec = Recorder::new(rs_client.clone(), "replicaset-controller");
    let rc_rec = Recorder::new(rc_client.clone(), "replication-controller");
    let mut expectations = Expectations::default();
    let mut rxs = [pods.subscribe(), sets.subscribe(), rcs.subscribe()];
    let (mut pod_feed, mut set_feed, mut rc_feed) = (pods.feed(), sets.feed(), rcs.feed());
    pods.ready().await;
    sets.ready().await;
    rcs.ready().await;
    let mut index = PodIndex::default();
    let mut relist = true;
    let mut last_full: Option<std::time::Instant> = None;
    loop {
        let started = std::time::Instant::now();
        let now = chrono::Utc::now();
        let mut touched = Touched::default();
        for change in pod_feed.drain() {
            match change {
                Change::Applied(p) => index.put(p, &mut touched),
                Change::Deleted(p) => index.remove(p.metadata.uid.as_deref().unwrap_or(""), &mut touched),
                Change::Relisted => relist = true,
            }
        }
        let mut full = last_full.is_none_or(|t| t.elapsed() >= FULL_PASS);
        let owner_changes = set_feed.drain().into_iter().map(uid_change).chain(rc_feed.drain().into_iter().map(uid_change));
        for change in owner_changes {
            match change {
                Change::Applied(uid) => {
                    touched.owners.insert(uid.to_string());
                }
                Change::Deleted(uid) => expectations.forget(&uid),
                Change::Relisted => full = true,
            }
        }
        if relist {
            // Events before the feed started, or a relisted watch: index from the cache.
            index = PodIndex::default();
            for p in pods.list() {
                index.put(p, &mut Touched::default());
            }
            relist = false;
            full = true;
        }
        if full {
            last_full = Some(started);
        }
        let mut owners: Vec<Owner> = Vec::new();
        if full || !touched.is_empty() {
            let wanted = |m: &kube::api::ObjectMeta| {
                full || touched.owners.contains(m.uid.as_deref().unwrap_or("")) || touched.namespaces.contains(m.namespace.as_deref().unwrap_or(""))
            };
            owners.extend(sets.list().iter().filter(|s| wanted(&s.metadata)).filter_map(|s| Owner::from_value("ReplicaSet", "apps/v1", &serde_json::to_value(&**s).ok()?)));
            owners.extend(rcs.list().iter().filter(|s| wanted(&s.metadata)).filter_map(|s| Owner::from_value("ReplicationController", "v1", &serde_json::to_value(&**s).ok()?)));
        }
        let mut work = Vec::new();
        for owner in &owners {
            let seen = |uid: &str| index.pods.contains_key(uid);
            let gone = |uid: &str| index.pods.get(uid).is_none_or(|(p, _)| p.metadata.deletion_timestamp.is_some());
            if !expectations.satisfied(&owner.uid, seen, gone) {
                continue;
            }
            let mine: Vec<&Pod> = index.owned.get(owner.uid.as_str()).map(|m| m.values().map(|p| &**p).collect()).unwrap_or_default();
            let strays: Vec<&Pod> = index.orphans.get(owner.namespace.as_str()).map(|m| m.values().map(|p| &**p).collect()).unwrap_or_default();
            let plan = plan(owner, &mine, &strays, now);
            if plan != Plan::default() {
                work.push((owner, plan));
            }
        }
        // Pace by the planning time only: waiting on writes costs no CPU.
        let planned = started.elapsed();
        if !work.is_empty() {
            let mut by_name: HashMap<(&str, &str), &Pod> = HashMap::new();
            for (owner, _) in &work {
                let mine = index.owned.get(owner.uid.as_str()).into_iter().flat_map(|m| m.values());
                let strays = index.orphans.get(owner.namespace.as_str()).into_iter().flat_map(|m| m.values());
                for p in mine.chain(strays) {
                    by_name.insert((p.metadata.namespace.as_deref().unwrap_or(""), p.metadata.name.as_deref().unwrap_or("")), &**p);
                }
            }
            let mut done: Vec<Done> = Vec::new();
            for chunk in work.chunks_mut(16) {
                let mut batch = Vec::new();
                for (owner, plan) in chunk.iter_mut() {
                    let (client, rec) = if owner.kind == "ReplicaSet" { (&rs_client, &rec) } else { (&rc_client, &rc_rec) };
                    batch.push(execute(client, rec, owner, std::mem::take(plan), &by_name));
                }
                done.extend(futures_util::future::join_all(batch).await);
            }
            for d in done {
                expectations.expect(&d.owner, d.created, d.deleted);
            }
        }
        wait_any(&mut rxs, FULL_PASS, Duration::from_millis(50).max(planned * 4)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(replicas: i64) -> Owner {
        Owner::from_value(
            "ReplicaSet",
            "apps/v1",
            &json!({
                "metadata": {"name": "web", "namespace": "ns", "uid": "rs-uid", "generation": 2},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
                "status": {"replicas": 0}
            }),
        )
        .unwrap()
    }

    fn pod(name: &str, labels: Value, node: &str, ready: bool, owner: Option<&str>) -> Pod {
        let mut v = json!({"metadata": {"name": name, "namespace": "ns", "uid": format!("{name}-uid"), "labels": labels,
                                        "creationTimestamp": "2026-01-01T00:00:00Z"},
                           "spec": {"nodeName": node, "containers": []},
                           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        if let Some(o) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": o, "controller": true}]);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn creates_the_missing_replicas_and_adopts_orphans() {
        let orphan = pod("o", json!({"app": "web"}), "n1", true, None);
        let other = pod("x", json!({"app": "db"}), "n1", true, None);
        let p = plan(&owner(3), &[], &[&orphan, &other], chrono::Utc::now());
        assert_eq!(p.adopt, vec!["o"]);
        assert_eq!(p.create, 2);
        assert_eq!(p.status.unwrap()["replicas"], 1);
    }

    #[test]
    fn deletes_the_most_expendable_first_and_releases_non_matching() {
        let a = pod("a", json!({"app": "web"}), "n1", true, Some("rs-uid"));
        let b = pod("b", json!({"app": "web"}), "n1", false, Some("rs-uid"));
        let c = pod("c", json!({"app": "web"}), "", false, Some("rs-uid"));
        let d = pod("d", json!({"app": "other"}), "n2", true, Some("rs-uid"));
        let p = plan(&owner(1), &[&a, &b, &c, &d], &[], chrono::Utc::now());
        assert_eq!(p.release, vec!["d"]);
        assert_eq!(p.delete.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["c", "b"]);
        let status = p.status.unwrap();
        assert_eq!(status["readyReplicas"], 1);
        assert_eq!(status["observedGeneration"], 2);
    }

    #[test]
    fn created_pods_carry_the_template_and_a_controller_reference() {
        let pod = pod_for(&owner(1));
        assert_eq!(pod["metadata"]["generateName"], "web-");
        assert_eq!(pod["metadata"]["labels"]["app"], "web");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["containers"][0]["image"], "i");
    }
}
