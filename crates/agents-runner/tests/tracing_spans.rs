//! Traces and spans of runs, pinned as trees: parallel tools, a handoff, a
//! tripped input guardrail, a nested agent-as-tool, a streamed run, a
//! failed model call, an approval pause and its resume; the trace settings
//! of `RunConfig`; and content capture off by default (no input or output
//! text in any span, trace or log).

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use agents_core::testing::{function_call_with_id, handoff_call, text, ScriptedModel};
use agents_core::trace::{Span, SpanData, SpanId, Trace, TraceBuilder, TraceProcessor};
use agents_core::{
    GuardrailOutput, InputGuardrail, Item, ModelError, ModelProvider, RequestUsage, RunContext,
};
use agents_runner::trace::{BatchTraceProcessor, JsonlExporter, TraceRecord, TracingBridge};
use agents_runner::{
    AgentToolExt, Always, RunConfig, RunOptions, RunResult, RunState, Runner, UNNAMED_MODEL,
};
use common::*;
use futures::StreamExt;
use serde_json::json;

/// Records every event of every trace it sees.
#[derive(Default)]
struct Collector {
    events: Mutex<Vec<Event>>,
}

#[derive(Clone, Debug)]
enum Event {
    TraceStart(#[allow(dead_code)] Trace),
    TraceEnd(Trace),
    SpanStart(Span),
    SpanEnd(Span),
}

impl TraceProcessor for Collector {
    fn on_trace_start(&self, t: &Trace) {
        self.events
            .lock()
            .unwrap()
            .push(Event::TraceStart(t.clone()));
    }
    fn on_trace_end(&self, t: &Trace) {
        self.events.lock().unwrap().push(Event::TraceEnd(t.clone()));
    }
    fn on_span_start(&self, s: &Span) {
        self.events
            .lock()
            .unwrap()
            .push(Event::SpanStart(s.clone()));
    }
    fn on_span_end(&self, s: &Span) {
        self.events.lock().unwrap().push(Event::SpanEnd(s.clone()));
    }
}

impl Collector {
    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn traces(&self) -> Vec<Trace> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::TraceEnd(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Ended spans, in the order they started.
    fn spans(&self) -> Vec<Span> {
        let events = self.events();
        let order: Vec<SpanId> = events
            .iter()
            .filter_map(|e| match e {
                Event::SpanStart(s) => Some(s.span_id),
                _ => None,
            })
            .collect();
        let mut ended: HashMap<SpanId, Span> = events
            .into_iter()
            .filter_map(|e| match e {
                Event::SpanEnd(s) => Some((s.span_id, s)),
                _ => None,
            })
            .collect();
        assert_eq!(
            order.len(),
            ended.len(),
            "every started span ends exactly once"
        );
        order
            .into_iter()
            .map(|id| ended.remove(&id).expect("a started span ended"))
            .collect()
    }

    /// The span tree, one line per span, children indented under parents
    /// (in start order), each with its kind, name and, when set, triggered
    /// flag and error kind.
    fn tree(&self) -> Vec<String> {
        let spans = self.spans();
        let ids: Vec<SpanId> = spans.iter().map(|s| s.span_id).collect();
        for s in &spans {
            if let Some(p) = s.parent_id {
                assert!(
                    ids.contains(&p),
                    "the parent of {:?} is in the trace",
                    s.data
                );
            }
            assert!(s.ended_at.unwrap() >= s.started_at);
        }
        let mut out = Vec::new();
        fn walk(spans: &[Span], parent: Option<SpanId>, depth: usize, out: &mut Vec<String>) {
            for s in spans.iter().filter(|s| s.parent_id == parent) {
                let mut line = format!("{}{} {}", "  ".repeat(depth), s.data.kind(), s.data.name());
                match &s.data {
                    SpanData::Handoff(h) => {
                        line = format!(
                            "{}handoff {} -> {}",
                            "  ".repeat(depth),
                            h.from_agent,
                            h.to_agent
                        )
                    }
                    SpanData::Guardrail(g) if g.triggered => line.push_str(" (triggered)"),
                    _ => {}
                }
                if let Some(e) = &s.error {
                    line.push_str(&format!(" !{}", e.kind));
                }
                out.push(line);
                walk(spans, Some(s.span_id), depth + 1, out);
            }
        }
        walk(&spans, None, 0, &mut out);
        out
    }
}

/// Options sending this run's trace to `c` only (tests run in parallel).
fn traced(c: &Arc<Collector>) -> RunOptions {
    RunOptions::default().run_config(RunConfig {
        trace_processors: Some(vec![c.clone() as Arc<dyn TraceProcessor>]),
        ..Default::default()
    })
}

fn call(id: &str, name: &str, t: &str) -> Item {
    function_call_with_id(id, name, &args(t))
}

fn assert_trace_id_form(id: &str) {
    assert!(id.starts_with("trace_"), "{id}");
    assert_eq!(id.len(), 38, "{id}");
    assert!(id[6..].chars().all(|c| c.is_ascii_hexdigit()), "{id}");
}

#[tokio::test]
async fn parallel_tools_nest_under_the_agent_between_two_model_calls() {
    let model = ScriptedModel::new();
    model.push_output(vec![call("c1", "a", "x"), call("c2", "b", "y")]);
    model.push_text("done");
    let agent = agent("A", &model).tool(echo("a")).tool(echo("b")).build();
    let c = Arc::new(Collector::default());
    let result = Runner::run(&agent, "go", traced(&c)).await.unwrap();
    assert_eq!(
        c.tree(),
        [
            "agent A",
            "  generation generation",
            "  function a",
            "  function b",
            "  generation generation",
        ]
    );
    // One trace, ended after its spans, with the generated id the result reports.
    let traces = c.traces();
    assert_eq!(traces.len(), 1);
    let id = result.trace_id().expect("a trace id");
    assert_trace_id_form(id);
    assert_eq!(&*traces[0].trace_id, id);
    assert_eq!(traces[0].workflow_name, "Agent workflow");
    assert!(c.spans().iter().all(|s| &*s.trace_id == id));
    assert!(matches!(c.events().last(), Some(Event::TraceEnd(_))));
    // The agent span lists the tools; the function spans name their calls.
    let spans = c.spans();
    let SpanData::Agent(a) = &spans[0].data else {
        panic!("agent span first")
    };
    assert_eq!(a.tools, ["a", "b"]);
    let SpanData::Function(f) = &spans[2].data else {
        panic!("function span")
    };
    assert_eq!(f.call_id, "c1");
}

#[tokio::test]
async fn run_config_names_the_trace_and_its_group_and_metadata() {
    let model = ScriptedModel::new();
    model.push_text("hi");
    let agent = agent("A", &model).build();
    let c = Arc::new(Collector::default());
    let mut options = traced(&c);
    let rc = &mut options.run_config;
    rc.workflow_name = "support chat".into();
    rc.trace_id = Some("trace_0123456789abcdef0123456789abcdef".into());
    rc.group_id = Some("conversation-7".into());
    rc.trace_metadata = vec![("tenant".into(), "acme".into())];
    let result = Runner::run(&agent, "hello", options).await.unwrap();
    let t = &c.traces()[0];
    assert_eq!(&*t.trace_id, "trace_0123456789abcdef0123456789abcdef");
    assert_eq!(
        result.trace_id(),
        Some("trace_0123456789abcdef0123456789abcdef")
    );
    assert_eq!(t.workflow_name, "support chat");
    assert_eq!(t.group_id.as_deref(), Some("conversation-7"));
    assert_eq!(t.metadata, [("tenant".to_owned(), "acme".to_owned())]);
    assert!(t.ended_at.unwrap() >= t.started_at);
}

#[tokio::test]
async fn tracing_disabled_records_nothing() {
    let model = ScriptedModel::new();
    model.push_output(vec![call("c1", "a", "x")]);
    model.push_text("done");
    let agent = agent("A", &model).tool(echo("a")).build();
    let c = Arc::new(Collector::default());
    let mut options = traced(&c);
    options.run_config.tracing_disabled = true;
    let result = Runner::run(&agent, "go", options).await.unwrap();
    assert!(c.events().is_empty());
    assert_eq!(result.trace_id(), None);
}

#[tokio::test]
async fn a_handoff_ends_one_agent_span_and_opens_the_next() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("from B");
    let b = agent("B", &mb).build();
    let a = agent("A", &ma).handoff_to(&b).build();
    let c = Arc::new(Collector::default());
    Runner::run(&a, "go", traced(&c)).await.unwrap();
    assert_eq!(
        c.tree(),
        [
            "agent A",
            "  generation generation",
            "  handoff A -> B",
            "agent B",
            "  generation generation",
        ]
    );
    let SpanData::Agent(a) = &c.spans()[0].data else {
        panic!()
    };
    assert_eq!(a.handoffs, ["B"]);
}

#[tokio::test]
async fn a_tripped_input_guardrail_marks_its_span_and_fails_the_agent_span() {
    let model = ScriptedModel::new();
    let guard = InputGuardrail::new("no_secrets", |_ctx: RunContext, _a, _input| async {
        Ok(GuardrailOutput::trip(json!({"reason": "secret"})))
    })
    .blocking();
    let ok = InputGuardrail::new("polite", |_ctx: RunContext, _a, _input| async {
        Ok(GuardrailOutput::pass(json!(null)))
    })
    .blocking();
    let agent = agent("A", &model)
        .input_guardrail(ok)
        .input_guardrail(guard)
        .build();
    let c = Arc::new(Collector::default());
    let err = Runner::run(&agent, "go", traced(&c)).await.unwrap_err();
    assert!(matches!(
        err.error,
        agents_core::Error::InputGuardrailTripwire(_)
    ));
    assert_eq!(
        c.tree(),
        [
            "agent A !input_guardrail_tripwire",
            "  guardrail polite",
            "  guardrail no_secrets (triggered)",
        ]
    );
    assert_eq!(model.call_count(), 0);
}

#[tokio::test]
async fn a_parallel_input_guardrail_runs_beside_the_generation() {
    let model = ScriptedModel::new();
    model.push_text("hi");
    let guard = InputGuardrail::new("check", |_ctx: RunContext, _a, _input| async {
        Ok(GuardrailOutput::pass(json!(null)))
    });
    let agent = agent("A", &model).input_guardrail(guard).build();
    let c = Arc::new(Collector::default());
    Runner::run(&agent, "go", traced(&c)).await.unwrap();
    let mut tree = c.tree();
    // Both start with the model call; their start order is not pinned.
    tree[1..].sort();
    assert_eq!(
        tree,
        ["agent A", "  generation generation", "  guardrail check"]
    );
}

#[tokio::test]
async fn a_nested_agent_tool_run_nests_under_the_outer_tool_span() {
    let (outer_m, inner_m) = (ScriptedModel::new(), ScriptedModel::new());
    outer_m.push_output(vec![function_call_with_id(
        "c1",
        "ask_inner",
        &json!({"input": "question"}).to_string(),
    )]);
    outer_m.push_text("final");
    inner_m.push_output(vec![call("c2", "echo", "deep")]);
    inner_m.push_text("inner answer");
    let inner = agent("Inner", &inner_m).tool(echo("echo")).build();
    let outer = agent("Outer", &outer_m)
        .tool(inner.as_tool("ask_inner", "Asks the inner agent."))
        .build();
    let c = Arc::new(Collector::default());
    let result = Runner::run(&outer, "go", traced(&c)).await.unwrap();
    assert_eq!(
        c.tree(),
        [
            "agent Outer",
            "  generation generation",
            "  function ask_inner",
            "    agent Inner",
            "      generation generation",
            "      function echo",
            "      generation generation",
            "  generation generation",
        ]
    );
    // The nested run joined the outer trace instead of starting its own.
    assert_eq!(c.traces().len(), 1);
    assert_eq!(
        c.events()
            .iter()
            .filter(|e| matches!(e, Event::TraceStart(_)))
            .count(),
        1
    );
    assert!(c
        .spans()
        .iter()
        .all(|s| Some(&*s.trace_id) == result.trace_id()));
}

#[tokio::test]
async fn a_streamed_run_records_the_same_spans_as_a_plain_one() {
    let script = |m: &Arc<ScriptedModel>| {
        m.push_output(vec![call("c1", "a", "x")]);
        m.push_text("done");
    };
    let (m1, m2) = (ScriptedModel::new(), ScriptedModel::new());
    script(&m1);
    script(&m2);
    let plain = agent("A", &m1).tool(echo("a")).build();
    let streamed = agent("A", &m2).tool(echo("a")).build();
    let (c1, c2) = (
        Arc::new(Collector::default()),
        Arc::new(Collector::default()),
    );
    Runner::run(&plain, "go", traced(&c1)).await.unwrap();
    let mut run = Runner::run_streamed(&streamed, "go", traced(&c2));
    while run.next().await.is_some() {}
    run.result().await.unwrap();
    assert_eq!(c1.tree(), c2.tree());
    assert_eq!(c2.tree().len(), 4);
    // Only the stream flag of the generations differs.
    let streams: Vec<bool> = c2
        .spans()
        .iter()
        .filter_map(|s| match &s.data {
            SpanData::Generation(g) => Some(g.stream),
            _ => None,
        })
        .collect();
    assert_eq!(streams, [true, true]);
    // No model settings are set: the generations record no `model_config`
    // (with settings, `no_keys` below checks what they record).
    assert!(c2.spans().iter().all(|s| match &s.data {
        SpanData::Generation(g) => g.model_config.is_none(),
        _ => true,
    }));
}

#[tokio::test]
async fn a_failed_model_call_fails_its_generation_and_agent_spans() {
    let model = ScriptedModel::new();
    model.push_error(ModelError::Stream("the connection dropped".into()));
    let agent = agent("A", &model).build();
    let c = Arc::new(Collector::default());
    let err = Runner::run(&agent, "go", traced(&c)).await.unwrap_err();
    assert!(matches!(err.error, agents_core::Error::Model(_)));
    assert_eq!(
        c.tree(),
        [
            "agent A !model_error",
            "  generation generation !model_error"
        ]
    );
    let gen = &c.spans()[1];
    assert!(gen
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("the connection dropped"));
    assert_eq!(c.traces().len(), 1);
}

#[tokio::test]
async fn an_approval_pause_and_its_resume_continue_the_same_trace_id() {
    let model = ScriptedModel::new();
    model.push_output(vec![call("c1", "gated", "x")]);
    model.push_text("done");
    let agent = agent("A", &model)
        .tool(echo("gated").needs_approval(true))
        .build();
    let c = Arc::new(Collector::default());
    let paused: RunResult = Runner::run(&agent, "go", traced(&c)).await.unwrap();
    assert!(paused.is_interrupted());
    assert_eq!(c.tree(), ["agent A", "  generation generation"]);
    let first_id = paused.trace_id().unwrap().to_owned();

    // Through JSON, as an approval flow would store it.
    let json = paused.to_state().to_json().unwrap();
    let mut state = RunState::from_json(&agent, &json).unwrap();
    assert_eq!(state.trace_id(), Some(first_id.as_str()));
    state.approve(&paused.interruptions()[0], Always::No);
    let c2 = Arc::new(Collector::default());
    let resumed = Runner::run(&agent, state, traced(&c2)).await.unwrap();
    assert_eq!(resumed.final_output_text(), "done");
    assert_eq!(resumed.trace_id(), Some(first_id.as_str()));
    assert_eq!(&*c2.traces()[0].trace_id, first_id);
    assert_eq!(
        c2.tree(),
        ["agent A", "  function gated", "  generation generation"]
    );
}

#[tokio::test]
async fn runs_inside_a_trace_scope_share_one_trace() {
    let model = ScriptedModel::new();
    model.push_text("one");
    model.push_text("two");
    let agent = agent("A", &model).build();
    let c = Arc::new(Collector::default());
    let ids = TraceBuilder::new("two runs")
        .group_id("g1")
        .processors(vec![c.clone()])
        .run(async {
            let r1 = Runner::run(&agent, "a", RunOptions::default())
                .await
                .unwrap();
            let r2 = Runner::run(&agent, "b", RunOptions::default())
                .await
                .unwrap();
            (
                r1.trace_id().unwrap().to_owned(),
                r2.trace_id().unwrap().to_owned(),
            )
        })
        .await;
    assert_eq!(ids.0, ids.1);
    let traces = c.traces();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].workflow_name, "two runs");
    assert_eq!(&*traces[0].trace_id, ids.0);
    assert_eq!(
        c.tree(),
        [
            "agent A",
            "  generation generation",
            "agent A",
            "  generation generation",
        ]
    );
}

