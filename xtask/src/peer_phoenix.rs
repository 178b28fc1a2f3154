//! The OTLP receiver of `agents-otel`'s tests: Arize Phoenix (PyPI
//! `arize-phoenix`), pinned, in a venv of its own (`target/phoenix-venv`):
//! it is large and its dependency pins must not disturb `target/py-venv`.
//! The test (`crates/agents-otel/tests/phoenix.rs`) starts `phoenix serve`
//! on 127.0.0.1 on free ports and stops it when it ends. Under `CI=true` a
//! missing python3 or a failed install is a failure; outside CI the test
//! skips with a note. A fresh install took 195 s on a 2-core machine.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{has_program, on_ci, project_root};

/// The pinned `arize-phoenix` release.
pub(crate) const ARIZE_PHOENIX_VERSION: &str = "20.26.1";

/// Makes `target/phoenix-venv` with `arize-phoenix==ARIZE_PHOENIX_VERSION`,
/// unless that version is there already.
pub(crate) fn arize_phoenix() -> Result<(), String> {
    let root = project_root();
    let venv = root.join("target/phoenix-venv");
    let python = venv.join("bin/python");
    let check = format!(
        "import importlib.metadata as m; \
         assert m.version('arize-phoenix') == '{ARIZE_PHOENIX_VERSION}'"
    );
    let ready = Command::new(&python)
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ready {
        eprintln!("\n==> [phoenix] target/phoenix-venv has arize-phoenix=={ARIZE_PHOENIX_VERSION}");
        return Ok(());
    }
    let has_python = has_program("python3");
    if !has_python {
        if on_ci() {
            return Err("python3 is needed to install Arize Phoenix for the OTLP tests".into());
        }
        eprintln!("note: python3 not found; the agents-otel Phoenix test will skip");
        return Ok(());
    }
    let run = |what: &str, cmd: &mut Command| -> Result<(), String> {
        eprintln!("\n==> [phoenix] {what}");
        match cmd.current_dir(&root).status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("step `phoenix` failed: {what} ({s})")),
            Err(e) => Err(format!("step `phoenix` could not run {what}: {e}")),
        }
    };
    let started = Instant::now();
    if !python.exists() {
        run(
            "python3 -m venv target/phoenix-venv",
            Command::new("python3").args(["-m", "venv", "target/phoenix-venv"]),
        )?;
    }
    let spec = format!("arize-phoenix=={ARIZE_PHOENIX_VERSION}");
    run(
        &format!("target/phoenix-venv/bin/pip install {spec}"),
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            &spec,
        ]),
    )?;
    eprintln!(
        "==> [phoenix] installed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
