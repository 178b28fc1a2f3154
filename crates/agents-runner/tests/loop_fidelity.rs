//! Loop behaviour matched to the reference SDK: empty turns, the
//! `model_refusal` and `invalid_final_output` error handlers, unknown tools,
//! tool guardrail tripwires inside agents as tools, dropping a streamed run
//! while a tool runs, and resuming a turn cancelled while its tools ran.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agents_core::guardrail::{ToolGuardrailOutput, ToolInputGuardrail, ToolInputGuardrailData};
use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::{
    Agent, BoxFuture, Error, FinalOutput, FunctionTool, Item, Model, ModelError, ModelRequest,
    ModelResponse, ModelStreamEvent, ToolContext,
};
use agents_runner::{
    AgentToolExt, CancelHandle, CancelMode, RunConfig, RunOptions, RunState, Runner,
    ToolErrorPolicy,
};
use common::*;
use futures::stream::BoxStream;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, JsonSchema)]
struct Weather {
    city: String,
    celsius: i32,
}

fn reasoning() -> Item {
    serde_json::from_value(json!({"type": "reasoning", "id": "rs_1", "summary": []}))
        .expect("reasoning item")
}

fn refusal(text: &str) -> Item {
    serde_json::from_value(json!({
        "type": "message",
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": text}]
    }))
    .expect("refusal message")
}

// ---- Empty turns ---------------------------------------------------------------

#[tokio::test]
async fn a_plain_text_turn_without_message_or_calls_ends_with_an_empty_output() {
    for output in [vec![], vec![reasoning()]] {
        let model = ScriptedModel::new();
        model.push_output(output.clone());
        let a = agent("A", &model).build();
        let r = Runner::run(&a, "hi", RunOptions::default())
            .await
            .expect("run");
        assert_eq!(r.final_output, Some(FinalOutput::Text(String::new())));
        assert_eq!((r.turns, model.call_count()), (1, 1), "{output:?}");
        model.assert_complete();

        // Streamed: the same one call.
        let model = ScriptedModel::new();
        model.push_output(output);
        let a = agent("A", &model).build();
        let r = Runner::run_streamed(&a, "hi", RunOptions::default())
            .result()
            .await
            .expect("streamed run");
        assert_eq!(r.final_output_text(), "");
        assert_eq!(model.call_count(), 1);
    }
}

#[tokio::test]
async fn an_output_type_agent_runs_again_after_an_empty_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![]);
    model.push_text(r#"{"city":"Rome","celsius":20}"#);
    let a = agent("A", &model).output_type::<Weather>().build();
    let r = Runner::run(&a, "weather?", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_as::<Weather>().expect("typed").celsius, 20);
    assert_eq!(model.call_count(), 2);
    // Empty turns forever hit the turn limit.
    let model = ScriptedModel::new();
    for _ in 0..3 {
        model.push_output(vec![]);
    }
    let a = agent("A", &model).output_type::<Weather>().build();
    let e = expect_err(Runner::run(&a, "weather?", RunOptions::default().max_turns(Some(3))).await);
    assert!(
        matches!(e.error, Error::MaxTurnsExceeded { max_turns: 3 }),
        "{}",
        e.error
    );
    model.assert_complete();
}

// ---- model_refusal -------------------------------------------------------------

#[tokio::test]
async fn a_refusal_is_a_typed_error_carrying_the_text_and_the_items() {
    for typed in [false, true] {
        let model = ScriptedModel::new();
        model.push_output(vec![reasoning(), refusal("I can't help with that.")]);
        let mut b = agent("A", &model);
        if typed {
            b = b.output_type::<Weather>();
        }
        let e = expect_err(Runner::run(&b.build(), "hi", RunOptions::default()).await);
        match &e.error {
            Error::ModelRefusal { refusal } => assert_eq!(refusal, "I can't help with that."),
            other => panic!("typed={typed}: unexpected {other}"),
        }
        assert_eq!(
            names(&e.details.new_items),
            vec!["reasoning_item_created", "message_output_created"]
        );
        assert_eq!(e.details.raw_responses.len(), 1);
        model.assert_complete();
    }
}

