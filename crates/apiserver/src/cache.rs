//! The watch cache: one store watch feeds an in-memory copy of every resource. LISTs
//! at the latest revision and every watch are served from here; each object is
//! encoded once and the same bytes go to every watcher and list.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use store::{Event, EventType, KeyValue, Store};
use tokio::sync::{broadcast, watch};

use crate::status::{ApiError, ApiResult};

/// How long events stay in memory for watchers resuming from an older version; older
/// watchers are replayed from the store's history (kept at least one compaction
/// interval), so memory need not hold much.
const HISTORY_TTL: Duration = Duration::from_secs(150);
const HISTORY_CAP: usize = 10_000;
const WATCHER_BUFFER: usize = 8192;
/// A watcher resuming further back than the cached history is replayed from the store,
/// unless that means more than this many revisions: then it is told its version is too
/// old (410) and relists, as upstream's watch cache answers. A busy cluster writes
/// thousands of revisions a second, and replaying all of them for a client that fell
/// behind costs more memory and CPU than its relist.
const REPLAY_LIMIT: i64 = 20_000;

/// An object as served: its JSON bytes (with `metadata.resourceVersion` set) and the
/// few fields selectors and scoping read. The full object is parsed from the bytes when
/// a request needs it: holding parsed trees for every object costs several times the
/// bytes, and most reads only copy the bytes out.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub rev: i64,
    pub json: Bytes,
    /// Name, namespace, labels and the fields any kind's field selectors read.
    pub attrs: Attrs,
}

/// What scoping and selectors read of an object. The few fields read on every request
/// are kept as strings; the rest (labels and every field some field selector reads) as
/// compact JSON, parsed only when a request selects by it: held as parsed maps, these
/// cost more memory than the object's own JSON.
#[derive(Debug)]
pub struct Attrs {
    name: Box<str>,
    namespace: Box<str>,
    api_version: Box<str>,
    /// `spec.nodeName` (pods, volume attachments), which the Node authorizer scans by.
    node_name: Box<str>,
    deleting: bool,
    json: Box<[u8]>,
}

impl Attrs {
    pub fn of(value: &Value) -> Attrs {
        let s = |v: &Value| Box::<str>::from(v.as_str().unwrap_or(""));
        let selectable = attrs_of(value);
        Attrs {
            name: s(&value["metadata"]["name"]),
            namespace: s(&value["metadata"]["namespace"]),
            api_version: s(&value["apiVersion"]),
            node_name: s(&value["spec"]["nodeName"]),
            deleting: !value["metadata"]["deletionTimestamp"].is_null(),
            json: serde_json::to_vec(&selectable).unwrap_or_default().into_boxed_slice(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    pub fn is_deleting(&self) -> bool {
        self.deleting
    }

    /// Everything selectors read, as an object shaped like the original.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or_default()
    }
}

/// The paths (besides metadata's name, namespace, labels and uid) that field selectors
/// of some kind read; see `api::selector::field_value`.
const SELECTABLE: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["type"],
    &["reason"],
    &["reportingComponent"],
    &["reportingController"],
    &["source"],
    &["deprecatedSource"],
    &["involvedObject"],
    &["regarding"],
    &["metadata", "deletionTimestamp"],
    &["spec", "nodeName"],
    &["spec", "host"],
    &["spec", "hostNetwork"],
    &["spec", "restartPolicy"],
    &["spec", "schedulerName"],
    &["spec", "serviceAccountName"],
    &["spec", "unschedulable"],
    &["spec", "clusterIP"],
    &["spec", "type"],
    &["spec", "signerName"],
    &["spec", "driver"],
    &["status", "phase"],
    &["status", "podIP"],
    &["status", "podIPs"],
    &["status", "nominatedNodeName"],
    &["status", "replicas"],
    &["status", "succeeded"],
];

fn attrs_of(value: &Value) -> Value {
    let mut out = serde_json::json!({"metadata": {}});
    for f in ["name", "namespace", "labels", "uid", "resourceVersion"] {
        if let Some(v) = value["metadata"].get(f) {
            out["metadata"][f] = v.clone();
        }
    }
    for path in SELECTABLE {
        let mut src = value;
        for p in path.iter() {
            src = &src[*p];
        }
        if src.is_null() {
            continue;
        }
        let mut dst = &mut out;
        for (i, p) in path.iter().enumerate() {
            if i + 1 == path.len() {
                dst[*p] = src.clone();
            } else {
                if !dst[*p].is_object() {
                    dst[*p] = serde_json::json!({});
                }
                dst = &mut dst[*p];
            }
        }
    }
    out
}

impl CachedObject {
    pub fn from_kv(kv: &KeyValue, rev: i64) -> Option<Arc<CachedObject>> {
        Self::from_value(kv.key.clone(), rev, serde_json::from_slice(&kv.value).ok()?)
    }

    pub fn from_value(key: String, rev: i64, mut value: Value) -> Option<Arc<CachedObject>> {
        crate::objects::set_resource_version(&mut value, rev);
        let json = Bytes::from(serde_json::to_vec(&value).ok()?);
        Some(Arc::new(CachedObject { key, rev, json, attrs: Attrs::of(&value) }))
    }

