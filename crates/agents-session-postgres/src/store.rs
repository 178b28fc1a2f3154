//! The pool, the SQL, and the [`Session`] / [`RunStateStore`] impls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    BoxFuture, Item, RunStateStore, RunStateStoreError, Session, SessionError, StoredRunState,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Table names and pool settings of a [`PostgresStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The sessions table (default `agent_sessions`, as in Python).
    pub sessions_table: String,
    /// The messages table (default `agent_messages`, as in Python).
    pub messages_table: String,
    /// The operation ids of idempotent appends (default `agent_operations`).
    pub operations_table: String,
    /// The run states (default `agent_run_states`).
    pub run_states_table: String,
    /// The most connections the pool opens (default 16).
    pub max_connections: usize,
    /// How long a call waits for a connection, and for a new connection to
    /// be established (default 5 s). Past it the call fails as unavailable.
    pub timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            sessions_table: "agent_sessions".into(),
            messages_table: "agent_messages".into(),
            operations_table: "agent_operations".into(),
            run_states_table: "agent_run_states".into(),
            max_connections: 16,
            timeout: Duration::from_secs(5),
        }
    }
}

impl PostgresOptions {
    /// Sets the sessions and messages tables.
    pub fn tables(mut self, sessions: impl Into<String>, messages: impl Into<String>) -> Self {
        self.sessions_table = sessions.into();
        self.messages_table = messages.into();
        self
    }

    /// Sets the operations table.
    pub fn operations_table(mut self, name: impl Into<String>) -> Self {
        self.operations_table = name.into();
        self
    }

    /// Sets the run states table.
    pub fn run_states_table(mut self, name: impl Into<String>) -> Self {
        self.run_states_table = name.into();
        self
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets the connection timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn check_name(name: &str) -> Result<(), SessionError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(SessionError::Storage(format!(
            "invalid Postgres table name `{name}`: use at most 63 ASCII letters, digits and `_`, \
             not starting with a digit"
        )))
    }
}

/// The SQL of one set of tables, built once.
#[derive(Debug)]
struct Sql {
    migrations: Vec<(String, String)>,
    append: String,
    append_once: String,
    select_all: String,
    select_newest: String,
    pop: String,
    clear: String,
    state_load: String,
    state_create: String,
    state_update: String,
    state_delete: String,
    state_version: String,
}