#[tokio::test]
async fn a_model_refusal_handler_can_give_the_final_output() {
    let model = ScriptedModel::new();
    model.push_output(vec![refusal("No.")]);
    let a = agent("A", &model).build();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let r = Runner::run(
        &a,
        "hi",
        RunOptions::default().on_model_refusal(move |d| {
            log.lock().expect("lock").push((
                d.refusal.to_owned(),
                d.agent.to_owned(),
                d.new_items.len(),
            ));
            Some(FinalOutput::Text(format!("declined: {}", d.refusal)))
        }),
    )
    .await
    .expect("run");
    assert_eq!(r.final_output_text(), "declined: No.");
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![("No.".to_owned(), "A".to_owned(), 1)]
    );

    // A handler that returns None keeps the error.
    model.push_output(vec![refusal("No.")]);
    let e =
        expect_err(Runner::run(&a, "hi", RunOptions::default().on_model_refusal(|_| None)).await);
    assert!(matches!(e.error, Error::ModelRefusal { .. }), "{}", e.error);

    // For an output type, the handler's output must pass it.
    let typed = agent("A", &model).output_type::<Weather>().build();
    for (given, ok) in [
        (json!({"city": "Oslo", "celsius": 1}), true),
        (json!({"city": "Oslo"}), false),
    ] {
        model.push_output(vec![refusal("No.")]);
        let r = Runner::run(
            &typed,
            "hi",
            RunOptions::default().on_model_refusal(move |_| Some(FinalOutput::Json(given.clone()))),
        )
        .await;
        match r {
            Ok(r) => {
                assert!(ok);
                assert_eq!(r.final_output_as::<Weather>().expect("typed").celsius, 1);
            }
            Err(e) => {
                assert!(!ok, "{}", e.error);
                assert!(
                    matches!(&e.error, Error::UserError(m) if m.contains("model_refusal")),
                    "{}",
                    e.error
                );
            }
        }
    }
    model.assert_complete();
}

#[tokio::test]
async fn a_message_with_text_and_no_refusal_is_still_the_final_output() {
    let model = ScriptedModel::new();
    model.push_text("hello");
    let a = agent("A", &model).build();
    let r = Runner::run(
        &a,
        "hi",
        RunOptions::default().on_model_refusal(|_| panic!("not a refusal")),
    )
    .await
    .expect("run");
    assert_eq!(r.final_output_text(), "hello");
}

// ---- invalid_final_output ------------------------------------------------------

#[tokio::test]
async fn an_invalid_final_output_handler_can_give_the_final_output() {
    let model = ScriptedModel::new();
    model.push_text(r#"{"city":"Oslo"}"#);
    let a = agent("A", &model).output_type::<Weather>().build();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let r = Runner::run(
        &a,
        "weather?",
        RunOptions::default().on_invalid_final_output(move |d| {
            log.lock().expect("lock").push((
                d.output.to_owned(),
                d.error.contains("celsius"),
                d.new_items.len(),
            ));
            Some(FinalOutput::Json(json!({"city": "Oslo", "celsius": 0})))
        }),
    )
    .await
    .expect("run");
    let w: Weather = r.final_output_as().expect("typed");
    assert_eq!((w.city.as_str(), w.celsius), ("Oslo", 0));
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![(r#"{"city":"Oslo"}"#.to_owned(), true, 1)]
    );
    model.assert_complete();
}

#[tokio::test]
async fn without_a_handler_or_with_none_an_invalid_output_is_a_model_behavior_error() {
    let model = ScriptedModel::new();
    let a = agent("A", &model).output_type::<Weather>().build();
    for opts in [
        RunOptions::default(),
        RunOptions::default().on_invalid_final_output(|_| None),
    ] {
        model.push_text("not json");
        let e = expect_err(Runner::run(&a, "weather?", opts).await);
        assert!(matches!(e.error, Error::ModelBehavior(_)), "{}", e.error);
        assert_eq!(names(&e.details.new_items), vec!["message_output_created"]);
    }
    model.assert_complete();
}

#[tokio::test]
async fn a_handler_output_that_fails_the_output_type_is_a_user_error() {
    let model = ScriptedModel::new();
    let a = agent("A", &model).output_type::<Weather>().build();
    for bad in [
        FinalOutput::Json(json!({"city": "Oslo"})),
        FinalOutput::Text("sunny".into()),
    ] {
        model.push_text("not json");
        let e = expect_err(
            Runner::run(
                &a,
                "weather?",
                RunOptions::default().on_invalid_final_output(move |_| Some(bad.clone())),
            )
            .await,
        );
        assert!(
            matches!(&e.error, Error::UserError(m) if m.contains("invalid_final_output")),
            "{}",
            e.error
        );
    }
    // Non-object output types take the value plain or wrapped.
    let a = agent("A", &model).output_type::<Vec<String>>().build();
    for given in [json!(["x"]), json!({"response": ["x"]})] {
        model.push_text("[1]");
        let r = Runner::run(
            &a,
            "list",
            RunOptions::default()
                .on_invalid_final_output(move |_| Some(FinalOutput::Json(given.clone()))),
        )
        .await
        .expect("run");
        assert_eq!(r.final_output_as::<Vec<String>>().expect("typed"), ["x"]);
    }
    model.assert_complete();
}

// ---- Unknown tools -------------------------------------------------------------

#[tokio::test]
async fn an_unknown_tool_gets_an_output_naming_the_tools_that_exist() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "serch", &args("x"))]);
    model.push_text("done");
    let helper = agent("Helper", &model).build();
    let a = agent("A", &model)
        .tool(echo("search"))
        .tool(echo("fetch"))
        .handoff_to(&helper)
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let outputs = tool_outputs(&r.new_items);
    assert_eq!(outputs.len(), 1);
    let (call_id, output, is_error) = &outputs[0];
    assert_eq!(call_id, "c1");
    assert!(is_error);
    assert!(output.contains("`serch` does not exist"), "{output}");
    assert!(
        output.contains("Available tools: `search`, `fetch`, `transfer_to_helper`"),
        "{output}"
    );
    assert!(!output.contains("fix the arguments"), "{output}");

    // Under the raise policy the error names them too.
    model.push_output(vec![function_call_with_id("c1", "serch", &args("x"))]);
    let e = expect_err(
        Runner::run(
            &a,
            "hi",
            RunOptions::default().run_config(RunConfig {
                tool_error_policy: ToolErrorPolicy::Raise,
                ..RunConfig::default()
            }),
        )
        .await,
    );
    assert!(
        matches!(&e.error, Error::ModelBehavior(m) if m.contains("serch") && m.contains("`fetch`")),
        "{}",
        e.error
    );
    model.assert_complete();
}

