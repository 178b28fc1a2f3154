//! One contract for every [`Session`] backend, as reusable checks.
//!
//! A backend's test file opens sessions through a closure and calls
//! [`check_all`]; backends with a server also call [`check_restart`]
//! (stop the server between calls: a clear error while it is down, recovery
//! afterwards) and [`check_lost_reply`] through a [`FaultProxy`](crate::servers::FaultProxy);
//! in-process backends call [`check_lost_reply`] through [`LostReplySession`].
//! [`check_processes`] with [`child_writer`] appends from two processes.
//!
//! The closure must return a handle on the *same* stored conversation each
//! time it gets the same id, as a database-backed session does; for
//! in-memory sessions, keep them in a map:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//! use agents_core::{MemorySession, Session};
//! use agents_testkit::session_conformance as conformance;
//!
//! # #[tokio::main]
//! # async fn main() {
//! let sessions = Mutex::new(HashMap::<String, Arc<MemorySession>>::new());
//! let open = move |id: &str| {
//!     let mut map = sessions.lock().unwrap();
//!     let session = map.entry(id.to_owned()).or_insert_with(|| Arc::new(MemorySession::new(id)));
//!     Arc::clone(session) as Arc<dyn Session>
//! };
//! conformance::check_all(&open).await;
//! # }
//! ```
//!
//! Every check uses fresh session ids ([`unique_id`]), so a persistent
//! database can run the suite repeatedly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agents_core::{
    add_items_retrying, BoxFuture, Item, RunStateStore, RunStateStoreError, Session, SessionError,
};

/// Opens the session with the given id (cheap, no I/O expected).
pub type Open = dyn Fn(&str) -> Arc<dyn Session> + Send + Sync;

/// A session id no other check (or earlier run) uses.
pub fn unique_id(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn texts(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Item::Message(m) => m.content.text(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn users(texts: &[&str]) -> Vec<Item> {
    texts.iter().map(|t| Item::user(*t)).collect()
}

/// Every check of the contract that needs no server control: order,
/// limit, pop, clear, isolation, 1 MB items, unicode, 10,000 items, 32
/// concurrent writers, operation ids.
pub async fn check_all(open: &Open) {
    check_order(open).await;
    check_limit(open).await;
    check_pop(open).await;
    check_clear(open).await;
    check_isolation(open).await;
    check_large_item(open).await;
    check_unicode(open).await;
    check_ten_thousand(open).await;
    check_concurrent_tasks(open).await;
    check_operation_ids(open).await;
}

/// Items come back in the order they were added, across calls.
pub async fn check_order(open: &Open) {
    let s = open(&unique_id("order"));
    assert!(
        s.get_items(None).await.expect("get").is_empty(),
        "new session is empty"
    );
    s.add_items(&[Item::user("1"), Item::assistant("2")])
        .await
        .expect("add");
    s.add_items(&[]).await.expect("add nothing");
    s.add_items(&users(&["3", "4", "5"])).await.expect("add");
    let items = s.get_items(None).await.expect("get");
    assert_eq!(texts(&items), ["1", "2", "3", "4", "5"]);
    assert_eq!(items[1], Item::assistant("2"), "items round-trip exactly");
    // A second handle on the same id sees the same items.
    let again = open(s.session_id());
    assert_eq!(again.get_items(None).await.expect("get"), items);
}

/// `get_items(Some(n))` is the newest `n`, oldest first.
pub async fn check_limit(open: &Open) {
    let s = open(&unique_id("limit"));
    s.add_items(&users(&["a", "b", "c", "d"]))
        .await
        .expect("add");
    assert_eq!(texts(&s.get_items(Some(2)).await.expect("get")), ["c", "d"]);
    assert_eq!(texts(&s.get_items(Some(1)).await.expect("get")), ["d"]);
    assert!(s.get_items(Some(0)).await.expect("get").is_empty());
    assert_eq!(s.get_items(Some(4)).await.expect("get").len(), 4);
    assert_eq!(s.get_items(Some(100)).await.expect("get").len(), 4);
}

/// `pop_item` removes and returns the newest item; `None` when empty.
pub async fn check_pop(open: &Open) {
    let s = open(&unique_id("pop"));
    assert_eq!(s.pop_item().await.expect("pop empty"), None);
    s.add_items(&users(&["a", "b"])).await.expect("add");
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("b")));
    assert_eq!(texts(&s.get_items(None).await.expect("get")), ["a"]);
    s.add_items(&users(&["c"])).await.expect("add");
    assert_eq!(texts(&s.get_items(None).await.expect("get")), ["a", "c"]);
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("c")));
    assert_eq!(s.pop_item().await.expect("pop"), Some(Item::user("a")));
    assert_eq!(s.pop_item().await.expect("pop"), None);
}

