//! T1–T2: tracing overhead. M2's single turn (2 spans: agent, generation)
//! and M3's tool loop (4 spans: agent, two generations, one function) run
//! with tracing disabled and with tracing on, sent to a
//! `BatchTraceProcessor` whose exporter drops the batches (the export
//! thread's work is off the run's path by design; the queue is what the
//! run pays for). Each round is `trace_pairs` pairs of runs, one traced and
//! one not, the traced one first in every other pair; the overhead is
//! (median on − median off) / spans, per round, then median with min–max
//! over the rounds, against the ≤ 3 µs per span target. The span count is
//! checked against what the processor really received.

use super::*;
use agents::tracing::{BatchTraceProcessor, TraceExporter, TraceProcessor, TraceRecord};

struct Discard;

impl TraceExporter for Discard {
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
        std::hint::black_box(batch.len());
        Ok(())
    }
}

fn options(b: &Bench, on: Option<&Arc<BatchTraceProcessor>>) -> RunOptions {
    let config = RunConfig {
        model_provider: Some(b.provider.clone()),
        tracing_disabled: on.is_none(),
        trace_processors: on.map(|p| vec![p.clone() as Arc<dyn TraceProcessor>]),
        ..RunConfig::default()
    };
    RunOptions::default().run_config(config)
}

async fn measure(
    b: &Bench,
    cfg: &Config,
    agent: &Agent,
    script: &dyn Fn(),
    spans: f64,
) -> (Paired, Vec<f64>) {
    let processor = Arc::new(BatchTraceProcessor::new(Discard));
    for _ in 0..cfg.warmup {
        script();
        Runner::run(agent, "go", options(b, Some(&processor)))
            .await
            .expect("run");
        script();
        Runner::run(agent, "go", options(b, None))
            .await
            .expect("run");
    }
    // `BENCH_TRACE_NULL=1`: both runs of each pair untraced, to check that
    // the method itself finds no overhead.
    let null_check = std::env::var("BENCH_TRACE_NULL").is_ok_and(|v| v == "1");
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        for pair in 0..cfg.trace_pairs {
            // Which run of a pair goes first alternates: the second run of
            // a pair is slower by itself (the null check, with the untraced
            // run always first, found 0.96–1.70 µs per span), and a fixed
            // order would charge that to one side.
            for traced in [pair % 2 == 0, pair % 2 == 1] {
                script();
                let start = Instant::now();
                let sink = (traced && !null_check).then_some(&processor);
                Runner::run(agent, "go", options(b, sink))
                    .await
                    .expect("run");
                let took = start.elapsed();
                if traced {
                    on.push(took)
                } else {
                    off.push(took)
                }
            }
        }
        p.add_round(&on, &off);
    }
    processor.shutdown();
    let stats = processor.stats();
    assert_eq!(stats.dropped, 0, "the queue kept up");
    // Every run with tracing on sent its trace (start and end) and its
    // spans: divide by the spans the processor really received per run
    // (`spans` is what the loop is expected to record).
    let measured = if null_check {
        0
    } else {
        cfg.rounds * cfg.trace_pairs
    };
    let on_runs = (cfg.warmup + measured).max(1) as f64;
    let recorded = stats.exported as f64 / on_runs - 2.0;
    if (recorded - spans).abs() > f64::EPSILON {
        eprintln!("note: {recorded} spans per traced run recorded, {spans} expected");
    }
    let spans = if recorded >= 1.0 { recorded } else { spans };
    b.server.clear_default();
    b.server.clear_requests();
    let per_span = p.over.iter().map(|o| o / spans).collect();
    (p, per_span)
}

fn row(id: &'static str, what: &str, p: &Paired, per_span: &[f64]) -> Row {
    Row {
        id,
        what: what.to_owned(),
        sdk: show(&p.sdk, 1, "µs"),
        baseline: show(&p.raw, 1, "µs"),
        overhead: format!("{} per span", show(per_span, 2, "µs")),
        target: "≤ 3 µs per span",
        result: at_most(per_span, 3.0),
    }
}

/// T1 (M2 with tracing on vs off) and T2 (M3 likewise).
pub(super) async fn run(b: &Bench, cfg: &Config) -> Vec<Row> {
    let mut rows = Vec::new();
    if cfg.wants("T1") {
        let agent: Agent = Agent::builder("bench")
            .instructions("Answer.")
            .model("gpt-4.1-mini")
            .build();
        b.server.set_default(Reply::text("ok"));
        let (p, per_span) = measure(b, cfg, &agent, &|| {}, 2.0).await;
        rows.push(row(
            "T1",
            "tracing: M2 single turn, on (batching processor) vs disabled",
            &p,
            &per_span,
        ));
    }
    if cfg.wants("T2") {
        let agent: Agent = Agent::builder("bench")
            .instructions("Use the tool.")
            .model("gpt-4.1-mini")
            .tool(noop_tool())
            .build();
        let script = || {
            b.server.push(Reply::function_call("call_1", "noop", "{}"));
            b.server.push(Reply::text("ok"));
        };
        let (p, per_span) = measure(b, cfg, &agent, &script, 4.0).await;
        rows.push(row(
            "T2",
            "tracing: M3 tool loop, on (batching processor) vs disabled",
            &p,
            &per_span,
        ));
    }
    rows
}
