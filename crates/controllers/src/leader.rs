//! Leader election through a coordination.k8s.io Lease, as client-go's leaderelection:
//! one holder at a time runs the work; it renews the Lease every `RETRY`; another
//! candidate takes over only when the record has not changed for `LEASE_DURATION` by
//! its own clock. A leader that cannot renew within `RENEW_DEADLINE` stops its work.

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};

/// Upstream's defaults for kube-controller-manager and kube-scheduler.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
pub const RETRY: Duration = Duration::from_secs(2);

/// `metav1.MicroTime` now (Lease renewTime).
pub fn now_micro() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A candidate name: the host name and a suffix naming this server (derived from its
/// data directory), so a restarted server recognises the Lease as its own and resumes
/// at once instead of waiting out its previous life's term.
pub fn identity(server: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "rkube".into());
    let h = server.bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193));
    format!("{host}_{h:08x}")
}

/// What a candidate does with the Lease it sees.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Write the Lease naming us (create, renew, or take over an expired one).
    Claim,
    /// Someone else holds it and it has not expired.
    Wait,
}

/// Decides from the Lease's spec, whether we hold it, and how long its record has
/// been unchanged by our clock.
pub fn step(spec: Option<&Value>, me: &str, unchanged_for: Duration) -> Step {
    let Some(spec) = spec else { return Step::Claim };
    let holder = spec["holderIdentity"].as_str().unwrap_or("");
    let duration = Duration::from_secs(spec["leaseDurationSeconds"].as_u64().unwrap_or(LEASE_DURATION.as_secs()));
    if holder.is_empty() || holder == me || unchanged_for > duration {
        Step::Claim
    } else {
        Step::Wait
    }
}

/// Tries once to hold the Lease; true when we hold it now.
async fn try_hold(api: &Api<Lease>, name: &str, me: &str, seen: &mut Option<(Value, Instant)>) -> bool {
    let current = match api.get_opt(name).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("leader election {name}: {e}");
            return false;
        }
    };
    let Some(lease) = current else {
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"holderIdentity": me, "leaseDurationSeconds": LEASE_DURATION.as_secs(), "acquireTime": now_micro(), "renewTime": now_micro(), "leaseTransitions": 0}
        }))
        .expect("lease");
        return api.create(&PostParams::default(), &lease).await.is_ok();
    };
    let spec = serde_json::to_value(&lease.spec).unwrap_or(Value::Null);
    let unchanged_for = match seen {
        Some((record, at)) if *record == spec => at.elapsed(),
        _ => {
            *seen = Some((spec.clone(), Instant::now()));
            Duration::ZERO
        }
    };
    if step(Some(&spec), me, unchanged_for) == Step::Wait {
        return false;
    }
    let mut updated = lease.clone();
    let mut s = spec.clone();
    if s["holderIdentity"].as_str() != Some(me) {
        s["acquireTime"] = json!(now_micro());
        s["leaseTransitions"] = json!(s["leaseTransitions"].as_i64().unwrap_or(0) + 1);
    }
    s["holderIdentity"] = json!(me);
    s["leaseDurationSeconds"] = json!(LEASE_DURATION.as_secs());
    s["renewTime"] = json!(now_micro());
    updated.spec = serde_json::from_value(s).ok();
    // The resourceVersion makes this a compare-and-swap: two candidates cannot both win.
    api.replace(name, &PostParams::default(), &updated).await.is_ok()
}

/// Runs `work` while this process holds Lease `kube-system/<name>`; stops it when the
/// Lease is lost and campaigns again. Never returns.
pub async fn lead<F, Fut>(client: kube::Client, name: &str, me: String, work: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let api: Api<Lease> = Api::namespaced(client, "kube-system");
    let mut seen = None;
    loop {
        while !try_hold(&api, name, &me, &mut seen).await {
            tokio::time::sleep(RETRY).await;
        }
        tracing::info!("{me} became leader of {name}");
        let running = tokio::spawn(work());
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(RETRY).await;
            if try_hold(&api, name, &me, &mut seen).await {
                renewed = Instant::now();
            } else if renewed.elapsed() > RENEW_DEADLINE {
                break;
            }
        }
        tracing::warn!("{me} lost the lease {name}: stopping");
        running.abort();
        seen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_only_when_free_ours_or_expired() {
        let held = json!({"holderIdentity": "other", "leaseDurationSeconds": 15});
        assert_eq!(step(None, "me", Duration::ZERO), Step::Claim);
        assert_eq!(step(Some(&held), "me", Duration::from_secs(5)), Step::Wait);
        assert_eq!(step(Some(&held), "me", Duration::from_secs(16)), Step::Claim);
        assert_eq!(step(Some(&json!({"holderIdentity": "me"})), "me", Duration::ZERO), Step::Claim);
    }
}
