//! Session files move between this SDK and openai-agents-python *and the
//! conversation goes on*: each SDK continues a SQLite session file that the
//! other wrote, on both APIs (Responses and Chat Completions).
//!
//! Each test runs three turns on one session file, alternating the SDKs
//! (Python, Rust, Python; or Rust, Python, Rust). Every model request, from
//! either SDK, goes to one testkit mock server, which validates every body
//! against the OpenAPI spec and the rules of the real service (placeholder
//! ids included). The tests check that each run gets its scripted reply and
//! that each request carries all the earlier turns, whoever wrote them.
//!
//! Needs Python with `openai-agents` (0.24): `cargo xtask ci` installs it
//! into `target/py-venv`; a `python3` that can import it also works. Without
//! one the tests skip with a note, except under CI, where they fail. Python
//! only talks to the mock server on 127.0.0.1.
#![cfg(all(feature = "openai", feature = "sqlite"))]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::sqlite::SqliteSession;
use agents::ModelProvider;
use agents_testkit::{MockServer, Reply};
use serde_json::{json, Value};

#[path = "support/python.rs"]
mod python;
use python::{describe_item, find_python, python_command, rust_agent, text_of};

/// One Python run: an agent with a `get_weather` tool on the given API,
/// with a `SQLiteSession`, against the mock server. Prints the final output
/// as JSON.
const SCRIPT: &str = r#"
import asyncio, json, sys
from openai import AsyncOpenAI
from agents import (Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, Runner,
                    SQLiteSession, function_tool, set_tracing_disabled)

set_tracing_disabled(True)
req = json.loads(sys.argv[1])

@function_tool
def get_weather(city: str) -> str:
    """Weather of a city."""
    return "sunny in " + city

async def main():
    client = AsyncOpenAI(base_url=req["base_url"], api_key="test", max_retries=0)
    model_class = OpenAIResponsesModel if req["api"] == "responses" else OpenAIChatCompletionsModel
    agent = Agent(name="Assistant", instructions="Be brief.", tools=[get_weather],
                  model=model_class(model="gpt-4o", openai_client=client))
    session = SQLiteSession(req["sid"], req["db"])
    try:
        result = await Runner.run(agent, req["input"], session=session)
        print(json.dumps({"final_output": result.final_output}))
    finally:
        session.close()

asyncio.run(main())
"#;

/// The interpreter to use, or `None` (after a note) when there is none.
fn python() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            find_python(
                "from agents import OpenAIChatCompletionsModel, SQLiteSession",
                "`openai-agents`",
            )
        })
        .as_deref()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sdk {
    Python,
    Rust,
}

/// One conversation on one session file, one mock server, one API.
struct Conversation {
    python: &'static Path,
    server: MockServer,
    provider: Arc<dyn ModelProvider>,
    api: OpenAIApi,
    db: PathBuf,
    session: Arc<SqliteSession>,
    _dir: tempfile::TempDir,
}

const SID: &str = "shared-conversation";

