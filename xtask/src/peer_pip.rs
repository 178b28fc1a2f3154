//! Pinned Python packages installed into `target/py-venv` (made by
//! `python_venv`), for the test peers that are official Python SDKs:
//! - `anthropic`: the testkit validates every Anthropic request
//!   (`MessageCreateParams`, strict) and reply against its pydantic types,
//!   and one test runs its client against the mock;
//! - `google-genai`: the same for Gemini requests, replies and its client.
//!
//! Under `CI=true` a missing venv or a failed install is a failure; outside
//! CI the validation that needs the package skips with a note.

use std::process::{Command, Stdio};

use crate::{on_ci, project_root};

/// The pinned `anthropic` release.
pub(crate) const ANTHROPIC_VERSION: &str = "2.14.0";
/// The pinned `google-genai` release.
pub(crate) const GOOGLE_GENAI_VERSION: &str = "3.3.0";

/// One pinned package of the venv: its PyPI name, the module its check
/// imports, its version, and what it is for (shown when it is missing).
pub(crate) struct Pinned {
    pub(crate) package: &'static str,
    pub(crate) import: &'static str,
    pub(crate) version: &'static str,
    pub(crate) purpose: &'static str,
}

/// The official SDKs that validate the Anthropic and Gemini mocks.
pub(crate) const PROVIDER_SDKS: [Pinned; 2] = [
    Pinned {
        package: "anthropic",
        import: "anthropic",
        version: ANTHROPIC_VERSION,
        purpose: "the Anthropic mock will not validate bodies",
    },
    Pinned {
        package: "google-genai",
        import: "google.genai",
        version: GOOGLE_GENAI_VERSION,
        purpose: "the Gemini mock will not validate bodies",
    },
];

/// `pip install package==version` into `target/py-venv`, unless that
/// version is there already.
pub(crate) fn pip_pinned(pin: &Pinned) -> Result<(), String> {
    let Pinned {
        package,
        import,
        version,
        purpose,
    } = pin;
    let venv = project_root().join("target/py-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        if on_ci() {
            return Err(format!(
                "target/py-venv is missing: {package} cannot be installed"
            ));
        }
        eprintln!("note: target/py-venv is missing; {purpose}");
        return Ok(());
    }
    let check = format!(
        "import importlib.metadata as m; import {import}; \
         assert m.version('{package}') == '{version}'"
    );
    let ready = Command::new(&python)
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ready {
        eprintln!("\n==> [python] target/py-venv has {package}=={version}");
        return Ok(());
    }
    let spec = format!("{package}=={version}");
    eprintln!("\n==> [python] target/py-venv/bin/pip install {spec}");
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check", "--quiet", &spec])
        .status()
        .map_err(|e| format!("step `{package}` could not run pip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step `{package}` failed: pip install {spec} ({status})"
        ))
    }
}
