//! `cargo xtask release <plan | bump | changelog | check | publish>`: the
//! release flow described in `docs/RELEASING.md`.
//!
//! It orchestrates cargo (`metadata`, `package`, `publish`, `info`, `doc`,
//! `check`), cargo-semver-checks and git; it re-implements none of them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::project_root;

const USAGE: &str = "\
usage: cargo xtask release <command>

commands:
  plan                         publishable crates, their versions, what changed since
                               the last `v*` tag, the publish order and the version
                               bump semver calls for
  bump <major|minor|patch|X.Y.Z>
                               sets the lockstep version of every crate (root
                               Cargo.toml) and updates Cargo.lock; needs a clean tree
  changelog                    writes this version's section of CHANGELOG.md from the
                               commits since the last tag
  check [--skip-ci] [--registry NAME] [--semver-package NAME]...
                               everything a publish needs: clean tree, cargo package
                               (for the registry publish will use), semver checks
                               against the last tag, docs, each feature alone, and
                               `cargo xtask ci` (--skip-ci and --semver-package: only
                               for the release end-to-end test)
  publish [--registry NAME] [--dry-run]
                               publishes in dependency order, waits for each crate in
                               the index, resumes after an interruption, tags vX.Y.Z
  e2e                          the end-to-end test of this flow against a local
                               cargo-http-registry (installs the pinned tools it
                               needs; not a step of `cargo xtask ci`, too slow cold)

See docs/RELEASING.md for the whole flow.";

/// Test-only hook: after this many crates are published, `publish` stops
/// with an error, as if interrupted (the release end-to-end test uses it).
const FAIL_AFTER_ENV: &str = "AGENTS_RELEASE_TEST_FAIL_AFTER";

/// Entry point of `cargo xtask release ...`.
pub fn release(args: &[String]) -> Result<(), String> {
    let Some(cmd) = args.first() else {
        return Err(USAGE.to_owned());
    };
    let rest = &args[1..];
    if cmd == "--help" || cmd == "-h" || cmd == "help" {
        println!("{USAGE}");
        return Ok(());
    }
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    match cmd.as_str() {
        "e2e" => {
            no_options(cmd, rest)?;
            crate::peer_release::release_e2e()
        }
        "plan" => {
            no_options(cmd, rest)?;
            plan()
        }
        "bump" => match rest {
            [level] => bump(level),
            _ => Err("usage: cargo xtask release bump <major|minor|patch|X.Y.Z>".into()),
        },
        "changelog" => {
            no_options(cmd, rest)?;
            changelog()
        }
        "check" => {
            let mut options = CheckOptions::default();
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--skip-ci" => options.skip_ci = true,
                    "--registry" => {
                        options.registry =
                            Some(it.next().ok_or("--registry needs a registry name")?.clone())
                    }
                    "--semver-package" => options.semver_packages.push(
                        it.next()
                            .ok_or("--semver-package needs a crate name")?
                            .clone(),
                    ),
                    other => return Err(format!("unknown check option `{other}`")),
                }
            }
            check(&options)
        }
        "publish" => {
            let mut registry = None;
            let mut dry_run = false;
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--dry-run" => dry_run = true,
                    "--registry" => {
                        registry =
                            Some(it.next().ok_or("--registry needs a registry name")?.clone())
                    }
                    other => return Err(format!("unknown publish option `{other}`")),
                }
            }
            publish(registry.as_deref(), dry_run)
        }
        other => Err(format!("unknown release command `{other}`\n\n{USAGE}")),
    }
}

fn no_options(cmd: &str, rest: &[String]) -> Result<(), String> {
    match rest.first() {
        Some(a) => Err(format!("`release {cmd}` takes no argument (got `{a}`)")),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- versions

/// A release version `MAJOR.MINOR.PATCH` (pre-releases are not used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    fn parse(s: &str) -> Result<Version, String> {
        let bad = || format!("`{s}` is not a version of the form X.Y.Z");
        let mut parts = s.trim().split('.');
        let mut next = || -> Result<u64, String> {
            let p = parts.next().ok_or_else(bad)?;
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let v = Version {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(v)
    }

    fn bumped(self, level: Level) -> Version {
        match level {
            Level::Major => Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
            },
            Level::Minor => Version {
                minor: self.minor + 1,
                patch: 0,
                ..self
            },
            Level::Patch => Version {
                patch: self.patch + 1,
                ..self
            },
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A semver bump level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Patch,
    Minor,
    Major,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        })
    }
}

/// The bump semver calls for, given whether the changes break the API and
/// whether they add to it. Cargo reads `0.y.z` with `y` as the major part,
/// so before 1.0 a breaking change is a minor bump and an addition a patch.
fn required_level(current: Version, breaking: bool, feature: bool) -> Level {
    let level = if breaking {
        Level::Major
    } else if feature {
        Level::Minor
    } else {
        Level::Patch
    };
    if current.major == 0 {
        match level {
            Level::Major => Level::Minor,
            _ => Level::Patch,
        }
    } else {
        level
    }
}

/// True when going from `old` to `new` allows breaking changes under
/// Cargo's semver rules (`0.y` counts `y` as the major part).
fn allows_breaking(old: Version, new: Version) -> bool {
    if old.major == 0 && new.major == 0 {
        new.minor > old.minor
    } else {
        new.major > old.major
    }
}

// ------------------------------------------------------------- workspace

/// One workspace crate, from `cargo metadata`.
#[derive(Clone, Debug)]
struct Crate {
    name: String,
    version: String,
    /// Directory of the crate, relative to the workspace root (`crates/x`).
    dir: String,
    publish: bool,
    features: Vec<String>,
    has_default: bool,
    /// Workspace crates this one needs published first.
    deps: BTreeSet<String>,
}

fn cargo_metadata(root: &Path) -> Result<Value, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: bad JSON: {e}"))
}

