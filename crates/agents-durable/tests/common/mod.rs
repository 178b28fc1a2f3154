//! The pieces of a durable run under test, each a real process on
//! 127.0.0.1: the Restate server (from npm, `tests/server`), workers (this
//! test binary run again in worker mode), and the testkit's mock OpenAI
//! server (in the test process) that counts model requests.

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use agents_core::agent::ToolUseBehavior;
use agents_core::trace::{Span, Trace, TraceProcessor};
use agents_core::{Agent, FunctionTool, Handoff, ToolContext, ToolError};
use agents_durable::{DurableClient, DurableWorker};
use agents_model_openai::{OpenAIApi, OpenAIProvider};
use agents_runner::{RunConfig, RunOptions};
use agents_testkit::MockServer;
use schemars::JsonSchema;
use serde::Deserialize;

/// The Restate server binary npm installed, if it is there.
pub fn restate_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RESTATE_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    // The platform package's binary itself: `.bin/restate-server` is a node
    // wrapper, and killing it would leave the server running.
    let scope = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/server/node_modules/@restatedev");
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

/// The Restate server, or `None` (with a note) when it is not installed
/// outside CI. Under `CI=true` a missing server fails the test.
pub fn restate_or_skip() -> Option<PathBuf> {
    match restate_binary() {
        Some(bin) => Some(bin),
        None if agents_testkit::running_in_ci() => panic!(
            "the Restate server is not installed: run `cargo xtask ci` (or `npm ci --prefix \
             crates/agents-durable/tests/server`)"
        ),
        None => {
            eprintln!(
                "note: skipping: the Restate server is not installed (npm ci --prefix \
                 crates/agents-durable/tests/server)"
            );
            None
        }
    }
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Restate server on free ports, with its data in a temporary directory;
/// killed when dropped.
pub struct Restate {
    child: Child,
    _dir: tempfile::TempDir,
    pub ingress: String,
    pub admin: String,
}

impl Restate {
    pub async fn start(bin: &Path) -> Restate {
        let dir = tempfile::tempdir().expect("tempdir");
        let (fabric, admin, ingress) = (free_port(), free_port(), free_port());
        let config = format!(
            r#"cluster-name = "agents-durable-test"
default-num-partitions = 2
disable-telemetry = true
listen-mode = "tcp"
bind-address = "127.0.0.1:{fabric}"
advertised-address = "http://127.0.0.1:{fabric}/"
rocksdb-total-memory-size = "256 MiB"

[default-retry-policy]
initial-interval = "100ms"
exponentiation-factor = 1.5
max-attempts = 10000
on-max-attempts = "pause"
max-interval = "500ms"

[worker.invoker]
inactivity-timeout = "5m"

[admin]
bind-address = "127.0.0.1:{admin}"

[ingress]
bind-address = "127.0.0.1:{ingress}"
"#
        );
        let config_path = dir.path().join("restate.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("restate.log")).expect("log file");
        let child = Command::new(bin)
            .arg("--config-file")
            .arg(&config_path)
            .arg("--base-dir")
            .arg(dir.path().join("data"))
            .arg("--no-logo")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start restate-server");
        let restate = Restate {
            child,
            _dir: dir,
            ingress: format!("http://127.0.0.1:{ingress}"),
            admin: format!("http://127.0.0.1:{admin}"),
        };
        eprintln!(
            "restate-server: ingress {}, admin {}, log {}",
            restate.ingress,
            restate.admin,
            restate._dir.path().join("restate.log").display()
        );
        restate
            .client()
            .wait_ready(Duration::from_secs(60))
            .await
            .expect("restate-server did not start");
        restate
    }

    pub fn client(&self) -> DurableClient {
        DurableClient::new(&self.ingress, &self.admin)
    }

    /// The journal failure Restate reports for an invocation of `run_id`,
    /// if any (through the admin SQL API).
    pub async fn last_failure(&self, run_id: &str) -> Option<String> {
        let body = serde_json::json!({
            "query": format!(
                "SELECT last_failure FROM sys_invocation WHERE target_service_key = '{run_id}' \
                 AND target_handler_name = 'run'"
            )
        });
        let response = reqwest::Client::new()
            .post(format!("{}/query", self.admin))
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .ok()?;
        let value: serde_json::Value = response.json().await.ok()?;
        value["rows"][0]["last_failure"].as_str().map(str::to_owned)
    }
}

impl Drop for Restate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a worker process is told.
#[derive(Clone)]
pub struct WorkerEnv {
    pub mock_url: String,
    pub side_effects: PathBuf,
    pub gate: PathBuf,
    pub port: u16,
    pub version: &'static str,
}

/// A worker: this test binary, run again with `DURABLE_WORKER=1`.
pub struct Worker {
    child: Child,
}

impl Worker {
    pub fn spawn(test_binary_filter: &str, env: &WorkerEnv) -> Worker {
        let exe = std::env::current_exe().expect("current exe");
        let child = Command::new(exe)
            .args([
                test_binary_filter,
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DURABLE_WORKER", "1")
            .env("MOCK_URL", &env.mock_url)
            .env("SIDE_EFFECTS", &env.side_effects)
            .env("GATE_FILE", &env.gate)
            .env("WORKER_PORT", env.port.to_string())
            .env("WORKER_VERSION", env.version)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn worker");
        Worker { child }
    }

    /// The worker's process id (the one its side-effect lines carry).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no flush, nothing graceful.
    pub fn kill(mut self) {
        self.child.kill().expect("kill worker");
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_for_port(port: u16) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker did not listen on port {port}");
}

/// Polls `cond` every 20 ms for up to 60 s.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// One line of the side-effect file: `<kind>:<run> <pid>`, written by one
/// tool execution in the worker process `pid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// What ran (`a`, `b-start`, `whoami`, ...).
    pub kind: String,
    /// The run it ran for.
    pub run: String,
    /// The worker process that ran it.
    pub pid: u32,
}

/// Every line of the side-effect file, parsed; a malformed line (a torn or
/// interleaved write) fails the test.
pub fn effect_lines(path: &Path) -> Vec<Effect> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    // A line is complete once its newline is written (the write that adds
    // it is the one that adds the text): a file ending without one is torn.
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a torn side-effect line at the end of {}: {text:?}",
        path.display()
    );
    text.lines()
        .map(|line| {
            let parsed = line.split_once(' ').and_then(|(effect, pid)| {
                let (kind, run) = effect.split_once(':')?;
                let pid = pid.parse().ok()?;
                let plain = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                };
                (plain(kind) && plain(run)).then(|| Effect {
                    kind: kind.to_owned(),
                    run: run.to_owned(),
                    pid,
                })
            });
            parsed.unwrap_or_else(|| panic!("a malformed side-effect line: {line:?}"))
        })
        .collect()
}

/// The number of side-effect lines of kind `kind` (`"a:"` or `"a"`).
pub fn effects(path: &Path, kind: &str) -> usize {
    let kind = kind.trim_end_matches(':');
    effect_lines(path).iter().filter(|e| e.kind == kind).count()
}

#[derive(Deserialize, JsonSchema)]
pub struct NoArgs {}

/// Appends `<line> <pid>\n` to the side-effect file with ONE `write(2)` on a
/// file opened with `O_APPEND`: the kernel places each such write at the end
/// of the file as a whole, so the lines of concurrent tool calls, in this
/// process or in another worker, never interleave. (`writeln!` on a `File`
/// would issue one write for the text and one for the newline, and two
/// processes' pieces could interleave: `a:1a:2\n\n`.)
fn append(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let record = format!("{line} {}\n", std::process::id());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let written = f.write(record.as_bytes())?;
    if written != record.len() {
        return Err(std::io::Error::other(format!(
            "a short write to the side-effect file: {written} of {} bytes",
            record.len()
        )));
    }
    f.sync_all()
}

/// One trace event a worker sent to its processor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanEvent {
    /// `trace-start`, `trace-end` or `span-end`.
    pub event: String,
    /// The span's kind (`agent`, `generation`, `handoff`, ...), or `trace`.
    pub kind: String,
    /// The span's name (the agent's or tool's), or the workflow name.
    pub name: String,
    pub trace_id: String,
    /// The worker process that sent it.
    pub pid: u32,
}

