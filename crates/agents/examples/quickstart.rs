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

use agents::openai::OpenAIApi;
use agents::prelude::*;
use agents::{ModelStreamEvent, RunItemKind};
use agents_testkit::Reply;

/// Current weather of a city.
#[tool]
async fn get_weather(#[arg("The city to look up")] city: String) -> String {
    format!("Sunny, 22 °C in {city}.")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = common::backend(
        OpenAIApi::Responses,
        vec![
            Reply::function_call("call_weather_1", "get_weather", r#"{"city":"Paris"}"#),
            Reply::text(
                "It is sunny and 22 °C in Paris: a fine afternoon for a walk along the Seine.",
            )
            .chunked(6),
        ],
    )
    .await;

    let agent: Agent = Agent::builder("Weather assistant")
        .instructions("Answer weather questions. Always call get_weather first.")
        .model(backend.model.as_str())
        .tool(get_weather())
        .build();

    let options = RunOptions::default().run_config(RunConfig {
        model_provider: Some(backend.provider.clone()),
        ..Default::default()
    });
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
