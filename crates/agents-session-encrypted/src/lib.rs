//! Encryption at rest for any session of the agents SDK.
//!
//! [`EncryptedSession`] wraps any `Arc<dyn Session>` (memory, SQLite,
//! Postgres, Redis, your own). Every item is sealed before it reaches the
//! inner session and opened when read:
//!
//! - **AES-256-GCM** (RustCrypto's `aes-gcm`), a fresh random 96-bit nonce
//!   per item; the session id, key id, format version and timestamp are
//!   authenticated as associated data, so a ciphertext moved to another
//!   session, or with its timestamp changed, does not open;
//! - **a key per session**, derived from the master key with HKDF-SHA256
//!   (salt `agents-session-encrypted/v1`, info = the session id);
//! - **optional expiry**: items older than [`EncryptionKeys::ttl`] are
//!   left out of reads (and skipped by `pop_item`);
//! - **master-key rotation**: [`EncryptionKeys`] holds the current key,
//!   which seals, and previous keys, which still open; [`EncryptedSession::rotate`]
//!   re-seals a session under the current key.
//!
//! A tampered or foreign item is [`SessionError::Undecryptable`](agents_core::SessionError::Undecryptable) (with its
//! position), never a panic and never garbage.
//!
//! ```
//! use std::sync::Arc;
//! use agents_core::{Item, MemorySession, Session};
//! use agents_session_encrypted::{EncryptedSession, EncryptionKeys};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agents_core::SessionError> {
//! let inner: Arc<dyn Session> = Arc::new(MemorySession::new("user_123"));
//! let keys = EncryptionKeys::new("2026-01", [7u8; 32]); // load the key from your secret store
//! let session = EncryptedSession::new(Arc::clone(&inner), keys);
//!
//! session.add_items(&[Item::user("my card number is 4242...")]).await?;
//! assert_eq!(session.get_items(None).await?, vec![Item::user("my card number is 4242...")]);
//!
//! // The inner session holds only ciphertext.
//! let stored = serde_json::to_string(&inner.get_items(None).await?).expect("json");
//! assert!(!stored.contains("4242"));
//! # Ok(()) }
//! ```
//!
//! # Format
//!
//! Each item is stored as
//! `{"type": "agents.encrypted_item", "v": 1, "kid": "<key id>", "ts": <unix seconds>,
//! "nonce": "<base64>", "data": "<base64 ciphertext and tag>"}`, which every
//! backend keeps as an opaque item. This is **not** compatible with
//! openai-agents-python's `EncryptedSession`: that one seals with Fernet
//! (AES-128-CBC plus HMAC-SHA256, a different envelope), and this crate uses
//! AES-256-GCM. Decrypt and re-add through each SDK to move a conversation.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod seal;

pub use seal::{EncryptedSession, EncryptionKeys};
