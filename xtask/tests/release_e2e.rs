//! The release flow end to end, against a real local registry server
//! (`cargo-http-registry` on 127.0.0.1), on a temporary clone of the
//! workspace's committed state.
//!
//! It is `#[ignore]`d because it takes minutes; `cargo xtask ci` runs it
//! (step `release-e2e`) with:
//! `cargo test -p xtask --test release_e2e -- --ignored --nocapture`.
//! The clones share one cargo target directory, `target/release-e2e/cache`,
//! so repeated runs reuse the compiled dependencies.
//!
//! Without `cargo-http-registry` (or `cargo-semver-checks`, for the
//! breaking-change phase) the test skips with a note, except under
//! `CI=true`, where a missing tool fails it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// Whether `tool --version` runs and names the tool (cargo-http-registry
/// prints its version but exits with 1).
fn has_tool(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || String::from_utf8_lossy(&o.stdout).starts_with(tool))
}

fn main_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A command with the outer cargo's per-crate variables removed, so the
/// nested cargo and xtask see the clone, not this test's crate.
fn command(program: &str, dir: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_EXE_")
            || matches!(
                key.as_str(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
                    | "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir).env("CARGO_TARGET_DIR", cache);
    cmd
}

fn show(what: &str, out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("---- {what}: {} ----\n{}", out.status, tail(&text, 60));
    text
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

struct Env {
    clone: PathBuf,
    cache: PathBuf,
}

impl Env {
    /// Runs `cargo xtask release <args>` in the clone.
    fn release(&self, args: &[&str], extra_env: &[(&str, &str)]) -> (bool, String) {
        let started = Instant::now();
        let out = command("cargo", &self.clone, &self.cache)
            .args(["xtask", "release"])
            .args(args)
            .envs(extra_env.iter().copied())
            .output()
            .expect("cargo runs");
        let what = format!("release {} ({:.0?})", args.join(" "), started.elapsed());
        let text = show(&what, &out);
        (out.status.success(), text)
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Release Test",
                "-c",
                "user.email=release@test.invalid",
            ])
            .args(args)
            .current_dir(&self.clone)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

/// The registry server, stopped when dropped.
struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `cargo-http-registry <dir>` and read its address from `config.json`.
fn start_registry(dir: &Path) -> (Registry, String) {
    let child = Command::new("cargo-http-registry")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo-http-registry starts");
    let registry = Registry(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = fs::read_to_string(dir.join("config.json")) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if let Some(api) = v["api"].as_str() {
                    assert!(
                        api.starts_with("http://127.0.0.1:"),
                        "registry must listen on 127.0.0.1: {api}"
                    );
                    return (registry, api.to_owned());
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "cargo-http-registry wrote no config.json"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The versions of `name` in the registry's index (one JSON line each).
fn index_versions(registry: &Path, name: &str) -> Vec<String> {
    let path = match name.len() {
        1 => registry.join("1").join(name),
        2 => registry.join("2").join(name),
        3 => registry.join("3").join(&name[..1]).join(name),
        _ => registry.join(&name[..2]).join(&name[2..4]).join(name),
    };
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["vers"].as_str().map(str::to_owned))
        .collect()
}

const CRATES: [&str; 7] = [
    "agents-core",
    "agents-macros",
    "agents-model-openai",
    "agents-runner",
    "agents-session-sqlite",
    "agents-mcp",
    "agents",
];

#[test]
#[ignore = "minutes long; run by `cargo xtask ci` (step release-e2e)"]
fn release_bump_changelog_check_publish_and_consume_from_a_local_registry() {
    let started = Instant::now();
    if !has_tool("cargo-http-registry") {
        assert!(!on_ci(), "cargo-http-registry is required under CI=true");
        eprintln!(
            "note: cargo-http-registry not installed; the release end-to-end test is skipped"
        );
        return;
    }
    let semver = has_tool("cargo-semver-checks");
    assert!(
        semver || !on_ci(),
        "cargo-semver-checks is required under CI=true"
    );

    let main = main_root();
    let cache = main.join("target/release-e2e/cache");
    let base = main.join(format!("target/release-e2e/run-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).unwrap();
    let clone = base.join("ws");
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&main)
        .arg(&clone)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git clone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = Env {
        clone: clone.clone(),
        cache: cache.clone(),
    };
    env.git(&["config", "user.name", "Release Test"]);
    env.git(&["config", "user.email", "release@test.invalid"]);

    let registry_dir = base.join("registry");
    let (_registry, api) = start_registry(&registry_dir);
    let registry_config = format!(
        "\n[registries.local]\nindex = \"{api}/git\"\ntoken = \"local-test-token\"\n\n[net]\ngit-fetch-with-cli = true\n"
    );
    let config = clone.join(".cargo/config.toml");
    let mut text = fs::read_to_string(&config).unwrap_or_default();
    text.push_str(&registry_config);
    fs::write(&config, text).unwrap();
    // The clone publishes to `local`: its internal requirements name that
    // registry (crates.io needs no such key), and agents-core gets a
    // public fn that a later phase removes.
    let manifest = clone.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.contains("path = \"crates/") {
                l.replacen(" }", ", registry = \"local\" }", 1)
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    fs::write(&manifest, text).unwrap();
    let lib = clone.join("crates/agents-core/src/lib.rs");
    let mut core = fs::read_to_string(&lib).unwrap();
    core.push_str(
        "\n/// Present in the baseline release only.\npub fn release_probe() -> u8 {\n    1\n}\n",
    );
    fs::write(&lib, core).unwrap();
    env.commit_all("chore: publish to the local test registry");

    // A dirty tree: bump and check refuse.
    let phase = Instant::now();
    fs::write(clone.join("stray.txt"), "not committed").unwrap();
    let (ok, out) = env.release(&["bump", "minor"], &[]);
    assert!(
        !ok && out.contains("needs a clean git tree") && out.contains("stray.txt"),
        "bump on a dirty tree"
    );
    let (ok, out) = env.release(&["check", "--skip-ci", "--registry", "local"], &[]);
    assert!(
        !ok && out.contains("needs a clean git tree"),
        "check on a dirty tree"
    );
    fs::remove_file(clone.join("stray.txt")).unwrap();
    eprintln!("phase dirty-tree: {:.0?}", phase.elapsed());

    // bump + changelog, then the release commit.
    let (ok, out) = env.release(&["bump", "minor"], &[]);
    assert!(ok, "bump minor failed:\n{out}");
    let manifest = fs::read_to_string(clone.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("version = \"0.2.0\"\nedition"),
        "workspace version bumped:\n{manifest}"
    );
    assert!(
        manifest.contains("agents-core = { path = \"crates/agents-core\", version = \"0.2.0\", registry = \"local\" }"),
        "internal requirement bumped, formatting kept:\n{manifest}"
    );
    let lock = fs::read_to_string(clone.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"agents-core\"\nversion = \"0.2.0\""),
        "Cargo.lock updated"
    );
    let (ok, out) = env.release(&["changelog"], &[]);
    assert!(ok, "changelog failed:\n{out}");
    let changelog = fs::read_to_string(clone.join("CHANGELOG.md")).unwrap();
    assert!(changelog.contains("## [0.2.0] - "), "{changelog}");
    assert!(changelog.contains("`agents-core`: "), "{changelog}");
    let (ok, out) = env.release(&["changelog"], &[]);
    assert!(
        !ok && out.contains("already has a section for 0.2.0"),
        "second changelog must refuse"
    );
    assert_eq!(
        fs::read_to_string(clone.join("CHANGELOG.md")).unwrap(),
        changelog
    );
    env.commit_all("chore(release): 0.2.0");

    // check (no tag yet: semver is skipped with a note).
    let phase = Instant::now();
    let (ok, out) = env.release(&["check", "--skip-ci", "--registry", "local"], &[]);
    assert!(ok, "check failed:\n{out}");
    assert!(out.contains("no release tag yet"), "semver skip is noted");
    assert!(
        out.contains("Verifying agents v0.2.0"),
        "cargo package verified the facade"
    );
    eprintln!("phase check: {:.0?}", phase.elapsed());

    // An interrupted publish, then resumed: none twice.
    let phase = Instant::now();
    let (ok, out) = env.release(
        &["publish", "--registry", "local"],
        &[("AGENTS_RELEASE_TEST_FAIL_AFTER", "1")],
    );
    assert!(
        !ok && out.contains("stopping after 1 crate"),
        "interrupted publish"
    );
    assert_eq!(index_versions(&registry_dir, "agents-core"), ["0.2.0"]);
    assert!(
        index_versions(&registry_dir, "agents").is_empty(),
        "only the first crate went out"
    );
    let (ok, out) = env.release(&["publish", "--registry", "local"], &[]);
    assert!(ok, "resumed publish failed:\n{out}");
    assert!(out.contains("agents-core 0.2.0: already published by this release, skipped"));
    for name in CRATES {
        assert_eq!(
            index_versions(&registry_dir, name),
            ["0.2.0"],
            "{name} published exactly once"
        );
    }
    assert_eq!(env.git(&["tag", "-l", "v0.2.0"]).trim(), "v0.2.0");
    assert_eq!(
        env.git(&["cat-file", "-t", "v0.2.0"]).trim(),
        "tag",
        "annotated tag"
    );
    // A version already in the registry that this release did not publish.
    fs::remove_file(clone.join("target/release-publish-state.json")).unwrap();
    let (ok, out) = env.release(&["publish", "--registry", "local"], &[]);
    assert!(
        !ok && out.contains("agents-core 0.2.0 already exists") && out.contains("bump the version"),
        "republish must refuse"
    );
    eprintln!("phase publish: {:.0?}", phase.elapsed());

    // A fresh project depends on `agents` from the registry by version only.
    let phase = Instant::now();
    let consumer = base.join("consumer");
    fs::create_dir_all(consumer.join("src")).unwrap();
    fs::create_dir_all(consumer.join(".cargo")).unwrap();
    fs::write(consumer.join(".cargo/config.toml"), &registry_config).unwrap();
    fs::write(
        consumer.join("Cargo.toml"),
        "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n\
         [dependencies]\nagents = { version = \"=0.2.0\", registry = \"local\", features = [\"testing\"] }\n\
         tokio = { version = \"1\", features = [\"rt\", \"macros\"] }\n",
    )
    .unwrap();
    fs::write(
        consumer.join("src/main.rs"),
        r#"use agents::prelude::*;
use agents::testing::ScriptedModel;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let model = ScriptedModel::new();
    model.push_text("Hello from the local registry.");
    let agent: Agent = Agent::builder("Greeter")
        .instructions("Greet.")
        .model(model.clone())
        .build();
    let result = Runner::run(&agent, "Hi", RunOptions::default())
        .await
        .expect("the scripted run succeeds");
    println!("final output: {}", result.final_output_text());
}
"#,
    )
    .unwrap();
    let out = command("cargo", &consumer, &cache)
        .args(["run", "--quiet"])
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    let text = show("consumer cargo run", &out);
    assert!(out.status.success(), "consumer failed:\n{text}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "final output: Hello from the local registry."
    );
    let lock = fs::read_to_string(consumer.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(
            "name = \"agents-runner\"\nversion = \"0.2.0\"\nsource = \"registry+http://127.0.0.1:"
        ),
        "internal crates came from the local registry:\n{lock}"
    );
    eprintln!("phase consumer: {:.0?}", phase.elapsed());

    // A breaking change without a major bump: check fails, naming the item.
    if semver {
        let phase = Instant::now();
        let core = fs::read_to_string(&lib).unwrap();
        let removed = core.replace("\n/// Present in the baseline release only.\npub fn release_probe() -> u8 {\n    1\n}\n", "");
        assert_ne!(core, removed);
        fs::write(&lib, removed).unwrap();
        env.commit_all("remove(core)!: release_probe");
        let (ok, out) = env.release(&["bump", "patch"], &[]);
        assert!(ok, "bump patch failed:\n{out}");
        env.commit_all("chore(release): 0.2.1");
        let (ok, out) = env.release(&["check", "--skip-ci", "--registry", "local"], &[]);
        assert!(
            !ok,
            "a breaking change in a patch release must fail check:\n{out}"
        );
        assert!(out.contains("breaking changes"), "{out}");
        assert!(
            out.contains("release_probe"),
            "check must name the removed item:\n{out}"
        );
        eprintln!("phase breaking-change: {:.0?}", phase.elapsed());
    } else {
        eprintln!("note: cargo-semver-checks not installed; the breaking-change phase is skipped");
    }

    let _ = fs::remove_dir_all(&base);
    eprintln!("release end-to-end test: {:.0?}", started.elapsed());
}
