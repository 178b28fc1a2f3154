//! The `durable_agent` example end to end, on a real Restate server on
//! 127.0.0.1: its demo starts a worker process, starts a run that waits for
//! the approval of a refund, kills the worker with SIGKILL, approves while
//! no worker runs, starts a new worker and reads the result. The example's
//! own code runs here (the file is included as a module); its workers are
//! this test binary run again in the worker role.
//!
//! Under `CI=true` a missing Restate server fails the test; elsewhere it
//! skips with a note.

#[path = "../examples/durable_agent.rs"]
#[allow(dead_code)]
mod example;

use std::process::Command;

/// Set on the worker processes the test starts.
const WORKER_ROLE: &str = "DURABLE_EXAMPLE_WORKER";

/// The example's `worker` command (only in a process the test started).
#[test]
fn worker_role() {
    if std::env::var_os(WORKER_ROLE).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(example::run_cli(&["worker".to_owned()], &|| {
        Err(std::io::Error::other("a worker starts no worker"))
    }));
    if let Err(e) = result {
        panic!("worker: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waiting_for_approval_survives_a_killed_worker() {
    if example::restate_binary().is_none() {
        assert!(
            !agents_testkit::running_in_ci(),
            "the Restate server is not installed: run `cargo xtask ci` (or `npm ci --prefix \
             crates/agents-durable/tests/server`)"
        );
        eprintln!("note: skipping: the Restate server is not installed");
        return;
    }
    let worker_command = || -> std::io::Result<Command> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["worker_role", "--exact", "--nocapture", "--test-threads=1"])
            .env(WORKER_ROLE, "1");
        Ok(cmd)
    };
    let report = match example::demo(&worker_command, true).await {
        Ok(report) => report,
        Err(e) => panic!("the demo failed: {e}"),
    };
    let (killed, second) = report.workers;
    assert_ne!(killed, second);
    assert_eq!(
        report.final_output,
        "Order A-1042 is refunded. Sorry it arrived broken!"
    );
    // The model was asked for the refund call once (the new worker replayed
    // that turn from the journal) and for the answer once.
    assert_eq!(report.model_requests, Some(2), "model requests");
    // The approved refund ran exactly once, on the new worker.
    assert_eq!(report.ledger, vec![format!("refund A-1042 {second}")]);
}
