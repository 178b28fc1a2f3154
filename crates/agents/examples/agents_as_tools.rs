//! Run with: cargo run --example agents_as_tools
//!
//! An orchestrator calls two specialist agents as tools. Each call runs the
//! specialist as a nested run of the same agent loop: it inherits the run
//! configuration and context, and its usage counts towards the whole run.
//! One of the tools streams its nested run's events to a callback.
//!
//! Offline by default (a scripted local server); set `OPENAI_API_KEY` to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::{AgentToolEvent, ModelStreamEvent};
use agents_testkit::Reply;

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
        // The orchestrator asks the Spanish translator...
        Reply::function_call(
            "call_es",
            "translate_to_spanish",
            r#"{"input":"Good morning, friends!"}"#,
        ),
        // ...which answers in its nested run.
        Reply::text("¡Buenos días, amigos!"),
        // Then the French translator, in another nested run.
        Reply::function_call(
            "call_fr",
            "translate_to_french",
            r#"{"input":"Good morning, friends!"}"#,
        ),
        Reply::text("Bonjour, les amis !").chunked(5),
        // The orchestrator sums up.
        Reply::text("Spanish: ¡Buenos días, amigos!\nFrench: Bonjour, les amis !"),
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

    let spanish: Agent = Agent::builder("Spanish translator")
        .instructions("Translate the user's message to Spanish. Reply with the translation only.")
        .model(model.as_str())
        .build();
    let french: Agent = Agent::builder("French translator")
        .instructions("Translate the user's message to French. Reply with the translation only.")
        .model(model.as_str())
        .build();
    let orchestrator: Agent = Agent::builder("Orchestrator")
        .instructions(
            "You translate with your tools, never by yourself. \
             Call each translation tool the user asks for, then list the results.",
        )
        .model(model.as_str())
        .tool(
            spanish
                .as_tool("translate_to_spanish", "Translates the input to Spanish.")
                .max_turns(Some(3)),
        )
        .tool(
            french
                .as_tool("translate_to_french", "Translates the input to French.")
                .on_stream(|e: AgentToolEvent| {
                    if let agents::RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta {
                        delta,
                        ..
                    }) = &e.event
                    {
                        println!("[{} streams] {delta}", e.agent);
                    }
                }),
        )
        .build();

    let options = RunOptions::default().model_provider(provider.clone());
    let result = Runner::run(
        &orchestrator,
        "Say 'Good morning, friends!' in Spanish and in French.",
        options,
    )
    .await?;
    for item in &result.new_items {
        if let agents::RunItemKind::ToolCallOutput { output, .. } = &item.kind {
            println!("[tool output] {}", output.to_text());
        }
    }
    println!("\n{}", result.final_output_text());
    println!(
        "\nModel requests, nested runs included: {}",
        result.usage.requests
    );
    Ok(())
}
