//! Keys, sealing and opening, and the [`Session`] wrapper.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use agents_core::{BoxFuture, Item, Session, SessionError};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hkdf::Hkdf;
use serde_json::{json, Value};
use sha2::Sha256;

/// The `type` of a sealed item.
const ITEM_TYPE: &str = "agents.encrypted_item";
/// The format version.
const VERSION: u64 = 1;
/// The HKDF salt.
const SALT: &[u8] = b"agents-session-encrypted/v1";

/// The master keys: the current one seals, every one opens. Debug output
/// shows key ids only.
#[derive(Clone)]
pub struct EncryptionKeys {
    current: (String, [u8; 32]),
    previous: Vec<(String, [u8; 32])>,
    ttl: Option<Duration>,
}

impl fmt::Debug for EncryptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKeys")
            .field("current", &self.current.0)
            .field(
                "previous",
                &self.previous.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl EncryptionKeys {
    /// A 32-byte master key with its id (stored with each item, so the key
    /// that opens it is found after a rotation). Load the key from a secret
    /// store; never hard-code it.
    pub fn new(key_id: impl Into<String>, master_key: [u8; 32]) -> Self {
        EncryptionKeys {
            current: (key_id.into(), master_key),
            previous: Vec::new(),
            ttl: None,
        }
    }

    /// Adds a previous master key, which opens items sealed with it.
    pub fn with_previous(mut self, key_id: impl Into<String>, master_key: [u8; 32]) -> Self {
        self.previous.push((key_id.into(), master_key));
        self
    }

    /// Items older than `ttl` are left out of reads.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.current.0
    }
}

/// A per-session cipher for one key id.
struct SessionKey {
    key_id: String,
    cipher: Aes256Gcm,
}

fn derive(master: &[u8; 32], session_id: &str, key_id: &str) -> SessionKey {
    let hk = Hkdf::<Sha256>::new(Some(SALT), master);
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160, so expand cannot fail.
    if hk.expand(session_id.as_bytes(), &mut okm).is_err() {
        unreachable!("HKDF-SHA256 expands to 32 bytes");
    }
    SessionKey {
        key_id: key_id.to_owned(),
        cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&okm)),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The associated data: binds the ciphertext to its session and metadata.
