//! The OpenAI traces exporter against the mock's `POST /v1/traces/ingest`, which validates
//! every batch strictly (ids, required fields, span data, headers): real runs with a tool call
//! and a handoff (model calls to the same mock), content capture on and off, retries, and a
//! dead endpoint.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use agents_core::trace::{BatchConfig, BatchTraceProcessor, TraceProcessor};
use agents_core::{Agent, FunctionTool, ToolContext};
use agents_model_openai::{OpenAIApi, OpenAITracesExporter};
use agents_runner::{RunConfig, RunOptions, Runner};
use agents_testkit::{MockServer, Reply};
use common::{fast_retry, provider, KEY};
use serde_json::Value;

/// Strings planted in the run's input, tool arguments, tool output and model output.
const USER_SECRET: &str = "user-text-7c1e";
const ARG_SECRET: &str = "arg-text-51aa";
const TOOL_SECRET: &str = "tool-output-93bd";
const MODEL_SECRET: &str = "model-output-0f4d";

fn exporter(server: &MockServer) -> OpenAITracesExporter {
    OpenAITracesExporter::new()
        .api_key(KEY)
        .base_url(server.base_url())
        .organization("org-test")
        .project("proj-test")
        .retry(fast_retry(3))
}

fn quick(exporter: OpenAITracesExporter) -> Arc<BatchTraceProcessor> {
    exporter.processor_with(BatchConfig::default().interval(Duration::from_millis(50)))
}

async fn shutdown(p: &Arc<BatchTraceProcessor>) {
    let p = Arc::clone(p);
    tokio::task::spawn_blocking(move || p.shutdown())
        .await
        .expect("shutdown");
}

