//! Events about objects, recorded as upstream's recorder does: a repeat of the same
//! reason and message for the same object bumps `count` and `lastTimestamp` on the
//! existing Event instead of creating another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

/// The object an Event is about.
#[derive(Debug, Clone)]
pub struct Involved {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub resource_version: String,
}

impl Involved {
    pub fn of<K: kube::Resource<DynamicType = ()>>(obj: &K) -> Self {
        let m = obj.meta();
        Involved {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            namespace: m.namespace.clone().unwrap_or_default(),
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone().unwrap_or_default(),
            resource_version: m.resource_version.clone().unwrap_or_default(),
        }
    }
}

/// (involved uid, type, reason, message).
type EventKey = (String, String, String, String);
/// (event name, namespace, count).
type Recorded = (String, String, i32);

/// Records Events for one component (e.g. `deployment-controller`).
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: &'static str,
    seen: Arc<Mutex<HashMap<EventKey, Recorded>>>,
}

impl Recorder {
    pub fn new(client: kube::Client, component: &'static str) -> Self {
        Recorder { client, component, seen: Arc::default() }
    }

    pub async fn normal(&self, about: &Involved, reason: &str, message: String) {
        self.record(about, "Normal", reason, message).await
    }

    pub async fn warning(&self, about: &Involved, reason: &str, message: String) {
        self.record(about, "Warning", reason, message).await
    }

    async fn record(&self, about: &Involved, ty: &str, reason: &str, message: String) {
        let ns = if about.namespace.is_empty() { "default".to_string() } else { about.namespace.clone() };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let now = crate::runtime::now_rfc3339();
        let key = (about.uid.clone(), ty.to_string(), reason.to_string(), message.clone());
        let existing = self.seen.lock().unwrap().get(&key).cloned();
        if let Some((name, ns, count)) = existing {
            let patch = json!({"count": count + 1, "lastTimestamp": now});
            let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
            if api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.is_ok() {
                self.seen.lock().unwrap().insert(key, (name, ns, count + 1));
                return;
            }
        }
        let ev: Value = json!({
            "metadata": {"generateName": format!("{}.", about.name), "namespace": ns},
            "involvedObject": {
                "apiVersion": about.api_version, "kind": about.kind, "namespace": if about.namespace.is_empty() { Value::Null } else { json!(about.namespace) },
                "name": about.name, "uid": about.uid, "resourceVersion": about.resource_version
            },
            "reason": reason, "message": message, "type": ty,
            "source": {"component": self.component},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": self.component, "reportingInstance": "",
        });
        let ev: Event = match serde_json::from_value(ev) {
            Ok(e) => e,
            Err(_) => return,
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(created) => {
                let mut seen = self.seen.lock().unwrap();
                if seen.len() > 4096 {
                    seen.clear();
                }
                seen.insert(key, (created.metadata.name.unwrap_or_default(), ns, 1));
            }
            Err(e) => tracing::debug!("recording event {reason} for {}: {e}", about.name),
        }
    }
}
