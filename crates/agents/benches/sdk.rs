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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        let b = Bench::new().await;
        vec![
            m2_single_turn(&b).await,
            m3_tool_loop(&b).await,
            m5_streaming(&b).await,
        ]
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
         Absolute numbers on shared machines are noisy; compare within one run.\n\n{table}\n"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    std::fs::write(&path, doc).expect("write docs/benchmarks.md");
    println!("written to {}", path.display());
}
