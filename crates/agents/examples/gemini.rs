//! Run with: cargo run --example gemini
//!
//! An agent on a Google Gemini model with one function tool and a thinking
//! budget. The answer is streamed as it arrives; thought summaries are
//! printed as reasoning, and the thought signature Gemini put on the tool
//! call is replayed on the next request.
//!
//! Offline by default (a scripted local Gemini API server); set
//! `GEMINI_API_KEY` (or `GOOGLE_API_KEY`, and optionally `GEMINI_BASE_URL`,
//! `GEMINI_MODEL`) to use the real service.

mod common;

use std::sync::Arc;

use agents::gemini::{GeminiProvider, GeminiThinking};
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

/// A local Gemini API server replaying the model's replies, unless a key is set.
async fn offline_server() -> Option<MockServer> {
    if std::env::var_os("GEMINI_API_KEY").is_some() || std::env::var_os("GOOGLE_API_KEY").is_some()
    {
        println!("Using the Gemini API (GEMINI_API_KEY / GOOGLE_API_KEY).");
        return None;
    }
    println!(
        "GEMINI_API_KEY is not set: running offline against a scripted local Gemini server \
         (agents-testkit on 127.0.0.1)."
    );
    let server = MockServer::start().await;
    server.push_all([
        Reply::reasoning(
            Reasoning::new()
                .summary("The user wants the weather; call get_weather.")
                .encrypted_content("opaque-thought-signature"),
        )
        .with_function_call("unused", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("It is sunny and 22 °C in Paris.").chunked(6),
    ]);
    Some(server)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let offline = offline_server().await;

    // The configuration: key and base URL from the environment, thoughts on.
    // Offline, only the base URL and the key point at the local server.
    let mut provider =
        GeminiProvider::builder().thinking(GeminiThinking::budget(1024).include_thoughts(true));
    if let Some(server) = &offline {
        provider = provider
            .base_url(server.base_url().replace("/v1", "/v1beta"))
            .api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("GEMINI_MODEL").unwrap_or_else(|_| "gemini-2.5-flash".to_owned());

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
        "Usage: {} requests, {} input tokens, {} output tokens ({} thinking)",
        result.usage.requests,
        result.usage.input_tokens,
        result.usage.output_tokens,
        result.usage.reasoning_tokens
    );
    if let Some(server) = offline {
        server.assert_ok(); // every request matched the official google-genai types
    }
    Ok(())
}
