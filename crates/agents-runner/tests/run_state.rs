//! `RunState` JSON: versioned fixtures (minimal, resume, negative,
//! tampered) load or fail with the expected typed error, never a panic;
//! the current format round-trips; a loaded state resumes.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use agents_core::testing::ScriptedModel;
use agents_core::{Agent, Item};
use agents_runner::{
    Always, RunOptions, RunState, RunStateError, Runner, RUN_STATE_SCHEMA_VERSION,
    SUPPORTED_RUN_STATE_SCHEMA_VERSIONS,
};
use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run_state")
}

fn fixture(version: &str, name: &str) -> String {
    let path = fixtures().join(version).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The agents the fixtures were written for: `Assistant` (tools
/// `delete_file`, which needs approval, and `echo`; a handoff to
/// `Archivist`, whose tool is `archive`).
fn agents(model: &Arc<ScriptedModel>) -> Agent {
    let archivist = agent("Archivist", model).tool(echo("archive")).build();
    agent("Assistant", model)
        .tool(echo("delete_file").needs_approval(true))
        .tool(echo("echo"))
        .handoff_to(&archivist)
        .build()
}

type Expect = fn(&Result<RunState, RunStateError>) -> bool;

/// Every fixture and what loading it gives.
const CASES: &[(&str, &str, Expect)] = &[
    ("v1.0", "minimal.json", |r| r.is_ok()),
    ("v1.0", "resume.json", |r| r.is_ok()),
    ("v1.0", "handoff_target.json", |r| r.is_ok()),
    ("v1.0", "negative_missing_version.json", |r| {
        matches!(r, Err(RunStateError::MissingSchemaVersion))
    }),
    (
        "v1.0",
        "negative_future_version.json",
        |r| matches!(r, Err(RunStateError::UnsupportedSchemaVersion { found }) if found == "2.0"),
    ),
    ("v1.0", "negative_numeric_version.json", |r| {
        matches!(r, Err(RunStateError::UnsupportedSchemaVersion { .. }))
    }),
    ("v1.0", "negative_not_json.json", |r| {
        matches!(r, Err(RunStateError::Malformed(_)))
    }),
    (
        "v1.0",
        "negative_wrong_type.json",
        |r| matches!(r, Err(RunStateError::Malformed(m)) if m.contains("current_turn") || m.contains("invalid type")),
    ),
    (
        "v1.0",
        "negative_missing_max_turns.json",
        |r| matches!(r, Err(RunStateError::Malformed(m)) if m.contains("max_turns")),
    ),
    ("v1.0", "negative_unknown_agent.json", |r| {
        matches!(r, Err(RunStateError::UnknownAgent { name, starting_agent })
            if name == "Ghost" && starting_agent == "Assistant")
    }),
    ("v1.0", "negative_unknown_tool.json", |r| {
        matches!(r, Err(RunStateError::UnknownTool { agent, tool })
            if agent == "Assistant" && tool == "format_disk")
    }),
    (
        "v1.0",
        "tampered_last_message_index.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("last_message_index")),
    ),
    (
        "v1.0",
        "tampered_interruption.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("call_other")),
    ),
    (
        "v1.0",
        "tampered_item_type.json",
        |r| matches!(r, Err(RunStateError::Malformed(m)) if m.contains("generated_items[1]")),
    ),
    (
        "v1.0",
        "tampered_turn_items_start.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("turn_items_start")),
    ),
    (
        "v1.0",
        "tampered_step.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("next_step_interruption")),
    ),
    (
        "v1.0",
        "tampered_history.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("generated_items_from")),
    ),
    (
        "v1.0",
        "tampered_call_arguments.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("call_delete")),
    ),
    (
        "v1.0",
        "tampered_unknown_key.json",
        |r| matches!(r, Err(RunStateError::Malformed(m)) if m.contains("admin")),
    ),
    (
        "v1.0",
        "tampered_huge_index.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("server_sent_items")),
    ),
    (
        "v1.0",
        "negative_completed_outputs_before_1_1.json",
        |r| matches!(r, Err(RunStateError::Malformed(m)) if m.contains("completed_tool_outputs")),
    ),
    ("v1.1", "resume.json", |r| r.is_ok()),
    ("v1.1", "cancelled_during_tools.json", |r| r.is_ok()),
    (
        "v1.1",
        "tampered_completed_unknown_call.json",
        |r| matches!(r, Err(RunStateError::Inconsistent(m)) if m.contains("call_ghost")),
    ),
];

#[test]
fn each_fixture_loads_or_fails_as_expected() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    for (version, name, expect) in CASES {
        let loaded = RunState::from_json(&a, &fixture(version, name));
        assert!(expect(&loaded), "{version}/{name}: unexpected {loaded:?}");
        if let Err(e) = &loaded {
            assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn every_fixture_file_is_checked() {
    for version in std::fs::read_dir(fixtures()).expect("fixture dir") {
        let version = version.expect("entry");
        let v = version.file_name().to_string_lossy().into_owned();
        assert!(
            SUPPORTED_RUN_STATE_SCHEMA_VERSIONS.contains(&v.trim_start_matches('v')),
            "fixtures of unsupported version {v}"
        );
        for file in std::fs::read_dir(version.path()).expect("version dir") {
            let name = file
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            assert!(
                CASES.iter().any(|(cv, cn, _)| *cv == v && *cn == name),
                "fixture {v}/{name} has no case"
            );
        }
    }
}

#[test]
fn the_current_format_round_trips_unchanged() {
    assert_eq!(RUN_STATE_SCHEMA_VERSION, "1.1");
    let model = ScriptedModel::new();
    let a = agents(&model);
    for name in ["resume.json", "cancelled_during_tools.json"] {
        let text = fixture("v1.1", name);
        let state = RunState::from_json(&a, &text).expect("load");
        let written: Value =
            serde_json::from_str(&state.to_json().expect("to_json")).expect("json");
        let fixture: Value = serde_json::from_str(&text).expect("json");
        // A format change without a new schema version fails here.
        assert_eq!(written, fixture, "{name}");
        assert_eq!(
            RunState::from_json(&a, &state.to_json().expect("to_json")),
            Ok(state)
        );
    }
}

#[test]
fn an_older_version_loads_and_is_written_as_the_current_one() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let old = RunState::from_json(&a, &fixture("v1.0", "resume.json")).expect("load 1.0");
    let new = RunState::from_json(&a, &fixture("v1.1", "resume.json")).expect("load 1.1");
    assert_eq!(old, new);
    let written: Value = serde_json::from_str(&old.to_json().expect("to_json")).expect("json");
    assert_eq!(written["$schemaVersion"], "1.1");
}

#[tokio::test]
async fn a_state_cancelled_during_tools_runs_only_the_unfinished_calls() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let state =
        RunState::from_json(&a, &fixture("v1.1", "cancelled_during_tools.json")).expect("load");
    model.push_text("Hi, hi.");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "Hi, hi.");
    // The finished call keeps the output it had (the echo tool would have
    // answered `echo:hi`); only the unfinished one ran.
    assert_eq!(
        outputs_in(&model.calls()[0]),
        vec![
            (
                "call_echo".to_owned(),
                "echo:hi (before the cancel)".to_owned()
            ),
            ("call_echo_2".to_owned(), "echo:there".to_owned())
        ]
    );
    model.assert_complete();
}

#[test]
fn the_resume_fixture_describes_the_interruption() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let state = RunState::from_json(&a, &fixture("v1.0", "resume.json")).expect("load");
    assert!(state.is_interrupted());
    assert!(!state.is_finished());
    assert_eq!(state.current_turn(), 1);
    assert_eq!(state.max_turns(), Some(10));
    assert_eq!(state.current_agent(), "Assistant");
    assert_eq!(state.trace_id(), Some("trace_0123456789abcdef"));
    assert_eq!(state.usage().total_tokens, 28);
    assert_eq!(state.model_responses().len(), 1);
    assert_eq!(
        state.original_input(),
        [Item::user("Delete a.txt, then say hi.")]
    );
    let item = &state.interruptions()[0];
    assert_eq!(
        (
            item.tool_name.as_str(),
            item.call_id.as_str(),
            item.agent.as_str()
        ),
        ("delete_file", "call_delete", "Assistant")
    );
    assert_eq!(item.arguments_json().expect("json")["text"], "a.txt");
    assert_eq!(state.approval_status(item), None);
}

