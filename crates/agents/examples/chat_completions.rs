//! Run with: cargo run --example chat_completions
//!
//! The same agent loop over the Chat Completions API, which every
//! OpenAI-compatible server speaks. Point it at a local server, e.g. Ollama:
//!
//! ```sh
//! OPENAI_API_KEY=ollama OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 \
//!     cargo run --example chat_completions
//! ```
//!
//! Offline by default (a scripted local server).

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents_testkit::Reply;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
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
        Reply::function_call("call_add_1", "add", r#"{"a":19,"b":23}"#),
        Reply::text("19 + 23 = 42."),
    ])
    .await;

    // The configuration: the OpenAI Chat Completions API, with the key and base URL
    // from the environment (OPENAI_API_KEY, OPENAI_BASE_URL). Offline, only
    // the base URL and the key point at the local server.
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::ChatCompletions);
    if let Some(server) = &offline {
        provider = provider.base_url(server.base_url()).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());

    let add = FunctionTool::new(
        "add",
        "Adds two integers.",
        |_ctx: ToolContext, args: Add| async move { Ok::<_, String>((args.a + args.b).to_string()) },
    );
    let agent: Agent = Agent::builder("Calculator")
        .instructions("Use the add tool for arithmetic, then answer briefly.")
        .model(model.as_str())
        .tool(add)
        .build();
    let options = RunOptions::default().model_provider(provider.clone());
    let result = Runner::run(&agent, "What is 19 + 23?", options).await?;
    println!("{}", result.final_output_text());
    println!("({} model requests)", result.usage.requests);
    Ok(())
}
