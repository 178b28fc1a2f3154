//! Run with: cargo run --example hosted_tools
//!
//! Hosted tools: web search, a code interpreter and a hosted MCP server
//! (DeepWiki), which the provider runs for the model within its response
//! (Responses API only). The MCP server asks before its `ask_question` tool
//! runs: the run pauses on that request like on a function tool that needs
//! approval; the example approves it on the run state and resumes, which
//! sends the decision back as an `mcp_approval_response`.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::{
    Always, HostedMcp, HostedTool, McpRequireApproval, ModelProvider, RunItem, RunItemKind,
};
use agents_testkit::Reply;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints what a hosted tool or MCP item did.
fn show(item: &RunItem) {
    let raw = serde_json::to_value(&item.item).unwrap_or_default();
    let field = |k: &str| raw.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match item.kind {
        RunItemKind::HostedToolCall => match item.item.kind() {
            "web_search_call" => println!(
                "[web search] {}",
                raw.pointer("/action/query")
                    .and_then(|q| q.as_str())
                    .unwrap_or("")
            ),
            "code_interpreter_call" => println!("[code interpreter] ran: {}", field("code")),
            "mcp_call" => println!(
                "[mcp {}] {}({}) -> {}",
                field("server_label"),
                field("name"),
                field("arguments"),
                field("output")
            ),
            other => println!("[{other}]"),
        },
        RunItemKind::McpListTools => println!("[mcp {}] tools listed", field("server_label")),
        RunItemKind::McpApprovalRequest => println!(
            "[mcp {}] asks to run {}({})",
            field("server_label"),
            field("name"),
            field("arguments")
        ),
        RunItemKind::McpApprovalResponse => {
            println!("[mcp] answered: approve = {}", raw["approve"])
        }
        _ => {}
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Offline unless OPENAI_API_KEY is set: the scripted replies a model with
    // these hosted tools would give.
    let question = r#"{"repoName":"openai/openai-agents-python","question":"What is a handoff?"}"#;
    let offline = common::offline_server(vec![
        Reply::new()
            .with_web_search_call("openai agents sdk handoffs")
            .with_mcp_list_tools("deepwiki", ["read_wiki_structure", "ask_question"])
            .with_mcp_approval_request("mcpr_example_1", "deepwiki", "ask_question", question),
        Reply::new()
            .with_mcp_call(
                "deepwiki",
                "ask_question",
                question,
                "A handoff lets one agent pass the conversation to another.",
            )
            .with_code_interpreter_call("print(len('handoff'))", "7\n")
            .with_text(
                "A handoff passes the conversation to another agent, which takes over \
                 (and 'handoff' has 7 letters).",
            ),
    ])
    .await;

    // The configuration: the OpenAI Responses API (hosted tools need it),
    // with the key and base URL from the environment. Offline, only the base
    // URL and the key point at the local server.
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::Responses);
    if let Some(server) = &offline {
        provider = provider.base_url(server.base_url()).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1".to_owned());

    let agent: Agent = Agent::builder("Researcher")
        .instructions("Research with the web and DeepWiki; compute with the code interpreter.")
        .model(model.as_str())
        .hosted_tool(HostedTool::web_search().search_context_size("low"))
        .hosted_tool(HostedTool::code_interpreter())
        .hosted_tool(
            HostedMcp::new("deepwiki", "https://mcp.deepwiki.com/mcp").require_approval(
                McpRequireApproval::Tools {
                    always: vec!["ask_question".into()],
                    never: vec!["read_wiki_structure".into()],
                },
            ),
        )
        .build();

    let options = || RunOptions::default().model_provider(provider.clone());
    let mut result = Runner::run(
        &agent,
        "What is a handoff in openai-agents-python? Count the letters of 'handoff'.",
        options(),
    )
    .await?;
    result.new_items.iter().for_each(show);

    // Each pause lists the server's requests; approve them and resume.
    while result.is_interrupted() {
        let mut state = result.to_state();
        for item in result.interruptions() {
            println!(
                "Approving {} on `{}`.",
                item.tool_name,
                item.server_label.as_deref().unwrap_or("a function tool")
            );
            state.approve(item, Always::No);
        }
        // (The resumed run drops the pause's `tool_approval_requested` items.)
        let seen = result
            .new_items
            .iter()
            .filter(|i| i.kind != RunItemKind::ToolApproval)
            .count();
        result = Runner::run(&agent, state, options()).await?;
        result.new_items.iter().skip(seen).for_each(show);
    }
    println!("\nFinal output: {}", result.final_output_text());
    Ok(())
}
