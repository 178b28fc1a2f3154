//! The release flow end to end, against a real local registry server
//! (`cargo-http-registry` on 127.0.0.1), on a temporary clone of the
//! workspace's committed state.
//!
//! It is `#[ignore]`d for plain `cargo test`; `cargo xtask release e2e`
//! (`xtask/src/peer_release.rs`) installs the pinned tools and runs it with
//! `cargo test -p xtask --test release_e2e -- --ignored --nocapture`. It is
//! not a step of `cargo xtask ci` (docs/RELEASING.md has the timings).
//!
//! Speed: the clone always lives at `target/release-e2e/ws` and every cargo
//! command of the test (the release commands, `cargo package` verification,
//! cargo-semver-checks, the consumer build) shares one target directory,
//! `target/release-e2e/cache`, so third-party dependencies are compiled once
//! and reused across phases and runs. Before each run the cached artifacts of
//! the workspace's own crates are dropped, so nothing stale of them is reused.
//! The release `check` runs with `--skip-ci` (it runs inside ci; `cargo xtask
//! ci` would recurse), and both `check` runs semver-check only the crate the
//! test changes (`--semver-package agents-core`): a plain `check` covers
//! every crate (a unit test in `xtask/src/release.rs` holds that), and
//! running it here would build the baseline and current rustdoc of all of
//! them for no extra proof of the flow.
//!
//! Without `cargo-http-registry` or `cargo-semver-checks` the test skips with
//! a note, except under `CI=true`, where a missing tool fails it.

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
    // No incremental state (every run compiles the clone afresh) and no
    // debug info: the same for every phase, so the shared cache serves all.
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", cache)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_DEBUG", "0");
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

/// The publishable crates of the workspace at `dir` (`publish` not
/// `false`), from `cargo metadata`: the test follows the workspace as crates
/// are added.
fn publishable_crates(dir: &Path, cache: &Path) -> Vec<String> {
    let out = command("cargo", dir, cache)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let mut names: Vec<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|r| !r.is_empty()))
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Drops the cached artifacts of the workspace's own crates from the shared
/// target directory. Path crates are rebuilt anyway (their sources are new),
/// but the copies built from a registry (cargo package's overlay, the local
/// registry) are keyed by name and version only, and the version repeats
/// from run to run: without this, a later run could reuse a stale build.
fn forget_workspace_crates(cache: &Path, names: &[String]) {
    fn visit(dir: &Path, names: &[String], depth: usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let file = entry.file_name().to_string_lossy().into_owned();
            if file == ".fingerprint" {
                for unit in fs::read_dir(&path).into_iter().flatten().flatten() {
                    let unit_name = unit.file_name().to_string_lossy().into_owned();
                    let is_ours = unit_name.rsplit_once('-').is_some_and(|(name, hash)| {
                        hash.len() == 16 && names.iter().any(|n| n == name)
                    });
                    if is_ours {
                        let _ = fs::remove_dir_all(unit.path());
                    }
                }
            } else if depth > 0 && !matches!(file.as_str(), "deps" | "build" | "incremental") {
                visit(&path, names, depth - 1);
            }
        }
    }
    visit(cache, names, 6);
}

/// Bumps the patch part of `X.Y.Z`.
fn next_patch(version: &str) -> String {
    let parts: Vec<u64> = version
        .split('.')
        .map(|p| p.parse().expect("numeric version"))
        .collect();
    format!("{}.{}.{}", parts[0], parts[1], parts[2] + 1)
}

const PROBE: &str =
    "\n/// Present in the baseline release only.\npub fn release_probe() -> u8 {\n    1\n}\n";

