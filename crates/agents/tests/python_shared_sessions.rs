//! Postgres and Redis sessions shared with openai-agents-python: each SDK
//! reads *and continues* a conversation that the other wrote, under the
//! same session id, on real servers started on 127.0.0.1 by the testkit.
//!
//! - Postgres: this SDK's `PostgresSession` and Python's
//!   `SQLAlchemySession` (asyncpg driver) on the same tables; once with the
//!   tables made by this SDK's migrations, once with the tables made by
//!   Python's `create_tables=True` and this SDK's migrations run over them.
//! - Redis: this SDK's `RedisSession` and Python's `RedisSession` on the
//!   same keys.
//!
//! Per backend, one test moves items back and forth with the session API
//! (appends, `limit`, `pop_item`, `clear`, an idempotent append retried)
//! and checks the exact item sequence each SDK reads after each step (Python
//! the exact JSON, this SDK exactly the items that JSON parses to); two
//! more run three agent turns alternating the SDKs (Python, Rust, Python;
//! or Rust, Python, Rust) against one testkit mock server, which validates
//! every request body of both SDKs: each request must carry every earlier
//! turn, whoever stored it, and at the end both SDKs read the same items.
//!
//! Needs `target/py-venv` with the pinned `openai-agents` and the
//! dependencies of its `sqlalchemy` and `redis` extras (`cargo xtask ci`
//! installs them), Debian's `postgresql` and `redis-server`. Without them
//! the tests skip with a note, except under `CI=true`, where they fail.
#![cfg(all(feature = "openai", feature = "postgres", feature = "redis"))]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use agents::openai::OpenAIProvider;
use agents::postgres::PostgresStore;
use agents::prelude::*;
use agents::redis::RedisStore;
use agents::{ModelProvider, Session};
use agents_testkit::servers::{Postgres, Redis};
use agents_testkit::{MockServer, Reply};
use serde_json::{json, Value};

#[path = "support/python.rs"]
mod python;
use python::{describe_item, find_python, python_command, rust_agent};

/// Runs a list of actions on one Python session and prints their results
/// as a JSON list. Actions: `run` (an agent run with a `get_weather` tool
/// on the Responses API against the mock server; the result is the final
/// output), `items` (`get_items(limit)`), `add` (`add_items`), `pop`
/// (`pop_item`), `clear` (`clear_session`).
const SCRIPT: &str = r#"
import asyncio, json, sys
from openai import AsyncOpenAI
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

set_tracing_disabled(True)
req = json.loads(sys.argv[1])

@function_tool
def get_weather(city: str) -> str:
    """Weather of a city."""
    return "sunny in " + city

def open_session():
    if req["backend"] == "postgres":
        from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession
        return SQLAlchemySession.from_url(req["sid"], url=req["url"],
                                          create_tables=req.get("create_tables", False))
    from agents.extensions.memory.redis_session import RedisSession
    return RedisSession.from_url(req["sid"], url=req["url"])

async def close(session):
    if req["backend"] == "postgres":
        await session.engine.dispose()
    else:
        await session.close()

async def main():
    session = open_session()
    out = []
    try:
        for action in req["actions"]:
            op = action["op"]
            if op == "run":
                client = AsyncOpenAI(base_url=action["base_url"], api_key="test", max_retries=0)
                agent = Agent(name="Assistant", instructions="Be brief.", tools=[get_weather],
                              model=OpenAIResponsesModel(model="gpt-4o", openai_client=client))
                result = await Runner.run(agent, action["input"], session=session)
                out.append(result.final_output)
            elif op == "items":
                out.append(await session.get_items(action.get("limit")))
            elif op == "add":
                await session.add_items(action["items"])
                out.append(None)
            elif op == "pop":
                out.append(await session.pop_item())
            elif op == "clear":
                await session.clear_session()
                out.append(None)
            else:
                raise ValueError(op)
    finally:
        await close(session)
    print(json.dumps(out))

asyncio.run(main())
"#;

/// The interpreter with `openai-agents` and its `sqlalchemy` and `redis`
/// extras, or `None` (after a note) when there is none; under CI a missing
/// one fails the test.
fn python() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            find_python(
                "import asyncpg, greenlet; \
                 from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession; \
                 from agents.extensions.memory.redis_session import RedisSession",
                "`openai-agents[sqlalchemy,redis]`",
            )
        })
        .as_deref()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Postgres,
    Redis,
}

