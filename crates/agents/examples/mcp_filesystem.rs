//! Run with: cargo run --example mcp_filesystem
//!
//! An agent that answers questions about a directory through the official
//! MCP filesystem server (`@modelcontextprotocol/server-filesystem`), run as
//! a child process over stdio. The toolkit only offers the server's
//! read-only tools; the server itself refuses paths outside the directory.
//!
//! The server comes from npm; install it once with
//! `npm ci --prefix crates/agents-mcp/tests/servers` (node is needed).
//!
//! The toolkit is `agents_mcp::McpToolkit`; with the facade's `mcp`
//! feature it is also `agents::mcp::McpToolkit`.
//!
//! The directory is the first argument; without one, a small sample
//! directory is made in a temporary folder. Offline by default (a scripted
//! local OpenAI-compatible server); set `OPENAI_API_KEY` (and optionally
//! `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use a real endpoint.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents::{RunItemKind, RunSession};
use agents_mcp::{McpToolkit, Stderr, StdioServer};
use agents_testkit::Reply;

/// Where `npm ci --prefix crates/agents-mcp/tests/servers` puts the server.
fn server_entry() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agents-mcp/tests/servers/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
}

fn node_available() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A small directory to ask about.
fn sample_dir(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join("project");
    std::fs::create_dir_all(dir.join("notes"))?;
    std::fs::write(
        dir.join("TODO.txt"),
        "- renew the TLS certificate before 1 March\n- answer Ada about the budget\n",
    )?;
    std::fs::write(
        dir.join("notes/meeting.md"),
        "# Weekly meeting\n\nDecided: ship version 2 on Friday.\n",
    )?;
    Ok(dir)
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
    let entry = server_entry();
    if !node_available() || !entry.is_file() {
        eprintln!(
            "This example runs the MCP filesystem server with node, from the npm packages of the \
             agents-mcp tests. Install node, then run:\n\n    \
             npm ci --prefix crates/agents-mcp/tests/servers\n"
        );
        std::process::exit(2);
    }

    let scratch = std::env::temp_dir().join(format!("agents-mcp-example-{}", std::process::id()));
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => sample_dir(&scratch)?,
    };
    let dir = dir.canonicalize()?;
    println!("Directory: {}", dir.display());

    // What the model would do offline: list the directory, read the to-do
    // list, answer.
    // Offline unless OPENAI_API_KEY is set: a scripted local server then plays
    // the model, with these replies.
    let offline = common::offline_server(vec![
        Reply::function_call(
            "call_list",
            "list_directory",
            serde_json::json!({ "path": dir }).to_string(),
        ),
        Reply::function_call(
            "call_read",
            "read_text_file",
            serde_json::json!({ "path": dir.join("TODO.txt") }).to_string(),
        ),
        Reply::text(
            "Two things are open: renew the TLS certificate before 1 March, and answer Ada \
                 about the budget.",
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

    let files = McpToolkit::builder(
        "files",
        StdioServer::new("node")
            .arg(&entry)
            .arg(&dir)
            .stderr(Stderr::Null),
    )
    .cache_tools_list(true)
    .allow_tools([
        "list_directory",
        "directory_tree",
        "read_text_file",
        "search_files",
        "get_file_info",
    ])
    .build();

    let agent: Agent = Agent::builder("Librarian")
        .instructions(format!(
            "You answer questions about the files in {}. Use the file tools; quote what the \
             files say.",
            dir.display()
        ))
        .model(model.as_str())
        .toolkit(files)
        .build();

    // The run session starts the server once and stops it on close().
    let session = RunSession::open(&agent, Arc::new(())).await?;
    let options = RunOptions::default().model_provider(provider.clone());
    let question = "What is still on my to-do list?";
    println!("User: {question}");
    let result = session.run(question, options).await?;
    for item in &result.new_items {
        match (&item.kind, &item.item) {
            (RunItemKind::ToolCall, Item::FunctionCall(call)) => {
                println!("[tool call] {}({})", call.name, call.arguments)
            }
            (RunItemKind::ToolCallOutput { output, .. }, _) => {
                let text = output.to_text();
                let first = text.lines().next().unwrap_or_default();
                println!("[tool output] {first} ...")
            }
            _ => {}
        }
    }
    println!("Assistant: {}", result.final_output_text());
    session.close().await?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
