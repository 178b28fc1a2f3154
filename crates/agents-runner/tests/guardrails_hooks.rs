//! Input and output guardrails, and lifecycle hooks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agents_core::testing::{function_call_with_id, handoff_call, ScriptedModel};
use agents_core::{
    Agent, Error, FinalOutput, GuardrailOutput, InputGuardrail, Item, OutputGuardrail, RunContext,
};
use agents_runner::{RunConfig, RunOptions, Runner};
use common::*;
use serde_json::json;

// ---- Input guardrails -----------------------------------------------------

/// An input guardrail that counts its runs, records its input and passes
/// (or trips, when `trip`).
fn counting_input(name: &str, count: &Arc<AtomicUsize>, seen: &Log, trip: bool) -> InputGuardrail {
    let (count, seen) = (Arc::clone(count), seen.clone());
    let label = name.to_owned();
    InputGuardrail::new(
        name,
        move |_ctx: RunContext, agent: Agent, input: Arc<[Item]>| {
            count.fetch_add(1, Ordering::SeqCst);
            let texts: Vec<String> = input
                .iter()
                .filter_map(Item::as_message)
                .map(|m| m.text())
                .collect();
            seen.push(format!("{label}@{}:{}", agent.name(), texts.join("|")));
            async move {
                Ok(if trip {
                    GuardrailOutput::trip(json!({"reason": "forbidden"}))
                } else {
                    GuardrailOutput::pass(json!({"ok": true}))
                })
            }
        },
    )
}

#[tokio::test]
async fn input_guardrails_run_for_the_starting_agent_on_the_first_turn_only() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let (ca, cb, cr) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let seen = Log::default();
    let b = agent("B", &mb)
        .input_guardrail(counting_input("b_guard", &cb, &seen, true))
        .build();
    let a = agent("A", &ma)
        .tool(echo("echo"))
        .handoff_to(&b)
        .input_guardrail(counting_input("a_guard", &ca, &seen, false))
        .input_guardrail(counting_input("a_blocking", &ca, &seen, false).blocking())
        .build();
    ma.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("done");
    let options = RunOptions::default().run_config(RunConfig {
        input_guardrails: vec![counting_input("run_guard", &cr, &seen, false)],
        ..RunConfig::default()
    });
    let r = Runner::run(&a, "hello", options).await.expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(ca.load(Ordering::SeqCst), 2, "each of A's guardrails once");
    assert_eq!(cr.load(Ordering::SeqCst), 1, "the run's guardrail once");
    assert_eq!(cb.load(Ordering::SeqCst), 0, "never for the handoff target");
    let mut entries = seen.entries();
    entries.sort();
    assert_eq!(
        entries,
        vec!["a_blocking@A:hello", "a_guard@A:hello", "run_guard@A:hello"]
    );
    // Passing results are listed on the result.
    let mut listed: Vec<(String, String, bool)> = r
        .input_guardrail_results
        .iter()
        .map(|g| {
            (
                g.guardrail.clone(),
                g.agent.clone(),
                g.output.tripwire_triggered,
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("a_blocking".into(), "A".into(), false),
            ("a_guard".into(), "A".into(), false),
            ("run_guard".into(), "A".into(), false),
        ]
    );
    assert_eq!(
        r.input_guardrail_results[0].output.output_info,
        json!({"ok": true})
    );
}

