//! The controller manager: each module is one controller, a reconcile function over
//! what the shared caches observe that returns the writes to make, plus the loop that
//! runs it. Controllers are API clients only; they are level-triggered and idempotent,
//! so a restart or a missed event heals itself.

pub mod deployment;
pub mod disruption;
pub mod endpoints;
pub mod events;
pub mod leader;
pub mod gc;
pub mod namespace;
pub mod namespace_defaults;
pub mod node_lifecycle;
pub mod nodeipam;
pub mod podgc;
pub mod pods;
pub mod replicaset;
pub mod runtime;
pub mod ttl_after_finished;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController};
use kube::api::Api;
use kube::runtime::watcher;

use crate::runtime::Informer;

/// The identities controllers act as: the shared watches use the controller manager's
/// (`system:kube-controller-manager`, which may list and watch everything); each
/// controller writes as its own service account (`kube-system/<name>`), holding only
/// its `system:controller:<name>` role, as upstream's --use-service-account-credentials.
#[derive(Clone)]
pub struct Clients {
    pub informers: kube::Client,
    pub writers: std::collections::HashMap<String, kube::Client>,
}

/// The controllers that write, by their service account names.
pub const CONTROLLERS: &[&str] = &[
    "replicaset-controller",
    "replication-controller",
    "deployment-controller",
    "generic-garbage-collector",
    "namespace-controller",
    "node-controller",
    "disruption-controller",
    "service-account-controller",
    "root-ca-cert-publisher",
    "endpoint-controller",
    "endpointslice-controller",
    "pod-garbage-collector",
    "ttl-after-finished-controller",
];

impl Clients {
    /// Every controller acts as one identity (tests, or a cluster without RBAC).
    pub fn single(client: kube::Client) -> Self {
        Clients { informers: client, writers: Default::default() }
    }

    pub fn writer(&self, controller: &str) -> kube::Client {
        self.writers.get(controller).cloned().unwrap_or_else(|| self.informers.clone())
    }
}

/// What the controller manager's flags set.
#[derive(Clone)]
pub struct Settings {
    pub node_monitor_grace_period: std::time::Duration,
    /// Finished pods kept before the oldest are deleted (0: never).
    pub terminated_pod_gc_threshold: usize,
    /// The cluster CIDR nodes get podCIDRs from (None: no allocation).
    pub cluster_cidr: Option<nodeipam::Ranges>,
}

/// Runs every controller until the process ends. `ca_pem` is the cluster CA published
/// in each namespace's `kube-root-ca.crt` ConfigMap.
///
/// Everything it starts lives in one task set, so dropping this future (leadership
/// lost) stops every controller and watch.
pub async fn run(clients: Clients, ca_pem: String, settings: Settings) {
    let client = clients.informers.clone();
    let mut tasks = tokio::task::JoinSet::new();
    let all = watcher::Config::default;
    let pods: Informer<Pod> = Informer::slimmed(Api::all(client.clone()), all(), pods::slim);
    let replicasets: Informer<ReplicaSet> = Informer::new(Api::all(client.clone()), all());
    let rcs: Informer<ReplicationController> = Informer::new(Api::all(client.clone()), all());
    let deployments: Informer<Deployment> = Informer::new(Api::all(client.clone()), all());
    let rs_writers = (clients.writer("replicaset-controller"), clients.writer("replication-controller"));
    tasks.spawn(replicaset::run(rs_writers, pods.clone(), replicasets.clone(), rcs.clone()));
    tasks.spawn(gc::run(clients.writer("generic-garbage-collector")));
    let nodes: Informer<Node> = Informer::new(Api::all(client.clone()), all());
    let leases: Informer<Lease> = Informer::new(Api::namespaced(client.clone(), "kube-node-lease"), all());
    let lifecycle = node_lifecycle::Settings { grace: settings.node_monitor_grace_period.as_secs() as i64 };
    tasks.spawn(node_lifecycle::run(clients.writer("node-controller"), nodes.clone(), leases, pods.clone(), lifecycle));
    if let Some(ranges) = settings.cluster_cidr.clone() {
        tasks.spawn(nodeipam::run(clients.writer("node-controller"), nodes.clone(), ranges));
    }
    tasks.spawn(podgc::run(clients.writer("pod-garbage-collector"), pods.clone(), nodes, settings.terminated_pod_gc_threshold));
    let namespaces: Informer<Namespace> = Informer::new(Api::all(client.clone()), all());
    tasks.spawn(namespace::run(clients.writer("namespace-controller"), namespaces));
    tasks.spawn(deployment::run(clients.writer("deployment-controller"), deployments.clone(), replicasets.clone()));
    let budgets = disruption::Caches {
        pdbs: Informer::new(Api::all(client.clone()), all()),
        pods: pods.clone(),
        replicasets: replicasets.clone(),
        deployments,
        rcs,
        statefulsets: Informer::new(Api::all(client.clone()), all()),
    };
    tasks.spawn(disruption::run(clients.writer("disruption-controller"), budgets));
    let endpoint_caches = endpoints::Caches {
        services: Informer::new(Api::all(client.clone()), all()),
        pods: pods.clone(),
        endpoints: Informer::new(Api::all(client.clone()), all()),
        slices: Informer::new(Api::all(client.clone()), all()),
    };
    tasks.spawn(endpoints::run(clients.writer("endpoint-controller"), clients.writer("endpointslice-controller"), endpoint_caches));
    tasks.spawn(ttl_after_finished::run(clients.writer("ttl-after-finished-controller"), Informer::new(Api::all(client.clone()), all())));
    let writers = namespace_defaults::Writers { accounts: clients.writer("service-account-controller"), root_ca: clients.writer("root-ca-cert-publisher") };
    tasks.spawn(namespace_defaults::run(client, writers, ca_pem));
    while tasks.join_next().await.is_some() {}
}
