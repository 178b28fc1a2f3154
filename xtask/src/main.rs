//! Repository automation. Run with `cargo xtask <command>`:
//!
//! - `ci`: format check, clippy, tests (with doc-tests) and docs, stopping at
//!   the first failure. Before the tests it makes `target/py-venv` with the
//!   pinned `openai-agents` for the SQLite session interop tests, and runs
//!   `npm ci` in `crates/agents-mcp/tests/servers` for the MCP tests.
//!   The release end-to-end test is not part of `ci` (too slow with cold caches);
//!   `release e2e` runs it.
//! - `peers`: installs the test peers that `ci` installs before its tests
//!   (to run single tests by hand), and nothing else.
//! - `bench`: the benchmarks, printed and written to `docs/benchmarks.md`;
//!   `bench --quick` checks in seconds that they run, and writes nothing;
//!   `bench m0 [--before REV] [--rounds N]` times clean builds of the
//!   quickstart before and after (`xtask/src/m0.rs`).
//! - `bench trace-cost`: the instructions tracing adds to a run, counted
//!   under callgrind (`xtask/src/trace_cost.rs`).
//! - `release <plan | bump | changelog | check | publish | e2e>`: the release flow
//!   (`xtask/src/release.rs`, `docs/RELEASING.md`).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod m0;
mod peer_db;
mod peer_durable;
mod peer_phoenix;
mod peer_pip;
mod peer_pysessions;
mod peer_release;
mod release;
#[cfg(test)]
mod tidy;
mod trace_cost;

/// True under CI: `CI` is `true` or `1`, in any case. This is the one rule
/// for reading `CI` in xtask and in every test (a tidy test checks it).
fn on_ci() -> bool {
    is_ci_value(env::var("CI").ok().as_deref())
}

/// The rule behind [`on_ci`], on a given value of `CI`.
fn is_ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

struct Step {
    name: &'static str,
    program: &'static str,
    args: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
}

impl Step {
    fn new(name: &'static str, program: &'static str, args: &[&'static str]) -> Self {
        Step {
            name,
            program,
            args: args.to_vec(),
            env: Vec::new(),
        }
    }

    fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }

    fn run(&self) -> Result<(), String> {
        eprintln!(
            "\n==> [{}] {} {}",
            self.name,
            self.program,
            self.args.join(" ")
        );
        let status = Command::new(self.program)
            .args(&self.args)
            .envs(self.env.iter().copied())
            .current_dir(project_root())
            .status()
            .map_err(|e| {
                format!(
                    "step `{}` could not start `{}`: {e}",
                    self.name, self.program
                )
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("step `{}` failed ({status})", self.name))
        }
    }
}

/// True when `program --version` runs and succeeds (npm, python3, ...).
fn has_program(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn has_nextest() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ci() -> Result<(), String> {
    let mut steps = vec![
        Step::new("fmt", "cargo", &["fmt", "--all", "--", "--check"]),
        Step::new(
            "clippy",
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    if has_nextest() {
        steps.push(Step::new(
            "tests",
            "cargo",
            &[
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ],
        ));
        steps.push(Step::new(
            "doc-tests",
            "cargo",
            &["test", "--workspace", "--all-features", "--doc"],
        ));
    } else {
        eprintln!("note: cargo-nextest not found, running tests with cargo test");
        steps.push(Step::new(
            "tests",
            "cargo",
            &["test", "--workspace", "--all-features"],
        ));
    }
    steps.push(
        Step::new(
            "docs",
            "cargo",
            &["doc", "--workspace", "--no-deps", "--all-features"],
        )
        .env("RUSTDOCFLAGS", "-D warnings"),
    );
    for step in &steps {
        if step.name == "tests" {
            install_peers()?;
        }
        step.run()?;
    }
    // The release end-to-end test (`cargo xtask release e2e`) is not a ci step: with
    // cold caches it takes longer than ci's time budget (docs/RELEASING.md).
    eprintln!("\nci: all steps passed");
    Ok(())
}

/// Installs every test peer the tests start: the Python venvs with the
/// official SDKs, Arize Phoenix, the MCP reference servers, the Postgres and
/// Redis servers and the Restate server. Each installer skips what is there.
fn install_peers() -> Result<(), String> {
    python_venv()?;
    peer_pysessions::python_session_extras()?;
    for pin in &peer_pip::PROVIDER_SDKS {
        peer_pip::pip_pinned(pin)?;
    }
    peer_phoenix::arize_phoenix()?;
    mcp_test_servers()?;
    peer_db::session_servers()?;
    peer_durable::restate_server()
}

/// Installs the MCP reference servers the `agents-mcp` tests run against
/// (`npm ci` in `crates/agents-mcp/tests/servers`, from its lockfile).
/// Without npm the tests skip, except under `CI=true`, where this step
/// fails.
fn mcp_test_servers() -> Result<(), String> {
    let dir = project_root().join("crates/agents-mcp/tests/servers");
    let has_npm = has_program("npm");
    if !has_npm {
        if on_ci() {
            return Err("npm is needed to install the MCP reference servers".into());
        }
        eprintln!("note: npm not found; the agents-mcp reference-server tests will skip");
        return Ok(());
    }
    eprintln!("\n==> [mcp-servers] npm ci --prefix crates/agents-mcp/tests/servers");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("step `mcp-servers` could not run npm ci: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `mcp-servers` failed: npm ci ({status})"))
    }
}

/// The openai-agents (PyPI) version that the SQLite session interop tests
/// (`crates/agents-session-sqlite/tests/python_interop.rs`) run against.
const OPENAI_AGENTS_VERSION: &str = "0.24.0";

/// Makes `target/py-venv` with the pinned `openai-agents`, unless it is
/// already there. Without `python3` the interop tests skip, except under
/// `CI=true`, where this step fails.
fn python_venv() -> Result<(), String> {
    let root = project_root();
    let venv = root.join("target/py-venv");
    let python = venv.join("bin/python");
    let check = format!(
        "import importlib.metadata as m; import agents; \
         assert m.version('openai-agents') == '{OPENAI_AGENTS_VERSION}'"
    );
    let ready = Command::new(&python)
        .args(["-c", &check])
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ready {
        eprintln!("\n==> [python] target/py-venv has openai-agents=={OPENAI_AGENTS_VERSION}");
        return Ok(());
    }
    let run = |what: &str, cmd: &mut Command| -> Result<(), String> {
        eprintln!("\n==> [python] {what}");
        match cmd.current_dir(&root).status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("step `python` failed: {what} ({s})")),
            Err(e) => Err(format!("step `python` could not run {what}: {e}")),
        }
    };
    if !python.exists() {
        let has_python = has_program("python3");
        if !has_python {
            if on_ci() {
                return Err("python3 is needed for the SQLite session interop tests".into());
            }
            eprintln!("note: python3 not found; the SQLite session interop tests will skip");
            return Ok(());
        }
        run(
            "python3 -m venv target/py-venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
    }
    let spec = format!("openai-agents=={OPENAI_AGENTS_VERSION}");
    run(
        &format!("target/py-venv/bin/pip install {spec}"),
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &spec,
        ]),
    )
}

