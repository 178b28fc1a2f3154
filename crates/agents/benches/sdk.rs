//! SDK benchmarks against the testkit server on 127.0.0.1.
//! Run with `cargo xtask bench`; the table is printed and written to
//! `docs/benchmarks.md`. `cargo xtask bench --quick` (or `BENCH_QUICK=1`)
//! runs every benchmark with tiny round counts, to check that the code
//! runs; its numbers mean nothing and it writes no file.
//!
//! Method: every figure is measured in several rounds in one process; a
//! round's figure is the median of its runs, and the table gives the median
//! of the round figures with their min–max. SDK runs interleave with a raw
//! baseline of the same request, and the overhead is taken per round.
//! Absolute times on shared machines are noisy; the ratios hold.
//!
//! Two figures need other processes, which this binary provides by running
//! itself in a child role (`AGENTS_BENCH_CHILD`):
//! - M1 spawns the quickstart example (and, as its baseline, this binary in
//!   the `connect` role) and times process start to the first byte of its
//!   request on a listener owned here;
//! - M7 runs each round in two fresh processes: a `mock` testkit server that
//!   holds every request open, and an `m7` process that parks N runs in
//!   their model call on the real OpenAI Responses provider and reports its
//!   resident memory once the mock has received all N requests.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use agents::openai::OpenAIProvider;
use agents::prelude::*;
use agents::{ModelStreamEvent, NoArgs};
use agents_testkit::{MockServer, Reply};

#[path = "sdk_durable.rs"]
mod durable_bench;
#[cfg(all(feature = "anthropic", feature = "gemini"))]
#[path = "sdk_providers.rs"]
mod providers;
#[cfg(all(
    feature = "sqlite",
    feature = "postgres",
    feature = "redis",
    feature = "encrypted"
))]
#[path = "sdk_sessions.rs"]
mod sessions;
#[path = "sdk_tracing.rs"]
mod tracing_bench;

/// Selects a child role of this binary (see the module docs).
const CHILD_ENV: &str = "AGENTS_BENCH_CHILD";
/// The listener address given to the `connect` child.
const ADDR_ENV: &str = "AGENTS_BENCH_ADDR";
/// The mock's base URL given to the `m7` child.
const BASE_URL_ENV: &str = "AGENTS_BENCH_BASE_URL";
/// The number of runs the `m7` child parks.
const RUNS_ENV: &str = "AGENTS_BENCH_RUNS";
/// `pending`: the `m7` child parks its runs on a model that never answers.
const MODEL_ENV: &str = "AGENTS_BENCH_MODEL";
/// The quickstart binary that M1 spawns (set by `cargo xtask bench`).
const QUICKSTART_ENV: &str = "AGENTS_BENCH_QUICKSTART";

/// Round counts. The full settings meet the project's rule: at least 5
/// rounds of at least 30 runs each.
struct Config {
    quick: bool,
    /// `BENCH_ONLY=M1,M7`: run only these benchmarks (and write no file).
    only: Option<Vec<String>>,
    /// Rounds of every in-process timing benchmark (M2–M6).
    rounds: usize,
    /// Runs per round (M2, M3, M4, M6).
    runs: usize,
    /// Unmeasured runs before the first round.
    warmup: usize,
    /// Streamed runs per round (M5).
    stream_runs: usize,
    /// Pairs of runs per round of T1 and T2, whose effect (a few µs) is
    /// small beside a run's own spread.
    trace_pairs: usize,
    /// M1: rounds, and process starts per round.
    m1_rounds: usize,
    m1_runs: usize,
    /// M7: rounds (each in fresh processes), and concurrent runs measured.
    m7_rounds: usize,
    m7_sizes: Vec<usize>,
}

impl Config {
    /// The full or the quick settings; `BENCH_M7_SIZES` (comma-separated)
    /// and `BENCH_M7_ROUNDS` override the M7 settings of either, to probe
    /// how many live runs a machine can hold.
    fn from_env() -> Self {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let mut cfg = Self::preset(quick);
        cfg.only = std::env::var("BENCH_ONLY").ok().map(|ids| {
            ids.split(',')
                .map(|id| id.trim().to_ascii_uppercase())
                .collect()
        });
        if let Ok(sizes) = std::env::var("BENCH_M7_SIZES") {
            cfg.m7_sizes = sizes
                .split(',')
                .map(|n| n.trim().parse().expect("BENCH_M7_SIZES: numbers"))
                .collect();
        }
        if let Ok(rounds) = std::env::var("BENCH_M7_ROUNDS") {
            cfg.m7_rounds = rounds.trim().parse().expect("BENCH_M7_ROUNDS: a number");
        }
        cfg
    }

