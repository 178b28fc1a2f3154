//! SDK overhead benchmarks against the in-process testkit server.
//! Run with `cargo xtask bench`; the table is printed and written to
//! `docs/benchmarks.md`.
//!
//! Every measurement is the median of many runs in one process, next to a
//! raw HTTP baseline of the same request body, so overhead reads off as the
//! difference. Absolute times on shared machines are noisy; the ratios hold.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agents::openai::OpenAIProvider;
use agents::prelude::*;
use agents::{ModelStreamEvent, NoArgs};
use agents_testkit::{MockServer, Reply};

const RUNS: usize = 201;
const WARMUP: usize = 20;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

struct Bench {
    server: MockServer,
    http: reqwest::Client,
    provider: Arc<OpenAIProvider>,
}

impl Bench {
    async fn new() -> Self {
        let server = MockServer::start().await;
        let provider = OpenAIProvider::builder()
            .ignore_env()
            .base_url(server.base_url())
            .api_key("bench")
            .build();
        Bench {
            server,
            http: reqwest::Client::new(),
            provider: Arc::new(provider),
        }
    }

    fn options(&self) -> RunOptions {
        RunOptions::default().run_config(RunConfig {
            model_provider: Some(self.provider.clone()),
            ..Default::default()
        })
    }

    async fn raw_post(&self, body: &[u8]) -> Duration {
        let start = Instant::now();
        let response = self
            .http
            .post(format!("{}/responses", self.server.base_url()))
            .bearer_auth("bench")
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("raw post");
        let bytes = response.bytes().await.expect("raw body");
        assert!(!bytes.is_empty());
        start.elapsed()
    }

    fn last_body(&self) -> Vec<u8> {
        let req = self.server.last_request().expect("a captured request");
        serde_json::to_vec(&req.body).expect("body serializes")
    }
}

struct Row {
    id: &'static str,
    what: &'static str,
    sdk: String,
    baseline: String,
    overhead: String,
    target: &'static str,
}

async fn m2_single_turn(b: &Bench) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Answer.")
        .model("gpt-4.1-mini")
        .build();
    b.server.set_default(Reply::text("ok"));
    for _ in 0..WARMUP {
        Runner::run(&agent, "hi", b.options()).await.expect("run");
    }
    let body = b.last_body();
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        raw.push(b.raw_post(&body).await);
        let start = Instant::now();
        let r = Runner::run(&agent, "hi", b.options()).await.expect("run");
        sdk.push(start.elapsed());
        assert_eq!(r.final_output_text(), "ok");
    }
    b.server.clear_default();
    b.server.clear_requests();
    let (sdk, raw) = (median(sdk), median(raw));
    Row {
        id: "M2",
        what: "single turn, non-streaming: run() vs raw POST",
        sdk: format!("{:.1} µs", micros(sdk)),
        baseline: format!("{:.1} µs", micros(raw)),
        overhead: format!("{:.1} µs", micros(sdk) - micros(raw)),
        target: "≤ 70 µs",
    }
}