/// `clear` removes everything; the session can be used again afterwards.
pub async fn check_clear(open: &Open) {
    let s = open(&unique_id("clear"));
    s.add_items(&users(&["a", "b"])).await.expect("add");
    s.clear().await.expect("clear");
    assert!(s.get_items(None).await.expect("get").is_empty());
    s.clear().await.expect("clear twice");
    s.add_items(&users(&["c"])).await.expect("add after clear");
    assert_eq!(texts(&s.get_items(None).await.expect("get")), ["c"]);
}

/// Two sessions never see each other's items, pops or clears.
pub async fn check_isolation(open: &Open) {
    let a = open(&unique_id("iso-a"));
    let b = open(&unique_id("iso-b"));
    a.add_items(&users(&["a1", "a2"])).await.expect("add");
    b.add_items(&users(&["b1"])).await.expect("add");
    assert_eq!(texts(&a.get_items(None).await.expect("get")), ["a1", "a2"]);
    assert_eq!(texts(&b.get_items(None).await.expect("get")), ["b1"]);
    assert_eq!(b.pop_item().await.expect("pop"), Some(Item::user("b1")));
    assert_eq!(a.get_items(None).await.expect("get").len(), 2);
    a.clear().await.expect("clear");
    b.add_items(&users(&["b2"])).await.expect("add");
    assert_eq!(texts(&b.get_items(None).await.expect("get")), ["b2"]);
    assert!(a.get_items(None).await.expect("get").is_empty());
}

/// A 1 MB item round-trips exactly.
pub async fn check_large_item(open: &Open) {
    let s = open(&unique_id("large"));
    let big: String = "0123456789abcdef".repeat(65_536);
    assert_eq!(big.len(), 1 << 20);
    s.add_items(&[Item::user(big.as_str()), Item::assistant("after")])
        .await
        .expect("add 1 MB");
    let items = s.get_items(None).await.expect("get");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], Item::user(big.as_str()));
    assert_eq!(
        s.pop_item().await.expect("pop"),
        Some(Item::assistant("after"))
    );
    assert_eq!(
        s.pop_item().await.expect("pop"),
        Some(Item::user(big.as_str()))
    );
}

/// Unicode (every plane, right-to-left, combining marks, NUL, quotes and
/// backslashes) round-trips exactly, in text and in session ids.
pub async fn check_unicode(open: &Open) {
    let s = open(&unique_id("unicode-✓-会话-🙂"));
    let texts_in = [
        "héllo wörld",
        "日本語のテキスト",
        "emoji 👩‍👩‍👧‍👦 🏳️‍🌈 🙂",
        "עברית ومرحبا",
        "e\u{301} combining",
        "nul \u{0} inside",
        "quotes \" ' \\ backslash \n newline \t tab",
        "\u{10FFFF} last code point",
    ];
    s.add_items(&users(&texts_in)).await.expect("add");
    assert_eq!(texts(&s.get_items(None).await.expect("get")), texts_in);
}

