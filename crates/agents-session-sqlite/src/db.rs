//! One SQLite connection per database, shared by every session on it, and
//! the synchronous SQL behind the async session methods.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use agents_core::{Item, SessionError};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use crate::options::{Durability, SqliteOptions};

/// An internal error: SQL failures and session errors, both ending up as a
/// [`SessionError`].
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Session(SessionError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<SessionError> for Fail {
    fn from(e: SessionError) -> Self {
        Fail::Session(e)
    }
}

impl From<Fail> for SessionError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Sql(e) => SessionError::Storage(format!("SQLite: {e}")),
            Fail::Session(e) => e,
        }
    }
}

type Result<T> = std::result::Result<T, Fail>;

/// The SQL of one pair of tables, built once.
#[derive(Debug)]
pub(crate) struct Sql {
    pub(crate) sessions: String,
    pub(crate) messages: String,
    /// The messages table, as the first half of cache keys.
    messages_key: Arc<str>,
    schema: String,
    insert_session: String,
    insert_message: String,
    touch_session: String,
    select_all: String,
    select_newest: String,
    newest_row: String,
    delete_row: String,
    delete_messages: String,
    delete_session: String,
    insert_operation: String,
    delete_operations: String,
}

fn check_name(name: &str) -> std::result::Result<(), SessionError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128;
    if ok {
        Ok(())
    } else {
        Err(SessionError::Storage(format!(
            "invalid SQLite table name `{name}`: use ASCII letters, digits and `_`, \
             not starting with a digit"
        )))
    }
}

impl Sql {
    pub(crate) fn new(options: &SqliteOptions) -> std::result::Result<Self, SessionError> {
        check_name(&options.sessions_table)?;
        check_name(&options.messages_table)?;
        if options.sessions_table == options.messages_table {
            return Err(SessionError::Storage(
                "the sessions table and the messages table must differ".into(),
            ));
        }
        let s = &options.sessions_table;
        let m = &options.messages_table;
        // This SDK's own table: operation ids of idempotent appends
        // (`agent_operations` next to the default `agent_messages`).
        let op = match m.strip_suffix("messages") {
            Some(stem) => format!("{stem}operations"),
            None => format!("{m}_operations"),
        };
        // The layout of openai-agents-python's SQLiteSession, so that either
        // SDK reads what the other wrote. The index name matches too, so
        // opening a Python-made file does not add a second index.
        let schema = format!(
            "CREATE TABLE IF NOT EXISTS \"{s}\" (
                session_id TEXT PRIMARY KEY,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
            );
            CREATE TABLE IF NOT EXISTS \"{m}\" (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                message_data TEXT NOT NULL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (session_id) REFERENCES \"{s}\" (session_id) ON DELETE CASCADE
            );
            CREATE INDEX IF NOT EXISTS \"idx_{m}_session_id\" ON \"{m}\" (session_id, id);
            CREATE TABLE IF NOT EXISTS \"{op}\" (
                session_id TEXT NOT NULL,
                operation_id TEXT NOT NULL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                PRIMARY KEY (session_id, operation_id)
            );"
        );
        Ok(Sql {
            sessions: s.clone(),
            messages: m.clone(),
            messages_key: Arc::from(m.as_str()),
            schema,
            insert_session: format!("INSERT OR IGNORE INTO \"{s}\" (session_id) VALUES (?1)"),
            insert_message: format!(
                "INSERT INTO \"{m}\" (session_id, message_data) VALUES (?1, ?2)"
            ),
            touch_session: format!(
                "UPDATE \"{s}\" SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?1"
            ),
            select_all: format!(
                "SELECT id, message_data FROM \"{m}\" WHERE session_id = ?1 ORDER BY id ASC"
            ),
            select_newest: format!(
                "SELECT id, message_data FROM \"{m}\" WHERE session_id = ?1 \
                 ORDER BY id DESC LIMIT ?2"
            ),
            newest_row: format!(
                "SELECT id, message_data FROM \"{m}\" WHERE session_id = ?1 \
                 ORDER BY id DESC LIMIT 1"
            ),
            delete_row: format!("DELETE FROM \"{m}\" WHERE id = ?1"),
            delete_messages: format!("DELETE FROM \"{m}\" WHERE session_id = ?1"),
            delete_session: format!("DELETE FROM \"{s}\" WHERE session_id = ?1"),
            insert_operation: format!(
                "INSERT OR IGNORE INTO \"{op}\" (session_id, operation_id) VALUES (?1, ?2)"
            ),
            delete_operations: format!("DELETE FROM \"{op}\" WHERE session_id = ?1"),
        })
    }
}

/// What one session asks of the shared connection.
#[derive(Debug)]
pub(crate) struct SessionConfig {
    pub(crate) sql: Sql,
    pub(crate) durability: Durability,
    pub(crate) busy_timeout: Duration,
}

