//! Run with: cargo run --example human_in_the_loop
//!
//! Human approval before a tool runs. `delete_file` needs approval: when the
//! model calls it, the run pauses with an interruption instead of running
//! it. The example saves the paused run (a `RunState`) to a JSON file, asks
//! on the terminal (y/n), loads the state back from the file, records the
//! answer, and resumes: an approved call runs, a rejected one is answered
//! with the rejection message, and the model is not asked again for that
//! turn.
//!
//! When stdin is not a terminal, or `AGENTS_EXAMPLE_AUTO_APPROVE` is set
//! (`y` or `n`), the example answers by itself (`y` unless the variable says
//! otherwise), so it can run unattended. Set `HITL_STATE_FILE` to choose
//! where the state is saved (by default a file in the temporary directory,
//! removed at the end).
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::{Always, RunItemKind, RunState, ToolApprovalItem};
use agents_testkit::Reply;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Path {
    /// The file's path.
    path: String,
}

/// Asks whether `item` may run (no answer at all counts as "no").
fn ask(item: &ToolApprovalItem) -> Result<bool, Box<dyn std::error::Error>> {
    print!(
        "The agent `{}` wants to call {}({}). Allow it? [y/n] ",
        item.agent, item.tool_name, item.arguments
    );
    std::io::stdout().flush()?;
    let automatic = std::env::var("AGENTS_EXAMPLE_AUTO_APPROVE").ok();
    if automatic.is_some() || !std::io::stdin().is_terminal() {
        let yes = !automatic.is_some_and(|a| a.trim().eq_ignore_ascii_case("n"));
        println!("{} (answered automatically)", if yes { "y" } else { "n" });
        return Ok(yes);
    }
    loop {
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            println!("(no answer: rejecting)");
            return Ok(false);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => {
                print!("Please answer y or n: ");
                std::io::stdout().flush()?;
            }
        }
    }
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
        Reply::function_call("call_list_1", "list_files", "{}").with_function_call(
            "call_delete_1",
            "delete_file",
            r#"{"path":"drafts/old-notes.txt"}"#,
        ),
        Reply::text(
            "I listed your files and handled drafts/old-notes.txt as you decided; \
                 the tool result above says what happened.",
        ),
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

    let list_files = FunctionTool::new(
        "list_files",
        "Lists the user's files.",
        |_ctx: ToolContext, _args: agents::NoArgs| async move {
            Ok::<_, String>("drafts/old-notes.txt, reports/q3.pdf".to_owned())
        },
    );
    // Simulated: nothing is deleted for real.
    let delete_file = FunctionTool::new(
        "delete_file",
        "Deletes a file.",
        |_ctx: ToolContext, args: Path| async move {
            Ok::<_, String>(format!("Deleted {}.", args.path))
        },
    )
    .needs_approval(true);
    let agent: Agent = Agent::builder("File assistant")
        .instructions(
            "You manage the user's files. List them first, then do what the user asks. \
             Deleting a file needs the user's approval.",
        )
        .model(model.as_str())
        .tool(list_files)
        .tool(delete_file)
        .build();
    let options = || RunOptions::default().model_provider(Arc::clone(&provider));

    let (state_file, keep_file) = match std::env::var_os("HITL_STATE_FILE") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            std::env::temp_dir().join(format!("human_in_the_loop_{}.json", std::process::id())),
            false,
        ),
    };

    let request = "Please delete my old draft notes.";
    println!("User: {request}");
    let mut result = Runner::run(&agent, request, options()).await?;
    while result.is_interrupted() {
        // Save the paused run before asking: the answer may come much later,
        // from another process.
        std::fs::write(&state_file, result.to_state().to_json()?)?;
        println!(
            "The run paused for approval; its state is saved in {}.",
            state_file.display()
        );
        let mut answers = Vec::new();
        for item in result.interruptions() {
            answers.push((item.clone(), ask(item)?));
        }
        // Load the state back, as a later process would, and decide.
        let json = std::fs::read_to_string(&state_file)?;
        let mut state = RunState::from_json(&agent, &json)?;
        for (item, yes) in &answers {
            if *yes {
                state.approve(item, Always::No);
            } else {
                state.reject(item, Some("The user declined.".into()), Always::No);
            }
        }
        result = Runner::run(&agent, state, options()).await?;
    }
    if !keep_file {
        let _ = std::fs::remove_file(&state_file);
    }

    for item in &result.new_items {
        if let (RunItemKind::ToolCallOutput { output, .. }, Item::FunctionCallOutput(o)) =
            (&item.kind, &item.item)
        {
            println!("[tool output {}] {}", o.call_id, output.to_text());
        }
    }
    println!("Assistant: {}", result.final_output_text());
    println!(
        "Usage: {} requests, {} total tokens",
        result.usage.requests, result.usage.total_tokens
    );
    Ok(())
}