impl Sql {
    fn new(o: &PostgresOptions) -> Result<Self, SessionError> {
        for name in [
            &o.sessions_table,
            &o.messages_table,
            &o.operations_table,
            &o.run_states_table,
        ] {
            check_name(name)?;
        }
        let (s, m, op, rs) = (
            &o.sessions_table,
            &o.messages_table,
            &o.operations_table,
            &o.run_states_table,
        );
        // Migration 1 is the layout of openai-agents-python's SQLAlchemySession
        // on Postgres (plus an index on (session_id, id) for our ordering).
        let migrations = vec![
            (
                format!("1 sessions {s} {m}"),
                format!(
                    "CREATE TABLE IF NOT EXISTS \"{s}\" (
                        session_id VARCHAR PRIMARY KEY,
                        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                    );
                    CREATE TABLE IF NOT EXISTS \"{m}\" (
                        id BIGSERIAL PRIMARY KEY,
                        session_id VARCHAR NOT NULL REFERENCES \"{s}\" (session_id) ON DELETE CASCADE,
                        message_data TEXT NOT NULL,
                        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                    );
                    CREATE INDEX IF NOT EXISTS \"idx_{m}_session_time\" ON \"{m}\" (session_id, created_at);
                    CREATE INDEX IF NOT EXISTS \"idx_{m}_session_id\" ON \"{m}\" (session_id, id);"
                ),
            ),
            (
                format!("2 operations {op} {s}"),
                format!(
                    "CREATE TABLE IF NOT EXISTS \"{op}\" (
                        session_id VARCHAR NOT NULL REFERENCES \"{s}\" (session_id) ON DELETE CASCADE,
                        operation_id VARCHAR NOT NULL,
                        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                        PRIMARY KEY (session_id, operation_id)
                    );"
                ),
            ),
            (
                format!("3 run states {rs}"),
                format!(
                    "CREATE TABLE IF NOT EXISTS \"{rs}\" (
                        run_id VARCHAR PRIMARY KEY,
                        state TEXT NOT NULL,
                        version BIGINT NOT NULL,
                        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                        updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                    );"
                ),
            ),
        ];
        // One statement per append. The session upsert takes the session
        // row's lock until commit; the insert depends on it (and on the
        // operation row), so ids are drawn after the lock, in item order.
        let sess = format!(
            "sess AS (INSERT INTO \"{s}\" (session_id) VALUES ($1) \
             ON CONFLICT (session_id) DO UPDATE SET updated_at = CURRENT_TIMESTAMP RETURNING 1)"
        );
        let insert = format!(
            "INSERT INTO \"{m}\" (session_id, message_data, created_at) \
             SELECT $1, t.data, clock_timestamp() FROM unnest($2::text[]) WITH ORDINALITY AS t(data, n)"
        );
        Ok(Sql {
            migrations,
            append: format!("WITH {sess} {insert} WHERE EXISTS (SELECT 1 FROM sess) ORDER BY t.n"),
            append_once: format!(
                "WITH {sess}, op AS (INSERT INTO \"{op}\" (session_id, operation_id) \
                 SELECT $1, $3 FROM sess ON CONFLICT DO NOTHING RETURNING 1) \
                 {insert} WHERE EXISTS (SELECT 1 FROM op) ORDER BY t.n"
            ),
            select_all: format!(
                "SELECT id::int8, message_data FROM \"{m}\" WHERE session_id = $1 ORDER BY id"
            ),
            select_newest: format!(
                "SELECT id, message_data FROM (SELECT id::int8 AS id, message_data FROM \"{m}\" \
                 WHERE session_id = $1 ORDER BY id DESC LIMIT $2) AS t ORDER BY id"
            ),
            pop: format!(
                "DELETE FROM \"{m}\" WHERE id = (SELECT id FROM \"{m}\" WHERE session_id = $1 \
                 ORDER BY id DESC LIMIT 1 FOR UPDATE) RETURNING id::int8, message_data"
            ),
            clear: format!(
                "WITH d AS (DELETE FROM \"{m}\" WHERE session_id = $1) \
                 DELETE FROM \"{s}\" WHERE session_id = $1"
            ),
            state_load: format!("SELECT state, version FROM \"{rs}\" WHERE run_id = $1"),
            state_create: format!(
                "INSERT INTO \"{rs}\" (run_id, state, version) VALUES ($1, $2, 1) \
                 ON CONFLICT DO NOTHING RETURNING version"
            ),
            state_update: format!(
                "UPDATE \"{rs}\" SET state = $2, version = version + 1, updated_at = CURRENT_TIMESTAMP \
                 WHERE run_id = $1 AND version = $3 RETURNING version"
            ),
            state_delete: format!("DELETE FROM \"{rs}\" WHERE run_id = $1 AND version = $2"),
            state_version: format!("SELECT version FROM \"{rs}\" WHERE run_id = $1"),
        })
    }
}

/// Whether a Postgres error means "the server is not there (right now)".
fn is_unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn pg_err(e: tokio_postgres::Error) -> SessionError {
    if is_unavailable(&e) {
        SessionError::Unavailable(format!("Postgres: {e}"))
    } else {
        SessionError::Storage(format!("Postgres: {e}"))
    }
}

fn pool_err(e: PoolError) -> SessionError {
    match e {
        PoolError::Backend(e) => pg_err(e),
        PoolError::Timeout(t) => {
            SessionError::Unavailable(format!("Postgres: no connection ({t:?} timed out)"))
        }
        other => SessionError::Storage(format!("Postgres pool: {other}")),
    }
}

fn state_err(e: SessionError) -> RunStateStoreError {
    match e {
        SessionError::Unavailable(m) => RunStateStoreError::Unavailable(m),
        other => RunStateStoreError::Storage(other.to_string()),
    }
}

