//! Human-in-the-loop approvals: interruptions, approve / reject (sticky and
//! per call), partial decisions, resuming (plain, streamed, sessions, run
//! sessions, serialized in between), staged input and nested agent tools.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agents_core::testing::{function_call_with_id, handoff_call, text, ScriptedModel};
use agents_core::{
    Agent, Error, FunctionTool, Item, MemorySession, RunContext, Session, ToolContext,
    ToolUseBehavior,
};
use agents_runner::{
    AgentRunExt, AgentToolExt, Always, RunOptions, RunResult, RunState, RunStreamEvent, Runner,
    ToolApprovalItem, DEFAULT_REJECTION_MESSAGE,
};
use common::*;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// An echo tool named `name` that counts its runs.
fn counted(name: &str, runs: &Arc<AtomicUsize>) -> FunctionTool<(), Text> {
    let (prefix, runs) = (name.to_owned(), Arc::clone(runs));
    FunctionTool::new(
        name,
        "Echoes its text.",
        move |_ctx: ToolContext, a: Text| {
            runs.fetch_add(1, Ordering::SeqCst);
            let out = format!("{prefix}:{}", a.text);
            async move { Ok::<_, String>(out) }
        },
    )
}

/// A counted tool whose every call needs approval.
fn gated(name: &str, runs: &Arc<AtomicUsize>) -> FunctionTool<(), Text> {
    counted(name, runs).needs_approval(true)
}

fn n(runs: &Arc<AtomicUsize>) -> usize {
    runs.load(Ordering::SeqCst)
}

/// The state of `r`, written to a string and read back.
fn saved<C>(r: &RunResult<C>, agent: &Agent<C>) -> RunState {
    let json = r.to_state().to_json().expect("to_json");
    RunState::from_json(agent, &json).expect("from_json")
}

/// `(tool, call id, agent, parents)` of each interruption.
fn paused(items: &[ToolApprovalItem]) -> Vec<(String, String, String, Vec<String>)> {
    items
        .iter()
        .map(|i| {
            (
                i.tool_name.clone(),
                i.call_id.clone(),
                i.agent.clone(),
                i.parent_call_ids.clone(),
            )
        })
        .collect()
}

fn item(state: &RunState, call_id: &str) -> ToolApprovalItem {
    state
        .interruptions()
        .iter()
        .find(|i| i.call_id == call_id)
        .cloned()
        .unwrap_or_else(|| panic!("no interruption for {call_id}"))
}

#[tokio::test]
async fn a_call_that_needs_approval_pauses_after_the_other_calls_ran() {
    let (deletes, echoes) = (Arc::default(), Arc::default());
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "delete", &args("a")),
        function_call_with_id("c2", "echo", &args("b")),
    ]);
    let a = agent("A", &model)
        .tool(gated("delete", &deletes))
        .tool(counted("echo", &echoes))
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output, None);
    assert!(r.is_interrupted());
    assert_eq!(
        paused(r.interruptions()),
        vec![("delete".into(), "c1".into(), "A".into(), vec![])]
    );
    assert_eq!(r.interruptions()[0].arguments, args("a"));
    assert_eq!((n(&deletes), n(&echoes)), (0, 1));
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "tool_called",
            "tool_output",
            "tool_approval_requested"
        ]
    );
    // The approval item never reaches the model input.
    assert_eq!(
        kinds(&r.to_input_list()),
        vec![
            "message",
            "function_call",
            "function_call",
            "function_call_output"
        ]
    );
    assert_eq!(model.call_count(), 1);
    model.assert_complete();
}

#[tokio::test]
async fn approving_runs_the_call_without_calling_the_model_again_for_that_turn() {
    let (deletes, echoes) = (Arc::default(), Arc::default());
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "delete", &args("a")),
        function_call_with_id("c2", "echo", &args("b")),
    ]);
    let a = agent("A", &model)
        .tool(gated("delete", &deletes))
        .tool(counted("echo", &echoes))
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    assert_eq!(state.approval_status(&item(&state, "c1")), Some(true));

    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert!(!r.is_interrupted());
    // The approved call ran once; the other one did not run again.
    assert_eq!((n(&deletes), n(&echoes)), (1, 1));
    // One more model call only: the one after the tools.
    assert_eq!(model.call_count(), 2);
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![
            ("c2".to_owned(), "echo:b".to_owned()),
            ("c1".to_owned(), "delete:a".to_owned())
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
    assert_eq!(r.input, vec![Item::user("hi")]);
    assert_eq!(r.turns, 2);
    assert_eq!(r.usage.requests, 2);
    model.assert_complete();
}

