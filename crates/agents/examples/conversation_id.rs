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

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = common::backend(
        OpenAIApi::Responses,
        vec![
            Reply::text("Nice to meet you, Ada."),
            Reply::text("Your name is Ada."),
        ],
    )
    .await;
    let conversation = if backend._server.is_some() {
        "conv_offline_example".to_owned()
    } else {
        create_conversation().await?
    };
    println!("(conversation: {conversation})");

    let agent: Agent = Agent::builder("Assistant")
        .instructions("Reply very concisely.")
        .model(backend.model.as_str())
        .build();
    for question in ["My name is Ada.", "What is my name?"] {
        let options = RunOptions::default()
            .conversation_id(conversation.as_str())
            .run_config(RunConfig {
                model_provider: Some(backend.provider.clone()),
                ..Default::default()
            });
        println!("User: {question}");
        let result = Runner::run(&agent, question, options).await?;
        println!("Assistant: {}", result.final_output_text());
    }
    Ok(())
}