    /// Whether benchmark `id` (`"M2"`, `"M2-anthropic"`) runs; ids match
    /// whatever their case.
    fn wants(&self, id: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i.eq_ignore_ascii_case(id)))
    }

    fn preset(quick: bool) -> Self {
        if quick {
            Config {
                quick,
                only: None,
                rounds: 2,
                runs: 3,
                warmup: 2,
                stream_runs: 2,
                trace_pairs: 3,
                m1_rounds: 2,
                m1_runs: 2,
                m7_rounds: 1,
                m7_sizes: vec![50, 200],
            }
        } else {
            Config {
                quick,
                only: None,
                rounds: 7,
                runs: 41,
                warmup: 20,
                stream_runs: 31,
                trace_pairs: 401,
                m1_rounds: 7,
                m1_runs: 10,
                m7_rounds: 5,
                m7_sizes: vec![1_000, 10_000],
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Statistics and the table.

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median_of(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if !n.is_multiple_of(2) => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_us(samples: &[Duration]) -> f64 {
    let us: Vec<f64> = samples.iter().copied().map(micros).collect();
    median_of(&us)
}

/// `10000` as `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Median and min–max of the per-round figures.
struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

impl Stat {
    fn of(values: &[f64]) -> Stat {
        Stat {
            median: median_of(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// `median unit (min–max)` of per-round figures.
fn show(values: &[f64], decimals: usize, unit: &str) -> String {
    let s = Stat::of(values);
    format!(
        "{:.d$} {unit} ({:.d$}–{:.d$})",
        s.median,
        s.min,
        s.max,
        d = decimals
    )
}

/// How a figure compares with its target (judged on the median).
enum Verdict {
    Met,
    Missed,
    NoTarget,
    NotMeasured(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Met => f.write_str("met"),
            Verdict::Missed => f.write_str("**missed**"),
            Verdict::NoTarget => f.write_str("—"),
            Verdict::NotMeasured(why) => write!(f, "not measured: {why}"),
        }
    }
}

fn at_most(values: &[f64], limit: f64) -> Verdict {
    if Stat::of(values).median <= limit {
        Verdict::Met
    } else {
        Verdict::Missed
    }
}

fn at_least(values: &[f64], limit: f64) -> Verdict {
    if Stat::of(values).median >= limit {
        Verdict::Met
    } else {
        Verdict::Missed
    }
}

struct Row {
    id: &'static str,
    what: String,
    sdk: String,
    baseline: String,
    overhead: String,
    target: &'static str,
    result: Verdict,
}

impl Row {
    fn not_measured(
        id: &'static str,
        what: impl Into<String>,
        target: &'static str,
        why: String,
    ) -> Row {
        Row {
            id,
            what: what.into(),
            sdk: "—".into(),
            baseline: "—".into(),
            overhead: "—".into(),
            target,
            result: Verdict::NotMeasured(why),
        }
    }
}

/// Per-round medians (µs) of an SDK figure, its baseline, and their
/// difference taken within each round.
#[derive(Default)]
struct Paired {
    sdk: Vec<f64>,
    raw: Vec<f64>,
    over: Vec<f64>,
}

impl Paired {
    fn add_round(&mut self, sdk: &[Duration], raw: &[Duration]) {
        let (s, r) = (median_us(sdk), median_us(raw));
        self.sdk.push(s);
        self.raw.push(r);
        self.over.push(s - r);
    }

    fn row(
        &self,
        id: &'static str,
        what: impl Into<String>,
        target: &'static str,
        result: Verdict,
    ) -> Row {
        Row {
            id,
            what: what.into(),
            sdk: show(&self.sdk, 1, "µs"),
            baseline: show(&self.raw, 1, "µs"),
            overhead: show(&self.over, 1, "µs"),
            target,
            result,
        }
    }
}

fn table(rows: &[Row]) -> String {
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| id | benchmark | SDK | baseline | overhead | target | result |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.id, r.what, r.sdk, r.baseline, r.overhead, r.target, r.result
        );
    }
    table
}

// ---------------------------------------------------------------------------
// In-process timing benchmarks (M2–M6).

struct Bench {
    server: MockServer,
    http: reqwest::Client,
    provider: Arc<OpenAIProvider>,
}

fn provider_for(base_url: &str) -> OpenAIProvider {
    OpenAIProvider::builder()
        .ignore_env()
        .base_url(base_url)
        .api_key("bench")
        .build()
}

fn noop_tool() -> FunctionTool<(), NoArgs> {
    FunctionTool::new(
        "noop",
        "Does nothing.",
        |_ctx: ToolContext, _a: NoArgs| async { Ok::<_, String>("done") },
    )
}

impl Bench {
    async fn new() -> Self {
        let server = MockServer::start().await;
        let provider = provider_for(server.base_url());
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

async fn m2_single_turn(b: &Bench, cfg: &Config) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Answer.")
        .model("gpt-4.1-mini")
        .build();
    b.server.set_default(Reply::text("ok"));
    for _ in 0..cfg.warmup {
        Runner::run(&agent, "hi", b.options()).await.expect("run");
    }
    let body = b.last_body();
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            raw.push(b.raw_post(&body).await);
            let start = Instant::now();
            let r = Runner::run(&agent, "hi", b.options()).await.expect("run");
            sdk.push(start.elapsed());
            assert_eq!(r.final_output_text(), "ok");
        }
        p.add_round(&sdk, &raw);
    }
    b.server.clear_default();
    b.server.clear_requests();
    let result = at_most(&p.over, 70.0);
    p.row(
        "M2",
        "single turn, non-streaming: run() vs raw POST",
        "≤ 70 µs",
        result,
    )
}

async fn m3_tool_loop(b: &Bench, cfg: &Config) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Use the tool.")
        .model("gpt-4.1-mini")
        .tool(noop_tool())
        .build();
    let script = || {
        b.server.push(Reply::function_call("call_1", "noop", "{}"));
        b.server.push(Reply::text("ok"));
    };
    for _ in 0..cfg.warmup {
        script();
        Runner::run(&agent, "go", b.options()).await.expect("run");
    }
    let requests = b.server.requests();
    let bodies: Vec<Vec<u8>> = requests[requests.len() - 2..]
        .iter()
        .map(|r| serde_json::to_vec(&r.body).expect("body"))
        .collect();
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            script();
            raw.push(b.raw_post(&bodies[0]).await + b.raw_post(&bodies[1]).await);
            script();
            let start = Instant::now();
            let r = Runner::run(&agent, "go", b.options()).await.expect("run");
            sdk.push(start.elapsed());
            assert_eq!(r.usage.requests, 2);
        }
        p.add_round(&sdk, &raw);
    }
    b.server.clear_requests();
    let result = at_most(&p.over, 150.0);
    p.row(
        "M3",
        "tool loop: 2 model calls + 1 trivial tool vs 2 raw POSTs",
        "≤ 150 µs",
        result,
    )
}

const DELTAS: usize = 2_000;

/// One streamed run of `DELTAS` text deltas through the public event
/// stream, then the raw read of the same SSE reply: (run time, raw time).
async fn stream_once(b: &Bench, agent: &Agent, deltas: &[String]) -> (Duration, Duration) {
    b.server.push(Reply::text_deltas(deltas.to_vec()));
    let start = Instant::now();
    let mut run = Runner::run_streamed(agent, "go", b.options());
    let mut count = 0usize;
    while let Some(event) = run.next().await {
        if let RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { .. }) = event {
            count += 1;
        }
    }
    let elapsed = start.elapsed();
    run.result().await.expect("streamed run");
    assert_eq!(count, DELTAS);
    // Raw baseline: the same SSE body read without parsing.
    let body = b.last_body();
    b.server.push(Reply::text_deltas(deltas.to_vec()));
    (elapsed, b.raw_post(&body).await)
}

