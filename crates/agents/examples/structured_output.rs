//! Run with: cargo run --example structured_output
//!
//! An agent whose final output is a typed Rust value: the schema comes from
//! the type, and the model's JSON is validated by deserializing it.
//!
//! Offline by default (a scripted local server); set `OPENAI_API_KEY` to use
//! a real endpoint.

mod common;

use agents::openai::OpenAIApi;
use agents::prelude::*;
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = common::backend(
        OpenAIApi::Responses,
        vec![Reply::text(
            r#"{"title":"Pancakes","ingredients":["200 g flour","2 eggs","300 ml milk"],"minutes":20}"#,
        )],
    )
    .await;
    let agent: Agent = Agent::builder("Chef")
        .instructions("Give one simple recipe.")
        .model(backend.model.as_str())
        .output_type::<Recipe>()
        .build();
    let options = RunOptions::default().run_config(RunConfig {
        model_provider: Some(backend.provider.clone()),
        ..Default::default()
    });
    let result = Runner::run(&agent, "Something sweet for breakfast?", options).await?;
    let recipe: Recipe = result.final_output_as()?;
    println!("{} ({} minutes)", recipe.title, recipe.minutes);
    for ingredient in &recipe.ingredients {
        println!("- {ingredient}");
    }
    Ok(())
}
