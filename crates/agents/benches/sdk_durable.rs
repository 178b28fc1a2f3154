//! D1–D2: durable runs (`agents-durable`) on a Restate server that this
//! benchmark starts on free 127.0.0.1 ports, from the binary `cargo xtask
//! ci` (or `cargo xtask bench`) installs with npm, or `RESTATE_SERVER_BIN`.
//!
//! - D1: one turn of M2's agent, run durably (start through Restate's
//!   ingress, the worker in this process journals the model call, the
//!   result read back by run id) against the same agent run in process,
//!   alternating, against the same mock. Per round: the median of each, and
//!   their difference.
//! - D2: N concurrent durable runs of the same agent on one worker process
//!   (this binary in the `durable-worker` role). Each round uses a fresh
//!   worker: the throughput is N over the time from the first start to the
//!   last result; the worker's memory is read from `/proc/<pid>/status`
//!   (VmRSS after one warm-up run, VmHWM, the peak, after the N runs).

use std::path::Path;

use agents_durable::{DurableClient, DurableRunInput, DurableWorker};
use futures::StreamExt;

use super::*;

/// Client requests in flight at once in D2 (starts, then result reads):
/// the runs themselves are all live in the engine at once.
const CLIENT_CONCURRENCY: usize = 64;

/// The Restate server: `RESTATE_SERVER_BIN`, or the one npm installed for
/// the agents-durable tests.
fn restate_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RESTATE_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    // The platform package's binary (`.bin/restate-server` is a node wrapper).
    let scope = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agents-durable/tests/server/node_modules/@restatedev");
    std::fs::read_dir(scope)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("restate-server-")
        })
        .map(|e| e.path().join("bin/restate-server"))
        .find(|bin| bin.exists())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// A Restate server with its data in a temporary directory; killed when
/// dropped.
struct Restate {
    _child: ChildGuard,
    _dir: tempfile::TempDir,
    client: DurableClient,
}

