//! Run with: cargo run --example mixed_providers
//!
//! One conversation across three providers: a triage agent on OpenAI hands
//! weather questions to an agent on Gemini (which has the weather tool) and
//! writing to an agent on Anthropic Claude. One session keeps the history in
//! provider-neutral items, so each turn starts at triage and every provider
//! sees the conversation so far — without another provider's reasoning, which
//! it would not accept.
//!
//! Offline by default (one scripted local server speaking the OpenAI,
//! Anthropic and Gemini APIs, each request checked against that API's
//! official types). Set all of `OPENAI_API_KEY`, `ANTHROPIC_API_KEY` and
//! `GEMINI_API_KEY` (or `GOOGLE_API_KEY`) to use the real services.

use std::sync::Arc;

use agents::anthropic::AnthropicProvider;
use agents::gemini::GeminiProvider;
use agents::openai::{MultiProvider, OpenAIProvider};
use agents::prelude::*;
use agents::{MemorySession, Session};
use agents_testkit::{MockServer, Reply};

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

/// A local server playing the three models, unless every key is set.
async fn offline_server() -> Option<MockServer> {
    let missing: Vec<&str> = [
        (
            "OPENAI_API_KEY",
            std::env::var_os("OPENAI_API_KEY").is_some(),
        ),
        (
            "ANTHROPIC_API_KEY",
            std::env::var_os("ANTHROPIC_API_KEY").is_some(),
        ),
        (
            "GEMINI_API_KEY",
            std::env::var_os("GEMINI_API_KEY").is_some()
                || std::env::var_os("GOOGLE_API_KEY").is_some(),
        ),
    ]
    .into_iter()
    .filter(|(_, set)| !set)
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        println!("Using the OpenAI, Anthropic and Gemini APIs.");
        return None;
    }
    println!(
        "{} not set: running offline against a scripted local server speaking the three APIs \
         (agents-testkit on 127.0.0.1).",
        missing.join(", ")
    );
    let server = MockServer::start().await;
    server.push_all([
        // Turn 1. OpenAI (triage) hands off to Gemini.
        Reply::function_call("call_1", "transfer_to_weather", "{}"),
        // Gemini calls the tool, then answers.
        Reply::function_call("unused", "get_weather", r#"{"city":"Oslo"}"#),
        Reply::text("It is sunny and 22 °C in Oslo."),
        // Turn 2. OpenAI hands off to Claude, which writes.
        Reply::function_call("call_2", "transfer_to_writer", "{}"),
        Reply::text(
            "Fjord light, no coat on—\nOslo basks at twenty-two,\nsummer holds its breath.",
        ),
    ]);
    Some(server)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let offline = offline_server().await;

    // The configuration: each provider from its environment variables, the
    // native ones behind the `anthropic/` and `gemini/` prefixes (this is
    // what `agents::multi_provider_from_env()` builds). Offline, only the
    // base URLs and keys point at the local server. (Claude without extended
    // thinking here: with thinking on, the API refuses a request whose last
    // assistant turn is another model's tool call, such as the handoff.)
    let mut openai = OpenAIProvider::builder();
    let mut claude = AnthropicProvider::builder();
    let mut gemini = GeminiProvider::builder();
    if let Some(server) = &offline {
        openai = openai
            .ignore_env()
            .base_url(server.base_url())
            .api_key("offline");
        claude = claude
            .ignore_env()
            .base_url(server.base_url())
            .api_key("offline");
        gemini = gemini
            .ignore_env()
            .base_url(server.base_url().replace("/v1", "/v1beta"))
            .api_key("offline");
    }
    let provider = Arc::new(
        MultiProvider::new(openai.build())
            .with_provider("anthropic", Arc::new(claude.build()))
            .with_provider("gemini", Arc::new(gemini.build())),
    );

    let weather: Agent = Agent::builder("Weather")
        .instructions("Answer weather questions. Always call get_weather first.")
        .model("gemini/gemini-2.5-flash")
        .tool(get_weather())
        .build();
    let writer: Agent = Agent::builder("Writer")
        .instructions("Write what the user asks for, using the conversation so far.")
        .model("anthropic/claude-sonnet-4-5")
        .build();
    let triage: Agent = Agent::builder("Triage")
        .instructions(
            "Hand weather questions to Weather and writing requests to Writer. \
             Never answer yourself.",
        )
        .model("gpt-4.1-mini")
        .handoff_to(&weather)
        .handoff_to(&writer)
        .build();

    let session: Arc<dyn Session> = Arc::new(MemorySession::new("mixed-providers"));
    for question in [
        "What's the weather in Oslo?",
        "Write a haiku about that weather.",
    ] {
        let options = RunOptions::default()
            .model_provider(provider.clone())
            .session(session.clone());
        let result = Runner::run(&triage, question, options).await?;
        println!("\nUser: {question}");
        println!(
            "{}: {}",
            result.last_agent.name(),
            result.final_output_text()
        );
    }

    let items = session.get_items(None).await?;
    println!(
        "\nThe session holds {} provider-neutral items.",
        items.len()
    );
    if let Some(server) = offline {
        server.assert_ok(); // every request matched its API's official types
        for request in server.requests() {
            println!("  sent to {}", request.path);
        }
    }
    Ok(())
}
