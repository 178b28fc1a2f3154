//! Runs with a session, through the real OpenAI provider against the testkit
//! server: what is loaded (`session_limit`, `session_input_callback`), what
//! is sent (`call_model_input_filter`), what is saved (once, even when a
//! request is retried or a run fails and the user tries again), and the
//! user errors.
#![cfg(feature = "openai")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents::openai::OpenAIProvider;
use agents::prelude::*;
use agents::{Error, MemorySession, ModelInputData, ModelProvider, NoArgs, RetrySettings};
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

fn config(provider: &Arc<dyn ModelProvider>) -> RunConfig {
    RunConfig {
        model_provider: Some(Arc::clone(provider)),
        ..Default::default()
    }
}

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

/// The sessions under test: in memory, and SQLite (with the feature).
fn sessions() -> Vec<(&'static str, Arc<dyn Session>)> {
    #[allow(unused_mut)]
    let mut out: Vec<(&'static str, Arc<dyn Session>)> =
        vec![("memory", Arc::new(MemorySession::new("s")))];
    #[cfg(feature = "sqlite")]
    out.push((
        "sqlite",
        Arc::new(agents::sqlite::SqliteSession::in_memory("s").expect("open")),
    ));
    out
}

/// Texts of message items (user and assistant), or the item type.
fn texts(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i.as_message() {
            Some(m) => m.text(),
            None => i.kind().to_owned(),
        })
        .collect()
}

/// Texts of the input items of a request body.
fn sent_texts(body: &Value) -> Vec<String> {
    let items: Vec<Item> = serde_json::from_value(body["input"].clone()).expect("input items");
    texts(&items)
}

async fn prefill(session: &Arc<dyn Session>, n: usize) {
    let items: Vec<Item> = (0..n)
        .flat_map(|i| {
            [
                Item::user(format!("q{i}")),
                Item::assistant(format!("a{i}")),
            ]
        })
        .collect();
    session.add_items(&items).await.expect("prefill");
}