#[tokio::test]
async fn the_resume_fixture_resumes_without_calling_the_model_for_its_turn() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let mut state = RunState::from_json(&a, &fixture("v1.0", "resume.json")).expect("load");
    let item = state.interruptions()[0].clone();
    state.approve(&item, Always::No);
    model.push_text("Deleted a.txt. Hi!");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "Deleted a.txt. Hi!");
    assert_eq!(model.call_count(), 1);
    assert_eq!(
        outputs_in(&model.calls()[0]),
        vec![
            ("call_echo".to_owned(), "echo:hi".to_owned()),
            ("call_delete".to_owned(), "delete_file:a.txt".to_owned())
        ]
    );
    assert_eq!(
        model.calls()[0].input[0],
        Item::user("Delete a.txt, then say hi.")
    );
    assert_eq!(
        (r.turns, r.usage.requests, r.usage.total_tokens),
        (2, 2, 28)
    );
    model.assert_complete();
}

#[tokio::test]
async fn minimal_states_resume_with_the_next_model_call() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let state = RunState::from_json(&a, &fixture("v1.0", "minimal.json")).expect("load");
    model.push_text("Hi.");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.final_output_text(), "Hi.");
    assert_eq!(model.calls()[0].input, vec![Item::user("Hello")]);
    assert_eq!(model.calls()[0].tool_names(), vec!["delete_file", "echo"]);

    // A state of an agent reached through a handoff resumes with that agent.
    let state = RunState::from_json(&a, &fixture("v1.0", "handoff_target.json")).expect("load");
    model.push_text("Archived.");
    let r = Runner::run(&a, state, RunOptions::default())
        .await
        .expect("resume");
    assert_eq!(r.last_agent.name(), "Archivist");
    assert_eq!(model.calls()[1].tool_names(), vec!["archive"]);
    model.assert_complete();
}

