//! S1–S3: the shared session backends on real servers started on
//! 127.0.0.1 by the testkit (Postgres from Debian's binaries, `redis-server`),
//! and the encrypted wrapper over Redis.
//!
//! - **S1** appends one turn (two items of about 300 B) to a session.
//! - **S2** loads 10, 200 and 10,000 items through a fresh session handle
//!   (no client-side cache exists in these backends, so every load reads
//!   the server).
//! - **S3** appends one turn to each of 64 conversations at once, on one
//!   database; the figure is turns per second.

use super::*;
use agents::encrypted::{EncryptedSession, EncryptionKeys};
use agents::postgres::PostgresStore;
use agents::redis::RedisStore;
use agents::Session;
use agents_testkit::servers::{Postgres, Redis};

/// About 300 bytes of JSON.
fn item(i: usize) -> Item {
    let mut text = format!("Item {i}: ");
    while text.len() < 240 {
        text.push_str("the quick brown fox jumps over the lazy dog. ");
    }
    text.truncate(240);
    if i.is_multiple_of(2) {
        Item::user(text)
    } else {
        Item::assistant(text)
    }
}

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
        s.add_items(&turn).await.expect("append");
    }
    let mut rounds = Vec::new();
    for _ in 0..cfg.rounds {
        let mut samples = Vec::with_capacity(cfg.runs);
        for _ in 0..cfg.runs {
            let t = Instant::now();
            s.add_items(&turn).await.expect("append");
            samples.push(t.elapsed());
        }
        rounds.push(median_us(&samples));
    }
    let (target, result) = match b.append_target {
        Some((text, limit)) => (text, at_most(&rounds, limit)),
        None => ("—", Verdict::NoTarget),
    };
    Row {
        id: "S1",
        what: format!("{}: append one turn (2 items)", b.name),
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
    let (target, result) = if n == 200 {
        ("≤ 2,000 µs", at_most(&rounds, 2_000.0))
    } else {
        ("—", Verdict::NoTarget)
    };
    Row {
        id: "S2",
        what: format!("{}: load {} items", b.name, thousands(n)),
        sdk: show(&rounds, 1, "µs"),
        baseline: "—".into(),
        overhead: "—".into(),
        target,
        result,
    }
}

async fn s3_concurrent(cfg: &Config, b: &Backend) -> Row {
    let sessions: Vec<Arc<dyn Session>> = (0..64).map(|i| (b.open)(&format!("s3-{i}"))).collect();
    for s in &sessions {
        s.clear().await.expect("clear");
    }
    let turn = Arc::new([item(0), item(1)]);
    let mut rounds = Vec::new();
    for _ in 0..cfg.rounds {
        let t = Instant::now();
        let turns_each = cfg.runs.min(10);
        let tasks: Vec<_> = sessions
            .iter()
            .map(|s| {
                let (s, turn) = (Arc::clone(s), Arc::clone(&turn));
                tokio::spawn(async move {
                    for _ in 0..turns_each {
                        s.add_items(&turn[..]).await.expect("append");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        let secs = t.elapsed().as_secs_f64();
        rounds.push((64 * turns_each) as f64 / secs);
    }
    Row {
        id: "S3",
        what: format!("{}: 64 concurrent conversations (turns/s)", b.name),
        sdk: show(&rounds, 0, "turns/s"),
        baseline: "—".into(),
        overhead: "—".into(),
        target: "—",
        result: Verdict::NoTarget,
    }
}

async fn bench_backend(cfg: &Config, b: &Backend, rows: &mut Vec<Row>) {
    rows.push(s1_append(cfg, b).await);
    for n in [10, 200, 10_000] {
        rows.push(s2_load(cfg, b, n).await);
    }
    rows.push(s3_concurrent(cfg, b).await);
}

/// Runs S1–S3 on every backend whose server can be started.
pub(super) async fn run(cfg: &Config) -> Vec<Row> {
    let mut rows = Vec::new();
    match Postgres::start() {
        Some(pg) => {
            let store = PostgresStore::connect_with(
                &pg.url(),
                agents::postgres::PostgresOptions::default().max_connections(16),
            )
            .expect("store");
            store.migrate().await.expect("migrate");
            let open: Open =
                Arc::new(move |id: &str| Arc::new(store.session(id)) as Arc<dyn Session>);
            let b = Backend {
                name: "Postgres",
                open,
                append_target: Some(("≤ 1,000 µs", 1_000.0)),
            };
            bench_backend(cfg, &b, &mut rows).await;
            drop(b);
            drop(pg);
        }
        None => rows.push(Row::not_measured(
            "S1",
            "Postgres",
            "≤ 1,000 µs",
            "Postgres not installed".into(),
        )),
    }
    match Redis::start() {
        Some(redis) => {
            let store = RedisStore::connect(&redis.url()).await.expect("store");
            let plain = store.clone();
            let open: Open =
                Arc::new(move |id: &str| Arc::new(plain.session(id)) as Arc<dyn Session>);
            let b = Backend {
                name: "Redis",
                open,
                append_target: Some(("≤ 200 µs", 200.0)),
            };
            bench_backend(cfg, &b, &mut rows).await;
            let open: Open = Arc::new(move |id: &str| {
                let inner = Arc::new(store.session(id)) as Arc<dyn Session>;
                Arc::new(EncryptedSession::new(
                    inner,
                    EncryptionKeys::new("bench", [7u8; 32]),
                )) as Arc<dyn Session>
            });
            let b = Backend {
                name: "Encrypted over Redis",
                open,
                append_target: None,
            };
            bench_backend(cfg, &b, &mut rows).await;
        }
        None => rows.push(Row::not_measured(
            "S1",
            "Redis",
            "≤ 200 µs",
            "redis-server not installed".into(),
        )),
    }
    rows
}