/// The file the workers' trace events go to, beside the side-effect file.
pub fn spans_file(side_effects: &Path) -> PathBuf {
    side_effects.with_file_name("spans.log")
}

/// A processor writing one line per trace start, trace end and span end,
/// each with one `write(2)` in append mode: a SIGKILL loses nothing it wrote.
struct FileSpans(PathBuf);

impl FileSpans {
    fn line(&self, event: &str, kind: &str, name: &str, trace_id: &str) {
        use std::io::Write;
        // Names may hold spaces ("Agent workflow"): one field each.
        let name = name.replace(' ', "-");
        let record = format!("{event} {kind} {name} {trace_id} {}\n", std::process::id());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .and_then(|mut f| f.write(record.as_bytes()));
        assert_eq!(
            written.ok(),
            Some(record.len()),
            "a span line was not written whole"
        );
    }
}

impl TraceProcessor for FileSpans {
    fn on_trace_start(&self, t: &Trace) {
        self.line("trace-start", "trace", &t.workflow_name, &t.trace_id);
    }
    fn on_trace_end(&self, t: &Trace) {
        self.line("trace-end", "trace", &t.workflow_name, &t.trace_id);
    }
    fn on_span_end(&self, s: &Span) {
        self.line("span-end", s.data.kind(), s.data.name(), &s.trace_id);
    }
}

