//! Run with: cargo run --example session_memory
//!
//! (add `--features sqlite` for the SQLite half; without it only the memory
//! session runs)
//!
//! Conversation memory kept by a session. The run loads the history before
//! the first model call, saves the new input, and saves each turn's items,
//! so the caller only passes the new message. Two sessions are shown:
//! `SqliteSession` (a file that survives restarts and that
//! openai-agents-python's `SQLiteSession` can read too) and `MemorySession`
//! (in memory, for tests and short-lived processes).
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint. Set `SESSION_DB` to keep the SQLite file somewhere (by
//! default it goes to a temporary directory that is removed at the end).

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::MemorySession;
use agents::ModelProvider;
use agents_testkit::Reply;

async fn conversation(
    label: &str,
    agent: &Agent,
    session: Arc<dyn Session>,
    provider: &Arc<dyn agents::ModelProvider>,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("--- {label} (session `{}`)", session.session_id());
    for question in [
        "My name is Ada. Where is the Golden Gate Bridge?",
        "What is my name?",
    ] {
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .model_provider(Arc::clone(provider));
        println!("User: {question}");
        let result = Runner::run(agent, question, options).await?;
        println!("Assistant: {}", result.final_output_text());
    }
    let stored = session.get_items(None).await?;
    println!("The session now holds {} items:", stored.len());
    for item in &stored {
        let text = item.as_message().map(|m| m.text()).unwrap_or_default();
        println!("  {:<8} {text}", item.kind());
    }
    Ok(())
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
    let script = || {
        [
            Reply::text("Nice to meet you, Ada. The Golden Gate Bridge is in San Francisco."),
            Reply::text("Your name is Ada."),
        ]
    };
    // Offline unless OPENAI_API_KEY is set: a scripted local server then plays
    // the model, with these replies.
    let offline = common::offline_server(script().into_iter().chain(script()).collect()).await;

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

    #[cfg(feature = "sqlite")]
    {
        use agents::sqlite::SqliteSession;
        let temp = tempfile::tempdir()?;
        let path = match std::env::var_os("SESSION_DB") {
            Some(p) => p.into(),
            None => temp.path().join("conversations.db"),
        };
        let sqlite = SqliteSession::open(&path, "user_123")?;
        sqlite.clear().await?; // start this demo afresh
        conversation("SQLite", &agent, Arc::new(sqlite), &provider).await?;
        println!("(stored in {})", path.display());
    }
    #[cfg(not(feature = "sqlite"))]
    println!("(built without the `sqlite` feature: add `--features sqlite` for SqliteSession)");

    let memory = MemorySession::new("user_456");
    conversation("in memory", &agent, Arc::new(memory), &provider).await?;
    Ok(())
}