// ---- Tool guardrail tripwires inside agents as tools ---------------------------

fn raising_guard() -> ToolInputGuardrail {
    ToolInputGuardrail::new("no_secrets", |_d: ToolInputGuardrailData| async {
        Ok(ToolGuardrailOutput::raise("secrets are off limits"))
    })
}

#[tokio::test]
async fn a_tool_guardrail_tripwire_inside_an_agent_tool_ends_the_outer_run_typed() {
    for policy in [ToolErrorPolicy::ReturnToModel, ToolErrorPolicy::Raise] {
        let (outer_model, inner_model) = (ScriptedModel::new(), ScriptedModel::new());
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        let guarded = FunctionTool::new("read", "Reads.", move |_c: ToolContext, _a: Text| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>("secret") }
        })
        .input_guardrail(raising_guard());
        let inner = agent("Inner", &inner_model).tool(guarded).build();
        inner_model.push_output(vec![function_call_with_id("i1", "read", &args("x"))]);
        let outer = agent("Outer", &outer_model)
            .tool(inner.as_tool("ask_inner", "Asks the inner agent."))
            .build();
        outer_model.push_output(vec![function_call_with_id(
            "o1",
            "ask_inner",
            r#"{"input":"read it"}"#,
        )]);
        let e = expect_err(
            Runner::run(
                &outer,
                "hi",
                RunOptions::default().run_config(RunConfig {
                    tool_error_policy: policy,
                    ..RunConfig::default()
                }),
            )
            .await,
        );
        match &e.error {
            Error::ToolGuardrailTripwire(g) => {
                assert_eq!(g.guardrail, "no_secrets");
                assert_eq!((g.tool.as_str(), g.call_id.as_str()), ("read", "i1"));
                assert_eq!(g.output.message(), Some("secrets are off limits"));
            }
            other => panic!("{policy:?}: unexpected {other}"),
        }
        assert_eq!(count.load(Ordering::SeqCst), 0);
        // The outer model was not called again, and the outer work travels.
        assert_eq!(outer_model.call_count(), 1);
        assert_eq!(names(&e.details.new_items), vec!["tool_called"]);
        assert_eq!(e.details.tool_input_guardrail_results.len(), 1);
        outer_model.assert_complete();
        inner_model.assert_complete();
    }
}