/// Every line of the spans file, parsed.
pub fn span_events(side_effects: &Path) -> Vec<SpanEvent> {
    let path = spans_file(side_effects);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 5, "a malformed span line: {line:?}");
            SpanEvent {
                event: f[0].to_owned(),
                kind: f[1].to_owned(),
                name: f[2].to_owned(),
                trace_id: f[3].to_owned(),
                pid: f[4].parse().expect("pid"),
            }
        })
        .collect()
}

/// The worker's agent graph. `Triage` has three tools and hands off to
/// `Specialist`:
/// - `step_a` appends `a:<run>` to the side-effect file;
/// - `step_b` waits for the gate file, then appends `b:<run>`;
/// - `refund` needs approval and appends `refund:<run>`.
///
/// The v2 versions model deploys: `v2-compatible` changes what `step_a`
/// writes for new calls (compatible); `v2-breaking` removes `step_a` (a
/// replayed turn that called it now runs an unknown tool: no tool step where
/// the journal has one).
pub fn agent_graph(env: &WorkerEnv) -> Agent<String> {
    let file = Arc::new(env.side_effects.clone());
    let gate = Arc::new(env.gate.clone());
    let a_prefix = if env.version == "v2-compatible" {
        "a2"
    } else {
        "a"
    };
    let f = Arc::clone(&file);
    let step_a = FunctionTool::new(
        "step_a",
        "The first step.",
        move |ctx: ToolContext<String>, _: NoArgs| {
            let f = Arc::clone(&f);
            async move {
                append(&f, &format!("{a_prefix}:{}", ctx.context())).map_err(ToolError::failed)?;
                Ok::<_, ToolError>("a done")
            }
        },
    );
    let f = Arc::clone(&file);
    let step_b = FunctionTool::new(
        "step_b",
        "The second step.",
        move |ctx: ToolContext<String>, _: NoArgs| {
            let (f, gate) = (Arc::clone(&f), Arc::clone(&gate));
            async move {
                append(&f, &format!("b-start:{}", ctx.context())).map_err(ToolError::failed)?;
                while !gate.exists() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                append(&f, &format!("b:{}", ctx.context())).map_err(ToolError::failed)?;
                Ok::<_, ToolError>("b done")
            }
        },
    );
    let f = Arc::clone(&file);
    let refund = FunctionTool::new(
        "refund",
        "Refunds the order.",
        move |ctx: ToolContext<String>, _: NoArgs| {
            let f = Arc::clone(&f);
            async move {
                append(&f, &format!("refund:{}", ctx.context())).map_err(ToolError::failed)?;
                Ok::<_, ToolError>(format!("refunded {}", ctx.context()))
            }
        },
    )
    .needs_approval(true);
    let f = Arc::clone(&file);
    let whoami = FunctionTool::new(
        "whoami",
        "Names the run.",
        move |ctx: ToolContext<String>, _: NoArgs| {
            let f = Arc::clone(&f);
            async move {
                append(&f, &format!("whoami:{}", ctx.context())).map_err(ToolError::failed)?;
                Ok::<_, ToolError>(format!("run {}", ctx.context()))
            }
        },
    );
    let specialist: Agent<String> = Agent::builder("Specialist")
        .instructions("You finish what Triage started.")
        .model("gpt-4.1-mini")
        .build();
    let mut triage = Agent::builder("Triage")
        .instructions("You route requests.")
        .model("gpt-4.1-mini");
    if env.version != "v2-breaking" {
        triage = triage.tool(step_a);
    }
    triage
        .tool(step_b)
        .tool(refund)
        .tool(whoami)
        .handoff(Handoff::to(&specialist))
        // whoami's output is the run's final output (the many-runs test).
        .tool_use_behavior(ToolUseBehavior::StopAtTools(vec!["whoami".into()]))
        .build()
}