impl Restate {
    async fn start() -> Result<Restate, String> {
        let bin = restate_binary().ok_or(
            "the Restate server is not installed (cargo xtask bench installs it; or npm ci \
             --prefix crates/agents-durable/tests/server)",
        )?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (node, admin, ingress) = (free_port()?, free_port()?, free_port()?);
        let config = format!(
            "cluster-name = \"agents-bench\"\n\
             default-num-partitions = 2\n\
             disable-telemetry = true\n\
             listen-mode = \"tcp\"\n\
             bind-address = \"127.0.0.1:{node}\"\n\
             advertised-address = \"http://127.0.0.1:{node}/\"\n\
             rocksdb-total-memory-size = \"512 MiB\"\n\
             [admin]\n\
             bind-address = \"127.0.0.1:{admin}\"\n\
             [ingress]\n\
             bind-address = \"127.0.0.1:{ingress}\"\n"
        );
        let config_path = dir.path().join("restate.toml");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("restate.log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .arg("--config-file")
            .arg(&config_path)
            .arg("--base-dir")
            .arg(dir.path().join("data"))
            .arg("--no-logo")
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let restate = Restate {
            _child: ChildGuard(child),
            _dir: dir,
            client: DurableClient::new(
                format!("http://127.0.0.1:{ingress}"),
                format!("http://127.0.0.1:{admin}"),
            ),
        };
        restate
            .client
            .wait_ready(Duration::from_secs(60))
            .await
            .map_err(|e| e.to_string())?;
        Ok(restate)
    }
}

/// M2's agent.
fn agent() -> Agent {
    Agent::builder("bench")
        .instructions("Answer.")
        .model("gpt-4.1-mini")
        .build()
}

fn worker(provider: Arc<OpenAIProvider>) -> DurableWorker {
    DurableWorker::with_options(agent(), move |_run_id| {
        RunOptions::default().run_config(RunConfig {
            model_provider: Some(provider.clone()),
            ..Default::default()
        })
    })
}

/// One durable run: start it, read its result by run id.
async fn durable_run(client: &DurableClient, run_id: &str) -> Result<(), String> {
    client
        .start(run_id, &DurableRunInput::text("hi"))
        .await
        .map_err(|e| e.to_string())?;
    let out = client.result(run_id).await.map_err(|e| e.to_string())?;
    if out.final_output_text() == "ok" {
        Ok(())
    } else {
        Err(format!(
            "run {run_id} answered {:?}",
            out.final_output_text()
        ))
    }
}

async fn d1(b: &Bench, cfg: &Config, restate: &Restate) -> Result<Row, String> {
    let agent = agent();
    b.server.set_default(Reply::text("ok"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let worker = worker(b.provider.clone());
    let serving = tokio::spawn(async move { worker.serve(listener).await });
    let client = &restate.client;
    client
        .register(&format!("http://127.0.0.1:{port}"))
        .await
        .map_err(|e| e.to_string())?;
    let mut next = 0usize;
    let mut run_id = || {
        next += 1;
        format!("d1-{next}")
    };
    for _ in 0..cfg.warmup {
        durable_run(client, &run_id()).await?;
        Runner::run(&agent, "hi", b.options()).await.expect("run");
    }
    let (mut durable_ms, mut plain_ms, mut over_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cfg.rounds {
        let (mut durable, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            let start = Instant::now();
            let r = Runner::run(&agent, "hi", b.options()).await.expect("run");
            plain.push(start.elapsed());
            assert_eq!(r.final_output_text(), "ok");
            let id = run_id();
            let start = Instant::now();
            durable_run(client, &id).await?;
            durable.push(start.elapsed());
        }
        let (d, p) = (median_us(&durable) / 1e3, median_us(&plain) / 1e3);
        durable_ms.push(d);
        plain_ms.push(p);
        over_ms.push(d - p);
    }
    serving.abort();
    b.server.clear_default();
    b.server.clear_requests();
    Ok(Row {
        id: "D1",
        what: "durable turn: M2's single turn as a durable run (start, journaled model call, \
               result by run id through Restate) vs the same run in process"
            .into(),
        sdk: show(&durable_ms, 2, "ms"),
        baseline: show(&plain_ms, 2, "ms"),
        overhead: show(&over_ms, 2, "ms"),
        target: "reported",
        result: Verdict::NoTarget,
    })
}

/// `VmRSS` or `VmHWM` of process `pid`, in bytes.
fn proc_memory(pid: u32, field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or(format!("no {field} in /proc/{pid}/status"))?;
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or(format!("bad {field} line: {line}"))?;
    Ok(kib * 1024)
}

/// One D2 round on a fresh worker process: (runs/s, RSS before, peak RSS).
async fn d2_round(
    b: &Bench,
    restate: &Restate,
    round: usize,
    n: usize,
) -> Result<(f64, u64, u64), String> {
    let port = free_port()?;
    let (guard, _stdin, mut stdout) = spawn_role(
        "durable-worker",
        &[
            (BASE_URL_ENV, b.server.base_url().to_owned()),
            (ADDR_ENV, format!("127.0.0.1:{port}")),
        ],
    )?;
    let pid = guard.0.id();
    let ready = tokio::task::block_in_place(|| read_line(&mut stdout, "durable-worker"))?;
    if ready != "ready" {
        return Err(format!(
            "unexpected line from the durable-worker process: {ready}"
        ));
    }
    let client = &restate.client;
    client
        .register(&format!("http://127.0.0.1:{port}"))
        .await
        .map_err(|e| e.to_string())?;
    durable_run(client, &format!("d2-{round}-warm")).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = proc_memory(pid, "VmRSS")?;
    let ids: Vec<String> = (0..n).map(|i| format!("d2-{round}-{i}")).collect();
    let start = Instant::now();
    let started: Vec<Result<(), String>> = futures::stream::iter(&ids)
        .map(|id| async move {
            client
                .start(id, &DurableRunInput::text("hi"))
                .await
                .map_err(|e| e.to_string())
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    started.into_iter().collect::<Result<Vec<()>, String>>()?;
    let finished: Vec<Result<(), String>> = futures::stream::iter(&ids)
        .map(|id| async move {
            let out = client.result(id).await.map_err(|e| e.to_string())?;
            if out.final_output_text() == "ok" {
                Ok(())
            } else {
                Err(format!("run {id} answered {:?}", out.final_output_text()))
            }
        })
        .buffer_unordered(CLIENT_CONCURRENCY)
        .collect()
        .await;
    let elapsed = start.elapsed();
    finished.into_iter().collect::<Result<Vec<()>, String>>()?;
    let peak = proc_memory(pid, "VmHWM")?;
    drop(guard);
    Ok((n as f64 / elapsed.as_secs_f64(), before, peak))
}

async fn d2(b: &Bench, cfg: &Config, restate: &Restate) -> Result<Row, String> {
    let (rounds, n) = if cfg.quick { (1, 50) } else { (5, 1_000) };
    b.server.set_default(Reply::text("ok"));
    let (mut rate, mut before, mut peak) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (r, bef, pk) = d2_round(b, restate, round, n).await?;
        rate.push(r);
        before.push(bef as f64 / 1048576.0);
        peak.push(pk as f64 / 1048576.0);
    }
    b.server.clear_default();
    b.server.clear_requests();
    Ok(Row {
        id: "D2",
        what: format!(
            "{} concurrent durable runs (M2's turn) on one worker process: throughput, and the \
             worker's RSS after a warm-up run → its peak",
            thousands(n)
        ),
        sdk: show(&rate, 0, "runs/s"),
        baseline: format!(
            "RSS {} → peak {}",
            show(&before, 1, "MiB"),
            show(&peak, 1, "MiB")
        ),
        overhead: "—".into(),
        target: "reported",
        result: Verdict::NoTarget,
    })
}

/// D1 and D2, as `cfg` selects them.
pub(super) async fn run(b: &Bench, cfg: &Config) -> Vec<Row> {
    const D1: &str = "durable turn vs plain turn";
    const D2: &str = "concurrent durable runs on one worker";
    let restate = match Restate::start().await {
        Ok(restate) => restate,
        Err(why) => {
            return ["D1", "D2"]
                .into_iter()
                .filter(|id| cfg.wants(id))
                .map(|id| {
                    let what = if id == "D1" { D1 } else { D2 };
                    Row::not_measured(id, what, "reported", why.clone())
                })
                .collect();
        }
    };
    let mut rows = Vec::new();
    if cfg.wants("D1") {
        rows.push(d1(b, cfg, &restate).await.unwrap_or_else(|why| {
            b.server.clear_default();
            Row::not_measured("D1", D1, "reported", why)
        }));
    }
    if cfg.wants("D2") {
        rows.push(d2(b, cfg, &restate).await.unwrap_or_else(|why| {
            b.server.clear_default();
            Row::not_measured("D2", D2, "reported", why)
        }));
    }
    rows
}

/// The `durable-worker` child role: serves M2's agent as a durable
/// workflow on `AGENTS_BENCH_ADDR`, its model the mock at
/// `AGENTS_BENCH_BASE_URL`; prints `ready` once it listens.
pub(super) fn worker_child() {
    let base_url = std::env::var(BASE_URL_ENV).expect("base url");
    let addr = std::env::var(ADDR_ENV).expect("address");
    let rt = runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .expect("bind the worker address");
        println!("ready");
        let _ = std::io::stdout().flush();
        worker(Arc::new(provider_for(&base_url)))
            .serve(listener)
            .await;
    });
}
