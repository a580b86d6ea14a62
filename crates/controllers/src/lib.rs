//! The controller manager: each module is one controller, a reconcile function over
//! what the shared caches observe that returns the writes to make, plus the loop that
//! runs it. Controllers are API clients only; they are level-triggered and idempotent,
//! so a restart or a missed event heals itself.

pub mod deployment;
pub mod disruption;
pub mod events;
pub mod gc;
pub mod namespace;
pub mod namespace_defaults;
pub mod node_lifecycle;
pub mod pods;
pub mod replicaset;
pub mod runtime;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController};
use kube::api::Api;
use kube::runtime::watcher;

use crate::runtime::Informer;

/// What the controller manager's flags set.
pub struct Settings {
    pub node_monitor_grace_period: std::time::Duration,
}

/// Runs every controller until the process ends. `ca_pem` is the cluster CA published
/// in each namespace's `kube-root-ca.crt` ConfigMap.
pub async fn run(client: kube::Client, ca_pem: String, settings: Settings) {
    let all = watcher::Config::default;
    let pods: Informer<Pod> = Informer::new(Api::all(client.clone()), all());
    let replicasets: Informer<ReplicaSet> = Informer::new(Api::all(client.clone()), all());
    let rcs: Informer<ReplicationController> = Informer::new(Api::all(client.clone()), all());
    let deployments: Informer<Deployment> = Informer::new(Api::all(client.clone()), all());
    tokio::spawn(replicaset::run(client.clone(), pods.clone(), replicasets.clone(), rcs.clone()));
    tokio::spawn(gc::run(client.clone()));
    let nodes: Informer<Node> = Informer::new(Api::all(client.clone()), all());
    let leases: Informer<Lease> = Informer::new(Api::namespaced(client.clone(), "kube-node-lease"), all());
    let lifecycle = node_lifecycle::Settings { grace: settings.node_monitor_grace_period.as_secs() as i64 };
    tokio::spawn(node_lifecycle::run(client.clone(), nodes, leases, pods.clone(), lifecycle));
    let namespaces: Informer<Namespace> = Informer::new(Api::all(client.clone()), all());
    tokio::spawn(namespace::run(client.clone(), namespaces));
    tokio::spawn(deployment::run(client.clone(), deployments.clone(), replicasets.clone()));
    let budgets = disruption::Caches {
        pdbs: Informer::new(Api::all(client.clone()), all()),
        pods: pods.clone(),
        replicasets: replicasets.clone(),
        deployments,
        rcs,
        statefulsets: Informer::new(Api::all(client.clone()), all()),
    };
    tokio::spawn(disruption::run(client.clone(), budgets));
    namespace_defaults::run(client, ca_pem).await;
}
