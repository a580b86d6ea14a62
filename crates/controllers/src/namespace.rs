//! Namespace controller: a namespace being deleted is emptied — every namespaced kind
//! is deleted in it, waiting for objects with finalizers — and then its `kubernetes`
//! finalizer is removed through `namespaces/{name}/finalize`, so it goes. Its status
//! conditions say what remains, in upstream's words.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::PartialObjectMeta;
use serde_json::{json, Value};

use crate::runtime::{wait_any, Informer};

pub const FINALIZER: &str = "kubernetes";

/// Every namespaced kind that can be listed and deleted, once per storage.
fn namespaced_resources() -> Vec<ApiResource> {
    let mut seen = HashSet::new();
    api::registry_data::RESOURCES
        .iter()
        .filter(|r| r.namespaced && r.has_verb("list") && r.has_verb("deletecollection"))
        .filter(|r| seen.insert(r.storage))
        .map(|r| ApiResource { group: r.group.into(), version: r.version.into(), api_version: r.api_version(), kind: r.kind.into(), plural: r.plural.into() })
        .collect()
}

/// What is left in a namespace: counts per resource and per finalizer.
#[derive(Debug, Default, PartialEq)]
pub struct Remaining {
    pub resources: BTreeMap<String, usize>,
    pub finalizers: BTreeMap<String, usize>,
}

/// The deletion conditions upstream's namespace controller reports.
pub fn conditions(left: &Remaining, now: &str) -> Vec<Value> {
    let c = |ty: &str, status: &str, reason: &str, message: String| json!({"type": ty, "status": status, "lastTransitionTime": now, "reason": reason, "message": message});
    let mut out = vec![
        c("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered".into()),
        c("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions", "All legacy kube types successfully parsed".into()),
        c("NamespaceDeletionContentFailure", "False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization".into()),
    ];
    if left.resources.is_empty() {
        out.push(c("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed".into()));
    } else {
        let parts: Vec<String> = left.resources.iter().map(|(r, n)| format!("{r} has {n} resource instances")).collect();
        out.push(c("NamespaceContentRemaining", "True", "SomeResourcesRemain", format!("Some resources are remaining: {}", parts.join(", "))));
    }
    if left.finalizers.is_empty() {
        out.push(c("NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers", "All content-preserving finalizers finished".into()));
    } else {
        let parts: Vec<String> = left.finalizers.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
        out.push(c("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain", format!("Some content in the namespace has finalizers remaining: {}", parts.join(", "))));
    }
    out
}

/// Deletes what is in `ns` and reports what is still there.
async fn empty(client: &kube::Client, ns: &str, resources: &[ApiResource]) -> Remaining {
    let mut left = Remaining::default();
    for ar in resources {
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::namespaced_with(client.clone(), ns, ar);
        let list = match api.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) => {
                // Unknown until listed: count it as remaining so nothing is lost.
                tracing::debug!("emptying namespace {ns}: listing {}: {e}", ar.plural);
                left.resources.insert(ar.plural.clone(), 0);
                continue;
            }
        };
        if list.items.is_empty() {
            continue;
        }
        let live: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
        if list.items.iter().any(|o| o.metadata.deletion_timestamp.is_none()) {
            if let Err(e) = live.delete_collection(&DeleteParams::background(), &ListParams::default()).await {
                tracing::debug!("emptying namespace {ns}: {}: {e}", ar.plural);
            }
        }
        let group = if ar.group.is_empty() { String::new() } else { format!(".{}", ar.group) };
        left.resources.insert(format!("{}{group}", ar.plural), list.items.len());
        for o in &list.items {
            for f in o.metadata.finalizers.iter().flatten() {
                *left.finalizers.entry(f.clone()).or_default() += 1;
            }
        }
    }
    left
}

async fn finalize(client: &kube::Client, ns: &Namespace) -> Result<(), kube::Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut ns = ns.clone();
    if let Some(spec) = ns.spec.as_mut() {
        spec.finalizers = Some(spec.finalizers.iter().flatten().filter(|f| *f != FINALIZER).cloned().collect());
    }
    let name = ns.metadata.name.clone().unwrap_or_default();
    api.replace_subresource("finalize", &name, &PostParams::default(), &ns).await.map(|_| ())
}

fn terminating(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some() && ns.spec.as_ref().and_then(|s| s.finalizers.as_ref()).is_some_and(|f| f.iter().any(|f| f == FINALIZER))
}

/// Runs the namespace controller until the process ends.
pub async fn run(client: kube::Client, namespaces: Informer<Namespace>) {
    let resources = namespaced_resources();
    let mut rxs = [namespaces.subscribe()];
    namespaces.ready().await;
    let api: Api<Namespace> = Api::all(client.clone());
    loop {
        let doomed: Vec<Namespace> = namespaces.list().iter().filter(|n| terminating(n)).map(|n| (**n).clone()).collect();
        for ns in &doomed {
            let name = ns.metadata.name.clone().unwrap_or_default();
            let left = empty(&client, &name, &resources).await;
            tracing::debug!("namespace {name}: remaining {left:?}");
            if left.resources.is_empty() {
                if let Err(e) = finalize(&client, ns).await {
                    tracing::debug!("finalizing namespace {name}: {e}");
                }
                continue;
            }
            let now = crate::runtime::now_rfc3339();
            let current = ns.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
            let wanted = conditions(&left, &now);
            let same = wanted.iter().all(|w| current.iter().any(|c| c.type_ == w["type"] && c.status == w["status"] && c.message.as_deref() == w["message"].as_str()));
            if !same {
                let mut updated = ns.clone();
                if let Some(status) = updated.status.as_mut() {
                    status.conditions = serde_json::from_value(json!(wanted)).ok();
                }
                let _ = api.replace_status(&name, &PostParams::default(), &updated).await;
            }
        }
        // Terminating namespaces wait on other components' deletions: look again soon.
        let timeout = if doomed.is_empty() { Duration::from_secs(30) } else { Duration::from_millis(500) };
        wait_any(&mut rxs, timeout, Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_name_what_remains() {
        let left = Remaining { resources: BTreeMap::from([("pods".to_string(), 2)]), finalizers: BTreeMap::from([("example.com/x".to_string(), 1)]) };
        let c = conditions(&left, "t");
        assert_eq!(c[3]["message"], "Some resources are remaining: pods has 2 resource instances");
        assert_eq!(c[4]["message"], "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances");
        let c = conditions(&Remaining::default(), "t");
        assert_eq!(c[3]["reason"], "ContentRemoved");
    }
}
