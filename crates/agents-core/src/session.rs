//! Conversation memory: the [`Session`] trait and [`MemorySession`]; paused
//! runs by id: the [`RunStateStore`] trait and [`MemoryRunStateStore`].

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use futures::future::BoxFuture;

use crate::items::Item;

/// A session store failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The storage backend failed (I/O, database, lock).
    #[error("session storage failed: {0}")]
    Storage(String),
    /// A stored item could not be parsed.
    #[error("session item {position} could not be parsed: {message}")]
    Corrupt {
        /// Where the item sits (row id or index).
        position: i64,
        /// The parse error.
        message: String,
    },
    /// The store could not be reached, or the connection failed before the
    /// reply arrived (a server down or restarting, a timeout). A write that
    /// failed this way may or may not have been applied: retry it with the
    /// same operation id ([`Session::add_items_once`]) to apply it once.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// A stored item could not be decrypted: its ciphertext or metadata was
    /// changed, it was sealed for another session, or its key is unknown.
    #[error("session item {position} could not be decrypted: {message}")]
    Undecryptable {
        /// Where the item sits (index among the items read).
        position: i64,
        /// Why (never the key or the plaintext).
        message: String,
    },
}

impl SessionError {
    /// Whether retrying may succeed: the store was unreachable
    /// ([`SessionError::Unavailable`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, SessionError::Unavailable(_))
    }
}

/// Conversation history that persists across runs.
///
/// Object-safe: runs hold sessions as `Arc<dyn Session>`.
pub trait Session: Send + Sync {
    /// The session id.
    fn session_id(&self) -> &str;

    /// The newest `limit` items (all when `None`), oldest first.
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>>;

    /// Appends items atomically.
    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>>;

    /// Appends items atomically, at most once per `operation_id`.
    ///
    /// A write retried with the same operation id (after a timeout or a lost
    /// reply whose commit actually succeeded) must not add the items again:
    /// the backend records the operation id in the same transaction as the
    /// items and skips a write whose id it already holds. Operation ids are
    /// remembered until [`clear`](Session::clear).
    ///
    /// The runner gives every write of a run (the input, each turn) its own
    /// operation id, and retries writes that fail with
    /// [`SessionError::Unavailable`].
    ///
    /// The default calls [`add_items`](Session::add_items), which is *not*
    /// idempotent; backends override it (and
    /// [`supports_operation_ids`](Session::supports_operation_ids)).
    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        let _ = operation_id;
        self.add_items(items)
    }

    /// Whether [`add_items_once`](Session::add_items_once) is idempotent for
    /// this backend (`false` for the default implementation).
    fn supports_operation_ids(&self) -> bool {
        false
    }

    /// Removes and returns the newest item.
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>>;

    /// Removes every item.
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>>;
}

/// An in-memory session, for tests and short-lived processes.
#[derive(Debug, Default)]
pub struct MemorySession {
    id: String,
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    items: Vec<Item>,
    /// Operation ids of applied [`Session::add_items_once`] writes.
    operations: HashSet<String>,
}

