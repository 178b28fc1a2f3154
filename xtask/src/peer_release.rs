//! The tools the release flow needs, pinned, and the release end-to-end
//! test as a step of `cargo xtask ci`.
//!
//! - [`ensure`] installs a pinned tool with `cargo install --locked --debug`
//!   unless that version is already installed, and prints how long the
//!   install took.
//!   The build goes to `target/tool-install/<tool>` (its own target directory,
//!   so it neither holds the workspace build lock nor is lost between runs).
//! - [`release_e2e`] is `cargo xtask release e2e`: it installs both tools,
//!   then runs `xtask/tests/release_e2e.rs` (which is `#[ignore]`d, so plain
//!   `cargo test` leaves it out) and prints its duration. It is not a step of
//!   `cargo xtask ci` (too slow with cold caches; docs/RELEASING.md has the
//!   figures).
//!
//! Under `CI=true` a tool that cannot be installed fails the step; elsewhere
//! it is a printed note and what needs the tool is skipped.

use std::process::Command;
use std::time::Instant;

use crate::{on_ci, project_root, target_dir};

/// A tool of the release flow, installed at a pinned version.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    /// The crate name, which is also the binary name.
    pub name: &'static str,
    /// The pinned version (`cargo install --version`).
    pub version: &'static str,
}

/// cargo-semver-checks: 0.51.0 builds with rustc 1.95 (its MSRV is 1.93)
/// and reads the rustdoc JSON that rustc 1.95 writes.
pub const SEMVER_CHECKS: Tool = Tool {
    name: "cargo-semver-checks",
    version: "0.51.0",
};

/// cargo-http-registry: the local registry server of the release
/// end-to-end test.
pub const HTTP_REGISTRY: Tool = Tool {
    name: "cargo-http-registry",
    version: "0.1.8",
};

/// The version of `tool` that `cargo install` recorded, if any
/// (`cargo install --list` prints `NAME vX.Y.Z:` per installed crate).
fn installed_version(tool: &str) -> Option<String> {
    let out = Command::new("cargo")
        .args(["install", "--list"])
        .output()
        .ok()?;
    parse_install_list(&String::from_utf8_lossy(&out.stdout), tool)
}

fn parse_install_list(list: &str, tool: &str) -> Option<String> {
    list.lines()
        .filter(|l| !l.starts_with(char::is_whitespace))
        .find_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            (name == tool).then(|| {
                rest.trim_end_matches(':')
                    .trim_start_matches('v')
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
}

/// Makes sure `tool` is installed at its pinned version, installing it
/// (timed) when it is missing or at another version. Returns whether it is
/// there; a failed install is an error under CI and a note elsewhere.
pub fn ensure(tool: Tool) -> Result<bool, String> {
    if installed_version(tool.name).as_deref() == Some(tool.version) {
        eprintln!(
            "\n==> [release-tools] {} {} is installed",
            tool.name, tool.version
        );
        return Ok(true);
    }
    let dir = target_dir().join("tool-install").join(tool.name);
    eprintln!(
        "\n==> [release-tools] cargo install --locked --debug {} --version {} (CARGO_TARGET_DIR={})",
        tool.name,
        tool.version,
        dir.display()
    );
    let started = Instant::now();
    // `--debug`: the dev profile. cargo-semver-checks' release profile is
    // fat LTO with one codegen unit (28 min on 2 cores); its dev profile
    // still optimizes every dependency (`[profile.dev.package."*"]
    // opt-level = 3`, where its query engine and rustdoc adapter live), so
    // the tool runs about as fast and builds in a fraction of the time
    // (docs/RELEASING.md has the figures). No debug info: only link time.
    let ok = Command::new("cargo")
        .args([
            "install",
            "--locked",
            "--debug",
            tool.name,
            "--version",
            tool.version,
        ])
        .env("CARGO_TARGET_DIR", &dir)
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .current_dir(project_root())
        .status()
        .is_ok_and(|s| s.success());
    eprintln!(
        "[release-tools] cargo install {} {}: {} in {:.0?}",
        tool.name,
        tool.version,
        if ok { "installed" } else { "FAILED" },
        started.elapsed()
    );
    if ok && installed_version(tool.name).as_deref() == Some(tool.version) {
        Ok(true)
    } else if on_ci() {
        Err(format!(
            "`{} {}` is needed (CI=true) and could not be installed",
            tool.name, tool.version
        ))
    } else {
        eprintln!(
            "note: `{} {}` is not installed; skipping what needs it",
            tool.name, tool.version
        );
        Ok(false)
    }
}

/// `cargo xtask release e2e`: installs the pinned tools, then runs the
/// release end-to-end test, timed. The test runs `release check --skip-ci`
/// (it proves the release flow, not the workspace's own tests).
pub fn release_e2e() -> Result<(), String> {
    ensure(HTTP_REGISTRY)?;
    ensure(SEMVER_CHECKS)?;
    eprintln!(
        "\n==> [release-e2e] cargo test --package xtask --test release_e2e -- --ignored --nocapture"
    );
    let started = Instant::now();
    let status = Command::new("cargo")
        .args([
            "test",
            "--package",
            "xtask",
            "--test",
            "release_e2e",
            "--",
            "--ignored",
            "--nocapture",
        ])
        .current_dir(project_root())
        .status()
        .map_err(|e| format!("step `release-e2e` could not start cargo: {e}"))?;
    eprintln!("[release-e2e] {status} in {:.0?}", started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `release-e2e` failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_installed_version_from_cargo_install_list() {
        let list = "cargo-http-registry v0.1.8:\n    cargo-http-registry\n\
                    cargo-semver-checks v0.51.0:\n    cargo-semver-checks\n\
                    ripgrep v14.1.0 (/src/ripgrep):\n    rg\n";
        assert_eq!(
            parse_install_list(list, "cargo-semver-checks").as_deref(),
            Some("0.51.0")
        );
        assert_eq!(
            parse_install_list(list, "cargo-http-registry").as_deref(),
            Some("0.1.8")
        );
        assert_eq!(
            parse_install_list(list, "ripgrep").as_deref(),
            Some("14.1.0")
        );
        assert_eq!(parse_install_list(list, "cargo-http"), None);
        assert_eq!(parse_install_list("", "cargo-semver-checks"), None);
    }
}
