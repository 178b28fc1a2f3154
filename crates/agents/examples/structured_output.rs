//! Run with: cargo run --example structured_output
//!
//! An agent whose final output is a typed Rust value: the schema comes from
//! the type, and the model's JSON is validated by deserializing it.
//!
//! Offline by default (a scripted local server); set `OPENAI_API_KEY` to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents_testkit::Reply;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Recipe {
    /// Name of the dish.
    title: String,
    /// Ingredients with quantities.
    ingredients: Vec<String>,
    /// Minutes from start to table.
    minutes: u32,
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
    let offline = common::offline_server(vec![Reply::text(
        r#"{"title":"Pancakes","ingredients":["200 g flour","2 eggs","300 ml milk"],"minutes":20}"#,
    )])
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
    let agent: Agent = Agent::builder("Chef")
        .instructions("Give one simple recipe.")
        .model(model.as_str())
        .output_type::<Recipe>()
        .build();
    let options = RunOptions::default().model_provider(provider.clone());
    let result = Runner::run(&agent, "Something sweet for breakfast?", options).await?;
    let recipe: Recipe = result.final_output_as()?;
    println!("{} ({} minutes)", recipe.title, recipe.minutes);
    for ingredient in &recipe.ingredients {
        println!("- {ingredient}");
    }
    Ok(())
}
