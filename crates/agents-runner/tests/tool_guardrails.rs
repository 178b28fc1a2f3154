//! Tool guardrails (allow / reject / raise, before and after a call), and the
//! gaps of run guardrails: run-level blocking guardrails, guardrails that run
//! an agent, and the results carried by tripwire errors.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agents_core::guardrail::{
    ToolGuardrailBehavior, ToolGuardrailOutput, ToolInputGuardrail, ToolInputGuardrailData,
    ToolOutputGuardrail, ToolOutputGuardrailData,
};
use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::{
    Agent, Error, FinalOutput, FunctionTool, GuardrailOutput, InputGuardrail, Item,
    OutputGuardrail, RunContext, ToolContext,
};
use agents_runner::{AgentToolExt, RunConfig, RunOptions, Runner, ToolErrorPolicy};
use common::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// An echo tool that counts its invocations.
fn counted_echo(name: &str, count: &Arc<AtomicUsize>) -> FunctionTool<(), Text> {
    let (prefix, count) = (name.to_owned(), Arc::clone(count));
    FunctionTool::new(name, "Echoes.", move |_ctx: ToolContext, a: Text| {
        count.fetch_add(1, Ordering::SeqCst);
        let out = format!("{prefix}:{}", a.text);
        async move { Ok::<_, String>(out) }
    })
}

/// An input guardrail that logs `"<name>"` and answers `decision`.
fn input_guard(name: &str, log: &Log, decision: ToolGuardrailOutput) -> ToolInputGuardrail {
    let (label, log) = (name.to_owned(), log.clone());
    ToolInputGuardrail::new(name, move |_data: ToolInputGuardrailData| {
        log.push(label.clone());
        let decision = decision.clone();
        async move { Ok(decision) }
    })
}

/// An output guardrail that logs `"<name>:<output>"` and answers `decision`.
fn output_guard(name: &str, log: &Log, decision: ToolGuardrailOutput) -> ToolOutputGuardrail {
    let (label, log) = (name.to_owned(), log.clone());
    ToolOutputGuardrail::new(name, move |data: ToolOutputGuardrailData| {
        log.push(format!("{label}:{}", data.output.to_text()));
        let decision = decision.clone();
        async move { Ok(decision) }
    })
}

/// The model calls `echo` with `{"text":"x"}` as call `c1`, then says "done".
fn one_call(model: &ScriptedModel) {
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("done");
}

// ---- Input guardrails --------------------------------------------------------

#[derive(Debug, Default)]
struct Tenant {
    name: &'static str,
}

#[tokio::test]
async fn an_input_guardrail_sees_the_context_the_call_and_the_parsed_arguments() {
    let model = ScriptedModel::new();
    let seen = Log::default();
    let s = seen.clone();
    let guard = ToolInputGuardrail::new("inspect", move |d: ToolInputGuardrailData<Tenant>| {
        s.push(format!(
            "tenant={} agent={} tool={} call={} raw={} parsed_text={}",
            d.context.context().name,
            d.agent.name(),
            d.context.tool_name,
            d.call.call_id,
            d.call.arguments,
            d.arguments["text"]
        ));
        async move { Ok(ToolGuardrailOutput::allow().with_info(json!({"checked": true}))) }
    });
    let tool = FunctionTool::new(
        "echo",
        "Echoes.",
        |_ctx: ToolContext<Tenant>, a: Text| async move { Ok::<_, String>(a.text) },
    )
    .input_guardrail(guard);
    let a: Agent<Tenant> = Agent::builder("A").model(model.clone()).tool(tool).build();
    model.push_output(vec![function_call_with_id(
        "c1",
        "echo",
        r#"{"text":"hello"}"#,
    )]);
    model.push_text("done");
    let r = Runner::run(
        &a,
        "hi",
        RunOptions::default().context(Tenant { name: "acme" }),
    )
    .await
    .expect("run");
    assert_eq!(
        seen.entries(),
        vec![r#"tenant=acme agent=A tool=echo call=c1 raw={"text":"hello"} parsed_text="hello""#]
    );
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![("c1".into(), "hello".into())]
    );
    assert_eq!(r.tool_input_guardrail_results.len(), 1);
    let g = &r.tool_input_guardrail_results[0];
    assert_eq!(
        (g.guardrail.as_str(), g.tool.as_str(), g.call_id.as_str()),
        ("inspect", "echo", "c1")
    );
    assert_eq!(g.output.behavior, ToolGuardrailBehavior::Allow);
    assert_eq!(g.output.output_info, json!({"checked": true}));
    assert!(r.tool_output_guardrail_results.is_empty());
}

