//! Streamed runs: event order and names, text streams, parity with the plain
//! run, and the end of the stream.

mod common;

use std::sync::Arc;

use agents_core::testing::{function_call_with_id, text, ScriptedEvent, ScriptedModel};
use agents_core::{Agent, ModelError, ModelResponse, ModelStreamEvent};
use agents_runner::{RunOptions, RunResult, RunResultStreaming, RunStreamEvent, Runner};
use common::*;
use futures::{FutureExt, StreamExt};

async fn collect(s: &mut RunResultStreaming) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = s.next().await {
        out.push(describe(&e));
    }
    out
}

#[tokio::test]
async fn tool_calling_run_emits_events_in_order() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("done");
    let a = agent("Assistant", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let events = collect(&mut s).await;
    assert_eq!(
        events,
        vec![
            "agent_updated:Assistant",
            "raw:args_delta",
            "raw:item_done:function_call",
            "tool_called",
            "tool_output",
            "raw:text_delta:done",
            "raw:item_done:message",
            "message_output_created",
        ]
    );
    let r = s.result().await.expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert!(model.calls().iter().all(|c| c.streamed));
}

#[tokio::test]
async fn handoff_and_reasoning_events_have_their_names() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("Expert", &mb).build();
    let a = agent("Triage", &ma).handoff_to(&b).build();
    let reasoning: agents_core::Item = serde_json::from_value(serde_json::json!({
        "type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}]
    }))
    .expect("reasoning");
    ma.push_output(vec![
        reasoning,
        function_call_with_id("h1", "transfer_to_expert", "{}"),
    ]);
    mb.push_text("expert answer");
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let events: Vec<String> = collect(&mut s)
        .await
        .into_iter()
        .filter(|e| !e.starts_with("raw:"))
        .collect();
    assert_eq!(
        events,
        vec![
            "agent_updated:Triage",
            "reasoning_item_created",
            "handoff_requested",
            "handoff_occurred",
            "agent_updated:Expert",
            "message_output_created",
        ]
    );
    assert_eq!(s.result().await.expect("run").last_agent.name(), "Expert");
}

#[tokio::test]
async fn run_item_events_carry_the_items() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("done");
    let a = agent("A", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut items = Vec::new();
    while let Some(e) = s.next().await {
        if let RunStreamEvent::RunItem { name, item } = e {
            assert_eq!(name, item.event_name());
            items.push(item);
        }
    }
    let r = s.result().await.expect("run");
    assert_eq!(items, r.new_items);
}

#[tokio::test]
async fn to_text_stream_yields_the_deltas() {
    let model = ScriptedModel::new();
    let final_response = ModelResponse::new(vec![text("Hello, world")]);
    let delta = |d: &str| {
        ScriptedEvent::Event(ModelStreamEvent::OutputTextDelta {
            item_id: None,
            output_index: 0,
            delta: d.to_owned(),
        })
    };
    model.push_stream(vec![
        delta("Hel"),
        delta("lo, "),
        delta("world"),
        ScriptedEvent::Event(ModelStreamEvent::Completed(final_response)),
    ]);
    let a = agent("A", &model).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let deltas: Vec<String> = s.to_text_stream().collect().await;
    assert_eq!(deltas, vec!["Hel", "lo, ", "world"]);
    let r = s.result().await.expect("run");
    assert_eq!(r.final_output_text(), "Hello, world");
}

#[tokio::test]
async fn to_text_stream_spans_turns() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("first "),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    model.push_text("second");
    let a = agent("A", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let deltas: Vec<String> = s.to_text_stream().collect().await;
    assert_eq!(deltas, vec!["first ", "second"]);
}

/// A script exercising messages, tools (one failing), a handoff and a final
/// message. Call ids are fixed so both runs see identical items.
fn scripted_agents() -> (Agent, Arc<ScriptedModel>, Arc<ScriptedModel>) {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("B", &mb).tool(echo("echo")).build();
    let a = agent("A", &ma)
        .tool(echo("echo"))
        .tool(failing("broken", "nope"))
        .handoff_to(&b)
        .build();
    ma.push_output(vec![
        text("working"),
        function_call_with_id("c1", "echo", &args("1")),
        function_call_with_id("c2", "broken", &args("2")),
    ]);
    ma.push_output(vec![function_call_with_id("h1", "transfer_to_b", "{}")]);
    mb.push_output(vec![function_call_with_id("c3", "echo", &args("3"))]);
    mb.push_text("all done");
    (a, ma, mb)
}

