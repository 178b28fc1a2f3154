//! Run with: cargo run --example manual_history
//!
//! Conversation memory kept by hand: the first run's `to_input_list()` (its
//! input plus every item it produced) becomes the second run's input, with
//! the new user message appended. Nothing is stored anywhere else, and every
//! request carries the whole conversation.
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
        Reply::text("Nice to meet you, Ada. The Golden Gate Bridge is in San Francisco."),
        Reply::text("Your name is Ada."),
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
    let agent: Agent = Agent::builder("Assistant")
        .instructions("Reply very concisely.")
        .model(model.as_str())
        .build();
    let options = || RunOptions::default().model_provider(provider.clone());

    let question = "My name is Ada. Where is the Golden Gate Bridge?";
    println!("User: {question}");
    let first = Runner::run(&agent, question, options()).await?;
    println!("Assistant: {}", first.final_output_text());

    // The whole conversation so far, plus the next message.
    let mut input = first.to_input_list();
    input.push(Item::user("What is my name?"));
    println!("User: What is my name?   ({} items sent)", input.len());
    let second = Runner::run(&agent, input, options()).await?;
    println!("Assistant: {}", second.final_output_text());
    Ok(())
}