#[tokio::test]
async fn a_rejecting_input_guardrail_answers_for_the_tool_and_the_run_goes_on() {
    let model = ScriptedModel::new();
    let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let tool = counted_echo("echo", &count)
        .input_guardrail(input_guard(
            "no_x",
            &log,
            ToolGuardrailOutput::reject("Refused: x is not allowed."),
        ))
        .output_guardrail(output_guard("after", &log, ToolGuardrailOutput::allow()));
    let a = agent("A", &model).tool(tool).build();
    one_call(&model);
    let r = Runner::run(
        &a,
        "hi",
        RunOptions::default().hooks(Recorder::new("run", &log)),
    )
    .await
    .expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(count.load(Ordering::SeqCst), 0, "the tool never ran");
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![("c1".into(), "Refused: x is not allowed.".into())]
    );
    // A rejection is the call's output, not a failure.
    assert_eq!(
        tool_outputs(&r.new_items),
        vec![("c1".into(), "Refused: x is not allowed.".into(), false)]
    );
    let tool_log: Vec<String> = log
        .entries()
        .into_iter()
        .filter(|e| e.contains("tool_") || !e.starts_with("run:"))
        .collect();
    // No output guardrail on a rejected call; the hooks stay balanced.
    assert_eq!(
        tool_log,
        vec![
            "run:tool_start:echo",
            "no_x",
            "run:tool_end:echo=Refused: x is not allowed."
        ]
    );
    assert!(matches!(
        &r.tool_input_guardrail_results[0].output.behavior,
        ToolGuardrailBehavior::RejectContent { message } if message == "Refused: x is not allowed."
    ));
}