/// Triage calls `lookup`, hands off to Billing, which answers. Returns the run's trace id.
async fn run(server: &MockServer, processor: Arc<BatchTraceProcessor>, sensitive: bool) -> String {
    server.push_all([
        Reply::function_call("call_1", "lookup", format!(r#"{{"id":"{ARG_SECRET}"}}"#)),
        Reply::function_call("call_2", "transfer_to_billing", "{}"),
        Reply::text(MODEL_SECRET),
    ]);
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Id {
        id: String,
    }
    let lookup = FunctionTool::new(
        "lookup",
        "Looks an order up.",
        |_c: ToolContext, a: Id| async move { Ok::<_, String>(format!("{TOOL_SECRET} {}", a.id)) },
    );
    let billing: Agent = Agent::builder("Billing").model("gpt-4o").build();
    let triage: Agent = Agent::builder("Triage")
        .model("gpt-4o")
        .tool(lookup)
        .handoff_to(&billing)
        .build();
    let config = RunConfig {
        workflow_name: "refund".into(),
        group_id: Some("conv-42".into()),
        trace_include_sensitive_data: sensitive,
        trace_processors: Some(vec![processor as Arc<dyn TraceProcessor>]),
        ..Default::default()
    };
    let options = RunOptions::default()
        .run_config(config)
        .model_provider(Arc::new(provider(server, OpenAIApi::Responses)));
    let result = Runner::run(&triage, format!("refund {USER_SECRET}"), options)
        .await
        .expect("the run succeeds");
    assert_eq!(result.final_output_text(), MODEL_SECRET);
    result.trace_id().expect("a trace id").to_owned()
}

fn by_kind<'a>(spans: &'a [Value], kind: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .filter(|s| s["span_data"]["type"] == kind)
        .collect()
}

#[tokio::test]
async fn a_run_with_a_tool_and_a_handoff_is_ingested_with_its_parent_links() {
    let server = MockServer::start().await;
    let processor = quick(exporter(&server));
    let trace_id = run(&server, Arc::clone(&processor), false).await;
    shutdown(&processor).await;
    server.assert_ok();
    let ingest = server.trace_ingest();
    assert_eq!(ingest.rejections(), Vec::<String>::new());
    assert_eq!(
        processor.stats().failed_batches,
        0,
        "{:?}",
        processor.last_error()
    );

    // Headers as the reference SDK sends them.
    for r in ingest.requests() {
        assert_eq!(r.status, 200);
        assert_eq!(r.authorization.as_deref(), Some(&*format!("Bearer {KEY}")));
        assert_eq!(r.organization.as_deref(), Some("org-test"));
        assert_eq!(r.project.as_deref(), Some("proj-test"));
    }

    // One trace, sent once, with the run's id.
    let traces = ingest.traces();
    assert_eq!(traces.len(), 1, "{traces:#?}");
    assert_eq!(traces[0]["id"], trace_id);
    assert_eq!(traces[0]["workflow_name"], "refund");
    assert_eq!(traces[0]["group_id"], "conv-42");

    let spans = ingest.spans();
    assert!(spans.iter().all(|s| s["trace_id"] == trace_id));
    let ids: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["id"].as_str().expect("id"), s))
        .collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    let parent_of = |s: &Value| -> Option<&Value> {
        s["parent_id"]
            .as_str()
            .map(|p| *ids.get(p).expect("the parent was exported"))
    };

    let agents = by_kind(&spans, "agent");
    let names: Vec<_> = agents
        .iter()
        .map(|a| a["span_data"]["name"].clone())
        .collect();
    assert_eq!(names, ["Triage", "Billing"].map(Value::from));
    let (triage, billing) = (agents[0], agents[1]);
    assert!(triage["parent_id"].is_null() && billing["parent_id"].is_null());
    assert_eq!(triage["span_data"]["tools"], serde_json::json!(["lookup"]));
    assert_eq!(
        triage["span_data"]["handoffs"],
        serde_json::json!(["Billing"])
    );

    let generations = by_kind(&spans, "generation");
    assert_eq!(generations.len(), 3);
    let under: Vec<_> = generations
        .iter()
        .map(|g| parent_of(g).expect("a parent")["span_data"]["name"].clone())
        .collect();
    assert_eq!(under, ["Triage", "Triage", "Billing"].map(Value::from));
    assert!(generations
        .iter()
        .all(|g| g["span_data"]["model"] == "gpt-4o"));

    let functions = by_kind(&spans, "function");
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0]["span_data"]["name"], "lookup");
    assert_eq!(
        parent_of(functions[0]).map(|p| &p["id"]),
        Some(&triage["id"])
    );

    let handoffs = by_kind(&spans, "handoff");
    assert_eq!(handoffs.len(), 1);
    assert_eq!(handoffs[0]["span_data"]["from_agent"], "Triage");
    assert_eq!(handoffs[0]["span_data"]["to_agent"], "Billing");
    assert_eq!(
        parent_of(handoffs[0]).map(|p| &p["id"]),
        Some(&triage["id"])
    );
    assert_eq!(spans.len(), 7, "{spans:#?}");
}

#[tokio::test]
async fn content_is_sent_only_when_the_run_captures_it() {
    for sensitive in [false, true] {
        let server = MockServer::start().await;
        let processor = quick(exporter(&server));
        run(&server, Arc::clone(&processor), sensitive).await;
        shutdown(&processor).await;
        server.assert_ok();
        let ingest = server.trace_ingest();
        assert_eq!(ingest.rejections(), Vec::<String>::new());
        let sent: String = ingest
            .requests()
            .iter()
            .map(|r| r.body.to_string())
            .collect();
        for secret in [USER_SECRET, ARG_SECRET, TOOL_SECRET, MODEL_SECRET] {
            assert_eq!(
                sent.contains(secret),
                sensitive,
                "{secret} with trace_include_sensitive_data = {sensitive}"
            );
        }
        let spans = ingest.spans();
        let generation = by_kind(&spans, "generation")[0]["span_data"].clone();
        let function = by_kind(&spans, "function")[0]["span_data"].clone();
        if sensitive {
            assert!(generation["input"].is_array() && generation["output"].is_array());
            assert!(function["input"]
                .as_str()
                .is_some_and(|i| i.contains(ARG_SECRET)));
            assert!(function["output"]
                .as_str()
                .is_some_and(|o| o.contains(TOOL_SECRET)));
        } else {
            assert!(generation["input"].is_null() && generation["output"].is_null());
            assert!(function["input"].is_null() && function["output"].is_null());
        }
        // Usage is sent either way, with the keys the backend accepts.
        assert!(generation["usage"]["input_tokens"].is_u64(), "{generation}");
    }
}