async fn m5_streaming(b: &Bench, cfg: &Config) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Stream.")
        .model("gpt-4.1-mini")
        .build();
    let deltas: Vec<String> = (0..DELTAS).map(|i| format!("w{i} ")).collect();
    for _ in 0..cfg.warmup.min(3) {
        stream_once(b, &agent, &deltas).await;
    }
    let (mut rates, mut per_event, mut raw_us) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.rounds {
        let (mut events, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.stream_runs {
            let (run, r) = stream_once(b, &agent, &deltas).await;
            events.push(run / DELTAS as u32);
            raw.push(r);
        }
        let us = median_us(&events);
        per_event.push(us);
        rates.push(1e6 / us);
        raw_us.push(median_us(&raw));
    }
    b.server.clear_requests();
    Row {
        id: "M5",
        what: "streaming: 2,000 text deltas through the public event stream".into(),
        sdk: show(&rates, 0, "events/s"),
        baseline: format!("raw SSE read {}", show(&raw_us, 0, "µs")),
        overhead: format!("{} per event, end to end", show(&per_event, 2, "µs")),
        target: "≥ 300k events/s",
        result: at_least(&rates, 300_000.0),
    }
}

/// M4 (history slope with a SQLite session, warm and cold) and M6 (SQLite
/// append of one turn).
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

    /// NORMAL: the fsync of FULL is measured in M6; here it would only add
    /// disk noise to a per-item slope.
    fn m4_options() -> SqliteOptions {
        SqliteOptions::default().durability(Durability::Normal)
    }

    /// One M4 configuration: a SQLite session holding `n` history items,
    /// runs of `turns` model calls (the first `turns - 1` call a trivial
    /// tool). Warm: one session (and its connection and item cache) serves
    /// every run. Cold: every run opens a fresh session, so a new
    /// connection loads the `n` items from the file (each case has its own
    /// file, and no other handle keeps its connection open).
    struct HistoryCase {
        n: usize,
        turns: usize,
        path: PathBuf,
        id: String,
        warm: Option<Arc<dyn Session>>,
        agent: Agent,
        bodies: Vec<Vec<u8>>,
    }

    impl HistoryCase {
        async fn new(
            b: &Bench,
            cfg: &Config,
            dir: &Path,
            n: usize,
            turns: usize,
            cold: bool,
        ) -> Self {
            let kind = if cold { "cold" } else { "warm" };
            let path = dir.join(format!("m4_{kind}_{n}_{turns}.db"));
            let id = format!("m4_{n}_{turns}");
            {
                let s = SqliteSession::open_with(&path, id.clone(), m4_options()).expect("open");
                s.clear().await.expect("clear");
                s.add_items(&history(n)).await.expect("prefill");
            }
            let warm = (!cold).then(|| {
                let s = SqliteSession::open_with(&path, id.clone(), m4_options()).expect("open");
                Arc::new(s) as Arc<dyn Session>
            });
            let agent: Agent = Agent::builder("bench")
                .instructions("Answer.")
                .model("gpt-4.1-mini")
                .tool(noop_tool())
                .build();
            let mut case = HistoryCase {
                n,
                turns,
                path,
                id,
                warm,
                agent,
                bodies: Vec::new(),
            };
            for _ in 0..cfg.warmup {
                case.run_once(b).await;
            }
            b.server.clear_requests();
            case.run_once(b).await;
            let requests = b.server.requests();
            assert_eq!(requests.len(), turns);
            assert_eq!(
                requests[0].body["input"].as_array().map(Vec::len),
                Some(n + 1),
                "the history is sent"
            );
            case.bodies = requests
                .iter()
                .map(|r| serde_json::to_vec(&r.body).expect("body"))
                .collect();
            b.server.clear_requests();
            case
        }

        /// One timed run; afterwards its new items are popped, so every
        /// run starts from the same `n` items.
        async fn run_once(&self, b: &Bench) -> Duration {
            for t in 1..self.turns {
                b.server
                    .push(Reply::function_call(format!("call_{t}"), "noop", "{}"));
            }
            b.server.push(Reply::text("ok"));
            let start = Instant::now();
            let session: Arc<dyn Session> = match &self.warm {
                Some(s) => Arc::clone(s),
                None => Arc::new(
                    SqliteSession::open_with(&self.path, self.id.clone(), m4_options())
                        .expect("open"),
                ),
            };
            let r = Runner::run(&self.agent, "hi", b.options().session(Arc::clone(&session)))
                .await
                .expect("run");
            let elapsed = start.elapsed();
            assert_eq!(r.final_output_text(), "ok");
            // The input, and per turn its output (plus the tool output of
            // tool turns).
            let added = 1 + 2 * (self.turns - 1) + 1;
            for _ in 0..added {
                session.pop_item().await.expect("pop");
            }
            elapsed
        }

        /// One round: per run, raw POSTs of the same bodies, then the run.
        async fn round(&self, b: &Bench, runs: usize, into: &mut Paired) {
            let (mut sdk, mut raw) = (Vec::new(), Vec::new());
            for _ in 0..runs {
                let mut t = Duration::ZERO;
                for body in &self.bodies {
                    b.server.push(Reply::text("ok"));
                    t += b.raw_post(body).await;
                }
                raw.push(t);
                sdk.push(self.run_once(b).await);
            }
            b.server.clear_requests();
            into.add_round(&sdk, &raw);
        }

        async fn check_restored(&self) {
            let s =
                SqliteSession::open_with(&self.path, self.id.clone(), m4_options()).expect("open");
            assert_eq!(s.get_items(None).await.expect("items").len(), self.n);
        }
    }

    const SIZES: [usize; 3] = [10, 50, 200];

    fn size_rows(kind: &str, cases: &[Paired], rows: &mut Vec<Row>) {
        for (n, p) in SIZES.iter().zip(cases) {
            let what = if *n == SIZES[0] {
                format!("history, {kind}: 1 turn, SQLite session of {n} items (~300 B each)")
            } else {
                format!("history, {kind}: 1 turn, {n} items")
            };
            rows.push(p.row("M4", what, "", Verdict::NoTarget));
        }
        let rounds = cases[0].over.len();
        let slope: Vec<f64> = (0..rounds)
            .map(|i| (cases[2].over[i] - cases[0].over[i]) / (SIZES[2] - SIZES[0]) as f64)
            .collect();
        rows.push(Row {
            id: "M4",
            what: format!(
                "history slope, {kind}: overhead per history item, (200 − 10 items) / 190"
            ),
            sdk: "—".into(),
            baseline: "—".into(),
            overhead: show(&slope, 2, "µs/item"),
            target: "≤ 2 µs/item",
            result: at_most(&slope, 2.0),
        });
    }

    async fn m4(b: &Bench, cfg: &Config, dir: &Path) -> Vec<Row> {
        let mut warm = Vec::new();
        let mut cold = Vec::new();
        for n in SIZES {
            warm.push(HistoryCase::new(b, cfg, dir, n, 1, false).await);
            cold.push(HistoryCase::new(b, cfg, dir, n, 1, true).await);
        }
        let three = HistoryCase::new(b, cfg, dir, 200, 3, false).await;
        let mut pw: Vec<Paired> = SIZES.iter().map(|_| Paired::default()).collect();
        let mut pc: Vec<Paired> = SIZES.iter().map(|_| Paired::default()).collect();
        let mut p3 = Paired::default();
        // Rounds go across the cases, so that a slope is taken from figures
        // of the same round.
        for _ in 0..cfg.rounds {
            for (case, p) in warm.iter().zip(pw.iter_mut()) {
                case.round(b, cfg.runs, p).await;
            }
            for (case, p) in cold.iter().zip(pc.iter_mut()) {
                case.round(b, cfg.runs, p).await;
            }
            three.round(b, cfg.runs, &mut p3).await;
        }
        for case in warm.iter().chain(&cold).chain([&three]) {
            case.check_restored().await;
        }
        let mut rows = Vec::new();
        size_rows("warm session", &pw, &mut rows);
        size_rows("cold session (opened per run)", &pc, &mut rows);
        let per_turn: Vec<f64> = p3.over.iter().map(|o| o / 3.0).collect();
        rows.push(Row {
            id: "M4",
            what:
                "history, flat in turns: 3 turns (2 tool calls), 200 items, warm; overhead per turn"
                    .into(),
            sdk: show(&p3.sdk, 1, "µs"),
            baseline: show(&p3.raw, 1, "µs"),
            overhead: format!(
                "{} per turn (1 turn: {})",
                show(&per_turn, 1, "µs"),
                show(&pw[2].over, 1, "µs")
            ),
            target: "≈ 1-turn overhead",
            result: Verdict::NoTarget,
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

    async fn m6(cfg: &Config, dir: &Path) -> Vec<Row> {
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
            for _ in 0..cfg.warmup {
                session.add_items(&turn).await.expect("append");
                raw_append(&mut conn, &json);
            }
            let mut p = Paired::default();
            for _ in 0..cfg.rounds {
                let (mut sdk, mut raw) = (Vec::new(), Vec::new());
                for _ in 0..cfg.runs {
                    let start = Instant::now();
                    raw_append(&mut conn, &json);
                    raw.push(start.elapsed());
                    let start = Instant::now();
                    session.add_items(&turn).await.expect("append");
                    sdk.push(start.elapsed());
                }
                p.add_round(&sdk, &raw);
            }
            let mut row = p.row(
                "M6",
                match durability {
                    Durability::Full => {
                        "SQLite append of one turn (3 items), synchronous=FULL (default)"
                    }
                    _ => "SQLite append of one turn (3 items), synchronous=NORMAL",
                },
                "one transaction, WAL, busy_timeout",
                Verdict::NoTarget,
            );
            row.baseline = format!("raw rusqlite {}", row.baseline);
            row.overhead = format!("{} ({bytes} B/turn)", row.overhead);
            rows.push(row);
        }
        rows
    }

    pub(super) async fn run(b: &Bench, cfg: &Config) -> Vec<Row> {
        let dir = temp_dir();
        let mut rows = m4(b, cfg, dir.path()).await;
        rows.extend(m6(cfg, dir.path()).await);
        rows
    }
}

// ---------------------------------------------------------------------------
// M1: process start to the first request byte.

/// The quickstart binary: `AGENTS_BENCH_QUICKSTART`, else the release build
/// in the target directory.
fn quickstart_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(QUICKSTART_ENV) {
        return Some(PathBuf::from(path));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("release/examples/quickstart");
    path.exists().then_some(path)
}

/// Spawns `cmd` and returns the time from just before the spawn to the
/// first byte received on `listener`.
fn first_byte(listener: &TcpListener, cmd: &mut Command) -> Result<Duration, String> {
    let accept = listener.try_clone().map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let got = accept.accept().and_then(|(mut stream, _)| {
            let mut byte = [0u8; 1];
            stream
                .read_exact(&mut byte)
                .map(|()| (Instant::now(), stream))
        });
        let _ = tx.send(got);
    });
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot spawn: {e}"))?;
    let got = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    match got {
        Ok(Ok((at, _stream))) => Ok(at.duration_since(start)),
        Ok(Err(e)) => Err(format!("reading the first byte failed: {e}")),
        Err(_) => {
            // Unblock the accepting thread.
            if let Ok(addr) = listener.local_addr() {
                let _ = TcpStream::connect(addr).and_then(|mut s| s.write_all(b"x"));
            }
            Err("no request within 30 s".into())
        }
    }
}

