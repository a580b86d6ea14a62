//! Embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so a write is
//! on disk before it is acknowledged. A single writer thread takes every pending write,
//! applies them in one transaction and commits once (group commit): durability costs one
//! fsync per batch, not per write.
//!
//! Two tables: `log` is the revision history (what watch replays and what old-revision
//! ranges read, and where every value lives); `latest` indexes each live key's newest
//! row, so a value is written once.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use futures_util::StreamExt;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{broadcast, oneshot};

use crate::{prefix_end, Event, EventType, KeyValue, RangeResult, Result, Store, StoreError, WatchStream};

const MAX_BATCH: usize = 2000;

enum Op {
    Create { key: String, value: Vec<u8> },
    Update { key: String, value: Vec<u8>, expected: i64 },
    Delete { key: String, expected: Option<i64> },
    Compact { revision: i64 },
}

enum OpOutcome {
    Written(Event),
    Compacted,
}

struct Pending {
    op: Op,
    reply: oneshot::Sender<Result<OpOutcome>>,
}

pub struct SqliteStore {
    writer: Mutex<mpsc::Sender<Pending>>,
    reader: Arc<Mutex<Connection>>,
    revision: Arc<AtomicI64>,
    compacted: Arc<AtomicI64>,
    events: broadcast::Sender<Arc<Vec<Event>>>,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log(
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
CREATE TABLE IF NOT EXISTS latest(
    key TEXT PRIMARY KEY,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = open_connection(path).map_err(internal)?;
        conn.execute_batch(SCHEMA).map_err(internal)?;
        let max_rev: i64 = conn.query_row("SELECT COALESCE(MAX(rev), 0) FROM log", [], |r| r.get(0)).map_err(internal)?;
        let compacted: i64 = conn
            .query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| r.get(0))
            .optional()
            .map_err(internal)?
            .unwrap_or(0);
        let revision = Arc::new(AtomicI64::new(max_rev.max(compacted)));
        let compacted = Arc::new(AtomicI64::new(compacted));
        let reader = Arc::new(Mutex::new(open_connection(path).map_err(internal)?));
        let (events, _) = broadcast::channel(4096);
        let (tx, rx) = mpsc::channel::<Pending>();
        let writer = Writer { conn, revision: revision.clone(), compacted: compacted.clone(), events: events.clone() };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(internal)?;
        Ok(Self { writer: Mutex::new(tx), reader, revision, compacted, events })
    }

    async fn submit(&self, op: Op) -> Result<OpOutcome> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .lock()
            .unwrap()
            .send(Pending { op, reply })
            .map_err(|_| internal("store writer stopped"))?;
        rx.await.map_err(|_| internal("store writer stopped"))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || f(&reader.lock().unwrap())).await.map_err(internal)?
    }
}

struct Writer {
    conn: Connection,
    revision: Arc<AtomicI64>,
    compacted: Arc<AtomicI64>,
    events: broadcast::Sender<Arc<Vec<Event>>>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Pending>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn commit_batch(&mut self, batch: Vec<Pending>) {
        let start_rev = self.revision.load(Ordering::SeqCst);
        let mut rev = start_rev;
        let tx = match self.conn.transaction() {
            Ok(tx) => tx,
            Err(e) => return fail_all(batch, &e.to_string()),
        };
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut compact_to = None;
        for p in &batch {
            let outcome = match &p.op {
                Op::Compact { revision } => {
                    compact_to = Some(*revision);
                    Ok(OpOutcome::Compacted)
                }
                op => apply(&tx, op, rev + 1).map(|ev| {
                    rev += 1;
                    OpOutcome::Written(ev)
                }),
            };
            // A failed statement (not a failed precondition) poisons the batch.
            if let Err(StoreError::Internal(msg)) = &outcome {
                drop(tx);
                return fail_all(batch, msg);
            }
            outcomes.push(outcome);
        }
        if let Some(c) = compact_to {
            if let Err(e) = compact(&tx, c.min(rev)) {
                drop(tx);
                return fail_all(batch, &e.to_string());
            }
        }
        if let Err(e) = tx.commit() {
            return fail_all(batch, &e.to_string());
        }
        self.revision.store(rev, Ordering::SeqCst);
        if let Some(c) = compact_to {
            self.compacted.fetch_max(c.min(rev), Ordering::SeqCst);
        }
        let events: Vec<Event> = outcomes
            .iter()
            .filter_map(|o| match o {
                Ok(OpOutcome::Written(ev)) => Some(ev.clone()),
                _ => None,
            })
            .collect();
        if !events.is_empty() {
            let _ = self.events.send(Arc::new(events));
        }
        for (p, outcome) in batch.into_iter().zip(outcomes) {
            let _ = p.reply.send(outcome);
        }
    }
}