#[tokio::test]
async fn parallel_input_guardrails_run_alongside_the_first_model_call() {
    let model = ScriptedModel::new();
    model.push_text("an answer that is thrown away");
    let m = Arc::clone(&model);
    // This guardrail only trips once it has seen the model called: it can
    // only finish if it runs concurrently with the model call.
    let guard = InputGuardrail::new(
        "watcher",
        move |_c: RunContext, _a: Agent, _i: Arc<[Item]>| {
            let m = Arc::clone(&m);
            async move {
                for _ in 0..2000 {
                    if m.call_count() > 0 {
                        return Ok(GuardrailOutput::trip(json!("saw the model call")));
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(GuardrailOutput::pass(json!("the model was never called")))
            }
        },
    );
    let a = agent("A", &model).input_guardrail(guard).build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    match &e.error {
        Error::InputGuardrailTripwire(g) => {
            assert_eq!(g.guardrail, "watcher");
            assert_eq!(g.agent, "A");
            assert_eq!(g.output.output_info, json!("saw the model call"));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(model.call_count(), 1);
    // The tripped result is reported with the error.
    assert_eq!(e.details.input_guardrail_results.len(), 1);
}

#[tokio::test]
async fn blocking_input_guardrails_finish_before_the_model_is_called() {
    let model = ScriptedModel::new();
    model.push_text("never");
    let (count, seen) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let a = agent("A", &model)
        .input_guardrail(counting_input("no_secrets", &count, &seen, true).blocking())
        .build();
    let e = expect_err(Runner::run(&a, "my password is hunter2", RunOptions::default()).await);
    match &e.error {
        Error::InputGuardrailTripwire(g) => {
            assert_eq!(g.guardrail, "no_secrets");
            assert!(g.output.tripwire_triggered);
            assert_eq!(g.output.output_info, json!({"reason": "forbidden"}));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        model.call_count(),
        0,
        "a blocking tripwire prevents the call"
    );
    assert!(e.details.new_items.is_empty());
    assert_eq!(e.details.input_guardrail_results.len(), 1);
    assert_eq!(e.details.input_guardrail_results[0].guardrail, "no_secrets");

    // Same through the run config.
    let model = ScriptedModel::new();
    model.push_text("never");
    let a = agent("A", &model).build();
    let options = RunOptions::default().run_config(RunConfig {
        input_guardrails: vec![counting_input("cfg", &count, &seen, true).blocking()],
        ..RunConfig::default()
    });
    let e = expect_err(Runner::run(&a, "hi", options).await);
    assert!(matches!(&e.error, Error::InputGuardrailTripwire(g) if g.guardrail == "cfg"));
    assert_eq!(model.call_count(), 0);
}

#[tokio::test]
async fn passing_guardrail_results_survive_a_failed_model_call() {
    let model = ScriptedModel::new();
    model.push_error(agents_core::ModelError::Other("overloaded".into()));
    let (count, seen) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let a = agent("A", &model)
        .input_guardrail(counting_input("first", &count, &seen, false).blocking())
        .input_guardrail(counting_input("second", &count, &seen, false))
        .build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    assert!(matches!(e.error, Error::Model(_)), "{}", e.error);
    let mut names: Vec<&str> = e
        .details
        .input_guardrail_results
        .iter()
        .map(|g| g.guardrail.as_str())
        .collect();
    names.sort();
    assert_eq!(names, vec!["first", "second"]);
}

// ---- Output guardrails ----------------------------------------------------

fn output_guard(name: &str, trip: bool, seen: &Log) -> OutputGuardrail {
    let seen = seen.clone();
    let label = name.to_owned();
    OutputGuardrail::new(
        name,
        move |_c: RunContext, agent: Agent, output: FinalOutput| {
            seen.push(format!("{label}@{}:{}", agent.name(), output.to_text()));
            async move {
                Ok(if trip {
                    GuardrailOutput::trip(json!("bad output"))
                } else {
                    GuardrailOutput::pass(json!("fine"))
                })
            }
        },
    )
}

#[tokio::test]
async fn output_guardrails_run_only_for_the_agent_with_the_final_output() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let seen = Log::default();
    let b = agent("B", &mb)
        .output_guardrail(output_guard("b_out", false, &seen))
        .build();
    let a = agent("A", &ma)
        .handoff_to(&b)
        .output_guardrail(output_guard("a_out", true, &seen))
        .build();
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("B's answer");
    let options = RunOptions::default().run_config(RunConfig {
        output_guardrails: vec![output_guard("run_out", false, &seen)],
        ..RunConfig::default()
    });
    let r = Runner::run(&a, "hi", options)
        .await
        .expect("A's guardrail must not run");
    let mut entries = seen.entries();
    entries.sort();
    assert_eq!(entries, vec!["b_out@B:B's answer", "run_out@B:B's answer"]);
    let mut listed: Vec<(String, String)> = r
        .output_guardrail_results
        .iter()
        .map(|g| (g.guardrail.clone(), g.agent.clone()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![("b_out".into(), "B".into()), ("run_out".into(), "B".into())]
    );
}

#[tokio::test]
async fn a_tripped_output_guardrail_ends_the_run() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("leaked secret");
    let seen = Log::default();
    let a = agent("A", &model)
        .tool(echo("echo"))
        .output_guardrail(output_guard("no_leaks", true, &seen))
        .build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    match &e.error {
        Error::OutputGuardrailTripwire(g) => {
            assert_eq!(g.guardrail, "no_leaks");
            assert_eq!(g.agent, "A");
            assert_eq!(g.agent_output, FinalOutput::Text("leaked secret".into()));
            assert_eq!(g.output.output_info, json!("bad output"));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        names(&e.details.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
}

// ---- Hooks ----------------------------------------------------------------

/// A → (tool) → handoff → B answers, with run hooks and agent hooks on A and B.
fn hooked_run(
    run_hooks: Recorder,
    a_hooks: Recorder,
    b_hooks: Recorder,
) -> (Agent, RunOptions, Arc<ScriptedModel>, Arc<ScriptedModel>) {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("B", &mb).hooks(b_hooks).build();
    let a = agent("A", &ma)
        .tool(echo("echo"))
        .handoff_to(&b)
        .hooks(a_hooks)
        .build();
    ma.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("bye");
    (a, RunOptions::default().hooks(run_hooks), ma, mb)
}

#[tokio::test]
async fn run_and_agent_hooks_fire_in_order() {
    let log = Log::default();
    let (a, options, _, _) = hooked_run(
        Recorder::new("run", &log),
        Recorder::new("a", &log),
        Recorder::new("b", &log),
    );
    let r = Runner::run(&a, "hi", options).await.expect("run");
    assert_eq!(r.final_output_text(), "bye");
    assert_eq!(
        log.entries(),
        vec![
            "run:agent_start:A",
            "a:agent_start:A",
            "run:llm_start:A",
            "a:llm_start:A",
            "run:llm_end:A",
            "a:llm_end:A",
            "run:tool_start:echo",
            "a:tool_start:echo",
            "run:tool_end:echo=echo:x",
            "a:tool_end:echo=echo:x",
            "run:llm_start:A",
            "a:llm_start:A",
            "run:llm_end:A",
            "a:llm_end:A",
            "run:handoff:A->B",
            "b:handoff:A->B",
            "run:agent_start:B",
            "b:agent_start:B",
            "run:llm_start:B",
            "b:llm_start:B",
            "run:llm_end:B",
            "b:llm_end:B",
            "run:agent_end:B=bye",
            "b:agent_end:B=bye",
        ]
    );
}

#[tokio::test]
async fn streamed_runs_fire_the_same_hooks() {
    let (log1, log2) = (Log::default(), Log::default());
    let (a, options, _, _) = hooked_run(
        Recorder::new("run", &log1),
        Recorder::new("a", &log1),
        Recorder::new("b", &log1),
    );
    Runner::run(&a, "hi", options).await.expect("run");
    let (a, options, _, _) = hooked_run(
        Recorder::new("run", &log2),
        Recorder::new("a", &log2),
        Recorder::new("b", &log2),
    );
    Runner::run_streamed(&a, "hi", options)
        .result()
        .await
        .expect("run");
    assert_eq!(log1.entries(), log2.entries());
}

#[tokio::test]
async fn a_failing_hook_ends_the_run() {
    // (event, hooks level that fails, model calls made before the failure)
    let cases = [
        ("agent_start", "run", 0),
        ("agent_start", "a", 0),
        ("llm_start", "run", 0),
        ("llm_end", "a", 1),
        ("tool_start", "run", 1),
        ("tool_end", "a", 1),
        ("handoff", "b", 2),
        ("agent_end", "run", 3),
    ];
    for (event, level, calls) in cases {
        let log = Log::default();
        let make = |tag: &'static str| {
            if tag == level {
                Recorder::failing_on(tag, &log, event)
            } else {
                Recorder::new(tag, &log)
            }
        };
        let (a, options, ma, mb) = hooked_run(make("run"), make("a"), make("b"));
        let e = expect_err(Runner::run(&a, "hi", options).await);
        match &e.error {
            Error::Hook(msg) => assert!(
                msg.contains(&format!("{level} refused {event}")),
                "{event}/{level}: {msg}"
            ),
            other => panic!("{event}/{level}: unexpected {other}"),
        }
        assert_eq!(
            ma.call_count() + mb.call_count(),
            calls,
            "{event}/{level}: model calls"
        );
        // Nothing fires after the failing hook.
        let last = log.entries().pop().expect("a hook fired");
        assert!(
            last.starts_with(&format!("{level}:{event}")),
            "{event}/{level}: last entry {last}"
        );
    }
}

#[tokio::test]
async fn tool_hooks_are_balanced_for_failing_and_unknown_tools() {
    let log = Log::default();
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "broken", &args("x")),
        function_call_with_id("c2", "nope", &args("y")),
    ]);
    model.push_text("done");
    let a = agent("A", &model).tool(failing("broken", "bad")).build();
    Runner::run(
        &a,
        "hi",
        RunOptions::default().hooks(Recorder::new("run", &log)),
    )
    .await
    .expect("run");
    let tool_events: Vec<String> = log
        .entries()
        .into_iter()
        .filter(|e| e.contains(":tool_"))
        .collect();
    let starts: Vec<&str> = tool_events
        .iter()
        .filter_map(|e| e.strip_prefix("run:tool_start:"))
        .collect();
    let ends: Vec<&str> = tool_events
        .iter()
        .filter_map(|e| e.strip_prefix("run:tool_end:"))
        .map(|e| e.split('=').next().unwrap_or(e))
        .collect();
    assert_eq!(starts, vec!["broken", "nope"]);
    assert_eq!(ends, vec!["broken", "nope"], "{tool_events:?}");
    // The end hooks see the error outputs the model reads.
    assert!(tool_events
        .iter()
        .any(|e| e.starts_with("run:tool_end:nope=") && e.contains("does not exist")));
    assert!(tool_events
        .iter()
        .any(|e| e.starts_with("run:tool_end:broken=") && e.contains("bad")));
}
