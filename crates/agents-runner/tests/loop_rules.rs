//! Turns, precedence inside a turn, tool_use_behavior, reset_tool_choice,
//! structured output and dynamic instructions.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use agents_core::agent::{ToolUseBehavior, ToolsToFinalOutput};
use agents_core::testing::{
    function_call, function_call_with_id, handoff_call, text, ScriptedModel,
};
use agents_core::{
    Agent, Error, FinalOutput, FunctionTool, Item, ModelSettings, OutputType, RunItemKind,
    ToolChoice, ToolContext,
};
use agents_runner::{
    RunConfig, RunOptions, RunStreamEvent, Runner, DEFAULT_MAX_TURNS, MULTIPLE_HANDOFFS_MESSAGE,
};
use common::*;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

// ---- 1. Turns -------------------------------------------------------------

/// Scripts `tool_turns` turns that each call `echo`, then (if `final_text`)
/// a text turn; runs with `max_turns`; returns the outcome and the model.
async fn run_turns(
    tool_turns: usize,
    final_text: bool,
    options: RunOptions,
) -> (
    Result<agents_runner::RunResult, agents_runner::RunError>,
    Arc<ScriptedModel>,
) {
    let model = ScriptedModel::new();
    for i in 0..tool_turns {
        model.push_output(vec![function_call_with_id(
            &format!("c{i}"),
            "echo",
            &args(&i.to_string()),
        )]);
    }
    if final_text {
        model.push_text("done");
    }
    let a = agent("Looper", &model).tool(echo("echo")).build();
    let r = Runner::run(&a, "go", options).await;
    (r, model)
}

#[tokio::test]
async fn default_max_turns_is_ten() {
    assert_eq!(DEFAULT_MAX_TURNS, 10);
    assert_eq!(RunOptions::<()>::default().max_turns, Some(10));
    // Ten tool turns plus a text turn that must never be requested.
    let (r, model) = run_turns(10, true, RunOptions::default()).await;
    let e = expect_err(r);
    assert!(
        matches!(e.error, Error::MaxTurnsExceeded { max_turns: 10 }),
        "{e}"
    );
    assert_eq!(
        model.call_count(),
        10,
        "the 11th model call must not happen"
    );
    assert_eq!(model.remaining(), 1);
    // The work of the ten turns is kept.
    assert_eq!(e.details.new_items.len(), 20);
    assert_eq!(tool_outputs(&e.details.new_items).len(), 10);
    assert_eq!(e.details.input, vec![Item::user("go")]);
}

#[tokio::test]
async fn max_turns_counts_model_calls() {
    // (limit, tool turns scripted, text turn scripted, expected model calls, ok?)
    let cases: &[(u32, usize, bool, usize, bool)] = &[
        (1, 0, true, 1, true),  // one text turn fits in one turn
        (1, 1, true, 1, false), // a tool turn uses the only turn
        (2, 1, true, 2, true),  // tool + text = exactly two turns
        (2, 2, true, 2, false), // the third call is never made
        (3, 2, true, 3, true),
        (5, 5, true, 5, false),
    ];
    for &(limit, tools, final_text, calls, ok) in cases {
        let (r, model) = run_turns(
            tools,
            final_text,
            RunOptions::default().max_turns(Some(limit)),
        )
        .await;
        assert_eq!(model.call_count(), calls, "case {limit}/{tools}");
        match r {
            Ok(res) => {
                assert!(ok, "case {limit}/{tools} should fail");
                assert_eq!(res.turns as usize, calls);
                assert_eq!(res.final_output_text(), "done");
            }
            Err(e) => {
                assert!(!ok, "case {limit}/{tools} failed: {e}");
                match e.error {
                    Error::MaxTurnsExceeded { max_turns } => assert_eq!(max_turns, limit),
                    other => panic!("case {limit}/{tools}: unexpected {other}"),
                }
                // Every completed turn's call and output is kept.
                assert_eq!(e.details.new_items.len(), 2 * calls);
            }
        }
    }
}