fn fail_all(batch: Vec<Pending>, msg: &str) {
    for p in batch {
        let _ = p.reply.send(Err(StoreError::Internal(msg.to_string())));
    }
}

fn current(conn: &Connection, key: &str) -> Result<Option<KeyValue>> {
    conn.prepare_cached(
        "SELECT c.create_rev, c.mod_rev, l.value FROM latest c JOIN log l ON l.rev = c.mod_rev WHERE c.key = ?1",
    )
        .and_then(|mut st| {
            st.query_row([key], |r| {
                Ok(KeyValue {
                    key: key.to_string(),
                    create_revision: r.get(0)?,
                    mod_revision: r.get(1)?,
                    value: Arc::from(r.get::<_, Vec<u8>>(2)?),
                })
            })
            .optional()
        })
        .map_err(internal)
}

fn apply(conn: &Connection, op: &Op, rev: i64) -> Result<Event> {
    match op {
        Op::Create { key, value } => {
            if current(conn, key)?.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            write_put(conn, key, value, rev, rev, 0)?;
            let kv = KeyValue { key: key.clone(), value: Arc::from(value.as_slice()), create_revision: rev, mod_revision: rev };
            Ok(Event { event_type: EventType::Put, kv, prev: None })
        }
        Op::Update { key, value, expected } => {
            let prev = current(conn, key)?.ok_or(StoreError::NotFound)?;
            if prev.mod_revision != *expected {
                return Err(StoreError::Conflict(Some(prev)));
            }
            write_put(conn, key, value, prev.create_revision, rev, prev.mod_revision)?;
            let kv = KeyValue {
                key: key.clone(),
                value: Arc::from(value.as_slice()),
                create_revision: prev.create_revision,
                mod_revision: rev,
            };
            Ok(Event { event_type: EventType::Put, kv, prev: Some(prev) })
        }
        Op::Delete { key, expected } => {
            let prev = current(conn, key)?.ok_or(StoreError::NotFound)?;
            if expected.is_some_and(|e| e != prev.mod_revision) {
                return Err(StoreError::Conflict(Some(prev)));
            }
            conn.prepare_cached("DELETE FROM latest WHERE key = ?1")
                .and_then(|mut st| st.execute([key]))
                .map_err(internal)?;
            conn.prepare_cached(
                "INSERT INTO log(rev, key, create_rev, prev_rev, deleted, value) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
            )
            .and_then(|mut st| st.execute(params![rev, key, prev.create_revision, prev.mod_revision, &prev.value[..]]))
            .map_err(internal)?;
            let kv = KeyValue { mod_revision: rev, ..prev.clone() };
            Ok(Event { event_type: EventType::Delete, kv, prev: Some(prev) })
        }
        Op::Compact { .. } => unreachable!("compaction is applied after the batch"),
    }
}

