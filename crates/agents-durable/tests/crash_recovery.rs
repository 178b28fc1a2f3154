//! A worker is killed with SIGKILL at a chosen point of a durable run; a new
//! worker finishes the run. The testkit mock counts the model requests (each
//! completed model step was requested exactly once; the step in flight at
//! the kill, at least once) and the tools append a line per execution to a
//! file (completed tools ran exactly once).
//!
//! Each test starts its own Restate server (npm `@restatedev/restate-server`)
//! on 127.0.0.1; workers are this test binary run again in worker mode.

mod common;

use std::time::Duration;

use agents_durable::{ApprovalDecision, DurableRunInput};
use agents_testkit::{Fault, Reply};
use common::*;

/// The worker process (only when started by a test with `DURABLE_WORKER=1`).
#[test]
fn worker_process() {
    worker_process_main();
}

/// A model reply that never comes while the worker lives.
fn stalled() -> Reply {
    Reply::text("never seen").with_fault(Fault::StallBeforeHeaders(Duration::from_secs(600)))
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_a_model_call() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    s.open_gate();
    // Turn 1 calls step_a; turn 2's model call is in flight at the kill.
    s.mock.push_all([
        Reply::function_call("call_a", "step_a", "{}"),
        stalled(),
        Reply::text("all done"),
    ]);
    let worker = s.spawn_worker("v1").await;
    s.register().await;
    let client = s.restate.client();
    client
        .start("run-model", &DurableRunInput::text("go"))
        .await
        .expect("start");
    wait_until("the second model call", || s.requests() == 2).await;
    assert_eq!(s.effects("a:"), 1);
    worker.kill();

    let _worker = s.spawn_worker("v1").await;
    let out = client.result("run-model").await.expect("result");
    assert_eq!(out.final_output_text(), "all done");
    assert_eq!(out.last_agent, "Triage");
    assert_eq!(out.turns, 2);
    // Turn 1 was requested once; turn 2 twice (in flight at the kill).
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3, "model requests");
    assert_eq!(
        requests[1].body, requests[2].body,
        "the in-flight call repeated"
    );
    assert_ne!(requests[0].body, requests[1].body);
    // The completed tool did not run again on replay.
    assert_eq!(s.effects("a:"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_between_two_tool_calls() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    // One turn asks for step_a then step_b (run one at a time); the worker
    // dies after step_a finished, while step_b waits on the gate.
    s.mock.push_all([
        Reply::function_call("call_a", "step_a", "{}").with_function_call("call_b", "step_b", "{}"),
        Reply::text("both done"),
    ]);
    let worker = s.spawn_worker("v1").await;
    s.register().await;
    let client = s.restate.client();
    client
        .start("run-tools", &DurableRunInput::text("go"))
        .await
        .expect("start");
    wait_until("step_b to start", || s.effects("b-start:") == 1).await;
    assert_eq!(s.effects("a:"), 1);
    worker.kill();

    s.open_gate();
    let _worker = s.spawn_worker("v1").await;
    let out = client.result("run-tools").await.expect("result");
    assert_eq!(out.final_output_text(), "both done");
    assert_eq!(s.requests(), 2, "each model step requested once");
    assert_eq!(s.effects("a:"), 1, "the completed tool ran once");
    // step_b was in flight: it started twice and completed once.
    assert_eq!(s.effects("b-start:"), 2);
    assert_eq!(s.effects("b:"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_while_waiting_for_an_approval() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    s.open_gate();
    s.mock.push_all([
        Reply::function_call("call_r", "refund", "{}"),
        Reply::text("refunded"),
    ]);
    let worker = s.spawn_worker("v1").await;
    s.register().await;
    let client = s.restate.client();
    client
        .start("run-approval", &DurableRunInput::text("refund please"))
        .await
        .expect("start");
    let mut pending = Vec::new();
    for _ in 0..600 {
        pending = client.pending("run-approval").await.expect("pending");
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool_name, "refund");
    eprintln!("pending seen; killing the worker");
    worker.kill();

    // The decision goes through the engine while no worker runs.
    client
        .approve(
            "run-approval",
            &ApprovalDecision::approve(&pending[0].call_id),
        )
        .await
        .expect("approve");
    assert_eq!(s.effects("refund:"), 0);
    eprintln!("approved; starting a new worker");
    let _worker = s.spawn_worker("v1").await;
    let out = client.result("run-approval").await.expect("result");
    assert_eq!(out.final_output_text(), "refunded");
    assert_eq!(s.requests(), 2, "each model step requested once");
    assert_eq!(s.effects("refund:"), 1);
    assert!(client
        .pending("run-approval")
        .await
        .expect("pending")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_reaches_the_model() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    s.mock.push_all([
        Reply::function_call("call_r", "refund", "{}"),
        Reply::text("no refund then"),
    ]);
    let _worker = s.spawn_worker("v1").await;
    s.register().await;
    let client = s.restate.client();
    client
        .start("run-reject", &DurableRunInput::text("refund please"))
        .await
        .expect("start");
    client
        .approve(
            "run-reject",
            &ApprovalDecision::reject("call_r", Some("refunds are closed".into())),
        )
        .await
        .expect("reject");
    let out = client.result("run-reject").await.expect("result");
    assert_eq!(out.final_output_text(), "no refund then");
    assert_eq!(s.effects("refund:"), 0, "a rejected call never runs");
    let second = &s.mock.requests()[1].body;
    assert!(
        second.to_string().contains("refunds are closed"),
        "the model reads the rejection: {second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_right_after_a_handoff() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    s.mock.push_all([
        Reply::function_call("call_h", "transfer_to_specialist", "{}"),
        stalled(),
        Reply::text("specialist answer"),
    ]);
    let worker = s.spawn_worker("v1").await;
    s.register().await;
    let client = s.restate.client();
    client
        .start("run-handoff", &DurableRunInput::text("help"))
        .await
        .expect("start");
    wait_until("the specialist's model call", || s.requests() == 2).await;
    worker.kill();

    let _worker = s.spawn_worker("v1").await;
    let out = client.result("run-handoff").await.expect("result");
    assert_eq!(out.final_output_text(), "specialist answer");
    assert_eq!(out.last_agent, "Specialist");
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3, "the handoff turn was requested once");
    assert_eq!(requests[1].body, requests[2].body);
    assert!(requests[1].body["instructions"]
        .as_str()
        .is_some_and(|i| i.contains("finish what Triage started")));

    // One trace across both workers, and nothing traced twice: the new
    // worker replayed turn 1, the handoff and Triage's agent span without
    // sending them again, and sent the live turn and the trace's end.
    let events = span_events(&s.env.side_effects);
    let first = events.first().expect("trace events").pid;
    let count = |event: &str, kind: &str, name: &str| {
        events
            .iter()
            .filter(|e| e.event == event && e.kind == kind && e.name == name)
            .map(|e| e.pid)
            .collect::<Vec<_>>()
    };
    let trace_id = &events[0].trace_id;
    assert!(
        trace_id.starts_with("trace_") && trace_id.len() == 38,
        "{events:?}"
    );
    assert!(events.iter().all(|e| &e.trace_id == trace_id), "{events:?}");
    assert_eq!(
        count("trace-start", "trace", "Agent-workflow").len(),
        1,
        "{events:?}"
    );
    assert_eq!(
        count("span-end", "handoff", "handoff"),
        [first],
        "{events:?}"
    );
    assert_eq!(count("span-end", "agent", "Triage"), [first], "{events:?}");
    let generations = count("span-end", "generation", "generation");
    assert_eq!(generations.len(), 2, "one per model step: {events:?}");
    assert_eq!(generations[0], first);
    let second = generations[1];
    assert_ne!(second, first, "the live turn is traced by the new worker");
    assert_eq!(
        count("span-end", "agent", "Specialist"),
        [second],
        "{events:?}"
    );
    let ends: Vec<_> = events.iter().filter(|e| e.event == "trace-end").collect();
    assert_eq!(ends.len(), 1, "{events:?}");
    assert_eq!(ends[0].pid, second);
}
