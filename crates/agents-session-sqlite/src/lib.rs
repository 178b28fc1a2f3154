//! SQLite conversation sessions for the agents SDK.
//!
//! A [`SqliteSession`] remembers a conversation across runs and across
//! process restarts. Give it to a run with `RunOptions::session`: the run
//! loads the history before the first model call, saves the new input, and
//! saves each turn's items after the turn.
//!
//! ```
//! use agents_core::{Item, Session};
//! use agents_session_sqlite::{Durability, SqliteOptions, SqliteSession};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agents_core::SessionError> {
//! let dir = tempfile::tempdir().expect("temp dir");
//! let path = dir.path().join("conversations.db");
//!
//! // Two conversations in one file (one shared connection in this process).
//! let alice = SqliteSession::open(&path, "alice")?;
//! let bob = SqliteSession::open_with(
//!     &path,
//!     "bob",
//!     SqliteOptions::default().durability(Durability::Normal),
//! )?;
//!
//! alice.add_items(&[Item::user("Hi, I'm Alice."), Item::assistant("Hello Alice!")]).await?;
//! bob.add_items(&[Item::user("Hi, I'm Bob.")]).await?;
//!
//! // Reopened later (or by another process, or by openai-agents-python's
//! // `SQLiteSession("alice", path)`), the history is there, oldest first.
//! let again = SqliteSession::open(&path, "alice")?;
//! assert_eq!(
//!     again.get_items(None).await?,
//!     vec![Item::user("Hi, I'm Alice."), Item::assistant("Hello Alice!")]
//! );
//! assert_eq!(again.get_items(Some(1)).await?, vec![Item::assistant("Hello Alice!")]);
//! assert_eq!(bob.pop_item().await?, Some(Item::user("Hi, I'm Bob.")));
//! # Ok(()) }
//! ```
//!
//! # Storage
//!
//! The tables are those of openai-agents-python's `SQLiteSession`, so either
//! SDK reads what the other wrote:
//!
//! - `agent_sessions(session_id TEXT PRIMARY KEY, created_at, updated_at)`
//! - `agent_messages(id INTEGER PRIMARY KEY AUTOINCREMENT, session_id,
//!   message_data TEXT, created_at)`, one Responses API input item as JSON
//!   per row, with the index `idx_agent_messages_session_id (session_id, id)`.
//!
//! Both names are configurable ([`SqliteOptions`]). Items are ordered by
//! `id`; [`get_items(Some(n))`](agents_core::Session::get_items) returns the
//! newest `n`, oldest first.
//!
//! # Concurrency and durability
//!
//! - Every session on one file in one process shares one connection
//!   (a process-wide registry keyed by the canonical path). Calls run on
//!   tokio's blocking pool, one at a time per file.
//! - Files use WAL mode, so readers never wait for writers; a writer waits
//!   up to the busy timeout (default 5 s) for a writer of another process.
//! - Each `add_items` is one `BEGIN IMMEDIATE` transaction: a turn is stored
//!   whole or not at all, appends from many tasks and processes interleave
//!   only at batch boundaries, and each writer's order is kept.
//! - Parsed items of recently used sessions are kept in memory and dropped
//!   whenever another connection writes (`PRAGMA data_version`), so a run
//!   loads its history without parsing it again.
//! - [`Durability`] chooses `synchronous = FULL` (default: a committed turn
//!   survives a power loss) or `NORMAL` (faster; survives a process crash
//!   but maybe not a power loss).
//!
//! SQLite is compiled into the crate (rusqlite's `bundled` feature); no
//! system library is needed.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod db;
mod options;
mod session;

pub use options::{Durability, SqliteOptions, DEFAULT_BUSY_TIMEOUT};
pub use session::SqliteSession;
