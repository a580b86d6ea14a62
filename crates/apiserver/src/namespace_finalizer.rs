//! Empties terminating namespaces, then releases them: deleting a namespace deletes
//! everything in it (objects with finalizers are marked and waited for), then removes
//! the `kubernetes` finalizer so the namespace itself goes. A stopgap inside the API
//! server until the namespace controller runs as an API client.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::objects::{self, meta_mut};
use crate::server::Server;

const NAMESPACE_FINALIZER: &str = "kubernetes";

fn namespaced_storages() -> Vec<&'static str> {
    let mut s: Vec<&str> =
        api::registry_data::RESOURCES.iter().filter(|r| r.namespaced && r.has_verb("delete")).map(|r| r.storage).collect();
    s.sort();
    s.dedup();
    s
}

/// Deletes or marks every object in `ns`; returns how many remain.
async fn empty_namespace(srv: &Server, ns: &str) -> usize {
    let mut remaining = 0;
    for storage in namespaced_storages() {
        for obj in srv.cache.resource(storage).list(&format!("/registry/{storage}/{ns}/")) {
            remaining += 1;
            let result = if objects::finalizers(&obj.value).is_empty() {
                srv.store.delete(&obj.key, Some(obj.rev)).await.map(|_| ())
            } else if !objects::is_deleting(&obj.value) {
                let mut v = obj.value.clone();
                meta_mut(&mut v).insert("deletionTimestamp".into(), json!(objects::now_rfc3339()));
                meta_mut(&mut v).insert("deletionGracePeriodSeconds".into(), json!(0));
                meta_mut(&mut v).remove("resourceVersion");
                srv.store.update(&obj.key, serde_json::to_vec(&v).unwrap(), obj.rev).await.map(|_| ())
            } else {
                Ok(())
            };
            if let Err(e) = result {
                tracing::debug!("emptying namespace {ns}: {}: {e}", obj.key);
            }
        }
    }
    remaining
}

async fn release(srv: &Server, ns: &crate::cache::CachedObject) {
    let mut v: Value = ns.value.clone();
    let kept: Vec<Value> = v["spec"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f.as_str() != Some(NAMESPACE_FINALIZER))
        .cloned()
        .collect();
    v["spec"]["finalizers"] = json!(kept);
    let result = if kept.is_empty() && objects::finalizers(&v).is_empty() {
        srv.store.delete(&ns.key, Some(ns.rev)).await.map(|_| ())
    } else {
        meta_mut(&mut v).remove("resourceVersion");
        srv.store.update(&ns.key, serde_json::to_vec(&v).unwrap(), ns.rev).await.map(|_| ())
    };
    if let Err(e) = result {
        tracing::debug!("releasing namespace {}: {e}", objects::name(&ns.value));
    }
}

pub async fn run(srv: Arc<Server>) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let terminating: Vec<_> = srv
            .cache
            .resource("namespaces")
            .list("/registry/namespaces/")
            .into_iter()
            .filter(|n| objects::is_deleting(&n.value))
            .filter(|n| n.value["spec"]["finalizers"].as_array().is_some_and(|f| f.iter().any(|x| x == NAMESPACE_FINALIZER)))
            .collect();
        for ns in terminating {
            if empty_namespace(&srv, objects::name(&ns.value)).await == 0 {
                release(&srv, &ns).await;
            }
        }
    }
}