#[tokio::test]
async fn max_turns_none_is_unlimited() {
    let (r, model) = run_turns(15, true, RunOptions::default().max_turns(None)).await;
    let r = r.expect("unlimited turns");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(r.turns, 16);
    model.assert_complete();
}

#[tokio::test]
async fn max_turns_handler_can_produce_the_final_output() {
    let seen = Log::default();
    let log = seen.clone();
    let options = RunOptions::default()
        .max_turns(Some(2))
        .on_max_turns(move |d| {
            log.push(format!("{}:{}:{}", d.agent, d.max_turns, d.new_items.len()));
            Some(FinalOutput::Text("gave up".into()))
        });
    let (r, model) = run_turns(2, true, options).await;
    let r = r.expect("the handler turns the error into a final output");
    assert_eq!(r.final_output_text(), "gave up");
    assert_eq!(seen.entries(), vec!["Looper:2:4"]);
    assert_eq!(model.call_count(), 2);
    assert_eq!(r.new_items.len(), 4);

    // A handler that declines keeps the error.
    let options = RunOptions::default()
        .max_turns(Some(2))
        .on_max_turns(|_| None);
    let (r, _) = run_turns(2, true, options).await;
    assert!(matches!(
        expect_err(r).error,
        Error::MaxTurnsExceeded { max_turns: 2 }
    ));
}

// ---- 2. Precedence inside one turn ----------------------------------------

#[tokio::test]
async fn a_message_with_function_calls_is_not_final() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("let me check"),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    model.push_text("done");
    let a = agent("A", &model).tool(echo("echo")).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(model.call_count(), 2);
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![("c1".into(), "echo:x".into())]
    );
}

#[tokio::test]
async fn tool_derived_final_output_beats_the_message() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("a message"),
        function_call_with_id("c1", "echo", &args("tool wins")),
    ]);
    let a = agent("A", &model)
        .tool(echo("echo"))
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "echo:tool wins");
    model.assert_complete();
    assert_eq!(model.call_count(), 1);
}

#[tokio::test]
async fn handoff_beats_tool_derived_final_output() {
    let model_a = ScriptedModel::new();
    let model_b = ScriptedModel::new();
    let b = agent("B", &model_b).build();
    let a = agent("A", &model_a)
        .tool(echo("echo"))
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
        .handoff_to(&b)
        .build();
    model_a.push_output(vec![
        function_call_with_id("c1", "echo", &args("x")),
        function_call_with_id("h1", "transfer_to_b", "{}"),
        text("a message too"),
    ]);
    model_b.push_text("from B");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "from B");
    assert_eq!(r.last_agent.name(), "B");
    assert!(r.last_agent.ptr_eq(&b));
    model_a.assert_complete();
    model_b.assert_complete();
    // The tool still ran; its output and the handoff output reach B.
    let b_input = &model_b.calls()[0].input;
    assert_eq!(
        outputs_of(b_input),
        vec![
            ("c1".into(), "echo:x".into()),
            ("h1".into(), r#"{"assistant":"B"}"#.into())
        ]
    );
}