#[tokio::test]
async fn custom_spans_opened_in_a_tool_nest_under_its_span() {
    let model = ScriptedModel::new();
    model.push_output(vec![call("c1", "lookup", "x")]);
    model.push_text("done");
    let tool = agents_core::FunctionTool::new(
        "lookup",
        "Looks up.",
        |_ctx: agents_core::ToolContext, _a: Text| async {
            let span = agents_core::trace::custom_span("db query", Default::default());
            drop(span);
            Ok::<_, String>("found".to_owned())
        },
    );
    let agent = agent("A", &model).tool(tool).build();
    let c = Arc::new(Collector::default());
    Runner::run(&agent, "go", traced(&c)).await.unwrap();
    assert_eq!(
        c.tree(),
        [
            "agent A",
            "  generation generation",
            "  function lookup",
            "    custom db query",
            "  generation generation",
        ]
    );
}

#[tokio::test]
async fn usage_is_broken_down_per_agent_and_per_model() {
    #[derive(Debug)]
    struct Provider(Arc<ScriptedModel>);
    impl ModelProvider for Provider {
        fn get_model(
            &self,
            _name: Option<&str>,
        ) -> Result<Arc<dyn agents_core::Model>, ModelError> {
            Ok(self.0.clone())
        }
    }
    let usage = |i, o| RequestUsage {
        input_tokens: i,
        output_tokens: o,
        total_tokens: i + o,
        ..Default::default()
    };
    let (outer_m, inner_m) = (ScriptedModel::new(), ScriptedModel::new());
    outer_m.push_response(
        agents_core::ModelResponse::new(vec![function_call_with_id(
            "c1",
            "ask",
            &json!({"input": "q"}).to_string(),
        )])
        .with_usage(usage(10, 1)),
    );
    outer_m
        .push_response(agents_core::ModelResponse::new(vec![text("ok")]).with_usage(usage(20, 2)));
    inner_m.push_response(
        agents_core::ModelResponse::new(vec![text("inner")]).with_usage(usage(5, 5)),
    );
    let inner: agents_core::Agent = agents_core::Agent::builder("Inner")
        .model(inner_m.clone())
        .build();
    let outer: agents_core::Agent = agents_core::Agent::builder("Outer")
        .model("gpt-test")
        .tool(inner.as_tool("ask", "Asks."))
        .build();
    let options = RunOptions::default().model_provider(Arc::new(Provider(outer_m.clone())));
    let result = Runner::run(&outer, "go", options).await.unwrap();
    assert_eq!(result.usage.total_tokens, 11 + 22 + 10);
    assert_eq!(result.usage_by_agent["Outer"].total_tokens, 33);
    assert_eq!(result.usage_by_agent["Outer"].requests, 2);
    assert_eq!(result.usage_by_agent["Inner"].total_tokens, 10);
    assert_eq!(result.usage_by_model["gpt-test"].input_tokens, 30);
    assert_eq!(result.usage_by_model[UNNAMED_MODEL].output_tokens, 5);
    assert_eq!(result.usage_by_model.len(), 2);
}