/// 10,000 items: all kept, in order, and the newest 10 are found.
pub async fn check_ten_thousand(open: &Open) {
    let s = open(&unique_id("ten-thousand"));
    let all: Vec<Item> = (0..10_000).map(|i| Item::user(format!("m{i}"))).collect();
    for batch in all.chunks(500) {
        s.add_items(batch).await.expect("add");
    }
    let items = s.get_items(None).await.expect("get");
    assert_eq!(items.len(), 10_000);
    assert!(items == all, "10,000 items come back in order");
    assert_eq!(s.get_items(Some(10)).await.expect("get"), all[9_990..]);
}

/// Checks the turns of `writers` writers appended `turns` turns each of
/// two items `{w}-{t}-a`, `{w}-{t}-b`: nothing lost or duplicated, each
/// writer's order kept, each turn contiguous.
pub fn check_writers(items: &[Item], prefix: &str, writers: usize, turns: usize) {
    let texts = texts(items);
    assert_eq!(
        texts.len(),
        writers * turns * 2,
        "every item of every writer, once"
    );
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut i = 0;
    while i < texts.len() {
        let a = &texts[i];
        let b = texts.get(i + 1).map(String::as_str).unwrap_or("");
        let stem = a
            .strip_suffix("-a")
            .unwrap_or_else(|| panic!("item {i} `{a}` does not start a turn"));
        assert_eq!(b, format!("{stem}-b"), "the turn of `{stem}` is contiguous");
        let (writer, turn) = stem
            .rsplit_once('-')
            .unwrap_or_else(|| panic!("unexpected item `{a}`"));
        assert!(writer.starts_with(prefix), "unexpected writer `{writer}`");
        let turn: usize = turn.parse().expect("turn number");
        let expected = next.entry(writer.to_owned()).or_insert(0);
        assert_eq!(turn, *expected, "writer `{writer}` keeps its order");
        *expected += 1;
        i += 2;
    }
    assert_eq!(next.len(), writers, "every writer wrote");
    assert!(next.values().all(|n| *n == turns));
}

fn turn(writer: &str, n: usize) -> Vec<Item> {
    vec![
        Item::user(format!("{writer}-{n}-a")),
        Item::assistant(format!("{writer}-{n}-b")),
    ]
}

