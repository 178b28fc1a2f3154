//! The `Session` contract on SQLite: order, limits, pop, clear, many
//! sessions per file, table names, corrupt rows, in-memory databases.

use std::path::Path;

use agents_core::{Item, Session, SessionError};
use agents_session_sqlite::{Durability, SqliteOptions, SqliteSession};
use serde_json::json;

fn items(texts: &[&str]) -> Vec<Item> {
    texts.iter().map(|t| Item::user(*t)).collect()
}

/// Every item shape the SDK models, plus one it does not.
fn varied_items() -> Vec<Item> {
    [
        json!({"type": "message", "role": "user", "content": "café ☕ \"quoted\"\n"}),
        json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "hi", "annotations": []}]}),
        json!({"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f",
               "arguments": "{\"a\":1}", "status": "completed"}),
        json!({"type": "function_call_output", "call_id": "c1", "output": "ok"}),
        json!({"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}],
               "encrypted_content": "gAAA"}),
        json!({"type": "web_search_call", "id": "ws_1", "status": "completed",
               "action": {"type": "search", "query": "q"}}),
        json!({"type": "message", "role": "user",
               "content": [{"type": "input_text", "text": "look"},
                           {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).expect("item"))
    .collect()
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

#[tokio::test]
async fn items_round_trip_in_order_across_reopen() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.db");
    let s = SqliteSession::open(&path, "s1").expect("open");
    let all = varied_items();
    s.add_items(&all[..3]).await.expect("add");
    s.add_items(&all[3..]).await.expect("add");
    assert_eq!(s.get_items(None).await.expect("get"), all);
    drop(s);
    // A new handle (and, once every handle is gone, a new connection).
    let s = SqliteSession::open(&path, "s1").expect("reopen");
    assert_eq!(s.get_items(None).await.expect("get"), all);
    assert_eq!(s.session_id(), "s1");
}

#[tokio::test]
async fn limit_returns_the_newest_in_chronological_order() {
    let s = SqliteSession::in_memory("s").expect("open");
    s.add_items(&items(&["a", "b", "c"])).await.expect("add");
    s.add_items(&items(&["d"])).await.expect("add");
    for (limit, expected) in [
        (None, vec!["a", "b", "c", "d"]),
        (Some(0), vec![]),
        (Some(1), vec!["d"]),
        (Some(3), vec!["b", "c", "d"]),
        (Some(4), vec!["a", "b", "c", "d"]),
        (Some(100), vec!["a", "b", "c", "d"]),
        (Some(usize::MAX), vec!["a", "b", "c", "d"]),
    ] {
        assert_eq!(
            s.get_items(limit).await.expect("get"),
            items(&expected),
            "limit {limit:?}"
        );
    }
}

#[tokio::test]
async fn pop_and_clear() {
    let s = SqliteSession::in_memory("s").expect("open");
    assert_eq!(s.pop_item().await.expect("pop"), None);
    s.add_items(&items(&["a", "b"])).await.expect("add");
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("b")));
    assert_eq!(s.get_items(None).await.expect("get"), items(&["a"]));
    s.add_items(&items(&["c"])).await.expect("add");
    assert_eq!(s.get_items(None).await.expect("get"), items(&["a", "c"]));
    s.clear().await.expect("clear");
    assert!(s.get_items(None).await.expect("get").is_empty());
    assert_eq!(s.pop_item().await.expect("pop"), None);
    // Usable after clear.
    s.add_items(&items(&["d"])).await.expect("add");
    assert_eq!(s.get_items(None).await.expect("get"), items(&["d"]));
}