fn write_put(conn: &Connection, key: &str, value: &[u8], create_rev: i64, rev: i64, prev_rev: i64) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO latest(key, create_rev, mod_rev) VALUES (?1, ?2, ?3)")
        .and_then(|mut st| st.execute(params![key, create_rev, rev]))
        .map_err(internal)?;
    conn.prepare_cached(
        "INSERT INTO log(rev, key, create_rev, prev_rev, deleted, value) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
    )
    .and_then(|mut st| st.execute(params![rev, key, create_rev, prev_rev, value]))
    .map_err(internal)?;
    Ok(())
}

/// Removes history rows at or below `revision` that a read at `revision` no longer
/// needs: rows superseded by a later row at or below it, and delete tombstones.
fn compact(conn: &Connection, revision: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM log WHERE rev <= ?1 AND (deleted = 1 OR EXISTS (
             SELECT 1 FROM log AS later WHERE later.key = log.key AND later.rev > log.rev AND later.rev <= ?1))",
        [revision],
    )?;
    conn.execute(
        "INSERT INTO meta(name, value) VALUES ('compacted', ?1)
         ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
        [revision],
    )?;
    Ok(())
}

fn row_to_kv(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: r.get(0)?,
        create_revision: r.get(1)?,
        mod_revision: r.get(2)?,
        value: Arc::from(r.get::<_, Vec<u8>>(3)?),
    })
}

fn range_rows(
    conn: &Connection,
    prefix: &str,
    start_after: Option<&str>,
    limit: usize,
    revision: i64,
    latest: bool,
) -> Result<Vec<KeyValue>> {
    let end = prefix_end(prefix);
    let start = start_after.unwrap_or("");
    let lim = if limit == 0 { -1 } else { limit as i64 + 1 };
    let sql = if latest {
        "SELECT c.key, c.create_rev, c.mod_rev, l.value FROM latest c JOIN log l ON l.rev = c.mod_rev
         WHERE c.key >= ?1 AND c.key < ?2 AND c.key > ?3 ORDER BY c.key LIMIT ?4"
    } else {
        "SELECT key, create_rev, rev, value FROM (
             SELECT key, create_rev, MAX(rev) AS rev, deleted, value FROM log
             WHERE key >= ?1 AND key < ?2 AND key > ?3 AND rev <= ?5 GROUP BY key)
         WHERE deleted = 0 ORDER BY key LIMIT ?4"
    };
    let mut st = conn.prepare_cached(sql).map_err(internal)?;
    let rows = if latest {
        st.query_map(params![prefix, end, start, lim], row_to_kv)
    } else {
        st.query_map(params![prefix, end, start, lim, revision], row_to_kv)
    };
    rows.and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>()).map_err(internal)
}

