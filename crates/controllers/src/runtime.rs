//! Shared plumbing of API-client components (controllers, the scheduler's shell): a
//! cache of one resource kept by a watch, which wakes its owner on every change.

use std::sync::Arc;

use futures_util::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use tokio::sync::Notify;

/// Follows `api` into a cache; every event wakes `changed`.
pub fn follow<K>(api: Api<K>, config: watcher::Config, changed: Arc<Notify>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config)).default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(ev) = stream.next().await {
            if let Err(e) = ev {
                tracing::debug!("controller watch: {e}");
            }
            changed.notify_one();
        }
    });
    reader
}

/// A shared cache of one resource and a signal that ticks on every change, which any
/// number of controllers can wait on.
#[derive(Clone)]
pub struct Informer<K: kube::Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    changes: tokio::sync::watch::Receiver<u64>,
    /// Set once the first full list is in the store. (Our own flag: kube's
    /// `Store::wait_until_ready` can leave one of several concurrent waiters asleep.)
    listed: tokio::sync::watch::Receiver<bool>,
    /// Subscribers to single changes (see `feed`).
    feeds: Feeds<K>,
    /// The watch stops when the last clone of the informer goes.
    _watch: Arc<AbortOnDrop>,
}

type Feeds<K> = Arc<std::sync::Mutex<Vec<tokio::sync::mpsc::UnboundedSender<Change<K>>>>>;

/// One change an informer saw, for controllers that work on what changed instead of
/// looking at the whole cache each time.
pub enum Change<K> {
    Applied(Arc<K>),
    Deleted(Arc<K>),
    /// The watch listed everything again: anything may have changed.
    Relisted,
}

/// The changes an informer sees from the moment `Informer::feed` was called.
pub struct Feed<K> {
    rx: tokio::sync::mpsc::UnboundedReceiver<Change<K>>,
}

impl<K> Feed<K> {
    /// Every change received so far, without waiting.
    pub fn drain(&mut self) -> Vec<Change<K>> {
        let mut out = Vec::new();
        while let Ok(c) = self.rx.try_recv() {
            out.push(c);
        }
        out
    }
}

/// Aborts a task when dropped.
pub struct AbortOnDrop(pub tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<K> Informer<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    pub fn new(api: Api<K>, config: watcher::Config) -> Self {
        Self::slimmed(api, config, |_| {})
    }

    /// An informer whose cache holds objects with only what controllers read:
    /// `slim` drops the rest of each object as it arrives.
    pub fn slimmed(api: Api<K>, config: watcher::Config, slim: fn(&mut K)) -> Self {
        let (reader, writer) = reflector::store();
        let (tx, changes) = tokio::sync::watch::channel(0u64);
        let (listed_tx, listed) = tokio::sync::watch::channel(false);
        // Controllers never read managedFields: dropping them keeps large caches small.
        let slimmed = watcher(api, config).modify(move |o: &mut K| {
            o.meta_mut().managed_fields = None;
            slim(o);
        });
        let stream = reflector::reflector(writer, slimmed).default_backoff();
        let feeds: Feeds<K> = Arc::default();
        let (store, task_feeds) = (reader.clone(), feeds.clone());
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(ev) = stream.next().await {
                let change = match ev {
                    Err(e) => {
                        tracing::debug!("informer watch: {e}");
                        None
                    }
                    Ok(watcher::Event::InitDone) => {
                        listed_tx.send_replace(true);
                        Some(Change::Relisted)
                    }
                    // The store holds the object now: share its copy.
                    Ok(watcher::Event::Apply(o)) => store.get(&reflector::ObjectRef::from_obj(&o)).map(Change::Applied),
                    Ok(watcher::Event::Delete(o)) => Some(Change::Deleted(Arc::new(o))),
                    Ok(_) => None,
                };
                if let Some(change) = change {
                    send_change(&task_feeds, change);
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        Informer { store: reader, changes, listed, feeds, _watch: Arc::new(AbortOnDrop(task.abort_handle())) }
    }

    /// A feed of every later change, one by one.
    pub fn feed(&self) -> Feed<K> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.feeds.lock().unwrap().push(tx);
        Feed { rx }
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        let mut rx = self.changes.clone();
        rx.mark_unchanged();
        rx
    }

    pub async fn ready(&self) {
        let mut listed = self.listed.clone();
        let _ = listed.wait_for(|l| *l).await;
    }

    /// Every object, cloned out of the cache.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.store.state()
    }
}