/// At most this many sessions per database keep their items parsed in
/// memory, and at most this many items in all.
const CACHE_SESSIONS: usize = 64;
const CACHE_ITEMS: usize = 100_000;

/// (messages table, session id)
type CacheKey = (Arc<str>, Arc<str>);

/// The parsed newest items of one session, so that loading the history
/// for each run does not parse every row again.
struct Entry {
    /// `(row id, item)`, oldest first: a suffix of the session's rows.
    items: Vec<(i64, Item)>,
    /// Whether `items` is the whole session (else only its newest rows).
    complete: bool,
    /// Last use, for eviction.
    used: u64,
}

/// Parsed items of recently used sessions.
///
/// Correct across connections and processes: `PRAGMA data_version` changes
/// exactly when another connection commits to the database, and then every
/// entry is dropped. Commits of this connection all go through [`Database`],
/// which updates the entries it touches.
#[derive(Default)]
struct Cache {
    entries: HashMap<CacheKey, Entry>,
    /// The `data_version` the entries are valid for.
    version: Option<i64>,
    tick: u64,
}

impl Cache {
    fn items(&self) -> usize {
        self.entries.values().map(|e| e.items.len()).sum()
    }

    fn store(&mut self, key: CacheKey, items: Vec<(i64, Item)>, complete: bool) {
        if items.len() > CACHE_ITEMS {
            self.entries.remove(&key);
            return;
        }
        self.tick += 1;
        let used = self.tick;
        self.entries.insert(
            key.clone(),
            Entry {
                items,
                complete,
                used,
            },
        );
        while self.entries.len() > CACHE_SESSIONS || self.items() > CACHE_ITEMS {
            let oldest = self
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.entries.remove(&k),
                None => break,
            };
        }
    }
}

struct State {
    conn: Connection,
    /// The `synchronous` level the connection is set to.
    synchronous: Option<Durability>,
    busy_timeout: Duration,
    /// Table pairs whose schema exists (checked once per connection).
    schemas: HashSet<(String, String)>,
    cache: Cache,
}

impl State {
    /// Drops the cached items if another connection has committed since
    /// they were read.
    fn check_cache(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.cache.version != Some(version) {
            self.cache.entries.clear();
            self.cache.version = Some(version);
        }
        Ok(())
    }
}

/// One database: a file (shared by every session of this process that opens
/// it) or a private in-memory database.
pub(crate) struct Database {
    state: Mutex<State>,
    path: Option<PathBuf>,
}

/// Open file databases by canonical path, so that sessions on one file share
/// one connection.
static FILES: LazyLock<Mutex<HashMap<PathBuf, Weak<Database>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == ErrorCode::DatabaseBusy || f.code == ErrorCode::DatabaseLocked
    )
}

