//! The official Python SDKs as validators: one long-lived `python/validate.py` process per test
//! process, asked one JSON line per payload.
//!
//! `kind` names the payload: `anthropic.request`, `anthropic.response`,
//! `anthropic.stream_event`, `anthropic.error` (the `anthropic` package, see
//! `python/anthropic_validate.py`), `gemini.request`, `gemini.response`, `gemini.stream_chunk`
//! (`google-genai`, see `python/gemini_validate.py`). The part before the dot picks the Python
//! module; each is imported on first use, so a missing package only affects its own kinds.
//!
//! The Python is `AGENTS_TESTKIT_PYTHON`, else `target/py-venv/bin/python` (which `cargo xtask
//! ci` fills with the pinned packages).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct State {
    process: Option<Result<Process, String>>,
    /// Why a module (by kind prefix) cannot validate, once known.
    unavailable: HashMap<String, String>,
    ready: HashMap<String, bool>,
}

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

/// The Python that runs the validators.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("AGENTS_TESTKIT_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python")
}

fn start() -> Result<Process, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/validate.py");
    let python = python();
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run {} ({e}); `cargo xtask ci` makes target/py-venv with the official SDKs",
                python.display()
            )
        })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("the validator process has no pipes".to_owned());
    };
    Ok(Process {
        child,
        stdin,
        stdout: BufReader::new(stdout),
    })
}

fn ask(process: &mut Process, kind: &str, payload: &Value) -> Result<Value, String> {
    let line = json!({ "kind": kind, "payload": payload }).to_string();
    process
        .stdin
        .write_all(line.as_bytes())
        .and_then(|()| process.stdin.write_all(b"\n"))
        .and_then(|()| process.stdin.flush())
        .map_err(|e| format!("writing to the validator: {e}"))?;
    let mut answer = String::new();
    match process.stdout.read_line(&mut answer) {
        Ok(0) => return Err("the validator process exited".to_owned()),
        Ok(_) => {}
        Err(e) => return Err(format!("reading from the validator: {e}")),
    }
    serde_json::from_str(&answer).map_err(|e| format!("the validator answered {answer:?}: {e}"))
}

/// Validates `payload` as `kind` with the official SDK's types. Returns the problems found
/// (empty when valid), or `Err` with the reason when the validator cannot run (no Python, or
/// the SDK package is not installed).
pub fn validate(kind: &str, payload: &Value) -> Result<Vec<String>, String> {
    let prefix = kind.split('.').next().unwrap_or(kind).to_owned();
    let state = STATE.get_or_init(|| Mutex::new(State::default()));
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(reason) = state.unavailable.get(&prefix) {
        return Err(reason.clone());
    }
    if state.process.is_none() {
        state.process = Some(start());
    }
    let ready = state.ready.get(&prefix).copied().unwrap_or(false);
    let process = match state.process.as_mut() {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("no validator process".to_owned()),
    };
    let result = (|| {
        if !ready {
            let answer = ask(process, &format!("{prefix}.ready"), &Value::Null)?;
            if let Some(reason) = answer.get("unavailable").and_then(Value::as_str) {
                return Err(reason.to_owned());
            }
        }
        let answer = ask(process, kind, payload)?;
        if let Some(reason) = answer.get("unavailable").and_then(Value::as_str) {
            return Err(reason.to_owned());
        }
        Ok(answer["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    })();
    match result {
        Ok(errors) => {
            state.ready.insert(prefix, true);
            Ok(errors)
        }
        Err(reason) => {
            if reason.contains("validator process exited") || reason.contains("writing to") {
                state.process = None;
            }
            state.unavailable.insert(prefix, reason.clone());
            Err(reason)
        }
    }
}