/// A connection pool to one Postgres database plus the SQL of one set of
/// tables. Cheap to clone; every clone shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    sql: Arc<Sql>,
    target: Arc<str>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target names hosts, port and database, never the password.
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// A pool to the database at `url` (`postgres://user:password@host:port/db`
    /// or `host=... user=...`), with the default [`PostgresOptions`]. No
    /// connection is made until the first call; call
    /// [`migrate`](Self::migrate) once to create the tables.
    pub fn connect(url: &str) -> Result<Self, SessionError> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Like [`connect`](Self::connect), with options.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, SessionError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| SessionError::Storage(format!("invalid Postgres URL: {e}")))?;
        Self::from_config_with(config.connect_timeout(options.timeout).clone(), options)
    }

    /// A pool from a parsed `tokio_postgres::Config`.
    pub fn from_config_with(
        config: tokio_postgres::Config,
        options: PostgresOptions,
    ) -> Result<Self, SessionError> {
        let sql = Sql::new(&options)?;
        let target = format!(
            "{:?} port {:?} database {:?}",
            config.get_hosts(),
            config.get_ports(),
            config.get_dbname().unwrap_or("")
        );
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.timeout))
            .create_timeout(Some(options.timeout))
            .recycle_timeout(Some(options.timeout))
            .build()
            .map_err(|e| SessionError::Storage(format!("Postgres pool: {e}")))?;
        Ok(PostgresStore {
            pool,
            sql: Arc::new(sql),
            target: Arc::from(target),
        })
    }

    /// Runs the embedded migrations that have not run yet: creates the
    /// tables and indexes. Each runs once per database, in a transaction,
    /// under an advisory lock, so every worker may call this at startup.
    /// Tables that openai-agents-python created already are kept as they are.
    pub async fn migrate(&self) -> Result<(), SessionError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // An arbitrary constant: serializes concurrent migrators.
        tx.execute("SELECT pg_advisory_xact_lock(7372451289)", &[])
            .await
            .map_err(pg_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS agents_schema_migrations (
                name VARCHAR PRIMARY KEY,
                applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            )",
        )
        .await
        .map_err(pg_err)?;
        for (name, sql) in &self.sql.migrations {
            let done = tx
                .query_opt(
                    "SELECT 1 FROM agents_schema_migrations WHERE name = $1",
                    &[name],
                )
                .await
                .map_err(pg_err)?
                .is_some();
            if !done {
                tx.batch_execute(sql).await.map_err(pg_err)?;
                tx.execute(
                    "INSERT INTO agents_schema_migrations (name) VALUES ($1)",
                    &[name],
                )
                .await
                .map_err(pg_err)?;
            }
        }
        tx.commit().await.map_err(pg_err)
    }

    /// The session `session_id` (no I/O).
    pub fn session(&self, session_id: impl Into<String>) -> PostgresSession {
        PostgresSession {
            id: Arc::from(session_id.into()),
            store: self.clone(),
        }
    }

    /// The run-state store on this database (no I/O).
    pub fn run_states(&self) -> PostgresRunStateStore {
        PostgresRunStateStore {
            store: self.clone(),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, SessionError> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// One conversation in Postgres. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostgresSession {
    id: Arc<str>,
    store: PostgresStore,
}

impl PostgresSession {
    /// The store this session lives in.
    pub fn store(&self) -> &PostgresStore {
        &self.store
    }

    async fn append(&self, operation_id: Option<&str>, items: &[Item]) -> Result<(), SessionError> {
        if items.is_empty() {
            return Ok(());
        }
        let rows = items
            .iter()
            .map(|item| {
                serde_json::to_string(item)
                    .map_err(|e| SessionError::Storage(format!("cannot serialize an item: {e}")))
            })
            .collect::<Result<Vec<String>, _>>()?;
        let client = self.store.client().await?;
        let sql = &self.store.sql;
        let id: &str = &self.id;
        match operation_id {
            Some(op) => {
                let stmt = client
                    .prepare_cached(&sql.append_once)
                    .await
                    .map_err(pg_err)?;
                client
                    .execute(&stmt, &[&id, &rows, &op])
                    .await
                    .map_err(pg_err)?;
            }
            None => {
                let stmt = client.prepare_cached(&sql.append).await.map_err(pg_err)?;
                client.execute(&stmt, &[&id, &rows]).await.map_err(pg_err)?;
            }
        }
        Ok(())
    }

    async fn get(&self, limit: Option<usize>) -> Result<Vec<Item>, SessionError> {
        if limit == Some(0) {
            return Ok(Vec::new());
        }
        let client = self.store.client().await?;
        let sql = &self.store.sql;
        let id: &str = &self.id;
        let rows = match limit {
            None => {
                let stmt = client
                    .prepare_cached(&sql.select_all)
                    .await
                    .map_err(pg_err)?;
                client.query(&stmt, &[&id]).await.map_err(pg_err)?
            }
            Some(n) => {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                let stmt = client
                    .prepare_cached(&sql.select_newest)
                    .await
                    .map_err(pg_err)?;
                client.query(&stmt, &[&id, &n]).await.map_err(pg_err)?
            }
        };
        rows.iter().map(parse_row).collect()
    }

    async fn pop(&self) -> Result<Option<Item>, SessionError> {
        let client = self.store.client().await?;
        let stmt = client
            .prepare_cached(&self.store.sql.pop)
            .await
            .map_err(pg_err)?;
        let id: &str = &self.id;
        let row = client.query_opt(&stmt, &[&id]).await.map_err(pg_err)?;
        row.as_ref().map(parse_row).transpose()
    }

    async fn clear_all(&self) -> Result<(), SessionError> {
        let client = self.store.client().await?;
        let stmt = client
            .prepare_cached(&self.store.sql.clear)
            .await
            .map_err(pg_err)?;
        let id: &str = &self.id;
        client.execute(&stmt, &[&id]).await.map_err(pg_err)?;
        Ok(())
    }
}

fn parse_row(row: &tokio_postgres::Row) -> Result<Item, SessionError> {
    let id: i64 = row.try_get(0).map_err(pg_err)?;
    let data: &str = row.try_get(1).map_err(pg_err)?;
    serde_json::from_str(data).map_err(|e| SessionError::Corrupt {
        position: id,
        message: e.to_string(),
    })
}

impl Session for PostgresSession {
    fn session_id(&self) -> &str {
        &self.id
    }

    /// The newest `limit` items (all when `None`), oldest first. Fails with
    /// [`SessionError::Corrupt`] (the row id) if one does not parse.
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        Box::pin(self.get(limit))
    }

    /// Appends the items in one statement.
    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.append(None, items))
    }

    /// Appends the items in one statement, unless `operation_id` is already
    /// recorded for this session.
    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.append(Some(operation_id), items))
    }

    fn supports_operation_ids(&self) -> bool {
        true
    }

    /// Removes the newest item and returns it (a newest row that does not
    /// parse is removed too, and reported as corrupt).
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        Box::pin(self.pop())
    }

    /// Removes every item, the session row and its operation ids.
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(self.clear_all())
    }
}