#[tokio::test]
async fn only_the_first_handoff_runs() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let b = agent("Billing Agent", &mb).build();
    let c = agent("Refunds", &mc).build();
    let a = agent("Triage", &ma).handoff_to(&b).handoff_to(&c).build();
    ma.push_output(vec![
        function_call_with_id("h1", "transfer_to_billing_agent", "{}"),
        function_call_with_id("h2", "transfer_to_refunds", "{}"),
        function_call_with_id("h3", "transfer_to_billing_agent", "{}"),
    ]);
    mb.push_text("billing here");
    let r = Runner::run(&a, "help", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "billing here");
    assert_eq!(r.last_agent.name(), "Billing Agent");
    assert_eq!(mc.call_count(), 0, "the ignored handoff's agent never runs");
    assert_eq!(
        ma.calls()[0].handoff_names(),
        vec!["transfer_to_billing_agent", "transfer_to_refunds"]
    );

    let outputs: Vec<(String, String)> = r
        .new_items
        .iter()
        .filter_map(|i| i.item.as_function_call_output())
        .map(|o| (o.call_id.clone(), o.output.text()))
        .collect();
    assert_eq!(outputs.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&outputs[0].1).expect("json output");
    assert_eq!(outputs[0].0, "h1");
    assert_eq!(first, json!({"assistant": "Billing Agent"}));
    assert_eq!(
        outputs[1..],
        [
            ("h2".to_owned(), MULTIPLE_HANDOFFS_MESSAGE.to_owned()),
            ("h3".to_owned(), MULTIPLE_HANDOFFS_MESSAGE.to_owned()),
        ]
    );
    assert_eq!(
        MULTIPLE_HANDOFFS_MESSAGE,
        "Multiple handoffs detected, ignoring this one."
    );
    let handoff_outputs: Vec<_> = r
        .new_items
        .iter()
        .filter_map(|i| match &i.kind {
            RunItemKind::HandoffOutput { source, target } => Some((source.clone(), target.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        handoff_outputs,
        vec![("Triage".to_owned(), "Billing Agent".to_owned())]
    );
    // Billing sees every call answered.
    assert_eq!(outputs_in(&mb.calls()[0]).len(), 3);
}

#[tokio::test]
async fn agent_updated_is_emitted_at_start_and_on_every_switch() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let c = agent("C", &mc).build();
    let b = agent("B", &mb).handoff_to(&c).build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_output(vec![handoff_call("B")]);
    mb.push_output(vec![handoff_call("C")]);
    mc.push_text("C answers");
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut updates = Vec::new();
    while let Some(e) = s.next().await {
        if let RunStreamEvent::AgentUpdated { agent } = e {
            updates.push(agent);
        }
    }
    assert_eq!(updates, vec!["A", "B", "C"]);
    let r = s.result().await.expect("run");
    assert_eq!(r.last_agent.name(), "C");
    assert_eq!(r.final_output_text(), "C answers");
}

// ---- 3. tool_use_behavior -------------------------------------------------

/// Runs an agent with tools `echo` and `stop` and `behavior` over `turns`;
/// checks the final output and the number of model calls.
async fn check_behavior(
    behavior: ToolUseBehavior,
    turns: Vec<Vec<Item>>,
    expected_output: &str,
    expected_calls: usize,
) {
    let model = ScriptedModel::new();
    for t in turns {
        model.push_output(t);
    }
    let a = agent("A", &model)
        .tool(echo("echo"))
        .tool(echo("stop"))
        .tool_use_behavior(behavior.clone())
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{behavior:?}: {e}"));
    assert_eq!(r.final_output_text(), expected_output, "{behavior:?}");
    assert_eq!(model.call_count(), expected_calls, "{behavior:?}");
    model.assert_complete();
}

#[tokio::test]
async fn tool_use_behavior_cases() {
    let echo_turn = || {
        vec![
            function_call("echo", &args("a")),
            function_call("echo", &args("b")),
        ]
    };
    check_behavior(
        ToolUseBehavior::RunLlmAgain,
        vec![echo_turn(), vec![text("after tools")]],
        "after tools",
        2,
    )
    .await;
    check_behavior(
        ToolUseBehavior::StopOnFirstTool,
        vec![echo_turn()],
        "echo:a",
        1,
    )
    .await;
    // StopAtTools: a turn without a named tool runs again.
    check_behavior(
        ToolUseBehavior::StopAtTools(vec!["stop".into()]),
        vec![echo_turn(), vec![function_call("stop", &args("s"))]],
        "stop:s",
        2,
    )
    .await;
    // StopAtTools: the named tool's output wins even when it is not first.
    check_behavior(
        ToolUseBehavior::StopAtTools(vec!["stop".into()]),
        vec![vec![
            function_call("echo", &args("e")),
            function_call("stop", &args("s")),
        ]],
        "stop:s",
        1,
    )
    .await;
    // StopAtTools with a text answer after unnamed tools.
    check_behavior(
        ToolUseBehavior::StopAtTools(vec!["stop".into()]),
        vec![echo_turn(), vec![text("plain")]],
        "plain",
        2,
    )
    .await;
    let custom = || {
        ToolUseBehavior::Custom(Arc::new(|_ctx, results| {
            if results.iter().any(|r| r.tool_name == "stop") {
                let joined: Vec<String> = results.iter().map(|r| r.output.to_text()).collect();
                ToolsToFinalOutput::Final(FinalOutput::Text(joined.join("+")))
            } else {
                ToolsToFinalOutput::RunAgain
            }
        }))
    };
    check_behavior(
        custom(),
        vec![
            echo_turn(),
            vec![
                function_call("echo", &args("x")),
                function_call("stop", &args("y")),
            ],
        ],
        "echo:x+stop:y",
        2,
    )
    .await;
    check_behavior(
        custom(),
        vec![echo_turn(), vec![text("no stop")]],
        "no stop",
        2,
    )
    .await;
}

#[tokio::test]
async fn stop_on_first_tool_keeps_json_outputs_structured() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("data", "{}")]);
    let tool = FunctionTool::new(
        "data",
        "Returns JSON.",
        |_ctx: ToolContext, _a: agents_core::NoArgs| async move { Ok::<_, String>(json!({"n": 1})) },
    );
    let a = agent("A", &model)
        .tool(tool)
        .tool_use_behavior(ToolUseBehavior::StopOnFirstTool)
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output, Some(FinalOutput::Json(json!({"n": 1}))));
}