#[tokio::test]
async fn rejecting_answers_with_the_message_or_the_default() {
    for (message, expected) in [
        (Some("Not today.".to_owned()), "Not today."),
        (None, DEFAULT_REJECTION_MESSAGE),
    ] {
        let deletes = Arc::default();
        let model = ScriptedModel::new();
        model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
        let a = agent("A", &model).tool(gated("delete", &deletes)).build();
        let r = Runner::run(&a, "hi", RunOptions::default())
            .await
            .expect("run");
        let mut state = saved(&r, &a);
        state.reject(&item(&state, "c1"), message, Always::No);
        assert_eq!(state.approval_status(&item(&state, "c1")), Some(false));
        model.push_text("ok, I will not");
        let r = Runner::run(&a, state, RunOptions::default())
            .await
            .expect("resume");
        assert_eq!(n(&deletes), 0, "a rejected call never runs");
        assert_eq!(
            outputs_in(&model.calls()[1]),
            vec![("c1".to_owned(), expected.to_owned())]
        );
        assert_eq!(
            tool_outputs(&r.new_items),
            vec![("c1".to_owned(), expected.to_owned(), false)]
        );
        assert_eq!(r.final_output_text(), "ok, I will not");
        model.assert_complete();
    }
}

#[tokio::test]
async fn a_sticky_approval_covers_later_calls_of_the_tool() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::Yes);
    model.push_output(vec![function_call_with_id("c2", "delete", &args("b"))]);
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(n(&deletes), 2, "the later call needed no new decision");
    assert_eq!(
        tool_outputs(&r.new_items),
        vec![
            ("c1".to_owned(), "delete:a".to_owned(), false),
            ("c2".to_owned(), "delete:b".to_owned(), false)
        ]
    );
    model.assert_complete();
}

#[tokio::test]
async fn an_exact_decision_beats_a_sticky_one() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "delete", &args("a")),
        function_call_with_id("c2", "delete", &args("b")),
    ]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.interruptions().len(), 2);
    let mut state = saved(&r, &a);
    // The exact approval of c2 is made first; the sticky rejection after it
    // does not override it.
    state.approve(&item(&state, "c2"), Always::No);
    state.reject(
        &item(&state, "c1"),
        Some("no deletions".into()),
        Always::Yes,
    );
    model.push_output(vec![function_call_with_id("c3", "delete", &args("c"))]);
    model.push_text("done");
    let r = Runner::run(&a, saved_state(state, &a), RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(n(&deletes), 1);
    assert_eq!(
        tool_outputs(&r.new_items),
        vec![
            // Outputs of one pass keep the call order.
            ("c1".to_owned(), "no deletions".to_owned(), false),
            ("c2".to_owned(), "delete:b".to_owned(), false),
            // A later call falls under the sticky rejection, with its message.
            ("c3".to_owned(), "no deletions".to_owned(), false),
        ]
    );
    model.assert_complete();
}

/// `state` written to a string and read back.
fn saved_state<C>(state: RunState, agent: &Agent<C>) -> RunState {
    RunState::from_json(agent, &state.to_json().expect("to_json")).expect("from_json")
}

#[tokio::test]
async fn undecided_calls_come_back_as_interruptions() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "delete", &args("a")),
        function_call_with_id("c2", "delete", &args("b")),
    ]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);

    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("partial resume");
    assert_eq!(n(&deletes), 1);
    assert_eq!(model.call_count(), 1, "the model waits for every decision");
    assert_eq!(
        paused(r.interruptions()),
        vec![("delete".into(), "c2".into(), "A".into(), vec![])]
    );
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "tool_called",
            "tool_output",
            "tool_approval_requested"
        ]
    );

    let mut state = saved(&r, &a);
    state.reject(&item(&state, "c2"), None, Always::No);
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("final resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(n(&deletes), 1);
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![
            ("c1".to_owned(), "delete:a".to_owned()),
            ("c2".to_owned(), DEFAULT_REJECTION_MESSAGE.to_owned())
        ]
    );
    model.assert_complete();
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Transfer {
    amount: u64,
}