async fn m3_tool_loop(b: &Bench) -> Row {
    let tool = FunctionTool::new(
        "noop",
        "Does nothing.",
        |_ctx: ToolContext, _a: NoArgs| async { Ok::<_, String>("done") },
    );
    let agent: Agent = Agent::builder("bench")
        .instructions("Use the tool.")
        .model("gpt-4.1-mini")
        .tool(tool)
        .build();
    let script = || {
        b.server.push(Reply::function_call("call_1", "noop", "{}"));
        b.server.push(Reply::text("ok"));
    };
    for _ in 0..WARMUP {
        script();
        Runner::run(&agent, "go", b.options()).await.expect("run");
    }
    let requests = b.server.requests();
    let bodies: Vec<Vec<u8>> = requests[requests.len() - 2..]
        .iter()
        .map(|r| serde_json::to_vec(&r.body).expect("body"))
        .collect();
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        b.server.push(Reply::function_call("call_1", "noop", "{}"));
        b.server.push(Reply::text("ok"));
        let t = b.raw_post(&bodies[0]).await + b.raw_post(&bodies[1]).await;
        raw.push(t);
        script();
        let start = Instant::now();
        let r = Runner::run(&agent, "go", b.options()).await.expect("run");
        sdk.push(start.elapsed());
        assert_eq!(r.usage.requests, 2);
    }
    b.server.clear_requests();
    let (sdk, raw) = (median(sdk), median(raw));
    Row {
        id: "M3",
        what: "tool loop: 2 model calls + 1 trivial tool vs 2 raw POSTs",
        sdk: format!("{:.1} µs", micros(sdk)),
        baseline: format!("{:.1} µs", micros(raw)),
        overhead: format!("{:.1} µs", micros(sdk) - micros(raw)),
        target: "≤ 150 µs",
    }
}

async fn m5_streaming(b: &Bench) -> Row {
    const DELTAS: usize = 2_000;
    let agent: Agent = Agent::builder("bench")
        .instructions("Stream.")
        .model("gpt-4.1-mini")
        .build();
    let deltas: Vec<String> = (0..DELTAS).map(|i| format!("w{i} ")).collect();
    let mut rates = Vec::new();
    let mut raw_times = Vec::new();
    for i in 0..(31 + 3) {
        b.server.push(Reply::text_deltas(deltas.clone()));
        let start = Instant::now();
        let mut run = Runner::run_streamed(&agent, "go", b.options());
        let mut count = 0usize;
        while let Some(event) = run.next().await {
            if let RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { .. }) = event {
                count += 1;
            }
        }
        let elapsed = start.elapsed();
        run.result().await.expect("streamed run");
        assert_eq!(count, DELTAS);
        if i >= 3 {
            rates.push(Duration::from_secs_f64(
                elapsed.as_secs_f64() / DELTAS as f64,
            ));
        }
        // Raw baseline: the same SSE body read without parsing.
        let body = b.last_body();
        b.server.push(Reply::text_deltas(deltas.clone()));
        if i >= 3 {
            raw_times.push(b.raw_post(&body).await);
        } else {
            b.raw_post(&body).await;
        }
    }
    b.server.clear_requests();
    let per_event = median(rates);
    let raw = median(raw_times);
    Row {
        id: "M5",
        what: "streaming: 2,000 text deltas through the public event stream",
        sdk: format!("{:.0} events/s", 1.0 / per_event.as_secs_f64()),
        baseline: format!("raw SSE read {:.0} µs", micros(raw)),
        overhead: format!("{:.2} µs/event end to end", micros(per_event)),
        target: "≥ 300k events/s",
    }
}

/// M4 (history slope with a SQLite session) and M6 (SQLite append of one
/// turn).
#[cfg(feature = "sqlite")]
mod sqlite_benches {
    use super::*;
    use agents::sqlite::{Durability, SqliteOptions, SqliteSession};
    use agents::Session;

    /// About 300 bytes of text.
    fn filler(i: usize) -> String {
        let mut text = format!("Item {i}: ");
        while text.len() < 240 {
            text.push_str("the quick brown fox jumps over the lazy dog. ");
        }
        text.truncate(240);
        text
    }

