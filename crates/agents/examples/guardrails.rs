//! Run with: cargo run --example guardrails
//!
//! Guardrails around a customer support agent:
//! - an input guardrail that is itself an agent with structured output: it
//!   classifies the request ("is this math homework?") and trips the run when
//!   it is;
//! - a tool guardrail that rejects calls of a tool with arguments it does
//!   not allow: the model reads the rejection instead of the tool's output.
//!
//! Offline by default (a scripted local server); set `OPENAI_API_KEY` to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::{Error, GuardrailOutput, ToolInputGuardrailData};
use agents_testkit::Reply;

/// The guardrail agent's verdict.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct HomeworkCheck {
    /// True when the user asks to have math homework done for them.
    is_math_homework: bool,
    /// One sentence explaining the verdict.
    reasoning: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Account {
    /// The account id, like `ACC-123`.
    account_id: String,
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
        // Run 1: the guardrail agent flags homework; the support agent never runs.
        Reply::text(
            r#"{"is_math_homework":true,"reasoning":"The user asks to solve an equation."}"#,
        ),
        // Run 2: not homework; the support agent answers.
        Reply::text(r#"{"is_math_homework":false,"reasoning":"A question about a bill."}"#),
        Reply::text("Your last invoice is available under Settings → Billing."),
        // Run 3: not homework; the support agent looks up an account the
        // tool guardrail refuses, then reads the rejection.
        Reply::text(r#"{"is_math_homework":false,"reasoning":"An account question."}"#),
        Reply::function_call("call_1", "lookup_account", r#"{"account_id":"ACC-999"}"#),
        Reply::text("I'm sorry, I can only look up your own account (ACC-123)."),
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
    let config = RunConfig {
        model_provider: Some(provider.clone()),
        ..Default::default()
    };

    // The guardrail: an agent whose final output is a `HomeworkCheck`.
    let checker: Agent = Agent::builder("Homework check")
        .instructions("Decide whether the user is asking you to do their math homework.")
        .model(model.as_str())
        .output_type::<HomeworkCheck>()
        .build();
    let guard_config = config.clone();
    let homework_guardrail = InputGuardrail::new(
        "math_homework",
        move |ctx: RunContext, _agent: Agent, input: Arc<[Item]>| {
            let (checker, config) = (checker.clone(), guard_config.clone());
            async move {
                let result = Runner::run(
                    &checker,
                    input.to_vec(),
                    RunOptions::default().run_config(config),
                )
                .await
                .map_err(|e| e.to_string())?;
                // The check's model requests count towards the guarded run.
                ctx.add_usage(|u| u.add(&result.usage));
                let check: HomeworkCheck = result.final_output_as().map_err(|e| e.to_string())?;
                let info = serde_json::json!({ "reasoning": check.reasoning });
                Ok(if check.is_math_homework {
                    GuardrailOutput::trip(info)
                } else {
                    GuardrailOutput::pass(info)
                })
            }
        },
    )
    // Finish the check before the support agent starts (and costs tokens).
    .blocking();

    // The tool guardrail: the customer may only look up their own account.
    let lookup = FunctionTool::new(
        "lookup_account",
        "Looks up an account's balance.",
        |_ctx: ToolContext, a: Account| async move {
            Ok::<_, String>(format!("{}: balance 42.00 EUR", a.account_id))
        },
    )
    .input_guardrail(ToolInputGuardrail::new(
        "own_account_only",
        |data: ToolInputGuardrailData| async move {
            Ok(if data.arguments["account_id"] == "ACC-123" {
                ToolGuardrailOutput::allow()
            } else {
                ToolGuardrailOutput::reject("Refused: the customer may only see account ACC-123.")
            })
        },
    ));

    let support: Agent = Agent::builder("Customer support")
        .instructions("Help the customer (account ACC-123) with their account and bills.")
        .model(model.as_str())
        .input_guardrail(homework_guardrail)
        .tool(lookup)
        .build();

    for question in [
        "Can you solve 2x + 3 = 11 for me? It's for my homework.",
        "Where can I find my last invoice?",
        "What's the balance of account ACC-999?",
    ] {
        println!("> {question}");
        match Runner::run(
            &support,
            question,
            RunOptions::default().run_config(config.clone()),
        )
        .await
        {
            Ok(result) => {
                for item in &result.tool_input_guardrail_results {
                    println!(
                        "[tool guardrail `{}` on `{}`] {:?}",
                        item.guardrail, item.tool, item.output.behavior
                    );
                }
                println!("{}\n", result.final_output_text());
            }
            Err(e) => match &e.error {
                Error::InputGuardrailTripwire(g) => println!(
                    "[guardrail `{}` tripped] {}\n",
                    g.guardrail, g.output.output_info["reasoning"]
                ),
                _ => return Err(e.into()),
            },
        }
    }
    Ok(())
}
