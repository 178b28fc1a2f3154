//! The CPU cost of tracing, in instructions: `cargo xtask bench trace-cost`
//! runs this binary under callgrind (`valgrind --tool=callgrind`), which
//! counts instructions rather than time, so the figure does not move with
//! the machine's load.
//!
//! Arguments: `<on|off> <runs> <turn|tools>`. It runs `runs` times an agent
//! on a scripted model (no HTTP): `turn` is M2's shape (one model call: an
//! agent and a generation span), `tools` is M3's (two model calls and one
//! tool call: agent, two generations, one function span). `on` sends the
//! spans to a `BatchTraceProcessor` whose exporter drops the batches; its
//! export interval is an hour, so batches go out when full and the count
//! does not depend on how fast the run is. `off` sets `tracing_disabled`.
//! The difference between two run counts, on minus off, divided by the
//! extra runs, is what tracing adds to a run.

use std::sync::Arc;
use std::time::Duration;

use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::trace::{
    BatchConfig, BatchTraceProcessor, TraceExporter, TraceProcessor, TraceRecord,
};
use agents_core::{Agent, FunctionTool, ToolContext};
use agents_runner::{RunConfig, RunOptions, Runner};

struct Discard;

impl TraceExporter for Discard {
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
        std::hint::black_box(batch.len());
        Ok(())
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArgs {}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(runs), Some(shape)) = (
        args.first().map(String::as_str),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
        args.get(2).map(String::as_str),
    ) else {
        // `cargo bench` runs every bench target with `--bench`.
        eprintln!("trace_cost: run it through `cargo xtask bench trace-cost`");
        return;
    };
    let on = mode == "on";
    let tools = shape == "tools";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let model = ScriptedModel::new();
    let mut builder = Agent::builder("bench")
        .instructions("Answer.")
        .model(model.clone());
    if tools {
        builder = builder.tool(FunctionTool::new(
            "noop",
            "Does nothing.",
            |_c: ToolContext, _a: NoArgs| async { Ok::<_, String>("ok".to_owned()) },
        ));
    }
    let agent: Agent = builder.build();
    let processor = Arc::new(BatchTraceProcessor::with_config(
        Discard,
        BatchConfig::default().interval(Duration::from_secs(3600)),
    ));
    runtime.block_on(async {
        for _ in 0..runs {
            if tools {
                model.push_output(vec![function_call_with_id("call_1", "noop", "{}")]);
            }
            model.push_text("ok");
            let config = RunConfig {
                tracing_disabled: !on,
                trace_processors: on.then(|| vec![processor.clone() as Arc<dyn TraceProcessor>]),
                ..RunConfig::default()
            };
            Runner::run(&agent, "go", RunOptions::default().run_config(config))
                .await
                .expect("run");
        }
    });
    processor.shutdown();
    // What the processor received, for the caller to check the span count.
    println!("records {}", processor.stats().exported);
}
