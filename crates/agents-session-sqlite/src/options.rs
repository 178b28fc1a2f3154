//! Options of a [`SqliteSession`](crate::SqliteSession).

use std::time::Duration;

/// How hard a commit works to survive a crash: SQLite's `PRAGMA synchronous`
/// for the write-ahead log.
///
/// Both levels keep every committed turn when the *process* dies (a panic,
/// `SIGKILL`, an out-of-memory kill): SQLite has handed the transaction to
/// the operating system before `add_items` returns. They differ when the
/// *machine* loses power or the kernel crashes:
///
/// | level | a commit waits for | after a power loss |
/// |---|---|---|
/// | [`Full`](Durability::Full) (default) | an `fsync` of the log | every committed turn is there |
/// | [`Normal`](Durability::Normal) | nothing on disk (the log is synced at checkpoints) | the last turns committed before the loss may be missing; the database is never corrupt |
///
/// `Normal` makes an append several times faster on disks with slow `fsync`
/// (see the M6 benchmark in `docs/benchmarks.md`). The default is `Full`, as
/// in SQLite and openai-agents-python: a conversation that was acknowledged
/// to the user should not silently lose its last turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: each commit is synced to disk (the default).
    #[default]
    Full,
    /// `synchronous = NORMAL`: commits survive a process crash but not
    /// necessarily a power loss.
    Normal,
}

impl Durability {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "PRAGMA synchronous = FULL",
            Durability::Normal => "PRAGMA synchronous = NORMAL",
        }
    }
}

/// The default `busy_timeout`: how long a write waits for another
/// connection (another process) that holds the write lock.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where and how a [`SqliteSession`](crate::SqliteSession) stores its items.
///
/// The defaults match openai-agents-python's `SQLiteSession`: the tables
/// `agent_sessions` and `agent_messages`.
///
/// ```
/// use std::time::Duration;
/// use agents_session_sqlite::{Durability, SqliteOptions};
///
/// let options = SqliteOptions::default()
///     .messages_table("chat_messages")
///     .sessions_table("chat_sessions")
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(10));
/// assert_eq!(options.messages_table, "chat_messages");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The table of sessions (`session_id`, `created_at`, `updated_at`).
    /// Default `agent_sessions`.
    pub sessions_table: String,
    /// The table of items (`id`, `session_id`, `message_data`, `created_at`),
    /// one Responses API item as JSON per row. Default `agent_messages`.
    pub messages_table: String,
    /// How writes are synced to disk. Default [`Durability::Full`].
    pub durability: Durability,
    /// How long a write waits for another connection's lock before it fails.
    /// Default [`DEFAULT_BUSY_TIMEOUT`] (5 s).
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            sessions_table: "agent_sessions".to_owned(),
            messages_table: "agent_messages".to_owned(),
            durability: Durability::default(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

impl SqliteOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the sessions table name (letters, digits and `_`, not starting
    /// with a digit).
    pub fn sessions_table(mut self, name: impl Into<String>) -> Self {
        self.sessions_table = name.into();
        self
    }

    /// Sets the messages table name (letters, digits and `_`, not starting
    /// with a digit).
    pub fn messages_table(mut self, name: impl Into<String>) -> Self {
        self.messages_table = name.into();
        self
    }

    /// Sets how writes are synced to disk.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets how long a write waits for another connection's lock.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}