#[tokio::test]
async fn an_approval_function_sees_parsed_arguments_and_bad_arguments_fail_closed() {
    let asked = Arc::new(Mutex::new(Vec::<String>::new()));
    let runs = Arc::new(AtomicUsize::new(0));
    let (asked2, runs2) = (Arc::clone(&asked), Arc::clone(&runs));
    let transfer = FunctionTool::new(
        "transfer",
        "Moves money.",
        move |_ctx: ToolContext, t: Transfer| {
            runs2.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(format!("moved {}", t.amount)) }
        },
    )
    .needs_approval_fn(move |_ctx: RunContext, t: Transfer, call_id: String| {
        asked2.lock().expect("lock").push(call_id);
        async move { t.amount > 100 }
    });
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("small", "transfer", r#"{"amount":5}"#),
        function_call_with_id("big", "transfer", r#"{"amount":500}"#),
        function_call_with_id("bad", "transfer", "{not json"),
    ]);
    let a = agent("A", &model).tool(transfer).build();
    let r = Runner::run(&a, "pay", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(*asked.lock().expect("lock"), ["small", "big"]);
    assert_eq!(n(&runs), 1);
    assert_eq!(
        paused(r.interruptions())
            .into_iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        ["big", "bad"]
    );
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "big"), Always::No);
    state.approve(&item(&state, "bad"), Always::No);
    model.push_text("paid");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(n(&runs), 2);
    let outs = tool_outputs(&r.new_items);
    assert_eq!(outs[0], ("small".into(), "moved 5".into(), false));
    assert_eq!(outs[1], ("big".into(), "moved 500".into(), false));
    // The approved malformed call fails as invalid arguments, to the model.
    assert_eq!(outs[2].0, "bad");
    assert!(outs[2].2, "{:?}", outs[2]);
    model.assert_complete();
}

#[tokio::test]
async fn the_streamed_run_emits_the_request_ends_and_resumes_streamed() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut seen = Vec::new();
    while let Some(e) = s.next().await {
        if !matches!(e, RunStreamEvent::RawModel(_)) {
            seen.push(describe(&e));
        }
    }
    assert_eq!(
        seen,
        vec!["agent_updated:A", "tool_called", "tool_approval_requested"]
    );
    let r = s.result().await.expect("settled");
    assert_eq!(r.final_output, None);
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);

    model.push_text("done");
    let mut s = Runner::run_streamed(&a, state, RunOptions::default());
    let mut seen = Vec::new();
    while let Some(e) = s.next().await {
        if !matches!(e, RunStreamEvent::RawModel(_)) {
            seen.push(describe(&e));
        }
    }
    assert_eq!(
        seen,
        vec!["agent_updated:A", "tool_output", "message_output_created"]
    );
    let r = s.result().await.expect("settled");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(n(&deletes), 1);
    assert!(model.calls()[1].streamed);
    model.assert_complete();
}

#[tokio::test]
async fn a_session_gets_the_interrupted_turn_once() {
    let deletes = Arc::default();
    let session = Arc::new(MemorySession::new("s"));
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let opts = || RunOptions::default().session(session.clone());
    let r = Runner::run(&a, "hi", opts()).await.expect("run");
    // The turn is stored once it is complete, not half-done.
    assert_eq!(
        session.get_items(None).await.expect("items"),
        vec![Item::user("hi")]
    );
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    model.push_text("done");
    let r = Runner::run(&a, state, opts()).await.expect("resume");
    assert_eq!(r.final_output_text(), "done");
    let stored = session.get_items(None).await.expect("items");
    assert_eq!(
        kinds(&stored),
        vec![
            "message",
            "function_call",
            "function_call_output",
            "message"
        ]
    );
    assert_eq!(stored[..3], model.calls()[1].input[..]);

    // The next run continues the conversation from the session.
    model.push_text("again");
    Runner::run(&a, "more", opts()).await.expect("next run");
    assert_eq!(model.calls()[2].input.len(), 5);
    model.assert_complete();
}

#[tokio::test]
async fn a_run_session_resumes_with_its_own_context() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let runs = a.create_session(()).await.expect("session");
    let r = runs.run("hi", RunOptions::default()).await.expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    model.push_text("done");
    let r = runs
        .run(state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(n(&deletes), 1);
    runs.close().await.expect("close");
    model.assert_complete();
}

