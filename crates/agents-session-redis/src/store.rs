//! The connection, the scripts, and the [`Session`] / [`RunStateStore`] impls.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agents_core::{
    BoxFuture, Item, RunStateStore, RunStateStoreError, Session, SessionError, StoredRunState,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

/// Key prefixes, TTL and timeouts of a [`RedisStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    /// The prefix of session keys (default `agents:session`, as in Python).
    pub key_prefix: String,
    /// The prefix of run-state keys (default `agents:run`).
    pub run_key_prefix: String,
    /// Expiry of a session's keys, refreshed on every append (default none).
    pub ttl: Option<Duration>,
    /// How long to wait for a connection and for each reply (default 5 s).
    pub timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            key_prefix: "agents:session".into(),
            run_key_prefix: "agents:run".into(),
            ttl: None,
            timeout: Duration::from_secs(5),
        }
    }
}

impl RedisOptions {
    /// Sets the session key prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets the run-state key prefix.
    pub fn run_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.run_key_prefix = prefix.into();
        self
    }

    /// Expires a session's keys `ttl` after its last append.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the connection and reply timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Appends items: KEYS = hash, messages, counter (Python's three keys);
/// ARGV = operation id (or ""), ttl seconds (or "0"), now, session id,
/// items... An operation id is a field `op:{id}` of the session's hash, so
/// whatever deletes or expires the session (this SDK or Python) takes its
/// operation ids with it.
const APPEND: &str = r"
if ARGV[1] ~= '' then
  if redis.call('HSETNX', KEYS[1], 'op:' .. ARGV[1], ARGV[3]) == 0 then return 0 end
end
redis.call('HSETNX', KEYS[1], 'created_at', ARGV[3])
redis.call('HSET', KEYS[1], 'session_id', ARGV[4], 'updated_at', ARGV[3])
local n = #ARGV
local i = 5
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, j))
  i = j + 1
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  for k = 1, 3 do
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('EXPIRE', KEYS[k], ttl) end
  end
end
return 1
";

/// Saves a run state: KEYS = run key; ARGV = state, expected version (or
/// ""). Returns {1, new version} or {0, found version or ""}.
const SAVE_STATE: &str = r"
local found = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] == '' then
  if found then return {0, found} end
  redis.call('HSET', KEYS[1], 'state', ARGV[1], 'version', 1)
  return {1, '1'}
end
if found ~= ARGV[2] then return {0, found or ''} end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return {1, tostring(v)}
";

/// Deletes a run state: KEYS = run key; ARGV = expected version.
/// Returns {1, ""} or {0, found version or ""}.
const DELETE_STATE: &str = r"
local found = redis.call('HGET', KEYS[1], 'version')
if found ~= ARGV[1] then return {0, found or ''} end
redis.call('DEL', KEYS[1])
return {1, ''}
";

fn redis_err(e: redis::RedisError) -> SessionError {
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
    {
        SessionError::Unavailable(format!("Redis: {e}"))
    } else {
        SessionError::Storage(format!("Redis: {e}"))
    }
}

fn state_err(e: SessionError) -> RunStateStoreError {
    match e {
        SessionError::Unavailable(m) => RunStateStoreError::Unavailable(m),
        other => RunStateStoreError::Storage(other.to_string()),
    }
}

fn now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}

struct Scripts {
    append: Script,
    save_state: Script,
    delete_state: Script,
}