#[tokio::test]
async fn streamed_and_plain_runs_agree() {
    let (a1, ma1, mb1) = scripted_agents();
    let plain: RunResult = Runner::run(&a1, "go", RunOptions::default())
        .await
        .expect("plain run");
    let (a2, ma2, mb2) = scripted_agents();
    let streamed = Runner::run_streamed(&a2, "go", RunOptions::default())
        .result()
        .await
        .expect("streamed run");
    assert_eq!(plain.final_output, streamed.final_output);
    assert_eq!(plain.final_output_text(), "all done");
    assert_eq!(plain.new_items, streamed.new_items);
    assert_eq!(plain.to_input_list(), streamed.to_input_list());
    assert_eq!(plain.turns, streamed.turns);
    assert_eq!(plain.last_agent.name(), streamed.last_agent.name());
    for (m1, m2) in [(&ma1, &ma2), (&mb1, &mb2)] {
        let (c1, c2) = (m1.calls(), m2.calls());
        assert_eq!(c1.len(), c2.len());
        for (x, y) in c1.iter().zip(&c2) {
            assert_eq!(x.input, y.input);
            assert_eq!(x.instructions, y.instructions);
            assert!(!x.streamed && y.streamed);
        }
    }
}

#[tokio::test]
async fn the_stream_ends_before_the_result_is_settled() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("a"),
        function_call_with_id("c1", "echo", &args("x")),
        function_call_with_id("c2", "echo", &args("y")),
    ]);
    model.push_output(vec![text("b"), text("c")]);
    let a = agent("A", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut complete_after = Vec::new();
    while let Some(e) = s.next().await {
        complete_after.push((describe(&e), s.is_complete()));
    }
    assert!(complete_after.len() > 5);
    // While events remain unread the run is not complete.
    let (last, rest) = complete_after.split_last().expect("events");
    for (event, complete) in rest {
        assert!(!complete, "complete while events remained (after {event})");
    }
    assert_eq!(last.0, "message_output_created");
    assert!(s.is_complete(), "the stream ended, so the run is complete");
    // Once the stream has ended, the result is ready without further work.
    let r = s
        .result()
        .now_or_never()
        .expect("settled when the stream ends")
        .expect("run");
    assert_eq!(r.final_output_text(), "c");
}

#[tokio::test]
async fn result_drives_an_unread_stream_to_the_end() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("done");
    let a = agent("A", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    // Read one event only, then ask for the result.
    assert_eq!(
        describe(&s.next().await.expect("first event")),
        "agent_updated:A"
    );
    let r = s.result().await.expect("run");
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
    model.assert_complete();
}

#[tokio::test]
async fn a_failing_streamed_run_ends_its_stream_then_reports_the_error() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_stream(vec![
        ScriptedEvent::Event(ModelStreamEvent::OutputTextDelta {
            item_id: None,
            output_index: 0,
            delta: "partial".into(),
        }),
        ScriptedEvent::Error(ModelError::Stream("connection reset".into())),
    ]);
    let a = agent("A", &model).tool(echo("echo")).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let events = collect(&mut s).await;
    assert_eq!(
        events.last().map(String::as_str),
        Some("raw:text_delta:partial")
    );
    let e = expect_err(s.result().await);
    assert!(matches!(
        e.error,
        agents_core::Error::Model(ModelError::Stream(_))
    ));
    assert_eq!(
        names(&e.details.new_items),
        vec!["tool_called", "tool_output"]
    );
}

#[test]
fn the_streamed_handle_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let model = ScriptedModel::new();
        model.push_text("hi");
        let a = agent("A", &model).build();
        let s = Runner::run_streamed(&a, "hi", RunOptions::default());
        assert_send(&s);
        let fut = s.result();
        assert_send(&fut);
        assert_eq!(fut.await.expect("run").final_output_text(), "hi");
    });
}
