//! Repository automation. Run with `cargo xtask <command>`:
//!
//! - `ci`: format check, clippy, tests (with doc-tests) and docs, stopping at
//!   the first failure. Before the tests it makes `target/py-venv` with the
//!   pinned `openai-agents` for the SQLite session interop tests, and runs
//!   `npm ci` in `crates/agents-mcp/tests/servers` for the MCP tests.
//! - `bench`: the benchmarks, printed and written to `docs/benchmarks.md`.
//! - `release`: checks that every publishable crate packages cleanly.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[cfg(test)]
mod tidy;

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
            python_venv()?;
            mcp_test_servers()?;
        }
        step.run()?;
    }
    eprintln!("\nci: all steps passed");
    Ok(())
}

/// Installs the MCP reference servers the `agents-mcp` tests run against
/// (`npm ci` in `crates/agents-mcp/tests/servers`, from its lockfile).
/// Without npm the tests skip, except under `CI=true`, where this step
/// fails.
fn mcp_test_servers() -> Result<(), String> {
    let dir = project_root().join("crates/agents-mcp/tests/servers");
    let has_npm = Command::new("npm")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
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
        let has_python = Command::new("python3")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
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

fn bench() -> Result<(), String> {
    Step::new(
        "bench",
        "cargo",
        &[
            "bench",
            "--package",
            "agents",
            "--bench",
            "sdk",
            "--all-features",
        ],
    )
    .run()
}

fn release() -> Result<(), String> {
    Step::new(
        "package",
        "cargo",
        &["package", "--workspace", "--no-verify", "--allow-dirty"],
    )
    .run()
}

fn main() -> ExitCode {
    let cmd = env::args().nth(1).unwrap_or_default();
    let result = match cmd.as_str() {
        "ci" => ci(),
        "bench" => bench(),
        "release" => release(),
        _ => Err("usage: cargo xtask <ci | bench | release>".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
