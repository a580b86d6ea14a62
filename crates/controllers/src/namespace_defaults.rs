//! What every namespace gets: the `default` ServiceAccount (upstream's serviceaccount
//! controller) and the `kube-root-ca.crt` ConfigMap holding the cluster CA (upstream's
//! root-ca-cert-publisher).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::Notify;

use crate::runtime::follow;

pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
const RESYNC: Duration = Duration::from_secs(30);

/// A write the controller wants made.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CreateServiceAccount { namespace: String },
    CreateRootCa { namespace: String },
    /// The ConfigMap exists with other contents: replace its data.
    UpdateRootCa { existing: Box<ConfigMap> },
}

fn active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none() && ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating")
}

/// The writes that give every active namespace its defaults.
pub fn reconcile(namespaces: &[Namespace], accounts: &[ServiceAccount], configmaps: &[ConfigMap], ca_pem: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    for ns in namespaces.iter().filter(|n| active(n)) {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let in_ns = |m: &kube::api::ObjectMeta, want: &str| {
            m.namespace.as_deref() == Some(name.as_str()) && m.name.as_deref() == Some(want)
        };
        if !accounts.iter().any(|a| in_ns(&a.metadata, DEFAULT_SERVICE_ACCOUNT)) {
            actions.push(Action::CreateServiceAccount { namespace: name.clone() });
        }
        match configmaps.iter().find(|c| in_ns(&c.metadata, ROOT_CA_CONFIGMAP)) {
            None => actions.push(Action::CreateRootCa { namespace: name.clone() }),
            Some(cm) if cm.data.as_ref().and_then(|d| d.get("ca.crt")).map(String::as_str) != Some(ca_pem) => {
                actions.push(Action::UpdateRootCa { existing: Box::new(cm.clone()) })
            }
            Some(_) => {}
        }
    }
    actions
}

fn root_ca(namespace: &str, ca_pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(ROOT_CA_CONFIGMAP.into()),
            namespace: Some(namespace.into()),
            annotations: Some(BTreeMap::from([(
                "kubernetes.io/description".to_string(),
                "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.".to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("ca.crt".to_string(), ca_pem.to_string())])),
        ..Default::default()
    }
}

/// The identities the two controllers write as.
pub struct Writers {
    pub accounts: kube::Client,
    pub root_ca: kube::Client,
}

async fn execute(w: &Writers, action: &Action, ca_pem: &str) -> Result<(), kube::Error> {
    let pp = PostParams::default();
    match action {
        Action::CreateServiceAccount { namespace } => {
            let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}})).expect("SA");
            Api::<ServiceAccount>::namespaced(w.accounts.clone(), namespace).create(&pp, &sa).await.map(|_| ())
        }
        Action::CreateRootCa { namespace } => {
            Api::<ConfigMap>::namespaced(w.root_ca.clone(), namespace).create(&pp, &root_ca(namespace, ca_pem)).await.map(|_| ())
        }
        Action::UpdateRootCa { existing } => {
            let namespace = existing.metadata.namespace.clone().unwrap_or_default();
            let mut cm = (**existing).clone();
            cm.data = root_ca(&namespace, ca_pem).data;
            Api::<ConfigMap>::namespaced(w.root_ca.clone(), &namespace).replace(ROOT_CA_CONFIGMAP, &pp, &cm).await.map(|_| ())
        }
    }
}

pub async fn run(client: kube::Client, writers: Writers, ca_pem: String) {
    let changed = Arc::new(Notify::new());
    let namespaces = follow(Api::<Namespace>::all(client.clone()), watcher::Config::default(), changed.clone());
    let by_name = |n: &str| watcher::Config::default().fields(&format!("metadata.name={n}"));
    let accounts = follow(Api::<ServiceAccount>::all(client.clone()), by_name(DEFAULT_SERVICE_ACCOUNT), changed.clone());
    let configmaps = follow(Api::<ConfigMap>::all(client.clone()), by_name(ROOT_CA_CONFIGMAP), changed.clone());
    let _ = namespaces.wait_until_ready().await;
    let _ = accounts.wait_until_ready().await;
    let _ = configmaps.wait_until_ready().await;
    loop {
        let ns: Vec<Namespace> = namespaces.state().iter().map(|n| (**n).clone()).collect();
        let sa: Vec<ServiceAccount> = accounts.state().iter().map(|n| (**n).clone()).collect();
        let cm: Vec<ConfigMap> = configmaps.state().iter().map(|n| (**n).clone()).collect();
        for action in reconcile(&ns, &sa, &cm, &ca_pem) {
            if let Err(e) = execute(&writers, &action, &ca_pem).await {
                // AlreadyExists and terminating namespaces resolve on the next pass.
                tracing::debug!("{action:?}: {e}");
            }
        }
        let _ = tokio::time::timeout(RESYNC, changed.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(name: &str, terminating: bool) -> Namespace {
        let mut n: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        if terminating {
            n.status = Some(serde_json::from_value(json!({"phase": "Terminating"})).unwrap());
        }
        n
    }

    #[test]
    fn every_active_namespace_gets_its_defaults() {
        let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "default", "namespace": "a"}})).unwrap();
        let stale = root_ca("a", "old");
        let actions = reconcile(&[ns("a", false), ns("b", false), ns("gone", true)], &[sa], std::slice::from_ref(&stale), "pem");
        assert_eq!(
            actions,
            vec![
                Action::UpdateRootCa { existing: Box::new(stale.clone()) },
                Action::CreateServiceAccount { namespace: "b".into() },
                Action::CreateRootCa { namespace: "b".into() },
            ]
        );
        let sa_b: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "default", "namespace": "b"}})).unwrap();
        let sa_a: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "default", "namespace": "a"}})).unwrap();
        assert!(reconcile(&[ns("a", false), ns("b", false)], &[sa_a, sa_b], &[root_ca("a", "pem"), root_ca("b", "pem")], "pem").is_empty());
    }
}
