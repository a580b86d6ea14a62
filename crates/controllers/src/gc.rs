//! Garbage collector: objects whose owners are all gone are deleted; an owner deleted
//! with the `orphan` finalizer first has its dependents' references to it removed; an
//! owner deleted with `foregroundDeletion` first has its dependents deleted. It keeps a
//! graph of every object's metadata (metadata-only watches of each resource).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::PartialObjectMeta;
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::{json, Value};

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

#[derive(Debug, Clone, PartialEq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block: bool,
    pub controller: bool,
}

/// What the collector knows of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub resource: usize,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerRef>,
    pub finalizers: Vec<String>,
    pub deleting: bool,
}

/// A write the collector wants made.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Delete an object whose owners are all gone (after confirming with the server).
    DeleteDangling { uid: String, foreground: bool },
    /// Drop references to owners that are gone (or orphaning) from a dependent.
    DropOwners { uid: String, owners: Vec<String> },
    /// Delete a dependent of an owner being deleted in the foreground.
    DeleteDependent { uid: String },
    /// The owner's dependents are dealt with: remove this finalizer.
    RemoveFinalizer { uid: String, finalizer: &'static str },
}

/// The collector's decisions over the whole graph. `absent` are owner uids the graph
/// does not hold (the shell confirms them with a live read before acting).
pub fn plan(graph: &HashMap<String, Item>) -> Vec<Action> {
    let mut dependents: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in graph.values() {
        for o in &item.owners {
            dependents.entry(o.uid.as_str()).or_default().push(item);
        }
    }
    let mut actions = Vec::new();
    for item in graph.values() {
        if item.owners.is_empty() {
            continue;
        }
        let (present, gone): (Vec<&OwnerRef>, Vec<&OwnerRef>) = item.owners.iter().partition(|o| graph.contains_key(&o.uid));
        if !gone.is_empty() && !item.deleting {
            if present.is_empty() {
                actions.push(Action::DeleteDangling { uid: item.uid.clone(), foreground: false });
            } else {
                actions.push(Action::DropOwners { uid: item.uid.clone(), owners: gone.iter().map(|o| o.uid.clone()).collect() });
            }
        }
    }
    for owner in graph.values().filter(|o| o.deleting) {
        let deps = dependents.get(owner.uid.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if owner.finalizers.iter().any(|f| f == ORPHAN) {
            if deps.is_empty() {
                actions.push(Action::RemoveFinalizer { uid: owner.uid.clone(), finalizer: ORPHAN });
            }
            for d in deps {
                actions.push(Action::DropOwners { uid: d.uid.clone(), owners: vec![owner.uid.clone()] });
            }
        } else if owner.finalizers.iter().any(|f| f == FOREGROUND) {
            let blocking = deps.iter().filter(|d| d.owners.iter().any(|o| o.uid == owner.uid && o.block)).count();
            if blocking == 0 {
                actions.push(Action::RemoveFinalizer { uid: owner.uid.clone(), finalizer: FOREGROUND });
            }
            for d in deps.iter().filter(|d| !d.deleting) {
                actions.push(Action::DeleteDependent { uid: d.uid.clone() });
            }
        }
    }
    actions
}

/// The resources the collector watches: every kind that can be listed, watched and
/// deleted, once per storage.
fn resources() -> Vec<ApiResource> {
    let mut seen = HashSet::new();
    api::registry_data::RESOURCES
        .iter()
        .filter(|r| r.has_verb("list") && r.has_verb("watch") && r.has_verb("delete") && r.storage != "events")
        .filter(|r| seen.insert(r.storage))
        .map(|r| ApiResource {
            group: r.group.into(),
            version: r.version.into(),
            api_version: r.api_version(),
            kind: r.kind.into(),
            plural: r.plural.into(),
        })
        .collect()
}

fn item(resource: usize, m: &PartialObjectMeta<DynamicObject>) -> Option<Item> {
    let meta = &m.metadata;
    Some(Item {
        resource,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone()?,
        uid: meta.uid.clone()?,
        owners: meta
            .owner_references
            .iter()
            .flatten()
            .map(|o| OwnerRef {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
                name: o.name.clone(),
                uid: o.uid.clone(),
                block: o.block_owner_deletion == Some(true),
                controller: o.controller == Some(true),
            })
            .collect(),
        finalizers: meta.finalizers.clone().unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
    })
}

type Graph = Arc<Mutex<HashMap<String, Item>>>;

/// Keeps `graph` current for one resource.
fn watch_resource(tasks: &mut tokio::task::JoinSet<()>, client: kube::Client, index: usize, ar: ApiResource, graph: Graph, tx: Arc<tokio::sync::watch::Sender<u64>>) {
    tasks.spawn(async move {
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let mut fresh: Option<HashMap<String, Item>> = None;
        while let Some(ev) = stream.next().await {
            let Ok(ev) = ev else { continue };
            let mut g = graph.lock().unwrap();
            // Most changes (status updates, labels) leave an object's owners, finalizers
            // and deletion as they were: the collector has nothing new to decide then.
            let relevant = match ev {
                watcher::Event::Init => {
                    fresh = Some(HashMap::new());
                    false
                }
                watcher::Event::InitApply(m) => {
                    if let (Some(f), Some(it)) = (fresh.as_mut(), item(index, &m)) {
                        f.insert(it.uid.clone(), it);
                    }
                    false
                }
                watcher::Event::InitDone => {
                    g.retain(|_, it| it.resource != index);
                    g.extend(fresh.take().unwrap_or_default());
                    true
                }
                watcher::Event::Apply(m) => match item(index, &m) {
                    Some(it) => {
                        let relevant = match g.get(&it.uid) {
                            Some(old) => *old != it,
                            None => !it.owners.is_empty() || !it.finalizers.is_empty() || it.deleting,
                        };
                        g.insert(it.uid.clone(), it);
                        relevant
                    }
                    None => false,
                },
                watcher::Event::Delete(m) => m.metadata.uid.as_ref().is_some_and(|uid| g.remove(uid).is_some()),
            };
            drop(g);
            if relevant {
                tx.send_modify(|n| *n += 1);
            }
        }
    });
}

/// Confirms with the server that an owner is really gone (the graph may lag).
async fn owner_gone(client: &kube::Client, namespace: &str, o: &OwnerRef) -> bool {
    let (group, version) = o.api_version.split_once('/').unwrap_or(("", o.api_version.as_str()));
    let Some(def) = api::registry::find_kind(group, version, &o.kind) else {
        // A kind this server does not serve cannot own anything here.
        return true;
    };
    let ar = ApiResource { group: def.group.into(), version: def.version.into(), api_version: def.api_version(), kind: def.kind.into(), plural: def.plural.into() };
    let api: Api<DynamicObject> = if def.namespaced { Api::namespaced_with(client.clone(), namespace, &ar) } else { Api::all_with(client.clone(), &ar) };
    match api.get_metadata_opt(&o.name).await {
        Ok(None) => true,
        Ok(Some(m)) => m.metadata.uid.as_deref() != Some(o.uid.as_str()),
        Err(_) => false,
    }
}

async fn execute(client: &kube::Client, res: &[ApiResource], graph: &HashMap<String, Item>, action: &Action) -> Result<(), kube::Error> {
    let uid = match action {
        Action::DeleteDangling { uid, .. } | Action::DropOwners { uid, .. } | Action::DeleteDependent { uid } | Action::RemoveFinalizer { uid, .. } => uid,
    };
    let Some(it) = graph.get(uid) else { return Ok(()) };
    let ar = &res[it.resource];
    let api: Api<DynamicObject> = if it.namespace.is_empty() { Api::all_with(client.clone(), ar) } else { Api::namespaced_with(client.clone(), &it.namespace, ar) };
    let pre = Some(Preconditions { uid: Some(it.uid.clone()), resource_version: None });
    match action {
        Action::DeleteDangling { foreground, .. } => {
            for o in &it.owners {
                if !owner_gone(client, &it.namespace, o).await {
                    return Ok(());
                }
            }
            let policy = if *foreground { PropagationPolicy::Foreground } else { PropagationPolicy::Background };
            let dp = DeleteParams { preconditions: pre, propagation_policy: Some(policy), ..Default::default() };
            api.delete(&it.name, &dp).await.map(|_| ())
        }
        Action::DeleteDependent { .. } => {
            let dp = DeleteParams { preconditions: pre, propagation_policy: Some(PropagationPolicy::Foreground), ..Default::default() };
            api.delete(&it.name, &dp).await.map(|_| ())
        }
        Action::DropOwners { owners, .. } => {
            for o in it.owners.iter().filter(|o| owners.contains(&o.uid)) {
                // A live owner that is not orphaning keeps its reference.
                let orphaning = graph.get(&o.uid).is_some_and(|g| g.deleting && g.finalizers.iter().any(|f| f == ORPHAN));
                if !orphaning && !owner_gone(client, &it.namespace, o).await {
                    return Ok(());
                }
            }
            let keep: Vec<Value> = it
                .owners
                .iter()
                .filter(|o| !owners.contains(&o.uid))
                .map(|o| json!({"apiVersion": o.api_version, "kind": o.kind, "name": o.name, "uid": o.uid, "controller": o.controller, "blockOwnerDeletion": o.block}))
                .collect();
            // An empty list is no list, as upstream stores it.
            let change = if keep.is_empty() {
                json!({"op": "remove", "path": "/metadata/ownerReferences"})
            } else {
                json!({"op": "replace", "path": "/metadata/ownerReferences", "value": keep})
            };
            let patch: Vec<Value> = vec![json!({"op": "test", "path": "/metadata/uid", "value": it.uid}), change];
            let patch: json_patch::Patch = serde_json::from_value(json!(patch)).expect("json patch");
            api.patch(&it.name, &PatchParams::default(), &Patch::<()>::Json(patch)).await.map(|_| ())
        }
        Action::RemoveFinalizer { finalizer, .. } => {
            let keep: Vec<&String> = it.finalizers.iter().filter(|f| f.as_str() != *finalizer).collect();
            let patch: json_patch::Patch = serde_json::from_value(json!([
                {"op": "test", "path": "/metadata/uid", "value": it.uid},
                {"op": "replace", "path": "/metadata/finalizers", "value": keep},
            ]))
            .expect("json patch");
            api.patch(&it.name, &PatchParams::default(), &Patch::<()>::Json(patch)).await.map(|_| ())
        }
    }
}

/// Runs the garbage collector until the process ends.
pub async fn run(client: kube::Client) {
    let res = resources();
    let graph: Graph = Arc::default();
    let (tx, mut rx) = tokio::sync::watch::channel(0u64);
    let tx = Arc::new(tx);
    // Dropped with this future, which stops every watch.
    let mut watches = tokio::task::JoinSet::new();
    for (i, ar) in res.iter().enumerate() {
        watch_resource(&mut watches, client.clone(), i, ar.clone(), graph.clone(), tx.clone());
    }
    // Let every resource list once before judging anything absent.
    tokio::time::sleep(Duration::from_secs(2)).await;
    loop {
        let started = std::time::Instant::now();
        // Plan under the lock; copy out only the items the actions touch (the whole graph
        // of a big cluster is too large to clone every pass).
        let (actions, snapshot) = {
            let g = graph.lock().unwrap();
            let actions = plan(&g);
            let mut touched: HashMap<String, Item> = HashMap::new();
            for a in &actions {
                let uid = match a {
                    Action::DeleteDangling { uid, .. } | Action::DropOwners { uid, .. } | Action::DeleteDependent { uid } | Action::RemoveFinalizer { uid, .. } => uid,
                };
                if let Some(it) = g.get(uid) {
                    for o in &it.owners {
                        if let Some(owner) = g.get(&o.uid) {
                            touched.insert(o.uid.clone(), owner.clone());
                        }
                    }
                    touched.insert(uid.clone(), it.clone());
                }
            }
            (actions, touched)
        };
        for chunk in actions.chunks(32) {
            let batch: Vec<_> = chunk.iter().map(|a| execute(&client, &res, &snapshot, a)).collect();
            for (a, r) in chunk.iter().zip(futures_util::future::join_all(batch).await) {
                if let Err(e) = r {
                    tracing::debug!("garbage collector: {a:?}: {e}");
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), rx.changed()).await;
        // A pass costs time proportional to the cluster: pace passes so the collector
        // takes at most a fifth of a core however big the cluster grows.
        tokio::time::sleep(Duration::from_millis(50).max(started.elapsed() * 4)).await;
        rx.mark_unchanged();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it(uid: &str, owners: &[(&str, bool)], finalizers: &[&str], deleting: bool) -> Item {
        Item {
            resource: 0,
            namespace: "ns".into(),
            name: uid.into(),
            uid: uid.into(),
            owners: owners
                .iter()
                .map(|(o, block)| OwnerRef { api_version: "apps/v1".into(), kind: "ReplicaSet".into(), name: o.to_string(), uid: o.to_string(), block: *block, controller: true })
                .collect(),
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
            deleting,
        }
    }

    fn graph(items: Vec<Item>) -> HashMap<String, Item> {
        items.into_iter().map(|i| (i.uid.clone(), i)).collect()
    }

    #[test]
    fn dependents_of_a_vanished_owner_are_deleted_and_partial_ones_released() {
        let g = graph(vec![it("pod", &[("rs", true)], &[], false), it("both", &[("rs", true), ("live", false)], &[], false), it("live", &[], &[], false)]);
        let mut a = plan(&g);
        a.sort_by_key(|a| format!("{a:?}"));
        assert_eq!(a, vec![Action::DeleteDangling { uid: "pod".into(), foreground: false }, Action::DropOwners { uid: "both".into(), owners: vec!["rs".into()] }]);
    }

    #[test]
    fn orphan_and_foreground_finalizers_wait_for_their_dependents() {
        let g = graph(vec![it("rs", &[], &[ORPHAN], true), it("pod", &[("rs", true)], &[], false)]);
        assert_eq!(plan(&g), vec![Action::DropOwners { uid: "pod".into(), owners: vec!["rs".into()] }]);
        let g = graph(vec![it("rs", &[], &[ORPHAN], true)]);
        assert_eq!(plan(&g), vec![Action::RemoveFinalizer { uid: "rs".into(), finalizer: ORPHAN }]);
        let g = graph(vec![it("rs", &[], &[FOREGROUND], true), it("pod", &[("rs", true)], &[], false)]);
        assert_eq!(plan(&g), vec![Action::DeleteDependent { uid: "pod".into() }]);
        let g = graph(vec![it("rs", &[], &[FOREGROUND], true), it("pod", &[("rs", false)], &[], true)]);
        assert_eq!(plan(&g), vec![Action::RemoveFinalizer { uid: "rs".into(), finalizer: FOREGROUND }]);
    }
}