// ---- 4. reset_tool_choice -------------------------------------------------

async fn tool_choices(reset: Option<bool>, via_run_config: bool) -> Vec<Option<ToolChoice>> {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("echo", &args("x"))]);
    model.push_text("done");
    let mut b = agent("A", &model).tool(echo("echo"));
    let mut options = RunOptions::default();
    let required = ModelSettings::new().tool_choice(ToolChoice::Required);
    if via_run_config {
        options = options.run_config(RunConfig {
            model_settings: Some(required),
            ..RunConfig::default()
        });
    } else {
        b = b.model_settings(required);
    }
    if let Some(reset) = reset {
        b = b.reset_tool_choice(reset);
    }
    let r = Runner::run(&b.build(), "hi", options).await.expect("run");
    assert_eq!(r.final_output_text(), "done");
    model
        .calls()
        .iter()
        .map(|c| c.settings.tool_choice.clone())
        .collect()
}

#[tokio::test]
async fn reset_tool_choice_cases() {
    let req = Some(ToolChoice::Required);
    // Default: reset after the tool was used.
    assert_eq!(tool_choices(None, false).await, vec![req.clone(), None]);
    assert_eq!(
        tool_choices(Some(true), false).await,
        vec![req.clone(), None]
    );
    assert_eq!(tool_choices(None, true).await, vec![req.clone(), None]);
    // Opt out: the forced choice is kept.
    assert_eq!(
        tool_choices(Some(false), false).await,
        vec![req.clone(), req.clone()]
    );
    assert_eq!(
        tool_choices(Some(false), true).await,
        vec![req.clone(), req]
    );
}

// ---- 6. Structured output -------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Weather {
    city: String,
    celsius: f64,
}

