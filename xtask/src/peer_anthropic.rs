//! The test peer of `agents-model-anthropic`: the official `anthropic`
//! Python package, pinned, installed into `target/py-venv` (made by
//! `python_venv`). The testkit validates every Anthropic request (`MessageCreateParams`, strict) and reply
//! against its pydantic types, and one test runs its client against the
//! mock. Under `CI=true` a missing venv or a failed install is a failure;
//! outside CI the Anthropic validation skips with a note.

use std::process::{Command, Stdio};

use crate::{on_ci, project_root};

/// The pinned `anthropic` release.
pub(crate) const ANTHROPIC_VERSION: &str = "2.14.0";

/// `pip install anthropic==ANTHROPIC_VERSION` into `target/py-venv`,
/// unless that version is there already.
pub(crate) fn anthropic() -> Result<(), String> {
    let venv = project_root().join("target/py-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        if on_ci() {
            return Err("target/py-venv is missing: anthropic cannot be installed".into());
        }
        eprintln!("note: target/py-venv is missing; the Anthropic mock will not validate bodies");
        return Ok(());
    }
    let check = format!(
        "import importlib.metadata as m; import anthropic; \
         assert m.version('anthropic') == '{ANTHROPIC_VERSION}'"
    );
    let ready = Command::new(&python)
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ready {
        eprintln!("\n==> [python] target/py-venv has anthropic=={ANTHROPIC_VERSION}");
        return Ok(());
    }
    let spec = format!("anthropic=={ANTHROPIC_VERSION}");
    eprintln!("\n==> [python] target/py-venv/bin/pip install {spec}");
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet", &spec])
        .status()
        .map_err(|e| format!("step `anthropic` could not run pip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step `anthropic` failed: pip install {spec} ({status})"
        ))
    }
}