/// The cargo target directory: `CARGO_TARGET_DIR`, or `target/` at the root.
fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"))
}

/// `cargo xtask bench [--quick]`: installs the Restate server if missing
/// (D1, D2), builds the quickstart example with
/// optimizations (M1 times its start), then runs the `sdk` benchmark, which prints
/// the table and writes `docs/benchmarks.md`. `--quick` (or `BENCH_QUICK=1`)
/// runs every benchmark with tiny round counts to check that it runs, and
/// writes nothing.
///
/// M7 keeps up to 10,000 connections open, so on Unix the benchmark runs
/// under a shell that first raises the open-files soft limit to the hard
/// limit (`ulimit -n`).
fn bench(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick")
        || env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    if args.first().is_some_and(|a| a == "m0") {
        return m0::m0(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "trace-cost") {
        return trace_cost::trace_cost();
    }
    if let Some(other) = args.iter().find(|a| *a != "--quick") {
        return Err(format!("unknown bench option `{other}` (try --quick)"));
    }
    // D1/D2 start the Restate server that ci installs; install it if missing.
    if !project_root()
        .join("crates/agents-durable/tests/server/node_modules")
        .is_dir()
    {
        peer_durable::restate_server()?;
    }
    // The bench profile is the release profile plus line tables. M1 times
    // the example as a user gets it: the facade's default features (the
    // benchmark's own build has all of them, native-tls included).
    Step::new(
        "quickstart",
        "cargo",
        &[
            "build",
            "--profile",
            "bench",
            "--package",
            "agents",
            "--example",
            "quickstart",
        ],
    )
    .run()?;
    let quickstart = target_dir().join("release/examples/quickstart");
    let cargo_bench = [
        "cargo",
        "bench",
        "--package",
        "agents",
        "--bench",
        "sdk",
        "--all-features",
    ];
    let mut cmd = if cfg!(unix) {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(
                "ulimit -n \"$(ulimit -Hn)\" 2>/dev/null \
                 || echo \"note: could not raise the open-files limit ($(ulimit -n))\" >&2; \
                 exec \"$@\"",
            )
            .arg("sh")
            .args(cargo_bench);
        sh
    } else {
        let mut direct = Command::new(cargo_bench[0]);
        direct.args(&cargo_bench[1..]);
        direct
    };
    cmd.current_dir(project_root())
        .env("AGENTS_BENCH_QUICKSTART", &quickstart);
    if quick {
        cmd.env("BENCH_QUICK", "1");
    }
    eprintln!(
        "\n==> [bench] {}{}",
        cargo_bench.join(" "),
        if quick { " (quick)" } else { "" }
    );
    let status = cmd
        .status()
        .map_err(|e| format!("step `bench` could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `bench` failed ({status})"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let cmd = args.first().cloned().unwrap_or_default();
    let result = match cmd.as_str() {
        "ci" => ci(),
        "bench" => bench(&args[1..]),
        "peers" => install_peers(),
        "release" => release::release(&args[1..]),
        _ => Err(
            "usage: cargo xtask <ci | peers | bench [--quick | m0 | trace-cost] | release <plan | bump | changelog | check | publish>>"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
