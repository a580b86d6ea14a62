//! TTL after finished: a Job with `spec.ttlSecondsAfterFinished` is deleted (with its
//! pods, in the foreground) that many seconds after it completed or failed.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};

use crate::runtime::{wait_any, Informer};

/// When the Job finished (its Complete or Failed condition became True), in seconds.
pub fn finished_at(job: &Job) -> Option<i64> {
    let conds = job.status.as_ref()?.conditions.as_ref()?;
    conds
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| t.0.as_second()).unwrap_or(0))
}

/// Seconds until `job` expires (≤ 0: now), or None if it never does.
pub fn expires_in(job: &Job, now: i64) -> Option<i64> {
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished? as i64;
    Some(finished_at(job)? + ttl - now)
}

/// Runs the controller until the process ends.
pub async fn run(client: kube::Client, jobs: Informer<Job>) {
    let mut rxs = [jobs.subscribe()];
    jobs.ready().await;
    loop {
        let now = chrono::Utc::now().timestamp();
        let mut next = Duration::from_secs(60);
        for job in jobs.list().iter() {
            match expires_in(job, now) {
                Some(left) if left <= 0 => {
                    let ns = job.metadata.namespace.clone().unwrap_or_default();
                    let name = job.metadata.name.clone().unwrap_or_default();
                    let dp = DeleteParams {
                        propagation_policy: Some(PropagationPolicy::Foreground),
                        preconditions: Some(Preconditions { uid: job.metadata.uid.clone(), resource_version: None }),
                        ..Default::default()
                    };
                    if let Err(e) = Api::<Job>::namespaced(client.clone(), &ns).delete(&name, &dp).await {
                        tracing::debug!("ttl-after-finished {ns}/{name}: {e}");
                    }
                }
                Some(left) => next = next.min(Duration::from_secs(left as u64)),
                None => {}
            }
        }
        wait_any(&mut rxs, next, Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finished_jobs_expire_after_their_ttl() {
        let job: Job = serde_json::from_value(json!({
            "metadata": {"name": "j"},
            "spec": {"ttlSecondsAfterFinished": 10, "template": {"spec": {"containers": []}}},
            "status": {"conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .unwrap();
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().timestamp();
        assert_eq!(expires_in(&job, t0 + 4), Some(6));
        assert_eq!(expires_in(&job, t0 + 11), Some(-1));
        let mut running = job.clone();
        running.status = None;
        assert_eq!(expires_in(&running, t0), None);
    }
}