#[tokio::test]
async fn after_the_pending_calls_a_handoff_of_the_same_turn_runs() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    let b = agent("B", &model).build();
    let a = agent("A", &model)
        .tool(gated("delete", &deletes))
        .handoff_to(&b)
        .build();
    model.push_output(vec![
        function_call_with_id("c1", "delete", &args("a")),
        handoff_call("B"),
    ]);
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    // Interruptions come first: no handoff yet.
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "handoff_requested",
            "tool_approval_requested"
        ]
    );
    assert_eq!(r.last_agent.name(), "A");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    model.push_text("B here");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "B here");
    assert_eq!(r.last_agent.name(), "B");
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "handoff_requested",
            "tool_output",
            "handoff_occurred",
            "message_output_created"
        ]
    );
    model.assert_complete();
}

#[tokio::test]
async fn a_tool_final_output_ends_the_resumed_run_without_a_model_call() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model)
        .tool(gated("delete", &deletes))
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    let r = Runner::run(&a, state.clone(), RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "delete:a");
    assert_eq!(model.call_count(), 1);

    // Input staged for a model call that may never come is refused.
    state.add_input("and then?").expect("staged");
    let e = expect_err(Runner::run(&a, state, RunOptions::default()).await);
    assert!(
        matches!(&e.error, Error::UserError(m) if m.contains("tool_use_behavior")),
        "{}",
        e.error
    );
    model.assert_complete();
}

#[tokio::test]
async fn staged_input_is_admitted_before_the_next_model_call() {
    let deletes = Arc::default();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "delete", &args("a"))]);
    let a = agent("A", &model).tool(gated("delete", &deletes)).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &a);
    state.approve(&item(&state, "c1"), Always::No);
    state.add_input("Also: be brief.").expect("staged");
    assert_eq!(state.pending_input(), [Item::user("Also: be brief.")]);
    let mut state = saved_state(state, &a);
    assert_eq!(state.pending_input().len(), 1, "staged input is serialized");
    assert!(matches!(
        state.add_input(agents_runner::RunInput::State(Box::new(state.clone()))),
        Err(agents_runner::RunStateError::InvalidOperation(_))
    ));
    model.push_text("done");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    let input = &model.calls()[1].input;
    assert_eq!(
        kinds(input),
        vec![
            "message",
            "function_call",
            "function_call_output",
            "message"
        ]
    );
    assert_eq!(input[3], Item::user("Also: be brief."));
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "tool_output",
            "input_added",
            "message_output_created"
        ]
    );
    assert_eq!(r.to_input_list()[..4], input[..]);

    // A finished run takes no input and cannot be resumed.
    let mut done = r.to_state();
    assert!(done.is_finished());
    assert!(done.add_input("more").is_err());
    let e = expect_err(Runner::run(&a, done, RunOptions::default()).await);
    assert!(matches!(e.error, Error::UserError(_)), "{}", e.error);
    model.assert_complete();
}

/// A user context that tools read.
#[derive(Debug)]
struct Account {
    owner: String,
}

