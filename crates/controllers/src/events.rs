//! Events about objects, recorded as upstream's recorder does: a repeat of the same
//! reason and message for the same object bumps `count` and `lastTimestamp` on the
//! existing Event instead of creating another. Which events were recorded is remembered
//! for the 4096 most recently used keys (upstream's correlator LRU), so a long-running
//! component does not keep every event it ever wrote.
//!
//! Callers that must not wait for event writes (the scheduler records one per bound
//! pod) use an [`EventQueue`]: events go through a bounded queue to a background task
//! and are dropped when it is full, as upstream's broadcaster drops them rather than
//! block its caller.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Patch, PatchParams, PostParams};
use kube::Resource;
use serde_json::{json, Value};
use tokio::sync::mpsc;

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

/// How many event keys a recorder remembers (upstream `maxLruCacheEntries`).
pub const SEEN_CAPACITY: usize = 4096;

/// Recorded events by key, the least recently used forgotten first.
struct Seen {
    capacity: usize,
    entries: HashMap<Arc<EventKey>, (Recorded, u64)>,
    /// Keys by last use.
    by_use: BTreeMap<u64, Arc<EventKey>>,
    tick: u64,
}

impl Seen {
    fn new(capacity: usize) -> Seen {
        Seen { capacity, entries: HashMap::new(), by_use: BTreeMap::new(), tick: 0 }
    }

    fn get(&mut self, key: &EventKey) -> Option<Recorded> {
        self.tick += 1;
        let tick = self.tick;
        let (k, (_, used)) = self.entries.get_key_value(key)?;
        let (k, used) = (k.clone(), *used);
        self.by_use.remove(&used);
        self.by_use.insert(tick, k);
        let entry = self.entries.get_mut(key)?;
        entry.1 = tick;
        Some(entry.0.clone())
    }

    fn put(&mut self, key: EventKey, rec: Recorded) {
        self.tick += 1;
        let key = Arc::new(key);
        if let Some((_, used)) = self.entries.insert(key.clone(), (rec, self.tick)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.tick, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else { break };
            self.entries.remove(&oldest);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Records Events for one component (e.g. `deployment-controller`).
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: &'static str,
    seen: Arc<Mutex<Seen>>,
}

impl Recorder {
    pub fn new(client: kube::Client, component: &'static str) -> Self {
        Recorder { client, component, seen: Arc::new(Mutex::new(Seen::new(SEEN_CAPACITY))) }
    }

    pub async fn normal(&self, about: &Involved, reason: &str, message: String) {
        self.record(about, "Normal", reason, message).await
    }

    pub async fn warning(&self, about: &Involved, reason: &str, message: String) {
        self.record(about, "Warning", reason, message).await
    }

    /// Starts a background task that records queued events, up to `concurrency` writes
    /// at once, and returns the queue (of `capacity` events) feeding it. The task ends
    /// when every handle of the queue is dropped. Must be called within a Tokio runtime.
    pub fn queue(&self, capacity: usize, concurrency: usize) -> EventQueue {
        let (tx, rx) = mpsc::channel::<Queued>(capacity.max(1));
        let recorder = self.clone();
        let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|q| (q, rx)) });
        tokio::spawn(events.for_each_concurrent(concurrency.max(1), move |q| {
            let recorder = recorder.clone();
            async move { recorder.record(&q.about, q.type_, &q.reason, q.message).await }
        }));
        EventQueue { tx, dropped: Arc::default() }
    }

    async fn record(&self, about: &Involved, ty: &str, reason: &str, message: String) {
        let ns = if about.namespace.is_empty() { "default".to_string() } else { about.namespace.clone() };
        let now = crate::runtime::now_rfc3339();
        let key = (about.uid.clone(), ty.to_string(), reason.to_string(), message.clone());
        let existing = self.seen.lock().unwrap().get(&key);
        if let Some((name, ns, count)) = existing {
            let patch = json!({"count": count + 1, "lastTimestamp": now});
            let req = kube::core::Request::new(Event::url_path(&(), Some(&ns))).patch(&name, &PatchParams::default(), &Patch::Merge(patch));
            if let Ok(req) = req {
                if self.client.request::<serde::de::IgnoredAny>(req).await.is_ok() {
                    self.seen.lock().unwrap().put(key, (name, ns, count + 1));
                    return;
                }
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
        let Ok(ev) = serde_json::from_value::<Event>(ev) else { return };
        let Ok(body) = serde_json::to_vec(&ev) else { return };
        let Ok(req) = kube::core::Request::new(Event::url_path(&(), Some(&ns))).create(&PostParams::default(), body) else { return };
        // Only the new Event's name is read back, not the whole object.
        match self.client.request::<Written>(req).await {
            Ok(created) => self.seen.lock().unwrap().put(key, (created.metadata.name.unwrap_or_default(), ns, 1)),
            Err(e) => tracing::debug!("recording event {reason} for {}: {e}", about.name),
        }
    }
}

/// What is read back of a created Event.
#[derive(serde::Deserialize)]
struct Written {
    #[serde(default)]
    metadata: WrittenMeta,
}

#[derive(serde::Deserialize, Default)]
struct WrittenMeta {
    name: Option<String>,
}

/// An event waiting in an [`EventQueue`].
struct Queued {
    about: Involved,
    type_: &'static str,
    reason: String,
    message: String,
}

/// A bounded queue of events recorded by a background task (see [`Recorder::queue`]).
/// Adding never waits: when the queue is full the event is dropped.
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<Queued>,
    dropped: Arc<AtomicU64>,
}

