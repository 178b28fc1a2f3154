//! Run with: cargo run --example conversation_id
//!
//! Conversation state kept by the server in a Conversation object
//! (Responses API `conversation`): every request names the conversation and
//! carries only the new items of the turn; the server appends each turn to
//! the conversation.
//!
//! Offline by default (a scripted local OpenAI-compatible server and a
//! made-up conversation id); set `OPENAI_API_KEY` (and optionally
//! `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use a real endpoint, where the
//! example creates a conversation first (or uses `OPENAI_CONVERSATION_ID`).

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents_testkit::Reply;

/// Creates a conversation on a real endpoint: `POST /conversations`.
async fn create_conversation() -> Result<String, Box<dyn std::error::Error>> {
    if let Ok(id) = std::env::var("OPENAI_CONVERSATION_ID") {
        return Ok(id);
    }
    let provider = OpenAIProvider::from_env();
    let client = provider.client();
    let http = client.http_client().ok_or("no HTTP client")?;
    let config = client.config();
    let reply = http
        .post(config.url("/conversations"))
        .headers(config.headers())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let body: serde_json::Value = serde_json::from_slice(&reply)?;
    Ok(body["id"].as_str().ok_or("no conversation id")?.to_owned())
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
        Reply::text("Nice to meet you, Ada."),
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
    let conversation = if offline.is_some() {
        "conv_offline_example".to_owned()
    } else {
        create_conversation().await?
    };
    println!("(conversation: {conversation})");

    let agent: Agent = Agent::builder("Assistant")
        .instructions("Reply very concisely.")
        .model(model.as_str())
        .build();
    for question in ["My name is Ada.", "What is my name?"] {
        let options = RunOptions::default()
            .conversation_id(conversation.as_str())
            .model_provider(provider.clone());
        println!("User: {question}");
        let result = Runner::run(&agent, question, options).await?;
        println!("Assistant: {}", result.final_output_text());
    }
    Ok(())
}