#[tokio::test]
async fn a_server_error_is_retried_and_the_batch_delivered_once() {
    let server = MockServer::start().await;
    server.trace_ingest().fail_next(500, 1);
    server.trace_ingest().fail_next(429, 1);
    let processor =
        exporter(&server).processor_with(BatchConfig::default().interval(Duration::from_secs(60)));
    run(&server, Arc::clone(&processor), false).await;
    shutdown(&processor).await;
    server.assert_ok();
    let requests = server.trace_ingest().requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [500, 429, 200],
        "one batch: two failures, then delivered"
    );
    assert_eq!(
        requests[0].body, requests[2].body,
        "the same batch is sent again"
    );
    assert_eq!(server.trace_ingest().traces().len(), 1);
    assert_eq!(server.trace_ingest().spans().len(), 7);
    let stats = processor.stats();
    assert_eq!((stats.failed_batches, stats.dropped), (0, 0));
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = MockServer::start().await;
    server.trace_ingest().fail_next(401, 1);
    let processor =
        exporter(&server).processor_with(BatchConfig::default().interval(Duration::from_secs(60)));
    run(&server, Arc::clone(&processor), false).await;
    shutdown(&processor).await;
    server.assert_ok();
    assert_eq!(server.trace_ingest().requests().len(), 1);
    assert_eq!(processor.stats().failed_batches, 1);
    let error = processor.last_error().expect("the failure is kept");
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains(KEY), "{error}");
}

#[tokio::test]
async fn a_dead_or_silent_endpoint_never_fails_or_holds_up_the_run() {
    // Nothing listens on `dead`; `silent` accepts connections and never answers.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/v1", silent.local_addr().unwrap());

    for (url, timeout) in [
        (dead_url, Duration::from_secs(5)),
        (silent_url, Duration::from_millis(100)),
    ] {
        let server = MockServer::start().await;
        let processor = OpenAITracesExporter::new()
            .api_key(KEY)
            .base_url(&url)
            .retry(fast_retry(1))
            .timeout(timeout)
            // Export as soon as anything is queued, while the run goes on.
            .processor_with(BatchConfig::default().max_batch(1));
        // The run finishes though every export attempt fails or hangs.
        run(&server, Arc::clone(&processor), false).await;
        server.assert_ok();
        shutdown(&processor).await;
        // One record per batch: the trace's start and 7 spans fail; its end (not sent) is
        // the only batch that "succeeds".
        let stats = processor.stats();
        assert_eq!(
            (stats.failed_batches, stats.exported),
            (8, 1),
            "{url}: {stats:?}"
        );
        let error = processor.last_error().expect("the failure is kept");
        assert!(!error.contains(KEY), "{error}");
        assert!(error.contains(&url), "{error}");
    }
    drop(silent);
}

#[tokio::test]
async fn without_a_key_nothing_is_sent_and_the_run_succeeds() {
    let server = MockServer::start().await;
    let processor = quick(OpenAITracesExporter::new().base_url(server.base_url()));
    run(&server, Arc::clone(&processor), false).await;
    shutdown(&processor).await;
    server.assert_ok();
    assert!(server.trace_ingest().requests().is_empty());
    let error = processor.last_error().expect("counted");
    assert!(error.contains("OPENAI_API_KEY"), "{error}");
}