#[tokio::test]
async fn a_state_checked_against_other_agents_fails_to_resume_with_a_user_error() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let state = RunState::from_json(&a, &fixture("v1.0", "resume.json")).expect("load");
    // The same state, handed to an agent without the tools of its turn.
    let other = agent("Assistant", &model).build();
    let e = expect_err(Runner::run(&other, state, RunOptions::default()).await);
    assert!(
        matches!(&e.error, agents_core::Error::UserError(m) if m.contains("delete_file")),
        "{}",
        e.error
    );
    assert_eq!(model.call_count(), 0);
}

/// Every way of breaking one field of the resume fixture gives a result,
/// never a panic.
#[test]
fn broken_fields_never_panic() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let base: Value = serde_json::from_str(&fixture("v1.0", "resume.json")).expect("json");
    let replacements = [
        Value::Null,
        Value::from(-1),
        Value::from(u64::MAX),
        Value::from("x"),
        Value::Array(vec![]),
        Value::Object(Default::default()),
    ];
    let mut paths: Vec<Vec<String>> = Vec::new();
    collect_paths(&base, &mut Vec::new(), &mut paths);
    assert!(paths.len() > 100, "{} paths", paths.len());
    let mut loaded = 0;
    for path in &paths {
        for replacement in replacements.iter().map(Some).chain([None]) {
            let mut v = base.clone();
            edit(&mut v, path, replacement.cloned());
            if RunState::from_json(&a, &v.to_string()).is_ok() {
                loaded += 1;
            }
        }
    }
    // Free-form fields (texts, token counts, optional ids) may change; most
    // other edits are refused.
    let total = paths.len() * (replacements.len() + 1);
    assert!(loaded * 4 < total, "{loaded} of {total} edits loaded");
}

fn collect_paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (k, child) in children {
        at.push(k);
        out.push(at.clone());
        collect_paths(child, at, out);
        at.pop();
    }
}

/// Replaces (or, with `None`, removes) the value at `path`.
fn edit(v: &mut Value, path: &[String], replacement: Option<Value>) {
    let (last, parents) = path.split_last().expect("a path");
    let mut cur = v;
    for p in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).expect("path"),
            Value::Array(a) => &mut a[p.parse::<usize>().expect("index")],
            _ => unreachable!(),
        };
    }
    match (cur, replacement) {
        (Value::Object(m), Some(r)) => {
            m.insert(last.clone(), r);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(a), Some(r)) => a[last.parse::<usize>().expect("index")] = r,
        (Value::Array(a), None) => {
            a.remove(last.parse::<usize>().expect("index"));
        }
        _ => unreachable!(),
    }
}

/// A malformed field is named by its JSON path.
#[test]
fn malformed_errors_name_the_json_path() {
    let model = ScriptedModel::new();
    let a = agents(&model);
    let base: Value = serde_json::from_str(&fixture("v1.1", "resume.json")).expect("json");
    let check = |path: &[&str], replacement: Value, expected: &str| {
        let mut v = base.clone();
        let path: Vec<String> = path.iter().map(|p| (*p).to_owned()).collect();
        edit(&mut v, &path, Some(replacement));
        match RunState::from_json(&a, &v.to_string()) {
            Err(RunStateError::Malformed(m)) => {
                assert!(m.contains(expected), "{path:?}: `{m}` lacks `{expected}`")
            }
            other => panic!("{path:?}: unexpected {other:?}"),
        }
    };
    check(&["current_turn"], Value::from("x"), "at `current_turn`");
    check(
        &["usage", "input_tokens"],
        Value::from(-1),
        "at `usage.input_tokens`",
    );
    check(
        &["generated_items", "1", "agent"],
        Value::from(7),
        "at `generated_items[1].agent`",
    );
    check(
        &["last_processed_response", "turn_items_start"],
        Value::from("0"),
        "at `last_processed_response.turn_items_start`",
    );
    check(&["approvals"], Value::from(true), "at `approvals`");
}