impl MemorySession {
    /// An empty session.
    pub fn new(id: impl Into<String>) -> Self {
        MemorySession {
            id: id.into(),
            state: Mutex::new(MemoryState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Session for MemorySession {
    fn session_id(&self) -> &str {
        &self.id
    }

    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        let state = self.lock();
        let items = &state.items;
        let start = limit.map_or(0, |n| items.len().saturating_sub(n));
        let out = items[start..].to_vec();
        Box::pin(std::future::ready(Ok(out)))
    }

    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        self.lock().items.extend_from_slice(items);
        Box::pin(std::future::ready(Ok(())))
    }

    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        let mut state = self.lock();
        if state.operations.insert(operation_id.to_owned()) {
            state.items.extend_from_slice(items);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn supports_operation_ids(&self) -> bool {
        true
    }

    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        let item = self.lock().items.pop();
        Box::pin(std::future::ready(Ok(item)))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        let mut state = self.lock();
        state.items.clear();
        state.operations.clear();
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Appends `items` once under `operation_id`, retrying up to `attempts`
/// times in all while the store is [unavailable](SessionError::Unavailable)
/// (waits of 50 ms, 100 ms, 200 ms, ... between attempts, at most 1 s).
///
/// Safe because the retry carries the same operation id: a first attempt
/// whose commit succeeded but whose reply was lost is not applied twice (on
/// backends that [support operation ids](Session::supports_operation_ids)).
/// The runner saves the input and every turn this way.
pub async fn add_items_retrying(
    session: &dyn Session,
    operation_id: &str,
    items: &[Item],
    attempts: u32,
) -> Result<(), SessionError> {
    let mut wait = std::time::Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        match session.add_items_once(operation_id, items).await {
            Err(e) if e.is_transient() && attempt < attempts => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(1));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A run state as stored: the JSON text and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRunState {
    /// The serialized run state (`RunState::to_json`), opaque to the store.
    pub state: String,
    /// The version, `1` for a new entry, one more on every save.
    pub version: u64,
}

impl StoredRunState {
    /// A stored state.
    pub fn new(state: impl Into<String>, version: u64) -> Self {
        StoredRunState {
            state: state.into(),
            version,
        }
    }
}

/// A run state store failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunStateStoreError {
    /// The stored version is not the one the caller expected: another worker
    /// saved (or resumed, or deleted) the run in between. Load it again.
    #[error(
        "run `{run_id}` changed concurrently: expected {}, found {}",
        version_text(*expected),
        version_text(*found)
    )]
    Conflict {
        /// The run id.
        run_id: String,
        /// The version the caller expected (`None`: that no entry exists).
        expected: Option<u64>,
        /// The version stored (`None`: no entry), where the backend knows it.
        found: Option<u64>,
    },
    /// The storage backend failed.
    #[error("run state storage failed: {0}")]
    Storage(String),
    /// The store could not be reached, or the reply was lost.
    #[error("run state store unavailable: {0}")]
    Unavailable(String),
}

fn version_text(v: Option<u64>) -> String {
    match v {
        Some(v) => format!("version {v}"),
        None => "no entry".to_owned(),
    }
}

/// Paused runs by id, shared by workers: save a serialized `RunState` where
/// one worker paused for approval, load it where another resumes.
///
/// Every entry has a version. Writes name the version they expect
/// (optimistic concurrency), so a run resumed by two workers at once
/// resumes once: the second write gets [`RunStateStoreError::Conflict`].
/// Object-safe: use it as `Arc<dyn RunStateStore>`.
pub trait RunStateStore: Send + Sync {
    /// The stored state of `run_id`, if any.
    fn load<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRunState>, RunStateStoreError>>;

    /// Stores `state` under `run_id` and returns the new version.
    ///
    /// `expected` is the version the caller last loaded: `None` creates the
    /// entry (a conflict if it exists), `Some(v)` replaces version `v` (a
    /// conflict if the stored version differs or the entry is gone).
    fn save<'a>(
        &'a self,
        run_id: &'a str,
        state: &'a str,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<u64, RunStateStoreError>>;

    /// Deletes version `expected` of `run_id` (a conflict if the stored
    /// version differs or the entry is gone).
    fn delete<'a>(
        &'a self,
        run_id: &'a str,
        expected: u64,
    ) -> BoxFuture<'a, Result<(), RunStateStoreError>>;
}

/// An in-memory [`RunStateStore`], for tests and single-process use.
#[derive(Debug, Default)]
pub struct MemoryRunStateStore {
    entries: Mutex<HashMap<String, StoredRunState>>,
}

impl MemoryRunStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl RunStateStore for MemoryRunStateStore {
    fn load<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRunState>, RunStateStoreError>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let found = entries.get(run_id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn save<'a>(
        &'a self,
        run_id: &'a str,
        state: &'a str,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<u64, RunStateStoreError>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let found = entries.get(run_id).map(|e| e.version);
        let result = if found == expected {
            let version = expected.map_or(1, |v| v + 1);
            entries.insert(run_id.to_owned(), StoredRunState::new(state, version));
            Ok(version)
        } else {
            Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected,
                found,
            })
        };
        Box::pin(std::future::ready(result))
    }

    fn delete<'a>(
        &'a self,
        run_id: &'a str,
        expected: u64,
    ) -> BoxFuture<'a, Result<(), RunStateStoreError>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let found = entries.get(run_id).map(|e| e.version);
        let result = if found == Some(expected) {
            entries.remove(run_id);
            Ok(())
        } else {
            Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected: Some(expected),
                found,
            })
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_session_keeps_order_and_limits() {
        let s = MemorySession::new("s1");
        s.add_items(&[Item::user("a"), Item::assistant("b")])
            .await
            .expect("add");
        s.add_items(&[Item::user("c")]).await.expect("add");
        assert_eq!(s.get_items(None).await.expect("get").len(), 3);
        assert_eq!(
            s.get_items(Some(2)).await.expect("get"),
            vec![Item::assistant("b"), Item::user("c")]
        );
        assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("c")));
        s.clear().await.expect("clear");
        assert!(s.get_items(None).await.expect("get").is_empty());
        assert_eq!(s.session_id(), "s1");
    }

    #[tokio::test]
    async fn memory_session_applies_an_operation_once() {
        let s = MemorySession::new("s1");
        s.add_items_once("op-1", &[Item::user("a")])
            .await
            .expect("add");
        s.add_items_once("op-1", &[Item::user("a")])
            .await
            .expect("add");
        s.add_items_once("op-2", &[Item::user("b")])
            .await
            .expect("add");
        assert_eq!(
            s.get_items(None).await.expect("get"),
            vec![Item::user("a"), Item::user("b")]
        );
    }

    #[tokio::test]
    async fn memory_run_state_store_versions_and_conflicts() {
        let store = MemoryRunStateStore::new();
        assert_eq!(store.load("r").await.expect("load"), None);
        assert_eq!(store.save("r", "{}", None).await.expect("create"), 1);
        let err = store.save("r", "{}", None).await.expect_err("exists");
        assert!(matches!(
            err,
            RunStateStoreError::Conflict { found: Some(1), .. }
        ));
        assert_eq!(
            store.save("r", "{\"a\":1}", Some(1)).await.expect("update"),
            2
        );
        let err = store.save("r", "{}", Some(1)).await.expect_err("stale");
        assert!(matches!(
            err,
            RunStateStoreError::Conflict {
                expected: Some(1),
                found: Some(2),
                ..
            }
        ));
        assert_eq!(
            store.load("r").await.expect("load"),
            Some(StoredRunState::new("{\"a\":1}", 2))
        );
        assert!(store.delete("r", 1).await.is_err());
        store.delete("r", 2).await.expect("delete");
        assert_eq!(store.load("r").await.expect("load"), None);
    }
}
