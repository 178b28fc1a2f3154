//! Redis conversation sessions and a run-state store for the agents SDK.
//!
//! A [`RedisStore`] is one auto-reconnecting connection (redis-rs's
//! `ConnectionManager`, multiplexed: many tasks share it) plus a key
//! prefix. From it come cheap [`RedisSession`] handles and a
//! [`RedisRunStateStore`].
//!
//! ```no_run
//! use std::time::Duration;
//! use agents_core::{Item, Session};
//! use agents_session_redis::{RedisOptions, RedisStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agents_core::SessionError> {
//! let store = RedisStore::connect_with(
//!     "redis://127.0.0.1:6379/0",
//!     RedisOptions::default().ttl(Duration::from_secs(7 * 24 * 3600)),
//! )
//! .await?;
//! let session = store.session("user_123");
//! session.add_items(&[Item::user("Hi!"), Item::assistant("Hello!")]).await?;
//! assert_eq!(session.get_items(Some(1)).await?, vec![Item::assistant("Hello!")]);
//! # Ok(()) }
//! ```
//!
//! # Key layout
//!
//! The keys of openai-agents-python's `RedisSession` (default prefix
//! `agents:session`), so both SDKs read and continue one conversation:
//!
//! - `{prefix}:{session_id}`: a hash with `session_id`, `created_at`,
//!   `updated_at` (Unix seconds);
//! - `{prefix}:{session_id}:messages`: a list, one Responses API item as
//!   compact JSON per element, oldest first.
//!
//! This SDK adds no session key of its own: the operation ids of
//! idempotent appends are fields `op:{operation_id}` of the session's hash,
//! so Python's `clear_session` and TTL remove them with the session. Run
//! states live under `{run_prefix}:{run_id}` (a hash with `state` and
//! `version`; default prefix `agents:run`). Python's
//! `{prefix}:{session_id}:counter` key is never read here; `clear` deletes
//! it, and the TTL covers it, as in Python. One difference: Python skips
//! items that do not parse, this SDK reports them as
//! [`SessionError::Corrupt`](agents_core::SessionError::Corrupt).
//!
//! # Atomicity
//!
//! Each append is one Lua script, which Redis runs atomically: it checks
//! and records the operation id, pushes the items and refreshes the TTL, so
//! a turn is stored whole or not at all and never interleaves with another
//! writer's turn. A lost reply to a committed append can be retried with the
//! same operation id without duplicating the turn.
//!
//! # Errors
//!
//! A server that cannot be reached, or a connection lost mid-call, is
//! `SessionError::Unavailable`; the connection manager reconnects in the
//! background, and calls succeed again once the server is back.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod store;

pub use store::{RedisOptions, RedisRunStateStore, RedisSession, RedisStore};