/// The worker process's body: serve the agent until killed.
pub async fn run_worker() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let version: &'static str = match var("WORKER_VERSION").as_str() {
        "v2-compatible" => "v2-compatible",
        "v2-breaking" => "v2-breaking",
        _ => "v1",
    };
    let env = WorkerEnv {
        mock_url: var("MOCK_URL"),
        side_effects: PathBuf::from(var("SIDE_EFFECTS")),
        gate: PathBuf::from(var("GATE_FILE")),
        port: var("WORKER_PORT").parse().expect("port"),
        version,
    };
    let provider = Arc::new(
        OpenAIProvider::builder()
            .api(OpenAIApi::Responses)
            .base_url(&env.mock_url)
            .api_key("offline")
            .build(),
    );
    let agent = agent_graph(&env);
    let spans: Arc<dyn TraceProcessor> = Arc::new(FileSpans(spans_file(&env.side_effects)));
    let worker = DurableWorker::with_options(agent, move |run_id| {
        let config = RunConfig {
            max_tool_concurrency: Some(1),
            trace_processors: Some(vec![Arc::clone(&spans)]),
            ..RunConfig::default()
        };
        RunOptions::default()
            .context(run_id.to_owned())
            .run_config(config)
            .model_provider(provider.clone())
    });
    // SO_REUSEPORT: two workers may share the port (the kernel spreads
    // connections), as replicas behind one address would.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseport(true).expect("reuseport");
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket
        .bind(([127, 0, 0, 1], env.port).into())
        .expect("bind worker port");
    let listener = socket.listen(1024).expect("listen");
    worker.serve(listener).await;
}

/// The body of each test binary's `worker_process` test: when started by a
/// test with `DURABLE_WORKER=1`, serve the agent until killed; otherwise
/// nothing.
pub fn worker_process_main() {
    if std::env::var_os("DURABLE_WORKER").is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run_worker());
}

/// One test's Restate server, mock model server and worker environment (a
/// temporary directory for the side-effect, gate and spans files).
pub struct Setup {
    pub restate: Restate,
    pub mock: MockServer,
    pub env: WorkerEnv,
    _dir: tempfile::TempDir,
}

impl Setup {
    /// Starts the servers; `None` when the Restate server is missing outside CI.
    pub async fn start() -> Option<Setup> {
        let bin = restate_or_skip()?;
        let restate = Restate::start(&bin).await;
        let mock = MockServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let env = WorkerEnv {
            mock_url: mock.base_url().to_owned(),
            side_effects: dir.path().join("effects.log"),
            gate: dir.path().join("gate"),
            port: free_port(),
            version: "v1",
        };
        Some(Setup {
            restate,
            mock,
            env,
            _dir: dir,
        })
    }

    /// Spawns a worker of `version` on the run's address and waits for it.
    pub async fn spawn_worker(&self, version: &'static str) -> Worker {
        let env = WorkerEnv {
            version,
            ..self.env.clone()
        };
        let worker = Worker::spawn("worker_process", &env);
        wait_for_port(env.port).await;
        worker
    }

    /// Registers the workers' address with Restate (again: a deploy).
    pub async fn register(&self) {
        self.restate
            .client()
            .register(&format!("http://127.0.0.1:{}", self.env.port))
            .await
            .expect("register the worker");
    }

    /// Lets `step_b` finish.
    pub fn open_gate(&self) {
        std::fs::write(&self.env.gate, b"open").expect("open gate");
    }

    /// The model requests the mock received.
    pub fn requests(&self) -> usize {
        self.mock.requests().len()
    }

    /// The side-effect lines of kind `kind`.
    pub fn effects(&self, kind: &str) -> usize {
        effects(&self.env.side_effects, kind)
    }
}