/// One auto-reconnecting, multiplexed Redis connection plus key prefixes.
/// Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    options: Arc<RedisOptions>,
    scripts: Arc<Scripts>,
    target: Arc<str>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target is host, port and database, never the password.
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[:password@]host:port/db`)
    /// with the default [`RedisOptions`].
    pub async fn connect(url: &str) -> Result<Self, SessionError> {
        Self::connect_with(url, RedisOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with options.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, SessionError> {
        let client = redis::Client::open(url)
            .map_err(|e| SessionError::Storage(format!("invalid Redis URL: {e}")))?;
        let info = client.get_connection_info();
        let target = format!("{:?} db {}", info.addr(), info.redis_settings().db());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_err)?;
        Ok(RedisStore {
            conn,
            options: Arc::new(options),
            scripts: Arc::new(Scripts {
                append: Script::new(APPEND),
                save_state: Script::new(SAVE_STATE),
                delete_state: Script::new(DELETE_STATE),
            }),
            target: Arc::from(target),
        })
    }

    /// The session `session_id` (no I/O).
    pub fn session(&self, session_id: impl Into<String>) -> RedisSession {
        let id: String = session_id.into();
        let base = format!("{}:{id}", self.options.key_prefix);
        RedisSession {
            keys: Arc::new([
                base.clone(),
                format!("{base}:messages"),
                format!("{base}:counter"),
            ]),
            id: Arc::from(id),
            store: self.clone(),
        }
    }

    /// The run-state store on this server (no I/O).
    pub fn run_states(&self) -> RedisRunStateStore {
        RedisRunStateStore {
            store: self.clone(),
        }
    }
}

/// One conversation in Redis. Cheap to clone.
#[derive(Clone)]
pub struct RedisSession {
    id: Arc<str>,
    /// hash, messages, counter
    keys: Arc<[String; 3]>,
    store: RedisStore,
}

impl fmt::Debug for RedisSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSession")
            .field("session_id", &self.id)
            .field("messages_key", &self.keys[1])
            .finish_non_exhaustive()
    }
}

impl RedisSession {
    /// The key of the session's message list.
    pub fn messages_key(&self) -> &str {
        &self.keys[1]
    }

    async fn append(&self, operation_id: &str, items: &[Item]) -> Result<(), SessionError> {
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
        let ttl = self.store.options.ttl.map_or(0, |t| t.as_secs().max(1));
        let mut invocation = self.store.scripts.append.prepare_invoke();
        for key in self.keys.iter() {
            invocation.key(key);
        }
        invocation
            .arg(operation_id)
            .arg(ttl)
            .arg(now())
            .arg(&*self.id)
            .arg(rows);
        let mut conn = self.store.conn.clone();
        let _: i64 = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(())
    }

    async fn get(&self, limit: Option<usize>) -> Result<Vec<Item>, SessionError> {
        let start = match limit {
            Some(0) => return Ok(Vec::new()),
            Some(n) => -isize::try_from(n).unwrap_or(isize::MAX),
            None => 0,
        };
        let mut conn = self.store.conn.clone();
        let rows: Vec<Vec<u8>> = conn
            .lrange(&self.keys[1], start, -1)
            .await
            .map_err(redis_err)?;
        rows.iter()
            .enumerate()
            .map(|(i, row)| parse(i64::try_from(i).unwrap_or(i64::MAX), row))
            .collect()
    }

    async fn pop(&self) -> Result<Option<Item>, SessionError> {
        let mut conn = self.store.conn.clone();
        let row: Option<Vec<u8>> = conn.rpop(&self.keys[1], None).await.map_err(redis_err)?;
        row.map(|r| parse(-1, &r)).transpose()
    }

    async fn clear_all(&self) -> Result<(), SessionError> {
        let mut conn = self.store.conn.clone();
        let _: i64 = conn.del(&self.keys[..]).await.map_err(redis_err)?;
        Ok(())
    }
}

fn parse(position: i64, row: &[u8]) -> Result<Item, SessionError> {
    serde_json::from_slice(row).map_err(|e| SessionError::Corrupt {
        position,
        message: e.to_string(),
    })
}

impl Session for RedisSession {
    fn session_id(&self) -> &str {
        &self.id
    }

    /// The newest `limit` items (all when `None`), oldest first. Fails with
    /// [`SessionError::Corrupt`] (the index among those read) if one does
    /// not parse.
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        Box::pin(self.get(limit))
    }

    /// Appends the items atomically (one script).
    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(self.append("", items))
    }

    /// Appends the items atomically, unless `operation_id` is already
    /// recorded for this session.
    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            if operation_id.is_empty() {
                return Err(SessionError::Storage(
                    "an operation id must not be empty".into(),
                ));
            }
            self.append(operation_id, items).await
        })
    }

    fn supports_operation_ids(&self) -> bool {
        true
    }

    /// Removes the newest item and returns it (`RPOP`); a newest element
    /// that does not parse is removed too, and reported as corrupt.
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        Box::pin(self.pop())
    }

    /// Deletes the session's keys (items, metadata and operation ids, and
    /// Python's counter).
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(self.clear_all())
    }
}

/// Serialized run states by run id, with optimistic concurrency, in Redis.
#[derive(Clone, Debug)]
pub struct RedisRunStateStore {
    store: RedisStore,
}

impl RedisRunStateStore {
    fn key(&self, run_id: &str) -> String {
        format!("{}:{run_id}", self.store.options.run_key_prefix)
    }

    async fn do_load(&self, run_id: &str) -> Result<Option<StoredRunState>, RunStateStoreError> {
        let mut conn = self.store.conn.clone();
        let (state, version): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(self.key(run_id))
            .arg("state")
            .arg("version")
            .query_async(&mut conn)
            .await
            .map_err(|e| state_err(redis_err(e)))?;
        Ok(match (state, version) {
            (Some(state), Some(version)) => Some(StoredRunState::new(state, version)),
            _ => None,
        })
    }

    async fn do_save(
        &self,
        run_id: &str,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, RunStateStoreError> {
        let mut conn = self.store.conn.clone();
        let (ok, version): (i64, String) = self
            .store
            .scripts
            .save_state
            .key(self.key(run_id))
            .arg(state)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| state_err(redis_err(e)))?;
        let version = version.parse::<u64>().ok();
        match (ok, version) {
            (1, Some(v)) => Ok(v),
            (1, None) => Err(RunStateStoreError::Storage(
                "Redis returned no version".into(),
            )),
            _ => Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected,
                found: version,
            }),
        }
    }

    async fn do_delete(&self, run_id: &str, expected: u64) -> Result<(), RunStateStoreError> {
        let mut conn = self.store.conn.clone();
        let (ok, found): (i64, String) = self
            .store
            .scripts
            .delete_state
            .key(self.key(run_id))
            .arg(expected.to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| state_err(redis_err(e)))?;
        if ok == 1 {
            Ok(())
        } else {
            Err(RunStateStoreError::Conflict {
                run_id: run_id.to_owned(),
                expected: Some(expected),
                found: found.parse().ok(),
            })
        }
    }
}

impl RunStateStore for RedisRunStateStore {
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
