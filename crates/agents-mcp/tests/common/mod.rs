//! Helpers for the tests against the official MCP reference servers.
//!
//! The servers come from npm (`tests/servers/package.json` and its lockfile,
//! installed by `npm ci --prefix crates/agents-mcp/tests/servers`, which
//! `cargo xtask ci` runs). Without node or without the installed packages
//! the tests print a note and pass, except under `CI=true`, where that is a
//! failure.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agents_mcp::{HttpServer, McpServer, Stderr, StdioServer};

/// The folder holding `package.json` and `node_modules`.
pub fn servers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers")
}

fn everything_entry() -> PathBuf {
    servers_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js")
}

fn filesystem_entry() -> PathBuf {
    servers_dir().join("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
}

fn on_ci() -> bool {
    // The project's one rule for `CI`: `true` or `1`, in any case.
    std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// Whether the reference servers can run here. Prints why not, and panics
/// under `CI=true`.
pub fn reference_servers_available(test: &str) -> bool {
    let node = Command::new("node").arg("--version").output();
    let reason = match node {
        Ok(out) if out.status.success() => {
            if everything_entry().is_file() && filesystem_entry().is_file() {
                return true;
            }
            format!(
                "the MCP reference servers are not installed; run `npm ci --prefix {}`",
                servers_dir().display()
            )
        }
        _ => "node is not installed".to_owned(),
    };
    if on_ci() {
        panic!("{test}: {reason} (required when CI=true)");
    }
    eprintln!("note: skipping {test}: {reason}");
    false
}

/// `server-everything` over stdio.
pub fn everything_stdio() -> StdioServer {
    StdioServer::new("node")
        .arg(everything_entry())
        .arg("stdio")
        .stderr(Stderr::Null)
}

/// `server-filesystem` over stdio, allowed to access `dir`.
pub fn filesystem_stdio(dir: &Path) -> McpServer {
    StdioServer::new("node")
        .arg(filesystem_entry())
        .arg(dir)
        .stderr(Stderr::Null)
        .into()
}

/// A free TCP port on 127.0.0.1 (released before it is returned).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `server-everything` in `streamableHttp` mode, killed when dropped.
pub struct EverythingHttp {
    child: tokio::process::Child,
    /// The port it listens on.
    pub port: u16,
}

impl EverythingHttp {
    /// Starts the server on a free port and waits until 127.0.0.1 accepts
    /// connections on it.
    pub async fn start() -> Self {
        let port = free_port();
        let child = tokio::process::Command::new("node")
            .arg(everything_entry())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn server-everything streamableHttp");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server-everything did not listen on 127.0.0.1:{port}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        EverythingHttp { child, port }
    }

    /// The MCP endpoint, on 127.0.0.1 only.
    pub fn server(&self) -> HttpServer {
        HttpServer::new(format!("http://127.0.0.1:{}/mcp", self.port))
    }

    /// Kills the server and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Whether process `pid` exists (a zombie counts: it was not reaped).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Sends SIGKILL to `pid`.
pub fn kill_process(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid} failed");
}

/// Waits until `f` is true, or fails after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