/// 32 tasks append 10 two-item turns each to one session at once.
pub async fn check_concurrent_tasks(open: &Open) {
    let id = unique_id("concurrent");
    let mut tasks = Vec::new();
    for w in 0..32 {
        let s = open(&id);
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                s.add_items(&turn(&format!("task{w}"), n))
                    .await
                    .expect("add");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let items = open(&id).get_items(None).await.expect("get");
    check_writers(&items, "task", 32, 10);
}

/// Writes with an operation id apply once; ids are per session.
pub async fn check_operation_ids(open: &Open) {
    let s = open(&unique_id("ops"));
    assert!(
        s.supports_operation_ids(),
        "the backend makes add_items_once idempotent"
    );
    s.add_items_once("turn-1", &users(&["a", "b"]))
        .await
        .expect("add");
    s.add_items_once("turn-1", &users(&["a", "b"]))
        .await
        .expect("retry");
    s.add_items_once("turn-2", &users(&["c"]))
        .await
        .expect("add");
    s.add_items_once("turn-1", &users(&["a", "b"]))
        .await
        .expect("late retry");
    assert_eq!(
        texts(&s.get_items(None).await.expect("get")),
        ["a", "b", "c"]
    );
    let other = open(&unique_id("ops-other"));
    other
        .add_items_once("turn-1", &users(&["x"]))
        .await
        .expect("other session");
    assert_eq!(texts(&other.get_items(None).await.expect("get")), ["x"]);
    // Concurrent retries of one operation apply it once.
    let id = unique_id("ops-race");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = open(&id);
        tasks.push(tokio::spawn(async move {
            s.add_items_once("same", &users(&["once-a", "once-b"]))
                .await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("add");
    }
    assert_eq!(
        texts(&open(&id).get_items(None).await.expect("get")),
        ["once-a", "once-b"]
    );
}

/// The reply to a committed write is lost: the first attempt fails with a
/// transient error although the items are stored; retrying with the same
/// operation id does not store them twice.
///
/// `faulty` reaches the store through the fault, `direct` (same session id)
/// does not; `arm` makes the fault drop the next reply.
pub async fn check_lost_reply(faulty: &dyn Session, direct: &dyn Session, arm: &(dyn Fn() + Sync)) {
    assert_eq!(faulty.session_id(), direct.session_id());
    // Warm up (connections, prepared statements, scripts).
    faulty
        .add_items_once("warm-up", &users(&["warm"]))
        .await
        .expect("warm-up write");
    arm();
    let turn = [Item::user("question"), Item::assistant("answer")];
    let err = faulty
        .add_items_once("turn-1", &turn)
        .await
        .expect_err("the reply was dropped");
    assert!(
        err.is_transient(),
        "a lost reply is Unavailable, got {err:?}"
    );
    assert_eq!(
        texts(&direct.get_items(None).await.expect("get")),
        ["warm", "question", "answer"],
        "the write committed although its reply was lost"
    );
    add_items_retrying(faulty, "turn-1", &turn, 50)
        .await
        .expect("retry succeeds");
    assert_eq!(
        texts(&direct.get_items(None).await.expect("get")),
        ["warm", "question", "answer"],
        "the retry did not duplicate the turn"
    );
    faulty
        .add_items_once("turn-2", &users(&["next"]))
        .await
        .expect("next write");
    assert_eq!(
        texts(&direct.get_items(None).await.expect("get")),
        ["warm", "question", "answer", "next"]
    );
}

/// The server stops between calls: calls fail with
/// [`SessionError::Unavailable`] (within `timeout`, no hang), and once it is
/// back calls succeed again and the earlier items are there.
pub async fn check_restart(
    open: &Open,
    stop: impl FnOnce() + Send + 'static,
    start: impl FnOnce() + Send + 'static,
) {
    let s = open(&unique_id("restart"));
    s.add_items(&users(&["before"])).await.expect("add");
    tokio::task::spawn_blocking(stop)
        .await
        .expect("stop server");
    let t0 = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), s.get_items(None))
        .await
        .expect("a call to a stopped server returns")
        .expect_err("the server is down");
    assert!(
        matches!(err, SessionError::Unavailable(_)),
        "a stopped server is Unavailable, got {err:?}"
    );
    let err = tokio::time::timeout(Duration::from_secs(30), s.add_items(&users(&["lost"])))
        .await
        .expect("a write to a stopped server returns")
        .expect_err("the server is down");
    assert!(err.is_transient(), "got {err:?}");
    assert!(t0.elapsed() < Duration::from_secs(30));
    tokio::task::spawn_blocking(start)
        .await
        .expect("start server");
    // Recovery: the pool or connection manager reconnects.
    let deadline = Instant::now() + Duration::from_secs(30);
    let items = loop {
        match s.get_items(None).await {
            Ok(items) => break items,
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no recovery after restart: {e}"),
        }
    };
    assert_eq!(texts(&items), ["before"], "data survived the restart");
    s.add_items(&users(&["after"]))
        .await
        .expect("add after restart");
    assert_eq!(
        texts(&s.get_items(None).await.expect("get")),
        ["before", "after"]
    );
}

/// The environment variable naming the session a child writer appends to.
pub const CHILD_SESSION_ENV: &str = "AGENTS_CONFORMANCE_SESSION";
/// The environment variable naming the child writer.
pub const CHILD_WRITER_ENV: &str = "AGENTS_CONFORMANCE_WRITER";
/// Turns each child writer appends.
pub const CHILD_TURNS: usize = 50;

/// In a child process started by [`check_processes`]: appends
/// [`CHILD_TURNS`] turns and returns `true`. Elsewhere: does nothing and
/// returns `false`. Call it from a test named as given to `check_processes`.
pub async fn child_writer(open: &Open) -> bool {
    let (Ok(id), Ok(writer)) = (
        std::env::var(CHILD_SESSION_ENV),
        std::env::var(CHILD_WRITER_ENV),
    ) else {
        return false;
    };
    let s = open(&id);
    for n in 0..CHILD_TURNS {
        s.add_items(&turn(&format!("proc{writer}"), n))
            .await
            .expect("child add");
    }
    true
}

/// Two processes append to one session at once: this test binary is run
/// twice more with only the test `child_test` (which must call
/// [`child_writer`]), with `env` set (a database URL, say).
pub async fn check_processes(open: &Open, child_test: &str, env: &[(&str, String)]) {
    let id = unique_id("processes");
    let exe = std::env::current_exe().expect("test binary");
    let mut children = Vec::new();
    for w in 0..2 {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([child_test, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CHILD_SESSION_ENV, &id)
            .env(CHILD_WRITER_ENV, w.to_string());
        for (k, v) in env {
            cmd.env(k, v);
        }
        children.push(cmd.spawn().expect("spawn child writer"));
    }
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait child");
        assert!(status.success(), "child writer failed: {status}");
    }
    let items = open(&id).get_items(None).await.expect("get");
    check_writers(&items, "proc", 2, CHILD_TURNS);
}

/// A session wrapper whose next idempotent write is applied by the inner
/// session and then reported as failed ([`SessionError::Unavailable`]): the
/// lost reply of [`check_lost_reply`] for in-process backends.
pub struct LostReplySession {
    inner: Arc<dyn Session>,
    armed: AtomicBool,
}

impl LostReplySession {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Session>) -> Self {
        LostReplySession {
            inner,
            armed: AtomicBool::new(false),
        }
    }

    /// Drops the reply of the next write.
    pub fn drop_next_reply(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl Session for LostReplySession {
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }

    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        self.inner.get_items(limit)
    }

    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            self.inner.add_items(items).await?;
            self.lose_reply()
        })
    }

    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            self.inner.add_items_once(operation_id, items).await?;
            self.lose_reply()
        })
    }

    fn supports_operation_ids(&self) -> bool {
        self.inner.supports_operation_ids()
    }

    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        self.inner.pop_item()
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        self.inner.clear()
    }
}

