//! Hosted tools in the loop: offered to the model, their output items as run
//! items and stream events, kept by sessions and run states; hosted MCP
//! approval requests through the approval flow (interrupt, approve / reject,
//! sticky decisions, resume answering with `mcp_approval_response`).

mod common;

use std::sync::Arc;

use agents_core::hosted::{HostedMcp, HostedTool, McpRequireApproval};
use agents_core::testing::{text, ScriptedModel};
use agents_core::{Item, MemorySession, RunItemKind, Session, ToolChoice};
use agents_runner::{Always, RunOptions, RunState, Runner, ToolApprovalItem};
use common::*;
use futures::StreamExt;
use serde_json::{json, Value};

fn raw(v: Value) -> Item {
    serde_json::from_value(v).expect("item")
}

fn web_search_call() -> Item {
    raw(
        json!({"type": "web_search_call", "id": "ws_1", "status": "completed",
        "action": {"type": "search", "query": "rust"}}),
    )
}

fn list_tools() -> Item {
    raw(
        json!({"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "wiki",
        "tools": [{"name": "ask", "input_schema": {"type": "object"}}]}),
    )
}

fn approval_request(id: &str, tool: &str) -> Item {
    raw(
        json!({"type": "mcp_approval_request", "id": id, "server_label": "wiki",
        "name": tool, "arguments": "{\"q\":\"x\"}"}),
    )
}

fn mcp_call(id: &str) -> Item {
    raw(
        json!({"type": "mcp_call", "id": id, "server_label": "wiki", "name": "ask",
        "arguments": "{\"q\":\"x\"}", "output": "42", "approval_request_id": "mcpr_1"}),
    )
}

fn wiki() -> HostedMcp {
    HostedMcp::new("wiki", "https://wiki.test/mcp").require_approval(McpRequireApproval::Always)
}

fn responses_of(items: &[Item]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i.kind() == "mcp_approval_response")
        .map(|i| serde_json::to_value(i).expect("json"))
        .collect()
}

#[tokio::test]
async fn hosted_tools_are_offered_and_their_items_become_run_items() {
    let model = ScriptedModel::new();
    model.push_output(vec![web_search_call(), text("Rust is a language.")]);
    let a = agent("A", &model)
        .tool(echo("echo"))
        .hosted_tool(HostedTool::web_search())
        .hosted_tool(wiki())
        .model_settings(agents_core::ModelSettings::new().tool_choice(ToolChoice::WebSearch))
        .build();
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
    let r = Runner::run(
        &a,
        "search",
        RunOptions::default().session(Arc::clone(&session)),
    )
    .await
    .expect("run");
    assert_eq!(text_of(&r.final_output), "Rust is a language.");
    let call = &model.calls()[0];
    assert_eq!(call.tool_names(), ["echo"]);
    let hosted: Vec<String> = call.hosted_tools.iter().map(HostedTool::name).collect();
    assert_eq!(hosted, ["web_search", "mcp:wiki"]);
    assert_eq!(call.settings.tool_choice, Some(ToolChoice::WebSearch));
    assert_eq!(
        names(&r.new_items),
        ["tool_called", "message_output_created"]
    );
    assert_eq!(r.new_items[0].kind, RunItemKind::HostedToolCall);
    // The session keeps the hosted call verbatim, and so does the run state.
    let stored = session.get_items(None).await.expect("items");
    assert_eq!(stored[1], web_search_call());
    let json = r.to_state().to_json().expect("to_json");
    assert!(json.contains("\"tool_call_item\""), "{json}");
    let back = RunState::from_json(&a, &json).expect("from_json");
    assert_eq!(back.generated_items(), &r.new_items[..]);
    model.assert_complete();
}

#[tokio::test]
async fn an_mcp_approval_request_pauses_and_an_approval_resumes_without_a_model_call() {
    let model = ScriptedModel::new();
    model.push_output(vec![list_tools(), approval_request("mcpr_1", "ask")]);
    let a = agent("A", &model).hosted_tool(wiki()).build();
    let r = Runner::run(&a, "ask the wiki", RunOptions::default())
        .await
        .expect("run");
    assert!(r.is_interrupted());
    assert_eq!(r.final_output, None);
    let pending = &r.interruptions()[0];
    assert_eq!(
        (
            pending.tool_name.as_str(),
            pending.call_id.as_str(),
            pending.server_label.as_deref()
        ),
        ("ask", "mcpr_1", Some("wiki"))
    );
    assert!(pending.is_hosted_mcp());
    assert_eq!(
        names(&r.new_items),
        [
            "mcp_list_tools",
            "mcp_approval_requested",
            "tool_approval_requested"
        ]
    );
    // The approval run item holds the request, and never reaches the model.
    assert_eq!(r.new_items[2].item, approval_request("mcpr_1", "ask"));
    assert_eq!(
        kinds(&r.to_input_list()),
        ["message", "mcp_list_tools", "mcp_approval_request"]
    );
    assert_eq!(model.call_count(), 1);

    // Approve through a serialized state; resuming answers the request and
    // calls the model once more (the server runs the tool then).
    let json = r.to_state().to_json().expect("to_json");
    let mut state = RunState::from_json(&a, &json).expect("from_json");
    let item = state.interruptions()[0].clone();
    assert_eq!(state.approval_status(&item), None);
    state.approve(&item, Always::No);
    assert_eq!(state.approval_status(&item), Some(true));
    model.push_output(vec![mcp_call("mcp_1"), text("The wiki says 42.")]);
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(text_of(&r.final_output), "The wiki says 42.");
    let calls = model.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        responses_of(&calls[1].input),
        [
            json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": true})
        ]
    );
    assert_eq!(
        kinds(&calls[1].input),
        [
            "message",
            "mcp_list_tools",
            "mcp_approval_request",
            "mcp_approval_response"
        ]
    );
    assert!(names(&r.new_items).contains(&"mcp_approval_response"));
    assert!(names(&r.new_items).contains(&"tool_called"));
    model.assert_complete();
}

