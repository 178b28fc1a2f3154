//! [`SqliteSession`]: the [`Session`] trait on SQLite.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use agents_core::{BoxFuture, Item, Session, SessionError};

use crate::db::{Database, SessionConfig, Sql};
use crate::options::{Durability, SqliteOptions};

/// A conversation session stored in SQLite.
///
/// Many sessions (different `session_id`s, or the same one) can share one
/// database file: within a process they share one connection, found through
/// a process-wide registry keyed by the file's canonical path. Several
/// processes can use the same file at once (WAL mode and a busy timeout).
///
/// Every method runs its SQL on tokio's blocking pool
/// ([`tokio::task::spawn_blocking`]), so the async runtime never waits on
/// disk; outside a tokio runtime the SQL runs inline. Each
/// [`add_items`](Session::add_items) is one transaction: a turn is stored
/// whole or not at all, even if the process is killed, and a write whose
/// future is dropped still finishes (or rolls back) as a whole.
///
/// Rows hold one Responses API item as JSON each, in the table layout of
/// openai-agents-python's `SQLiteSession`, so both SDKs can share a file.
/// A row that does not parse is reported as [`SessionError::Corrupt`] (with
/// its row id), never skipped silently; see
/// [`remove_unreadable_items`](SqliteSession::remove_unreadable_items).
///
/// The parsed items of recently used sessions (up to 64 sessions and 100,000
/// items per database) stay in memory, so loading a history for each run
/// costs a copy, not a parse of every row. A write by any other connection
/// (another process, Python, a SQL shell) changes SQLite's `data_version`,
/// and then the rows are read again: reads always see the file as it is.
///
/// Cloning is cheap and gives a handle to the same session.
#[derive(Clone)]
pub struct SqliteSession {
    id: Arc<str>,
    db: Arc<Database>,
    cfg: Arc<SessionConfig>,
}

impl fmt::Debug for SqliteSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteSession")
            .field("session_id", &self.id)
            .field("path", &self.db.path())
            .field("sessions_table", &self.cfg.sql.sessions)
            .field("messages_table", &self.cfg.sql.messages)
            .field("durability", &self.cfg.durability)
            .finish()
    }
}

/// Runs blocking SQL on tokio's blocking pool, or inline outside tokio.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SessionError> + Send + 'static,
) -> Result<T, SessionError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.unwrap_or_else(|e| {
            Err(SessionError::Storage(format!(
                "the SQLite session task failed: {e}"
            )))
        }),
        Err(_) => f(),
    }
}

impl SqliteSession {
    /// Opens the session `session_id` in the database file at `path` with
    /// the default [`SqliteOptions`], creating the file and the tables if
    /// needed. The path `":memory:"` opens a private in-memory database, as
    /// in openai-agents-python.
    ///
    /// Opening does a little blocking file I/O the first time a file is
    /// opened in the process (later opens reuse its connection); call it at
    /// startup or inside `spawn_blocking` if that matters.
    pub fn open(
        path: impl AsRef<Path>,
        session_id: impl Into<String>,
    ) -> Result<Self, SessionError> {
        Self::open_with(path, session_id, SqliteOptions::default())
    }

    /// Like [`open`](Self::open), with options (table names, durability,
    /// busy timeout).
    pub fn open_with(
        path: impl AsRef<Path>,
        session_id: impl Into<String>,
        options: SqliteOptions,
    ) -> Result<Self, SessionError> {
        let path = path.as_ref();
        if path == Path::new(":memory:") {
            return Self::in_memory_with(session_id, options);
        }
        let cfg = config(&options)?;
        let db = Database::open_file(path, options.busy_timeout)?;
        Self::build(session_id.into(), db, cfg)
    }

    /// The session `session_id` in a new private in-memory database, lost
    /// when the last handle is dropped. Use
    /// [`with_session_id`](Self::with_session_id) for more sessions in the
    /// same database.
    pub fn in_memory(session_id: impl Into<String>) -> Result<Self, SessionError> {
        Self::in_memory_with(session_id, SqliteOptions::default())
    }

