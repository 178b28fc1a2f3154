//! The test peers of the shared session backends: Debian's `postgresql`
//! (expected on the machine) and `redis-server` (installed with apt-get when
//! missing; CI runs as root). The tests start and stop the servers
//! themselves (`agents_testkit::servers`), on 127.0.0.1 and free ports, so
//! nothing keeps running after ci. Under `CI=true` a missing server is a
//! failure; outside CI the tests skip with a note.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::on_ci;

fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn have_postgres() -> bool {
    std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|dirs| {
        dirs.filter_map(Result::ok)
            .any(|d| d.path().join("bin/initdb").exists())
    }) || std::env::var_os("PG_BIN").is_some_and(|d| Path::new(&d).join("initdb").exists())
}

fn apt_install(package: &str) -> Result<(), String> {
    eprintln!("\n==> [peers] apt-get install -y {package}");
    let ok = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok(&["install", "-y", package]) || (ok(&["update"]) && ok(&["install", "-y", package])) {
        Ok(())
    } else {
        Err(format!("apt-get install -y {package} failed"))
    }
}

/// Installs `redis-server` when missing and checks that Postgres is there.
pub(crate) fn session_servers() -> Result<(), String> {
    if !have_redis() {
        if let Err(e) = apt_install("redis-server") {
            if on_ci() {
                return Err(e);
            }
            eprintln!("note: {e}; the Redis session tests will skip");
        }
    }
    if !have_postgres() {
        if let Err(e) = apt_install("postgresql") {
            if on_ci() {
                return Err(e);
            }
            eprintln!("note: {e}; the Postgres session tests will skip");
        }
    }
    Ok(())
}
