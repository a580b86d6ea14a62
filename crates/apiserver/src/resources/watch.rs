//! WATCH: a chunked stream of `{"type":..,"object":..}` lines served from the watch
//! cache. Each object's bytes were encoded once, when the cache took the event in.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use super::output;
use super::read::{parse_rv, Filter};
use super::Req;
use crate::cache::{CachedEvent, EventKind};
use crate::negotiate::Output;
use crate::server::{stream_reply, Reply};
use crate::status::{ApiError, ApiResult};

const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

struct Watcher {
    def: &'static api::registry::ResourceDef,
    filter: Filter,
    namespace: Option<String>,
    output: Output,
    bookmarks: bool,
    table_columns_sent: bool,
    tx: mpsc::Sender<Bytes>,
    last_rev: i64,
    req: Req,
}

pub async fn watch(req: &Req) -> ApiResult<Reply> {
    let filter = Filter::from_request(req)?;
    let send_initial = req.query.get("sendInitialEvents").map(|_| req.query.flag("sendInitialEvents"));
    let rv = req.query.value("resourceVersion");
    if send_initial.is_some() && req.query.value("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::invalid_watch(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if send_initial == Some(true) && !req.query.flag("allowWatchBookmarks") {
        return Err(ApiError::invalid_watch("allowWatchBookmarks", "sendInitialEvents requires allowWatchBookmarks=true"));
    }
    let cache = &req.srv.cache;
    let (from, initial_end) = match (send_initial, rv) {
        (Some(true), None) => {
            cache.sync().await?;
            (None, true)
        }
        (Some(true), Some("0")) => (None, true),
        (Some(true), Some(rv)) => {
            cache.wait_for(parse_rv(rv)?).await?;
            (None, true)
        }
        (_, None) | (_, Some("0")) => (None, false),
        (_, Some(rv)) => (Some(parse_rv(rv)?), false),
    };
    let sub = match cache.subscribe(req.def.storage, from).await {
        Ok(sub) => sub,
        // Too old a version is reported in the stream, as upstream does.
        Err(e) if e.code == 410 => {
            let (tx, rx) = mpsc::channel(1);
            let _ = tx.try_send(error_frame(&e));
            return Ok(stream_reply(rx));
        }
        Err(e) => return Err(e),
    };
    let timeout = match req.query.int("timeoutSeconds")? {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        _ => Duration::from_secs(1800 + fastrand::u64(..1800)),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut w = Watcher {
        def: req.def,
        filter,
        namespace: req.namespace.clone(),
        output: req.output,
        bookmarks: req.query.flag("allowWatchBookmarks"),
        table_columns_sent: false,
        tx,
        last_rev: from.unwrap_or_else(|| cache.revision()),
        req: req.clone(),
    };
    let start_rev = cache.revision();
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        for ev in &sub.initial {
            if !w.send_event(ev).await {
                return;
            }
        }
        if initial_end {
            let rev = w.last_rev.max(start_rev);
            if !w.send_bookmark(rev, true).await {
                return;
            }
        }
        w.follow(sub.live, &mut deadline).await;
    });
    Ok(stream_reply(rx))
}

impl Watcher {
    async fn follow(&mut self, mut live: broadcast::Receiver<Arc<CachedEvent>>, deadline: &mut std::pin::Pin<&mut tokio::time::Sleep>) {
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = deadline.as_mut() => return,
                _ = ticker.tick() => {
                    if self.bookmarks && !self.send_bookmark(self.last_rev, false).await {
                        return;
                    }
                }
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        if ev.rev > self.last_rev && !self.send_event(&ev).await {
                            return;
                        }
                    }
                    // A watcher too slow to keep up is closed; the client re-watches.
                    Err(_) => return,
                },
                _ = self.tx.closed() => return,
            }
        }
    }

    fn in_scope(&self, attrs: &crate::cache::Attrs) -> bool {
        match &self.namespace {
            Some(ns) => attrs.namespace() == ns,
            None => true,
        }
    }

    /// The event type this watcher sees: a change that moves an object into or out of
    /// the selection is an ADDED or DELETED for it.
    async fn send_event(&mut self, ev: &CachedEvent) -> bool {
        self.last_rev = self.last_rev.max(ev.rev);
        let cur = self.in_scope(&ev.object.attrs) && self.filter.matches(&ev.object.attrs);
        let kind = match ev.kind {
            EventKind::Modified => {
                let old = ev.prev.as_ref().is_some_and(|p| self.in_scope(&p.attrs) && self.filter.matches(&p.attrs));
                match (old, cur) {
                    (true, true) => EventKind::Modified,
                    (false, true) => EventKind::Added,
                    (true, false) => {
                        let mut prev = ev.prev.as_ref().unwrap().value();
                        crate::objects::set_resource_version(&mut prev, ev.rev);
                        let line = self.encode_value(EventKind::Deleted, &prev);
                        return self.tx.send(line).await.is_ok();
                    }
                    (false, false) => return true,
                }
            }
            k if cur => k,
            _ => return true,
        };
        let line = match self.output {
            Output::Json => {
                let obj = output::object_bytes(self.def, &ev.object);
                frame(kind.as_str(), &obj)
            }
            Output::PartialMetadata => frame(kind.as_str(), &output::partial_metadata_bytes(&ev.object.json)),
            _ => self.encode_value(kind, &ev.object.value()),
        };
        self.tx.send(line).await.is_ok()
    }

    fn encode_value(&mut self, kind: EventKind, obj: &Value) -> Bytes {
        let object = match self.output {
            Output::Json => output::served_value(self.def, obj).into_owned(),
            Output::PartialMetadata => output::partial_metadata(obj),
            Output::Table => {
                let with_columns = !self.table_columns_sent;
                self.table_columns_sent = true;
                let rv = crate::objects::resource_version(obj).to_string();
                output::table(&self.req, &[obj], json!({"resourceVersion": rv}), with_columns)
            }
        };
        frame(kind.as_str(), &serde_json::to_vec(&object).unwrap())
    }

    async fn send_bookmark(&mut self, rev: i64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rev.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": meta});
        let obj = match self.output {
            Output::PartialMetadata => output::partial_metadata(&obj),
            _ => obj,
        };
        self.tx.send(frame("BOOKMARK", &serde_json::to_vec(&obj).unwrap())).await.is_ok()
    }
}

fn frame(kind: &str, object: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(object.len() + 32);
    b.put_slice(b"{\"type\":\"");
    b.put_slice(kind.as_bytes());
    b.put_slice(b"\",\"object\":");
    b.put_slice(object);
    b.put_slice(b"}\n");
    b.freeze()
}

/// An in-stream ERROR event carrying a Status (e.g. 410 Expired).
pub fn error_frame(err: &ApiError) -> Bytes {
    frame("ERROR", &serde_json::to_vec(&err.to_status()).unwrap())
}
