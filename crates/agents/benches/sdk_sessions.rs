//! S1–S4: every session backend, the shared ones on real servers started on
//! 127.0.0.1 by the testkit (Postgres from Debian's binaries with its
//! default durability, `synchronous_commit=on`; `redis-server` with
//! `appendfsync always`).
//!
//! Backends: `MemorySession`; `SqliteSession` on a file (default
//! `synchronous=FULL`); `EncryptedSession` over memory (the cost of the
//! encryption alone); `PostgresSession`; `RedisSession`; `EncryptedSession`
//! over Redis.
//!
//! - **S1** appends one turn (two items of about 300 B of JSON) the way the
//!   runner does, with `add_items_once` and a fresh operation id.
//! - **S2** loads 10, 200 and 10,000 items through a fresh session handle
//!   (cold: for SQLite no other handle is open, so a new connection reads
//!   and parses the rows; Postgres and Redis have no client-side cache).
//! - **S3** appends one turn to each of 64 conversations at once, 10 turns
//!   each, on one database; the figure is turns per second.
//! - **S4** runs one full turn against the testkit mock with the session on
//!   (10 history items loaded, the input and the reply saved); the baseline
//!   is the same run without a session, given the same 10 items as its input
//!   list, so the overhead is the session's load and two saves. The two
//!   items a run adds are popped after it, untimed.

