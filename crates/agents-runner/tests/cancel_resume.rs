//! Cancel a run at each point (during the model call, during the tools,
//! after the turn), turn the cancelled run into a `RunState`, and resume:
//! the same turn continues, and no item is lost or produced twice, in the
//! result or in a session.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agents_core::testing::{function_call_with_id, text, ScriptedEvent, ScriptedModel};
use agents_core::{
    Agent, Error, FunctionTool, GuardrailOutput, InputGuardrail, Item, MemorySession, ModelError,
    ModelStreamEvent, RunContext, Session, ToolContext,
};
use agents_runner::{
    Always, CancelHandle, CancelMode, RunError, RunOptions, RunResult, RunState, RunStreamEvent,
    Runner,
};
use common::*;
use futures::StreamExt;
use serde_json::json;

/// Waits (up to 10 s) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..5_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A tool that, on its first call, waits until the run is cancelled (and
/// records that its cancel token fired); later calls answer at once.
fn blocks_once(
    name: &str,
    calls: &Arc<AtomicUsize>,
    saw_cancel: &Arc<AtomicBool>,
) -> FunctionTool<(), Text> {
    let (prefix, calls, saw) = (name.to_owned(), Arc::clone(calls), Arc::clone(saw_cancel));
    FunctionTool::new(
        name,
        "Blocks on its first call.",
        move |ctx: ToolContext, a: Text| {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            let (token, saw) = (ctx.cancel.clone(), Arc::clone(&saw));
            let out = format!("{prefix}:{}", a.text);
            async move {
                if first {
                    tokio::spawn(async move {
                        token.cancelled().await;
                        saw.store(true, Ordering::SeqCst);
                    });
                    futures::future::pending::<()>().await;
                }
                Ok::<_, String>(out)
            }
        },
    )
}

/// The cancelled first turn had reported its (parallel) input guardrail.
fn assert_guardrail_reported(e: &RunError) {
    assert_eq!(e.details.input_guardrail_results.len(), 1);
}

fn cancelled(r: Result<RunResult, RunError>) -> RunError {
    let e = expect_err(r);
    assert!(matches!(e.error, Error::Cancelled), "{}", e.error);
    e
}

/// The cancelled run's state, written to a string and read back.
fn state_of(e: &RunError, agent: &agents_core::Agent) -> RunState {
    let state = e.to_state().expect("a cancelled run has a state");
    RunState::from_json(agent, &state.to_json().expect("to_json")).expect("from_json")
}

async fn stored(session: &MemorySession) -> Vec<Item> {
    session.get_items(None).await.expect("session items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_the_model_call_the_resumed_run_makes_that_call_again() {
    let model = ScriptedModel::new();
    model.push_stall();
    let session = Arc::new(MemorySession::new("s"));
    let guard = InputGuardrail::new(
        "polite",
        |_c: RunContext, _a: Agent, _i: Arc<[Item]>| async {
            Ok::<_, String>(GuardrailOutput::pass(json!("ok")))
        },
    );
    let a = agent("A", &model).input_guardrail(guard).build();
    let handle = CancelHandle::new();
    let run = {
        let (a, opts) = (
            a.clone(),
            RunOptions::default()
                .session(session.clone())
                .cancel_handle(handle.clone()),
        );
        tokio::spawn(async move { Runner::run(&a, "hi", opts).await })
    };
    until("the model call", || model.call_count() == 1).await;
    handle.cancel(CancelMode::Immediate);
    let e = cancelled(run.await.expect("join"));
    assert!(e.details.new_items.is_empty());
    // The guardrail ran alongside the cut-off call.
    assert_guardrail_reported(&e);
    let state = state_of(&e, &a);
    assert_eq!(state.current_turn(), 0, "the cut-off call is not a turn");
    assert!(!state.is_interrupted());
    assert_eq!(stored(&session).await, vec![Item::user("hi")]);

    model.push_text("hello");
    let r = Runner::run(&a, state, RunOptions::default().session(session.clone()))
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "hello");
    assert_eq!(r.turns, 1);
    assert_eq!(model.calls()[1].input, model.calls()[0].input);
    assert_eq!(names(&r.new_items), vec!["message_output_created"]);
    // The first turn is made again, guardrails included, reported once.
    assert_eq!(r.input_guardrail_results.len(), 1);
    // The input is not stored twice.
    assert_eq!(
        stored(&session).await,
        vec![Item::user("hi"), text("hello")]
    );
    model.assert_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_during_the_tools_the_resumed_run_runs_them_without_the_model() {
    let (calls, saw_cancel) = (Arc::default(), Arc::default());
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("working"),
        function_call_with_id("c1", "wait", &args("a")),
        function_call_with_id("c2", "echo", &args("b")),
    ]);
    let session = Arc::new(MemorySession::new("s"));
    let a = agent("A", &model)
        .tool(blocks_once("wait", &calls, &saw_cancel))
        .tool(echo("echo"))
        .build();
    let handle = CancelHandle::new();
    let run = {
        let (a, opts) = (
            a.clone(),
            RunOptions::default()
                .session(session.clone())
                .cancel_handle(handle.clone()),
        );
        tokio::spawn(async move { Runner::run(&a, "hi", opts).await })
    };
    until("the tool call", || calls.load(Ordering::SeqCst) == 1).await;
    handle.cancel(CancelMode::Immediate);
    let e = cancelled(run.await.expect("join"));
    // Cooperative cancellation reaches the tool through its token.
    until("the tool's token", || saw_cancel.load(Ordering::SeqCst)).await;
    assert_eq!(
        names(&e.details.new_items),
        vec!["message_output_created", "tool_called", "tool_called"]
    );
    // The half-done turn is not in the session.
    assert_eq!(stored(&session).await, vec![Item::user("hi")]);

    let state = state_of(&e, &a);
    assert_eq!(state.current_turn(), 1);
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default().session(session.clone()))
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(model.call_count(), 2, "the model answered the turn already");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        names(&r.new_items),
        vec![
            "message_output_created",
            "tool_called",
            "tool_called",
            "tool_output",
            "tool_output",
            "message_output_created"
        ]
    );
    let expected_input = vec![
        Item::user("hi"),
        text("working"),
        Item::function_call("c1", "wait", args("a")),
        Item::function_call("c2", "echo", args("b")),
        Item::function_call_output("c1", "wait:a"),
        Item::function_call_output("c2", "echo:b"),
    ];
    assert_eq!(model.calls()[1].input, expected_input);
    let mut all = expected_input;
    all.push(text("done"));
    assert_eq!(stored(&session).await, all, "each item stored once");
    assert_eq!(r.to_input_list(), all);
    model.assert_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_after_the_turn_the_resumed_run_starts_the_next_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "slow", &args("a"))]);
    let session = Arc::new(MemorySession::new("s"));
    let a = agent("A", &model)
        .tool(sleeping("slow", Duration::from_millis(100)))
        .build();
    let handle = CancelHandle::new();
    let run = {
        let (a, opts) = (
            a.clone(),
            RunOptions::default()
                .session(session.clone())
                .cancel_handle(handle.clone()),
        );
        tokio::spawn(async move { Runner::run(&a, "hi", opts).await })
    };
    until("the model call", || model.call_count() == 1).await;
    handle.cancel(CancelMode::AfterTurn);
    let e = cancelled(run.await.expect("join"));
    assert_eq!(
        names(&e.details.new_items),
        vec!["tool_called", "tool_output"]
    );
    assert_eq!(
        stored(&session).await.len(),
        3,
        "the finished turn is stored"
    );

    let state = state_of(&e, &a);
    assert_eq!(state.current_turn(), 1);
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default().session(session.clone()))
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(r.turns, 2);
    assert_eq!(
        kinds(&model.calls()[1].input),
        vec!["message", "function_call", "function_call_output"]
    );
    assert_eq!(
        kinds(&stored(&session).await),
        vec![
            "message",
            "function_call",
            "function_call_output",
            "message"
        ]
    );
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
    model.assert_complete();
}