#[tokio::test]
async fn structured_output_is_parsed_and_the_schema_is_sent() {
    let model = ScriptedModel::new();
    model.push_text(r#"{"city":"Oslo","celsius":3.5}"#);
    let a = agent("A", &model).output_type::<Weather>().build();
    let r = Runner::run(&a, "weather?", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        r.final_output,
        Some(FinalOutput::Json(json!({"city": "Oslo", "celsius": 3.5})))
    );
    assert_eq!(
        r.final_output_as::<Weather>().expect("typed"),
        Weather {
            city: "Oslo".into(),
            celsius: 3.5
        }
    );
    let schema = model.calls()[0].output_schema.clone().expect("schema sent");
    assert_eq!(&schema, OutputType::of::<Weather>().schema());
    assert_eq!(schema.name, "Weather");
    assert_eq!(schema.schema["required"], json!(["city", "celsius"]));

    // Agents without an output type send no schema.
    let model = ScriptedModel::new();
    model.push_text("plain");
    let a = agent("A", &model).build();
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(model.calls()[0].output_schema, None);
}

#[tokio::test]
async fn structured_output_non_object_types_are_unwrapped() {
    let model = ScriptedModel::new();
    model.push_text(r#"{"response":["a","b"]}"#);
    let a = agent("A", &model).output_type::<Vec<String>>().build();
    let r = Runner::run(&a, "list", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        r.final_output_as::<Vec<String>>().expect("typed"),
        vec!["a", "b"]
    );
}

#[tokio::test]
async fn invalid_structured_output_is_a_model_behavior_error() {
    for bad in [
        "not json at all",
        r#"{"city":"Oslo"}"#,
        r#"{"city":"Oslo","celsius":"warm"}"#,
        "[1,2]",
    ] {
        let model = ScriptedModel::new();
        model.push_text(bad);
        let a = agent("A", &model).output_type::<Weather>().build();
        let e = expect_err(Runner::run(&a, "weather?", RunOptions::default()).await);
        assert!(
            matches!(e.error, Error::ModelBehavior(_)),
            "{bad}: {}",
            e.error
        );
        // The offending message is kept.
        assert_eq!(names(&e.details.new_items), vec!["message_output_created"]);
        model.assert_complete();
    }
}

#[tokio::test]
async fn an_output_type_turn_without_a_message_runs_again() {
    let model = ScriptedModel::new();
    let reasoning: Item = serde_json::from_value(json!({
        "type": "reasoning", "id": "rs_1", "summary": []
    }))
    .expect("reasoning item");
    model.push_output(vec![reasoning]);
    model.push_output(vec![]);
    model.push_text(r#"{"city":"Rome","celsius":20}"#);
    let a = agent("A", &model).output_type::<Weather>().build();
    let r = Runner::run(&a, "weather?", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_as::<Weather>().expect("typed").city, "Rome");
    assert_eq!(model.call_count(), 3);
    assert_eq!(
        names(&r.new_items),
        vec!["reasoning_item_created", "message_output_created"]
    );
}

// ---- 7. Dynamic instructions ----------------------------------------------

#[derive(Default)]
struct Counter {
    n: AtomicUsize,
}

fn bump_tool() -> FunctionTool<Counter, agents_core::NoArgs> {
    FunctionTool::new(
        "bump",
        "Bumps the counter.",
        |ctx: ToolContext<Counter>, _a: agents_core::NoArgs| async move {
            let n = ctx.context().n.fetch_add(1, Ordering::SeqCst) + 1;
            Ok::<_, String>(n.to_string())
        },
    )
}

async fn instructions_seen(a: &Agent<Counter>, model: &ScriptedModel) -> Vec<Option<String>> {
    model.push_output(vec![function_call("bump", "{}")]);
    model.push_output(vec![function_call("bump", "{}")]);
    model.push_text("done");
    let r = Runner::run(a, "hi", RunOptions::default().context(Counter::default()))
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    model.calls().into_iter().map(|c| c.instructions).collect()
}

#[tokio::test]
async fn instructions_fn_is_evaluated_every_turn() {
    let model = ScriptedModel::new();
    let a = Agent::<Counter>::builder("Dyn")
        .model(Arc::clone(&model))
        .tool(bump_tool())
        .instructions_fn(|ctx, agent| {
            format!(
                "{} sees {}",
                agent.name(),
                ctx.context().n.load(Ordering::SeqCst)
            )
        })
        .build();
    assert_eq!(
        instructions_seen(&a, &model).await,
        vec![
            Some("Dyn sees 0".to_owned()),
            Some("Dyn sees 1".to_owned()),
            Some("Dyn sees 2".to_owned())
        ]
    );
}

#[tokio::test]
async fn instructions_async_is_evaluated_every_turn() {
    let model = ScriptedModel::new();
    let a = Agent::<Counter>::builder("Dyn")
        .model(Arc::clone(&model))
        .tool(bump_tool())
        .instructions_async(|ctx, agent| async move {
            tokio::task::yield_now().await;
            format!(
                "async {} {}",
                agent.name(),
                ctx.context().n.load(Ordering::SeqCst)
            )
        })
        .build();
    assert_eq!(
        instructions_seen(&a, &model).await,
        vec![
            Some("async Dyn 0".to_owned()),
            Some("async Dyn 1".to_owned()),
            Some("async Dyn 2".to_owned())
        ]
    );
}

#[tokio::test]
async fn static_instructions_are_sent_each_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("echo", &args("x"))]);
    model.push_text("done");
    let a = agent("A", &model)
        .instructions("Be brief.")
        .tool(echo("echo"))
        .build();
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let seen: Vec<_> = model.calls().into_iter().map(|c| c.instructions).collect();
    assert_eq!(seen, vec![Some("Be brief.".to_owned()); 2]);
}