fn m1_startup(cfg: &Config) -> Row {
    const WHAT: &str =
        "process start to first request byte: quickstart example vs a process that only connects";
    let Some(bin) = quickstart_binary() else {
        return Row::not_measured(
            "M1",
            WHAT,
            "measured",
            "no quickstart binary (run through cargo xtask bench, or set AGENTS_BENCH_QUICKSTART)"
                .into(),
        );
    };
    let measure = || -> Result<Paired, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let quickstart = || {
            let mut cmd = Command::new(&bin);
            cmd.env("OPENAI_API_KEY", "bench")
                .env("OPENAI_BASE_URL", format!("http://{addr}/v1"))
                .env_remove("OPENAI_MODEL");
            first_byte(&listener, &mut cmd)
        };
        let connect = || {
            let mut cmd = Command::new(&exe);
            cmd.env(CHILD_ENV, "connect")
                .env(ADDR_ENV, addr.to_string());
            first_byte(&listener, &mut cmd)
        };
        // One unmeasured start of each warms the page cache.
        quickstart()?;
        connect()?;
        let mut p = Paired::default();
        for _ in 0..cfg.m1_rounds {
            let (mut sdk, mut raw) = (Vec::new(), Vec::new());
            for _ in 0..cfg.m1_runs {
                raw.push(connect()?);
                sdk.push(quickstart()?);
            }
            p.add_round(&sdk, &raw);
        }
        Ok(p)
    };
    match measure() {
        Ok(p) => {
            let ms = |v: &[f64]| -> Vec<f64> { v.iter().map(|us| us / 1000.0).collect() };
            Row {
                id: "M1",
                what: WHAT.into(),
                sdk: show(&ms(&p.sdk), 2, "ms"),
                baseline: show(&ms(&p.raw), 2, "ms"),
                overhead: show(&ms(&p.over), 2, "ms"),
                target: "measured",
                result: Verdict::NoTarget,
            }
        }
        Err(why) => Row::not_measured("M1", WHAT, "measured", why),
    }
}

