//! Conversation memory: the [`Session`] trait and [`MemorySession`].

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

    /// Removes and returns the newest item.
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>>;

    /// Removes every item.
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>>;
}

/// An in-memory session, for tests and short-lived processes.
#[derive(Debug, Default)]
pub struct MemorySession {
    id: String,
    items: Mutex<Vec<Item>>,
}

impl MemorySession {
    /// An empty session.
    pub fn new(id: impl Into<String>) -> Self {
        MemorySession {
            id: id.into(),
            items: Mutex::new(Vec::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Item>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Session for MemorySession {
    fn session_id(&self) -> &str {
        &self.id
    }

    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        let items = self.lock();
        let start = limit.map_or(0, |n| items.len().saturating_sub(n));
        let out = items[start..].to_vec();
        Box::pin(std::future::ready(Ok(out)))
    }

    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        self.lock().extend_from_slice(items);
        Box::pin(std::future::ready(Ok(())))
    }

    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        let item = self.lock().pop();
        Box::pin(std::future::ready(Ok(item)))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        self.lock().clear();
        Box::pin(std::future::ready(Ok(())))
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
}