/// Serialized run states by run id, with optimistic concurrency, in
/// Postgres. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PostgresRunStateStore {
    store: PostgresStore,
}

impl PostgresRunStateStore {
    async fn version(
        &self,
        client: &deadpool_postgres::Object,
        run_id: &str,
    ) -> Result<Option<u64>, RunStateStoreError> {
        let stmt = client
            .prepare_cached(&self.store.sql.state_version)
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        let row = client
            .query_opt(&stmt, &[&run_id])
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        row.map(|r| {
            r.try_get::<_, i64>(0)
                .map(|v| u64::try_from(v).unwrap_or(0))
                .map_err(|e| state_err(pg_err(e)))
        })
        .transpose()
    }

    async fn do_load(&self, run_id: &str) -> Result<Option<StoredRunState>, RunStateStoreError> {
        let client = self.store.client().await.map_err(state_err)?;
        let stmt = client
            .prepare_cached(&self.store.sql.state_load)
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        let row = client
            .query_opt(&stmt, &[&run_id])
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        row.map(|r| {
            let state: String = r.try_get(0).map_err(|e| state_err(pg_err(e)))?;
            let version: i64 = r.try_get(1).map_err(|e| state_err(pg_err(e)))?;
            Ok(StoredRunState::new(
                state,
                u64::try_from(version).unwrap_or(0),
            ))
        })
        .transpose()
    }

    async fn do_save(
        &self,
        run_id: &str,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, RunStateStoreError> {
        let client = self.store.client().await.map_err(state_err)?;
        let sql = &self.store.sql;
        let row = match expected {
            None => {
                let stmt = client
                    .prepare_cached(&sql.state_create)
                    .await
                    .map_err(|e| state_err(pg_err(e)))?;
                client.query_opt(&stmt, &[&run_id, &state]).await
            }
            Some(v) => {
                let v = i64::try_from(v).unwrap_or(i64::MAX);
                let stmt = client
                    .prepare_cached(&sql.state_update)
                    .await
                    .map_err(|e| state_err(pg_err(e)))?;
                client.query_opt(&stmt, &[&run_id, &state, &v]).await
            }
        }
        .map_err(|e| state_err(pg_err(e)))?;
        match row {
            Some(r) => {
                let v: i64 = r.try_get(0).map_err(|e| state_err(pg_err(e)))?;
                Ok(u64::try_from(v).unwrap_or(0))
            }
            None => Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected,
                found: self.version(&client, run_id).await?,
            }),
        }
    }

    async fn do_delete(&self, run_id: &str, expected: u64) -> Result<(), RunStateStoreError> {
        let client = self.store.client().await.map_err(state_err)?;
        let stmt = client
            .prepare_cached(&self.store.sql.state_delete)
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        let v = i64::try_from(expected).unwrap_or(i64::MAX);
        let n = client
            .execute(&stmt, &[&run_id, &v])
            .await
            .map_err(|e| state_err(pg_err(e)))?;
        if n == 1 {
            Ok(())
        } else {
            Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected: Some(expected),
                found: self.version(&client, run_id).await?,
            })
        }
    }
}

impl RunStateStore for PostgresRunStateStore {
    fn load<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredRunState>, RunStateStoreError>> {
        Box::pin(self.do_load(run_id))
    }

    fn save<'a>(
        &'a self,
        run_id: &'a str,
        state: &'a str,
        expected: Option<u64>,
    ) -> BoxFuture<'a, Result<u64, RunStateStoreError>> {
        Box::pin(self.do_save(run_id, state, expected))
    }

    fn delete<'a>(
        &'a self,
        run_id: &'a str,
        expected: u64,
    ) -> BoxFuture<'a, Result<(), RunStateStoreError>> {
        Box::pin(self.do_delete(run_id, expected))
    }
}