#[tokio::test]
async fn session_limit_loads_only_the_newest_items() {
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        prefill(&session, 3).await;
        server.push(Reply::text("a3"));
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(RunConfig {
                session_limit: Some(2),
                ..config(&provider)
            });
        Runner::run(&agent(), "q3", options).await.expect("run");
        assert_eq!(
            sent_texts(&server.requests()[0].body),
            ["q2", "a2", "q3"],
            "{label}"
        );
        // Everything is still stored, the new turn after it.
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3"],
            "{label}"
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn session_input_callback_shapes_the_input_without_resaving_history() {
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        prefill(&session, 2).await;
        server.push(Reply::text("a2"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = Arc::clone(&seen);
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(RunConfig {
                // New input first, then only the user's earlier questions.
                session_input_callback: Some(agents::session_input_callback(
                    move |history, new_input| {
                        seen2
                            .lock()
                            .expect("lock")
                            .push((texts(&history), texts(&new_input)));
                        let mut out = new_input;
                        out.extend(history.into_iter().filter(|i| {
                            i.as_message().is_some_and(|m| m.role == agents::Role::User)
                        }));
                        out
                    },
                )),
                ..config(&provider)
            });
        Runner::run(&agent(), "q2", options).await.expect("run");
        assert_eq!(
            *seen.lock().expect("lock"),
            [(
                vec!["q0".to_owned(), "a0".into(), "q1".into(), "a1".into()],
                vec!["q2".to_owned()]
            )],
            "{label}: called once with (history, new input)"
        );
        assert_eq!(
            sent_texts(&server.requests()[0].body),
            ["q2", "q0", "q1"],
            "{label}"
        );
        // The new input is saved once; the history is not saved again.
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["q0", "a0", "q1", "a1", "q2", "a2"],
            "{label}"
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn call_model_input_filter_edits_every_request_but_not_the_session() {
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        prefill(&session, 1).await;
        server.push(Reply::function_call("call_1", "lookup", "{}"));
        server.push(Reply::text("done"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let calls2 = Arc::clone(&calls);
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(RunConfig {
                call_model_input_filter: Some(agents::call_model_input_filter(move |data| {
                    let data: ModelInputData = data.model_data;
                    calls2.lock().expect("lock").push(texts(&data.input));
                    // Drop the oldest history item, add a reminder, and
                    // change the instructions.
                    let mut input: Vec<Item> = data.input.into_iter().skip(1).collect();
                    input.push(Item::developer("Remember: be brief."));
                    Ok(ModelInputData {
                        instructions: data.instructions.map(|i| format!("{i} (filtered)")),
                        input,
                    })
                })),
                ..config(&provider)
            });
        let result = Runner::run(&agent(), "q1", options).await.expect("run");
        assert_eq!(result.final_output_text(), "done", "{label}");
        assert_eq!(
            *calls.lock().expect("lock"),
            [
                vec!["q0", "a0", "q1"],
                vec!["q0", "a0", "q1", "function_call", "function_call_output"]
            ],
            "{label}: the filter sees the whole model input of each turn"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{label}");
        for r in &requests {
            assert_eq!(r.body["instructions"], "Be brief. (filtered)", "{label}");
        }
        assert_eq!(
            sent_texts(&requests[0].body),
            ["a0", "q1", "Remember: be brief."],
            "{label}"
        );
        assert_eq!(
            sent_texts(&requests[1].body),
            [
                "a0",
                "q1",
                "function_call",
                "function_call_output",
                "Remember: be brief."
            ],
            "{label}"
        );
        // The session keeps the unfiltered conversation.
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            [
                "q0",
                "a0",
                "q1",
                "function_call",
                "function_call_output",
                "done"
            ],
            "{label}"
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn a_failing_call_model_input_filter_is_a_user_error_and_nothing_is_sent() {
    let (server, provider) = server().await;
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
    let options = RunOptions::default()
        .session(Arc::clone(&session))
        .run_config(RunConfig {
            call_model_input_filter: Some(agents::call_model_input_filter(|_data| {
                Err("no input for you".into())
            })),
            ..config(&provider)
        });
    let e = Runner::run(&agent(), "hi", options)
        .await
        .expect_err("the run fails");
    match &e.error {
        Error::UserError(m) => assert!(m.contains("no input for you"), "{m}"),
        other => panic!("expected a UserError, got {other:?}"),
    }
    assert!(server.requests().is_empty(), "no model call");
    // The input was accepted (saved before the first model call).
    assert_eq!(
        texts(&session.get_items(None).await.expect("items")),
        ["hi"]
    );
}

#[tokio::test]
async fn a_retried_request_saves_the_turn_once() {
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        server.push(Reply::status(500));
        server.push(Reply::text("answer"));
        let mut retry = RetrySettings::new(2);
        retry.initial_backoff = Duration::from_millis(1);
        retry.max_backoff = Duration::from_millis(5);
        let agent = Agent::builder("Assistant")
            .model("gpt-4.1-mini")
            .model_settings(ModelSettings::new().retry(retry))
            .build();
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(config(&provider));
        let r = Runner::run(&agent, "question", options)
            .await
            .expect("the retry succeeds");
        assert_eq!(r.usage.requests, 1, "{label}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{label}: one failed attempt, one retry");
        assert_eq!(requests[0].body["input"], requests[1].body["input"]);
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["question", "answer"],
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_failed_run_keeps_the_input_and_the_next_run_duplicates_nothing() {
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        server.push(Reply::status(400));
        server.push(Reply::text("answer"));
        let options = || {
            RunOptions::default()
                .session(Arc::clone(&session))
                .run_config(config(&provider))
        };
        Runner::run(&agent(), "first", options())
            .await
            .expect_err("the model call fails");
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["first"],
            "{label}"
        );
        Runner::run(&agent(), "second", options())
            .await
            .expect("run");
        assert_eq!(
            sent_texts(&server.requests()[1].body),
            ["first", "second"],
            "{label}"
        );
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["first", "second", "answer"],
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_streamed_run_saves_what_a_plain_run_saves() {
    let mut stored = Vec::new();
    for streamed in [false, true] {
        let (server, provider) = server().await;
        server.push(Reply::function_call("call_1", "lookup", "{}"));
        server.push(Reply::text_deltas(["an", "swer"]));
        let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(config(&provider));
        let result = if streamed {
            Runner::run_streamed(&agent(), "q", options).result().await
        } else {
            Runner::run(&agent(), "q", options).await
        }
        .expect("run");
        let items = session.get_items(None).await.expect("items");
        assert_eq!(items, result.to_input_list(), "streamed: {streamed}");
        stored.push(texts(&items));
    }
    assert_eq!(stored[0], stored[1]);
    assert_eq!(
        stored[0],
        ["q", "function_call", "function_call_output", "answer"]
    );
}

#[tokio::test]
async fn a_session_with_server_managed_state_is_a_user_error() {
    for (label, session) in sessions() {
        for (what, options) in [
            (
                "previous_response_id",
                RunOptions::default().previous_response_id("resp_1"),
            ),
            (
                "auto_previous_response_id",
                RunOptions::default().auto_previous_response_id(true),
            ),
            (
                "conversation_id",
                RunOptions::default().conversation_id("conv_1"),
            ),
        ] {
            let (server, provider) = server().await;
            let options = options
                .session(Arc::clone(&session))
                .run_config(config(&provider));
            let e = Runner::run(&agent(), "hi", options)
                .await
                .expect_err("rejected");
            match &e.error {
                Error::UserError(m) => assert!(m.contains("session"), "{label}/{what}: {m}"),
                other => panic!("{label}/{what}: expected a UserError, got {other:?}"),
            }
            assert!(server.requests().is_empty(), "{label}/{what}");
            assert!(
                session.get_items(None).await.expect("items").is_empty(),
                "{label}/{what}: nothing saved"
            );
        }
    }
}

#[tokio::test]
async fn the_session_rows_are_the_request_items() {
    // What is stored is exactly what the next request replays.
    for (label, session) in sessions() {
        let (server, provider) = server().await;
        server.push(Reply::function_call("call_1", "lookup", "{}"));
        server.push(Reply::text("first answer"));
        server.push(Reply::text("second answer"));
        for q in ["one", "two"] {
            let options = RunOptions::default()
                .session(Arc::clone(&session))
                .run_config(config(&provider));
            Runner::run(&agent(), q, options).await.expect("run");
        }
        let stored = session.get_items(None).await.expect("items");
        let last_input: Vec<Item> =
            serde_json::from_value(server.requests()[2].body["input"].clone()).expect("items");
        assert_eq!(last_input, stored[..stored.len() - 1], "{label}");
        assert_eq!(
            server.requests()[2].body["input"][0],
            json!({"type": "message", "role": "user", "content": "one"})
        );
    }
}

#[tokio::test]
async fn an_input_guardrail_trip_keeps_the_input_but_not_the_speculative_turn() {
    for blocking in [false, true] {
        let (server, provider) = server().await;
        server.push(Reply::text("speculative answer"));
        let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
        // In parallel mode the guardrail trips after the model has answered.
        let mut guardrail = InputGuardrail::new("no", |_ctx, _agent, _input| async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(agents::GuardrailOutput::trip("blocked"))
        });
        if blocking {
            guardrail = guardrail.blocking();
        }
        let options = RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(RunConfig {
                input_guardrails: vec![guardrail],
                ..config(&provider)
            });
        let e = Runner::run(&agent(), "q", options)
            .await
            .expect_err("tripped");
        assert!(
            matches!(e.error, Error::InputGuardrailTripwire(_)),
            "{:?}",
            e.error
        );
        assert_eq!(
            server.requests().len(),
            usize::from(!blocking),
            "blocking: {blocking}"
        );
        assert_eq!(
            texts(&session.get_items(None).await.expect("items")),
            ["q"],
            "blocking: {blocking}"
        );
    }
}
