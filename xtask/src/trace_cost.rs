//! `cargo xtask bench trace-cost`: the CPU cost of tracing in instructions.
//!
//! Builds `crates/agents-runner/benches/trace_cost.rs` with the bench
//! profile and runs it under callgrind (`valgrind --tool=callgrind`), which
//! counts the instructions of every thread (the export thread included)
//! instead of timing them: the same binary gives the same count whatever
//! else the machine does. For each shape (M2's single turn, M3's tool loop)
//! and each mode (tracing on with a batching processor, tracing disabled)
//! it counts a short and a long series of runs; the difference, divided by
//! the extra runs, is one run's count without the process's fixed costs.
//! Prints a table; writes nothing.

use std::path::PathBuf;
use std::process::Command;

use crate::project_root;

const SHORT: u64 = 200;
const LONG: u64 = 1200;

/// The bench binary's path, from cargo's JSON messages.
fn build() -> Result<PathBuf, String> {
    let out = Command::new("cargo")
        .args([
            "build",
            "--profile",
            "bench",
            "--package",
            "agents-runner",
            "--bench",
            "trace_cost",
            "--message-format=json",
        ])
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the trace_cost bench failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "trace_cost")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no trace_cost executable".to_owned())
}

/// Instructions of one run of `bin` under callgrind, and the trace records
/// its processor received.
fn count(bin: &PathBuf, mode: &str, runs: u64, shape: &str) -> Result<(u64, u64), String> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(bin)
        .args([mode, &runs.to_string(), shape])
        .output()
        .map_err(|e| format!("valgrind (Debian package valgrind): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{} {mode} {runs} {shape} failed:\n{}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let instructions = stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{stderr}"))?;
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("records "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok((instructions, records))
}

pub(crate) fn trace_cost() -> Result<(), String> {
    let bin = build()?;
    println!(
        "| shape | spans per run | instructions per run, tracing disabled | tracing on | added per run | added per span |"
    );
    println!("|---|---|---|---|---|---|");
    for (shape, what) in [("turn", "M2's single turn"), ("tools", "M3's tool loop")] {
        let mut per_run = Vec::new();
        let mut spans = 0.0;
        for mode in ["off", "on"] {
            let (short, r_short) = count(&bin, mode, SHORT, shape)?;
            let (long, r_long) = count(&bin, mode, LONG, shape)?;
            per_run.push((long.saturating_sub(short)) as f64 / (LONG - SHORT) as f64);
            if mode == "on" {
                // The trace's start and end records are not spans.
                spans = (r_long - r_short) as f64 / (LONG - SHORT) as f64 - 2.0;
            }
        }
        let added = per_run[1] - per_run[0];
        println!(
            "| {what} | {spans} | {:.0} | {:.0} | {added:.0} | {:.0} |",
            per_run[0],
            per_run[1],
            added / spans.max(1.0)
        );
    }
    Ok(())
}
