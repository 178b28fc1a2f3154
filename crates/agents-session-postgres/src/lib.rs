//! Postgres conversation sessions and a run-state store for the agents SDK.
//!
//! A [`PostgresStore`] is a connection pool plus the SQL of one set of
//! tables. From it come cheap [`PostgresSession`] handles (one per
//! conversation) and a [`PostgresRunStateStore`] (paused runs by id). Many
//! worker processes can share one database.
//!
//! ```no_run
//! use agents_core::{Item, Session};
//! use agents_session_postgres::PostgresStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agents_core::SessionError> {
//! let store = PostgresStore::connect("postgres://agents@127.0.0.1:5432/agents")?;
//! store.migrate().await?; // creates the tables if needed; safe to run from every worker
//!
//! let session = store.session("user_123");
//! session.add_items(&[Item::user("Hi!"), Item::assistant("Hello!")]).await?;
//! assert_eq!(session.get_items(Some(1)).await?, vec![Item::assistant("Hello!")]);
//! # Ok(()) }
//! ```
//!
//! # Storage
//!
//! The tables are those of openai-agents-python's `SQLAlchemySession` on
//! Postgres, so either SDK reads and continues what the other wrote:
//!
//! - `agent_sessions(session_id VARCHAR PRIMARY KEY, created_at, updated_at)`
//! - `agent_messages(id BIGSERIAL PRIMARY KEY, session_id REFERENCES
//!   agent_sessions ON DELETE CASCADE, message_data TEXT, created_at)`, one
//!   Responses API item as JSON per row, with Python's index
//!   `idx_agent_messages_session_time (session_id, created_at)`.
//!
//! Two more tables belong to this SDK only: `agent_operations` (the
//! operation ids of idempotent appends, removed with their session) and
//! `agent_run_states` (serialized run states with a version). All names are
//! configurable ([`PostgresOptions`]).
//!
//! # Transactions
//!
//! Every append is a single SQL statement, so one implicit transaction and
//! one round trip: it upserts the session row (which holds the session's row
//! lock until commit, so concurrent appends to one conversation never
//! interleave), records the operation id when one is given (skipping the
//! whole write if the id is already there), and inserts the items in order.
//! A lost reply to a committed append can therefore be retried with the same
//! operation id ([`Session::add_items_once`](agents_core::Session::add_items_once))
//! without duplicating a turn.
//!
//! # Errors
//!
//! A server that cannot be reached, or a connection lost mid-call, is
//! [`SessionError::Unavailable`](agents_core::SessionError::Unavailable) (for
//! the run-state store, `RunStateStoreError::Unavailable`); the pool
//! reconnects on the next call once the server is back. Every other failure
//! is `Storage`; a row that is not an item is `Corrupt`.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod store;

pub use store::{PostgresOptions, PostgresRunStateStore, PostgresSession, PostgresStore};