/// Who makes the Postgres tables.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tables {
    /// This SDK's `migrate()`.
    Ours,
    /// Python's `create_tables=True`, then this SDK's `migrate()` over them.
    Python,
}

/// A running server with one Rust session on it, and the Python side's
/// view of it.
struct Shared {
    python: &'static Path,
    backend: Backend,
    /// The URL in the Python client's dialect.
    python_url: String,
    session: Arc<dyn Session>,
    _postgres: Option<Postgres>,
    _redis: Option<Redis>,
}

const SID: &str = "shared-conversation";

impl Shared {
    /// Starts the server; `None` when Python or the server is missing
    /// outside CI.
    async fn start(backend: Backend, tables: Tables) -> Option<Shared> {
        let python = python()?;
        match backend {
            Backend::Postgres => {
                let pg = Postgres::start()?;
                let python_url = format!(
                    "postgresql+asyncpg://postgres@127.0.0.1:{}/postgres",
                    pg.port()
                );
                if tables == Tables::Python {
                    // Python makes the tables (an empty read is enough).
                    let request = request(backend, &python_url, true, &[json!({"op": "items"})]);
                    let out = tokio::task::spawn_blocking(move || run_python(python, &request))
                        .await
                        .expect("join");
                    assert_eq!(out, [json!([])]);
                }
                let store = PostgresStore::connect(&pg.url()).expect("store");
                store.migrate().await.expect("migrate");
                Some(Shared {
                    python,
                    backend,
                    python_url,
                    session: Arc::new(store.session(SID)),
                    _postgres: Some(pg),
                    _redis: None,
                })
            }
            Backend::Redis => {
                let redis = Redis::start()?;
                let store = RedisStore::connect(&redis.url()).await.expect("store");
                Some(Shared {
                    python,
                    backend,
                    python_url: redis.url(),
                    session: Arc::new(store.session(SID)),
                    _postgres: None,
                    _redis: Some(redis),
                })
            }
        }
    }

    /// Runs `actions` in one Python process, on a blocking thread (the mock
    /// server runs on this runtime); returns their results.
    async fn python(&self, actions: Vec<Value>) -> Vec<Value> {
        let request = request(self.backend, &self.python_url, false, &actions);
        let python = self.python;
        tokio::task::spawn_blocking(move || run_python(python, &request))
            .await
            .expect("join")
    }

    /// What this SDK reads.
    async fn rust_items(&self, limit: Option<usize>) -> Vec<Item> {
        self.session.get_items(limit).await.expect("rust get_items")
    }

    /// What Python reads.
    async fn python_items(&self, limit: Option<usize>) -> Vec<Value> {
        let out = self
            .python(vec![json!({"op": "items", "limit": limit})])
            .await;
        match out.into_iter().next() {
            Some(Value::Array(items)) => items,
            other => panic!("{:?}: Python's get_items returned {other:?}", self.backend),
        }
    }
}

/// The script's argument.
fn request(backend: Backend, url: &str, create_tables: bool, actions: &[Value]) -> String {
    json!({
        "backend": match backend { Backend::Postgres => "postgres", Backend::Redis => "redis" },
        "url": url,
        "sid": SID,
        "create_tables": create_tables,
        "actions": actions,
    })
    .to_string()
}

/// Runs the script; the results of its actions.
fn run_python(python: &Path, request: &str) -> Vec<Value> {
    let output = python_command(python)
        .args(["-c", SCRIPT, request])
        .output()
        .expect("start python");
    assert!(
        output.status.success(),
        "the Python script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(Value::Array(results)) => results,
        other => panic!(
            "Python printed {other:?}: {}",
            String::from_utf8_lossy(&output.stdout)
        ),
    }
}

fn to_json(item: &Item) -> Value {
    serde_json::to_value(item).expect("an item serializes")
}

fn items(values: &[Value]) -> Vec<Item> {
    values
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("an item"))
        .collect()
}

