//! Run with: cargo run --example previous_response_id
//!
//! Conversation state kept by the server (Responses API): each request names
//! the previous response with `previous_response_id`, and carries only the
//! items the server has not seen yet.
//!
//! - `auto_previous_response_id(true)` chains the turns of one run from the
//!   first turn on: after a tool call, the next request sends just the tool
//!   output.
//! - `result.last_response_id()` continues the conversation in the next run,
//!   which sends just the new user message.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents_testkit::Reply;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    /// The city to look up.
    city: String,
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
        Reply::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("It is sunny in Paris."),
        Reply::text("Take sunglasses rather than an umbrella."),
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
    let weather = FunctionTool::new(
        "get_weather",
        "Current weather of a city.",
        |_ctx: ToolContext, args: City| async move {
            Ok::<_, String>(format!("Sunny, 22 °C in {}.", args.city))
        },
    );
    let agent: Agent = Agent::builder("Assistant")
        .instructions("Reply very concisely. Use get_weather for weather questions.")
        .model(model.as_str())
        .tool(weather)
        .build();
    let options = || RunOptions::default().model_provider(provider.clone());

    println!("User: What's the weather in Paris?");
    let first = Runner::run(
        &agent,
        "What's the weather in Paris?",
        options().auto_previous_response_id(true),
    )
    .await?;
    println!("Assistant: {}", first.final_output_text());
    let last = first
        .last_response_id()
        .ok_or("the server returned no response id")?
        .to_owned();
    println!("(last response: {last})");

    println!("User: Should I take an umbrella?");
    let second = Runner::run(
        &agent,
        "Should I take an umbrella?",
        options().previous_response_id(last),
    )
    .await?;
    println!("Assistant: {}", second.final_output_text());
    Ok(())
}