#[tokio::test]
async fn the_context_is_serialized_only_through_a_serializer() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "whoami", "{}")]);
    let whoami = FunctionTool::new(
        "whoami",
        "Names the owner.",
        |ctx: ToolContext<Account>, _a: agents_core::NoArgs| {
            let owner = ctx.context().owner.clone();
            async move { Ok::<_, String>(owner) }
        },
    )
    .needs_approval(true);
    let a: Agent<Account> = Agent::builder("A")
        .model(Arc::clone(&model))
        .tool(whoami)
        .build();
    let r = Runner::run(
        &a,
        "who?",
        RunOptions::default().context(Account {
            owner: "ann".into(),
        }),
    )
    .await
    .expect("run");
    let state = r.to_state();
    assert_eq!(state.context::<Account>().expect("context").owner, "ann");

    let plain = state.to_json().expect("to_json");
    assert!(!plain.contains("ann"), "{plain}");
    let with = state
        .to_json_with_context(|c: &Account| Ok::<_, String>(json!({ "owner": c.owner })))
        .expect("to_json_with_context");
    assert!(with.contains("\"owner\":\"ann\""), "{with}");
    // The wrong context type is an error, not a panic.
    assert!(matches!(
        state.to_json_with_context(|_: &String| Ok::<_, String>(json!(null))),
        Err(agents_runner::RunStateError::Context(_))
    ));

    // Without the context, the resumed run needs one from the options.
    let mut bare = RunState::from_json(&a, &plain).expect("from_json");
    assert!(bare.context::<Account>().is_none());
    assert!(matches!(
        RunState::from_json_with_context(&a, &plain, |_| Ok::<_, String>(Account {
            owner: "x".into()
        })),
        Err(agents_runner::RunStateError::Context(_))
    ));
    bare.approve(&item(&bare, "c1"), Always::No);
    let e = expect_err(Runner::run(&a, bare.clone(), RunOptions::default()).await);
    assert!(matches!(e.error, Error::UserError(_)), "{}", e.error);

    let mut restored = RunState::from_json_with_context(&a, &with, |v| {
        Ok::<_, String>(Account {
            owner: v["owner"].as_str().ok_or("no owner")?.to_owned(),
        })
    })
    .expect("from_json_with_context");
    restored.approve(&item(&restored, "c1"), Always::No);
    model.push_text("it is ann");
    Runner::run(&a, restored, RunOptions::default())
        .await
        .expect("resume with the restored context");
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![("c1".to_owned(), "ann".to_owned())]
    );

    // Options win over the state's context.
    model.push_text("it is bob");
    Runner::run(
        &a,
        bare,
        RunOptions::default().context(Account {
            owner: "bob".into(),
        }),
    )
    .await
    .expect("resume with the options' context");
    assert_eq!(
        outputs_in(&model.calls()[2]),
        vec![("c1".to_owned(), "bob".to_owned())]
    );
    model.assert_complete();
}

#[tokio::test]
async fn approvals_inside_an_agent_tool_surface_and_resume_the_nested_run() {
    let deletes = Arc::default();
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let worker = agent("Worker", &inner)
        .tool(gated("delete", &deletes))
        .build();
    let boss = agent("Boss", &outer)
        .tool(worker.as_tool("work", "Does the work."))
        .build();
    outer.push_output(vec![function_call_with_id(
        "t1",
        "work",
        r#"{"input":"clean up"}"#,
    )]);
    inner.push_output(vec![function_call_with_id("d1", "delete", &args("tmp"))]);

    let r = Runner::run(&boss, "go", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output, None);
    assert_eq!(
        paused(r.interruptions()),
        vec![(
            "delete".into(),
            "d1".into(),
            "Worker".into(),
            vec!["t1".into()]
        )]
    );
    assert!(r.interruptions()[0].is_nested());
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_approval_requested"]
    );
    assert_eq!(r.new_items[1].agent.as_ref(), "Worker");
    assert_eq!(
        (outer.call_count(), inner.call_count(), n(&deletes)),
        (1, 1, 0)
    );
    assert_eq!(r.usage.requests, 2);

    let mut state = saved(&r, &boss);
    let nested_item = item(&state, "d1");
    state.approve(&nested_item, Always::No);
    assert_eq!(state.approval_status(&nested_item), Some(true));
    inner.push_text("deleted tmp");
    outer.push_text("all clean");
    let r = Runner::run(&boss, saved_state(state, &boss), RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "all clean");
    assert_eq!(n(&deletes), 1);
    // The nested run continued: it did not ask its model again for d1.
    assert_eq!(inner.call_count(), 2);
    assert_eq!(
        outputs_in(&inner.calls()[1]),
        vec![("d1".to_owned(), "delete:tmp".to_owned())]
    );
    assert_eq!(
        outputs_in(&outer.calls()[1]),
        vec![("t1".to_owned(), "deleted tmp".to_owned())]
    );
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
    // Every request counted once: outer 2, nested 2.
    assert_eq!(r.usage.requests, 4);
    outer.assert_complete();
    inner.assert_complete();
}

