//! Run with: cargo run --example durable_agent
//!
//! An approval-gated agent whose run survives the death of the process
//! running it. The run is durable on [Restate](https://restate.dev): the
//! Restate server journals every model call and tool call, and the run waits
//! for its approval in the engine, not in a worker's memory.
//!
//! With no arguments the example plays the whole story on 127.0.0.1: it
//! starts a Restate server (a temporary one, from the binary `cargo xtask ci`
//! installs, or `RESTATE_SERVER_BIN`), a worker process, and a run that asks
//! for a refund. The `refund` tool needs approval, so the run waits. The
//! example kills the worker with SIGKILL, approves the refund while no worker
//! runs, starts a new worker, and reads the run's result: the first model
//! call is not made again, and the refund runs exactly once, on the new
//! worker.
//!
//! The same steps by hand, one terminal each (the example prints them too):
//!
//! ```sh
//! npx @restatedev/restate-server@1.7.12                  # ingress :8080, admin :9070
//! cargo run --example durable_agent -- model             # offline only: the scripted model
//! cargo run --example durable_agent -- worker            # serves :9080, registers with Restate
//! cargo run --example durable_agent -- start refund-42   # a client, from any process
//! cargo run --example durable_agent -- pending refund-42
//! cargo run --example durable_agent -- approve refund-42 # or: reject refund-42 "reason"
//! cargo run --example durable_agent -- result refund-42
//! ```
//!
//! Kill the worker (Ctrl-C or `kill -9`) at any point and start it again:
//! the run goes on where it stopped.
//!
//! Offline by default: a scripted local OpenAI-compatible server
//! (`agents-testkit`) plays the model. Set `OPENAI_API_KEY` (and optionally
//! `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use a real endpoint. Other settings:
//! `RESTATE_INGRESS` (default `http://127.0.0.1:8080`), `RESTATE_ADMIN`
//! (`http://127.0.0.1:9070`), `DURABLE_AGENT_WORKER_PORT` (`9080`),
//! `DURABLE_AGENT_MODEL_URL` (the offline model's base URL),
//! `DURABLE_AGENT_LEDGER` (a file the refund tool appends a line to).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::ModelProvider;
use agents_durable::{ApprovalDecision, DurableClient, DurableRunInput, DurableWorker};
use agents_testkit::{MockServer, Reply};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The offline model's base URL, for workers.
const MODEL_URL: &str = "DURABLE_AGENT_MODEL_URL";
/// The file the refund tool appends `refund <order> <pid>` to.
const LEDGER: &str = "DURABLE_AGENT_LEDGER";
/// The worker's port.
const WORKER_PORT: &str = "DURABLE_AGENT_WORKER_PORT";

/// The request of the demo's run.
const REQUEST: &str = "Please refund order A-1042, it arrived broken.";
/// The offline model's answer once the refund ran.
const ANSWER: &str = "Order A-1042 is refunded. Sorry it arrived broken!";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Order {
    /// The order's id.
    order: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run_cli(&args, &|| Ok(Command::new(std::env::current_exe()?))).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What the example does for command-line arguments `args`. `worker_command`
/// makes a command that runs this program (the demo adds `worker`).
pub async fn run_cli(
    args: &[String],
    worker_command: &dyn Fn() -> std::io::Result<Command>,
) -> Result<(), BoxError> {
    let arg = |i: usize| -> Result<&str, BoxError> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            format!(
                "missing argument {i}; see the commands below\n{}",
                commands()
            )
            .into()
        })
    };
    match args.first().map(String::as_str) {
        None | Some("demo") => demo(worker_command, false).await.map(drop),
        Some("worker") => worker(&client()).await,
        Some("model") => model().await,
        Some("start") => {
            let run_id = arg(1)?;
            let request = args.get(2).map_or(REQUEST, String::as_str);
            client()
                .start(run_id, &DurableRunInput::text(request))
                .await?;
            println!("Started run `{run_id}`: {request}");
            Ok(())
        }
        Some("pending") => {
            for call in client().pending(arg(1)?).await? {
                println!(
                    "{} waits: {}({})",
                    call.call_id, call.tool_name, call.arguments
                );
            }
            Ok(())
        }
        Some(verb @ ("approve" | "reject")) => {
            let run_id = arg(1)?;
            let client = client();
            let pending = client.pending(run_id).await?;
            if pending.is_empty() {
                println!("Run `{run_id}` waits for no approval.");
            }
            for call in pending {
                let decision = if verb == "approve" {
                    ApprovalDecision::approve(&call.call_id)
                } else {
                    ApprovalDecision::reject(&call.call_id, args.get(2).cloned())
                };
                client.approve(run_id, &decision).await?;
                println!("{verb}d {}({})", call.tool_name, call.arguments);
            }
            Ok(())
        }
        Some("result") => {
            let result = client().result(arg(1)?).await?;
            println!(
                "{} ({} turns, last agent {})",
                result.final_output_text(),
                result.turns,
                result.last_agent
            );
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{}", commands()).into()),
    }
}

