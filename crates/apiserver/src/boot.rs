//! Objects every cluster has from its first start: the four system namespaces and the
//! `kubernetes` Service (with Endpoints and an EndpointSlice) pointing at the server.
//! Also the periodic compaction of store history.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use store::{Store, StoreError};

use crate::objects::now_rfc3339;
use crate::server::Server;
use crate::status::{ApiError, ApiResult};
use crate::Config;

const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn meta(name: &str, namespace: Option<&str>, labels: Value) -> Value {
    let mut m = json!({
        "name": name,
        "uid": uuid::Uuid::new_v4().to_string(),
        "creationTimestamp": now_rfc3339(),
        "labels": labels,
    });
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    m
}

async fn create_if_absent(store: &Arc<dyn Store>, key: &str, obj: Value) -> ApiResult<()> {
    match store.create(key, serde_json::to_vec(&obj).unwrap()).await {
        Ok(_) | Err(StoreError::AlreadyExists) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The first address of a CIDR such as `10.43.0.0/16` (the `kubernetes` Service's IP).
pub fn first_service_ip(cidr: &str) -> Result<String, String> {
    let (net, _) = cidr.split_once('/').ok_or_else(|| format!("invalid service CIDR {cidr:?}"))?;
    let ip: std::net::Ipv4Addr = net.parse().map_err(|_| format!("invalid service CIDR {cidr:?}"))?;
    Ok(std::net::Ipv4Addr::from(u32::from(ip) + 1).to_string())
}

pub async fn ensure_boot_objects(srv: &Arc<Server>, cfg: &Config) -> ApiResult<()> {
    let store = &srv.store;
    for ns in SYSTEM_NAMESPACES {
        let obj = json!({
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": meta(ns, None, json!({"kubernetes.io/metadata.name": ns})),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        create_if_absent(store, &format!("/registry/namespaces/{ns}"), obj).await?;
    }
    let cluster_ip = first_service_ip(&cfg.service_cidr).map_err(ApiError::internal)?;
    let service = json!({
        "kind": "Service", "apiVersion": "v1",
        "metadata": meta("kubernetes", Some("default"), json!({"component": "apiserver", "provider": "kubernetes"})),
        "spec": {
            "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": srv_port(srv)}],
            "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
            "type": "ClusterIP", "sessionAffinity": "None",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    });
    create_if_absent(store, "/registry/services/default/kubernetes", service).await?;
    let ip = srv_ip(srv);
    let endpoints = json!({
        "kind": "Endpoints", "apiVersion": "v1",
        "metadata": meta("kubernetes", Some("default"), json!({"endpointslice.kubernetes.io/skip-mirror": "true"})),
        "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "https", "port": srv_port(srv), "protocol": "TCP"}]}],
    });
    create_if_absent(store, "/registry/endpoints/default/kubernetes", endpoints).await?;
    let slice = json!({
        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": meta("kubernetes", Some("default"), json!({"kubernetes.io/service-name": "kubernetes"})),
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": srv_port(srv), "protocol": "TCP"}],
    });
    create_if_absent(store, "/registry/endpointslices/default/kubernetes", slice).await?;
    srv.cache.sync().await?;
    Ok(())
}

fn srv_port(srv: &Server) -> u16 {
    srv.advertise.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(6443)
}

fn srv_ip(srv: &Server) -> String {
    let host = srv.advertise.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    host.trim_matches(|c| c == '[' || c == ']').to_string()
}

/// Compacts history every interval to the revision seen one interval earlier, so at
/// least one interval of history is always kept.
pub async fn compact_periodically(store: Arc<dyn Store>, interval: Duration) {
    let mut previous: Option<i64> = None;
    loop {
        tokio::time::sleep(interval).await;
        if let Some(rev) = previous {
            if let Err(e) = store.compact(rev).await {
                tracing::warn!("compaction to {rev}: {e}");
            }
        }
        previous = store.current_revision().await.ok();
    }
}

/// Deletes Events not written for `ttl` (upstream gives them an etcd lease of
/// --event-ttl): they are records, not state, and would otherwise pile up.
pub async fn expire_events(srv: Arc<Server>, ttl: Duration) {
    let period = (ttl / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        tokio::time::sleep(period).await;
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(ttl).unwrap_or_default();
        for ev in srv.cache.resource("events").list("/registry/events/") {
            let written = crate::objects::last_written(&ev.value());
            if written.is_some_and(|t| t < cutoff) {
                let _ = srv.store.delete(&ev.key, Some(ev.rev)).await;
            }
        }
    }
}
