//! Repository automation. Run with `cargo xtask <command>`:
//!
//! - `ci`: format check, clippy, tests (with doc-tests) and docs, stopping at
//!   the first failure.
//! - `bench`: the benchmarks, printed and written to `docs/benchmarks.md`.
//! - `release`: checks that every publishable crate packages cleanly.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[cfg(test)]
mod tidy;

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
        step.run()?;
    }
    eprintln!("\nci: all steps passed");
    Ok(())
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