impl LostReplySession {
    fn lose_reply(&self) -> Result<(), SessionError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            Err(SessionError::Unavailable(
                "the reply was lost (injected fault)".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// The [`RunStateStore`] contract: create, update, versions, conflicts
/// (two workers resuming one version at once: exactly one wins), delete.
pub async fn check_run_state_store(store: &dyn RunStateStore) {
    let run = unique_id("run");
    assert_eq!(store.load(&run).await.expect("load"), None);
    assert_eq!(
        store.save(&run, "{\"a\":1}", None).await.expect("create"),
        1
    );
    let err = store.save(&run, "{}", None).await.expect_err("exists");
    assert!(
        matches!(err, RunStateStoreError::Conflict { found: Some(1), .. }),
        "{err:?}"
    );
    assert_eq!(
        store
            .save(&run, "{\"a\":2}", Some(1))
            .await
            .expect("update"),
        2
    );
    let stored = store.load(&run).await.expect("load").expect("entry");
    assert_eq!((stored.state.as_str(), stored.version), ("{\"a\":2}", 2));
    // Two workers resume version 2 at once: exactly one wins.
    let (a, b) = tokio::join!(
        store.save(&run, "{\"by\":\"a\"}", Some(2)),
        store.save(&run, "{\"by\":\"b\"}", Some(2))
    );
    assert!(a.is_ok() != b.is_ok(), "one resume wins: {a:?} {b:?}");
    let loser = a.err().or(b.err()).expect("one conflict");
    assert!(
        matches!(
            loser,
            RunStateStoreError::Conflict {
                expected: Some(2),
                found: Some(3),
                ..
            }
        ),
        "{loser:?}"
    );
    assert!(store.delete(&run, 2).await.is_err(), "stale delete");
    store.delete(&run, 3).await.expect("delete");
    assert_eq!(store.load(&run).await.expect("load"), None);
    let err = store.save(&run, "{}", Some(3)).await.expect_err("gone");
    assert!(matches!(
        err,
        RunStateStoreError::Conflict { found: None, .. }
    ));
}