/// The workspace crates described by `cargo metadata` output, with the
/// edges that order publishing: normal, build, and versioned dev
/// dependencies on other workspace crates (a path-only dev-dependency is
/// stripped by `cargo publish`, so it does not order anything).
fn crates_from_metadata(meta: &Value, root: &Path) -> Result<Vec<Crate>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages`")?;
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut out = Vec::new();
    for p in packages {
        let name = p["name"]
            .as_str()
            .ok_or("cargo metadata: package without a name")?;
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .parent()
            .and_then(|d| d.strip_prefix(root).ok())
            .map(|d| d.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let publish = !matches!(&p["publish"], Value::Array(a) if a.is_empty());
        let feature_map = p["features"].as_object();
        let has_default = feature_map.is_some_and(|m| m.contains_key("default"));
        let mut features: Vec<String> = feature_map
            .map(|m| m.keys().filter(|k| *k != "default").cloned().collect())
            .unwrap_or_default();
        features.sort();
        let mut deps = BTreeSet::new();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let Some(dep) = d["name"].as_str() else {
                continue;
            };
            if dep == name || !names.contains(dep) {
                continue;
            }
            let versioned = d["req"].as_str().is_some_and(|r| r != "*");
            let orders = match d["kind"].as_str() {
                None | Some("normal") | Some("build") => true,
                Some("dev") => versioned,
                Some(_) => false,
            };
            if orders {
                deps.insert(dep.to_owned());
            }
        }
        out.push(Crate {
            name: name.to_owned(),
            version: p["version"].as_str().unwrap_or_default().to_owned(),
            dir,
            publish,
            features,
            has_default,
            deps,
        });
    }
    Ok(out)
}

/// The publishable crates in publish order: each after the crates it
/// depends on (a topological order; ties broken by name so it is stable).
fn publish_order(crates: &[Crate]) -> Result<Vec<Crate>, String> {
    let publishable: BTreeMap<&str, &Crate> = crates
        .iter()
        .filter(|c| c.publish)
        .map(|c| (c.name.as_str(), c))
        .collect();
    for c in publishable.values() {
        if let Some(bad) = c
            .deps
            .iter()
            .find(|d| !publishable.contains_key(d.as_str()) && crates.iter().any(|o| &o.name == *d))
        {
            return Err(format!(
                "`{}` depends on `{bad}`, which is `publish = false`: it cannot be published",
                c.name
            ));
        }
    }
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < publishable.len() {
        let ready: Vec<&str> = publishable
            .values()
            .filter(|c| !done.contains(c.name.as_str()))
            .filter(|c| c.deps.iter().all(|d| done.contains(d.as_str())))
            .map(|c| c.name.as_str())
            .collect();
        if ready.is_empty() {
            let left: Vec<&str> = publishable
                .keys()
                .copied()
                .filter(|n| !done.contains(n))
                .collect();
            return Err(format!(
                "the workspace crates form a dependency cycle: {}",
                left.join(", ")
            ));
        }
        for name in ready {
            done.insert(name);
            order.push(publishable[name].clone());
        }
    }
    Ok(order)
}

struct Workspace {
    root: PathBuf,
    crates: Vec<Crate>,
    version: Version,
}

impl Workspace {
    fn load() -> Result<Workspace, String> {
        let root = project_root();
        let meta = cargo_metadata(&root)?;
        let crates = crates_from_metadata(&meta, &root)?;
        let manifest = read_manifest(&root)?;
        let version = manifest
            .get("workspace")
            .and_then(|w| w.get("package"))
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str())
            .ok_or("the root Cargo.toml has no [workspace.package] version")?;
        Ok(Workspace {
            version: Version::parse(version)?,
            root,
            crates,
        })
    }

    fn order(&self) -> Result<Vec<Crate>, String> {
        publish_order(&self.crates)
    }
}

fn read_manifest(root: &Path) -> Result<toml_edit::DocumentMut, String> {
    let path = root.join("Cargo.toml");
    let text =
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))
}

// ------------------------------------------------------------------- git

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The most recent `vX.Y.Z` tag reachable from HEAD, if any.
fn last_tag(root: &Path) -> Option<String> {
    git(
        root,
        &["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*"],
    )
    .ok()
    .map(|s| s.trim().to_owned())
    .filter(|s| !s.is_empty())
}

fn require_clean_tree(root: &Path, what: &str) -> Result<(), String> {
    let status = git(root, &["status", "--porcelain"])?;
    if status.trim().is_empty() {
        Ok(())
    } else {
        let files: Vec<&str> = status.lines().take(10).collect();
        Err(format!(
            "`release {what}` needs a clean git tree; commit or remove these changes first:\n{}",
            files.join("\n")
        ))
    }
}

/// One commit: its subject, body and the files it touches.
#[derive(Debug, Default)]
struct Commit {
    subject: String,
    body: String,
    files: Vec<String>,
}

/// The commits after `since` (all of them when there is no tag), oldest
/// first, merges left out.
fn commits_since(root: &Path, since: Option<&str>) -> Result<Vec<Commit>, String> {
    let range = since.map(|t| format!("{t}..HEAD"));
    let mut args = vec![
        "log",
        "--no-merges",
        "--reverse",
        "--name-only",
        "--format=%x1e%s%x1f%b%x1f",
    ];
    if let Some(r) = &range {
        args.push(r);
    }
    let out = git(root, &args)?;
    let mut commits = Vec::new();
    for record in out.split('\u{1e}').filter(|r| !r.trim().is_empty()) {
        let mut parts = record.splitn(3, '\u{1f}');
        let subject = parts.next().unwrap_or_default().trim().to_owned();
        let body = parts.next().unwrap_or_default().trim().to_owned();
        let files = parts
            .next()
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        commits.push(Commit {
            subject,
            body,
            files,
        });
    }
    Ok(commits)
}

// -------------------------------------------------------- commit convention

/// The Keep a Changelog kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Added,
    Changed,
    Deprecated,
    Removed,
    Fixed,
    Security,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Added,
        Kind::Changed,
        Kind::Deprecated,
        Kind::Removed,
        Kind::Fixed,
        Kind::Security,
    ];

    fn title(self) -> &'static str {
        match self {
            Kind::Added => "Added",
            Kind::Changed => "Changed",
            Kind::Deprecated => "Deprecated",
            Kind::Removed => "Removed",
            Kind::Fixed => "Fixed",
            Kind::Security => "Security",
        }
    }
}

/// What a commit message says, read by the project's convention
/// (docs/RELEASING.md, "Commit messages").
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// `None`: not a user-visible change (`test`, `ci`, `chore`).
    kind: Option<Kind>,
    breaking: bool,
    summary: String,
}

/// Reads a commit message. Conventional Commits first
/// (`type(scope)!: summary`, `BREAKING CHANGE:` in the body); otherwise the
/// older `Scope: summary` form (or a bare summary), whose kind comes from
/// its first verb.
fn classify(subject: &str, body: &str) -> Entry {
    let breaking_footer = body
        .lines()
        .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
    if let Some((head, summary)) = subject.split_once(": ") {
        let bang = head.ends_with('!');
        let head = head.trim_end_matches('!');
        let ty = head.split_once('(').map_or(
            head,
            |(t, scope)| {
                if scope.ends_with(')') {
                    t
                } else {
                    ""
                }
            },
        );
        let kind = match ty {
            "feat" => Some(Some(Kind::Added)),
            "fix" => Some(Some(Kind::Fixed)),
            "perf" | "refactor" | "docs" | "style" | "build" | "change" => {
                Some(Some(Kind::Changed))
            }
            "deprecate" => Some(Some(Kind::Deprecated)),
            "remove" => Some(Some(Kind::Removed)),
            "security" => Some(Some(Kind::Security)),
            "test" | "ci" | "chore" => Some(None),
            _ => None,
        };
        if let Some(kind) = kind {
            return Entry {
                kind,
                breaking: bang || breaking_footer,
                summary: summary.trim().to_owned(),
            };
        }
        // `Scope: summary`: the kind comes from the summary's first verb.
        if !head.is_empty() && head.split_whitespace().count() <= 4 {
            return Entry {
                kind: Some(kind_from_verb(summary)),
                breaking: breaking_footer,
                summary: format!("{head}: {}", summary.trim()),
            };
        }
    }
    Entry {
        kind: Some(kind_from_verb(subject)),
        breaking: breaking_footer,
        summary: subject.trim().to_owned(),
    }
}

fn kind_from_verb(summary: &str) -> Kind {
    let first = summary
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    match first.as_str() {
        "add" | "adds" | "added" | "introduce" | "introduces" | "new" | "support" | "supports" => {
            Kind::Added
        }
        "fix" | "fixes" | "fixed" | "correct" | "corrects" => Kind::Fixed,
        "remove" | "removes" | "removed" | "drop" | "drops" | "delete" | "deletes" => Kind::Removed,
        "deprecate" | "deprecates" | "deprecated" => Kind::Deprecated,
        "security" => Kind::Security,
        _ => Kind::Changed,
    }
}

/// The crates a commit touches (by directory), or `workspace` when it
/// touches none of the publishable crates.
fn crates_touched(commit: &Commit, crates: &[Crate]) -> Vec<String> {
    let mut names = BTreeSet::new();
    for f in &commit.files {
        for c in crates.iter().filter(|c| c.publish && !c.dir.is_empty()) {
            if f.starts_with(&format!("{}/", c.dir)) {
                names.insert(c.name.clone());
            }
        }
    }
    if names.is_empty() {
        vec!["workspace".to_owned()]
    } else {
        names.into_iter().collect()
    }
}

// -------------------------------------------------------------- changelog

/// The CHANGELOG.md section for `version`: Keep a Changelog kinds, each
/// entry prefixed by the crates it touches, grouped by crate.
fn changelog_section(version: Version, date: &str, commits: &[Commit], crates: &[Crate]) -> String {
    let mut groups: BTreeMap<Kind, Vec<(String, String)>> = BTreeMap::new();
    for c in commits {
        let entry = classify(&c.subject, &c.body);
        let Some(kind) = entry.kind else { continue };
        let scope = crates_touched(c, crates).join(", ");
        let text = if entry.breaking {
            format!("**Breaking:** {}", entry.summary)
        } else {
            entry.summary
        };
        groups.entry(kind).or_default().push((scope, text));
    }
    let mut out = format!("## [{version}] - {date}\n");
    for kind in Kind::ALL {
        let Some(entries) = groups.get_mut(&kind) else {
            continue;
        };
        // Grouped by crate; within a crate, in commit order (stable sort).
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        out.push_str(&format!("\n### {}\n\n", kind.title()));
        for (scope, text) in entries.iter() {
            out.push_str(&format!("- `{scope}`: {text}\n"));
        }
    }
    if groups.is_empty() {
        out.push_str("\nNo user-visible changes.\n");
    }
    out
}

const CHANGELOG_HEADER: &str = "# Changelog

All notable changes to this project are documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
The sections are written by `cargo xtask release changelog` from the commit
messages (see docs/RELEASING.md); edit them by hand before the release commit
if needed.
";

/// Inserts `section` above the newest existing section, leaving the others
/// untouched. Refuses when the version's section already exists.
fn insert_section(existing: &str, version: Version, section: &str) -> Result<String, String> {
    if existing
        .lines()
        .any(|l| l.starts_with(&format!("## [{version}]")))
    {
        return Err(format!(
            "CHANGELOG.md already has a section for {version}; bump the version first, \
             or remove that section to write it again"
        ));
    }
    if existing.trim().is_empty() {
        return Ok(format!("{CHANGELOG_HEADER}\n{section}"));
    }
    match existing.find("\n## [") {
        Some(at) => Ok(format!(
            "{}\n{section}\n{}",
            &existing[..at + 1],
            &existing[at + 1..]
        )),
        None => Ok(format!("{}\n\n{section}", existing.trim_end())),
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    civil_from_days(days)
}

/// Days since 1970-01-01 to a `YYYY-MM-DD` date (proleptic Gregorian).
fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn changelog() -> Result<(), String> {
    let ws = Workspace::load()?;
    let tag = last_tag(&ws.root);
    let commits = commits_since(&ws.root, tag.as_deref())?;
    let section = changelog_section(ws.version, &today(), &commits, &ws.crates);
    let path = ws.root.join("CHANGELOG.md");
    let existing = fs::read_to_string(&path).unwrap_or_default();
    let updated = insert_section(&existing, ws.version, &section)?;
    fs::write(&path, updated).map_err(|e| format!("cannot write CHANGELOG.md: {e}"))?;
    println!(
        "CHANGELOG.md: wrote the {} section from {} commit(s) since {}",
        ws.version,
        commits.len(),
        tag.as_deref().unwrap_or("the first commit")
    );
    Ok(())
}

// ------------------------------------------------------------------- plan

fn plan() -> Result<(), String> {
    let ws = Workspace::load()?;
    let order = ws.order()?;
    let tag = last_tag(&ws.root);
    let since = tag.as_deref().unwrap_or("the first commit");
    println!(
        "workspace version {} (lockstep), last release tag: {}",
        ws.version,
        tag.as_deref().unwrap_or("none")
    );
    println!("\npublish order:");
    for (i, c) in order.iter().enumerate() {
        let range = tag.as_ref().map(|t| format!("{t}..HEAD"));
        let mut args = vec!["log", "--oneline", "--no-merges"];
        if let Some(r) = &range {
            args.push(r);
        }
        args.extend(["--", c.dir.as_str()]);
        let log = git(&ws.root, &args)?;
        let n = log.lines().count();
        let after = if c.deps.is_empty() {
            String::new()
        } else {
            format!(
                " (after {})",
                c.deps.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        println!(
            "  {}. {} {}{after}: {n} commit(s) since {since}",
            i + 1,
            c.name,
            c.version
        );
        for line in log.lines().take(5) {
            println!("       {line}");
        }
        if n > 5 {
            println!("       ... and {} more", n - 5);
        }
    }
    let commits = commits_since(&ws.root, tag.as_deref())?;
    let entries: Vec<Entry> = commits
        .iter()
        .map(|c| classify(&c.subject, &c.body))
        .collect();
    let mut breaking = entries.iter().any(|e| e.breaking);
    let feature = entries.iter().any(|e| e.kind == Some(Kind::Added));
    match (&tag, tool_available("cargo-semver-checks")) {
        (None, _) => println!("\nsemver-checks: no release tag yet, nothing to compare against"),
        (Some(_), false) => println!("\nsemver-checks: not installed (cargo install --locked cargo-semver-checks); using the commit messages only"),
        (Some(t), true) => {
            let names: Vec<&str> = order.iter().map(|c| c.name.as_str()).collect();
            // The largest release type that still forbids breaking changes.
            let within = if ws.version.major == 0 {
                Level::Patch
            } else {
                Level::Minor
            };
            let (ok, _) = semver_checks(&ws.root, t, &names, Some(within))?;
            println!("\nsemver-checks against {t}: {}", if ok { "no breaking change" } else { "breaking changes found" });
            breaking |= !ok;
        }
    }
    let level = required_level(ws.version, breaking, feature);
    println!(
        "\n{} commit(s) since {since}: breaking: {breaking}, additions: {feature}",
        commits.len()
    );
    println!(
        "suggested bump: {level} ({} -> {}): cargo xtask release bump {level}",
        ws.version,
        ws.version.bumped(level)
    );
    Ok(())
}

// ------------------------------------------------------------------- bump

/// Sets `[workspace.package] version` and the `version` of every internal
/// `[workspace.dependencies]` entry (those with `path = "crates/..."`) in
/// the root manifest's text, keeping its formatting.
fn bump_manifest(text: &str, new: Version) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("the root Cargo.toml is not valid TOML: {e}"))?;
    let new_s = new.to_string();
    let package = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.as_table_like_mut())
        .ok_or("the root Cargo.toml has no [workspace.package] table")?;
    let Some(version) = package.get_mut("version") else {
        return Err("[workspace.package] has no version".into());
    };
    let decor = version.as_value().map(|v| v.decor().clone());
    *version = toml_edit::value(new_s.clone());
    if let (Some(d), Some(v)) = (decor, version.as_value_mut()) {
        *v.decor_mut() = d;
    }
    let deps = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(|d| d.as_table_like_mut())
        .ok_or("the root Cargo.toml has no [workspace.dependencies] table")?;
    let mut internal = 0;
    for (_, dep) in deps.iter_mut() {
        let Some(table) = dep.as_table_like_mut() else {
            continue;
        };
        let is_internal = table
            .get("path")
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.starts_with("crates/"));
        if !is_internal {
            continue;
        }
        internal += 1;
        match table.get_mut("version").and_then(|v| v.as_value_mut()) {
            Some(v) => {
                let decor = v.decor().clone();
                *v = toml_edit::Value::from(new_s.clone());
                *v.decor_mut() = decor;
            }
            None => {
                table.insert("version", toml_edit::value(new_s.clone()));
            }
        }
    }
    if internal == 0 {
        return Err("no internal crate (path = \"crates/...\") in [workspace.dependencies]".into());
    }
    Ok(doc.to_string())
}

/// Sets the `version` of every internal path dependency declared directly
/// in a member manifest (`{ path = "../agents-mcp", version = "..." }`, used
/// where a crate needs keys `workspace = true` cannot carry), in the normal,
/// dev, build and target-specific dependency tables. Returns the new text,
/// or `None` when nothing changed. Formatting is kept.
fn bump_member_manifest(
    text: &str,
    internal: &BTreeSet<String>,
    new: Version,
) -> Result<Option<String>, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("a member Cargo.toml is not valid TOML: {e}"))?;
    let new_s = new.to_string();
    let mut changed = false;
    let mut bump_table = |deps: &mut dyn toml_edit::TableLike| {
        for (name, dep) in deps.iter_mut() {
            let Some(table) = dep.as_table_like_mut() else {
                continue;
            };
            let crate_name = table
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or(name.get())
                .to_owned();
            if table.get("path").is_none() || !internal.contains(&crate_name) {
                continue;
            }
            if let Some(v) = table.get_mut("version").and_then(|v| v.as_value_mut()) {
                if v.as_str() != Some(new_s.as_str()) {
                    let decor = v.decor().clone();
                    *v = toml_edit::Value::from(new_s.clone());
                    *v.decor_mut() = decor;
                    changed = true;
                }
            }
        }
    };
    const KINDS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    for kind in KINDS {
        if let Some(deps) = doc.get_mut(kind).and_then(|d| d.as_table_like_mut()) {
            bump_table(deps);
        }
    }
    if let Some(targets) = doc.get_mut("target").and_then(|t| t.as_table_like_mut()) {
        for (_, target) in targets.iter_mut() {
            for kind in KINDS {
                if let Some(deps) = target.get_mut(kind).and_then(|d| d.as_table_like_mut()) {
                    bump_table(deps);
                }
            }
        }
    }
    Ok(changed.then(|| doc.to_string()))
}

fn bump(level: &str) -> Result<(), String> {
    let ws = Workspace::load()?;
    require_clean_tree(&ws.root, "bump")?;
    let new = match level {
        "major" => ws.version.bumped(Level::Major),
        "minor" => ws.version.bumped(Level::Minor),
        "patch" => ws.version.bumped(Level::Patch),
        explicit => Version::parse(explicit)
            .map_err(|e| format!("{e}; expected major, minor, patch or an explicit X.Y.Z"))?,
    };
    if new <= ws.version {
        return Err(format!(
            "the new version {new} must be greater than the current {}",
            ws.version
        ));
    }
    let path = ws.root.join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read Cargo.toml: {e}"))?;
    let updated = bump_manifest(&text, new)?;
    fs::write(&path, updated).map_err(|e| format!("cannot write Cargo.toml: {e}"))?;
    let internal: BTreeSet<String> = ws.crates.iter().map(|c| c.name.clone()).collect();
    for c in &ws.crates {
        let member = ws.root.join(&c.dir).join("Cargo.toml");
        let text = fs::read_to_string(&member)
            .map_err(|e| format!("cannot read {}: {e}", member.display()))?;
        if let Some(updated) = bump_member_manifest(&text, &internal, new)? {
            fs::write(&member, updated)
                .map_err(|e| format!("cannot write {}: {e}", member.display()))?;
            println!("{}: internal path dependencies set to {new}", c.dir);
        }
    }
    run(&ws.root, "cargo", &["update", "--workspace"], &[])?;
    println!(
        "bumped {} -> {new}; review, then: cargo xtask release changelog",
        ws.version
    );
    Ok(())
}

// ------------------------------------------------------------------ check

fn run(root: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("\n==> {program} {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    eprintln!("<== {status} in {:.1?}", started.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Whether `tool --version` runs and names the tool (cargo-http-registry
/// prints its version but exits with 1), directly or as a cargo subcommand.
fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || String::from_utf8_lossy(&o.stdout).starts_with(tool))
        || Command::new("cargo")
            .args([tool.trim_start_matches("cargo-"), "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Runs cargo-semver-checks for `crates` against the `baseline` git rev.
/// Returns whether it passed and its output (printed as it is).
fn semver_checks(
    root: &Path,
    baseline: &str,
    crates: &[&str],
    release_type: Option<Level>,
) -> Result<(bool, String), String> {
    let mut args: Vec<String> = vec![
        "semver-checks".into(),
        "check-release".into(),
        "--baseline-rev".into(),
        baseline.into(),
    ];
    for c in crates {
        args.push("--package".into());
        args.push((*c).to_owned());
    }
    if let Some(level) = release_type {
        args.push("--release-type".into());
        args.push(level.to_string());
    }
    eprintln!("\n==> cargo {}", args.join(" "));
    let out = Command::new("cargo")
        .args(&args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo semver-checks: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    Ok((out.status.success(), text))
}

/// The lines of cargo-semver-checks output that name a broken item.
fn broken_items(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(", previously in file ") || l.starts_with("--- failure "))
        .map(str::to_owned)
        .collect()
}

/// The options of `release check`.
#[derive(Debug, Default)]
struct CheckOptions {
    /// Leave out `cargo xtask ci` (only the release end-to-end test uses
    /// it).
    skip_ci: bool,
    /// The registry `publish` will use (`None`: crates.io).
    registry: Option<String>,
    /// Limit cargo-semver-checks to these crates (empty: every publishable
    /// crate). Only the end-to-end test's breaking-change phase uses it.
    semver_packages: Vec<String>,
}

/// The crates `check` runs cargo-semver-checks on: every publishable crate,
/// unless `--semver-package` named some (each must be publishable).
fn semver_targets<'a>(publishable: &[&'a str], only: &'a [String]) -> Result<Vec<&'a str>, String> {
    if let Some(unknown) = only.iter().find(|p| !publishable.contains(&p.as_str())) {
        return Err(format!(
            "--semver-package {unknown}: not a publishable crate of this workspace"
        ));
    }
    Ok(if only.is_empty() {
        publishable.to_vec()
    } else {
        only.iter().map(String::as_str).collect()
    })
}

fn check(options: &CheckOptions) -> Result<(), String> {
    let started = Instant::now();
    let skip_ci = options.skip_ci;
    let registry = options.registry.as_deref();
    let ws = Workspace::load()?;
    require_clean_tree(&ws.root, "check")?;
    let order = ws.order()?;
    let names: Vec<&str> = order.iter().map(|c| c.name.as_str()).collect();
    let semver_names = semver_targets(&names, &options.semver_packages)?;

    // Semver against the last release: a breaking change needs a major bump.
    match last_tag(&ws.root) {
        None => eprintln!("\nnote: no release tag yet (v*); semver checks skipped"),
        Some(tag) => {
            let baseline = Version::parse(tag.trim_start_matches('v'))?;
            if crate::peer_release::ensure(crate::peer_release::SEMVER_CHECKS)? {
                let level = if allows_breaking(baseline, ws.version) {
                    Level::Major
                } else if ws.version.minor > baseline.minor || ws.version.major > baseline.major {
                    Level::Minor
                } else {
                    Level::Patch
                };
                let (ok, output) = semver_checks(&ws.root, &tag, &semver_names, Some(level))?;
                if !ok {
                    let items = broken_items(&output);
                    return Err(format!(
                        "cargo semver-checks: {} -> {} is a {level} release, but the API has breaking changes; \
                         bump to a new major version (0.x: minor) or restore them:\n{}",
                        baseline,
                        ws.version,
                        if items.is_empty() { output.trim().to_owned() } else { items.join("\n") }
                    ));
                }
            }
        }
    }

    // Package every publishable crate; cargo verifies each against the
    // packaged siblings (a local overlay registry), not the paths.
    let mut package = vec!["package", "--locked"];
    for n in &names {
        package.extend(["--package", n]);
    }
    if let Some(r) = registry {
        // The overlay stands in for the registry the crates will be
        // published to.
        package.extend(["--registry", r]);
    }
    run(&ws.root, "cargo", &package, &[])?;

    // Docs, as docs.rs builds them, with warnings as errors.
    let mut doc = vec!["doc", "--no-deps", "--all-features"];
    for n in &names {
        doc.extend(["--package", n]);
    }
    run(&ws.root, "cargo", &doc, &[("RUSTDOCFLAGS", "-D warnings")])?;

    // Each declared feature alone, and no default features.
    for c in &order {
        if c.has_default {
            run(
                &ws.root,
                "cargo",
                &["check", "--package", &c.name, "--no-default-features"],
                &[],
            )?;
        }
        for f in &c.features {
            run(
                &ws.root,
                "cargo",
                &[
                    "check",
                    "--package",
                    &c.name,
                    "--no-default-features",
                    "--features",
                    f,
                ],
                &[],
            )?;
        }
    }

    if skip_ci {
        eprintln!(
            "\nnote: --skip-ci: `cargo xtask ci` not run (only for the release end-to-end test)"
        );
    } else {
        run(&ws.root, "cargo", &["xtask", "ci"], &[])?;
    }
    println!(
        "release check: {} is ready to publish ({:.0?})",
        ws.version,
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------- publish

/// What this release has published so far, kept in
/// `target/release-publish-state.json` so an interrupted publish resumes.
#[derive(Debug, Default, PartialEq)]
struct PublishState {
    version: String,
    registry: String,
    published: Vec<String>,
}

impl PublishState {
    fn load(path: &Path, version: &str, registry: &str) -> Result<PublishState, String> {
        let Ok(text) = fs::read_to_string(path) else {
            return Ok(PublishState {
                version: version.to_owned(),
                registry: registry.to_owned(),
                published: Vec::new(),
            });
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON ({e}); remove it", path.display()))?;
        let state = PublishState {
            version: v["version"].as_str().unwrap_or_default().to_owned(),
            registry: v["registry"].as_str().unwrap_or_default().to_owned(),
            published: v["published"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        };
        if state.version == version && state.registry == registry {
            Ok(state)
        } else {
            // Another release's state: start afresh.
            Ok(PublishState {
                version: version.to_owned(),
                registry: registry.to_owned(),
                published: Vec::new(),
            })
        }
    }

    fn save(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::json!({
            "version": self.version,
            "registry": self.registry,
            "published": self.published,
        });
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        fs::write(path, format!("{json:#}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Whether `name@version` is in the registry's index (`cargo info`).
fn in_registry(
    root: &Path,
    name: &str,
    version: &str,
    registry: Option<&str>,
) -> Result<bool, String> {
    let spec = format!("{name}@{version}");
    let mut args = vec!["info", spec.as_str(), "--quiet"];
    if let Some(r) = registry {
        args.extend(["--registry", r]);
    }
    let out = Command::new("cargo")
        .args(&args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not run cargo info: {e}"))?;
    if out.status.success() {
        return Ok(true);
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("could not find") {
        Ok(false)
    } else {
        Err(format!("cargo {} failed: {}", args.join(" "), err.trim()))
    }
}

fn wait_until_visible(
    root: &Path,
    name: &str,
    version: &str,
    registry: Option<&str>,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if in_registry(root, name, version, registry)? {
            eprintln!("{name} {version} is in the index");
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{name} {version} did not appear in the index within 5 minutes; run publish again to resume"));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn publish(registry: Option<&str>, dry_run: bool) -> Result<(), String> {
    let ws = Workspace::load()?;
    let order = ws.order()?;
    let version = ws.version.to_string();
    let reg_args: Vec<&str> = registry.map(|r| vec!["--registry", r]).unwrap_or_default();
    if dry_run {
        println!(
            "publish order: {}",
            order
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut args = vec!["publish", "--dry-run", "--allow-dirty", "--no-verify"];
        for c in &order {
            args.extend(["--package", c.name.as_str()]);
        }
        args.extend(&reg_args);
        return run(&ws.root, "cargo", &args, &[]);
    }
    require_clean_tree(&ws.root, "publish")?;
    let fail_after: Option<usize> = std::env::var(FAIL_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    // Under the workspace's own target/ (not CARGO_TARGET_DIR, which
    // several clones may share): the state belongs to this checkout.
    let state_path = ws.root.join("target/release-publish-state.json");
    let registry_name = registry.unwrap_or("crates-io");
    let mut state = PublishState::load(&state_path, &version, registry_name)?;
    let mut published_now = 0;
    for c in &order {
        if state.published.contains(&c.name) {
            println!(
                "{} {version}: already published by this release, skipped",
                c.name
            );
            continue;
        }
        if in_registry(&ws.root, &c.name, &version, registry)? {
            return Err(format!(
                "{} {version} already exists in registry `{registry_name}` and was not published by this release; bump the version",
                c.name
            ));
        }
        let mut args = vec!["publish", "--no-verify", "--package", c.name.as_str()];
        args.extend(&reg_args);
        run(&ws.root, "cargo", &args, &[])?;
        state.published.push(c.name.clone());
        state.save(&state_path)?;
        wait_until_visible(&ws.root, &c.name, &version, registry)?;
        println!("{} {version}: published", c.name);
        published_now += 1;
        if fail_after == Some(published_now) {
            return Err(format!(
                "{FAIL_AFTER_ENV}: stopping after {published_now} crate(s), as asked"
            ));
        }
    }
    let tag = format!("v{version}");
    if git(
        &ws.root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/tags/{tag}"),
        ],
    )
    .is_ok()
    {
        println!("tag {tag} already exists");
    } else {
        git(
            &ws.root,
            &["tag", "-a", &tag, "-m", &format!("Release {version}")],
        )?;
        println!("created the annotated tag {tag}; push it with: git push origin {tag}");
    }
    println!("published {version} to `{registry_name}`");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str, deps: &[&str], publish: bool) -> Crate {
        Crate {
            name: name.into(),
            version: "0.1.0".into(),
            dir: format!("crates/{name}"),
            publish,
            features: Vec::new(),
            has_default: false,
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    #[test]
    fn versions_parse_and_bump() {
        let v = Version::parse("0.1.9").unwrap();
        assert_eq!(v.bumped(Level::Patch).to_string(), "0.1.10");
        assert_eq!(v.bumped(Level::Minor).to_string(), "0.2.0");
        assert_eq!(v.bumped(Level::Major).to_string(), "1.0.0");
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "a.b.c",
            "01.2.3",
            "1.2.3-rc.1",
            " . . ",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn zero_versions_shift_the_bump_right() {
        let zero = Version::parse("0.3.1").unwrap();
        let one = Version::parse("1.3.1").unwrap();
        let cases = [
            (zero, true, true, Level::Minor),
            (zero, false, true, Level::Patch),
            (zero, false, false, Level::Patch),
            (one, true, false, Level::Major),
            (one, false, true, Level::Minor),
            (one, false, false, Level::Patch),
        ];
        for (v, breaking, feature, expected) in cases {
            assert_eq!(
                required_level(v, breaking, feature),
                expected,
                "{v} {breaking} {feature}"
            );
        }
        let p = |s| Version::parse(s).unwrap();
        assert!(allows_breaking(p("0.1.0"), p("0.2.0")));
        assert!(!allows_breaking(p("0.1.0"), p("0.1.1")));
        assert!(allows_breaking(p("1.4.0"), p("2.0.0")));
        assert!(!allows_breaking(p("1.4.0"), p("1.5.0")));
    }

    #[test]
    fn bump_sets_internal_path_dependencies_of_member_manifests() {
        let text = "[package]\nname = \"agents\"\n\n[dependencies]\n\
                    agents-core.workspace = true\n\
                    agents-mcp = { path = \"../agents-mcp\", version = \"0.1.0\", optional = true } # kept\n\
                    serde = { version = \"1\" }\n\n\
                    [dev-dependencies]\nagents-testkit = { path = \"../agents-testkit\" }\n\n\
                    [target.'cfg(unix)'.dependencies]\nmcp = { package = \"agents-mcp\", path = \"../agents-mcp\", version = \"0.1.0\" }\n";
        let internal: BTreeSet<String> = ["agents-core", "agents-mcp", "agents-testkit"]
            .into_iter()
            .map(String::from)
            .collect();
        let new = Version::parse("0.2.0").unwrap();
        let out = bump_member_manifest(text, &internal, new).unwrap().unwrap();
        assert!(out.contains("agents-mcp = { path = \"../agents-mcp\", version = \"0.2.0\", optional = true } # kept"), "{out}");
        assert!(
            out.contains(
                "mcp = { package = \"agents-mcp\", path = \"../agents-mcp\", version = \"0.2.0\" }"
            ),
            "{out}"
        );
        assert!(out.contains("serde = { version = \"1\" }"), "{out}");
        assert!(
            out.contains("agents-testkit = { path = \"../agents-testkit\" }"),
            "{out}"
        );
        assert_eq!(bump_member_manifest(&out, &internal, new).unwrap(), None);
    }

    #[test]
    fn publish_order_follows_dependencies() {
        let crates = [
            krate(
                "agents",
                &["agents-runner", "agents-core", "agents-macros"],
                true,
            ),
            krate("agents-runner", &["agents-core"], true),
            krate("agents-macros", &["agents-core"], true),
            krate("agents-core", &[], true),
            krate("agents-testkit", &["agents-core"], false),
        ];
        let order: Vec<String> = publish_order(&crates)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            order,
            ["agents-core", "agents-macros", "agents-runner", "agents"]
        );
    }

    #[test]
    fn publish_order_reports_cycles_and_unpublishable_deps() {
        let cycle = [krate("a", &["b"], true), krate("b", &["a"], true)];
        let err = publish_order(&cycle).unwrap_err();
        assert!(err.contains("cycle") && err.contains("a, b"), "{err}");
        let hidden = [krate("a", &["t"], true), krate("t", &[], false)];
        let err = publish_order(&hidden).unwrap_err();
        assert!(
            err.contains("`t`") && err.contains("publish = false"),
            "{err}"
        );
    }

    #[test]
    fn metadata_edges_skip_path_only_dev_dependencies() {
        let root = Path::new("/ws");
        let meta = serde_json::json!({"packages": [
            {"name": "core", "version": "0.1.0", "manifest_path": "/ws/crates/core/Cargo.toml", "publish": null,
             "features": {"default": ["x"], "x": [], "testing": []},
             "dependencies": [{"name": "kit", "kind": "dev", "req": "*"}]},
            {"name": "runner", "version": "0.1.0", "manifest_path": "/ws/crates/runner/Cargo.toml", "publish": null,
             "features": {}, "dependencies": [{"name": "core", "kind": null, "req": "^0.1.0"},
                                             {"name": "serde", "kind": null, "req": "^1"}]},
            {"name": "macros", "version": "0.1.0", "manifest_path": "/ws/crates/macros/Cargo.toml", "publish": null,
             "features": {}, "dependencies": [{"name": "runner", "kind": "dev", "req": "^0.1.0"}]},
            {"name": "kit", "version": "0.1.0", "manifest_path": "/ws/crates/kit/Cargo.toml", "publish": [],
             "features": {}, "dependencies": [{"name": "core", "kind": null, "req": "^0.1.0"}]}
        ]});
        let crates = crates_from_metadata(&meta, root).unwrap();
        let get = |n: &str| crates.iter().find(|c| c.name == n).unwrap();
        assert!(
            get("core").deps.is_empty(),
            "path-only dev-dependency must not order"
        );
        assert!(get("core").has_default);
        assert_eq!(get("core").features, ["testing", "x"]);
        assert_eq!(get("core").dir, "crates/core");
        assert!(get("runner").deps.contains("core"));
        assert!(!get("runner").deps.contains("serde"));
        assert!(
            get("macros").deps.contains("runner"),
            "versioned dev-dependency orders"
        );
        assert!(!get("kit").publish);
        let order: Vec<String> = publish_order(&crates)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(order, ["core", "runner", "macros"]);
    }

    #[test]
    fn commit_messages_map_to_changelog_kinds() {
        let check =
            |subject: &str, body: &str, kind: Option<Kind>, breaking: bool, summary: &str| {
                let e = classify(subject, body);
                assert_eq!(
                    e,
                    Entry {
                        kind,
                        breaking,
                        summary: summary.into()
                    },
                    "{subject:?}"
                );
            };
        check(
            "feat(runner): streaming cancel",
            "",
            Some(Kind::Added),
            false,
            "streaming cancel",
        );
        check(
            "feat(core)!: items are enums",
            "",
            Some(Kind::Added),
            true,
            "items are enums",
        );
        check(
            "fix: retry on 429",
            "",
            Some(Kind::Fixed),
            false,
            "retry on 429",
        );
        check(
            "refactor(openai): one transport",
            "BREAKING CHANGE: new error type",
            Some(Kind::Changed),
            true,
            "one transport",
        );
        check(
            "deprecate(core): old builder",
            "",
            Some(Kind::Deprecated),
            false,
            "old builder",
        );
        check(
            "remove: the global provider",
            "",
            Some(Kind::Removed),
            false,
            "the global provider",
        );
        check(
            "security: redact keys",
            "",
            Some(Kind::Security),
            false,
            "redact keys",
        );
        check("test(runner): more cases", "", None, false, "more cases");
        check("chore(release): 0.2.0", "", None, false, "0.2.0");
        // The older `Scope: summary` form: the kind from the first verb.
        check(
            "Runner: add a max_turns handler",
            "",
            Some(Kind::Added),
            false,
            "Runner: add a max_turns handler",
        );
        check(
            "SQLite interop: fix placeholder ids",
            "",
            Some(Kind::Fixed),
            false,
            "SQLite interop: fix placeholder ids",
        );
        check(
            "Docs: remove stale notes",
            "",
            Some(Kind::Removed),
            false,
            "Docs: remove stale notes",
        );
        check(
            "Runner tests: dropping a stream drops the request",
            "",
            Some(Kind::Changed),
            false,
            "Runner tests: dropping a stream drops the request",
        );
        check(
            "Deprecate the old API",
            "",
            Some(Kind::Deprecated),
            false,
            "Deprecate the old API",
        );
        check(
            "Pin placeholder ids staying out: of requests and more words here",
            "",
            Some(Kind::Changed),
            false,
            "Pin placeholder ids staying out: of requests and more words here",
        );
    }

    #[test]
    fn changelog_section_groups_by_kind_then_crate() {
        let crates = [
            krate("agents-core", &[], true),
            krate("agents-runner", &["agents-core"], true),
        ];
        let commit = |s: &str, files: &[&str]| Commit {
            subject: s.into(),
            body: String::new(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
        };
        let commits = [
            commit("feat(runner): b", &["crates/agents-runner/src/lib.rs"]),
            commit(
                "fix: c",
                &[
                    "crates/agents-core/src/x.rs",
                    "crates/agents-runner/src/y.rs",
                ],
            ),
            commit("feat(core)!: a", &["crates/agents-core/src/lib.rs"]),
            commit("ci: d", &["xtask/src/main.rs"]),
            commit("Docs: e", &["docs/x.md"]),
        ];
        let v = Version::parse("0.2.0").unwrap();
        let text = changelog_section(v, "2026-01-02", &commits, &crates);
        let expected = "## [0.2.0] - 2026-01-02

### Added

- `agents-core`: **Breaking:** a
- `agents-runner`: b

### Changed

- `workspace`: Docs: e

### Fixed

- `agents-core, agents-runner`: c
";
        assert_eq!(text, expected);
    }

    #[test]
    fn changelog_sections_are_inserted_above_older_ones() {
        let v = |s| Version::parse(s).unwrap();
        let fresh = insert_section("", v("0.1.0"), "## [0.1.0] - d\n").unwrap();
        assert!(fresh.starts_with("# Changelog\n") && fresh.ends_with("## [0.1.0] - d\n"));
        let next = insert_section(&fresh, v("0.2.0"), "## [0.2.0] - e\n").unwrap();
        let new_at = next.find("## [0.2.0]").unwrap();
        let old_at = next.find("## [0.1.0]").unwrap();
        assert!(new_at < old_at, "{next}");
        assert!(
            next.ends_with("## [0.1.0] - d\n"),
            "older sections untouched: {next}"
        );
        let err = insert_section(&next, v("0.2.0"), "## [0.2.0] - f\n").unwrap_err();
        assert!(err.contains("already has a section for 0.2.0"), "{err}");
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), "1970-01-01");
        assert_eq!(civil_from_days(19_782), "2024-02-29");
        assert_eq!(civil_from_days(20_422), "2025-11-30");
    }

    #[test]
    fn bump_keeps_formatting_and_updates_internal_requirements() {
        let text = r#"[workspace]
members = ["crates/*"]

[workspace.package]
version = "0.1.0" # lockstep
edition = "2021"

[workspace.dependencies]
# Internal crates.
agents-core = { path = "crates/agents-core", version = "0.1.0" }
agents-runner = { path = "crates/agents-runner", version = "0.1.0", registry = "local" }
serde = { version = "1", features = ["derive"] }
"#;
        let out = bump_manifest(text, Version::parse("0.2.0").unwrap()).unwrap();
        let expected = text
            .replace(
                "version = \"0.1.0\" # lockstep",
                "version = \"0.2.0\" # lockstep",
            )
            .replace("version = \"0.1.0\" }", "version = \"0.2.0\" }")
            .replace(
                "version = \"0.1.0\", registry",
                "version = \"0.2.0\", registry",
            );
        assert_eq!(out, expected);
        assert!(bump_manifest("[workspace]\n", Version::parse("1.0.0").unwrap()).is_err());
    }

    #[test]
    fn publish_state_resumes_only_the_same_release() {
        let dir = std::env::temp_dir().join(format!("xtask-release-state-{}", std::process::id()));
        let path = dir.join("state.json");
        let mut s = PublishState::load(&path, "0.2.0", "local").unwrap();
        assert!(s.published.is_empty());
        s.published.push("agents-core".into());
        s.save(&path).unwrap();
        assert_eq!(
            PublishState::load(&path, "0.2.0", "local")
                .unwrap()
                .published,
            ["agents-core"]
        );
        assert!(PublishState::load(&path, "0.2.1", "local")
            .unwrap()
            .published
            .is_empty());
        assert!(PublishState::load(&path, "0.2.0", "crates-io")
            .unwrap()
            .published
            .is_empty());
        fs::write(&path, "{not json").unwrap();
        assert!(PublishState::load(&path, "0.2.0", "local").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn check_semver_checks_every_crate_unless_limited() {
        let all = ["agents-core", "agents-runner", "agents"];
        assert_eq!(semver_targets(&all, &[]).unwrap(), all);
        let only = ["agents-core".to_owned()];
        assert_eq!(semver_targets(&all, &only).unwrap(), ["agents-core"]);
        let err = semver_targets(&all, &["agents-testkit".to_owned()]).unwrap_err();
        assert!(
            err.contains("--semver-package agents-testkit: not a publishable crate"),
            "{err}"
        );
    }

    #[test]
    fn semver_failures_are_named() {
        let out = "--- failure function_missing: pub fn removed or renamed ---\n\nFailed in:\n  function agents_core::gone, previously in file /x/src/lib.rs:3\n";
        let items = broken_items(out);
        assert_eq!(items.len(), 2);
        assert!(items[1].contains("agents_core::gone"));
    }

    #[test]
    fn published_crates_carry_readme_and_licenses() {
        let root = project_root();
        let mit = fs::read_to_string(root.join("LICENSE-MIT")).unwrap();
        let apache = fs::read_to_string(root.join("LICENSE-APACHE")).unwrap();
        assert!(mit.contains("The agents-rs authors") && apache.contains("The agents-rs authors"));
        let meta = cargo_metadata(&root).unwrap();
        let crates = crates_from_metadata(&meta, &root).unwrap();
        let published: Vec<&Crate> = crates.iter().filter(|c| c.publish).collect();
        assert!(published.len() >= 6, "expected the published crates");
        for c in published {
            let dir = root.join(&c.dir);
            assert_eq!(
                fs::read_to_string(dir.join("LICENSE-MIT")).ok().as_ref(),
                Some(&mit),
                "{}",
                c.name
            );
            assert_eq!(
                fs::read_to_string(dir.join("LICENSE-APACHE")).ok().as_ref(),
                Some(&apache),
                "{}",
                c.name
            );
            let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            assert!(
                dir.join("README.md").exists() || manifest.contains("readme = "),
                "{} has no README",
                c.name
            );
        }
    }
}
