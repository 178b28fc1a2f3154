//! The examples that need no server of their own run offline, as the README
//! promises: each example binary (built next to this test by `cargo test`)
//! runs with no provider key in its environment, says that it runs offline,
//! and exits successfully. The quickstart's answer is checked too.
//!
//! The examples that need a test peer run too when the peer is installed
//! (`cargo xtask peers`): `mcp_filesystem` (the npm MCP filesystem server)
//! and `shared_approvals` (Debian's Postgres binaries). `durable_agent` has
//! its own test (`durable_example.rs`). An example built only with a feature
//! (the workspace's tests build all of them) is skipped when its binary is
//! missing, and so is an example whose peer is missing, except under
//! `CI=true`, where either fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The examples that run against the local stand-in server when no key is
/// set.
const OFFLINE: &[&str] = &[
    "quickstart",
    "agents_as_tools",
    "anthropic",
    "chat_completions",
    "conversation_id",
    "gemini",
    "guardrails",
    "handoffs",
    "hosted_tools",
    "human_in_the_loop",
    "manual_history",
    "mixed_providers",
    "previous_response_id",
    "session_memory",
    "structured_output",
    "tracing",
];

/// The examples that need a test peer, and whether it is installed.
const WITH_PEERS: &[(&str, fn() -> bool)] = &[
    ("mcp_filesystem", mcp_server_installed),
    (
        "shared_approvals",
        agents_testkit::servers::postgres_available,
    ),
];

/// The MCP filesystem server the `mcp_filesystem` example starts.
fn mcp_server_installed() -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agents-mcp/tests/servers/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
        .exists()
}

/// What would send an example to a real endpoint.
const KEYS: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// `target/<profile>/examples/`, beside this test's `deps/` directory.
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/")
        .join("examples")
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `binary` in an empty directory with no provider keys, at most 180 s.
fn run(binary: &PathBuf, dir: &std::path::Path) -> Output {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for key in KEYS {
        cmd.env_remove(key);
    }
    let mut child = cmd.spawn().expect("start the example");
    let started = Instant::now();
    loop {
        match child.try_wait().expect("wait for the example") {
            Some(_) => break,
            None if started.elapsed() > Duration::from_secs(180) => {
                let _ = child.kill();
                break;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().expect("example output");
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn examples_run_offline_without_keys() {
    let dir = examples_dir();
    let (with_peer, no_peer): (Vec<_>, Vec<_>) =
        WITH_PEERS.iter().partition(|(_, installed)| installed());
    let no_peer: Vec<&str> = no_peer.iter().map(|(name, _)| *name).collect();
    let (built, missing): (Vec<&str>, Vec<&str>) = OFFLINE
        .iter()
        .copied()
        .chain(with_peer.iter().map(|(name, _)| *name))
        .partition(|name| dir.join(name).exists());
    // Each example starts its own stand-in server on a free port: they run
    // side by side.
    let outputs: Vec<(&str, Output)> = std::thread::scope(|scope| {
        let running: Vec<_> = built
            .iter()
            .map(|name| {
                let binary = dir.join(name);
                let handle = scope.spawn(move || {
                    let work = tempfile::tempdir().expect("temp dir");
                    run(&binary, work.path())
                });
                (*name, handle)
            })
            .collect();
        running
            .into_iter()
            .map(|(name, h)| (name, h.join().expect("example runner")))
            .collect()
    });
    for (name, out) in &outputs {
        assert!(
            out.ok,
            "example `{name}` failed offline:\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stdout.to_lowercase().contains("offline"),
            "example `{name}` did not say that it runs offline:\n{}",
            out.stdout
        );
        if *name == "quickstart" {
            assert!(
                out.stdout.contains("[tool call] get_weather"),
                "{}",
                out.stdout
            );
            assert!(
                out.stdout
                    .contains("Final output: It is sunny and 22 °C in Paris"),
                "{}",
                out.stdout
            );
        }
    }
    assert!(
        missing.is_empty() || !agents_testkit::running_in_ci(),
        "example binaries missing under CI=true: {missing:?} (in {})",
        dir.display()
    );
    assert!(
        no_peer.is_empty() || !agents_testkit::running_in_ci(),
        "test peers missing under CI=true for {no_peer:?}: run `cargo xtask peers`"
    );
    if !missing.is_empty() {
        eprintln!("note: skipped examples not built with these features: {missing:?}");
    }
    if !no_peer.is_empty() {
        eprintln!("note: skipped examples whose test peer is not installed: {no_peer:?}");
    }
    assert!(
        built.contains(&"quickstart"),
        "the quickstart was not built next to this test (in {})",
        dir.display()
    );
}