#[tokio::test]
async fn a_rejection_inside_an_agent_tool_reaches_the_nested_model() {
    let deletes = Arc::default();
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let worker = agent("Worker", &inner)
        .tool(gated("delete", &deletes))
        .build();
    let boss = agent("Boss", &outer)
        .tool(worker.as_tool("work", "Does the work."))
        .build();
    outer.push_output(vec![function_call_with_id(
        "t1",
        "work",
        r#"{"input":"x"}"#,
    )]);
    inner.push_output(vec![function_call_with_id("d1", "delete", &args("tmp"))]);
    let r = Runner::run(&boss, "go", RunOptions::default())
        .await
        .expect("run");
    let mut state = saved(&r, &boss);
    state.reject(&item(&state, "d1"), Some("keep tmp".into()), Always::No);
    inner.push_text("kept tmp");
    outer.push_text("ok");
    let r = Runner::run(&boss, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "ok");
    assert_eq!(n(&deletes), 0);
    assert_eq!(
        outputs_in(&inner.calls()[1]),
        vec![("d1".to_owned(), "keep tmp".to_owned())]
    );
    outer.assert_complete();
    inner.assert_complete();
}

#[tokio::test]
async fn an_agent_tool_that_needs_approval_is_gated_like_any_tool() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let worker = agent("Worker", &inner).build();
    let boss = agent("Boss", &outer)
        .tool(
            worker
                .as_tool("work", "Does the work.")
                .needs_approval_when(|_ctx, args| args["input"] == "risky"),
        )
        .build();
    outer.push_output(vec![
        function_call_with_id("t1", "work", r#"{"input":"safe"}"#),
        function_call_with_id("t2", "work", r#"{"input":"risky"}"#),
        function_call_with_id("t3", "work", "{oops"),
    ]);
    inner.push_text("did safe");
    let r = Runner::run(&boss, "go", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        paused(r.interruptions())
            .into_iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        ["t2", "t3"],
        "malformed arguments fail closed"
    );
    assert_eq!(inner.call_count(), 1);
    let mut state = saved(&r, &boss);
    state.reject(&item(&state, "t2"), None, Always::No);
    state.reject(&item(&state, "t3"), None, Always::No);
    outer.push_text("done");
    let r = Runner::run(&boss, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(inner.call_count(), 1);
    let texts: Vec<String> = tool_outputs(&r.new_items)
        .into_iter()
        .map(|t| t.1)
        .collect();
    assert_eq!(
        texts,
        [
            "did safe",
            DEFAULT_REJECTION_MESSAGE,
            DEFAULT_REJECTION_MESSAGE
        ]
    );
    outer.assert_complete();
    inner.assert_complete();
}

#[tokio::test]
async fn tools_without_approval_never_interrupt() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("a"))]);
    model.push_output(vec![text("done")]);
    let a = agent("A", &model).tool(echo("echo")).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert!(!r.is_interrupted());
    assert!(r.interruptions().is_empty());
    assert_eq!(r.final_output_text(), "done");
    model.assert_complete();
}

#[tokio::test]
async fn a_server_managed_conversation_resumes_where_the_server_is() {
    for conversation in [false, true] {
        let deletes = Arc::default();
        let model = ScriptedModel::new();
        model.push_response(response(
            "resp_1",
            vec![function_call_with_id("c1", "delete", &args("a"))],
        ));
        let a = agent("A", &model).tool(gated("delete", &deletes)).build();
        let opts = if conversation {
            RunOptions::default().conversation_id("conv_1")
        } else {
            RunOptions::default().auto_previous_response_id(true)
        };
        let r = Runner::run(&a, "hi", opts).await.expect("run");
        let mut state = saved(&r, &a);
        if conversation {
            assert_eq!(state.conversation_id(), Some("conv_1"));
        } else {
            assert_eq!(state.previous_response_id(), Some("resp_1"));
        }
        state.approve(&item(&state, "c1"), Always::No);
        model.push_response(response("resp_2", vec![text("done")]));
        // The state carries the conversation settings.
        let r = Runner::run(&a, state, RunOptions::default())
            .await
            .expect("resume");
        assert_eq!(r.final_output_text(), "done");
        let call = &model.calls()[1];
        // Only what the server has not seen is sent.
        assert_eq!(
            call.input,
            vec![Item::function_call_output("c1", "delete:a")]
        );
        if conversation {
            assert_eq!(call.conversation_id.as_deref(), Some("conv_1"));
            assert_eq!(call.previous_response_id, None);
        } else {
            assert_eq!(call.previous_response_id.as_deref(), Some("resp_1"));
        }
        model.assert_complete();
    }
}
