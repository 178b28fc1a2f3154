//! Sessions and human-in-the-loop approvals, through the real OpenAI
//! provider against the testkit server: an interrupted turn is stored once,
//! after it is resolved; approval requests are never stored; resuming from a
//! serialized state (as another process would, with the session reopened)
//! duplicates nothing.
#![cfg(feature = "openai")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use agents::openai::OpenAIProvider;
use agents::prelude::*;
use agents::{Always, MemorySession, ModelProvider, RunState};
use agents_testkit::{MockServer, Reply};
use serde_json::Value;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Target {
    /// What to delete.
    name: String,
}

async fn server() -> (MockServer, Arc<dyn ModelProvider>) {
    let server = MockServer::start().await;
    let provider = OpenAIProvider::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key("test")
        .build();
    (server, Arc::new(provider))
}

/// An agent whose `delete` tool needs approval and counts its runs.
fn agent(runs: &Arc<AtomicUsize>) -> Agent {
    let runs = Arc::clone(runs);
    let delete = FunctionTool::new(
        "delete",
        "Deletes a thing.",
        move |_ctx: ToolContext, t: Target| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(format!("deleted {}", t.name)) }
        },
    )
    .needs_approval(true);
    Agent::builder("Assistant")
        .instructions("Be brief.")
        .model("gpt-4.1-mini")
        .tool(delete)
        .build()
}

fn options(provider: &Arc<dyn ModelProvider>, session: &Arc<dyn Session>) -> RunOptions {
    RunOptions::default()
        .session(Arc::clone(session))
        .run_config(RunConfig {
            model_provider: Some(Arc::clone(provider)),
            ..Default::default()
        })
}

fn kinds(items: &[Item]) -> Vec<&str> {
    items.iter().map(Item::kind).collect()
}

/// Interrupt, serialize, reopen the session, decide, resume; then one more
/// run. `open` gives the session (again) as a new process would.
async fn interrupted_then_resumed(open: impl Fn() -> Arc<dyn Session>, approve: bool) {
    let (server, provider) = server().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let agent = agent(&runs);
    server.push(Reply::function_call(
        "call_1",
        "delete",
        r#"{"name":"report.txt"}"#,
    ));
    let session = open();
    let first = Runner::run(&agent, "Delete report.txt", options(&provider, &session))
        .await
        .expect("run");
    assert!(first.is_interrupted());
    assert_eq!(first.interruptions()[0].call_id, "call_1");
    // Only the accepted input is stored while the turn waits for a decision.
    assert_eq!(
        session.get_items(None).await.expect("items"),
        vec![Item::user("Delete report.txt")]
    );
    let json = first.to_state().to_json().expect("state json");
    drop(session);

    // Later, elsewhere: the state comes back from JSON, the session reopens.
    let session = open();
    let mut state = RunState::from_json(&agent, &json).expect("state");
    let pending = state.interruptions()[0].clone();
    if approve {
        state.approve(&pending, Always::No);
    } else {
        state.reject(&pending, Some("Not allowed.".into()), Always::No);
    }
    server.push(Reply::text("Done."));
    let resumed = Runner::run(&agent, state, options(&provider, &session))
        .await
        .expect("resume");
    assert_eq!(resumed.final_output_text(), "Done.");
    assert_eq!(runs.load(Ordering::SeqCst), usize::from(approve));

    let stored = session.get_items(None).await.expect("items");
    assert_eq!(
        kinds(&stored),
        [
            "message",
            "function_call",
            "function_call_output",
            "message"
        ],
        "each item once, no approval requests"
    );
    let output = stored[2].as_function_call_output().expect("output");
    assert_eq!(output.call_id, "call_1");
    let expected = if approve {
        "deleted report.txt"
    } else {
        "Not allowed."
    };
    assert_eq!(output.output.text(), expected);

    // The resumed turn's request replays what is stored, once.
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the decision itself calls no model");
    let sent: Vec<Item> = serde_json::from_value(requests[1].body["input"].clone()).expect("items");
    assert_eq!(sent, stored[..3]);

    // The conversation goes on from the session.
    server.push(Reply::text("Anything else?"));
    Runner::run(&agent, "Thanks", options(&provider, &session))
        .await
        .expect("next run");
    let last = &server.requests()[2].body["input"];
    assert_eq!(last.as_array().map(Vec::len), Some(5));
    assert_eq!(last[4]["content"], Value::from("Thanks"));
    assert_eq!(session.get_items(None).await.expect("items").len(), 6);
    server.assert_ok();
}

#[tokio::test]
async fn memory_session_approved_and_rejected() {
    for approve in [true, false] {
        let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
        interrupted_then_resumed(move || Arc::clone(&session), approve).await;
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_session_reopened_between_interruption_and_resume() {
    use agents::sqlite::SqliteSession;
    for approve in [true, false] {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("hitl.db");
        interrupted_then_resumed(
            move || Arc::new(SqliteSession::open(&path, "user").expect("open")),
            approve,
        )
        .await;
    }
}
