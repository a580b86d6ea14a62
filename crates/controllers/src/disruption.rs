//! Disruption controller: keeps each PodDisruptionBudget's status (expected and healthy
//! pods, how many disruptions are allowed), which the `pods/eviction` subresource
//! consults — so `kubectl drain` stops where a budget would be broken.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, PostParams};
use serde_json::{json, Value};

use crate::pods::{controller_of, is_ready, label_map};
use crate::runtime::{wait_any, Informer};

/// Entries in `disruptedPods` older than this are dropped (upstream's DeletionTimeout).
const DISRUPTION_TIMEOUT_SECONDS: i64 = 120;

/// The scale of each controller that owns pods, by uid (a Deployment's for its ReplicaSets).
pub type Scales = HashMap<String, i64>;

fn int_or_percent(v: &Value, total: i64) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().ok()?;
            Some((pct * total + 99) / 100)
        }
        _ => None,
    }
}

/// The budget's status, given its pods and their controllers' scales.
pub fn status(pdb: &Value, pods: &[&Pod], scales: &Scales, now: chrono::DateTime<chrono::Utc>) -> Value {
    let spec = &pdb["spec"];
    let by_controllers = || -> i64 {
        let mut owners: BTreeMap<String, i64> = BTreeMap::new();
        for p in pods {
            if let Some(c) = controller_of(&p.metadata) {
                owners.insert(c.uid.clone(), scales.get(&c.uid).copied().unwrap_or(0));
            }
        }
        owners.values().sum()
    };
    let (expected, desired) = if let Some(max_unavailable) = spec.get("maxUnavailable").filter(|v| !v.is_null()) {
        let expected = by_controllers();
        (expected, (expected - int_or_percent(max_unavailable, expected).unwrap_or(0)).max(0))
    } else {
        match spec.get("minAvailable") {
            Some(Value::Number(n)) => (pods.len() as i64, n.as_i64().unwrap_or(0)),
            Some(v @ Value::String(_)) => {
                let expected = by_controllers();
                (expected, int_or_percent(v, expected).unwrap_or(0))
            }
            _ => (pods.len() as i64, 0),
        }
    };
    let mut disrupted = serde_json::Map::new();
    for (name, at) in pdb["status"]["disruptedPods"].as_object().into_iter().flatten() {
        let recent = at.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).is_some_and(|t| now.timestamp() - t.timestamp() < DISRUPTION_TIMEOUT_SECONDS);
        let still_there = pods.iter().any(|p| p.metadata.name.as_deref() == Some(name.as_str()) && p.metadata.deletion_timestamp.is_none());
        if recent && still_there {
            disrupted.insert(name.clone(), at.clone());
        }
    }
    let healthy = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p) && !disrupted.contains_key(p.metadata.name.as_deref().unwrap_or("")))
        .count() as i64;
    let allowed = (healthy - desired).max(0);
    let now_s = crate::runtime::rfc3339(now);
    let (cstatus, reason) = if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    let mut cond = json!({"type": "DisruptionAllowed", "status": cstatus, "reason": reason, "message": "", "lastTransitionTime": now_s,
                          "observedGeneration": pdb["metadata"]["generation"]});
    if let Some(cur) = pdb["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "DisruptionAllowed")) {
        if cur["status"] == cstatus {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    json!({
        "observedGeneration": pdb["metadata"]["generation"],
        "disruptedPods": if disrupted.is_empty() { Value::Null } else { Value::Object(disrupted) },
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [cond],
    })
}

fn differs(new: &Value, old: &Value) -> bool {
    new.as_object().unwrap().iter().any(|(k, v)| {
        let cur = old.get(k).cloned().unwrap_or(Value::Null);
        if k == "conditions" {
            let strip = |c: &Value| c.as_array().map(|a| a.iter().map(|c| (c["status"].clone(), c["reason"].clone(), c["observedGeneration"].clone())).collect::<Vec<_>>());
            return strip(v) != strip(&cur);
        }
        cur != *v
    })
}

pub struct Caches {
    pub pdbs: Informer<PodDisruptionBudget>,
    pub pods: Informer<Pod>,
    pub replicasets: Informer<ReplicaSet>,
    pub deployments: Informer<Deployment>,
    pub rcs: Informer<ReplicationController>,
    pub statefulsets: Informer<StatefulSet>,
}

fn scales(c: &Caches) -> Scales {
    let mut out = Scales::new();
    let deployments: HashMap<String, i64> = c
        .deployments
        .list()
        .iter()
        .map(|d| (d.metadata.uid.clone().unwrap_or_default(), d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as i64))
        .collect();
    for rs in c.replicasets.list().iter() {
        let own = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as i64;
        let scale = controller_of(&rs.metadata).and_then(|o| deployments.get(&o.uid).copied()).unwrap_or(own);
        out.insert(rs.metadata.uid.clone().unwrap_or_default(), scale);
    }
    for rc in c.rcs.list().iter() {
        out.insert(rc.metadata.uid.clone().unwrap_or_default(), rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as i64);
    }
    for ss in c.statefulsets.list().iter() {
        out.insert(ss.metadata.uid.clone().unwrap_or_default(), ss.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as i64);
    }
    out
}

/// Runs the disruption controller until the process ends.
pub async fn run(client: kube::Client, c: Caches) {
    let mut rxs = [c.pdbs.subscribe(), c.pods.subscribe()];
    let mut budget_rx = [c.pdbs.subscribe()];
    c.pdbs.ready().await;
    c.pods.ready().await;
    loop {
        let started = std::time::Instant::now();
        let budgets = c.pdbs.list();
        if !budgets.is_empty() {
            let now = chrono::Utc::now();
            let all_pods = c.pods.list();
            let scales = scales(&c);
            for pdb in budgets.iter() {
                let Ok(v) = serde_json::to_value(&**pdb) else { continue };
                let ns = v["metadata"]["namespace"].as_str().unwrap_or("").to_string();
                let Ok(selector) = api::selector::LabelSelector::from_label_selector(Some(&v["spec"]["selector"])) else { continue };
                let pods: Vec<&Pod> = all_pods
                    .iter()
                    .map(|p| &**p)
                    .filter(|p| p.metadata.namespace.as_deref() == Some(ns.as_str()))
                    .filter(|p| selector.matches(Some(&label_map(p.metadata.labels.as_ref()))))
                    .collect();
                let st = status(&v, &pods, &scales, now);
                if differs(&st, &v["status"]) {
                    let api: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), &ns);
                    let name = v["metadata"]["name"].as_str().unwrap_or("");
                    let mut obj = v.clone();
                    // Nulls are absent fields in a status update.
                    obj["status"] = Value::Object(st.as_object().unwrap().iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect());
                    let result = match serde_json::from_value::<PodDisruptionBudget>(obj) {
                        Ok(pdb) => api.replace_status(name, &PostParams::default(), &pdb).await.map(|_| ()),
                        Err(_) => Ok(()),
                    };
                    if let Err(e) = result {
                        tracing::debug!("pdb {ns}/{name}: {e}");
                    }
                }
            }
        }
        if budgets.is_empty() {
            // Without budgets pod changes matter to nobody: a big cluster's pods churn.
            wait_any(&mut budget_rx, Duration::from_secs(30), Duration::from_millis(200)).await;
            rxs.iter_mut().for_each(|rx| rx.mark_unchanged());
        } else {
            // Pods change constantly in a big cluster: batch them.
            wait_any(&mut rxs, Duration::from_secs(30), crate::runtime::pace(started, Duration::from_millis(200))).await;
            budget_rx[0].mark_unchanged();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs", "controller": true}]},
            "spec": {"containers": []}, "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})).unwrap()
    }

    #[test]
    fn budgets_allow_what_exceeds_the_desired_healthy_count() {
        let (a, b, c) = (pod("a", true), pod("b", true), pod("c", false));
        let pdb = json!({"metadata": {"generation": 1}, "spec": {"minAvailable": 1}});
        let s = status(&pdb, &[&a, &b, &c], &Scales::new(), chrono::Utc::now());
        assert_eq!((s["expectedPods"].as_i64(), s["currentHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()), (Some(3), Some(2), Some(1)));
        let pdb = json!({"metadata": {"generation": 1}, "spec": {"maxUnavailable": "50%"}});
        let s = status(&pdb, &[&a, &b, &c], &Scales::from([("rs".to_string(), 4)]), chrono::Utc::now());
        // 4 expected, 50% rounds up to 2 unavailable: 2 desired, 2 healthy, none allowed.
        assert_eq!((s["desiredHealthy"].as_i64(), s["disruptionsAllowed"].as_i64()), (Some(2), Some(0)));
        assert_eq!(s["conditions"][0]["reason"], "InsufficientPods");
    }
}
