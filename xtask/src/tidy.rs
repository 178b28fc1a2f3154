//! Repository rules, checked as tests: `cargo test -p xtask`.

use std::fs;
use std::path::Path;

use crate::project_root;

/// The workspace crates each crate may depend on (normal dependencies).
const LAYERS: &[(&str, &[&str])] = &[
    ("agents-core", &[]),
    ("agents-runner", &["agents-core"]),
    ("agents-http", &["agents-core"]),
    ("agents-model-openai", &["agents-core", "agents-http"]),
    ("agents-model-anthropic", &["agents-core", "agents-http"]),
    ("agents-model-gemini", &["agents-core", "agents-http"]),
    ("agents-session-sqlite", &["agents-core"]),
    ("agents-session-postgres", &["agents-core"]),
    ("agents-session-redis", &["agents-core"]),
    ("agents-session-encrypted", &["agents-core"]),
    ("agents-mcp", &["agents-core"]),
    ("agents-otel", &["agents-core"]),
    ("agents-durable", &["agents-core", "agents-runner"]),
    ("agents-testkit", &["agents-core"]),
    ("agents-macros", &[]),
    (
        "agents",
        &[
            "agents-core",
            "agents-runner",
            "agents-model-openai",
            "agents-model-gemini",
            "agents-model-anthropic",
            "agents-session-sqlite",
            "agents-session-postgres",
            "agents-session-redis",
            "agents-session-encrypted",
            "agents-mcp",
            "agents-otel",
            "agents-durable",
            "agents-macros",
        ],
    ),
];

fn normal_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim().trim_end_matches(".workspace").to_owned();
                if !name.is_empty() && !name.starts_with('#') {
                    deps.push(name);
                }
            }
        }
    }
    deps
}

#[test]
fn crates_respect_the_layers() {
    let crates = project_root().join("crates");
    let mut seen = 0;
    for entry in fs::read_dir(&crates).expect("crates/ exists") {
        let dir = entry.expect("dir entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let allowed = LAYERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("crate `{name}` is missing from the LAYERS table"));
        for dep in normal_dependencies(&manifest) {
            if dep.starts_with("agents") {
                assert!(
                    allowed.contains(&dep.as_str()),
                    "`{name}` depends on `{dep}`, which its layer does not allow"
                );
            }
        }
        assert!(
            manifest.contains("[lints]") && manifest.contains("workspace = true"),
            "`{name}` must set `[lints] workspace = true`"
        );
        seen += 1;
    }
    assert!(seen >= 3, "expected the workspace crates under crates/");
}

#[test]
fn examples_start_with_their_run_line() {
    let dir = project_root().join("crates/agents/examples");
    for entry in fs::read_dir(&dir).expect("crates/agents/examples/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let name = path.file_stem().and_then(|n| n.to_str()).expect("name");
        let text = fs::read_to_string(&path).expect("readable");
        let expected = format!("//! Run with: cargo run --example {name}");
        assert!(
            text.lines().next() == Some(expected.as_str()),
            "{} must start with `{expected}`",
            path.display()
        );
        let declared = fs::read_to_string(project_root().join("crates/agents/Cargo.toml"))
            .expect("facade manifest");
        assert!(
            declared.contains(&format!("name = \"{name}\"")),
            "example `{name}` is not declared in crates/agents/Cargo.toml"
        );
    }
}

#[test]
fn readme_gives_the_two_commands() {
    let readme = fs::read_to_string(project_root().join("README.md")).expect("README.md");
    assert!(readme.contains("cargo run --example quickstart"));
    assert!(readme.contains("cargo xtask ci"));
    let ci = fs::read_to_string(project_root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn layer_parser_reads_dependencies() {
    let deps = normal_dependencies(
        "[package]\nname = \"x\"\n[dependencies]\nagents-core.workspace = true\nserde = \"1\"\n[dev-dependencies]\nagents-testkit = { path = \"..\" }\n",
    );
    assert_eq!(deps, vec!["agents-core".to_owned(), "serde".to_owned()]);
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).exists());
}

/// Every `.rs` file under `dir`, skipping build output and npm folders.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// `CI` is read one way everywhere: `true` or `1`, in any case.
#[test]
fn ci_is_read_one_way() {
    let root = project_root();
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        rust_files(&root.join(dir), &mut files);
    }
    let needle = ["var(", "\"CI\")"].concat();
    let mut readers = 0;
    for file in files {
        let text = fs::read_to_string(&file).expect("readable source");
        for (at, _) in text.match_indices(&needle) {
            readers += 1;
            let window: String = text[at..].chars().take(160).collect();
            assert!(
                window.contains("eq_ignore_ascii_case(\"true\")")
                    || window.contains("is_ci_value("),
                "{}: reads CI without the project's rule (`true` or `1`, any case)",
                file.display()
            );
        }
    }
    assert!(
        readers >= 2,
        "expected the CI readers to be found, saw {readers}"
    );
}

#[test]
fn ci_rule_accepts_true_and_one_in_any_case() {
    let cases = [
        (Some("true"), true),
        (Some("TRUE"), true),
        (Some("True"), true),
        (Some("1"), true),
        (Some("false"), false),
        (Some("0"), false),
        (Some(""), false),
        (Some("yes"), false),
        (None, false),
    ];
    for (value, expected) in cases {
        assert_eq!(crate::is_ci_value(value), expected, "{value:?}");
    }
}

#[test]
fn the_sdk_benchmark_keeps_the_m0_block() {
    let bench = fs::read_to_string(project_root().join("crates/agents/benches/sdk.rs"))
        .expect("read the sdk benchmark");
    for marker in [crate::m0::BEGIN, crate::m0::END] {
        let quoted = format!("\"{marker}\"");
        assert!(
            bench.contains(&quoted),
            "crates/agents/benches/sdk.rs must keep the M0 marker {quoted}"
        );
    }
}
