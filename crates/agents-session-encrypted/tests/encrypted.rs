//! The session conformance suite through the encrypted wrapper, and what
//! encryption adds: only ciphertext at rest, tampering and foreign items
//! are typed errors, key rotation, expiry, no key in Debug output.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::{Item, MemorySession, Session, SessionError};
use agents_session_encrypted::{EncryptedSession, EncryptionKeys};
use agents_testkit::session_conformance::{self as conformance, LostReplySession};
use serde_json::Value;

fn keys() -> EncryptionKeys {
    EncryptionKeys::new("k1", [1u8; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_encrypted_wrapper_conforms() {
    let inner = Mutex::new(HashMap::<String, Arc<MemorySession>>::new());
    let open = move |id: &str| {
        let mut map = inner.lock().expect("lock");
        let s = Arc::clone(
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(MemorySession::new(id))),
        );
        Arc::new(EncryptedSession::new(s, keys())) as Arc<dyn Session>
    };
    conformance::check_all(&open).await;
    // The fault sits below the encryption: the inner store commits the
    // sealed turn and the reply is lost.
    let plain: Arc<dyn Session> = Arc::new(MemorySession::new("lost"));
    let enc_direct = EncryptedSession::new(Arc::clone(&plain), keys());
    let fault = Arc::new(LostReplySession::new(Arc::clone(&plain)));
    let enc = EncryptedSession::new(Arc::clone(&fault) as Arc<dyn Session>, keys());
    conformance::check_lost_reply(&enc, &enc_direct, &|| fault.drop_next_reply()).await;
}

async fn stored(inner: &Arc<dyn Session>) -> Vec<Value> {
    inner
        .get_items(None)
        .await
        .expect("get")
        .into_iter()
        .map(|i| serde_json::to_value(i).expect("json"))
        .collect()
}

#[tokio::test]
async fn only_ciphertext_is_stored_and_tampering_is_a_typed_error() {
    let inner: Arc<dyn Session> = Arc::new(MemorySession::new("alice"));
    let s = EncryptedSession::new(Arc::clone(&inner), keys());
    s.add_items(&[Item::user("secret plan"), Item::assistant("ok")])
        .await
        .expect("add");
    let rows = stored(&inner).await;
    assert_eq!(rows.len(), 2);
    let text = serde_json::to_string(&rows).expect("json");
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(rows[0]["type"], "agents.encrypted_item");
    assert_eq!(rows[0]["kid"], "k1");
    assert_ne!(rows[0]["nonce"], rows[1]["nonce"], "a fresh nonce per item");

    // Flip one bit of the ciphertext, change the timestamp, move it to
    // another session: each is Undecryptable, never garbage or a panic.
    let check = |mutate: &dyn Fn(&mut Value), session: &str| {
        let mut row = rows[0].clone();
        mutate(&mut row);
        let inner: Arc<dyn Session> = Arc::new(MemorySession::new(session));
        (inner, serde_json::from_value::<Item>(row).expect("item"))
    };
    let cases: Vec<(&str, Box<dyn Fn(&mut Value)>, &str)> = vec![
        (
            "bit flip",
            Box::new(|r: &mut Value| {
                let data = r["data"].as_str().expect("data").to_owned();
                let mut bytes = base64_decode(&data);
                bytes[3] ^= 1;
                r["data"] = Value::String(base64_encode(&bytes));
            }),
            "alice",
        ),
        (
            "timestamp",
            Box::new(|r: &mut Value| r["ts"] = Value::from(1u64)),
            "alice",
        ),
        ("other session", Box::new(|_r: &mut Value| {}), "mallory"),
        (
            "unknown key",
            Box::new(|r: &mut Value| r["kid"] = Value::from("k9")),
            "alice",
        ),
        (
            "bad nonce",
            Box::new(|r: &mut Value| r["nonce"] = Value::from("!!")),
            "alice",
        ),
        (
            "truncated",
            Box::new(|r: &mut Value| r["data"] = Value::from("AAAA")),
            "alice",
        ),
    ];
    for (name, mutate, session) in cases {
        let (inner, item) = check(&*mutate, session);
        inner.add_items(&[item]).await.expect("add");
        let s = EncryptedSession::new(Arc::clone(&inner), keys());
        let err = s.get_items(None).await.expect_err(name);
        assert!(
            matches!(err, SessionError::Undecryptable { position: 0, .. }),
            "{name}: {err:?}"
        );
        assert!(s.pop_item().await.is_err(), "{name}: pop fails too");
    }
    // A plaintext item in an encrypted session is refused as well.
    let inner: Arc<dyn Session> = Arc::new(MemorySession::new("alice"));
    inner
        .add_items(&[Item::user("injected")])
        .await
        .expect("add");
    let s = EncryptedSession::new(inner, keys());
    assert!(matches!(
        s.get_items(None).await,
        Err(SessionError::Undecryptable { .. })
    ));
    // The wrong master key does not open the items.
    let inner: Arc<dyn Session> = Arc::new(MemorySession::new("x"));
    EncryptedSession::new(Arc::clone(&inner), keys())
        .add_items(&[Item::user("hi")])
        .await
        .expect("add");
    let wrong = EncryptedSession::new(inner, EncryptionKeys::new("k1", [2u8; 32]));
    assert!(wrong.get_items(None).await.is_err());
}

#[tokio::test]
async fn rotation_keeps_old_items_readable_and_reseals() {
    let inner: Arc<dyn Session> = Arc::new(MemorySession::new("bob"));
    let old = EncryptedSession::new(Arc::clone(&inner), EncryptionKeys::new("k1", [1u8; 32]));
    old.add_items(&[Item::user("a")]).await.expect("add");
    let rotated = EncryptedSession::new(
        Arc::clone(&inner),
        EncryptionKeys::new("k2", [2u8; 32]).with_previous("k1", [1u8; 32]),
    );
    rotated.add_items(&[Item::user("b")]).await.expect("add");
    assert_eq!(
        rotated.get_items(None).await.expect("get"),
        [Item::user("a"), Item::user("b")]
    );
    let kids: Vec<Value> = stored(&inner)
        .await
        .iter()
        .map(|r| r["kid"].clone())
        .collect();
    assert_eq!(kids, ["k1", "k2"]);
    rotated.rotate().await.expect("rotate");
    let kids: Vec<Value> = stored(&inner)
        .await
        .iter()
        .map(|r| r["kid"].clone())
        .collect();
    assert_eq!(kids, ["k2", "k2"]);
    let new_only = EncryptedSession::new(Arc::clone(&inner), EncryptionKeys::new("k2", [2u8; 32]));
    assert_eq!(
        new_only.get_items(None).await.expect("get"),
        [Item::user("a"), Item::user("b")]
    );
    let debug = format!(
        "{:?}",
        EncryptionKeys::new("k2", [0xAB; 32]).with_previous("k1", [0xCD; 32])
    );
    assert!(debug.contains("k2") && debug.contains("k1"));
    assert!(
        !debug.contains("171") && !debug.to_lowercase().contains("ab, "),
        "{debug}"
    );
}

#[tokio::test]
async fn expired_items_are_left_out() {
    let inner: Arc<dyn Session> = Arc::new(MemorySession::new("carol"));
    let s = EncryptedSession::new(Arc::clone(&inner), keys());
    s.add_items(&[Item::user("old")]).await.expect("add");
    // With a TTL of zero, an item sealed in an earlier second has expired.
    let expiring = EncryptedSession::new(Arc::clone(&inner), keys().ttl(Duration::from_secs(0)));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(expiring.get_items(None).await.expect("get").is_empty());
    assert_eq!(
        expiring.pop_item().await.expect("pop"),
        None,
        "expired items are skipped"
    );
    assert!(
        inner.get_items(None).await.expect("get").is_empty(),
        "pop removed it"
    );
    let fresh = EncryptedSession::new(Arc::clone(&inner), keys().ttl(Duration::from_secs(3600)));
    fresh.add_items(&[Item::user("new")]).await.expect("add");
    assert_eq!(
        fresh.get_items(None).await.expect("get"),
        [Item::user("new")]
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("b64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}