/// History under `prefix` in (after, upto], in revision order.
fn history(conn: &Connection, prefix: &str, after: i64, upto: i64) -> Result<Vec<Event>> {
    let end = prefix_end(prefix);
    let mut st = conn
        .prepare_cached(
            "SELECT l.rev, l.key, l.create_rev, l.deleted, l.value, p.rev, p.create_rev, p.value
             FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
             WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4 ORDER BY l.rev",
        )
        .map_err(internal)?;
    let rows = st
        .query_map(params![after, upto, prefix, end], |r| {
            let key: String = r.get(1)?;
            let deleted: i64 = r.get(3)?;
            let kv = KeyValue {
                key: key.clone(),
                mod_revision: r.get(0)?,
                create_revision: r.get(2)?,
                value: Arc::from(r.get::<_, Vec<u8>>(4)?),
            };
            let prev = match r.get::<_, Option<i64>>(5)? {
                Some(prev_rev) => Some(KeyValue {
                    key,
                    mod_revision: prev_rev,
                    create_revision: r.get(6)?,
                    value: Arc::from(r.get::<_, Vec<u8>>(7)?),
                }),
                None => None,
            };
            let event_type = if deleted == 1 { EventType::Delete } else { EventType::Put };
            Ok(Event { event_type, kv, prev })
        })
        .and_then(|it| it.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(internal)?;
    Ok(rows)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64> {
        match self.submit(Op::Create { key: key.to_string(), value }).await? {
            OpOutcome::Written(ev) => Ok(ev.revision()),
            OpOutcome::Compacted => unreachable!(),
        }
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: i64) -> Result<i64> {
        match self.submit(Op::Update { key: key.to_string(), value, expected }).await? {
            OpOutcome::Written(ev) => Ok(ev.revision()),
            OpOutcome::Compacted => unreachable!(),
        }
    }

    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<(i64, KeyValue)> {
        match self.submit(Op::Delete { key: key.to_string(), expected }).await? {
            OpOutcome::Written(ev) => Ok((ev.revision(), ev.prev.expect("delete has a previous value"))),
            OpOutcome::Compacted => unreachable!(),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_string();
        self.read(move |c| current(c, &key)).await
    }

    async fn range(&self, prefix: &str, start_after: Option<&str>, limit: usize, revision: i64) -> Result<RangeResult> {
        let current_rev = self.revision.load(Ordering::SeqCst);
        if revision > current_rev {
            return Err(StoreError::FutureRevision);
        }
        let compacted = self.compacted.load(Ordering::SeqCst);
        if revision != 0 && revision < compacted {
            return Err(StoreError::Compacted(compacted));
        }
        let (prefix, start) = (prefix.to_string(), start_after.map(str::to_string));
        let at = if revision == 0 { current_rev } else { revision };
        self.read(move |c| {
            // Snapshot: read the revision inside the same read transaction as the rows.
            let tx = c.unchecked_transaction().map_err(internal)?;
            let head: i64 = tx.query_row("SELECT COALESCE(MAX(rev), 0) FROM log", [], |r| r.get(0)).map_err(internal)?;
            let latest = at >= head;
            let mut kvs = range_rows(&tx, &prefix, start.as_deref(), limit, at, latest)?;
            let more = limit != 0 && kvs.len() > limit;
            kvs.truncate(if limit == 0 { kvs.len() } else { limit });
            Ok(RangeResult { kvs, more, revision: if latest { head.max(at) } else { at } })
        })
        .await
    }

    async fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream> {
        let compacted = self.compacted.load(Ordering::SeqCst);
        if from_revision != 0 && from_revision <= compacted {
            return Err(StoreError::Compacted(compacted));
        }
        // Subscribe before reading history so nothing falls between the two.
        let mut live = self.events.subscribe();
        let upto = self.revision.load(Ordering::SeqCst);
        let after = if from_revision == 0 { upto } else { from_revision - 1 };
        let p = prefix.to_string();
        let replay = self.read(move |c| history(c, &p, after, upto)).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event>>(1024);
        let prefix = prefix.to_string();
        tokio::spawn(async move {
            for ev in replay {
                if tx.send(Ok(ev)).await.is_err() {
                    return;
                }
            }
            loop {
                match live.recv().await {
                    Ok(batch) => {
                        for ev in batch.iter().filter(|e| e.revision() > upto && e.kv.key.starts_with(&prefix)) {
                            if tx.send(Ok(ev.clone())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(Err(StoreError::Internal("watcher fell behind".into()))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(tokio_stream_from(rx))
    }

    async fn events(&self, prefix: &str, after: i64, upto: i64) -> Result<Vec<Event>> {
        let compacted = self.compacted.load(Ordering::SeqCst);
        if after < compacted {
            return Err(StoreError::Compacted(compacted));
        }
        let p = prefix.to_string();
        self.read(move |c| history(c, &p, after, upto)).await
    }

    fn compacted_revision(&self) -> i64 {
        self.compacted.load(Ordering::SeqCst)
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.revision.load(Ordering::SeqCst))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.submit(Op::Compact { revision }).await.map(|_| ())
    }
}

fn tokio_stream_from(mut rx: tokio::sync::mpsc::Receiver<Result<Event>>) -> WatchStream {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

#[cfg(test)]
mod tests;
