//! The Node authorizer's view of the cluster, read from the watch cache on demand: an
//! object is related to a node when a pod bound to that node uses it.

use api::rbac::node::{self, NodeGraph, Vertex};
use serde_json::Value;

use crate::cache::WatchCache;

pub struct CacheGraph<'a>(pub &'a WatchCache);

impl CacheGraph<'_> {
    fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<std::sync::Arc<crate::cache::CachedObject>> {
        let (group, plural) = resource.split_once('/').unwrap_or(("", resource));
        let Some(def) = api::registry::find(group, "v1", plural) else { return Vec::new() };
        self.0.resource(def.storage).list(&def.prefix(namespace))
    }

    /// Pods bound to `node`, in `namespace` or everywhere.
    fn pods_on(&self, node: &str, namespace: Option<&str>) -> Vec<std::sync::Arc<crate::cache::CachedObject>> {
        let mut pods = self.list("pods", namespace);
        pods.retain(|p| p.attrs.node_name() == node);
        pods
    }
}

fn str_field<'v>(v: &'v Value, a: &str, b: &str) -> &'v str {
    v[a][b].as_str().unwrap_or("")
}

impl NodeGraph for CacheGraph<'_> {
    fn related(&self, node_name: &str, kind: Vertex, namespace: &str, name: &str) -> bool {
        match kind {
            Vertex::Pod => self
                .pods_on(node_name, Some(namespace))
                .iter()
                .any(|p| p.attrs.name() == name),
            Vertex::PersistentVolume => {
                // node <- pod <- claim <- volume
                self.pods_on(node_name, None).iter().any(|p| {
                    let ns = p.attrs.namespace();
                    let claims = node::pod_references(&p.value()).claims;
                    self.list("persistentvolumeclaims", Some(ns)).iter().any(|c| {
                        claims.iter().any(|n| n == c.attrs.name()) && str_field(&c.value(), "spec", "volumeName") == name
                    })
                })
            }
            Vertex::VolumeAttachment => self
                .list("storage.k8s.io/volumeattachments", None)
                .iter()
                .any(|v| v.attrs.name() == name && v.attrs.node_name() == node_name),
            _ => self.pods_on(node_name, Some(namespace)).iter().any(|p| node::pod_uses(&p.value(), kind, name)),
        }
    }
}
