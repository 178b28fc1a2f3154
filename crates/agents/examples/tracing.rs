//! Run with: cargo run --example tracing
//!
//! Traces of a run: a triage agent calls a tool and hands off to a billing
//! agent; every phase becomes a span (agent, generation, function, handoff).
//! The spans go to a JSON-lines file (`target/traces.jsonl`), through the
//! batching processor, and the run prints its trace id and its usage per
//! agent and per model.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set (`http://127.0.0.1:6006` for a
//! local Arize Phoenix, `http://127.0.0.1:4318` for a collector or Jaeger),
//! the spans are exported over OTLP instead, as OpenTelemetry GenAI spans.
//! Message content is not recorded unless
//! `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::tracing::{add_trace_processor, JsonlExporter, TraceProcessor};
use agents::ModelProvider;
use agents_testkit::Reply;

/// Looks an order up.
#[tool]
async fn lookup_order(#[arg("The order number")] id: u32) -> String {
    format!("Order {id}: one kettle, paid 39 EUR, delivered broken.")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let offline = common::offline_server(vec![
        Reply::function_call("call_lookup_1", "lookup_order", r#"{"id":7}"#),
        Reply::function_call("call_handoff_1", "transfer_to_billing", "{}"),
        Reply::text("I have refunded the 39 EUR for order 7."),
    ])
    .await;

    // Where the spans go: OTLP when an endpoint is set, else a JSON-lines file.
    let otel = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => {
            let pipeline = agents_otel::OtelConfig::from_env()
                .service_name("tracing-example")
                .build()?;
            println!("Exporting spans over OTLP to {endpoint}.");
            add_trace_processor(pipeline.processor());
            Some(pipeline)
        }
        _ => None,
    };
    let jsonl = if otel.is_none() {
        let path = "target/traces.jsonl";
        let processor = Arc::new(JsonlExporter::processor(path)?);
        add_trace_processor(processor.clone());
        println!("Writing spans to {path} (one JSON object per line).");
        Some(processor)
    } else {
        None
    };

    // The configuration: the OpenAI Responses API, with the key and base URL
    // from the environment. Offline, only the base URL and the key point at
    // the local server.
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::Responses);
    if let Some(server) = &offline {
        provider = provider.base_url(server.base_url()).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());

    let billing: Agent = Agent::builder("Billing")
        .instructions("Refund broken deliveries.")
        .model(model.as_str())
        .build();
    let triage: Agent = Agent::builder("Triage")
        .instructions("Look the order up, then hand billing questions to Billing.")
        .model(model.as_str())
        .tool(lookup_order())
        .handoff_to(&billing)
        .build();

    // The trace settings of the run: its workflow name, a group id for the
    // conversation, metadata. The trace id is generated (`trace_<32 hex>`).
    let config = RunConfig {
        workflow_name: "refund request".into(),
        group_id: Some("conversation-7".into()),
        trace_metadata: vec![("channel".into(), "email".into())],
        ..RunConfig::default()
    };
    let options = RunOptions::default()
        .run_config(config)
        .model_provider(provider);
    let result = Runner::run(&triage, "My kettle from order 7 arrived broken.", options).await?;

    println!("\nFinal output: {}", result.final_output_text());
    println!(
        "Trace id: {}",
        result.trace_id().unwrap_or("(tracing disabled)")
    );
    for (agent, usage) in &result.usage_by_agent {
        println!(
            "  {agent}: {} requests, {} tokens",
            usage.requests, usage.total_tokens
        );
    }
    for (model, usage) in &result.usage_by_model {
        println!("  {model}: {} tokens", usage.total_tokens);
    }

    // Export what is queued before the program exits.
    if let Some(p) = otel {
        p.shutdown();
    }
    if let Some(p) = jsonl {
        p.shutdown();
        let spans = std::fs::read_to_string("target/traces.jsonl")?
            .lines()
            .filter(|l| l.contains(r#""object":"span""#))
            .count();
        println!("target/traces.jsonl holds {spans} spans so far.");
    }
    Ok(())
}