impl Conversation {
    async fn start(python: &'static Path, api: OpenAIApi) -> Self {
        let server = MockServer::start().await;
        let provider: Arc<dyn ModelProvider> = Arc::new(
            OpenAIProvider::builder()
                .ignore_env()
                .base_url(server.base_url())
                .api_key("test")
                .api(api)
                .build(),
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("conversation.db");
        let session = Arc::new(SqliteSession::open(&db, SID).expect("open the session"));
        Conversation {
            python,
            server,
            provider,
            api,
            db,
            session,
            _dir: dir,
        }
    }

    /// One run by `sdk` with `input`; returns its final output.
    async fn turn(&self, sdk: Sdk, input: &str) -> String {
        match sdk {
            Sdk::Rust => {
                let options = RunOptions::default()
                    .session(self.session.clone())
                    .run_config(RunConfig {
                        model_provider: Some(Arc::clone(&self.provider)),
                        ..Default::default()
                    });
                let result = Runner::run(&rust_agent(), input, options)
                    .await
                    .unwrap_or_else(|e| panic!("the Rust run failed on {:?}: {e}", self.api));
                result.final_output_text().to_owned()
            }
            Sdk::Python => {
                let request = json!({
                    "base_url": self.server.base_url(),
                    "api": if self.api == OpenAIApi::Responses { "responses" } else { "chat" },
                    "db": self.db,
                    "sid": SID,
                    "input": input,
                })
                .to_string();
                let python = self.python;
                // The mock server runs on this runtime: wait off its threads.
                let output = tokio::task::spawn_blocking(move || {
                    python_command(python)
                        .args(["-c", SCRIPT, &request])
                        .output()
                        .expect("start python")
                })
                .await
                .expect("join");
                assert!(
                    output.status.success(),
                    "the Python run failed on {:?}: {}\n{}",
                    self.api,
                    String::from_utf8_lossy(&output.stderr),
                    self.server
                        .requests()
                        .last()
                        .map(|r| r.validation_errors.join("\n"))
                        .unwrap_or_default()
                );
                let reply: Value = serde_json::from_slice(&output.stdout)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
                reply["final_output"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        }
    }

    /// The conversation as request `n` (0-based) carried it, as short
    /// descriptions (`user:…`, `assistant:…`, `call:ID`, `output:ID`).
    fn sent(&self, n: usize) -> Vec<String> {
        let requests = self.server.requests();
        let body = &requests[n].body;
        match self.api {
            OpenAIApi::Responses => body["input"]
                .as_array()
                .expect("input list")
                .iter()
                .filter_map(describe_item)
                .collect(),
            _ => body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .flat_map(describe_chat_message)
                .collect(),
        }
    }
}

fn describe_chat_message(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match message["role"].as_str().unwrap_or("?") {
        "system" => {}
        "tool" => out.push(format!(
            "output:{}",
            message["tool_call_id"].as_str().unwrap_or("?")
        )),
        role => {
            let text = text_of(&message["content"]);
            if !text.is_empty() || message.get("tool_calls").is_none() {
                out.push(format!("{role}:{text}"));
            }
            for call in message["tool_calls"].as_array().into_iter().flatten() {
                out.push(format!("call:{}", call["id"].as_str().unwrap_or("?")));
            }
        }
    }
    out
}

/// Three turns on one file, `first` then the other SDK then `first` again;
/// each turn's requests must carry every earlier turn.
async fn continue_across_sdks(api: OpenAIApi, first: Sdk) {
    let Some(python) = python() else { return };
    let other = match first {
        Sdk::Python => Sdk::Rust,
        Sdk::Rust => Sdk::Python,
    };
    let c = Conversation::start(python, api).await;
    c.server.push_all([
        Reply::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("Sunny in Paris, Ada."),
        Reply::function_call("call_2", "get_weather", r#"{"city":"Oslo"}"#),
        Reply::text("Sunny in Oslo too."),
        Reply::text("Your name is Ada."),
    ]);

    let out = c.turn(first, "My name is Ada. Weather in Paris?").await;
    assert_eq!(out, "Sunny in Paris, Ada.", "{api:?}, {first:?} first");
    let turn_1 = [
        "user:My name is Ada. Weather in Paris?",
        "call:call_1",
        "output:call_1",
        "assistant:Sunny in Paris, Ada.",
    ];
    assert_eq!(c.sent(1), turn_1[..3], "{api:?}, {first:?}");

    let out = c.turn(other, "Weather in Oslo?").await;
    assert_eq!(out, "Sunny in Oslo too.", "{api:?}, {other:?} continuing");
    let mut expected: Vec<&str> = turn_1.to_vec();
    expected.push("user:Weather in Oslo?");
    assert_eq!(
        c.sent(2),
        expected,
        "{api:?}: {other:?} sends {first:?}'s turn"
    );
    expected.extend(["call:call_2", "output:call_2"]);
    assert_eq!(c.sent(3), expected, "{api:?}: {other:?}'s tool turn");

    let out = c.turn(first, "What is my name?").await;
    assert_eq!(out, "Your name is Ada.", "{api:?}, {first:?} continuing");
    expected.extend(["assistant:Sunny in Oslo too.", "user:What is my name?"]);
    assert_eq!(
        c.sent(4),
        expected,
        "{api:?}: {first:?} sends {other:?}'s turn"
    );

    assert_eq!(c.server.requests().len(), 5);
    assert_eq!(c.server.pending_replies(), 0);
    // Every body, from either SDK, matched the spec and the service's rules.
    c.server.assert_ok();
    // The file holds the three turns, readable by this SDK.
    let stored = c.session.get_items(None).await.expect("read the file");
    assert_eq!(stored.len(), 10, "{api:?}: {stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_continues_python_responses_session_and_back() {
    continue_across_sdks(OpenAIApi::Responses, Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_continues_rust_responses_session_and_back() {
    continue_across_sdks(OpenAIApi::Responses, Sdk::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_continues_python_chat_completions_session_and_back() {
    continue_across_sdks(OpenAIApi::ChatCompletions, Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_continues_rust_chat_completions_session_and_back() {
    continue_across_sdks(OpenAIApi::ChatCompletions, Sdk::Rust).await;
}
