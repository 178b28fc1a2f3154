//! Run with: cargo run --example anthropic
//!
//! An agent on an Anthropic Claude model with one function tool, extended
//! thinking and prompt caching. The answer is streamed as it arrives; the
//! thinking is printed as reasoning, and its signed block is replayed byte for
//! byte on the request after the tool call, as the API requires.
//!
//! Offline by default (a scripted local Messages API server whose every
//! request is checked against the official `anthropic` package's types); set
//! `ANTHROPIC_API_KEY` (and optionally `ANTHROPIC_BASE_URL`,
//! `ANTHROPIC_MODEL`) to use the real service.

mod common;

use std::sync::Arc;

use agents::anthropic::{AnthropicProvider, AnthropicSettings};
use agents::prelude::*;
use agents::ModelProvider;
use agents_testkit::{MockServer, Reasoning, Reply};

/// Current weather of a city.
#[tool]
async fn get_weather(#[arg("The city to look up")] city: String) -> String {
    format!("Sunny, 22 °C in {city}.")
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

/// A local Messages API server replaying the model's replies, unless a key is set.
async fn offline_server() -> Option<MockServer> {
    if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
        println!("Using the Anthropic API (ANTHROPIC_API_KEY).");
        return None;
    }
    println!(
        "ANTHROPIC_API_KEY is not set: running offline against a scripted local Messages API \
         server (agents-testkit on 127.0.0.1)."
    );
    let server = MockServer::start().await;
    server.push_all([
        // A signed thinking block, then the tool call it led to.
        Reply::reasoning(
            Reasoning::new()
                .summary("The user wants the weather in Paris; call get_weather.")
                .encrypted_content("EqQBCkYIBRgCIkB-offline-signature"),
        )
        .with_function_call("toolu_01", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("It is sunny and 22 °C in Paris.").chunked(6),
    ]);
    Some(server)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let offline = offline_server().await;

    // The configuration: key and base URL from the environment, extended
    // thinking with a 2,048-token budget (max_tokens must exceed it), and cache
    // breakpoints on the system prompt and the tool definitions. Offline, only
    // the base URL and the key point at the local server.
    let settings = AnthropicSettings::new()
        .max_tokens(8192)
        .thinking_budget(2048)
        .cache_system(true)
        .cache_tools(true);
    let mut provider = AnthropicProvider::builder().settings(settings);
    if let Some(server) = &offline {
        provider = provider.base_url(server.base_url()).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("ANTHROPIC_MODEL").unwrap_or_else(|_| "claude-sonnet-4-5".to_owned());

    let agent: Agent = Agent::builder("Weather assistant")
        .instructions("Answer weather questions. Always call get_weather first.")
        .model(model.as_str())
        .tool(get_weather())
        .build();

    let options = RunOptions::default().model_provider(provider);
    let run = Runner::run_streamed(&agent, "What's the weather in Paris?", options);
    let result = common::print_streamed(run).await?;
    println!("\n\nFinal output: {}", result.final_output_text());
    println!(
        "Usage: {} requests, {} input tokens ({} read from the cache), {} output tokens",
        result.usage.requests,
        result.usage.input_tokens,
        result.usage.cached_input_tokens,
        result.usage.output_tokens,
    );
    if let Some(server) = offline {
        // Every request matched the official `anthropic` types, and the second one
        // carried the thinking block back before its tool_use.
        server.assert_ok();
        let replayed = &server.requests()[1].body["messages"][1]["content"][0];
        println!(
            "Replayed to the API: a {} block with its signature",
            replayed["type"]
        );
    }
    Ok(())
}
