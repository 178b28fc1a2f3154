//! The four ways to carry a conversation across turns and runs, through the
//! real OpenAI provider against the testkit server, asserting the request
//! bodies the server received:
//!
//! 1. manual history: `result.to_input_list()` fed to the next run;
//! 2. a session (`MemorySession`, `SqliteSession`);
//! 3. `previous_response_id` (and `auto_previous_response_id`);
//! 4. `conversation_id`.
#![cfg(feature = "openai")]

use std::sync::Arc;

use agents::openai::OpenAIProvider;
use agents::prelude::*;
use agents::{MemorySession, ModelProvider, NoArgs};
use agents_testkit::{MockServer, Reply};
use serde_json::{json, Value};

async fn server() -> (MockServer, Arc<dyn ModelProvider>) {
    let server = MockServer::start().await;
    let provider = OpenAIProvider::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key("test")
        .build();
    (server, Arc::new(provider))
}

fn options(provider: &Arc<dyn ModelProvider>) -> RunOptions {
    RunOptions::default().run_config(RunConfig {
        model_provider: Some(Arc::clone(provider)),
        ..Default::default()
    })
}

/// An agent with one tool, `lookup`, that answers `"found"`.
fn agent() -> Agent {
    let lookup = FunctionTool::new(
        "lookup",
        "Looks something up.",
        |_ctx: ToolContext, _a: NoArgs| async { Ok::<_, String>("found") },
    );
    Agent::builder("Assistant")
        .instructions("Be brief.")
        .model("gpt-4.1-mini")
        .tool(lookup)
        .build()
}

fn user(text: &str) -> Value {
    json!({"type": "message", "role": "user", "content": text})
}

/// The `input` of every request the server received.
fn inputs(server: &MockServer) -> Vec<Value> {
    server
        .requests()
        .iter()
        .map(|r| r.body["input"].clone())
        .collect()
}

/// A short description of an input item: its type and its text or call id.
fn describe(item: &Value) -> String {
    let kind = item["type"].as_str().unwrap_or("?");
    match kind {
        "message" => {
            let text = match &item["content"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<String>(),
                _ => String::new(),
            };
            format!("{}:{text}", item["role"].as_str().unwrap_or("?"))
        }
        "function_call" | "function_call_output" => {
            format!("{kind}:{}", item["call_id"].as_str().unwrap_or("?"))
        }
        other => other.to_owned(),
    }
}

fn described(input: &Value) -> Vec<String> {
    input
        .as_array()
        .expect("input is an array")
        .iter()
        .map(describe)
        .collect()
}

#[tokio::test]
async fn manual_history_sends_the_whole_conversation_every_time() {
    let (server, provider) = server().await;
    server.push(Reply::text("Hi Ada."));
    server.push(Reply::text("Your name is Ada."));
    let agent = agent();

    let first = Runner::run(&agent, "My name is Ada.", options(&provider))
        .await
        .expect("first run");
    let mut input = first.to_input_list();
    input.push(Item::user("What is my name?"));
    let second = Runner::run(&agent, input, options(&provider))
        .await
        .expect("second run");
    assert_eq!(second.final_output_text(), "Your name is Ada.");

    let sent = inputs(&server);
    assert_eq!(sent[0], json!([user("My name is Ada.")]));
    assert_eq!(
        described(&sent[1]),
        [
            "user:My name is Ada.",
            "assistant:Hi Ada.",
            "user:What is my name?"
        ]
    );
    // The assistant message goes back as the server sent it (with its id).
    let message_id = first.new_items[0]
        .item
        .as_message()
        .and_then(|m| m.id.clone())
        .expect("the server gave the message an id");
    assert_eq!(sent[1][1]["id"], message_id.as_str());
    for r in server.requests() {
        assert!(r.body.get("previous_response_id").is_none());
        assert!(r.body.get("conversation").is_none());
    }
    server.assert_ok();
}

