//! The controller manager: each module is one controller, a reconcile function over
//! what the shared caches observe that returns the writes to make, plus the loop that
//! runs it. Controllers are API clients only; they are level-triggered and idempotent,
//! so a restart or a missed event heals itself.

pub mod namespace_defaults;
pub mod runtime;

/// Runs every controller until the process ends. `ca_pem` is the cluster CA published
/// in each namespace's `kube-root-ca.crt` ConfigMap.
pub async fn run(client: kube::Client, ca_pem: String) {
    namespace_defaults::run(client, ca_pem).await;
}
