//! What the facade's tests against openai-agents-python share: finding the
//! interpreter, running it offline, the Rust twin of the Python test agent,
//! and short descriptions of the conversation a request carried.
//!
//! Included with `#[path = "support/python.rs"] mod python;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agents::prelude::*;
use agents_testkit::running_in_ci;
use serde_json::Value;

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `python` with no key, no tracing and no bytecode files.
pub fn python_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.env("OPENAI_API_KEY", "sk-offline-test")
        .env("OPENAI_AGENTS_DISABLE_TRACING", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    cmd
}

/// The first interpreter (`target/py-venv`, then `python3`) that runs
/// `probe`, or `None` after a note naming `needs` when there is none; under
/// CI a missing one fails the test.
pub fn find_python(probe: &str, needs: &str) -> Option<PathBuf> {
    let venv = project_root().join("target/py-venv/bin/python");
    let found = [venv, PathBuf::from("python3")].into_iter().find(|p| {
        python_command(p)
            .args(["-c", probe])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        let msg = format!(
            "Python with {needs} not found (looked for target/py-venv/bin/python and \
             python3); `cargo xtask ci` installs it"
        );
        if running_in_ci() {
            panic!("{msg}; required under CI");
        }
        eprintln!("note: skipping the Python interop tests: {msg}");
    }
    found
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    /// The city.
    city: String,
}

/// The Rust twin of the Python scripts' agent: `Assistant`, "Be brief.",
/// `gpt-4o`, and a `get_weather` tool answering `sunny in <city>`.
pub fn rust_agent() -> Agent {
    let get_weather = FunctionTool::new(
        "get_weather",
        "Weather of a city.",
        |_ctx: ToolContext, a: City| async move { Ok::<_, String>(format!("sunny in {}", a.city)) },
    );
    Agent::builder("Assistant")
        .instructions("Be brief.")
        .model("gpt-4o")
        .tool(get_weather)
        .build()
}

/// The text of a message's content (a string, or its parts' texts).
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    }
}

/// A Responses API input item as `user:…`, `assistant:…`, `call:ID` or
/// `output:ID`.
pub fn describe_item(item: &Value) -> Option<String> {
    match item["type"].as_str() {
        Some("message") | None => Some(format!(
            "{}:{}",
            item["role"].as_str()?,
            text_of(&item["content"])
        )),
        Some("function_call") => Some(format!("call:{}", item["call_id"].as_str()?)),
        Some("function_call_output") => Some(format!("output:{}", item["call_id"].as_str()?)),
        _ => None,
    }
}