    /// The whole object, parsed from its bytes.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).expect("cached objects are JSON")
    }

    pub fn namespace(&self) -> &str {
        self.attrs.namespace()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "ADDED",
            EventKind::Modified => "MODIFIED",
            EventKind::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct CachedEvent {
    pub kind: EventKind,
    pub rev: i64,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
}

impl CachedEvent {
    /// The event for a store change. `current` is the cached object for the key (the
    /// previous value, when revisions agree) and `written` the new value as the writer
    /// parsed it: both spare decoding again.
    fn from_store(ev: &Event, current: Option<Arc<CachedObject>>, written: Option<Value>) -> Option<CachedEvent> {
        let rev = ev.revision();
        let prev = match (&ev.prev, current) {
            (Some(p), Some(c)) if c.rev == p.mod_revision => Some(c),
            (Some(p), _) => CachedObject::from_kv(p, p.mod_revision),
            (None, _) => None,
        };
        let key = ev.kv.key.clone();
        let object = match (ev.event_type, written, &prev) {
            // A deleted object is served with the delete's revision.
            (EventType::Delete, _, Some(p)) => CachedObject::from_value(key, rev, p.value())?,
            (EventType::Put, Some(v), _) => CachedObject::from_value(key, rev, v)?,
            _ => CachedObject::from_kv(&ev.kv, rev)?,
        };
        let kind = match ev.event_type {
            EventType::Put if ev.prev.is_none() => EventKind::Added,
            EventType::Put => EventKind::Modified,
            EventType::Delete => EventKind::Deleted,
        };
        Some(CachedEvent { kind, rev, object, prev })
    }
}

struct State {
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<(Instant, Arc<CachedEvent>)>,
    /// History is complete for every revision after this one.
    complete_after: i64,
}

pub struct ResourceCache {
    storage: String,
    state: RwLock<State>,
    events: broadcast::Sender<Arc<CachedEvent>>,
}

/// What a new watcher starts with: the events to send first, then the live receiver.
pub struct Subscription {
    pub initial: Vec<Arc<CachedEvent>>,
    pub live: broadcast::Receiver<Arc<CachedEvent>>,
}

impl ResourceCache {
    fn new(storage: &str, rev: i64) -> Self {
        let (events, _) = broadcast::channel(WATCHER_BUFFER);
        ResourceCache {
            storage: storage.to_string(),
            state: RwLock::new(State { objects: BTreeMap::new(), history: VecDeque::new(), complete_after: rev }),
            events,
        }
    }

    fn apply(&self, ev: Arc<CachedEvent>) {
        let mut st = self.state.write().unwrap();
        match ev.kind {
            EventKind::Deleted => st.objects.remove(&ev.object.key),
            _ => st.objects.insert(ev.object.key.clone(), ev.object.clone()),
        };
        let now = Instant::now();
        st.history.push_back((now, ev.clone()));
        while let Some((at, front)) = st.history.front() {
            if st.history.len() <= HISTORY_CAP && now.duration_since(*at) < HISTORY_TTL {
                break;
            }
            st.complete_after = front.rev;
            st.history.pop_front();
        }
        let _ = self.events.send(ev);
    }

    /// The objects under `prefix` (a key prefix such as `/registry/pods/ns/`).
    pub fn list(&self, prefix: &str) -> Vec<Arc<CachedObject>> {
        let st = self.state.read().unwrap();
        st.objects.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v.clone()).collect()
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.state.read().unwrap().objects.get(key).cloned()
    }

    pub fn len(&self) -> usize {
        self.state.read().unwrap().objects.len()
    }
}

/// A cheap content hash to match a store event with the write that made it (not
/// adversarial: a false match would need the same key and a colliding value).
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(0u64, |acc, b| acc << 8 | *b as u64);
    let h = chunks.fold(bytes.len() as u64, |h, c| mix(h, u64::from_le_bytes(c.try_into().unwrap())));
    mix(h, tail)
}

pub struct WatchCache {
    /// Values being written, by key: the cache takes them instead of decoding the
    /// stored bytes again (matched by content hash, so a stale one is just dropped).
    written: std::sync::Mutex<HashMap<String, (u64, Value)>>,
    store: Arc<dyn Store>,
    resources: HashMap<String, Arc<ResourceCache>>,
    revision: watch::Sender<i64>,
}

impl WatchCache {
    /// Loads every resource at the store's current revision and starts following it.
    pub async fn start(store: Arc<dyn Store>, storages: &[&str]) -> Result<Arc<WatchCache>, store::StoreError> {
        let snapshot = store.range("/registry/", None, 0, 0).await?;
        let rev = snapshot.revision;
        let mut resources = HashMap::new();
        for s in storages {
            resources.insert(s.to_string(), Arc::new(ResourceCache::new(s, rev)));
        }
        let (revision, _) = watch::channel(rev);
        let cache = Arc::new(WatchCache { written: Default::default(), store: store.clone(), resources, revision });
        for kv in &snapshot.kvs {
            if let (Some(rc), Some(obj)) = (cache.for_key(&kv.key), CachedObject::from_kv(kv, kv.mod_revision)) {
                rc.state.write().unwrap().objects.insert(kv.key.clone(), obj);
            }
        }
        let feed = cache.clone();
        tokio::spawn(async move { feed.follow(rev).await });
        Ok(cache)
    }

