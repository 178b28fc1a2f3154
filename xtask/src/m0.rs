//! `cargo xtask bench m0`: M0, the clean build time of the quickstart
//! example, before and after a change.
//!
//! For each revision (the "before" one, by default [`BEFORE`], and `HEAD`)
//! it checks the revision out in a temporary worktree and, for each round,
//! deletes a target directory of its own and times
//! `cargo build --example quickstart` there (the build `cargo run --example
//! quickstart` does; the example's run itself takes milliseconds offline).
//! Crates are already downloaded (the cargo registry cache is shared), so
//! the figure is compile and link time. Rounds alternate between the
//! revisions, so that a slow spell of the machine hits both. Wall time, and
//! the CPU time of the build (user + system, from `/usr/bin/time` when it is
//! there), as median (min–max) over the rounds.
//!
//! The result replaces the M0 block of `docs/benchmarks.md` (between its
//! markers; appended when there is none). The `sdk` benchmark keeps that
//! block when it rewrites the file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::project_root;

/// The revision before the shared HTTP layer and the TLS change: the
/// default TLS stack of reqwest (rustls with aws-lc).
pub(crate) const BEFORE: &str = "0bea67e";

/// The markers around the M0 block in `docs/benchmarks.md`.
pub(crate) const BEGIN: &str = "<!-- M0 begin: written by `cargo xtask bench m0` -->";
pub(crate) const END: &str = "<!-- M0 end -->";

struct Round {
    wall: f64,
    cpu: Option<f64>,
}

fn git(args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(project_root())
        .output()
        .map_err(|e| format!("git {}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// One clean build of the quickstart in `worktree`, with `target` removed
/// first.
fn build(worktree: &Path, target: &Path) -> Result<Round, String> {
    let _ = std::fs::remove_dir_all(target);
    let timed = Path::new("/usr/bin/time").exists();
    let times = target.with_extension("time");
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%U %S").arg("-o").arg(&times).arg("cargo");
        c
    } else {
        Command::new("cargo")
    };
    cmd.args(["build", "--quiet", "--example", "quickstart"])
        .current_dir(worktree)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_INCREMENTAL");
    let started = Instant::now();
    let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "cargo build --example quickstart failed in {}",
            worktree.display()
        ));
    }
    let cpu = if timed {
        let text = std::fs::read_to_string(&times).map_err(|e| format!("{e}"))?;
        let parts: Vec<f64> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (parts.len() == 2).then(|| parts[0] + parts[1])
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(target);
    Ok(Round { wall, cpu })
}

fn median_min_max(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "—".into();
    }
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    format!("{median:.0} s ({:.0}–{:.0})", v[0], v[v.len() - 1])
}

/// Replaces (or appends) the M0 block of `benchmarks.md` text.
pub(crate) fn splice(doc: &str, block: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{}{}", &doc[..a], block, &doc[b + END.len()..])
        }
        _ => format!("{}\n{}\n", doc.trim_end(), block),
    }
}

pub(crate) fn m0(args: &[String]) -> Result<(), String> {
    let mut before = BEFORE.to_owned();
    let mut rounds = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--before" => before = it.next().ok_or("--before needs a revision")?.clone(),
            "--rounds" => {
                rounds = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--rounds needs a positive number")?
            }
            other => return Err(format!("unknown m0 option `{other}`")),
        }
    }
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let before_rev = git(&["rev-parse", "--short", &before])?;
    let scratch = std::env::temp_dir().join("agents-m0");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut trees: Vec<(String, PathBuf)> = Vec::new();
    for rev in [&before_rev, &head] {
        let tree = scratch.join(rev);
        git(&[
            "worktree",
            "add",
            "--detach",
            "--force",
            &tree.to_string_lossy(),
            rev,
        ])?;
        // Downloads are not build time: fetch what the revision needs first.
        let fetched = Command::new("cargo")
            .arg("fetch")
            .current_dir(&tree)
            .status()
            .map_err(|e| format!("cargo fetch: {e}"))?;
        if !fetched.success() {
            return Err(format!("cargo fetch failed in {}", tree.display()));
        }
        trees.push((rev.clone(), tree));
    }
    let mut results: Vec<Vec<Round>> = vec![Vec::new(), Vec::new()];
    let outcome = (|| {
        for round in 1..=rounds {
            for (i, (rev, tree)) in trees.iter().enumerate() {
                let r = build(tree, &scratch.join(format!("target-{rev}")))?;
                eprintln!(
                    "M0 round {round}/{rounds}, {rev}: {:.1} s wall{}",
                    r.wall,
                    r.cpu.map(|c| format!(", {c:.0} s CPU")).unwrap_or_default()
                );
                results[i].push(r);
            }
        }
        Ok::<(), String>(())
    })();
    for (_, tree) in &trees {
        let _ = git(&["worktree", "remove", "--force", &tree.to_string_lossy()]);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    outcome?;

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let row = |label: &str, rs: &[Round]| {
        format!(
            "| {label} | {} | {} |",
            median_min_max(rs.iter().map(|r| r.wall).collect()),
            median_min_max(rs.iter().filter_map(|r| r.cpu).collect()),
        )
    };
    let block = format!(
        "{BEGIN}\n## M0: clean build of the quickstart\n\n\
         `cargo build --example quickstart` from an empty target directory, crates already \
         downloaded, {cores} cores, {rounds} rounds alternating between the two revisions \
         (written by `cargo xtask bench m0`, not by the `sdk` benchmark). Before: `{before_rev}`, \
         reqwest's default TLS (rustls with aws-lc, whose C library is built). After: `{head}`, \
         rustls with ring (the facade's default `rustls` feature), the Anthropic and Gemini \
         providers on by default, and no debug info for dependencies in the dev profile. An \
         example builds with every dev-dependency of the facade (the mock server, and the \
         crates that other examples and the tests use), so this is a newcomer's first build, \
         not the build of an application that depends on `agents`.\n\n\
         | revision | wall time | CPU time (user + system) |\n|---|---|---|\n{}\n{}\n{END}",
        row(&format!("before ({before_rev})"), &results[0]),
        row(&format!("after ({head})"), &results[1]),
    );
    println!("{block}");
    let path = project_root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, splice(&doc, &block)).map_err(|e| e.to_string())?;
    println!("written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_the_block_or_appends_it() {
        let block = format!("{BEGIN}\nnew\n{END}");
        let appended = splice("# B\n\nrows\n", &block);
        assert_eq!(appended, format!("# B\n\nrows\n{block}\n"));
        let old = format!("# B\n{BEGIN}\nold\n{END}\ntail\n");
        assert_eq!(splice(&old, &block), format!("# B\n{block}\ntail\n"));
    }

    #[test]
    fn medians_of_odd_and_even_rounds() {
        assert_eq!(median_min_max(vec![3.0, 1.0, 2.0]), "2 s (1–3)");
        assert_eq!(median_min_max(vec![5.0, 1.0, 2.0, 4.0]), "3 s (1–5)");
        assert_eq!(median_min_max(Vec::new()), "—");
    }
}
