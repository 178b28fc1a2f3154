//! Property tests: loading arbitrary mutations of every `RunState` fixture
//! (values replaced, keys deleted, types changed, text truncated, garbage
//! inserted) never panics; it gives a typed error, or a state that writes
//! itself back to JSON and loads again unchanged.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use agents_core::testing::ScriptedModel;
use agents_core::Agent;
use agents_runner::{RunOptions, RunState, RunStateError, Runner};
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// Every fixture file: `(version/name, text)`.
fn fixtures() -> &'static [(String, String)] {
    static ALL: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run_state");
        let mut out = Vec::new();
        for version in std::fs::read_dir(&root).expect("fixture dir") {
            let version = version.expect("entry").path();
            for file in std::fs::read_dir(&version).expect("version dir") {
                let path = file.expect("entry").path();
                let text = std::fs::read_to_string(&path).expect("fixture text");
                let name = path
                    .strip_prefix(&root)
                    .expect("under the root")
                    .display()
                    .to_string();
                out.push((name, text));
            }
        }
        out.sort();
        assert!(out.len() >= 20, "{} fixtures", out.len());
        out
    })
}

/// The agents the fixtures were written for (see `tests/run_state.rs`),
/// on a model that answers once.
fn agents() -> (Agent, Arc<ScriptedModel>) {
    let model = ScriptedModel::new();
    model.push_text("ok");
    let archivist = agent("Archivist", &model).tool(echo("archive")).build();
    let a = agent("Assistant", &model)
        .tool(echo("delete_file").needs_approval(true))
        .tool(echo("echo"))
        .handoff_to(&archivist)
        .build();
    (a, model)
}

/// Loads `json`: a typed error, or a state that round-trips and resumes
/// (to a result or a run error, without a panic).
fn check(what: &str, json: &str) -> Result<(), TestCaseError> {
    let (agent, _model) = agents();
    match RunState::from_json(&agent, json) {
        Ok(state) => {
            let written = state
                .to_json()
                .map_err(|e| TestCaseError::fail(format!("{what}: to_json failed: {e}")))?;
            let again = RunState::from_json(&agent, &written);
            prop_assert_eq!(
                again,
                Ok(state.clone()),
                "{}: the written state loads unchanged",
                what
            );
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let _ = rt.block_on(Runner::run(&agent, state, RunOptions::default()));
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty(), "{}: empty message", what);
            // Every error is one of the documented kinds.
            prop_assert!(
                matches!(
                    e,
                    RunStateError::Malformed(_)
                        | RunStateError::MissingSchemaVersion
                        | RunStateError::UnsupportedSchemaVersion { .. }
                        | RunStateError::UnknownAgent { .. }
                        | RunStateError::UnknownTool { .. }
                        | RunStateError::Inconsistent(_)
                ),
                "{}: unexpected {:?}",
                what,
                e
            );
        }
    }
    Ok(())
}

/// Every path (keys and indices) in `v`.
fn paths(v: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
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
            walk(child, at, out);
            at.pop();
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// The value at `path`, mutably.
fn at<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(p)?,
            Value::Array(a) => a.get_mut(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the key or element at `path`.
fn remove(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    match at(v, parents) {
        Some(Value::Object(m)) => {
            m.remove(last);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

/// Small arbitrary JSON values, with the edge cases that matter for a run
/// state (huge and negative numbers, empty containers, odd strings).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
        (-1e300f64..1e300).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("function_call"),
            Just("message"),
            Just("tool_call_output_item"),
            Just("next_step_run_tools"),
            Just("1.0"),
            Just("1.1"),
            Just("Assistant"),
            Just("call_echo"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn fixture_index() -> impl Strategy<Value = usize> {
    0..fixtures().len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn replacing_a_value_never_panics(f in fixture_index(), p in any::<Index>(), new in json_value()) {
        let (name, text) = &fixtures()[f];
        let Ok(mut v) = serde_json::from_str::<Value>(text) else { return Ok(()) };
        let all = paths(&v);
        if all.is_empty() {
            return Ok(());
        }
        let path = &all[p.index(all.len())];
        if let Some(slot) = at(&mut v, path) {
            *slot = new;
        }
        check(&format!("{name} with {path:?} replaced"), &v.to_string())?;
    }

    #[test]
    fn deleting_keys_never_panics(f in fixture_index(), picks in prop::collection::vec(any::<Index>(), 1..4)) {
        let (name, text) = &fixtures()[f];
        let Ok(mut v) = serde_json::from_str::<Value>(text) else { return Ok(()) };
        for p in &picks {
            let all = paths(&v);
            if all.is_empty() {
                break;
            }
            remove(&mut v, &all[p.index(all.len())]);
        }
        check(&format!("{name} with keys deleted"), &v.to_string())?;
    }

    #[test]
    fn changing_a_type_never_panics(f in fixture_index(), p in any::<Index>(), kind in 0..6u8) {
        let (name, text) = &fixtures()[f];
        let Ok(mut v) = serde_json::from_str::<Value>(text) else { return Ok(()) };
        let all = paths(&v);
        if all.is_empty() {
            return Ok(());
        }
        let path = &all[p.index(all.len())];
        if let Some(slot) = at(&mut v, path) {
            // The same content in another JSON type.
            *slot = match kind {
                0 => Value::from(slot.to_string()),
                1 => Value::Array(vec![slot.take()]),
                2 => Value::Object([("value".to_owned(), slot.take())].into_iter().collect()),
                3 => Value::from(slot.as_str().map_or(0, str::len)),
                4 => Value::Bool(!slot.is_null()),
                _ => Value::Null,
            };
        }
        check(&format!("{name} with {path:?} retyped"), &v.to_string())?;
    }

    #[test]
    fn truncated_text_never_panics(f in fixture_index(), cut in any::<Index>()) {
        let (name, text) = &fixtures()[f];
        let mut end = cut.index(text.len().max(1));
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        check(&format!("{name} cut at {end}"), &text[..end])?;
    }

    #[test]
    fn inserted_garbage_never_panics(
        f in fixture_index(),
        pos in any::<Index>(),
        garbage in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let (name, text) = &fixtures()[f];
        let mut bytes = text.as_bytes().to_vec();
        let at = pos.index(bytes.len() + 1);
        bytes.splice(at..at, garbage);
        let text = String::from_utf8_lossy(&bytes);
        check(&format!("{name} with garbage at {at}"), &text)?;
    }
}

#[test]
fn every_fixture_as_given_loads_or_fails_typed() {
    for (name, text) in fixtures() {
        let r: Result<(), TestCaseError> = check(name, text);
        assert!(r.is_ok(), "{name}: {r:?}");
    }
}