/// The commands that run the example by hand.
fn commands() -> String {
    let ex = "cargo run --example durable_agent --";
    format!(
        "Restate dev server:  npx @restatedev/restate-server@1.7.12   (ingress :8080, admin :9070)\n\
         Offline model:       {ex} model   (then export the DURABLE_AGENT_MODEL_URL it prints)\n\
         Worker:              {ex} worker   (serves 127.0.0.1:9080 and registers it)\n\
         Client:              {ex} start refund-42\n\
         \x20                    {ex} pending refund-42\n\
         \x20                    {ex} approve refund-42   (or: reject refund-42 \"reason\")\n\
         \x20                    {ex} result refund-42"
    )
}

// ---------------------------------------------------------------------------
// The agent and its worker.

/// The agent: `refund` needs approval, and is not idempotent (a refund in
/// flight when its worker dies is not made again).
fn agent() -> Agent {
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());
    let refund = FunctionTool::new(
        "refund",
        "Refunds an order.",
        |_ctx: ToolContext, args: Order| async move {
            // Simulated: the ledger line stands for the payment call.
            if let Some(path) = std::env::var_os(LEDGER) {
                append_line(
                    Path::new(&path),
                    &format!("refund {} {}", args.order, std::process::id()),
                )
                .map_err(|e| format!("cannot write the ledger: {e}"))?;
            }
            Ok::<_, String>(format!("Refunded order {}.", args.order))
        },
    )
    .needs_approval(true);
    Agent::builder("Support")
        .instructions("You help customers with their orders. Refunds need a human's approval.")
        .model(model.as_str())
        .tool(refund)
        .build()
}

/// Appends `line` with one `write(2)` on a file opened for appending.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}

/// The model configuration: the OpenAI Responses API with the key and base
/// URL from the environment. Offline, only the base URL and the key point
/// at the local model server.
fn provider() -> Result<Arc<dyn ModelProvider>, BoxError> {
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::Responses);
    match std::env::var(MODEL_URL) {
        Ok(url) => provider = provider.base_url(url).api_key("offline"),
        Err(_) if std::env::var_os("OPENAI_API_KEY").is_none() => {
            return Err(format!(
                "set OPENAI_API_KEY, or start the offline model and set {MODEL_URL}:\n{}",
                commands()
            )
            .into())
        }
        Err(_) => {}
    }
    Ok(Arc::new(provider.try_build()?))
}

/// The Restate server's client: `RESTATE_INGRESS` and `RESTATE_ADMIN`, or
/// the dev server's default ports.
fn client() -> DurableClient {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    DurableClient::new(
        var("RESTATE_INGRESS", "http://127.0.0.1:8080"),
        var("RESTATE_ADMIN", "http://127.0.0.1:9070"),
    )
}

/// Serves the agent as a durable workflow on 127.0.0.1, registers the
/// address with Restate, and serves until the process ends.
async fn worker(client: &DurableClient) -> Result<(), BoxError> {
    let port: u16 = match std::env::var(WORKER_PORT) {
        Ok(port) => port.parse().map_err(|e| format!("{WORKER_PORT}: {e}"))?,
        Err(_) => 9080,
    };
    let provider = provider()?;
    let worker = DurableWorker::with_options(agent(), move |_run_id| {
        RunOptions::default().model_provider(provider.clone())
    })
    .non_idempotent_tools(["refund"]);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let serving = tokio::spawn(async move { worker.serve(listener).await });
    let url = format!("http://127.0.0.1:{port}");
    client.register(&url).await?;
    println!(
        "worker {} serves {url}, registered with Restate",
        std::process::id()
    );
    let _ = std::io::stdout().flush();
    serving.await?;
    Ok(())
}

