//! The shell around the bootstrap policy and ClusterRole aggregation: writes the
//! default roles and bindings at every start, and keeps aggregated ClusterRoles'
//! rules filled (upstream's clusterrole-aggregation controller).

use std::sync::Arc;
use std::time::Duration;

use api::rbac::bootstrap::{self, Reconcile};
use serde_json::{json, Value};
use store::StoreError;

use crate::objects::{self, now_rfc3339};
use crate::server::Server;
use crate::status::ApiResult;

fn storage_bytes(obj: &Value) -> Vec<u8> {
    let mut v = obj.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&v).expect("JSON values serialize")
}

fn with_new_metadata(mut obj: Value) -> Value {
    let meta = objects::meta_mut(&mut obj);
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    obj
}

/// Applies one reconciliation; a conflicting concurrent write is left alone (the next
/// start reconciles again).
async fn write(srv: &Server, key: &str, rev: Option<i64>, action: Reconcile) -> ApiResult<()> {
    let result = match action {
        Reconcile::Nothing => return Ok(()),
        Reconcile::Create(obj) => srv.store.create(key, storage_bytes(&with_new_metadata(obj))).await.map(|_| ()),
        Reconcile::Update(obj) => srv.store.update(key, storage_bytes(&obj), rev.unwrap_or(0)).await.map(|_| ()),
        Reconcile::Recreate(obj) => match srv.store.delete(key, rev).await {
            Ok(_) => srv.store.create(key, storage_bytes(&with_new_metadata(obj))).await.map(|_| ()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) | Err(StoreError::AlreadyExists | StoreError::Conflict(_) | StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates or updates the default ClusterRoles and ClusterRoleBindings, then fills the
/// aggregated roles, before the server takes requests.
pub async fn reconcile(srv: &Arc<Server>) -> ApiResult<()> {
    let roles = api::registry::find(api::rbac::GROUP, "v1", "clusterroles").expect("clusterroles are registered");
    let bindings = api::registry::find(api::rbac::GROUP, "v1", "clusterrolebindings").expect("registered");
    srv.cache.sync().await?;
    for desired in bootstrap::cluster_roles().into_iter().chain(bootstrap::controller_roles()) {
        let key = roles.key("", objects::name(&desired));
        let existing = srv.cache.resource(roles.storage).get(&key);
        let existing_value = existing.as_ref().map(|o| o.value());
        let action = bootstrap::reconcile_role(existing_value.as_ref(), &desired);
        write(srv, &key, existing.map(|o| o.rev), action).await?;
    }
    for desired in bootstrap::cluster_role_bindings() {
        let key = bindings.key("", objects::name(&desired));
        let existing = srv.cache.resource(bindings.storage).get(&key);
        let existing_value = existing.as_ref().map(|o| o.value());
        let action = bootstrap::reconcile_binding(existing_value.as_ref(), &desired);
        write(srv, &key, existing.map(|o| o.rev), action).await?;
    }
    srv.cache.sync().await?;
    aggregate(srv).await?;
    srv.cache.sync().await?;
    Ok(())
}

/// One pass of aggregation over every ClusterRole, writing the roles whose rules change.
async fn aggregate(srv: &Server) -> ApiResult<()> {
    let roles = api::registry::find(api::rbac::GROUP, "v1", "clusterroles").expect("registered");
    let current = srv.cache.resource(roles.storage).list(&roles.prefix(None));
    let mut values: Vec<Value> = current.iter().map(|o| o.value().clone()).collect();
    for i in api::rbac::aggregate_all(&mut values) {
        let key = &current[i].key;
        write(srv, key, Some(current[i].rev), Reconcile::Update(values[i].clone())).await?;
    }
    Ok(())
}

/// Re-aggregates whenever a ClusterRole changes (a burst of changes, once).
pub async fn run_aggregation(srv: Arc<Server>) {
    let roles = api::registry::find(api::rbac::GROUP, "v1", "clusterroles").expect("registered");
    let mut live = loop {
        match srv.cache.subscribe(roles.storage, Some(srv.cache.revision())).await {
            Ok(sub) => break sub.live,
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    };
    loop {
        match live.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        while live.try_recv().is_ok() {}
        if let Err(e) = aggregate(&srv).await {
            tracing::warn!("clusterrole aggregation: {}", e.message);
        }
    }
}