// ---------------------------------------------------------------------------
// Content capture

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRETS: [&str; 5] = [
    "SECRET-INPUT-4711",
    "SECRET-ARG-4712",
    "SECRET-TOOL-OUT-4713",
    "SECRET-REPLY-4714",
    "SECRET-TOOL-ERR-4715",
];

/// Keys in the agent's extra header, query parameter and body field: never
/// recorded, not even with content capture on (their names are).
const KEYS: [&str; 3] = [
    "SECRET-HEADER-4716",
    "SECRET-QUERY-4717",
    "SECRET-BODY-4718",
];

/// A run whose input, tool arguments, tool output, tool error and reply
/// each hold a secret; everything recorded, as one string: the spans and
/// traces (as JSON lines, through the batching processor and the JSONL
/// exporter) and the `tracing` output (the bridge and the SDK's own logs).
async fn record_a_run(include_content: bool) -> String {
    let model = ScriptedModel::new();
    model.push_output(vec![
        call("c1", "echo", SECRETS[1]),
        call("c2", "broken", "x"),
    ]);
    model.push_text(SECRETS[3]);
    let echo = agents_core::FunctionTool::new(
        "echo",
        "Answers with a secret.",
        |_ctx: agents_core::ToolContext, _a: Text| async { Ok::<_, String>(SECRETS[2].to_owned()) },
    );
    let one = |k: &str, v: &str| std::collections::BTreeMap::from([(k.to_owned(), v.to_owned())]);
    let mut body = serde_json::Map::new();
    body.insert("x-token".into(), json!(KEYS[2]));
    let settings = agents_core::ModelSettings::new()
        .temperature(0.2)
        .extra_headers(one("api-key", KEYS[0]))
        .extra_query(one("x-api-key", KEYS[1]))
        .extra_body(body);
    let agent = agent("A", &model)
        .model_settings(settings)
        .tool(echo)
        .tool(failing("broken", SECRETS[4]))
        .build();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.jsonl");
    let batch = Arc::new(BatchTraceProcessor::new(
        JsonlExporter::create(&path).unwrap(),
    ));
    let bridge = Arc::new(TracingBridge::new());
    let config = RunConfig {
        trace_include_sensitive_data: include_content,
        trace_processors: Some(vec![batch.clone(), bridge]),
        ..Default::default()
    };
    let logs = Buf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let input = format!("please use {}", SECRETS[0]);
    let result = Runner::run(
        &agent,
        input.as_str(),
        RunOptions::default().run_config(config),
    )
    .await
    .unwrap();
    assert!(result.final_output_text().contains(SECRETS[3]));
    batch.shutdown();
    assert_eq!(batch.stats().dropped, 0);
    let lines = std::fs::read_to_string(&path).unwrap();
    // Every line is a record: the trace as it starts, five spans (agent,
    // two generations, two functions), the trace as it ends.
    let records: Vec<TraceRecord> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a trace record"))
        .collect();
    assert_eq!(records.len(), 7, "{lines}");
    assert!(matches!(&records[0], TraceRecord::Trace(t) if t.ended_at.is_none()));
    assert!(matches!(&records[6], TraceRecord::Trace(t) if t.ended_at.is_some()));
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("agents.span"),
        "the bridge logged spans: {logs}"
    );
    format!("{lines}\n{logs}")
}