/// The offline model for running the example by hand: one refund call,
/// then the answer, for each run.
async fn model() -> Result<(), BoxError> {
    let server = MockServer::start().await;
    for _ in 0..100 {
        server.push_all(script());
    }
    println!("The scripted model serves 100 runs. In the worker's terminal:");
    println!("export {MODEL_URL}={}", server.base_url());
    let _ = std::io::stdout().flush();
    // Serves until the process ends (Ctrl-C).
    std::future::pending::<()>().await;
    Ok(())
}

/// What the offline model answers in one run.
fn script() -> Vec<Reply> {
    vec![
        Reply::function_call("call_refund_1", "refund", r#"{"order":"A-1042"}"#),
        Reply::text(ANSWER),
    ]
}

// ---------------------------------------------------------------------------
// The demo: server, worker, kill, approval, new worker, result.

/// What the demo saw.
pub struct DemoReport {
    /// The run's final output.
    pub final_output: String,
    /// The ledger's lines: `refund <order> <pid>` per refund made.
    pub ledger: Vec<String>,
    /// The process ids of the first (killed) and the second worker.
    pub workers: (u32, u32),
    /// Offline: the model requests the local server received.
    pub model_requests: Option<usize>,
}

/// Plays the whole story (see the module docs) and returns what it saw.
/// `force_offline`: the scripted model even when `OPENAI_API_KEY` is set.
pub async fn demo(
    worker_command: &dyn Fn() -> std::io::Result<Command>,
    force_offline: bool,
) -> Result<DemoReport, BoxError> {
    println!(
        "To run the same steps by hand, one terminal each:\n{}\n",
        commands()
    );
    let offline = if force_offline {
        let server = MockServer::start().await;
        server.push_all(script());
        Some(server)
    } else {
        common::offline_server(script()).await
    };
    let bin = restate_binary().ok_or_else(|| {
        format!(
            "no Restate server found: run `cargo xtask ci` (or `npm ci --prefix \
             crates/agents-durable/tests/server`), or set RESTATE_SERVER_BIN, or run the \
             steps by hand:\n{}",
            commands()
        )
    })?;
    let dir = tempfile::tempdir()?;
    let restate = RestateServer::start(&bin, dir.path()).await?;
    let client = restate.client();
    let ledger = dir.path().join("ledger.txt");
    let port = free_port()?;
    let spawn = |name: &str| -> Result<WorkerProcess, BoxError> {
        let mut cmd = worker_command()?;
        cmd.arg("worker")
            .env("RESTATE_INGRESS", &restate.ingress)
            .env("RESTATE_ADMIN", &restate.admin)
            .env(WORKER_PORT, port.to_string())
            .env(LEDGER, &ledger);
        if let Some(server) = &offline {
            cmd.env(MODEL_URL, server.base_url());
        }
        WorkerProcess::spawn(cmd, name)
    };

    let run_id = "refund-42";
    let first = spawn("worker 1")?;
    first.ready().await?;
    client
        .start(run_id, &DurableRunInput::text(REQUEST))
        .await?;
    println!("[client] started run `{run_id}`: {REQUEST}");
    let pending = wait_for_pending(&client, run_id).await?;
    for call in &pending {
        println!(
            "[client] the run waits for approval of {}({})",
            call.tool_name, call.arguments
        );
    }
    let first_pid = first.kill();
    println!("[client] killed worker 1 (pid {first_pid}) with SIGKILL; no worker runs now");
    for call in &pending {
        client
            .approve(run_id, &ApprovalDecision::approve(&call.call_id))
            .await?;
        println!(
            "[client] approved {} (Restate holds the decision)",
            call.call_id
        );
    }
    let second = spawn("worker 2")?;
    second.ready().await?;
    let result = client.result(run_id).await?;
    println!("[client] result: {}", result.final_output_text());

    let ledger = match std::fs::read_to_string(&ledger) {
        Ok(text) => text.lines().map(str::to_owned).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    println!("[client] refunds made: {ledger:?}");
    let model_requests = offline.as_ref().map(|s| s.requests().len());
    if let (Some(server), Some(n)) = (&offline, model_requests) {
        println!("[client] the model was asked {n} times (the first turn was not asked again)");
        server.verify()?;
    }
    Ok(DemoReport {
        final_output: result.final_output_text(),
        ledger,
        workers: (first_pid, second.id()),
        model_requests,
    })
}

async fn wait_for_pending(
    client: &DurableClient,
    run_id: &str,
) -> Result<Vec<agents::ToolApprovalItem>, BoxError> {
    for _ in 0..600 {
        let pending = client.pending(run_id).await?;
        if !pending.is_empty() {
            return Ok(pending);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("run `{run_id}` did not ask for an approval within 60 s").into())
}

/// A worker process whose output is shown with a prefix; killed (SIGKILL)
/// when dropped.
struct WorkerProcess {
    child: Child,
    ready: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>,
}

impl WorkerProcess {
    fn spawn(mut cmd: Command, name: &str) -> Result<WorkerProcess, BoxError> {
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        let stdout = child.stdout.take().ok_or("no worker stdout")?;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let name = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("[{name}] {line}");
                if line.contains("registered with Restate") {
                    let _ = tx.try_send(());
                }
            }
        });
        Ok(WorkerProcess {
            child,
            ready: tokio::sync::Mutex::new(rx),
        })
    }

    /// Waits until the worker has registered with Restate.
    async fn ready(&self) -> Result<(), BoxError> {
        let mut ready = self.ready.lock().await;
        match tokio::time::timeout(Duration::from_secs(120), ready.recv()).await {
            Ok(Some(())) => Ok(()),
            Ok(None) => Err("the worker exited before it registered".into()),
            Err(_) => Err("the worker did not register within 120 s".into()),
        }
    }

    fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, nothing graceful. Returns the process id.
    fn kill(mut self) -> u32 {
        let pid = self.child.id();
        let _ = self.child.kill();
        let _ = self.child.wait();
        pid
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A temporary Restate server.

/// `RESTATE_SERVER_BIN`, or the server `cargo xtask ci` installs from npm.
pub fn restate_binary() -> Option<PathBuf> {
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

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A Restate server on free 127.0.0.1 ports with its data under a
/// directory; killed when dropped.
struct RestateServer {
    child: Child,
    ingress: String,
    admin: String,
}

impl RestateServer {
    async fn start(bin: &Path, dir: &Path) -> Result<RestateServer, BoxError> {
        let (node, admin, ingress) = (free_port()?, free_port()?, free_port()?);
        // Quick retries, so that a run resumes soon after its new worker
        // starts.
        let config = format!(
            "cluster-name = \"durable-agent-example\"\n\
             default-num-partitions = 1\n\
             disable-telemetry = true\n\
             listen-mode = \"tcp\"\n\
             bind-address = \"127.0.0.1:{node}\"\n\
             advertised-address = \"http://127.0.0.1:{node}/\"\n\
             rocksdb-total-memory-size = \"256 MiB\"\n\
             [default-retry-policy]\n\
             initial-interval = \"100ms\"\n\
             exponentiation-factor = 1.5\n\
             max-interval = \"500ms\"\n\
             max-attempts = 10000\n\
             on-max-attempts = \"pause\"\n\
             [admin]\n\
             bind-address = \"127.0.0.1:{admin}\"\n\
             [ingress]\n\
             bind-address = \"127.0.0.1:{ingress}\"\n"
        );
        let config_path = dir.join("restate.toml");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.join("restate.log"))?;
        let child = Command::new(bin)
            .arg("--config-file")
            .arg(&config_path)
            .arg("--base-dir")
            .arg(dir.join("restate-data"))
            .arg("--no-logo")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let server = RestateServer {
            child,
            ingress: format!("http://127.0.0.1:{ingress}"),
            admin: format!("http://127.0.0.1:{admin}"),
        };
        server.client().wait_ready(Duration::from_secs(60)).await?;
        println!(
            "Started a temporary Restate server: ingress {}, admin {}.",
            server.ingress, server.admin
        );
        Ok(server)
    }

    fn client(&self) -> DurableClient {
        DurableClient::new(&self.ingress, &self.admin)
    }
}

impl Drop for RestateServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
