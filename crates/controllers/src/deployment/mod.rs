//! Deployment: rolls a pod template out through ReplicaSets — one per template, named
//! by the template's hash — with RollingUpdate (maxSurge/maxUnavailable) or Recreate,
//! keeps revision history for `rollout history`/`undo`, scales proportionally, honours
//! pause, and reports the Progressing and Available conditions.

mod rollout;
mod status;

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{json, Map, Value};

use crate::events::{Involved, Recorder};
use crate::runtime::{wait_any, Informer};

pub use rollout::{plan, Action};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// 32-bit FNV-1a.
fn fnv32a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c9dc5u32, |h, b| (h ^ *b as u32).wrapping_mul(0x01000193))
}

/// The `pod-template-hash` of a template: upstream's shape (FNV-32a, its decimal
/// digits mapped onto consonants and digits that never spell words).
pub fn template_hash(template: &Value, collision_count: i64) -> String {
    // Keys sorted, so equal templates hash equally whatever their order.
    let mut s = api::fieldvalidation::sorted_json(template);
    if collision_count > 0 {
        s.push_str(&collision_count.to_string());
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    fnv32a(s.as_bytes()).to_string().bytes().map(|b| ALPHABET[b as usize % ALPHABET.len()] as char).collect()
}

/// A template with the `pod-template-hash` label taken out (to compare a ReplicaSet's
/// template with its Deployment's).
pub fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(POD_TEMPLATE_HASH);
        if labels.is_empty() {
            t["metadata"].as_object_mut().unwrap().remove("labels");
        }
    }
    if t["metadata"].as_object().is_some_and(Map::is_empty) {
        t.as_object_mut().unwrap().remove("metadata");
    }
    t
}

pub fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"][REVISION].as_str().and_then(|r| r.parse().ok()).unwrap_or(0)
}

pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

fn involved(d: &Value) -> Involved {
    Involved {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: d["metadata"]["namespace"].as_str().unwrap_or("").into(),
        name: name(d).into(),
        uid: uid(d).into(),
        resource_version: d["metadata"]["resourceVersion"].as_str().unwrap_or("").into(),
    }
}

async fn execute(client: &kube::Client, rec: &Recorder, d: &Value, actions: Vec<Action>) {
    let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pp = PatchParams::default();
    // Deployment writes are updates of the whole object (the deployment controller's
    // role allows update, not patch); each carries the resourceVersion the last returned.
    let mut current = d.clone();
    for action in actions {
        let result = match &action {
            Action::CreateReplicaSet(rs) => match serde_json::from_value::<ReplicaSet>(rs.clone()) {
                Ok(obj) => match sets.create(&PostParams::default(), &obj).await {
                    Err(kube::Error::Api(e)) if e.code == 409 => {
                        // A ReplicaSet of that name that is not ours: a hash collision.
                        // Count it, so the next pass hashes the template differently.
                        let theirs = sets.get(&e.details.as_ref().map(|d| d.name.clone()).unwrap_or_default()).await.ok();
                        let ours = theirs.as_ref().and_then(|rs| crate::pods::controller_of(&rs.metadata)).is_some_and(|c| c.uid == uid(d));
                        if ours {
                            Ok(())
                        } else {
                            let mut obj = current.clone();
                            obj["status"]["collisionCount"] = json!(d["status"]["collisionCount"].as_i64().unwrap_or(0) + 1);
                            if let Ok(dep) = serde_json::from_value::<Deployment>(obj) {
                                let _ = deployments.replace_status(name(d), &PostParams::default(), &dep).await;
                            }
                            return;
                        }
                    }
                    other => other.map(|_| ()),
                },
                Err(e) => {
                    tracing::warn!("deployment {ns}/{}: bad ReplicaSet: {e}", name(d));
                    Ok(())
                }
            },
            Action::PatchReplicaSet { name, patch } => sets.patch(name, &pp, &Patch::Merge(patch)).await.map(|_| ()),
            Action::DeleteReplicaSet { name, uid } => {
                let dp = DeleteParams { preconditions: Some(Preconditions { uid: Some(uid.clone()), resource_version: None }), ..Default::default() };
                sets.delete(name, &dp).await.map(|_| ())
            }
            Action::PatchDeployment(patch) => {
                let mut obj = current.clone();
                json_patch::merge(&mut obj, patch);
                match serde_json::from_value::<Deployment>(obj) {
                    Ok(dep) => deployments.replace(name(d), &PostParams::default(), &dep).await.map(|new| {
                        current = serde_json::to_value(new).unwrap_or(current.clone());
                    }),
                    Err(_) => Ok(()),
                }
            }
            Action::Status(status) => {
                let mut obj = current.clone();
                obj["status"] = status.clone();
                match serde_json::from_value::<Deployment>(obj) {
                    Ok(dep) => deployments.replace_status(name(d), &PostParams::default(), &dep).await.map(|_| ()),
                    Err(_) => Ok(()),
                }
            }
            Action::Event { reason, message } => {
                rec.normal(&involved(d), reason, message.clone()).await;
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::debug!("deployment {ns}/{}: {action:?}: {e}", name(d));
            // A conflict or a lagging cache: the next pass starts again from fresh state.
            return;
        }
    }
}

/// Runs the Deployment controller until the process ends.
pub async fn run(client: kube::Client, deployments: Informer<Deployment>, sets: Informer<ReplicaSet>) {
    let rec = Recorder::new(client.clone(), "deployment-controller");
    let mut rxs = [deployments.subscribe(), sets.subscribe()];
    deployments.ready().await;
    sets.ready().await;
    loop {
        let started = std::time::Instant::now();
        let now = chrono::Utc::now();
        let all_sets: Vec<Value> = sets.list().iter().filter_map(|s| serde_json::to_value(&**s).ok()).collect();
        let mut by_ns: HashMap<&str, Vec<&Value>> = HashMap::new();
        for rs in &all_sets {
            by_ns.entry(rs["metadata"]["namespace"].as_str().unwrap_or("")).or_default().push(rs);
        }
        let mut work = Vec::new();
        for d in deployments.list().iter().filter_map(|d| serde_json::to_value(&**d).ok()) {
            let ns = d["metadata"]["namespace"].as_str().unwrap_or("");
            let sets_here = by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]);
            let actions = plan(&d, sets_here, now);
            if !actions.is_empty() {
                work.push((d, actions));
            }
        }
        // Pace by the planning time only: waiting on writes costs no CPU.
        let planned = started.elapsed();
        for chunk in work.chunks_mut(16) {
            let batch: Vec<_> = chunk.iter_mut().map(|(d, a)| execute(&client, &rec, d, std::mem::take(a))).collect();
            futures_util::future::join_all(batch).await;
        }
        // Progress deadlines and minReadySeconds pass without events: look again soon.
        wait_any(&mut rxs, Duration::from_secs(5), Duration::from_millis(50).max(planned * 4)).await;
    }
}

#[cfg(test)]
mod tests;