// ---- Dropping a streamed run while a tool runs ---------------------------------

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn dropping_a_streamed_run_drops_the_running_tool_future() {
    let (started, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (s, d) = (Arc::clone(&started), Arc::clone(&dropped));
    let slow = FunctionTool::new("slow", "Never ends.", move |_c: ToolContext, _a: Text| {
        let (started, flag) = (Arc::clone(&s), DropFlag(Arc::clone(&d)));
        async move {
            let _flag = flag;
            started.store(true, Ordering::SeqCst);
            futures::future::pending::<()>().await;
            Ok::<_, String>("never")
        }
    });
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "slow", &args("x"))]);
    let a = agent("A", &model).tool(slow).build();
    let mut run = Runner::run_streamed(&a, "hi", RunOptions::default());
    for _ in 0..200 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(10), run.next()).await;
    }
    assert!(started.load(Ordering::SeqCst), "the tool started");
    assert!(!dropped.load(Ordering::SeqCst), "the tool is pending");
    drop(run);
    assert!(
        dropped.load(Ordering::SeqCst),
        "dropping the stream drops the tool's future"
    );
}

/// A model whose streamed request never answers, and tells when it starts
/// and when its stream is dropped.
#[derive(Debug)]
struct HangingModel {
    started: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
}

impl Model for HangingModel {
    fn get_response<'a>(
        &'a self,
        _request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(futures::future::pending())
    }

    fn stream_response<'a>(
        &'a self,
        _request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        self.started.store(true, Ordering::SeqCst);
        let flag = DropFlag(Arc::clone(&self.dropped));
        Box::pin(futures::stream::once(async move {
            let _flag = flag;
            futures::future::pending::<()>().await;
            Err(ModelError::Stream("unreachable".into()))
        }))
    }
}

#[tokio::test]
async fn dropping_a_streamed_run_drops_the_model_request() {
    let (started, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let model = Arc::new(HangingModel {
        started: Arc::clone(&started),
        dropped: Arc::clone(&dropped),
    });
    let a: Agent = Agent::builder("A").model(model).build();
    let mut run = Runner::run_streamed(&a, "hi", RunOptions::default());
    for _ in 0..200 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(10), run.next()).await;
    }
    // Poll once more so that the request's future is running.
    let _ = tokio::time::timeout(Duration::from_millis(10), run.next()).await;
    assert!(started.load(Ordering::SeqCst), "the model was called");
    assert!(!dropped.load(Ordering::SeqCst), "the request is pending");
    drop(run);
    assert!(
        dropped.load(Ordering::SeqCst),
        "dropping the stream drops the model request"
    );
}

// ---- Cancel during tools, then resume ------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_turn_runs_only_the_calls_that_had_not_finished() {
    let (a_runs, b_runs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let b_started = Arc::new(AtomicBool::new(false));
    let counted = Arc::clone(&a_runs);
    let tool_a = FunctionTool::new("a", "Fast.", move |_c: ToolContext, t: Text| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, String>(format!("a:{}", t.text)) }
    });
    let (counted, started) = (Arc::clone(&b_runs), Arc::clone(&b_started));
    let tool_b = FunctionTool::new(
        "b",
        "Slow the first time.",
        move |_c: ToolContext, t: Text| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            started.store(true, Ordering::SeqCst);
            async move {
                if first {
                    futures::future::pending::<()>().await;
                }
                Ok::<_, String>(format!("b:{}", t.text))
            }
        },
    );
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("cb", "b", &args("2")),
        function_call_with_id("ca", "a", &args("1")),
    ]);
    let ag = agent("A", &model).tool(tool_a).tool(tool_b).build();
    let handle = CancelHandle::new();
    let run = {
        let (ag, opts) = (
            ag.clone(),
            RunOptions::default().cancel_handle(handle.clone()),
        );
        tokio::spawn(async move { Runner::run(&ag, "go", opts).await })
    };
    for _ in 0..2_000 {
        if b_started.load(Ordering::SeqCst) && a_runs.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(a_runs.load(Ordering::SeqCst), 1, "tool a finished");
    handle.cancel(CancelMode::Immediate);
    let e = expect_err(run.await.expect("join"));
    assert!(matches!(e.error, Error::Cancelled), "{}", e.error);
    let state = e.to_state().expect("state");
    let json = state.to_json().expect("to_json");
    assert!(json.contains("completed_tool_outputs"), "{json}");
    let state = RunState::from_json(&ag, &json).expect("from_json");

    model.push_text("done");
    let r = Runner::run(&ag, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(a_runs.load(Ordering::SeqCst), 1, "a does not run again");
    assert_eq!(b_runs.load(Ordering::SeqCst), 2, "b runs once more");
    // Outputs in call order, each once.
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![
            ("cb".to_owned(), "b:2".to_owned()),
            ("ca".to_owned(), "a:1".to_owned())
        ]
    );
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "tool_called",
            "tool_output",
            "tool_output",
            "message_output_created"
        ]
    );
    model.assert_complete();
}
