//! Real database servers for tests and benchmarks, started on `127.0.0.1`
//! on a free port and stopped when dropped: Postgres (Debian's `postgresql`
//! binaries, `initdb` in a temporary directory, run as the `postgres` user
//! when the process is root) and Redis (`redis-server`).
//!
//! Without the binaries, [`Postgres::start`] and [`Redis::start`] return
//! `None` after a one-line note on stderr, except under `CI=true`
//! ([`running_in_ci`]), where they panic: in CI a
//! missing server is a failure, never a skip.
//!
//! [`FaultProxy`] sits between a client and a server and can drop the reply
//! to the next request after the server has processed it (a lost reply to a
//! committed write).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::running_in_ci;

/// A free TCP port on 127.0.0.1 (bound and released; a small race is
/// possible, acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

fn note_missing(what: &str) {
    if running_in_ci() {
        panic!("{what} is required under CI=true (cargo xtask ci installs it)");
    }
    eprintln!("note: {what} not found; skipping (it is required under CI=true)");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .is_some_and(|s| s.trim() == "0")
}

fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Whether a Postgres server can be started here ([`Postgres::start`]
/// finds its binaries).
pub fn postgres_available() -> bool {
    postgres_bin().is_some()
}

/// The directory of Debian's Postgres binaries (`PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `PATH`).
fn postgres_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A Postgres server in a temporary directory, on 127.0.0.1 and a free
/// port, with trust authentication for the `postgres` user. Stopped (and
/// its directory removed) when dropped.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    /// Runs `initdb` and starts the server; `None` (with a note) when the
    /// binaries are missing outside CI.
    pub fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            note_missing("Postgres (Debian package `postgresql`)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("agents-pg-")
            .tempdir()
            .expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            // Postgres refuses to run as root: the postgres system user owns
            // the directory and runs the server.
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let pg = Postgres {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let data = pg.data_dir();
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.start_again();
        Some(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection URL (`postgres://postgres@127.0.0.1:PORT/postgres`).
    pub fn url(&self) -> String {
        self.url_with_port(self.port)
    }

    /// The connection URL with another port (a [`FaultProxy`] in front).
    pub fn url_with_port(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    /// Starts the server again after [`stop`](Self::stop) (same data, same
    /// port), waiting until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            self.log()
        );
        assert!(
            wait_for_port(self.port, Duration::from_secs(30)),
            "Postgres did not listen"
        );
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-m", "fast", "stop"])
            .output();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-w", "-t", "30", "-m", "immediate", "stop"])
                .output();
        }
    }
}

fn redis_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join("redis-server"))
        .find(|p| p.exists())
}

/// A `redis-server` on 127.0.0.1 and a free port, with an append-only file
/// synced on every write (data survives [`stop`](Self::stop) /
/// [`start_again`](Self::start_again)), or with Redis's default persistence
/// ([`Redis::start_with_default_persistence`]). Stopped when dropped.
#[derive(Debug)]
pub struct Redis {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    child: Mutex<Option<Child>>,
    /// The append-only file synced on every write (else Redis's defaults).
    fsync_always: bool,
}

impl Redis {
    /// Starts the server; `None` (with a note) when `redis-server` is
    /// missing outside CI.
    pub fn start() -> Option<Self> {
        Self::start_with(true)
    }

    /// Starts a server with Redis's default persistence (no append-only
    /// file, periodic snapshots), as a plain `redis-server` runs: what a
    /// write costs without an fsync. Data written since the last snapshot
    /// does not survive [`stop`](Self::stop).
    pub fn start_with_default_persistence() -> Option<Self> {
        Self::start_with(false)
    }

    fn start_with(fsync_always: bool) -> Option<Self> {
        let Some(bin) = redis_binary() else {
            note_missing("redis-server (Debian package `redis-server`)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("agents-redis-")
            .tempdir()
            .expect("temp dir");
        let redis = Redis {
            dir,
            bin,
            port: free_port(),
            child: Mutex::new(None),
            fsync_always,
        };
        redis.start_again();
        Some(redis)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection URL (`redis://127.0.0.1:PORT/0`).
    pub fn url(&self) -> String {
        self.url_with_port(self.port)
    }

    /// The connection URL with another port (a [`FaultProxy`] in front).
    pub fn url_with_port(&self, port: u16) -> String {
        format!("redis://127.0.0.1:{port}/0")
    }

    /// Starts the server again after [`stop`](Self::stop) (same data, same
    /// port), waiting until it answers `PING`.
    pub fn start_again(&self) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path());
        if self.fsync_always {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"])
                .args(["--save", ""]);
        }
        let child = cmd
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .args(["--logfile", "redis.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        *self.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ping() {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 16];
        s.write_all(b"PING\r\n").is_ok()
            && s.read(&mut buf)
                .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }

    /// Stops the server (`SHUTDOWN`, which syncs the append-only file) and
    /// waits for the process to exit.
    pub fn stop(&self) {
        let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(mut child) = slot.take() else {
            return;
        };
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.write_all(b"SHUTDOWN\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(mut child) = slot.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP proxy on 127.0.0.1 in front of a server, which can drop the reply
/// to the next request: the request reaches the server and is processed
/// (a write commits), but the client never sees the answer; its connection
/// is closed instead, once the server has gone quiet.
#[derive(Debug)]
pub struct FaultProxy {
    port: u16,
    arm: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `target` (on a thread per connection).
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let arm = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, d, s) = (Arc::clone(&arm), Arc::clone(&dropped), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (a, d) = (Arc::clone(&a), Arc::clone(&d));
                std::thread::spawn(move || pump(client, server, &a, &d));
            }
        });
        FaultProxy {
            port,
            arm,
            dropped,
            stop,
        }
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Drops the next reply the server sends on any connection.
    pub fn drop_next_reply(&self) {
        self.arm.store(true, Ordering::SeqCst);
    }

    /// How many replies were dropped.
    pub fn replies_dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pump(client: TcpStream, server: TcpStream, arm: &AtomicBool, dropped: &AtomicUsize) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // Client to server.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(std::net::Shutdown::Write);
    });
    // Server to client, unless a reply is to be dropped.
    let mut server = server;
    let mut client = client;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if arm.swap(false, Ordering::SeqCst) {
            dropped.fetch_add(1, Ordering::SeqCst);
            // Discard the rest of the reply: read until the server is quiet.
            let _ = server.set_read_timeout(Some(Duration::from_millis(300)));
            while let Ok(n) = server.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            break;
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = server.shutdown(std::net::Shutdown::Both);
}
