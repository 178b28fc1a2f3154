//! Run with: cargo run --example quickstart
//!
//! An agent with one function tool. The answer is streamed as it arrives,
//! then the final output and the usage are printed.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::io::Write;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::{ModelStreamEvent, RunItemKind};
use agents_testkit::Reply;

/// Current weather of a city.
#[tool]
async fn get_weather(#[arg("The city to look up")] city: String) -> String {
    format!("Sunny, 22 °C in {city}.")
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
        Reply::function_call("call_weather_1", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("It is sunny and 22 °C in Paris: a fine afternoon for a walk along the Seine.")
            .chunked(6),
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

    let agent: Agent = Agent::builder("Weather assistant")
        .instructions("Answer weather questions. Always call get_weather first.")
        .model(model.as_str())
        .tool(get_weather())
        .build();

    let options = RunOptions::default().model_provider(provider.clone());
    let mut run = Runner::run_streamed(&agent, "What's the weather in Paris?", options);
    while let Some(event) = run.next().await {
        match event {
            RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { delta, .. }) => {
                print!("{delta}");
                std::io::stdout().flush()?;
            }
            RunStreamEvent::RunItem { item, .. } => match (&item.kind, &item.item) {
                (RunItemKind::ToolCall, Item::FunctionCall(call)) => {
                    println!("[tool call] {}({})", call.name, call.arguments)
                }
                (RunItemKind::ToolCallOutput { output, .. }, _) => {
                    println!("[tool output] {}", output.to_text())
                }
                _ => {}
            },
            _ => {}
        }
    }
    let result = run.result().await?;
    println!("\n\nFinal output: {}", result.final_output_text());
    println!(
        "Usage: {} requests, {} input tokens, {} output tokens, {} total",
        result.usage.requests,
        result.usage.input_tokens,
        result.usage.output_tokens,
        result.usage.total_tokens
    );
    Ok(())
}
