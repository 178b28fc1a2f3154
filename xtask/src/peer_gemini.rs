//! The test peer of `agents-model-gemini`: the official `google-genai`
//! Python package, pinned, installed into `target/py-venv` (made by
//! `python_venv`). The testkit validates every Gemini request and reply
//! against its pydantic types, and one test runs its client against the
//! mock. Under `CI=true` a missing venv or a failed install is a failure;
//! outside CI the Gemini validation skips with a note.

use std::process::{Command, Stdio};

use crate::{on_ci, project_root};

/// The pinned `google-genai` release.
pub(crate) const GOOGLE_GENAI_VERSION: &str = "3.3.0";

/// `pip install google-genai==GOOGLE_GENAI_VERSION` into `target/py-venv`,
/// unless that version is there already.
pub(crate) fn google_genai() -> Result<(), String> {
    let venv = project_root().join("target/py-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        if on_ci() {
            return Err("target/py-venv is missing: google-genai cannot be installed".into());
        }
        eprintln!("note: target/py-venv is missing; the Gemini mock will not validate bodies");
        return Ok(());
    }
    let check = format!(
        "import importlib.metadata as m; import google.genai; \
         assert m.version('google-genai') == '{GOOGLE_GENAI_VERSION}'"
    );
    let ready = Command::new(&python)
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ready {
        eprintln!("\n==> [python] target/py-venv has google-genai=={GOOGLE_GENAI_VERSION}");
        return Ok(());
    }
    let spec = format!("google-genai=={GOOGLE_GENAI_VERSION}");
    eprintln!("\n==> [python] target/py-venv/bin/pip install {spec}");
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet", &spec])
        .status()
        .map_err(|e| format!("step `google-genai` could not run pip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step `google-genai` failed: pip install {spec} ({status})"
        ))
    }
}