use super::*;
use agents::encrypted::{EncryptedSession, EncryptionKeys};
use agents::postgres::{PostgresOptions, PostgresStore};
use agents::redis::RedisStore;
use agents::sqlite::SqliteSession;
use agents::{MemorySession, Session};
use agents_testkit::servers::{Postgres, Redis};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// About 300 bytes of JSON: user questions and assistant answers with
/// server ids.
fn item(i: usize) -> Item {
    let mut text = format!("Item {i}: ");
    while text.len() < 240 {
        text.push_str("the quick brown fox jumps over the lazy dog. ");
    }
    text.truncate(240);
    let value = if i.is_multiple_of(2) {
        serde_json::json!({"type": "message", "role": "user", "content": text})
    } else {
        serde_json::json!({"type": "message", "id": format!("msg_{i:08}"),
            "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]})
    };
    serde_json::from_value(value).expect("item")
}

/// A fresh operation id (as the runner gives each write).
fn operation_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("bench-op-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Opens a handle on the session with the given id (same id, same data).
type Open = Arc<dyn Fn(&str) -> Arc<dyn Session> + Send + Sync>;

struct Backend {
    name: &'static str,
    open: Open,
    append_target: Option<(&'static str, f64)>,
}

async fn s1_append(cfg: &Config, b: &Backend) -> Row {
    let s = (b.open)("s1");
    s.clear().await.expect("clear");
    let turn = [item(0), item(1)];
    for _ in 0..cfg.warmup {
        s.add_items_once(&operation_id(), &turn)
            .await
            .expect("append");
    }
    let mut rounds = Vec::new();
    for _ in 0..cfg.rounds {
        let mut samples = Vec::with_capacity(cfg.runs);
        for _ in 0..cfg.runs {
            let op = operation_id();
            let t = Instant::now();
            s.add_items_once(&op, &turn).await.expect("append");
            samples.push(t.elapsed());
        }
        rounds.push(median_us(&samples));
    }
    let stored = s.get_items(None).await.expect("read back").len();
    assert_eq!(stored, 2 * (cfg.warmup + cfg.rounds * cfg.runs));
    s.clear().await.expect("clear");
    let (target, result) = match b.append_target {
        Some((text, limit)) => (text, at_most(&rounds, limit)),
        None => ("—", Verdict::NoTarget),
    };
    Row {
        id: "S1",
        what: format!(
            "{}: append one turn (2 items, with an operation id)",
            b.name
        ),
        sdk: show(&rounds, 1, "µs"),
        baseline: "—".into(),
        overhead: "—".into(),
        target,
        result,
    }
}

async fn s2_load(cfg: &Config, b: &Backend, n: usize) -> Row {
    let id = format!("s2-{n}");
    {
        let s = (b.open)(&id);
        s.clear().await.expect("clear");
        let items: Vec<Item> = (0..n).map(item).collect();
        for chunk in items.chunks(1000) {
            s.add_items(chunk).await.expect("prefill");
        }
    }
    let runs = if n >= 10_000 {
        cfg.runs.min(5)
    } else {
        cfg.runs
    };
    let mut rounds = Vec::new();
    for _ in 0..cfg.rounds {
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let items = (b.open)(&id).get_items(None).await.expect("load");
            samples.push(t.elapsed());
            assert_eq!(items.len(), n);
        }
        rounds.push(median_us(&samples));
    }
    (b.open)(&id).clear().await.expect("clear");
    let (target, result) = if n == 200 {
        ("≤ 2,000 µs", at_most(&rounds, 2_000.0))
    } else {
        ("—", Verdict::NoTarget)
    };
    Row {
        id: "S2",
        what: format!("{}: load {} items, cold", b.name, thousands(n)),
        sdk: show(&rounds, 1, "µs"),
        baseline: "—".into(),
        overhead: "—".into(),
        target,
        result,
    }
}

async fn s3_concurrent(cfg: &Config, b: &Backend) -> Row {
    const CONVERSATIONS: usize = 64;
    let sessions: Vec<Arc<dyn Session>> = (0..CONVERSATIONS)
        .map(|i| (b.open)(&format!("s3-{i}")))
        .collect();
    for s in &sessions {
        s.clear().await.expect("clear");
    }
    let turn = Arc::new([item(0), item(1)]);
    let turns_each = cfg.runs.min(10);
    let mut rounds = Vec::new();
    for _ in 0..cfg.rounds {
        let t = Instant::now();
        let tasks: Vec<_> = sessions
            .iter()
            .map(|s| {
                let (s, turn) = (Arc::clone(s), Arc::clone(&turn));
                tokio::spawn(async move {
                    for _ in 0..turns_each {
                        s.add_items_once(&operation_id(), &turn[..])
                            .await
                            .expect("append");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        let secs = t.elapsed().as_secs_f64();
        rounds.push((CONVERSATIONS * turns_each) as f64 / secs);
    }
    for s in &sessions {
        let n = s.get_items(None).await.expect("read back").len();
        assert_eq!(n, 2 * turns_each * cfg.rounds, "nothing lost");
        s.clear().await.expect("clear");
    }
    Row {
        id: "S3",
        what: format!("{}: 64 concurrent conversations, one database", b.name),
        sdk: show(&rounds, 0, "turns/s"),
        baseline: "—".into(),
        overhead: "—".into(),
        target: "—",
        result: Verdict::NoTarget,
    }
}

const S4_HISTORY: usize = 10;

/// One timed run with the session; the two items it adds (the input and
/// the reply) are popped afterwards, untimed.
async fn s4_with_session(bench: &Bench, agent: &Agent, session: &Arc<dyn Session>) -> Duration {
    let start = Instant::now();
    let r = Runner::run(agent, "hi", bench.options().session(Arc::clone(session)))
        .await
        .expect("run with a session");
    let elapsed = start.elapsed();
    assert_eq!(r.final_output_text(), "ok");
    for _ in 0..2 {
        session.pop_item().await.expect("pop");
    }
    elapsed
}

/// The same run without a session, given the history as its input list.
async fn s4_without(bench: &Bench, agent: &Agent, input: &[Item]) -> Duration {
    let start = Instant::now();
    let r = Runner::run(agent, input.to_vec(), bench.options())
        .await
        .expect("run without a session");
    let elapsed = start.elapsed();
    assert_eq!(r.final_output_text(), "ok");
    elapsed
}

async fn s4_full_turn(bench: &Bench, cfg: &Config, b: &Backend) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Answer.")
        .model("gpt-4.1-mini")
        .build();
    let history: Vec<Item> = (0..S4_HISTORY).map(item).collect();
    let session = (b.open)("s4");
    session.clear().await.expect("clear");
    session.add_items(&history).await.expect("prefill");
    let mut input = history.clone();
    input.push(Item::user("hi"));
    bench.server.set_default(Reply::text("ok"));
    for _ in 0..cfg.warmup {
        s4_with_session(bench, &agent, &session).await;
        s4_without(bench, &agent, &input).await;
    }
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            raw.push(s4_without(bench, &agent, &input).await);
            sdk.push(s4_with_session(bench, &agent, &session).await);
        }
        p.add_round(&sdk, &raw);
        bench.server.clear_requests();
    }
    bench.server.clear_default();
    assert_eq!(
        session.get_items(None).await.expect("read back").len(),
        S4_HISTORY,
        "every run's items were popped"
    );
    session.clear().await.expect("clear");
    p.row(
        "S4",
        format!(
            "{}: one turn with the session ({S4_HISTORY} history items) vs the same input \
             without a session",
            b.name
        ),
        "—",
        Verdict::NoTarget,
    )
}

async fn bench_backend(bench: &Bench, cfg: &Config, b: &Backend, rows: &mut Vec<Row>) {
    if cfg.wants("S1") {
        rows.push(s1_append(cfg, b).await);
    }
    if cfg.wants("S2") {
        for n in [10, 200, 10_000] {
            rows.push(s2_load(cfg, b, n).await);
        }
    }
    if cfg.wants("S3") {
        rows.push(s3_concurrent(cfg, b).await);
    }
    if cfg.wants("S4") {
        rows.push(s4_full_turn(bench, cfg, b).await);
    }
}

fn encrypted(inner: Arc<dyn Session>) -> Arc<dyn Session> {
    Arc::new(EncryptedSession::new(
        inner,
        EncryptionKeys::new("bench", [7u8; 32]),
    ))
}

fn not_measured(name: &str, target: &'static str, why: &str) -> Row {
    Row::not_measured("S1", name, target, why.into())
}

/// Runs S1–S4 on every backend (those on servers only when the server can
/// be started).
pub(super) async fn run(bench: &Bench, cfg: &Config) -> Vec<Row> {
    let mut rows = Vec::new();

    // Memory, and the encryption alone over memory.
    let memory: Arc<Mutex<HashMap<String, Arc<MemorySession>>>> = Arc::default();
    let memory_open = move |id: &str| {
        let mut map = memory.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(MemorySession::new(id))),
        )
    };
    let plain = memory_open.clone();
    let b = Backend {
        name: "Memory",
        open: Arc::new(move |id: &str| plain(id) as Arc<dyn Session>),
        append_target: None,
    };
    bench_backend(bench, cfg, &b, &mut rows).await;
    let b = Backend {
        name: "Encrypted over memory",
        open: Arc::new(move |id: &str| encrypted(memory_open(id))),
        append_target: None,
    };
    bench_backend(bench, cfg, &b, &mut rows).await;

    // SQLite: one file, default settings (synchronous=FULL).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let path = dir.path().join("sessions.db");
    let b = Backend {
        name: "SQLite (FULL)",
        open: Arc::new(move |id: &str| {
            Arc::new(SqliteSession::open(&path, id).expect("open")) as Arc<dyn Session>
        }),
        append_target: None,
    };
    bench_backend(bench, cfg, &b, &mut rows).await;
    drop(b);
    drop(dir);

    match Postgres::start() {
        Some(pg) => {
            let store = PostgresStore::connect_with(
                &pg.url(),
                PostgresOptions::default().max_connections(16),
            )
            .expect("store");
            store.migrate().await.expect("migrate");
            let b = Backend {
                name: "Postgres",
                open: Arc::new(move |id: &str| Arc::new(store.session(id)) as Arc<dyn Session>),
                append_target: Some(("≤ 1,000 µs", 1_000.0)),
            };
            bench_backend(bench, cfg, &b, &mut rows).await;
            drop(b);
            drop(pg);
        }
        None => rows.push(not_measured(
            "Postgres",
            "≤ 1,000 µs",
            "Postgres not installed",
        )),
    }

    // The same backend on a plain redis-server (no append-only file): what
    // a write costs without an fsync.
    match Redis::start_with_default_persistence() {
        Some(redis) => {
            let store = RedisStore::connect(&redis.url()).await.expect("store");
            let b = Backend {
                name: "Redis (default persistence, no fsync)",
                open: Arc::new(move |id: &str| Arc::new(store.session(id)) as Arc<dyn Session>),
                append_target: Some(("≤ 200 µs", 200.0)),
            };
            bench_backend(bench, cfg, &b, &mut rows).await;
        }
        None => rows.push(not_measured(
            "Redis (default persistence, no fsync)",
            "≤ 200 µs",
            "redis-server not installed",
        )),
    }

    match Redis::start() {
        Some(redis) => {
            let store = RedisStore::connect(&redis.url()).await.expect("store");
            let plain = store.clone();
            let b = Backend {
                name: "Redis (appendfsync always)",
                open: Arc::new(move |id: &str| Arc::new(plain.session(id)) as Arc<dyn Session>),
                append_target: Some(("≤ 200 µs", 200.0)),
            };
            bench_backend(bench, cfg, &b, &mut rows).await;
            let b = Backend {
                name: "Encrypted over Redis",
                open: Arc::new(move |id: &str| encrypted(Arc::new(store.session(id)))),
                append_target: None,
            };
            bench_backend(bench, cfg, &b, &mut rows).await;
        }
        None => rows.push(not_measured(
            "Redis",
            "≤ 200 µs",
            "redis-server not installed",
        )),
    }
    rows
}