/// Two runs on one session: a tool turn, then a plain answer.
async fn two_runs_on(session: Arc<dyn Session>) -> (MockServer, Vec<Item>) {
    let (server, provider) = server().await;
    server.push(Reply::function_call("call_1", "lookup", "{}"));
    server.push(Reply::text("Noted, Ada."));
    server.push(Reply::text("Your name is Ada."));
    let agent = agent();
    let first = Runner::run(
        &agent,
        "My name is Ada.",
        options(&provider).session(Arc::clone(&session)),
    )
    .await
    .expect("first run");
    let second = Runner::run(
        &agent,
        "What is my name?",
        options(&provider).session(Arc::clone(&session)),
    )
    .await
    .expect("second run");
    assert_eq!(second.final_output_text(), "Your name is Ada.");
    // The second run's input is only the new message.
    assert_eq!(second.input, vec![Item::user("What is my name?")]);

    let sent = inputs(&server);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0], json!([user("My name is Ada.")]));
    assert_eq!(
        described(&sent[1]),
        [
            "user:My name is Ada.",
            "function_call:call_1",
            "function_call_output:call_1"
        ]
    );
    assert_eq!(
        described(&sent[2]),
        [
            "user:My name is Ada.",
            "function_call:call_1",
            "function_call_output:call_1",
            "assistant:Noted, Ada.",
            "user:What is my name?"
        ]
    );
    server.assert_ok();

    // The session holds each item once, in order: both runs' full lists.
    let stored = session.get_items(None).await.expect("items");
    let mut expected = first.to_input_list();
    expected.extend(second.to_input_list());
    assert_eq!(stored, expected);
    (server, stored)
}

#[tokio::test]
async fn a_memory_session_remembers_across_runs() {
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("user_1"));
    let (_server, stored) = two_runs_on(session).await;
    assert_eq!(stored.len(), 6);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_sqlite_session_remembers_across_runs_and_reopens() {
    use agents::sqlite::SqliteSession;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("conversations.db");
    let session = SqliteSession::open(&path, "user_1").expect("open");
    let (_server, stored) = two_runs_on(Arc::new(session)).await;
    assert_eq!(stored.len(), 6);
    // What a restarted process would read.
    let reopened = SqliteSession::open(&path, "user_1").expect("reopen");
    assert_eq!(reopened.get_items(None).await.expect("items"), stored);
    let other = SqliteSession::open(&path, "user_2").expect("open");
    assert!(other.get_items(None).await.expect("items").is_empty());
}

#[tokio::test]
async fn previous_response_id_sends_only_unseen_items() {
    let (server, provider) = server().await;
    server.push(Reply::function_call("call_1", "lookup", "{}").response_id("resp_a"));
    server.push(Reply::text("Noted.").response_id("resp_b"));
    server.push(Reply::text("Your name is Ada.").response_id("resp_c"));
    let agent = agent();

    // Chained from the first turn on.
    let first = Runner::run(
        &agent,
        "My name is Ada.",
        options(&provider).auto_previous_response_id(true),
    )
    .await
    .expect("first run");
    assert_eq!(first.last_response_id(), Some("resp_b"));
    // Continued in the next run.
    let second = Runner::run(
        &agent,
        "What is my name?",
        options(&provider).previous_response_id("resp_b"),
    )
    .await
    .expect("second run");
    assert_eq!(second.last_response_id(), Some("resp_c"));

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let previous: Vec<Option<&str>> = requests
        .iter()
        .map(|r| r.body.get("previous_response_id").and_then(Value::as_str))
        .collect();
    assert_eq!(previous, [None, Some("resp_a"), Some("resp_b")]);
    let sent = inputs(&server);
    assert_eq!(sent[0], json!([user("My name is Ada.")]));
    assert_eq!(
        sent[1],
        json!([{"type": "function_call_output", "call_id": "call_1", "output": "found"}])
    );
    assert_eq!(sent[2], json!([user("What is my name?")]));
    assert!(requests
        .iter()
        .all(|r| r.body.get("conversation").is_none()));
    // The result still holds the whole run.
    assert_eq!(first.to_input_list().len(), 4);
    server.assert_ok();
}

#[tokio::test]
async fn conversation_id_sends_only_the_new_turn() {
    let (server, provider) = server().await;
    server.push(Reply::function_call("call_1", "lookup", "{}"));
    server.push(Reply::text("Noted."));
    server.push(Reply::text("Your name is Ada."));
    let agent = agent();
    for question in ["My name is Ada.", "What is my name?"] {
        Runner::run(
            &agent,
            question,
            options(&provider).conversation_id("conv_123"),
        )
        .await
        .expect("run");
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(r.body["conversation"], "conv_123");
        assert!(r.body.get("previous_response_id").is_none());
    }
    let sent = inputs(&server);
    assert_eq!(sent[0], json!([user("My name is Ada.")]));
    assert_eq!(
        sent[1],
        json!([{"type": "function_call_output", "call_id": "call_1", "output": "found"}])
    );
    assert_eq!(sent[2], json!([user("What is my name?")]));
    server.assert_ok();
}