// ---------------------------------------------------------------------------
// M7: memory per live run, on the real HTTP provider.

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A model that never answers and counts its calls: the loop-only
/// comparison of M7.
#[derive(Debug, Default)]
struct NeverAnswers {
    calls: std::sync::atomic::AtomicUsize,
}

impl NeverAnswers {
    fn called(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl agents::Model for NeverAnswers {
    fn get_response<'a>(
        &'a self,
        _request: agents::ModelRequest<'a>,
    ) -> agents::BoxFuture<'a, Result<agents::ModelResponse, agents::ModelError>> {
        self.called();
        Box::pin(std::future::pending())
    }

    fn stream_response<'a>(
        &'a self,
        _request: agents::ModelRequest<'a>,
    ) -> agents::BoxStream<'a, Result<ModelStreamEvent, agents::ModelError>> {
        self.called();
        Box::pin(futures::stream::pending())
    }
}

/// Waits until `model` has been called `n` times (at most 60 s).
async fn wait_for_calls(model: &NeverAnswers, n: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while model.calls() < n {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {n} runs reached their model call in 60 s",
                model.calls()
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// The soft limit on open files of this process (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.split_whitespace().nth(3)?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

/// A child process killed (and reaped) when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A child of this binary in `role`, with piped stdin and stdout.
fn spawn_role(
    role: &str,
    env: &[(&str, String)],
) -> Result<(ChildGuard, ChildStdin, BufReader<ChildStdout>), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .env(CHILD_ENV, role)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot spawn the {role} process: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    Ok((ChildGuard(child), stdin, BufReader::new(stdout)))
}

fn read_line(from: &mut BufReader<ChildStdout>, who: &str) -> Result<String, String> {
    let mut line = String::new();
    match from.read_line(&mut line) {
        Ok(0) => Err(format!("the {who} process exited early")),
        Ok(_) => Ok(line.trim().to_owned()),
        Err(e) => Err(format!("reading from the {who} process: {e}")),
    }
}

/// One M7 round in fresh processes: (RSS before the N runs, RSS with N
/// runs parked), in bytes, of the process running them.
fn m7_round(n: usize, http: bool) -> Result<(u64, u64), String> {
    if !http {
        // The m7 process itself waits until every run has called its model.
        let (_runs, mut runs_in, mut runs_out) = spawn_role(
            "m7",
            &[(RUNS_ENV, n.to_string()), (MODEL_ENV, "pending".into())],
        )?;
        let spawned = read_line(&mut runs_out, "m7")?;
        if spawned != "spawned" {
            return Err(spawned);
        }
        return measure_m7(&mut runs_in, &mut runs_out);
    }
    let (_mock, mut mock_in, mut mock_out) = spawn_role("mock", &[])?;
    let base_url = read_line(&mut mock_out, "mock")?;
    let (_runs, mut runs_in, mut runs_out) =
        spawn_role("m7", &[(BASE_URL_ENV, base_url), (RUNS_ENV, n.to_string())])?;
    let spawned = read_line(&mut runs_out, "m7")?;
    if spawned != "spawned" {
        return Err(format!("unexpected line from the m7 process: {spawned}"));
    }
    // Every run has reached its model call when the mock has received its
    // request (plus the warm-up run's).
    let want = n as u64 + 1;
    let mut last = (0u64, Instant::now());
    loop {
        writeln!(mock_in, "count").map_err(|e| e.to_string())?;
        mock_in.flush().map_err(|e| e.to_string())?;
        let count: u64 = read_line(&mut mock_out, "mock")?
            .parse()
            .map_err(|e| format!("bad count from the mock: {e}"))?;
        if count >= want {
            break;
        }
        if count != last.0 {
            last = (count, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(20) {
            return Err(format!(
                "only {} of {n} runs reached their model call (no new request for 20 s)",
                count.saturating_sub(1)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    measure_m7(&mut runs_in, &mut runs_out)
}

/// Asks the m7 process for its RSS before and with the parked runs.
fn measure_m7(
    runs_in: &mut ChildStdin,
    runs_out: &mut BufReader<ChildStdout>,
) -> Result<(u64, u64), String> {
    writeln!(runs_in, "measure").map_err(|e| e.to_string())?;
    runs_in.flush().map_err(|e| e.to_string())?;
    let line = read_line(runs_out, "m7")?;
    let mut parts = line.split_whitespace().skip(1).map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(before)), Some(Ok(after))) => Ok((before, after)),
        _ => Err(format!("unexpected line from the m7 process: {line}")),
    }
}

fn m7_memory(cfg: &Config) -> Vec<Row> {
    const TARGET: &str = "reported";
    let mut rows = Vec::new();
    let cases = cfg
        .m7_sizes
        .iter()
        .map(|&n| (n, true))
        .chain(cfg.m7_sizes.iter().map(|&n| (n, false)));
    for (n, http) in cases {
        let what = if http {
            format!(
                "memory per live run, {} concurrent runs parked in their model call over HTTP (RSS delta / runs)",
                thousands(n)
            )
        } else {
            format!(
                "for comparison: the same with a model that never answers (no HTTP), {} runs",
                thousands(n)
            )
        };
        // Each run holds one connection; keep room for the rest.
        let needed = n as u64 + 256;
        if let Some(limit) = open_files_limit().filter(|l| *l < needed) {
            rows.push(Row::not_measured(
                "M7",
                what,
                TARGET,
                format!("the open-files limit is {limit}, {needed} are needed (raise it with ulimit -n)"),
            ));
            continue;
        }
        let (mut per_run, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
        let mut failure = None;
        for _ in 0..cfg.m7_rounds {
            match m7_round(n, http) {
                Ok((b, a)) => {
                    per_run.push(a.saturating_sub(b) as f64 / n as f64 / 1024.0);
                    before.push(b as f64 / 1048576.0);
                    after.push(a as f64 / 1048576.0);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        rows.push(match failure {
            Some(why) => Row::not_measured("M7", what, TARGET, why),
            None => Row {
                id: "M7",
                what,
                sdk: show(&per_run, 1, "KiB/run"),
                baseline: format!(
                    "RSS {} → {}",
                    show(&before, 1, "MiB"),
                    show(&after, 1, "MiB")
                ),
                overhead: "—".into(),
                target: TARGET,
                result: Verdict::NoTarget,
            },
        });
    }
    rows
}

// ---------------------------------------------------------------------------
// Child roles.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn child(role: &str) {
    match role {
        // M1 baseline: connect and send one byte.
        "connect" => {
            let addr = std::env::var(ADDR_ENV).expect("address");
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(b"P").expect("write");
        }
        // M7: a mock that answers the first request and holds every later
        // one before its headers. Prints its base URL, then answers each
        // `count` line on stdin with the number of requests received.
        "mock" => {
            let rt = runtime();
            let server = rt.block_on(
                MockServer::builder()
                    .max_captured(1)
                    .reply(Reply::text("ok"))
                    .default_reply(Reply::stall_before_headers(Duration::from_secs(3600)))
                    .start(),
            );
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", server.base_url());
            let _ = out.flush();
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if line.trim() == "count" {
                    let _ = writeln!(out, "{}", server.received_count());
                    let _ = out.flush();
                }
            }
            std::process::exit(0);
        }
        // M7: parks N runs in their model call, then reports RSS.
        "m7" => {
            let n: usize = std::env::var(RUNS_ENV)
                .expect("runs")
                .parse()
                .expect("runs");
            let pending = std::env::var(MODEL_ENV).is_ok_and(|m| m == "pending");
            let rt = runtime();
            rt.block_on(async {
                let never = Arc::new(NeverAnswers::default());
                let agent = Agent::builder("bench")
                    .instructions("You are a helpful assistant.")
                    .tool(noop_tool());
                let (agent, provider) = if pending {
                    let model: Arc<dyn agents::Model> = never.clone();
                    (agent.model(model).build(), None)
                } else {
                    let base_url = std::env::var(BASE_URL_ENV).expect("base url");
                    let provider = Arc::new(provider_for(&base_url));
                    (agent.model("gpt-4.1-mini").build(), Some(provider))
                };
                let options = || match &provider {
                    Some(provider) => RunOptions::default().run_config(RunConfig {
                        model_provider: Some(provider.clone()),
                        ..Default::default()
                    }),
                    None => RunOptions::default(),
                };
                // One run first, so that lazily built state (HTTP client,
                // schemas) is in the "before" figure.
                if pending {
                    let warm = tokio::spawn({
                        let (agent, options) = (agent.clone(), options());
                        async move { Runner::run(&agent, "warm up", options).await.map(|_| ()) }
                    });
                    wait_for_calls(&never, 1).await.expect("warm-up run");
                    warm.abort();
                    let _ = warm.await;
                } else {
                    let r = Runner::run(&agent, "warm up", options())
                        .await
                        .expect("warm-up run");
                    assert_eq!(r.final_output_text(), "ok");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                let before = rss_bytes().expect("VmRSS");
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        let agent = agent.clone();
                        let options = options();
                        tokio::spawn(async move {
                            let _ = Runner::run(&agent, format!("question {i}"), options).await;
                        })
                    })
                    .collect();
                if pending {
                    if let Err(e) = wait_for_calls(&never, n + 1).await {
                        println!("{e}");
                        std::process::exit(0);
                    }
                }
                println!("spawned");
                let _ = std::io::stdout().flush();
                let _ = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)
                })
                .await;
                let after = rss_bytes().expect("VmRSS");
                println!("rss {before} {after}");
                let _ = std::io::stdout().flush();
                drop(handles);
                std::process::exit(0);
            });
        }
        // D2: a durable worker process.
        "durable-worker" => durable_bench::worker_child(),
        other => panic!("unknown {CHILD_ENV} role `{other}`"),
    }
}

// ---------------------------------------------------------------------------

fn doc(cfg: &Config, rows: &[Row]) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (do not edit by hand): release build, {cores} cores, \
         against the `agents-testkit` mock OpenAI server on 127.0.0.1 with request validation on. \
         Absolute numbers on shared machines are noisy; compare within one run.\n\n\
         ## Method\n\n\
         - **Rounds.** Each figure is measured in {rounds} rounds in one process, after \
         unmeasured warm-up runs ({warmup}; M5: 3; M1: one start of each process). A round is {runs} runs (M5: {stream_runs} streamed runs); \
         its figure is the median of its runs. A cell reads `median (min–max)`: the median of \
         the round figures, and the smallest and largest round figure.\n\
         - **Baselines and overhead.** SDK runs alternate with a baseline doing the same I/O \
         without the SDK: a plain `reqwest` POST of the same request body (M2–M5), or the same \
         SQL through rusqlite alone (M6). The overhead is the SDK median minus the baseline median \
         of the same round, summarized over rounds like the other figures. Derived figures (the M4 \
         slope, per-turn overhead) are computed within each round too.\n\
         - **Result.** The median is compared with the target of `ENGINEERING.md` §4: `met` or \
         `**missed**`. A missed figure stays in the table as it was measured; the benchmark is \
         not re-run to make it pass.\n\n\
         ## What each figure measures\n\n\
         - **M1** spawns the quickstart example, pointed at a raw TCP listener of the benchmark \
         through `OPENAI_API_KEY` and `OPENAI_BASE_URL`, and times from just before the spawn to \
         the first byte of its request. `cargo xtask bench` builds the example with the `bench` \
         profile (the release profile plus line tables) and the facade's default features, as \
         `cargo run --example quickstart` builds it (rustls with ring; the benchmark itself has \
         every feature, native-tls included). The example builds its providers from the \
         environment, which share one HTTP client (one load of the root certificates). The baseline spawns the benchmark binary itself in a mode that only connects and sends \
         one byte, so the overhead is what the SDK and the example add to a process start. \
         {m1_rounds} rounds of {m1_runs} starts each.\n\
         - **M2** is one non-streaming turn; **M3** two model calls around one trivial tool. \
         The targets are on the overhead. **M2-anthropic**, **M3-anthropic**, **M2-gemini** and \
         **M3-gemini** are the same runs through the native Anthropic and Gemini providers \
         against the mock's `/v1/messages` and `generateContent` endpoints, with raw POSTs of \
         the same bodies and headers as baseline. For these rows the mock runs without its \
         Python validation (the official `anthropic` and `google-genai` types, a pipe round trip \
         per request on both sides); its Rust checks (Anthropic headers, Gemini thought \
         signatures) stay on.\n\
         - **M4** runs one turn with a SQLite session (`synchronous=NORMAL`) holding N history \
         items of about 300 B; the items the run adds are removed after it, so every run loads N \
         items, sends them, and saves its new items. *Warm*: one session serves every run (its \
         connection and item cache stay). *Cold*: every run opens a fresh `SqliteSession`, so a \
         new connection reads the N items from the file (the OS file cache stays warm). The slope \
         is the overhead growth per item from 10 to 200 items.\n\
         - **M5** streams 2,000 text deltas through the public event stream and counts events \
         client-side; the baseline reads the same SSE reply without parsing it.\n\
         - **M6** appends one turn to a SQLite file session; its times depend mostly on the \
         disk's fsync.\n\
         - **M7** parks N runs in their first model call on the real OpenAI Responses provider \
         over HTTP: the mock, in its own process, holds every request before its headers, and \
         the resident memory of the process running the runs is read once the mock has received \
         all N requests. The figure is the growth of that process's RSS divided by N; it includes \
         each run's HTTP connection. Each of the {m7_rounds} rounds uses fresh processes, because \
         memory freed by one round would be reused by the next one (so M7 rounds are not in one \
         process). The \"before\" figure is taken after one complete warm-up run. The comparison \
         rows park the same runs on a model that never answers, inside the process, which shows \
         what the run itself holds without its connection. The open-files limit must exceed N \
         (`cargo xtask bench` raises the soft limit to the hard limit).\n\
         - **S1–S4** measure every session backend: memory, SQLite (a file, `synchronous=FULL`), \
         encrypted over memory, and Postgres and Redis on servers the benchmark starts on \
         127.0.0.1 (Postgres with its default durability; Redis twice: as a plain `redis-server` runs, \
         with no append-only file, and with `appendfsync always`, an fsync per write), and \
         encrypted over Redis. **S1** appends one turn of two ~300 B items with an operation id, \
         as the runner does; **S2** loads 10, 200 and 10,000 items through a fresh handle; **S3** \
         appends 10 turns to each of 64 conversations at once on one database (turns per \
         second); **S4** runs one turn against the mock with the session on (10 history items) \
         against the same run given the same items as input without a session. See \
         `crates/agents/benches/sdk_sessions.rs`.\n\
         - **T1** and **T2** are M2's turn (2 spans: agent, generation) and M3's tool loop (4 \
         spans: agent, two generations, one function) with tracing on, sent to a \
         `BatchTraceProcessor` whose exporter drops its batches, against the same runs with \
         tracing disabled. A round of these rows is {trace_pairs} pairs of runs, one traced and \
         one not, the traced run first in every other pair (the second run of a pair is slower by \
         itself: with a fixed order, a null check with both runs untraced, \
         `BENCH_TRACE_NULL=1`, found 0.96–1.70 µs per span). The overhead is (median on − median \
         off) divided by the spans the processor really received, per round. The instructions \
         tracing adds, which do not move with the machine's load, are counted by `cargo xtask \
         bench trace-cost` (see `docs/tracing.md`). See `crates/agents/benches/sdk_tracing.rs`.\n\
         - **D1** is M2's turn run durably on a Restate server the benchmark starts on 127.0.0.1 \
         (started through Restate's ingress, the model call journaled by a worker in this \
         process, the result read back by run id) against the same turn run in process. **D2** \
         runs 1,000 durable runs of that turn at once on one worker process (5 rounds, a fresh \
         worker each): throughput from the first start to the last result, and the worker's \
         resident memory after one warm-up run and at its peak. See \
         `crates/agents/benches/sdk_durable.rs`.\n\n\
         ## Running\n\n\
         `cargo xtask bench` builds the quickstart example in release mode, runs every benchmark \
         and writes this file. `cargo xtask bench --quick` runs each one with tiny round counts in \
         seconds, to check that the code runs; its numbers mean nothing and it writes nothing. \
         `BENCH_ONLY=M1,M7` runs a subset, and `BENCH_M7_SIZES=1000,20000` other M7 sizes \
         (neither writes this file).\n\n\
         ## Results\n\n\
         {table}\n",
        rounds = cfg.rounds,
        warmup = cfg.warmup,
        runs = cfg.runs,
        stream_runs = cfg.stream_runs,
        trace_pairs = cfg.trace_pairs,
        m1_rounds = cfg.m1_rounds,
        m1_runs = cfg.m1_runs,
        m7_rounds = cfg.m7_rounds,
        table = table(rows),
    )
}