#[tokio::test]
async fn sessions_in_one_file_are_separate() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("shared.db");
    let a = SqliteSession::open(&path, "a").expect("open");
    // Another spelling of the same path reaches the same database.
    let b = SqliteSession::open(dir.path().join(".").join("shared.db"), "b").expect("open");
    assert_eq!(a.path(), b.path());
    let a2 = b.with_session_id("a");
    a.add_items(&items(&["a1"])).await.expect("add");
    b.add_items(&items(&["b1"])).await.expect("add");
    a2.add_items(&items(&["a2"])).await.expect("add");
    assert_eq!(a.get_items(None).await.expect("get"), items(&["a1", "a2"]));
    assert_eq!(b.get_items(None).await.expect("get"), items(&["b1"]));
    b.clear().await.expect("clear");
    assert_eq!(a.get_items(None).await.expect("get"), items(&["a1", "a2"]));
    assert_eq!(b.pop_item().await.expect("pop"), None);
    assert_eq!(a.pop_item().await.expect("pop"), Some(Item::user("a2")));
}

#[tokio::test]
async fn in_memory_databases_are_private_and_with_session_id_shares_one() {
    let a = SqliteSession::in_memory("x").expect("open");
    let b = SqliteSession::in_memory("x").expect("open");
    let c = SqliteSession::open(":memory:", "x").expect("open");
    a.add_items(&items(&["a"])).await.expect("add");
    assert!(b.get_items(None).await.expect("get").is_empty());
    assert!(c.get_items(None).await.expect("get").is_empty());
    assert_eq!(a.path(), None);
    let same = a.with_session_id("x");
    assert_eq!(same.get_items(None).await.expect("get"), items(&["a"]));
    let other = a.with_session_id("y");
    assert!(other.get_items(None).await.expect("get").is_empty());
}

#[tokio::test]
async fn the_layout_is_that_of_the_python_sdk() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("layout.db");
    let s = SqliteSession::open(&path, "s1").expect("open");
    s.add_items(&[Item::user("hi"), Item::assistant("hello")])
        .await
        .expect("add");
    let conn = raw(&path);
    let columns = |table: &str| -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .expect("pragma");
        stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        columns("agent_sessions"),
        pairs(&[
            ("session_id", "TEXT"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP")
        ])
    );
    assert_eq!(
        columns("agent_messages"),
        pairs(&[
            ("id", "INTEGER"),
            ("session_id", "TEXT"),
            ("message_data", "TEXT"),
            ("created_at", "TIMESTAMP")
        ])
    );
    let index: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'idx_agent_messages_session_id'",
            [],
            |r| r.get(0),
        )
        .expect("index exists");
    assert!(index.contains("(session_id, id)"), "{index}");
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT session_id, message_data FROM agent_messages ORDER BY id")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(rows.len(), 2);
    let first: serde_json::Value = serde_json::from_str(&rows[0].1).expect("json");
    assert_eq!(
        first,
        json!({"type": "message", "role": "user", "content": "hi"})
    );
    assert_eq!(rows[0].0, "s1");
    let (sessions, stamped): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(created_at) + count(updated_at) FROM agent_sessions \
             WHERE session_id = 's1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("sessions row");
    assert_eq!((sessions, stamped), (1, 2));
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    s.clear().await.expect("clear");
    let sessions: i64 = conn
        .query_row("SELECT count(*) FROM agent_sessions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(sessions, 0, "clear removes the sessions row, as in Python");
}