    /// `n` history items of about 300 B of JSON each: user questions and
    /// assistant answers as the server returns them (with ids).
    fn history(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| {
                let value = if i % 2 == 0 {
                    serde_json::json!({"type": "message", "role": "user", "content": filler(i)})
                } else {
                    serde_json::json!({"type": "message", "id": format!("msg_{i:08}"),
                        "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": filler(i), "annotations": []}]})
                };
                serde_json::from_value(value).expect("item")
            })
            .collect()
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir")
    }

    /// Median SDK time and raw-POST time of one run with `n` history items
    /// in a SQLite session; `turns` model calls per run (the first
    /// `turns - 1` call a trivial tool).
    async fn history_run(
        b: &Bench,
        dir: &std::path::Path,
        n: usize,
        turns: usize,
    ) -> (Duration, Duration) {
        let session = SqliteSession::open_with(
            dir.join("m4.db"),
            format!("m4_{n}_{turns}"),
            // NORMAL: the fsync of FULL is measured in M6; here it would
            // only add disk noise to a per-item slope.
            SqliteOptions::default().durability(Durability::Normal),
        )
        .expect("open");
        session.clear().await.expect("clear");
        session.add_items(&history(n)).await.expect("prefill");
        let tool = FunctionTool::new(
            "noop",
            "Does nothing.",
            |_ctx: ToolContext, _a: NoArgs| async { Ok::<_, String>("done") },
        );
        let agent: Agent = Agent::builder("bench")
            .instructions("Answer.")
            .model("gpt-4.1-mini")
            .tool(tool)
            .build();
        let session: Arc<dyn Session> = Arc::new(session);
        let script = || {
            for t in 1..turns {
                b.server
                    .push(Reply::function_call(format!("call_{t}"), "noop", "{}"));
            }
            b.server.push(Reply::text("ok"));
        };
        // One run's new items: the input, and per turn its output (plus
        // the tool output of tool turns).
        let added = 1 + 2 * (turns - 1) + 1;
        let run_once = || async {
            script();
            let start = Instant::now();
            let r = Runner::run(&agent, "hi", b.options().session(Arc::clone(&session)))
                .await
                .expect("run");
            let elapsed = start.elapsed();
            assert_eq!(r.final_output_text(), "ok");
            for _ in 0..added {
                session.pop_item().await.expect("pop");
            }
            elapsed
        };
        for _ in 0..WARMUP {
            run_once().await;
        }
        b.server.clear_requests();
        run_once().await;
        let requests = b.server.requests();
        assert_eq!(requests.len(), turns);
        let bodies: Vec<Vec<u8>> = requests
            .iter()
            .map(|r| serde_json::to_vec(&r.body).expect("body"))
            .collect();
        assert_eq!(
            requests[0].body["input"].as_array().map(Vec::len),
            Some(n + 1),
            "the history is sent"
        );
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let mut t = Duration::ZERO;
            for body in &bodies {
                b.server.push(Reply::text("ok"));
                t += b.raw_post(body).await;
            }
            raw.push(t);
            sdk.push(run_once().await);
        }
        b.server.clear_requests();
        assert_eq!(session.get_items(None).await.expect("items").len(), n);
        (median(sdk), median(raw))
    }

    async fn m4(b: &Bench, dir: &std::path::Path) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut overhead = Vec::new();
        for n in [10usize, 50, 200] {
            let (sdk, raw) = history_run(b, dir, n, 1).await;
            let o = micros(sdk) - micros(raw);
            overhead.push(o);
            rows.push(Row {
                id: "M4",
                what: match n {
                    10 => "history: 1 turn, SQLite session of 10 items (~300 B each)",
                    50 => "history: 1 turn, SQLite session of 50 items",
                    _ => "history: 1 turn, SQLite session of 200 items",
                },
                sdk: format!("{:.1} µs", micros(sdk)),
                baseline: format!("{:.1} µs", micros(raw)),
                overhead: format!("{o:.1} µs"),
                target: "",
            });
        }
        let slope = (overhead[2] - overhead[0]) / 190.0;
        rows.push(Row {
            id: "M4",
            what: "history slope: overhead per history item, (200 − 10 items) / 190",
            sdk: "—".into(),
            baseline: "—".into(),
            overhead: format!("{slope:.2} µs/item"),
            target: "≤ 2 µs/item",
        });
        let (sdk, raw) = history_run(b, dir, 200, 3).await;
        let per_turn = (micros(sdk) - micros(raw)) / 3.0;
        rows.push(Row {
            id: "M4",
            what: "history, flat in turns: 3 turns (2 tool calls), 200 items; overhead per turn",
            sdk: format!("{:.1} µs", micros(sdk)),
            baseline: format!("{:.1} µs", micros(raw)),
            overhead: format!("{per_turn:.1} µs/turn (1 turn: {:.1} µs)", overhead[2]),
            target: "≈ 1-turn overhead",
        });
        rows
    }

    /// One turn: a tool call, its output and the answer.
    fn one_turn() -> Vec<Item> {
        let mut items = history(2);
        items.splice(
            0..0,
            [
                Item::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
                Item::function_call_output("call_1", filler(7)),
            ],
        );
        items.truncate(3);
        items
    }

    /// The same transaction with rusqlite alone: the baseline of M6.
    fn raw_append(conn: &mut rusqlite::Connection, rows: &[String]) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        tx.prepare_cached("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?1)")
            .expect("prepare")
            .execute(["raw"])
            .expect("insert");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO agent_messages (session_id, message_data) VALUES (?1, ?2)",
                )
                .expect("prepare");
            for row in rows {
                insert.execute(["raw", row.as_str()]).expect("insert");
            }
        }
        tx.prepare_cached(
            "UPDATE agent_sessions SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?1",
        )
        .expect("prepare")
        .execute(["raw"])
        .expect("update");
        tx.commit().expect("commit");
    }

    async fn m6(dir: &std::path::Path) -> Vec<Row> {
        let turn = one_turn();
        let json: Vec<String> = turn
            .iter()
            .map(|i| serde_json::to_string(i).expect("json"))
            .collect();
        let bytes: usize = json.iter().map(String::len).sum();
        let mut rows = Vec::new();
        for durability in [Durability::Full, Durability::Normal] {
            let name = format!("m6_{durability:?}.db");
            let path = dir.join(&name);
            let session = SqliteSession::open_with(
                &path,
                "m6",
                SqliteOptions::default().durability(durability),
            )
            .expect("open");
            let raw_path = dir.join(format!("raw_{name}"));
            // The same schema, through the SDK once, then raw appends.
            drop(SqliteSession::open(&raw_path, "raw").expect("schema"));
            let mut conn = rusqlite::Connection::open(&raw_path).expect("raw open");
            conn.execute_batch(match durability {
                Durability::Full => "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
                _ => "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            })
            .expect("pragmas");
            for _ in 0..WARMUP {
                session.add_items(&turn).await.expect("append");
                raw_append(&mut conn, &json);
            }
            let (mut sdk, mut raw) = (Vec::new(), Vec::new());
            for _ in 0..RUNS {
                let start = Instant::now();
                raw_append(&mut conn, &json);
                raw.push(start.elapsed());
                let start = Instant::now();
                session.add_items(&turn).await.expect("append");
                sdk.push(start.elapsed());
            }
            let (sdk, raw) = (median(sdk), median(raw));
            rows.push(Row {
                id: "M6",
                what: match durability {
                    Durability::Full => {
                        "SQLite append of one turn (3 items), synchronous=FULL (default)"
                    }
                    _ => "SQLite append of one turn (3 items), synchronous=NORMAL",
                },
                sdk: format!("{:.1} µs", micros(sdk)),
                baseline: format!("raw rusqlite {:.1} µs", micros(raw)),
                overhead: format!("{:.1} µs ({bytes} B/turn)", micros(sdk) - micros(raw)),
                target: "one transaction, WAL, busy_timeout",
            });
        }
        rows
    }

    pub(super) async fn run(b: &Bench) -> Vec<Row> {
        let dir = temp_dir();
        let mut rows = m4(b, dir.path()).await;
        rows.extend(m6(dir.path()).await);
        rows
    }
}

/// A model that never answers: keeps runs alive for the memory benchmark.
#[derive(Debug)]
struct NeverAnswers;

impl agents::Model for NeverAnswers {
    fn get_response<'a>(
        &'a self,
        _request: agents::ModelRequest<'a>,
    ) -> agents::BoxFuture<'a, Result<agents::ModelResponse, agents::ModelError>> {
        Box::pin(std::future::pending())
    }

    fn stream_response<'a>(
        &'a self,
        _request: agents::ModelRequest<'a>,
    ) -> agents::BoxStream<'a, Result<ModelStreamEvent, agents::ModelError>> {
        Box::pin(futures::stream::pending())
    }
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// M7: resident memory per live run, each run parked in its first model call.
async fn m7_memory() -> Vec<Row> {
    let agent: Agent = Agent::builder("bench")
        .instructions("You are a helpful assistant.")
        .model(Arc::new(NeverAnswers))
        .tool(FunctionTool::new(
            "noop",
            "Does nothing.",
            |_ctx: ToolContext, _a: NoArgs| async { Ok::<_, String>("done") },
        ))
        .build();
    let mut rows = Vec::new();
    for n in [1_000usize, 10_000] {
        let Some(before) = rss_bytes() else {
            return rows;
        };
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let agent = agent.clone();
                tokio::spawn(async move {
                    let _ =
                        Runner::run(&agent, format!("question {i}"), RunOptions::default()).await;
                })
            })
            .collect();
        // Let every run reach its model call.
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let after = rss_bytes().unwrap_or(before);
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
        let per_run = after.saturating_sub(before) as f64 / n as f64;
        rows.push(Row {
            id: "M7",
            what: if n == 1_000 {
                "memory per live run, 1,000 concurrent runs (RSS delta / runs)"
            } else {
                "memory per live run, 10,000 concurrent runs (RSS delta / runs)"
            },
            sdk: format!("{:.1} KiB/run", per_run / 1024.0),
            baseline: format!(
                "RSS {:.1} → {:.1} MiB",
                before as f64 / 1048576.0,
                after as f64 / 1048576.0
            ),
            overhead: "—".into(),
            target: "measured",
        });
    }
    rows
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        // M7 first, so that memory freed by the other benchmarks cannot be
        // reused by the parked runs and hide their cost.
        let m7 = m7_memory().await;
        let b = Bench::new().await;
        #[allow(unused_mut)]
        let mut rows = vec![
            m2_single_turn(&b).await,
            m3_tool_loop(&b).await,
            m5_streaming(&b).await,
        ];
        #[cfg(feature = "sqlite")]
        rows.extend(sqlite_benches::run(&b).await);
        rows.extend(m7);
        rows
    });
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| id | benchmark | SDK | baseline | overhead | target |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|");
    for r in &rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            r.id, r.what, r.sdk, r.baseline, r.overhead, r.target
        );
    }
    println!("{table}");
    let doc = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (do not edit by hand). Medians of {RUNS} runs (M5: 31 runs), \
         one process, release build, against the in-process `agents-testkit` server on 127.0.0.1 \
         with request validation on. The baseline sends the same request body with a plain \
         `reqwest` POST, so the overhead column is what the SDK adds: building the request, \
         parsing the reply, the loop, tools and events.\n\n\
         M4 runs with a SQLite session (`synchronous=NORMAL`) holding N history items of about \
         300 B, restored after each run, so every run loads N items, sends them, and saves its \
         new items; the baseline is raw POSTs of the same bodies. M6 appends one turn to a \
         SQLite file session; its baseline is the same transaction through rusqlite alone. \
         The M6 times depend mostly on the disk's fsync. M7 parks N runs in their first model \
         call (a model that never answers) and divides the growth of the process's resident \
         memory by N.\n\n\
         Absolute numbers on shared machines are noisy; compare within one run.\n\n{table}\n"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    std::fs::write(&path, doc).expect("write docs/benchmarks.md");
    println!("written to {}", path.display());
}