fn send_change<K>(feeds: &Feeds<K>, change: Change<K>) {
    let mut feeds = feeds.lock().unwrap();
    feeds.retain(|f| !f.is_closed());
    for f in feeds.iter() {
        let copy = match &change {
            Change::Applied(o) => Change::Applied(o.clone()),
            Change::Deleted(o) => Change::Deleted(o.clone()),
            Change::Relisted => Change::Relisted,
        };
        let _ = f.send(copy);
    }
}

/// Waits until one of `rxs` changes or `timeout` passes; then waits `settle` more so a
/// burst of events is handled in one pass. Controllers pass `settle` at least four times
/// their last pass's duration (see `pace`), so full passes over a big cluster take at
/// most about a fifth of a core.
pub async fn wait_any(rxs: &mut [tokio::sync::watch::Receiver<u64>], timeout: std::time::Duration, settle: std::time::Duration) {
    let changed = futures_util::future::select_all(rxs.iter_mut().map(|rx| Box::pin(rx.changed())));
    let _ = tokio::time::timeout(timeout, changed).await;
    tokio::time::sleep(settle).await;
    for rx in rxs.iter_mut() {
        rx.mark_unchanged();
    }
}

/// Writes a controller made but has not yet seen in its caches (client-go's
/// "expectations"): until they show up, the owner is not reconciled again, so a lagging
/// cache never causes duplicate creates or deletes.
#[derive(Default)]
pub struct Expectations {
    pending: std::collections::HashMap<String, Pending>,
}

struct Pending {
    adds: std::collections::HashSet<String>,
    deletes: std::collections::HashSet<String>,
    since: std::time::Instant,
}

/// How long an expectation is trusted before the controller reconciles anyway.
const EXPECTATION_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Expectations {
    pub fn expect(&mut self, owner: &str, adds: impl IntoIterator<Item = String>, deletes: impl IntoIterator<Item = String>) {
        let p = self.pending.entry(owner.to_string()).or_insert_with(|| Pending {
            adds: Default::default(),
            deletes: Default::default(),
            since: std::time::Instant::now(),
        });
        p.adds.extend(adds);
        p.deletes.extend(deletes);
        p.since = std::time::Instant::now();
    }

    /// Whether `owner` may be reconciled: everything it created is seen (`seen(uid)`) and
    /// everything it deleted is gone or going (`gone(uid)`).
    pub fn satisfied(&mut self, owner: &str, seen: impl Fn(&str) -> bool, gone: impl Fn(&str) -> bool) -> bool {
        let Some(p) = self.pending.get_mut(owner) else { return true };
        p.adds.retain(|u| !seen(u));
        p.deletes.retain(|u| !gone(u));
        if (p.adds.is_empty() && p.deletes.is_empty()) || p.since.elapsed() > EXPECTATION_TTL {
            self.pending.remove(owner);
            return true;
        }
        false
    }

    pub fn forget(&mut self, owner: &str) {
        self.pending.remove(owner);
    }
}

/// The settle time after a pass that started at `started`: at least `min`, and four
/// times the pass's own duration.
pub fn pace(started: std::time::Instant, min: std::time::Duration) -> std::time::Duration {
    min.max(started.elapsed() * 4)
}

/// A time as Kubernetes writes `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now_rfc3339() -> String {
    rfc3339(chrono::Utc::now())
}