#[tokio::test]
async fn a_streamed_run_cancelled_mid_stream_resumes_streamed() {
    let model = ScriptedModel::new();
    model.push_stream(vec![
        ScriptedEvent::Event(ModelStreamEvent::OutputTextDelta {
            item_id: None,
            output_index: 0,
            delta: "Hel".into(),
        }),
        ScriptedEvent::Stall,
    ]);
    let a = agent("A", &model).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    while let Some(e) = s.next().await {
        if describe(&e) == "raw:text_delta:Hel" {
            s.cancel(CancelMode::Immediate);
        }
    }
    let e = cancelled(s.result().await);
    let state = state_of(&e, &a);
    assert_eq!(state.current_turn(), 0);

    model.push_text("Hello!");
    let mut s = Runner::run_streamed(&a, state, RunOptions::default());
    let mut seen = Vec::new();
    while let Some(e) = s.next().await {
        if !matches!(e, RunStreamEvent::RawModel(_)) {
            seen.push(describe(&e));
        }
    }
    assert_eq!(seen, vec!["agent_updated:A", "message_output_created"]);
    let r = s.result().await.expect("resumed");
    assert_eq!(r.final_output_text(), "Hello!");
    assert_eq!(names(&r.new_items), vec!["message_output_created"]);
    assert_eq!(model.calls()[1].input, vec![Item::user("hi")]);
    model.assert_complete();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_approval_survives_a_cancel_and_a_second_resume() {
    let (calls, saw_cancel) = (Arc::default(), Arc::default());
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "wait", &args("a"))]);
    let a = agent("A", &model)
        .tool(blocks_once("wait", &calls, &saw_cancel).needs_approval(true))
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = r.to_state();
    let item = r.interruptions()[0].clone();
    state.approve(&item, Always::No);

    // The resumed run is cancelled while the approved tool runs...
    let handle = CancelHandle::new();
    let run = {
        let (a, opts) = (
            a.clone(),
            RunOptions::default().cancel_handle(handle.clone()),
        );
        tokio::spawn(async move { Runner::run(&a, state, opts).await })
    };
    until("the tool call", || calls.load(Ordering::SeqCst) == 1).await;
    handle.cancel(CancelMode::Immediate);
    let e = cancelled(run.await.expect("join"));
    let state = state_of(&e, &a);
    assert!(!state.is_interrupted());
    assert_eq!(state.approval_status(&item), Some(true));

    // ...and the next resume runs it without asking again.
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("second resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
    model.assert_complete();
}

#[tokio::test]
async fn only_a_cancelled_run_converts_to_a_state() {
    let model = ScriptedModel::new();
    model.push_error(ModelError::Other("boom".into()));
    let a = agent("A", &model).build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    assert!(matches!(e.error, Error::Model(_)));
    assert!(e.to_state().is_none());
    assert!(RunError::new(Error::Cancelled).to_state().is_none());
    model.assert_complete();
}