    async fn follow(self: Arc<Self>, mut rev: i64) {
        loop {
            let mut stream = match self.store.watch("/registry/", rev + 1).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("watch cache: cannot watch the store: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(item) = stream.next().await {
                match item {
                    Ok(ev) => {
                        rev = ev.revision();
                        self.ingest(&ev);
                        self.revision.send_replace(rev);
                    }
                    Err(e) => {
                        tracing::warn!("watch cache: store watch ended: {e}; resuming from {rev}");
                        break;
                    }
                }
            }
        }
    }

    /// Announces a write of `value` (serialized as `bytes`) to `key`.
    pub fn expect_write(&self, key: &str, bytes: &[u8], value: Value) {
        self.written.lock().unwrap().insert(key.to_string(), (content_hash(bytes), value));
    }

    /// Drops an announced write that did not happen.
    pub fn forget_write(&self, key: &str) {
        self.written.lock().unwrap().remove(key);
    }

    fn take_written(&self, ev: &Event) -> Option<Value> {
        if ev.event_type != EventType::Put {
            return None;
        }
        let (hash, value) = self.written.lock().unwrap().remove(&ev.kv.key)?;
        (hash == content_hash(&ev.kv.value)).then_some(value)
    }

    fn ingest(&self, ev: &Event) {
        let Some(rc) = self.for_key(&ev.kv.key) else { return };
        let current = rc.get(&ev.kv.key);
        match CachedEvent::from_store(ev, current, self.take_written(ev)) {
            Some(ce) => rc.apply(Arc::new(ce)),
            None => tracing::warn!("watch cache: undecodable value at {}", ev.kv.key),
        }
    }

    fn for_key(&self, key: &str) -> Option<&Arc<ResourceCache>> {
        let rest = key.strip_prefix("/registry/")?;
        let mut parts = rest.splitn(3, '/');
        let first = parts.next()?;
        if let Some(rc) = self.resources.get(first) {
            return Some(rc);
        }
        let second = parts.next()?;
        self.resources.get(&format!("{first}/{second}"))
    }

    pub fn resource(&self, storage: &str) -> &Arc<ResourceCache> {
        self.resources.get(storage).expect("every registered storage has a cache")
    }

    pub fn revision(&self) -> i64 {
        *self.revision.borrow()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Waits until the cache has seen revision `rev` (up to 3 s, as upstream).
    pub async fn wait_for(&self, rev: i64) -> ApiResult<()> {
        let mut rx = self.revision.subscribe();
        let reached = tokio::time::timeout(Duration::from_secs(3), rx.wait_for(|r| *r >= rev)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::too_large_resource_version(rev, self.revision())),
        }
    }

    /// Waits until the cache reflects every write acknowledged so far.
    pub async fn sync(&self) -> ApiResult<i64> {
        let rev = self.store.current_revision().await?;
        self.wait_for(rev).await?;
        Ok(rev)
    }

    /// Subscribes to a resource: from `rv` (replaying every later event) or, with
    /// `None`, from now with the current objects as ADDED events.
    pub async fn subscribe(&self, storage: &str, rv: Option<i64>) -> ApiResult<Subscription> {
        let rc = self.resource(storage);
        if let Some(rv) = rv {
            self.wait_for(rv).await?;
        }
        let (live, initial, complete_after) = {
            let st = rc.state.read().unwrap();
            let live = rc.events.subscribe();
            match rv {
                None => {
                    let initial = st
                        .objects
                        .values()
                        .map(|o| Arc::new(CachedEvent { kind: EventKind::Added, rev: o.rev, object: o.clone(), prev: None }))
                        .collect();
                    (live, initial, None)
                }
                Some(rv) => {
                    let from = rv.max(st.complete_after);
                    let initial: Vec<_> = st.history.iter().filter(|(_, e)| e.rev > from).map(|(_, e)| e.clone()).collect();
                    (live, initial, (rv < st.complete_after).then_some(st.complete_after))
                }
            }
        };
        let Some(upto) = complete_after else { return Ok(Subscription { initial, live }) };
        // The watcher starts before the cached history: replay the gap from the store.
        let rv = rv.unwrap_or_default();
        if upto - rv > REPLAY_LIMIT {
            return Err(ApiError::expired(format!("too old resource version: {rv} ({upto})")));
        }
        let prefix = format!("/registry/{}/", rc.storage);
        let older = self.store.events(&prefix, rv, upto).await.map_err(|e| match e {
            store::StoreError::Compacted(c) => ApiError::expired(format!("too old resource version: {rv} ({c})")),
            other => other.into(),
        })?;
        let mut all: Vec<Arc<CachedEvent>> =
            older.iter().filter_map(|e| CachedEvent::from_store(e, None, None)).map(Arc::new).collect();
        all.extend(initial);
        Ok(Subscription { initial: all, live })
    }
}
