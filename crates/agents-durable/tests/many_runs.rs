//! Two workers serve one address (SO_REUSEPORT) and share 200 durable runs;
//! one of them is killed with SIGKILL halfway. Every run finishes, on the
//! survivor, with its own output.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use agents_durable::DurableRunInput;
use agents_testkit::Reply;
use common::*;

const RUNS: usize = 200;

/// The worker process (only when started by a test with `DURABLE_WORKER=1`).
#[test]
fn worker_process() {
    worker_process_main();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_200_runs_and_one_is_killed_halfway() {
    let Some(s) = Setup::start().await else {
        return;
    };
    let (mock, env) = (&s.mock, &s.env);
    // Every model call asks for whoami, whose output ends the run.
    mock.set_default(Reply::function_call("call_w", "whoami", "{}"));
    let first = Worker::spawn("worker_process", env);
    let second = Worker::spawn("worker_process", env);
    let ids = [first.id(), second.id()];
    wait_for_port(env.port).await;
    // Both bound before the registration's discovery request.
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.register().await;
    let client = s.restate.client();

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
        effects(&env.side_effects, "whoami") >= RUNS / 2
    })
    .await;
    // The victim is the worker that has run the most tool calls so far (the
    // engine's connections may favour one): the kill always hits a worker
    // with runs in its hands.
    let so_far = effect_lines(&env.side_effects);
    let done_by = |pid: u32| so_far.iter().filter(|e| e.pid == pid).count();
    let (victim, survivor_worker) = if done_by(ids[0]) >= done_by(ids[1]) {
        (first, second)
    } else {
        (second, first)
    };
    let killed = victim.id();
    let survivor = survivor_worker.id();
    assert!(done_by(killed) > 0, "the victim has run tool calls");
    victim.kill();
    let before_kill = effect_lines(&env.side_effects).len();

    for i in 0..RUNS {
        let id = format!("many-{i}");
        let out = client.result(&id).await.expect("result");
        assert_eq!(out.final_output_text(), format!("run {id}"), "run {id}");
        assert_eq!(out.turns, 1);
    }
    // Every line is whole (one write per line), names a run and the worker
    // that ran it.
    let lines = effect_lines(&env.side_effects);
    let mut by_run: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (n, effect) in lines.iter().enumerate() {
        assert_eq!(effect.kind, "whoami", "line {n}: {effect:?}");
        assert!(
            effect.pid == killed || effect.pid == survivor,
            "line {n} from an unknown process: {effect:?}"
        );
        if n >= before_kill {
            assert_eq!(effect.pid, survivor, "line {n} written after the kill");
        }
        by_run
            .entry(effect.run.clone())
            .or_default()
            .push(effect.pid);
    }
    // Every run's tool ran; a run whose tool ran twice had it in flight on
    // the killed worker, and the survivor ran it again (at least once: the
    // step in flight at the crash; never more than once per worker).
    let expected: Vec<String> = (0..RUNS).map(|i| format!("many-{i}")).collect();
    let mut runs: Vec<String> = by_run.keys().cloned().collect();
    runs.sort_by_key(|r| {
        r.trim_start_matches("many-")
            .parse::<usize>()
            .unwrap_or(usize::MAX)
    });
    assert_eq!(runs, expected, "every run's tool ran, for no other run");
    let mut repeated = 0;
    for (run, pids) in &by_run {
        match pids.as_slice() {
            [_] => {}
            [first_pid, second_pid] => {
                assert_eq!(
                    (*first_pid, *second_pid),
                    (killed, survivor),
                    "run {run} ran its tool twice without a kill between"
                );
                repeated += 1;
            }
            more => panic!("run {run} ran its tool {} times: {more:?}", more.len()),
        }
    }
    let requests = mock.requests().len();
    eprintln!(
        "{RUNS} runs: {requests} model requests, {} tool executions ({repeated} repeated after the kill, {} by the killed worker)",
        lines.len(),
        lines.iter().filter(|e| e.pid == killed).count()
    );
    assert!(requests >= RUNS, "{requests} model requests");
    // The survivor finished what the victim left: it ran at least the
    // runs the victim had not.
    let by_survivor = by_run.values().filter(|p| p.contains(&survivor)).count();
    assert!(by_survivor > 0, "the survivor finished the runs left");
    // Only steps in flight at the kill repeat; the worker ran at most its
    // in-flight invocations when it died.
    assert!(repeated <= RUNS / 2, "{repeated} repeated tool calls");
    assert!(requests - RUNS <= RUNS / 2, "{requests} model requests");
}
