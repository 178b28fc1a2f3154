//! Run with: cargo run --example handoffs
//!
//! A triage agent routes the customer to one of two specialists with a
//! handoff. The billing handoff takes typed arguments (the reason, passed to
//! an `on_handoff` callback); the technical handoff hides earlier tool calls
//! from the specialist with a ready-made input filter. The stream shows each
//! agent switch.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use agents::handoff::filters;
use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::RunItemKind;
use agents_testkit::Reply;

/// What the triage agent passes to billing.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct BillingEscalation {
    /// One sentence: why the customer needs billing.
    reason: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A failed run prints one line with a hint (a 401 says to check the key).
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Offline unless OPENAI_API_KEY is set: a scripted local server then plays
    // the model, with these replies.
    let offline = common::offline_server(vec![
        // Triage hands off to billing, with its reason.
        Reply::function_call(
            "call_handoff_1",
            "transfer_to_billing_agent",
            r#"{"reason":"The customer was charged twice for one subscription."}"#,
        ),
        // Billing answers.
        Reply::text(
            "I'm sorry about the double charge. I've flagged the duplicate payment; \
                 the refund will reach your card within 5 business days.",
        ),
    ])
    .await;

    // The configuration: the OpenAI Responses API, with the key and base URL
    // from the environment (OPENAI_API_KEY, OPENAI_BASE_URL). Offline, only
    // the base URL and the key point at the local server.
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::Responses);
    if let Some(server) = &offline {
        provider = provider.base_url(server.base_url()).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());

    let billing: Agent = Agent::builder("Billing agent")
        .handoff_description("Charges, invoices and refunds.")
        .instructions("You handle billing questions. Be concrete about refunds and timelines.")
        .model(model.as_str())
        .build();
    let technical: Agent = Agent::builder("Technical support")
        .handoff_description("Bugs, crashes and how-to questions about the app.")
        .instructions("You troubleshoot the app step by step.")
        .model(model.as_str())
        .build();
    let triage: Agent = Agent::builder("Triage")
        .instructions(
            "Find out what the customer needs and hand off to the right specialist. \
             Do not answer yourself.",
        )
        .model(model.as_str())
        .handoff(
            Handoff::to(&billing).on_handoff_typed(|_ctx, e: BillingEscalation| async move {
                println!("[on_handoff] billing escalation: {}", e.reason);
                Ok(())
            }),
        )
        .handoff(Handoff::to(&technical).input_filter(filters::remove_all_tools))
        .build();

    let options = RunOptions::default().model_provider(provider.clone());
    let mut run = Runner::run_streamed(
        &triage,
        "Hi, I was charged twice for my subscription this month.",
        options,
    );
    while let Some(event) = run.next().await {
        match event {
            RunStreamEvent::AgentUpdated { agent } => println!("[agent] {agent}"),
            RunStreamEvent::RunItem { item, .. } => {
                if let RunItemKind::HandoffOutput { source, target } = &item.kind {
                    println!("[handoff] {source} -> {target}");
                }
            }
            _ => {}
        }
    }
    let result = run.result().await?;
    println!(
        "\n{} answered:\n{}",
        result.last_agent.name(),
        result.final_output_text()
    );
    Ok(())
}
