//! The narrow storage interface the API server needs, with etcd's semantics: one global
//! revision, create-if-absent, compare-and-swap on a key's mod revision, prefix range at
//! a revision, watch from a revision, compaction. Backends: embedded SQLite (default).

use std::sync::Arc;

use futures_util::stream::BoxStream;

mod sqlite;

pub use sqlite::SqliteStore;

/// A stored value and the revisions that describe it, as etcd's `mvccpb.KeyValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: Arc<[u8]>,
    pub create_revision: i64,
    pub mod_revision: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Put,
    Delete,
}

/// One change. For a delete, `kv.value` is the value just before the delete and
/// `kv.mod_revision` is the delete's revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_type: EventType,
    pub kv: KeyValue,
    /// The value before this change (absent for a create).
    pub prev: Option<KeyValue>,
}

impl Event {
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("key already exists")]
    AlreadyExists,
    #[error("key not found")]
    NotFound,
    /// The key's mod revision did not match; carries the current value.
    #[error("revision conflict")]
    Conflict(Option<KeyValue>),
    #[error("required revision has been compacted (compacted at {0})")]
    Compacted(i64),
    #[error("required revision is a future revision")]
    FutureRevision,
    #[error("storage error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The result of a range: the values in key order, whether more follow, and the
/// revision the range was read at.
#[derive(Debug, Clone)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    pub more: bool,
    pub revision: i64,
}

pub type WatchStream = BoxStream<'static, Result<Event>>;

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores `value` at `key` if the key does not exist; returns the new revision.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64>;
    /// Replaces the value if the key's mod revision is `expected`; returns the new revision.
    async fn update(&self, key: &str, value: Vec<u8>, expected: i64) -> Result<i64>;
    /// Deletes the key if its mod revision is `expected` (any revision when `None`);
    /// returns the delete's revision and the deleted value.
    async fn delete(&self, key: &str, expected: Option<i64>) -> Result<(i64, KeyValue)>;
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;
    /// Keys under `prefix` strictly after `start_after` (or from the start), at most
    /// `limit` (0 = no limit), as of `revision` (0 = current).
    async fn range(&self, prefix: &str, start_after: Option<&str>, limit: usize, revision: i64)
        -> Result<RangeResult>;
    /// Every change under `prefix` with revision >= `from_revision`, in order, then live.
    async fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream>;
    /// The changes under `prefix` with revisions in (after, upto], in order; for
    /// watchers that start before what an in-memory cache still holds.
    async fn events(&self, prefix: &str, after: i64, upto: i64) -> Result<Vec<Event>>;
    /// The latest revision written.
    async fn current_revision(&self) -> Result<i64>;
    /// The revision at and below which history is gone (0 if never compacted).
    fn compacted_revision(&self) -> i64;
    /// Drops history at and below `revision` (the current value of each key is kept).
    async fn compact(&self, revision: i64) -> Result<()>;
}

/// The exclusive end of a prefix range: the prefix with its last byte incremented.
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).expect("ascii prefix");
        }
    }
    "\u{7f}".to_string()
}