#[tokio::test]
async fn table_names_are_configurable_and_checked() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tables.db");
    let options = SqliteOptions::default()
        .sessions_table("my_sessions")
        .messages_table("my_messages");
    let custom = SqliteSession::open_with(&path, "s", options).expect("open");
    let default = SqliteSession::open(&path, "s").expect("open");
    custom.add_items(&items(&["custom"])).await.expect("add");
    default.add_items(&items(&["default"])).await.expect("add");
    assert_eq!(
        custom.get_items(None).await.expect("get"),
        items(&["custom"])
    );
    assert_eq!(
        default.get_items(None).await.expect("get"),
        items(&["default"])
    );
    assert_eq!(
        (custom.sessions_table(), custom.messages_table()),
        ("my_sessions", "my_messages")
    );
    let n: i64 = raw(&path)
        .query_row("SELECT count(*) FROM my_messages", [], |r| r.get(0))
        .expect("custom table");
    assert_eq!(n, 1);

    for (sessions, messages) in [
        ("ok", "bad name"),
        ("x\"; DROP TABLE agent_messages; --", "m"),
        ("1abc", "m"),
        ("", "m"),
        ("same", "same"),
    ] {
        let options = SqliteOptions::default()
            .sessions_table(sessions)
            .messages_table(messages);
        let e = SqliteSession::open_with(&path, "s", options).expect_err("rejected");
        assert!(
            matches!(e, SessionError::Storage(_)),
            "{sessions}/{messages}: {e}"
        );
    }
    assert_eq!(
        default.get_items(None).await.expect("still there"),
        items(&["default"])
    );
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_skipped_and_can_be_removed() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("corrupt.db");
    let s = SqliteSession::open(&path, "s").expect("open");
    s.add_items(&items(&["a"])).await.expect("add");
    let conn = raw(&path);
    for bad in ["{not json", "{\"no\": \"type\"}", "[1, 2]"] {
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('s', ?1)",
            [bad],
        )
        .expect("insert");
    }
    let bad_ids: Vec<i64> = conn
        .prepare("SELECT id FROM agent_messages WHERE id > 1 ORDER BY id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    s.add_items(&items(&["b"])).await.expect("add");

    match s.get_items(None).await {
        Err(SessionError::Corrupt { position, message }) => {
            assert_eq!(position, bad_ids[0]);
            assert!(!message.is_empty());
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // The newest item alone is fine.
    assert_eq!(s.get_items(Some(1)).await.expect("get"), items(&["b"]));
    assert!(matches!(
        s.get_items(Some(2)).await,
        Err(SessionError::Corrupt { position, .. }) if position == bad_ids[2]
    ));
    // Another session in the file is not affected.
    let other = s.with_session_id("other");
    other.add_items(&items(&["o"])).await.expect("add");
    assert_eq!(other.get_items(None).await.expect("get"), items(&["o"]));

    assert_eq!(s.remove_unreadable_items().await.expect("repair"), bad_ids);
    assert_eq!(s.get_items(None).await.expect("get"), items(&["a", "b"]));
    assert!(s.remove_unreadable_items().await.expect("none").is_empty());

    // A corrupt newest row is removed by pop, which reports it.
    conn.execute(
        "INSERT INTO agent_messages (session_id, message_data) VALUES ('s', 'garbage')",
        [],
    )
    .expect("insert");
    assert!(matches!(
        s.pop_item().await,
        Err(SessionError::Corrupt { .. })
    ));
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("b")));
    assert_eq!(s.get_items(None).await.expect("get"), items(&["a"]));

    // A NULL-free but non-text value is corrupt too.
    conn.execute(
        "INSERT INTO agent_messages (session_id, message_data) VALUES ('s', 42)",
        [],
    )
    .expect("insert");
    assert!(matches!(
        s.get_items(None).await,
        Err(SessionError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn adding_nothing_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("empty.db");
    let s = SqliteSession::open(&path, "s").expect("open");
    s.add_items(&[]).await.expect("add nothing");
    let n: i64 = raw(&path)
        .query_row("SELECT count(*) FROM agent_sessions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 0);
}

#[tokio::test]
async fn durability_is_per_session_on_a_shared_connection() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sync.db");
    let full = SqliteSession::open(&path, "full").expect("open");
    let normal = SqliteSession::open_with(
        &path,
        "normal",
        SqliteOptions::default().durability(Durability::Normal),
    )
    .expect("open");
    assert_eq!(full.durability(), Durability::Full);
    assert_eq!(normal.durability(), Durability::Normal);
    for _ in 0..3 {
        full.add_items(&items(&["f"])).await.expect("add");
        normal.add_items(&items(&["n"])).await.expect("add");
    }
    assert_eq!(full.get_items(None).await.expect("get").len(), 3);
    assert_eq!(normal.get_items(None).await.expect("get").len(), 3);
}

#[test]
fn works_outside_a_tokio_runtime() {
    let s = SqliteSession::in_memory("s").expect("open");
    let fut = async {
        s.add_items(&items(&["a"])).await?;
        s.get_items(None).await
    };
    let got = futures_lite_block_on(fut).expect("no runtime needed");
    assert_eq!(got, items(&["a"]));
}

#[test]
fn open_fails_cleanly_for_a_missing_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let e = SqliteSession::open(dir.path().join("no/such/dir/x.db"), "s").expect_err("fails");
    assert!(matches!(e, SessionError::Storage(_)), "{e}");
}

#[test]
fn sessions_are_send_sync_and_usable_as_dyn_session() {
    fn check<T: Send + Sync + 'static>() {}
    check::<SqliteSession>();
    let s: std::sync::Arc<dyn Session> =
        std::sync::Arc::new(SqliteSession::in_memory("s").expect("open"));
    assert_eq!(s.session_id(), "s");
}

/// A minimal executor: the session's futures complete without a reactor
/// when no tokio runtime is present.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[tokio::test]
async fn reads_see_every_change_made_through_other_connections() {
    // Parsed items are kept in memory between reads; writes by any other
    // connection (another process, Python, raw SQL) must still be seen.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("coherent.db");
    let s = SqliteSession::open(&path, "s").expect("open");
    s.add_items(&items(&["a", "b"])).await.expect("add");
    assert_eq!(s.get_items(None).await.expect("get"), items(&["a", "b"]));
    assert_eq!(s.get_items(Some(1)).await.expect("get"), items(&["b"]));
    let conn = raw(&path);
    let insert = |text: &str| {
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) VALUES ('s', ?1)",
            [serde_json::to_string(&Item::user(text)).expect("json")],
        )
        .expect("insert")
    };

    insert("c");
    assert_eq!(
        s.get_items(None).await.expect("get"),
        items(&["a", "b", "c"])
    );
    conn.execute(
        "DELETE FROM agent_messages WHERE id = (SELECT min(id) FROM agent_messages)",
        [],
    )
    .expect("delete");
    assert_eq!(s.get_items(None).await.expect("get"), items(&["b", "c"]));
    conn.execute(
        "UPDATE agent_messages SET message_data = ?1 WHERE id = (SELECT max(id) FROM agent_messages)",
        [serde_json::to_string(&Item::user("C")).expect("json")],
    )
    .expect("update");
    assert_eq!(s.get_items(Some(1)).await.expect("get"), items(&["C"]));
    // This connection's own writes, interleaved with others'.
    s.add_items(&items(&["d"])).await.expect("add");
    insert("e");
    s.add_items(&items(&["f"])).await.expect("add");
    assert_eq!(
        s.get_items(None).await.expect("get"),
        items(&["b", "C", "d", "e", "f"])
    );
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("f")));
    assert_eq!(s.get_items(Some(2)).await.expect("get"), items(&["d", "e"]));
    conn.execute("DELETE FROM agent_messages", [])
        .expect("delete all");
    assert!(s.get_items(Some(3)).await.expect("get").is_empty());
}

