//! A deploy between the steps of a run: runs started on the old worker
//! finish on the new one when the change is compatible (docs/durable.md,
//! "Deploys"), and stop with a journal mismatch, not silently corrupted,
//! when it breaks replay; they finish once the old code is back.
//!
//! The worker versions are in `common::agent_graph`: `v2-compatible` changes
//! what `step_a` writes for new calls; `v2-breaking` removes `step_a`, which
//! a journaled model response called.

mod common;

use std::time::Duration;

use agents_durable::{ApprovalDecision, DurableRunInput};
use agents_testkit::Reply;
use common::*;

/// The worker process (only when started by a test with `DURABLE_WORKER=1`).
#[test]
fn worker_process() {
    worker_process_main();
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Setup {
    /// Starts the worker of `version` on the run's address and registers it
    /// (a forced re-registration: the deploy).
    async fn deploy(&self, version: &'static str) -> Worker {
        self.open_gate();
        let worker = self.spawn_worker(version).await;
        self.register().await;
        worker
    }

    /// Starts `run_id` on a v1 worker: turn 1 runs step_a, turn 2 asks for
    /// refund and the run waits for its approval; the v1 worker is then
    /// killed. Returns the call id to approve.
    async fn start_on_v1_and_kill(&self, run_id: &str) -> String {
        self.mock.push_all([
            Reply::function_call("call_a", "step_a", "{}"),
            Reply::function_call("call_r", "refund", "{}"),
            Reply::text("refund sent"),
        ]);
        let v1 = self.deploy("v1").await;
        let client = self.restate.client();
        client
            .start(run_id, &DurableRunInput::text("refund order 7"))
            .await
            .expect("start");
        let mut pending = Vec::new();
        for _ in 0..1200 {
            pending = client.pending(run_id).await.expect("pending");
            if !pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(pending.len(), 1, "the run waits for the refund's approval");
        assert_eq!(pending[0].tool_name, "refund");
        assert_eq!(self.effects("a"), 1, "v1 ran step_a");
        assert_eq!(self.mock.requests().len(), 2);
        v1.kill();
        pending[0].call_id.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compatible_deploy_finishes_the_old_runs() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    let call_id = s.start_on_v1_and_kill("deploy-ok").await;

    // The deploy: a new implementation of step_a behind the same address.
    let _v2 = s.deploy("v2-compatible").await;
    let client = s.restate.client();
    client
        .approve("deploy-ok", &ApprovalDecision::approve(&call_id))
        .await
        .expect("approve");
    let out = client.result("deploy-ok").await.expect("result");
    assert_eq!(out.final_output_text(), "refund sent");
    assert_eq!(out.turns, 3);
    assert_eq!(out.last_agent, "Triage");
    // The journaled step_a call was not run again, by either version; the
    // approved refund ran once, on v2; each model step was requested once.
    assert_eq!(s.effects("a"), 1);
    assert_eq!(s.effects("a2"), 0);
    assert_eq!(s.effects("refund"), 1);
    assert_eq!(s.mock.requests().len(), 3);
    let lines = effect_lines(&s.env.side_effects);
    assert_ne!(lines[0].pid, lines[1].pid, "step_a on v1, refund on v2");

    // A run started after the deploy runs the new code.
    s.mock.push_all([
        Reply::function_call("call_a", "step_a", "{}"),
        Reply::text("new code"),
    ]);
    client
        .start("after-deploy", &DurableRunInput::text("go"))
        .await
        .expect("start");
    let out = client.result("after-deploy").await.expect("result");
    assert_eq!(out.final_output_text(), "new code");
    assert_eq!(s.effects("a2"), 1);
    assert_eq!(s.effects("a"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaking_deploy_stops_the_old_runs_with_a_journal_mismatch() {
    let _serial = SERIAL.lock().await;
    let Some(s) = Setup::start().await else {
        return;
    };
    let call_id = s.start_on_v1_and_kill("deploy-break").await;

    // The deploy removes step_a, which the journaled turn 1 called.
    let v2 = s.deploy("v2-breaking").await;
    let client = s.restate.client();
    client
        .approve("deploy-break", &ApprovalDecision::approve(&call_id))
        .await
        .expect("approve");
    // Restate reports the mismatch and retries; the run does not complete.
    let mut failure = None;
    for _ in 0..1200 {
        failure = s.restate.last_failure("deploy-break").await;
        if failure.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failure = failure.expect("the engine reports why the run cannot go on");
    eprintln!("the run's failure after the breaking deploy: {failure}");
    assert!(
        failure.contains("570") && failure.to_ascii_lowercase().contains("journal mismatch"),
        "a journal mismatch: {failure}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        client.output("deploy-break").await.expect("output"),
        None,
        "the run did not finish on code that cannot replay it"
    );
    // Nothing ran on the incompatible code: no model call, no tool.
    assert_eq!(
        s.mock.requests().len(),
        2,
        "no model request from v2-breaking"
    );
    assert_eq!(s.effects("a"), 1);
    assert_eq!(s.effects("refund"), 0);
    assert!(client
        .pending("deploy-break")
        .await
        .expect("pending")
        .iter()
        .any(|p| p.call_id == call_id));

    // The old code back: the run finishes from its journal, as if nothing
    // had happened.
    v2.kill();
    let _v1 = s.deploy("v1").await;
    let out = client.result("deploy-break").await.expect("result");
    assert_eq!(out.final_output_text(), "refund sent");
    assert_eq!(out.turns, 3);
    assert_eq!(s.effects("a"), 1);
    assert_eq!(s.effects("refund"), 1);
    assert_eq!(s.mock.requests().len(), 3);
}