#[test]
#[ignore = "minutes long; run by `cargo xtask release e2e`"]
fn release_bump_changelog_check_publish_and_consume_from_a_local_registry() {
    let started = Instant::now();
    for tool in ["cargo-http-registry", "cargo-semver-checks"] {
        if !has_tool(tool) {
            assert!(!on_ci(), "{tool} is required under CI=true");
            eprintln!("note: {tool} not installed; the release end-to-end test is skipped");
            return;
        }
    }

    let main = main_root();
    let base = main.join("target/release-e2e");
    let cache = base.join("cache");
    let clone = base.join("ws");
    let registry_dir = base.join("registry");
    let consumer = base.join("consumer");
    for dir in [&clone, &registry_dir, &consumer] {
        let _ = fs::remove_dir_all(dir);
    }
    fs::create_dir_all(&base).unwrap();
    // The committed state of this checkout, or of the git repository named
    // by AGENTS_RELEASE_E2E_SOURCE (to try the flow on another commit).
    let source = std::env::var_os("AGENTS_RELEASE_E2E_SOURCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| main.clone());
    let out = Command::new("git")
        .args(["clone", "-q"])
        .arg(&source)
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
    // Only the tags this test makes: the first is the "previous release".
    for tag in env.git(&["tag", "-l"]).lines() {
        env.git(&["tag", "-d", tag]);
    }
    let crates = publishable_crates(&clone, &cache);
    assert!(
        crates.iter().any(|c| c == "agents") && crates.iter().any(|c| c == "agents-core"),
        "publishable crates: {crates:?}"
    );
    forget_workspace_crates(&cache, &crates);
    // cargo-semver-checks extracts the baseline tag's tree here; start clean.
    let _ = fs::remove_dir_all(cache.join("semver-checks"));
    let manifest_text = fs::read_to_string(clone.join("Cargo.toml")).unwrap();
    let v0 = manifest_text
        .split("[workspace.package]")
        .nth(1)
        .and_then(|t| t.lines().find(|l| l.starts_with("version = ")))
        .map(|l| {
            l.trim_start_matches("version = ")
                .trim_matches('"')
                .to_owned()
        })
        .expect("[workspace.package] version");
    let v1 = next_patch(&v0);
    let v2 = next_patch(&v1);
    eprintln!("crates: {crates:?}; versions {v0} (baseline) -> {v1} -> {v2}");

    let (_registry, api) = start_registry(&registry_dir);
    let registry_config = format!(
        "\n[registries.local]\nindex = \"{api}/git\"\ntoken = \"local-test-token\"\n\n[net]\ngit-fetch-with-cli = true\n"
    );
    let config = clone.join(".cargo/config.toml");
    let mut text = fs::read_to_string(&config).unwrap_or_default();
    text.push_str(&registry_config);
    fs::write(&config, text).unwrap();
    // The clone publishes to `local`: its internal requirements name that
    // registry (crates.io needs no such key).
    let text: String = manifest_text
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
    fs::write(clone.join("Cargo.toml"), text).unwrap();
    // So do the versioned path dependencies declared in member manifests.
    for entry in fs::read_dir(clone.join("crates")).unwrap().flatten() {
        let member = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&member) else {
            continue;
        };
        let edited: String = text
            .lines()
            .map(|l| {
                if l.contains("path = \"../") && l.contains("version = ") {
                    l.replacen(" }", ", registry = \"local\" }", 1)
                } else {
                    l.to_owned()
                }
            })
            .map(|l| l + "\n")
            .collect();
        if edited != text {
            fs::write(&member, edited).unwrap();
        }
    }
    // Cargo.lock follows the manifests (a commit may have left it behind;
    // `release check` itself packages with --locked).
    let out = command("cargo", &clone, &cache)
        .args(["update", "--workspace"])
        .output()
        .unwrap();
    show("cargo update --workspace", &out);
    assert!(
        out.status.success(),
        "cargo update --workspace in the clone"
    );
    env.commit_all("chore: publish to the local test registry");
    // The previous release, the semver baseline of the next one.
    env.git(&["tag", "-a", &format!("v{v0}"), "-m", "the baseline release"]);
    // A change for the changelog: agents-core gets a public fn (an addition,
    // fine in a patch release of a 0.x crate), which the last phase removes.
    let lib = clone.join("crates/agents-core/src/lib.rs");
    let mut core = fs::read_to_string(&lib).unwrap();
    core.push_str(PROBE);
    fs::write(&lib, core).unwrap();
    env.commit_all("feat(core): release_probe");

    // A dirty tree: bump and check refuse.
    let phase = Instant::now();
    fs::write(clone.join("stray.txt"), "not committed").unwrap();
    let (ok, out) = env.release(&["bump", "patch"], &[]);
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
    let phase = Instant::now();
    let (ok, out) = env.release(&["bump", "patch"], &[]);
    assert!(ok, "bump patch failed:\n{out}");
    let manifest = fs::read_to_string(clone.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("version = \"{v1}\"\nedition")),
        "workspace version bumped:\n{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "agents-core = {{ path = \"crates/agents-core\", version = \"{v1}\", registry = \"local\" }}"
        )),
        "internal requirement bumped, formatting kept:\n{manifest}"
    );
    let lock = fs::read_to_string(clone.join("Cargo.lock")).unwrap();
    for name in &crates {
        assert!(
            lock.contains(&format!("name = \"{name}\"\nversion = \"{v1}\"")),
            "Cargo.lock updated for {name}"
        );
    }
    let (ok, out) = env.release(&["changelog"], &[]);
    assert!(ok, "changelog failed:\n{out}");
    let changelog = fs::read_to_string(clone.join("CHANGELOG.md")).unwrap();
    let section = changelog
        .split(&format!("## [{v1}] - "))
        .nth(1)
        .and_then(|t| t.split("\n## [").next())
        .unwrap_or_else(|| panic!("no {v1} section:\n{changelog}"));
    assert!(
        section.contains("### Added\n\n- `agents-core`: release_probe"),
        "the feat commit is an Added entry of agents-core:\n{section}"
    );
    assert!(
        !section.contains("local test registry"),
        "chore commits stay out:\n{section}"
    );
    let (ok, out) = env.release(&["changelog"], &[]);
    assert!(
        !ok && out.contains(&format!("already has a section for {v1}")),
        "second changelog must refuse"
    );
    assert_eq!(
        fs::read_to_string(clone.join("CHANGELOG.md")).unwrap(),
        changelog
    );
    env.commit_all(&format!("chore(release): {v1}"));
    eprintln!("phase bump-changelog: {:.0?}", phase.elapsed());

    // check: semver against the baseline tag, packages verified in order,
    // docs, each feature alone. Only agents-core changed, so only it is
    // semver-checked (`check` without --semver-package checks every crate; a
    // unit test in release.rs covers that choice), which keeps the test from
    // building the rustdoc of every crate twice.
    let phase = Instant::now();
    let (ok, out) = env.release(
        &[
            "check",
            "--skip-ci",
            "--registry",
            "local",
            "--semver-package",
            "agents-core",
        ],
        &[],
    );
    assert!(ok, "check failed:\n{out}");
    assert!(
        out.contains(&format!(
            "semver-checks check-release --baseline-rev v{v0} --package agents-core --release-type patch"
        )),
        "check ran cargo-semver-checks against the baseline tag"
    );
    assert!(
        out.contains(&format!("Checking agents-core v{v0} -> v{v1}")),
        "cargo-semver-checks checked agents-core"
    );
    for name in &crates {
        assert!(
            out.contains(&format!("Verifying {name} v{v1}")),
            "cargo package verified {name}"
        );
    }
    assert!(out.contains("note: --skip-ci"), "ci is skipped with a note");
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
    let first: Vec<&String> = crates
        .iter()
        .filter(|n| !index_versions(&registry_dir, n).is_empty())
        .collect();
    assert_eq!(first.len(), 1, "only the first crate went out: {first:?}");
    let first = first[0].clone();
    assert_eq!(index_versions(&registry_dir, &first), [v1.as_str()]);
    let (ok, out) = env.release(&["publish", "--registry", "local"], &[]);
    assert!(ok, "resumed publish failed:\n{out}");
    assert!(out.contains(&format!(
        "{first} {v1}: already published by this release, skipped"
    )));
    for name in &crates {
        assert_eq!(
            index_versions(&registry_dir, name),
            [v1.as_str()],
            "{name} published exactly once"
        );
    }
    let tag = format!("v{v1}");
    assert_eq!(env.git(&["tag", "-l", &tag]).trim(), tag);
    assert_eq!(
        env.git(&["cat-file", "-t", &tag]).trim(),
        "tag",
        "annotated tag"
    );
    // A version already in the registry that this release did not publish.
    fs::remove_file(clone.join("target/release-publish-state.json")).unwrap();
    let (ok, out) = env.release(&["publish", "--registry", "local"], &[]);
    assert!(
        !ok && out.contains(&format!("{first} {v1} already exists"))
            && out.contains("bump the version"),
        "republish must refuse"
    );
    assert_eq!(index_versions(&registry_dir, &first), [v1.as_str()]);
    eprintln!("phase publish: {:.0?}", phase.elapsed());

    // A fresh project depends on `agents` from the registry by version only.
    // Its lockfile starts from the workspace's, so the third-party versions
    // are the ones `check` verified (and built, in the shared cache); cargo
    // resolves the `agents` crates from the registry and drops the rest.
    let phase = Instant::now();
    fs::create_dir_all(consumer.join("src")).unwrap();
    fs::create_dir_all(consumer.join(".cargo")).unwrap();
    fs::write(consumer.join(".cargo/config.toml"), &registry_config).unwrap();
    fs::copy(clone.join("Cargo.lock"), consumer.join("Cargo.lock")).unwrap();
    fs::write(
        consumer.join("Cargo.toml"),
        format!(
            "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n\
             [dependencies]\nagents = {{ version = \"={v1}\", registry = \"local\", features = [\"testing\"] }}\n\
             tokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n"
        ),
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
    for name in ["agents", "agents-core", "agents-runner"] {
        assert!(
            lock.contains(&format!(
                "name = \"{name}\"\nversion = \"{v1}\"\nsource = \"registry+http://127.0.0.1:"
            )),
            "{name} came from the local registry:\n{lock}"
        );
    }
    eprintln!("phase consumer: {:.0?}", phase.elapsed());

    // A breaking change without a major bump: check fails, naming the item.
    // Only agents-core changed, so only it is semver-checked.
    let phase = Instant::now();
    let core = fs::read_to_string(&lib).unwrap();
    let removed = core.replace(PROBE, "");
    assert_ne!(core, removed);
    fs::write(&lib, removed).unwrap();
    env.commit_all("remove(core)!: release_probe");
    let (ok, out) = env.release(&["bump", "patch"], &[]);
    assert!(ok, "bump patch failed:\n{out}");
    env.commit_all(&format!("chore(release): {v2}"));
    let (ok, out) = env.release(
        &[
            "check",
            "--skip-ci",
            "--registry",
            "local",
            "--semver-package",
            "agents-core",
        ],
        &[],
    );
    assert!(
        !ok,
        "a breaking change in a patch release must fail check:\n{out}"
    );
    assert!(
        out.contains(&format!(
            "{v1} -> {v2} is a patch release, but the API has breaking changes"
        )),
        "{out}"
    );
    assert!(
        out.contains("function agents_core::release_probe"),
        "check must name the removed item:\n{out}"
    );
    assert!(
        !out.contains("Verifying "),
        "check stops at semver, before packaging"
    );
    eprintln!("phase breaking-change: {:.0?}", phase.elapsed());

    let _ = fs::remove_dir_all(&clone);
    let _ = fs::remove_dir_all(&consumer);
    eprintln!("release end-to-end test: {:.0?}", started.elapsed());
}
