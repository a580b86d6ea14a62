//! `pods/eviction`: delete a pod unless that would violate its PodDisruptionBudget
//! (what `kubectl drain` uses). The budget's status comes from the disruption
//! controller; a budget it has not processed yet blocks evictions, as upstream.

use api::selector::LabelSelector;
use serde_json::{json, Value};
use store::StoreError;

use super::write::{self, decode_json};
use super::{output, Req};
use crate::objects;
use crate::server::Reply;
use crate::status::{ApiError, ApiResult};

fn too_many_requests(cause: String) -> ApiError {
    ApiError::new(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.")
        .with_details(json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]}))
}

fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

/// Pods that are done, not yet running, or already going need no budget.
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed" | "Pending")) || objects::is_deleting(pod)
}

pub async fn evict(req: &Req) -> ApiResult<Reply> {
    let eviction = decode_json(req)?;
    let name = eviction["metadata"]["name"].as_str().unwrap_or("");
    if !name.is_empty() && name != req.name() {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object ({name} != {})",
            req.name()
        )));
    }
    let opts = write::delete_options_from(req, eviction.get("deleteOptions").unwrap_or(&json!({})))?;
    let pod = super::read::current(req).await?;
    let pod_value = pod.value();
    if !can_ignore_budget(&pod_value) {
        take_disruption(req, &pod_value, opts_dry_run(&eviction, req)?).await?;
    }
    write::delete_one(req, req.name(), &opts).await?;
    Ok(output::value_reply(req, 201, &success()))
}

fn opts_dry_run(eviction: &Value, req: &Req) -> ApiResult<bool> {
    let body = eviction["deleteOptions"]["dryRun"].as_array().is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(body || req.query.dry_run()?)
}

/// Checks the pod's budget and records the disruption in its status.
async fn take_disruption(req: &Req, pod: &Value, dry_run: bool) -> ApiResult<()> {
    let pdbs = api::registry::find("policy", "v1", "poddisruptionbudgets").expect("PDBs are registered");
    loop {
        req.srv.cache.sync().await?;
        let matching: Vec<_> = req
            .srv
            .cache
            .resource(pdbs.storage)
            .list(&pdbs.prefix(Some(req.ns())))
            .into_iter()
            .filter(|b| {
                LabelSelector::from_label_selector(b.value()["spec"].get("selector"))
                    .is_ok_and(|s| !s.matches_nothing() && s.matches(objects::labels(pod)))
            })
            .collect();
        let budget = match matching.as_slice() {
            [] => return Ok(()),
            [one] => one.clone(),
            _ => {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ))
            }
        };
        let (b, bname) = (&budget.value(), budget.attrs.name());
        let generation = b["metadata"]["generation"].as_i64().unwrap_or(0);
        if b["status"]["observedGeneration"].as_i64().unwrap_or(0) < generation {
            return Err(too_many_requests(format!("The disruption budget {bname} is still being processed by the server.")));
        }
        let allowed = b["status"]["disruptionsAllowed"].as_i64().unwrap_or(0);
        if allowed <= 0 {
            let (desired, current) = (b["status"]["desiredHealthy"].as_i64().unwrap_or(0), b["status"]["currentHealthy"].as_i64().unwrap_or(0));
            return Err(too_many_requests(format!("The disruption budget {bname} needs {desired} healthy pods and has {current} currently")));
        }
        if dry_run {
            return Ok(());
        }
        let mut updated = b.clone();
        updated["status"]["disruptionsAllowed"] = json!(allowed - 1);
        updated["status"]["disruptedPods"][objects::name(pod)] = json!(objects::now_rfc3339());
        match write::store_put(req, pdbs.storage, &budget.key, updated, Some(budget.rev)).await {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