#[tokio::test]
async fn a_raising_input_guardrail_ends_the_run_with_a_typed_error() {
    let model = ScriptedModel::new();
    let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let tool = counted_echo("echo", &count).input_guardrail(input_guard(
        "stop_everything",
        &log,
        ToolGuardrailOutput::raise("x is dangerous").with_info(json!({"score": 0.99})),
    ));
    let a = agent("A", &model).tool(tool).build();
    model.push_output(vec![
        text_item("calling"),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    let e = expect_err(
        Runner::run(
            &a,
            "hi",
            RunOptions::default().hooks(Recorder::new("run", &log)),
        )
        .await,
    );
    match &e.error {
        Error::ToolGuardrailTripwire(g) => {
            assert_eq!(g.guardrail, "stop_everything");
            assert_eq!(g.tool, "echo");
            assert_eq!(g.call_id, "c1");
            assert_eq!(g.output.message(), Some("x is dangerous"));
            assert_eq!(g.output.output_info, json!({"score": 0.99}));
            assert_eq!(
                e.error.to_string(),
                "tool guardrail `stop_everything` tripped on tool `echo`: x is dangerous"
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 0);
    assert_eq!(model.call_count(), 1);
    // The work so far and the guardrail's result travel with the error.
    assert_eq!(
        names(&e.details.new_items),
        vec!["message_output_created", "tool_called"]
    );
    assert_eq!(e.details.tool_input_guardrail_results.len(), 1);
    assert_eq!(
        e.details.tool_input_guardrail_results[0].guardrail,
        "stop_everything"
    );
    // The run ended at the call: no on_tool_end.
    assert!(!log.entries().iter().any(|e| e.contains("tool_end")));
}

fn text_item(t: &str) -> Item {
    Item::assistant(t)
}

#[tokio::test]
async fn the_first_guardrail_that_does_not_allow_decides() {
    // (decisions in order, expected output or error, guardrails that ran)
    let allow = ToolGuardrailOutput::allow;
    let cases: Vec<(Vec<ToolGuardrailOutput>, Result<&str, &str>, Vec<&str>)> = vec![
        (vec![allow(), allow()], Ok("echo:x"), vec!["g0", "g1"]),
        (
            vec![
                allow(),
                ToolGuardrailOutput::reject("no"),
                ToolGuardrailOutput::raise("boom"),
            ],
            Ok("no"),
            vec!["g0", "g1"],
        ),
        (
            vec![
                ToolGuardrailOutput::raise("boom"),
                ToolGuardrailOutput::reject("no"),
            ],
            Err("boom"),
            vec!["g0"],
        ),
    ];
    for (decisions, expected, ran) in cases {
        let model = ScriptedModel::new();
        let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
        let mut tool = counted_echo("echo", &count);
        for (i, d) in decisions.iter().enumerate() {
            tool = tool.input_guardrail(input_guard(&format!("g{i}"), &log, d.clone()));
        }
        let a = agent("A", &model).tool(tool).build();
        one_call(&model);
        let outcome = Runner::run(&a, "hi", RunOptions::default()).await;
        assert_eq!(log.entries(), ran, "{decisions:?}");
        match expected {
            Ok(output) => {
                let r = outcome.expect("run");
                assert_eq!(tool_outputs(&r.new_items)[0].1, output, "{decisions:?}");
                assert_eq!(r.tool_input_guardrail_results.len(), ran.len());
            }
            Err(message) => match expect_err(outcome).error {
                Error::ToolGuardrailTripwire(g) => assert_eq!(g.output.message(), Some(message)),
                other => panic!("unexpected {other}"),
            },
        }
    }
}

// ---- Output guardrails -------------------------------------------------------

#[tokio::test]
async fn output_guardrails_see_the_output_and_allow_replace_or_raise() {
    for decision in [
        ToolGuardrailOutput::allow(),
        ToolGuardrailOutput::reject("[redacted]"),
        ToolGuardrailOutput::raise("leak detected"),
    ] {
        let model = ScriptedModel::new();
        let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
        let tool = counted_echo("echo", &count).output_guardrail(output_guard(
            "scan",
            &log,
            decision.clone(),
        ));
        let a = agent("A", &model).tool(tool).build();
        one_call(&model);
        let outcome = Runner::run(&a, "hi", RunOptions::default()).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "{decision:?}: the tool ran"
        );
        assert_eq!(log.entries(), vec!["scan:echo:x"], "{decision:?}");
        match &decision.behavior {
            ToolGuardrailBehavior::Allow => {
                let r = outcome.expect("run");
                assert_eq!(
                    outputs_in(&model.calls()[1]),
                    vec![("c1".into(), "echo:x".into())]
                );
                assert_eq!(r.tool_output_guardrail_results.len(), 1);
            }
            ToolGuardrailBehavior::RejectContent { .. } => {
                let r = outcome.expect("run");
                assert_eq!(
                    outputs_in(&model.calls()[1]),
                    vec![("c1".into(), "[redacted]".into())]
                );
                assert_eq!(
                    tool_outputs(&r.new_items),
                    vec![("c1".into(), "[redacted]".into(), false)]
                );
            }
            ToolGuardrailBehavior::RaiseException { .. } => {
                let e = expect_err(outcome);
                match &e.error {
                    Error::ToolGuardrailTripwire(g) => {
                        assert_eq!((g.guardrail.as_str(), g.tool.as_str()), ("scan", "echo"));
                        assert_eq!(g.output.message(), Some("leak detected"));
                    }
                    other => panic!("unexpected {other}"),
                }
                assert_eq!(model.call_count(), 1);
                assert_eq!(e.details.tool_output_guardrail_results.len(), 1);
            }
        }
    }
}

#[tokio::test]
async fn output_guardrails_skip_failed_calls() {
    let model = ScriptedModel::new();
    let log = Log::default();
    let tool = failing("echo", "disk full").output_guardrail(output_guard(
        "scan",
        &log,
        ToolGuardrailOutput::raise("never consulted"),
    ));
    let a = agent("A", &model).tool(tool).build();
    one_call(&model);
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert!(log.entries().is_empty());
    let outputs = tool_outputs(&r.new_items);
    assert!(
        outputs[0].2 && outputs[0].1.contains("disk full"),
        "{outputs:?}"
    );
}

// ---- Policy, malformed arguments, failures, order ----------------------------

#[tokio::test]
async fn guardrail_decisions_do_not_depend_on_the_tool_error_policy() {
    // A rejection under the raise policy is an output, not an error.
    let model = ScriptedModel::new();
    let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let tool = counted_echo("echo", &count).input_guardrail(input_guard(
        "no",
        &log,
        ToolGuardrailOutput::reject("rejected"),
    ));
    let a = agent("A", &model).tool(tool).build();
    one_call(&model);
    let raise = || {
        RunOptions::default().run_config(RunConfig {
            tool_error_policy: ToolErrorPolicy::Raise,
            ..RunConfig::default()
        })
    };
    let r = Runner::run(&a, "hi", raise()).await.expect("run");
    assert_eq!(r.final_output_text(), "done");
    // A raise under the return-to-model policy still ends the run (see
    // `a_raising_input_guardrail_ends_the_run_with_a_typed_error`); and under
    // the raise policy it is the guardrail's error, not a tool error.
    let model = ScriptedModel::new();
    let tool = counted_echo("echo", &count).input_guardrail(input_guard(
        "stop",
        &log,
        ToolGuardrailOutput::raise("stop"),
    ));
    let a = agent("A", &model).tool(tool).build();
    one_call(&model);
    let e = expect_err(Runner::run(&a, "hi", raise()).await);
    assert!(
        matches!(e.error, Error::ToolGuardrailTripwire(_)),
        "{}",
        e.error
    );
}

#[tokio::test]
async fn a_guarded_tool_never_runs_with_arguments_that_are_not_json() {
    let model = ScriptedModel::new();
    let (count, log) = (Arc::new(AtomicUsize::new(0)), Log::default());
    let tool = counted_echo("echo", &count).input_guardrail(input_guard(
        "check",
        &log,
        ToolGuardrailOutput::allow(),
    ));
    let a = agent("A", &model).tool(tool).build();
    model.push_output(vec![function_call_with_id("c1", "echo", "{not json")]);
    model.push_text("done");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert!(log.entries().is_empty(), "the guardrail cannot check it");
    assert_eq!(count.load(Ordering::SeqCst), 0);
    let outputs = tool_outputs(&r.new_items);
    assert!(
        outputs[0].2 && outputs[0].1.contains("invalid arguments"),
        "{outputs:?}"
    );
}

#[tokio::test]
async fn a_failing_guardrail_function_ends_the_run_with_a_user_error() {
    for phase in ["input", "output"] {
        let model = ScriptedModel::new();
        let count = Arc::new(AtomicUsize::new(0));
        let tool = counted_echo("echo", &count);
        let tool = if phase == "input" {
            tool.input_guardrail(ToolInputGuardrail::new(
                "broken",
                |_d: ToolInputGuardrailData| async { Err("classifier offline".to_owned()) },
            ))
        } else {
            tool.output_guardrail(ToolOutputGuardrail::new(
                "broken",
                |_d: ToolOutputGuardrailData| async { Err("classifier offline".to_owned()) },
            ))
        };
        let a = agent("A", &model).tool(tool).build();
        one_call(&model);
        let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
        match &e.error {
            Error::UserError(msg) => assert!(
                msg.contains(&format!("tool {phase} guardrail `broken` on `echo`"))
                    && msg.contains("classifier offline"),
                "{msg}"
            ),
            other => panic!("{phase}: unexpected {other}"),
        }
        assert_eq!(
            count.load(Ordering::SeqCst),
            usize::from(phase == "output"),
            "{phase}"
        );
    }
}

#[tokio::test]
async fn guardrail_results_keep_the_call_order_of_concurrent_calls() {
    let model = ScriptedModel::new();
    let log = Log::default();
    let slow = sleeping("slow", Duration::from_millis(40))
        .input_guardrail(input_guard("in_slow", &log, ToolGuardrailOutput::allow()))
        .output_guardrail(output_guard("out_slow", &log, ToolGuardrailOutput::allow()));
    let fast = sleeping("fast", Duration::from_millis(1))
        .input_guardrail(input_guard("in_fast", &log, ToolGuardrailOutput::allow()))
        .output_guardrail(output_guard("out_fast", &log, ToolGuardrailOutput::allow()));
    let a = agent("A", &model).tool(slow).tool(fast).build();
    model.push_output(vec![
        function_call_with_id("c1", "slow", &args("a")),
        function_call_with_id("c2", "fast", &args("b")),
    ]);
    model.push_text("done");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    // The fast call finished first...
    let entries = log.entries();
    let pos = |e: &str| entries.iter().position(|x| x.starts_with(e)).expect(e);
    assert!(pos("out_fast") < pos("out_slow"), "{entries:?}");
    // ...but the results are listed in call order.
    let listed = |v: &[agents_core::ToolGuardrailResult]| -> Vec<String> {
        v.iter()
            .map(|g| format!("{}@{}", g.guardrail, g.call_id))
            .collect()
    };
    assert_eq!(
        listed(&r.tool_input_guardrail_results),
        vec!["in_slow@c1", "in_fast@c2"]
    );
    assert_eq!(
        listed(&r.tool_output_guardrail_results),
        vec!["out_slow@c1", "out_fast@c2"]
    );
}

#[tokio::test]
async fn agent_tools_take_tool_guardrails_too() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let log = Log::default();
    let nested = agent("N", &inner).build();
    let tool = nested.as_tool("ask", "Asks.").input_guardrail(input_guard(
        "only_polite",
        &log,
        ToolGuardrailOutput::reject("Ask politely."),
    ));
    let a = agent("A", &outer).tool(tool).build();
    outer.push_output(vec![function_call_with_id(
        "c1",
        "ask",
        r#"{"input":"now!"}"#,
    )]);
    outer.push_text("done");
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(inner.call_count(), 0);
    assert_eq!(
        outputs_in(&outer.calls()[1]),
        vec![("c1".into(), "Ask politely.".into())]
    );
}

// ---- Run guardrails: gaps ----------------------------------------------------

#[tokio::test]
async fn a_run_level_blocking_guardrail_trip_means_zero_model_calls() {
    let model = ScriptedModel::new();
    let a = agent("A", &model).build();
    let options = RunOptions::default().run_config(RunConfig {
        input_guardrails: vec![InputGuardrail::new(
            "block",
            |_c: RunContext, _a: Agent, _i: Arc<[Item]>| async {
                Ok(GuardrailOutput::trip(json!("blocked")))
            },
        )
        .blocking()],
        ..RunConfig::default()
    });
    let e = expect_err(Runner::run(&a, "hi", options).await);
    assert!(matches!(&e.error, Error::InputGuardrailTripwire(g) if g.guardrail == "block"));
    assert_eq!(model.call_count(), 0);
    assert_eq!(e.details.turns, 1);
}

#[tokio::test]
async fn an_output_tripwire_error_carries_every_output_guardrail_result() {
    let model = ScriptedModel::new();
    let pass = OutputGuardrail::new("pass", |_c: RunContext, _a: Agent, _o: FinalOutput| async {
        Ok(GuardrailOutput::pass(json!("fine")))
    });
    let trip = OutputGuardrail::new(
        "trip",
        |_c: RunContext, _a: Agent, o: FinalOutput| async move {
            Ok(GuardrailOutput::trip(json!({ "saw": o.to_text() })))
        },
    );
    let a = agent("A", &model)
        .output_guardrail(pass)
        .output_guardrail(trip)
        .build();
    model.push_text("secret");
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    match &e.error {
        Error::OutputGuardrailTripwire(g) => {
            assert_eq!(g.guardrail, "trip");
            assert_eq!(g.output.output_info, json!({"saw": "secret"}));
        }
        other => panic!("unexpected {other}"),
    }
    let listed: Vec<(&str, bool)> = e
        .details
        .output_guardrail_results
        .iter()
        .map(|g| (g.guardrail.as_str(), g.output.tripwire_triggered))
        .collect();
    assert_eq!(listed, vec![("pass", false), ("trip", true)]);
    assert_eq!(names(&e.details.new_items), vec!["message_output_created"]);
}

/// The classification a guardrail agent returns.
#[derive(Debug, Deserialize, JsonSchema)]
struct HomeworkCheck {
    is_homework: bool,
    reasoning: String,
}

#[tokio::test]
async fn an_input_guardrail_can_run_an_agent_with_structured_output() {
    for (verdict, trips) in [
        (
            r#"{"is_homework":true,"reasoning":"asks to solve an exercise"}"#,
            true,
        ),
        (
            r#"{"is_homework":false,"reasoning":"a general question"}"#,
            false,
        ),
    ] {
        let (guard_model, model) = (ScriptedModel::new(), ScriptedModel::new());
        let checker = agent("Homework check", &guard_model)
            .instructions("Is the user asking you to do their homework?")
            .output_type::<HomeworkCheck>()
            .build();
        let guard = InputGuardrail::new(
            "homework",
            move |_ctx: RunContext, _a: Agent, input: Arc<[Item]>| {
                let checker = checker.clone();
                async move {
                    let r = Runner::run(&checker, input.to_vec(), RunOptions::default())
                        .await
                        .map_err(|e| e.to_string())?;
                    let check: HomeworkCheck = r.final_output_as().map_err(|e| e.to_string())?;
                    let info = json!({ "reasoning": check.reasoning });
                    Ok(if check.is_homework {
                        GuardrailOutput::trip(info)
                    } else {
                        GuardrailOutput::pass(info)
                    })
                }
            },
        )
        .blocking();
        let a = agent("Tutor", &model).input_guardrail(guard).build();
        guard_model.push_text(verdict);
        if !trips {
            model.push_text("Here is how photosynthesis works.");
        }
        let outcome = Runner::run(&a, "Solve x^2 = 4 for me", RunOptions::default()).await;
        // The guardrail agent saw the input and was asked for its schema.
        let call = &guard_model.calls()[0];
        assert_eq!(call.input, vec![Item::user("Solve x^2 = 4 for me")]);
        assert_eq!(
            call.output_schema.as_ref().map(|s| s.name.as_str()),
            Some("HomeworkCheck")
        );
        if trips {
            let e = expect_err(outcome);
            match &e.error {
                Error::InputGuardrailTripwire(g) => {
                    assert_eq!(g.guardrail, "homework");
                    assert_eq!(
                        g.output.output_info,
                        json!({"reasoning": "asks to solve an exercise"})
                    );
                }
                other => panic!("unexpected {other}"),
            }
            assert_eq!(model.call_count(), 0);
        } else {
            let r = outcome.expect("run");
            assert_eq!(r.final_output_text(), "Here is how photosynthesis works.");
            assert_eq!(r.input_guardrail_results.len(), 1);
        }
    }
}