    /// Like [`in_memory`](Self::in_memory), with options.
    pub fn in_memory_with(
        session_id: impl Into<String>,
        options: SqliteOptions,
    ) -> Result<Self, SessionError> {
        let cfg = config(&options)?;
        let db = Database::in_memory(options.busy_timeout)?;
        Self::build(session_id.into(), db, cfg)
    }

    fn build(id: String, db: Arc<Database>, cfg: SessionConfig) -> Result<Self, SessionError> {
        db.init(&cfg)?;
        Ok(SqliteSession {
            id: Arc::from(id),
            db,
            cfg: Arc::new(cfg),
        })
    }

    /// Another session in the same database, with the same tables and
    /// options.
    pub fn with_session_id(&self, session_id: impl Into<String>) -> Self {
        SqliteSession {
            id: Arc::from(session_id.into()),
            db: Arc::clone(&self.db),
            cfg: Arc::clone(&self.cfg),
        }
    }

    /// The canonical path of the database file; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.db.path()
    }

    /// How this session's writes are synced to disk.
    pub fn durability(&self) -> Durability {
        self.cfg.durability
    }

    /// The sessions table.
    pub fn sessions_table(&self) -> &str {
        &self.cfg.sql.sessions
    }

    /// The messages table.
    pub fn messages_table(&self) -> &str {
        &self.cfg.sql.messages
    }

    /// Deletes this session's rows that cannot be parsed as items and
    /// returns their row ids (oldest first). Use it to recover after
    /// [`SessionError::Corrupt`].
    pub async fn remove_unreadable_items(&self) -> Result<Vec<i64>, SessionError> {
        let (db, cfg, id) = self.parts();
        blocking(move || db.remove_unreadable(&cfg, &id)).await
    }

    fn append<'a>(
        &'a self,
        operation_id: Option<String>,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        let rows: Result<Vec<String>, SessionError> = items
            .iter()
            .map(|item| {
                serde_json::to_string(item)
                    .map_err(|e| SessionError::Storage(format!("cannot serialize an item: {e}")))
            })
            .collect();
        // Kept parsed for the next `get_items` (see `db::Cache`).
        let owned = items.to_vec();
        let (db, cfg, id) = self.parts();
        Box::pin(async move {
            let rows = rows?;
            if rows.is_empty() {
                return Ok(());
            }
            blocking(move || db.add(&cfg, &id, operation_id.as_deref(), &rows, owned)).await
        })
    }

    fn parts(&self) -> (Arc<Database>, Arc<SessionConfig>, Arc<str>) {
        (
            Arc::clone(&self.db),
            Arc::clone(&self.cfg),
            Arc::clone(&self.id),
        )
    }
}

fn config(options: &SqliteOptions) -> Result<SessionConfig, SessionError> {
    Ok(SessionConfig {
        sql: Sql::new(options)?,
        durability: options.durability,
        busy_timeout: options.busy_timeout,
    })
}

impl Session for SqliteSession {
    fn session_id(&self) -> &str {
        &self.id
    }

    /// The newest `limit` items (all when `None`), oldest first. Fails with
    /// [`SessionError::Corrupt`] if one of them does not parse.
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        let (db, cfg, id) = self.parts();
        Box::pin(blocking(move || db.get(&cfg, &id, limit)))
    }

    /// Appends the items in one transaction (nothing is written for an
    /// empty slice).
    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        self.append(None, items)
    }

    /// Appends the items in one transaction, unless `operation_id` is
    /// recorded for this session already (the table `agent_operations`, or
    /// the messages table's name with `messages` replaced by `operations`;
    /// ids are removed by `clear`).
    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        self.append(Some(operation_id.to_owned()), items)
    }

    fn supports_operation_ids(&self) -> bool {
        true
    }

    /// Removes the newest item and returns it. A newest row that does not
    /// parse is removed as well, and reported as [`SessionError::Corrupt`].
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        let (db, cfg, id) = self.parts();
        Box::pin(blocking(move || db.pop(&cfg, &id)))
    }

    /// Removes every item of the session, and its row in the sessions table.
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        let (db, cfg, id) = self.parts();
        Box::pin(blocking(move || db.clear(&cfg, &id)))
    }
}