#[tokio::test]
async fn a_rejection_answers_with_its_reason_and_a_sticky_decision_covers_later_requests() {
    let model = ScriptedModel::new();
    model.push_output(vec![approval_request("mcpr_1", "delete")]);
    let a = agent("A", &model).hosted_tool(wiki()).build();
    let r = Runner::run(&a, "clean up", RunOptions::default())
        .await
        .expect("run");
    let mut state = r.to_state();
    let item = state.interruptions()[0].clone();
    state.reject(&item, Some("Not today.".into()), Always::Yes);
    // After the rejection the model asks again for the same tool, then
    // gives up: the sticky rejection answers without pausing.
    model.push_output(vec![approval_request("mcpr_2", "delete")]);
    model.push_output(vec![text("I could not delete it.")]);
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert!(!r.is_interrupted());
    assert_eq!(text_of(&r.final_output), "I could not delete it.");
    let calls = model.calls();
    assert_eq!(
        responses_of(&calls[1].input),
        [
            json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_1",
            "approve": false, "reason": "Not today."})
        ]
    );
    assert_eq!(
        responses_of(&calls[2].input)[1],
        json!({"type": "mcp_approval_response", "approval_request_id": "mcpr_2",
            "approve": false, "reason": "Not today."})
    );
    // A function tool named like the MCP tool is not covered by it.
    let f = ToolApprovalItem::new("A", &agents_core::FunctionCall::new("c9", "delete", "{}"));
    assert_eq!(r.to_state().approval_status(&f), None);
    model.assert_complete();
}

#[tokio::test]
async fn streamed_runs_emit_hosted_items_and_the_approval_request() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        web_search_call(),
        list_tools(),
        approval_request("mcpr_1", "ask"),
    ]);
    let a = agent("A", &model)
        .hosted_tool(HostedTool::web_search())
        .hosted_tool(wiki())
        .build();
    let mut stream = Runner::run_streamed(&a, "go", RunOptions::default());
    let mut seen = Vec::new();
    while let Some(event) = stream.next().await {
        if let agents_runner::RunStreamEvent::RunItem { name, .. } = event {
            seen.push(name);
        }
    }
    assert_eq!(
        seen,
        [
            "tool_called",
            "mcp_list_tools",
            "mcp_approval_requested",
            "tool_approval_requested"
        ]
    );
    let r = stream.result().await.expect("result");
    assert!(r.is_interrupted());
    assert!(r.interruptions()[0].is_hosted_mcp());
}

#[tokio::test]
async fn a_hook_can_approve_pending_calls_through_the_run_context() {
    use agents_core::hooks::HookResult;
    use agents_core::{Agent, BoxFuture, Hooks, ModelResponse, RunContext};

    /// Approves every function call and MCP request the model makes.
    struct AutoApprove;
    impl Hooks for AutoApprove {
        fn on_llm_end<'a>(
            &'a self,
            ctx: &'a RunContext,
            agent: &'a Agent,
            response: &'a ModelResponse,
        ) -> BoxFuture<'a, HookResult> {
            for item in &response.output {
                if let Some(call) = item.as_function_call() {
                    ctx.approve(&ToolApprovalItem::new(agent.name(), call), false);
                }
                if let Some(req) = agents_core::hosted::McpApprovalRequest::from_item(item) {
                    ctx.approve(&ToolApprovalItem::mcp(agent.name(), &req), false);
                }
            }
            Box::pin(async { Ok(()) })
        }
    }

    let model = ScriptedModel::new();
    model.push_output(vec![
        agents_core::testing::function_call_with_id("c1", "delete", &args("a")),
        approval_request("mcpr_1", "ask"),
    ]);
    model.push_output(vec![text("done")]);
    let a = agent("A", &model)
        .tool(echo("delete").needs_approval(true))
        .hosted_tool(wiki())
        .build();
    let r = Runner::run(&a, "go", RunOptions::default().hooks(AutoApprove))
        .await
        .expect("run");
    assert!(!r.is_interrupted());
    assert_eq!(text_of(&r.final_output), "done");
    let second = &model.calls()[1];
    assert_eq!(
        outputs_in(second),
        [("c1".to_owned(), "delete:a".to_owned())]
    );
    assert_eq!(responses_of(&second.input).len(), 1);
    model.assert_complete();
}