/// The registry key of a path: the canonical path of the file, or of its
/// directory joined with the file name when the file does not exist yet.
fn canonical(path: &Path) -> std::result::Result<PathBuf, SessionError> {
    if let Ok(p) = path.canonicalize() {
        return Ok(p);
    }
    let cannot = |e: String| {
        SessionError::Storage(format!(
            "cannot open SQLite database {}: {e}",
            path.display()
        ))
    };
    let file = path
        .file_name()
        .ok_or_else(|| cannot("the path names no file".into()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = dir.canonicalize().map_err(|e| cannot(e.to_string()))?;
    Ok(dir.join(file))
}

impl Database {
    /// The shared database of the file at `path`, opened (and switched to
    /// WAL) on first use.
    pub(crate) fn open_file(
        path: &Path,
        busy_timeout: Duration,
    ) -> std::result::Result<Arc<Self>, SessionError> {
        let key = canonical(path)?;
        let mut files = FILES.lock().unwrap_or_else(PoisonError::into_inner);
        files.retain(|_, db| db.strong_count() > 0);
        if let Some(db) = files.get(&key).and_then(Weak::upgrade) {
            return Ok(db);
        }
        let conn = Connection::open(&key).map_err(|e| {
            SessionError::Storage(format!(
                "cannot open SQLite database {}: {e}",
                key.display()
            ))
        })?;
        configure(&conn, busy_timeout, true).map_err(SessionError::from)?;
        let db = Arc::new(Database::new(conn, busy_timeout, Some(key.clone())));
        files.insert(key, Arc::downgrade(&db));
        Ok(db)
    }

    /// A new private in-memory database.
    pub(crate) fn in_memory(
        busy_timeout: Duration,
    ) -> std::result::Result<Arc<Self>, SessionError> {
        let conn = Connection::open_in_memory()
            .map_err(|e| SessionError::Storage(format!("cannot open SQLite in memory: {e}")))?;
        configure(&conn, busy_timeout, false).map_err(SessionError::from)?;
        Ok(Arc::new(Database::new(conn, busy_timeout, None)))
    }

    fn new(conn: Connection, busy_timeout: Duration, path: Option<PathBuf>) -> Self {
        Database {
            state: Mutex::new(State {
                conn,
                synchronous: None,
                busy_timeout,
                schemas: HashSet::new(),
                cache: Cache::default(),
            }),
            path,
        }
    }

    /// The canonical path of the file, `None` in memory.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Locks the connection, sets it up for `cfg` (synchronous level, busy
    /// timeout) and checks the cache.
    fn lock(&self, cfg: &SessionConfig) -> Result<MutexGuard<'_, State>> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if st.busy_timeout != cfg.busy_timeout {
            st.conn.busy_timeout(cfg.busy_timeout)?;
            st.busy_timeout = cfg.busy_timeout;
        }
        if st.synchronous != Some(cfg.durability) {
            st.conn.execute_batch(cfg.durability.pragma())?;
            st.synchronous = Some(cfg.durability);
        }
        st.check_cache()?;
        Ok(st)
    }

    /// Creates the tables of `cfg` if they do not exist (once per table pair
    /// and connection).
    pub(crate) fn init(&self, cfg: &SessionConfig) -> std::result::Result<(), SessionError> {
        let run = || -> Result<()> {
            let mut st = self.lock(cfg)?;
            let key = (cfg.sql.sessions.clone(), cfg.sql.messages.clone());
            if !st.schemas.contains(&key) {
                let tx = st
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute_batch(&cfg.sql.schema)?;
                tx.commit()?;
                st.schemas.insert(key);
            }
            Ok(())
        };
        run().map_err(SessionError::from)
    }

    /// Appends `items` (as the JSON `rows`) in one transaction; with an
    /// operation id, only if that id is not recorded yet (in the same
    /// transaction).
    pub(crate) fn add(
        &self,
        cfg: &SessionConfig,
        session_id: &Arc<str>,
        operation_id: Option<&str>,
        rows: &[String],
        items: Vec<Item>,
    ) -> std::result::Result<(), SessionError> {
        let run = || -> Result<()> {
            let mut st = self.lock(cfg)?;
            let mut ids = Vec::with_capacity(rows.len());
            let tx = st
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(op) = operation_id {
                let new = tx
                    .prepare_cached(&cfg.sql.insert_operation)?
                    .execute(params![&**session_id, op])?;
                if new == 0 {
                    // Applied before: nothing to write.
                    return Ok(());
                }
            }
            tx.prepare_cached(&cfg.sql.insert_session)?
                .execute([&**session_id])?;
            {
                let mut insert = tx.prepare_cached(&cfg.sql.insert_message)?;
                for row in rows {
                    insert.execute(params![&**session_id, row])?;
                    ids.push(tx.last_insert_rowid());
                }
            }
            tx.prepare_cached(&cfg.sql.touch_session)?
                .execute([&**session_id])?;
            tx.commit()?;
            let key = (Arc::clone(&cfg.sql.messages_key), Arc::clone(session_id));
            if let Some(entry) = st.cache.entries.get_mut(&key) {
                entry.items.extend(ids.into_iter().zip(items));
            }
            Ok(())
        };
        run().map_err(SessionError::from)
    }

    /// The newest `limit` items (all when `None`), oldest first.
    pub(crate) fn get(
        &self,
        cfg: &SessionConfig,
        session_id: &Arc<str>,
        limit: Option<usize>,
    ) -> std::result::Result<Vec<Item>, SessionError> {
        let run = || -> Result<Vec<Item>> {
            if limit == Some(0) {
                return Ok(Vec::new());
            }
            let mut st = self.lock(cfg)?;
            let key = (Arc::clone(&cfg.sql.messages_key), Arc::clone(session_id));
            st.cache.tick += 1;
            let tick = st.cache.tick;
            if let Some(entry) = st.cache.entries.get_mut(&key) {
                let have = entry.items.len();
                if entry.complete || limit.is_some_and(|n| n <= have) {
                    entry.used = tick;
                    let start = limit.map_or(0, |n| have.saturating_sub(n));
                    return Ok(entry.items[start..]
                        .iter()
                        .map(|(_, item)| item.clone())
                        .collect());
                }
            }
            let mut rows = Vec::new();
            match limit {
                None => {
                    let mut stmt = st.conn.prepare_cached(&cfg.sql.select_all)?;
                    let mut found = stmt.query([&**session_id])?;
                    while let Some(row) = found.next()? {
                        let id = row.get(0)?;
                        rows.push((id, parse(id, row.get_ref(1)?)?));
                    }
                }
                Some(n) => {
                    let n = i64::try_from(n).unwrap_or(i64::MAX);
                    let mut stmt = st.conn.prepare_cached(&cfg.sql.select_newest)?;
                    let mut found = stmt.query(params![&**session_id, n])?;
                    while let Some(row) = found.next()? {
                        let id = row.get(0)?;
                        rows.push((id, parse(id, row.get_ref(1)?)?));
                    }
                    rows.reverse();
                }
            }
            let items = rows.iter().map(|(_, item)| item.clone()).collect();
            let complete = limit.is_none_or(|n| rows.len() < n);
            st.cache.store(key, rows, complete);
            Ok(items)
        };
        run().map_err(SessionError::from)
    }

    /// Removes the newest row and returns its item. A row that cannot be
    /// parsed is removed too, and reported as corrupt.
    pub(crate) fn pop(
        &self,
        cfg: &SessionConfig,
        session_id: &Arc<str>,
    ) -> std::result::Result<Option<Item>, SessionError> {
        let run = || -> Result<Option<Item>> {
            let mut st = self.lock(cfg)?;
            let tx = st
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let newest = tx
                .prepare_cached(&cfg.sql.newest_row)?
                .query_row([&**session_id], |row| {
                    let id: i64 = row.get(0)?;
                    Ok((id, parse(id, row.get_ref(1)?)))
                })
                .optional()?;
            let Some((id, item)) = newest else {
                return Ok(None);
            };
            tx.prepare_cached(&cfg.sql.delete_row)?.execute([id])?;
            tx.commit()?;
            let key = (Arc::clone(&cfg.sql.messages_key), Arc::clone(session_id));
            if let Some(entry) = st.cache.entries.get_mut(&key) {
                if entry.items.last().map(|(last, _)| *last) == Some(id) {
                    entry.items.pop();
                } else {
                    st.cache.entries.remove(&key);
                }
            }
            Ok(Some(item?))
        };
        run().map_err(SessionError::from)
    }

    /// Removes every item of the session and its row in the sessions table.
    pub(crate) fn clear(
        &self,
        cfg: &SessionConfig,
        session_id: &Arc<str>,
    ) -> std::result::Result<(), SessionError> {
        let run = || -> Result<()> {
            let mut st = self.lock(cfg)?;
            let tx = st
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(&cfg.sql.delete_messages)?
                .execute([&**session_id])?;
            tx.prepare_cached(&cfg.sql.delete_session)?
                .execute([&**session_id])?;
            tx.prepare_cached(&cfg.sql.delete_operations)?
                .execute([&**session_id])?;
            tx.commit()?;
            let key = (Arc::clone(&cfg.sql.messages_key), Arc::clone(session_id));
            st.cache.entries.remove(&key);
            Ok(())
        };
        run().map_err(SessionError::from)
    }

    /// Deletes the rows of the session that cannot be parsed; returns their
    /// row ids.
    pub(crate) fn remove_unreadable(
        &self,
        cfg: &SessionConfig,
        session_id: &Arc<str>,
    ) -> std::result::Result<Vec<i64>, SessionError> {
        let run = || -> Result<Vec<i64>> {
            let mut st = self.lock(cfg)?;
            let tx = st
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut bad = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&cfg.sql.select_all)?;
                let mut rows = stmt.query([&**session_id])?;
                while let Some(row) = rows.next()? {
                    let id: i64 = row.get(0)?;
                    if parse(id, row.get_ref(1)?).is_err() {
                        bad.push(id);
                    }
                }
            }
            {
                let mut delete = tx.prepare_cached(&cfg.sql.delete_row)?;
                for id in &bad {
                    delete.execute([id])?;
                }
            }
            tx.commit()?;
            let key = (Arc::clone(&cfg.sql.messages_key), Arc::clone(session_id));
            st.cache.entries.remove(&key);
            Ok(bad)
        };
        run().map_err(SessionError::from)
    }
}

/// Parses one `message_data` value. Errors are [`SessionError::Corrupt`].
fn parse(id: i64, value: ValueRef<'_>) -> std::result::Result<Item, SessionError> {
    let corrupt = |message: String| SessionError::Corrupt {
        position: id,
        message,
    };
    let bytes = match value {
        ValueRef::Text(b) | ValueRef::Blob(b) => b,
        other => {
            return Err(corrupt(format!(
                "message_data is {:?}, not JSON text",
                other.data_type()
            )))
        }
    };
    serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))
}

/// Per-connection setup: busy timeout, statement cache, and WAL for files.
fn configure(conn: &Connection, busy_timeout: Duration, file: bool) -> Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    if file {
        // Switching to WAL takes a short exclusive lock; another process
        // doing the same may hold it, and the busy handler does not always
        // cover it.
        let deadline = Instant::now() + busy_timeout;
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
