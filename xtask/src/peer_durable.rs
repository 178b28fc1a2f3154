//! The test peer of `agents-durable`: the Restate server, installed from npm
//! (`@restatedev/restate-server`, pinned in
//! `crates/agents-durable/tests/server/package-lock.json`).
//!
//! The durable tests start their own server on free 127.0.0.1 ports (one per
//! test, data in a temporary directory) and kill it when they end, so ci only
//! installs it. Under `CI=true` a missing npm is a failure; outside CI the
//! tests skip with a note.

use std::process::Command;

use crate::{has_program, on_ci, project_root};

/// `npm ci` in `crates/agents-durable/tests/server`.
pub(crate) fn restate_server() -> Result<(), String> {
    let dir = project_root().join("crates/agents-durable/tests/server");
    let has_npm = has_program("npm");
    if !has_npm {
        if on_ci() {
            return Err("npm is needed to install the Restate server for agents-durable".into());
        }
        eprintln!("note: npm not found; the agents-durable tests will skip");
        return Ok(());
    }
    eprintln!("\n==> [restate-server] npm ci --prefix crates/agents-durable/tests/server");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .map_err(|e| format!("step `restate-server` could not run npm ci: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `restate-server` failed: npm ci ({status})"))
    }
}