/// The markers of the M0 block in `docs/benchmarks.md` (the same as in
/// `xtask/src/m0.rs`; a tidy test checks it).
const M0_BEGIN: &str = "<!-- M0 begin: written by `cargo xtask bench m0` -->";
const M0_END: &str = "<!-- M0 end -->";

/// The M0 block of a `docs/benchmarks.md` text, markers included.
fn m0_block(doc: &str) -> Option<&str> {
    let a = doc.find(M0_BEGIN)?;
    let b = doc[a..].find(M0_END)? + a + M0_END.len();
    Some(&doc[a..b])
}

fn main() {
    if let Ok(role) = std::env::var(CHILD_ENV) {
        child(&role);
        return;
    }
    let cfg = Config::from_env();
    if cfg.quick {
        println!(
            "BENCH_QUICK: tiny round counts, to check that the benchmarks run; no file is written"
        );
    }
    let started = Instant::now();
    let mut rows = Vec::new();
    // The process benchmarks first, while this process is idle.
    if cfg.wants("M1") {
        rows.push(m1_startup(&cfg));
        eprintln!("M1 done after {:.1} s", started.elapsed().as_secs_f64());
    }
    let m7 = if cfg.wants("M7") {
        let rows = m7_memory(&cfg);
        eprintln!("M7 done after {:.1} s", started.elapsed().as_secs_f64());
        rows
    } else {
        Vec::new()
    };
    let rt = runtime();
    rows.extend(rt.block_on(async {
        let b = Bench::new().await;
        let mut rows = Vec::new();
        if cfg.wants("M2") {
            rows.push(m2_single_turn(&b, &cfg).await);
        }
        if cfg.wants("M3") {
            rows.push(m3_tool_loop(&b, &cfg).await);
        }
        #[cfg(all(feature = "anthropic", feature = "gemini"))]
        rows.extend(providers::run(&cfg).await);
        if cfg.wants("T1") || cfg.wants("T2") {
            rows.extend(tracing_bench::run(&b, &cfg).await);
        }
        if cfg.wants("M5") {
            rows.push(m5_streaming(&b, &cfg).await);
        }
        #[cfg(feature = "sqlite")]
        if cfg.wants("M4") || cfg.wants("M6") {
            rows.extend(sqlite_benches::run(&b, &cfg).await);
        }
        #[cfg(all(
            feature = "sqlite",
            feature = "postgres",
            feature = "redis",
            feature = "encrypted"
        ))]
        if ["S1", "S2", "S3", "S4"].iter().any(|id| cfg.wants(id)) {
            rows.extend(sessions::run(&b, &cfg).await);
        }
        if cfg.wants("D1") || cfg.wants("D2") {
            rows.extend(durable_bench::run(&b, &cfg).await);
        }
        b.server.assert_ok();
        rows
    }));
    rows.extend(m7);
    rows.retain(|r| cfg.wants(r.id));
    eprintln!("all done after {:.1} s", started.elapsed().as_secs_f64());
    println!("{}", table(&rows));
    if cfg.quick || cfg.only.is_some() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    let mut text = doc(&cfg, &rows);
    // M0 (clean build time) is written by `cargo xtask bench m0`: keep it.
    if let Some(m0) = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| m0_block(&old).map(str::to_owned))
    {
        text = format!("{}\n{m0}\n", text.trim_end());
    }
    std::fs::write(&path, text).expect("write docs/benchmarks.md");
    println!("written to {}", path.display());
}