#[tokio::test]
async fn limited_and_full_reads_agree_under_appends_and_pops() {
    // A model of the session (a Vec) against the store, through a sequence
    // of limited reads, full reads, appends and pops on two handles.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("model.db");
    let a = SqliteSession::open(&path, "s").expect("open");
    let b = SqliteSession::open(&path, "s").expect("open");
    let mut model: Vec<Item> = Vec::new();
    for step in 0..200usize {
        let s = if step % 3 == 0 { &b } else { &a };
        match step % 7 {
            0 | 3 => {
                let new = items(&[&format!("x{step}"), &format!("y{step}")]);
                s.add_items(&new).await.expect("add");
                model.extend(new);
            }
            1 => {
                let got = s.pop_item().await.expect("pop");
                assert_eq!(got, model.pop(), "step {step}");
            }
            2 | 5 => {
                let n = step % 11;
                let start = model.len().saturating_sub(n);
                assert_eq!(
                    s.get_items(Some(n)).await.expect("get"),
                    model[start..],
                    "step {step}"
                );
            }
            4 => assert_eq!(s.get_items(None).await.expect("get"), model, "step {step}"),
            _ => {
                if step % 49 == 6 {
                    s.clear().await.expect("clear");
                    model.clear();
                }
            }
        }
    }
    assert_eq!(a.get_items(None).await.expect("get"), model);
}