// ---- Handoff details ------------------------------------------------------

#[tokio::test]
async fn handoff_input_filter_sees_history_pre_and_new_items() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let seen = Log::default();
    let s = seen.clone();
    let b = agent("B", &mb).build();
    let handoff = agents_core::Handoff::to(&b).input_filter(move |mut data| {
        s.push(format!(
            "history={} pre={} new={}",
            kinds(&data.input_history).join(","),
            names(&data.pre_handoff_items).join(","),
            names(&data.new_items).join(",")
        ));
        // Drop every tool item, like `remove_all_tools`.
        let keep = |i: &agents_core::RunItem| i.item.as_message().is_some();
        data.pre_handoff_items.retain(keep);
        data.new_items.retain(keep);
        data
    });
    let a = agent("A", &ma).tool(echo("echo")).handoff(handoff).build();
    ma.push_output(vec![
        text("looking"),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    ma.push_output(vec![
        text("passing on"),
        function_call_with_id("h1", "transfer_to_b", "{}"),
    ]);
    mb.push_text("B here");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        seen.entries(),
        vec![
            "history=message pre=message_output_created,tool_called,tool_output \
             new=message_output_created,handoff_requested,handoff_occurred"
        ]
    );
    assert_eq!(
        mb.calls()[0].input,
        vec![
            Item::user("hi"),
            Item::assistant("looking"),
            Item::assistant("passing on")
        ]
    );
    // The filtered items are what the run reports.
    assert_eq!(
        names(&r.new_items),
        vec![
            "message_output_created",
            "message_output_created",
            "message_output_created"
        ]
    );
}

#[tokio::test]
async fn run_config_handoff_filter_applies_to_handoffs_without_one() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("B", &mb).build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_output(vec![function_call_with_id("h1", "transfer_to_b", "{}")]);
    mb.push_text("B here");
    let options = RunOptions::default().run_config(RunConfig {
        handoff_input_filter: Some(Arc::new(|mut data: agents_core::HandoffInputData| {
            data.input_history = vec![Item::user("summarised")];
            data.new_items.clear();
            data
        })),
        ..RunConfig::default()
    });
    Runner::run(&a, "a long story", options).await.expect("run");
    assert_eq!(mb.calls()[0].input, vec![Item::user("summarised")]);
}

#[tokio::test]
async fn on_handoff_receives_the_arguments_and_disabled_handoffs_are_hidden() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let seen = Log::default();
    let s = seen.clone();
    let b = agent("B", &mb).build();
    let c = agent("C", &mc).build();
    let a = agent("A", &ma)
        .handoff(agents_core::Handoff::to(&b).on_handoff(move |_ctx, args| {
            s.push(args.to_string());
            async move { Ok(()) }
        }))
        .handoff(agents_core::Handoff::to(&c).enabled_when(|_| false))
        .build();
    ma.push_output(vec![function_call_with_id(
        "h1",
        "transfer_to_b",
        r#"{"reason":"billing"}"#,
    )]);
    mb.push_text("B here");
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(seen.entries(), vec![r#"{"reason":"billing"}"#]);
    assert_eq!(ma.calls()[0].handoff_names(), vec!["transfer_to_b"]);
}