#[tokio::test]
async fn with_content_capture_off_no_input_or_output_text_is_recorded() {
    let recorded = record_a_run(false).await;
    for secret in SECRETS {
        assert!(
            !recorded.contains(secret),
            "`{secret}` leaked into the trace or logs:\n{recorded}"
        );
    }
    // What is recorded without content: names, ids, usage, the error kind.
    assert!(recorded.contains("\"call_id\":\"c1\""));
    assert!(recorded.contains("\"kind\":\"tool_error\""));
    no_keys(&recorded);
}

/// The generation spans record the model settings, with the values of the
/// extra header, query parameter and body field redacted.
fn no_keys(recorded: &str) {
    for key in KEYS {
        assert!(
            !recorded.contains(key),
            "`{key}` leaked into the trace or logs:\n{recorded}"
        );
    }
    let config = r#""model_config":{"temperature":0.2,"extra_headers":{"api-key":"<redacted>"},"extra_query":{"x-api-key":"<redacted>"},"extra_body":{"x-token":"<redacted>"}}"#;
    assert!(recorded.contains(config), "{recorded}");
}

#[tokio::test]
async fn with_content_capture_on_inputs_and_outputs_are_recorded() {
    let recorded = record_a_run(true).await;
    for secret in SECRETS {
        assert!(recorded.contains(secret), "`{secret}` was not recorded");
    }
    no_keys(&recorded);
}

#[test]
fn content_capture_is_off_by_default() {
    // The test environment sets neither switch.
    assert!(std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT").is_err());
    assert!(std::env::var("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA").is_err());
    let config = RunConfig::<()>::default();
    assert!(!config.trace_include_sensitive_data);
    assert!(config.trace_processors.is_none());
}