impl EventQueue {
    pub fn normal(&self, about: Involved, reason: &str, message: String) {
        self.push(Queued { about, type_: "Normal", reason: reason.to_string(), message })
    }

    pub fn warning(&self, about: Involved, reason: &str, message: String) {
        self.push(Queued { about, type_: "Warning", reason: reason.to_string(), message })
    }

    /// Events dropped so far because the queue was full (or its task had ended).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, q: Queued) {
        if let Err(e) = self.tx.try_send(q) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let q = match e {
                mpsc::error::TrySendError::Full(q) | mpsc::error::TrySendError::Closed(q) => q,
            };
            tracing::debug!("event queue full, dropping event {} for {} ({n} dropped so far)", q.reason, q.about.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> EventKey {
        (format!("uid-{i}"), "Normal".into(), "Scheduled".into(), format!("message {i}"))
    }

    #[test]
    fn seen_forgets_the_least_recently_used() {
        let mut seen = Seen::new(3);
        for i in 0..3 {
            seen.put(key(i), (format!("ev-{i}"), "ns".into(), 1));
        }
        // Using key 0 makes key 1 the oldest.
        assert_eq!(seen.get(&key(0)).map(|r| r.0), Some("ev-0".to_string()));
        seen.put(key(3), ("ev-3".into(), "ns".into(), 1));
        assert_eq!(seen.len(), 3);
        assert!(seen.get(&key(1)).is_none());
        assert!(seen.get(&key(0)).is_some() && seen.get(&key(2)).is_some() && seen.get(&key(3)).is_some());
        // Updating a key keeps one entry for it.
        seen.put(key(3), ("ev-3".into(), "ns".into(), 2));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen.get(&key(3)).map(|r| r.2), Some(2));
        assert_eq!(seen.by_use.len(), 3);
    }

    #[test]
    fn seen_stays_bounded() {
        let mut seen = Seen::new(SEEN_CAPACITY);
        for i in 0..3 * SEEN_CAPACITY {
            seen.put(key(i), (String::new(), String::new(), 1));
        }
        assert_eq!(seen.len(), SEEN_CAPACITY);
        assert_eq!(seen.by_use.len(), SEEN_CAPACITY);
        assert!(seen.get(&key(3 * SEEN_CAPACITY - 1)).is_some());
        assert!(seen.get(&key(0)).is_none());
    }
}