fn aad(session_id: &str, key_id: &str, ts: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(session_id.len() + key_id.len() + 48);
    aad.extend_from_slice(ITEM_TYPE.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&VERSION.to_be_bytes());
    aad.extend_from_slice(&(session_id.len() as u64).to_be_bytes());
    aad.extend_from_slice(session_id.as_bytes());
    aad.extend_from_slice(&(key_id.len() as u64).to_be_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad.extend_from_slice(&ts.to_be_bytes());
    aad
}

/// A session whose items are encrypted at rest in an inner session.
///
/// Idempotent appends pass through: [`Session::add_items_once`] seals the
/// items and hands them to the inner session's `add_items_once`, so a retry
/// is deduplicated by the inner backend.
pub struct EncryptedSession {
    inner: Arc<dyn Session>,
    keys: Vec<SessionKey>,
    ttl: Option<Duration>,
}

impl fmt::Debug for EncryptedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedSession")
            .field("session_id", &self.inner.session_id())
            .field(
                "key_ids",
                &self.keys.iter().map(|k| &k.key_id).collect::<Vec<_>>(),
            )
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl EncryptedSession {
    /// Wraps `inner`; the session key is derived from `keys` and the inner
    /// session's id.
    pub fn new(inner: Arc<dyn Session>, keys: EncryptionKeys) -> Self {
        let id = inner.session_id().to_owned();
        let mut derived = vec![derive(&keys.current.1, &id, &keys.current.0)];
        derived.extend(
            keys.previous
                .iter()
                .map(|(kid, master)| derive(master, &id, kid)),
        );
        EncryptedSession {
            inner,
            keys: derived,
            ttl: keys.ttl,
        }
    }

    /// The inner session (which holds ciphertext only).
    pub fn inner(&self) -> &Arc<dyn Session> {
        &self.inner
    }

    fn seal(&self, item: &Item) -> Result<Item, SessionError> {
        let key = &self.keys[0];
        let plaintext = serde_json::to_vec(item)
            .map_err(|e| SessionError::Storage(format!("cannot serialize an item: {e}")))?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| SessionError::Storage(format!("no randomness for a nonce: {e}")))?;
        let ts = now();
        let aad = aad(self.inner.session_id(), &key.key_id, ts);
        let data = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SessionError::Storage("AES-GCM sealing failed".into()))?;
        Ok(Item::Other(json!({
            "type": ITEM_TYPE,
            "v": VERSION,
            "kid": key.key_id,
            "ts": ts,
            "nonce": B64.encode(nonce),
            "data": B64.encode(data),
        })))
    }

    /// Opens a stored item: `Ok(None)` when it has expired.
    fn open(&self, position: usize, stored: &Item) -> Result<Option<Item>, SessionError> {
        let fail = |message: &str| SessionError::Undecryptable {
            position: i64::try_from(position).unwrap_or(i64::MAX),
            message: message.to_owned(),
        };
        let value = match stored {
            Item::Other(v) => v,
            _ => return Err(fail("the item is not encrypted")),
        };
        let field = |name: &str| value.get(name);
        if field("type").and_then(Value::as_str) != Some(ITEM_TYPE) {
            return Err(fail("the item is not encrypted"));
        }
        if field("v").and_then(Value::as_u64) != Some(VERSION) {
            return Err(fail("unsupported encryption format version"));
        }
        let kid = field("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("no key id"))?;
        let ts = field("ts")
            .and_then(Value::as_u64)
            .ok_or_else(|| fail("no timestamp"))?;
        let nonce = field("nonce")
            .and_then(Value::as_str)
            .and_then(|n| B64.decode(n).ok())
            .filter(|n| n.len() == 12)
            .ok_or_else(|| fail("bad nonce"))?;
        let data = field("data")
            .and_then(Value::as_str)
            .and_then(|d| B64.decode(d).ok())
            .ok_or_else(|| fail("bad ciphertext encoding"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.key_id == kid)
            .ok_or_else(|| fail(&format!("unknown key id `{kid}`")))?;
        let aad = aad(self.inner.session_id(), kid, ts);
        let plaintext = key
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &data,
                    aad: &aad,
                },
            )
            .map_err(|_| fail("authentication failed: the item was altered or sealed elsewhere"))?;
        // Checked after authentication, so an attacker cannot expire items by
        // editing the timestamp (that fails authentication instead).
        if let Some(ttl) = self.ttl {
            if ts.saturating_add(ttl.as_secs()) < now() {
                return Ok(None);
            }
        }
        serde_json::from_slice(&plaintext)
            .map(Some)
            .map_err(|e| fail(&format!("decrypted item is not an item: {e}")))
    }

    fn seal_all(&self, items: &[Item]) -> Result<Vec<Item>, SessionError> {
        items.iter().map(|i| self.seal(i)).collect()
    }

    /// Re-seals every item of the session under the current key (after a
    /// rotation: put the new key first and the old one in
    /// [`EncryptionKeys::with_previous`], rotate each session, then drop
    /// the old key). Expired items are dropped. Not atomic with concurrent
    /// writers to the same session: run it while the session is idle.
    pub async fn rotate(&self) -> Result<(), SessionError> {
        let items = self.get_items(None).await?;
        let sealed = self.seal_all(&items)?;
        self.inner.clear().await?;
        self.inner.add_items(&sealed).await
    }
}

impl Session for EncryptedSession {
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }

    /// The newest `limit` stored items, opened; expired ones left out (so
    /// fewer than `limit` may come back).
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        Box::pin(async move {
            let stored = self.inner.get_items(limit).await?;
            let mut out = Vec::with_capacity(stored.len());
            for (i, item) in stored.iter().enumerate() {
                if let Some(item) = self.open(i, item)? {
                    out.push(item);
                }
            }
            Ok(out)
        })
    }

    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            let sealed = self.seal_all(items)?;
            self.inner.add_items(&sealed).await
        })
    }

    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            let sealed = self.seal_all(items)?;
            self.inner.add_items_once(operation_id, &sealed).await
        })
    }

    fn supports_operation_ids(&self) -> bool {
        self.inner.supports_operation_ids()
    }

    /// Removes the newest item and returns it opened; expired items are
    /// removed and skipped.
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        Box::pin(async move {
            while let Some(stored) = self.inner.pop_item().await? {
                if let Some(item) = self.open(0, &stored)? {
                    return Ok(Some(item));
                }
            }
            Ok(None)
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        self.inner.clear()
    }
}