/// Items as this SDK stores them: unicode, a Chat Completions tool call and
/// reply with the placeholder id, a tool output.
fn rust_turn() -> Vec<Value> {
    let values = [
        json!({"role": "user", "content": "Grüße aus 東京 🌸 — \"quoted\", back\\slash"}),
        json!({"type": "function_call", "id": "__fake_id__", "call_id": "call_a",
               "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "function_call_output", "call_id": "call_a", "output": "sunny in Paris"}),
        json!({"type": "message", "id": "__fake_id__", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "Sunny.", "annotations": [], "logprobs": []}]}),
    ];
    // As this SDK writes them.
    items(&values).iter().map(to_json).collect()
}

/// Items as Python stores them (Responses API output, with real ids).
fn python_turn() -> Vec<Value> {
    vec![
        json!({"content": "Und morgen? ñ", "role": "user"}),
        json!({"id": "rs_1", "summary": [{"text": "Looking it up.", "type": "summary_text"}],
               "type": "reasoning"}),
        json!({"id": "msg_1", "content": [{"annotations": [], "text": "Bewölkt.",
               "type": "output_text", "logprobs": []}], "role": "assistant",
               "status": "completed", "type": "message"}),
    ]
}

/// The session API in both directions, with the exact items each SDK reads
/// after each step.
async fn items_both_ways(backend: Backend, tables: Tables) {
    let Some(s) = Shared::start(backend, tables).await else {
        return;
    };
    // Rust writes a turn; Python reads exactly it.
    let a = rust_turn();
    s.session
        .add_items_once("op-a", &items(&a))
        .await
        .expect("rust append");
    assert_eq!(
        s.python_items(None).await,
        a,
        "{backend:?}: Python reads Rust's turn"
    );

    // Python continues: appends, pops its newest item, reads the newest 2.
    let b = python_turn();
    let out = s
        .python(vec![
            json!({"op": "add", "items": b}),
            json!({"op": "pop"}),
            json!({"op": "items", "limit": 2}),
        ])
        .await;
    assert_eq!(out[1], b[2], "{backend:?}: Python pops its newest item");
    assert_eq!(out[2], json!([b[0], b[1]]), "{backend:?}: Python's limit");

    // Rust reads Python's items exactly, in order, and continues.
    let mut expected: Vec<Value> = a.iter().chain(&b[..2]).cloned().collect();
    assert_eq!(
        s.rust_items(None).await,
        items(&expected),
        "{backend:?}: Rust reads Python's appends"
    );
    assert_eq!(s.rust_items(Some(3)).await, items(&expected[3..]));
    let c: Vec<Value> = items(&[
        json!({"role": "user", "content": "Danke!"}),
        json!({"type": "message", "id": "__fake_id__", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "Gern.", "annotations": [], "logprobs": []}]}),
    ])
    .iter()
    .map(to_json)
    .collect();
    s.session
        .add_items_once("op-c", &items(&c))
        .await
        .expect("rust append");
    // A retried write (same operation id) is not stored twice.
    s.session
        .add_items_once("op-c", &items(&c))
        .await
        .expect("rust retry");
    expected.extend(c.iter().cloned());
    assert_eq!(
        s.python_items(None).await,
        expected,
        "{backend:?}: Python reads Rust's continuation, once"
    );
    assert_eq!(s.rust_items(None).await, items(&expected));

    // Rust pops its newest item; Python sees it gone.
    let popped = s
        .session
        .pop_item()
        .await
        .expect("rust pop")
        .expect("an item");
    assert_eq!(to_json(&popped), c[1]);
    expected.pop();
    assert_eq!(s.python_items(None).await, expected);

    // Python clears the session: Rust reads nothing, and the session's
    // operation ids went with it (the same id stores again).
    let out = s
        .python(vec![json!({"op": "clear"}), json!({"op": "items"})])
        .await;
    assert_eq!(out[1], json!([]));
    assert_eq!(s.rust_items(None).await, Vec::<Item>::new());
    s.session
        .add_items_once("op-c", &items(&c))
        .await
        .expect("rust append after clear");
    assert_eq!(
        s.python_items(None).await,
        c,
        "{backend:?}: a cleared session keeps no operation ids"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_items_both_ways_on_our_tables() {
    items_both_ways(Backend::Postgres, Tables::Ours).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_items_both_ways_on_python_tables() {
    items_both_ways(Backend::Postgres, Tables::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_items_both_ways() {
    items_both_ways(Backend::Redis, Tables::Ours).await;
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sdk {
    Python,
    Rust,
}

/// Three agent turns on one shared session, `first` then the other SDK
/// then `first` again, against one mock server.
async fn conversation(backend: Backend, first: Sdk) {
    let Some(s) = Shared::start(backend, Tables::Ours).await else {
        return;
    };
    let server = MockServer::start().await;
    let provider: Arc<dyn ModelProvider> = Arc::new(
        OpenAIProvider::builder()
            .ignore_env()
            .base_url(server.base_url())
            .api_key("test")
            .build(),
    );
    let turn = |sdk: Sdk, input: &'static str| {
        let (s, server, provider) = (&s, &server, Arc::clone(&provider));
        async move {
            match sdk {
                Sdk::Rust => {
                    let options = RunOptions::default()
                        .session(Arc::clone(&s.session))
                        .run_config(RunConfig {
                            model_provider: Some(provider),
                            ..Default::default()
                        });
                    let result = Runner::run(&rust_agent(), input, options)
                        .await
                        .unwrap_or_else(|e| panic!("{backend:?}: the Rust run failed: {e}"));
                    result.final_output_text().to_owned()
                }
                Sdk::Python => {
                    let out = s
                        .python(vec![json!({"op": "run", "input": input,
                                            "base_url": server.base_url()})])
                        .await;
                    out[0].as_str().unwrap_or_default().to_owned()
                }
            }
        }
    };
    let sent = |n: usize| -> Vec<String> {
        let requests = server.requests();
        requests[n].body["input"]
            .as_array()
            .expect("input list")
            .iter()
            .filter_map(describe_item)
            .collect()
    };
    let other = match first {
        Sdk::Python => Sdk::Rust,
        Sdk::Rust => Sdk::Python,
    };
    server.push_all([
        Reply::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        Reply::text("Sunny in Paris, Ada."),
        Reply::function_call("call_2", "get_weather", r#"{"city":"Oslo"}"#),
        Reply::text("Sunny in Oslo too."),
        Reply::text("Your name is Ada."),
    ]);

    let out = turn(first, "My name is Ada. Weather in Paris?").await;
    assert_eq!(out, "Sunny in Paris, Ada.", "{backend:?}, {first:?} first");
    let turn_1 = [
        "user:My name is Ada. Weather in Paris?",
        "call:call_1",
        "output:call_1",
        "assistant:Sunny in Paris, Ada.",
    ];
    assert_eq!(sent(1), turn_1[..3], "{backend:?}, {first:?}");

    let out = turn(other, "Weather in Oslo?").await;
    assert_eq!(
        out, "Sunny in Oslo too.",
        "{backend:?}, {other:?} continuing"
    );
    let mut expected: Vec<&str> = turn_1.to_vec();
    expected.push("user:Weather in Oslo?");
    assert_eq!(
        sent(2),
        expected,
        "{backend:?}: {other:?} sends {first:?}'s turn"
    );
    expected.extend(["call:call_2", "output:call_2"]);
    assert_eq!(sent(3), expected, "{backend:?}: {other:?}'s tool turn");

    let out = turn(first, "What is my name?").await;
    assert_eq!(
        out, "Your name is Ada.",
        "{backend:?}, {first:?} continuing"
    );
    expected.extend(["assistant:Sunny in Oslo too.", "user:What is my name?"]);
    assert_eq!(
        sent(4),
        expected,
        "{backend:?}: {first:?} sends {other:?}'s turn"
    );

    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.pending_replies(), 0);
    // Every body, from either SDK, matched the spec and the service's rules.
    server.assert_ok();
    // Both SDKs read the same ten items, in the order of the conversation:
    // Python's dicts are, item for item, the items this SDK reads.
    let python = s.python_items(None).await;
    let stored: Vec<String> = python.iter().filter_map(describe_item).collect();
    expected.push("assistant:Your name is Ada.");
    assert_eq!(stored, expected, "{backend:?}: the stored conversation");
    assert_eq!(
        s.rust_items(None).await,
        items(&python),
        "{backend:?}: both SDKs read the same items"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_continues_python_postgres_conversation_and_back() {
    conversation(Backend::Postgres, Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_continues_rust_postgres_conversation_and_back() {
    conversation(Backend::Postgres, Sdk::Rust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_continues_python_redis_conversation_and_back() {
    conversation(Backend::Redis, Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_continues_rust_redis_conversation_and_back() {
    conversation(Backend::Redis, Sdk::Rust).await;
}
