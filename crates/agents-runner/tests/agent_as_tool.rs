//! Agents as tools: schema, input and output, inheritance from the outer run
//! (config, context, toolkit sessions), usage, errors, streaming callbacks,
//! and the pending approval flag.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use agents_core::testing::{function_call_with_id, handoff_call, text, ScriptedModel};
use agents_core::{
    Agent, AgentModel, Error, FunctionTool, GuardrailOutput, InputGuardrail, Item, ModelError,
    ModelResponse, ModelSettings, RequestUsage, RunContext, RunItemKind, Tool, ToolContext,
    ToolOutput,
};
use agents_runner::{
    AgentRunExt, AgentToolEvent, AgentToolExt, NeedsApproval, RunConfig, RunInput, RunOptions,
    Runner, ToolErrorPolicy,
};
use common::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// The outer model calls `tool` with `arguments` (call id `t1`), then answers "done".
fn outer_calls(model: &ScriptedModel, tool: &str, arguments: &str) {
    model.push_output(vec![function_call_with_id("t1", tool, arguments)]);
    model.push_text("done");
}

/// The output the outer model read for call `t1`.
fn output_read(model: &ScriptedModel) -> String {
    let calls = model.calls();
    let outputs = outputs_in(calls.last().expect("a call"));
    outputs
        .into_iter()
        .find(|(id, _)| id == "t1")
        .map(|(_, t)| t)
        .expect("the outer model read the tool output")
}

#[tokio::test]
async fn default_tool_takes_an_input_string_and_returns_the_final_output() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let specialist = agent("Specialist", &inner)
        .instructions("You are the specialist.")
        .build();
    let tool = specialist.as_tool("ask_specialist", "Asks the specialist.");
    let orchestrator = agent("Orchestrator", &outer).tool(tool).build();
    outer_calls(&outer, "ask_specialist", r#"{"input":"What is 2+2?"}"#);
    inner.push_text("4");
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    let spec = &outer.calls()[0].tools[0];
    assert_eq!(spec.name, "ask_specialist");
    assert_eq!(spec.description, "Asks the specialist.");
    assert!(spec.strict);
    assert_eq!(
        spec.parameters.as_ref(),
        &json!({
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The input for the agent."}},
            "required": ["input"],
            "additionalProperties": false
        })
    );
    // The nested agent got the input as a user message, with its own instructions.
    let nested = &inner.calls()[0];
    assert_eq!(nested.input, vec![Item::user("What is 2+2?")]);
    assert_eq!(
        nested.instructions.as_deref(),
        Some("You are the specialist.")
    );
    assert_eq!(output_read(&outer), "4");
    assert_eq!(
        tool_outputs(&r.new_items),
        vec![("t1".to_owned(), "4".to_owned(), false)]
    );
    // The nested run's items stay in the nested run.
    assert_eq!(
        names(&r.new_items),
        vec!["tool_called", "tool_output", "message_output_created"]
    );
    outer.assert_complete();
    inner.assert_complete();
}

#[tokio::test]
async fn the_nested_run_is_a_full_run_with_tools_and_handoffs() {
    let (outer, inner_a, inner_b) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let b = agent("Nested B", &inner_b).build();
    let a = agent("Nested A", &inner_a)
        .tool(echo("echo"))
        .handoff_to(&b)
        .build();
    let orchestrator = agent("Orchestrator", &outer)
        .tool(a.as_tool("delegate", "Delegates."))
        .build();
    outer_calls(&outer, "delegate", r#"{"input":"go"}"#);
    inner_a.push_output(vec![function_call_with_id("n1", "echo", &args("x"))]);
    inner_a.push_output(vec![handoff_call("Nested B")]);
    inner_b.push_text("B finished");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(output_read(&outer), "B finished");
    assert_eq!(
        outputs_in(&inner_a.calls()[1]),
        vec![("n1".to_owned(), "echo:x".to_owned())]
    );
}

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Translation {
    /// The text to translate.
    text: String,
    /// The target language.
    language: String,
}

#[tokio::test]
async fn a_custom_input_type_sets_the_schema_and_the_nested_input() {
    // Default: the nested agent reads the arguments' JSON text.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let translator = agent("Translator", &inner).build();
    let tool = translator
        .as_tool("translate", "Translates.")
        .input_type::<Translation>();
    assert_eq!(tool.parameters()["required"], json!(["text", "language"]));
    assert_eq!(
        tool.parameters()["properties"]["language"]["description"],
        json!("The target language.")
    );
    let orchestrator = agent("Orchestrator", &outer).tool(tool).build();
    let arguments = r#"{"text":"hello","language":"fr"}"#;
    outer_calls(&outer, "translate", arguments);
    inner.push_text("bonjour");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(inner.calls()[0].input, vec![Item::user(arguments)]);
    assert_eq!(output_read(&outer), "bonjour");

    // An input builder makes the nested input from the arguments.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let translator = agent("Translator", &inner).build();
    let tool = translator
        .as_tool("translate", "Translates.")
        .input_type::<Translation>()
        .input_builder(|args| {
            Ok(RunInput::Items(vec![
                Item::developer(format!("Target language: {}", args["language"])),
                Item::user(args["text"].as_str().unwrap_or_default()),
            ]))
        });
    let orchestrator = agent("Orchestrator", &outer).tool(tool).build();
    outer_calls(&outer, "translate", arguments);
    inner.push_text("bonjour");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        inner.calls()[0].input,
        vec![
            Item::developer("Target language: \"fr\""),
            Item::user("hello")
        ]
    );
}

#[tokio::test]
async fn bad_arguments_are_an_error_output_and_the_nested_model_is_not_called() {
    // (tool built with a custom input type?, arguments)
    let cases = [
        (false, r#"{"text":"no input field"}"#),
        (false, r#"{"input":42}"#),
        (false, "{oops"),
        (true, r#"{"text":"hello"}"#),
    ];
    for (typed, arguments) in cases {
        let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
        let nested = agent("Nested", &inner).build();
        let tool = nested.as_tool("ask", "Asks.");
        let tool = if typed {
            tool.input_type::<Translation>()
        } else {
            tool
        };
        let orchestrator = agent("Orchestrator", &outer).tool(tool).build();
        outer_calls(&outer, "ask", arguments);
        let r = Runner::run(&orchestrator, "hi", RunOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{arguments}: {e}"));
        assert_eq!(inner.call_count(), 0, "{arguments}");
        let read = output_read(&outer);
        assert!(read.contains("invalid arguments"), "{arguments}: {read}");
        assert!(tool_outputs(&r.new_items)[0].2, "{arguments}: is_error");
    }
}

// ---- Output extraction ---------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Verdict {
    approved: bool,
}

#[tokio::test]
async fn output_extraction_cases() {
    // Structured output comes back as JSON.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let judge = agent("Judge", &inner).output_type::<Verdict>().build();
    let orchestrator = agent("O", &outer)
        .tool(judge.as_tool("judge", "Judges."))
        .build();
    outer_calls(&outer, "judge", r#"{"input":"ok?"}"#);
    inner.push_text(r#"{"approved":true}"#);
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    let kinds: Vec<&RunItemKind> = r.new_items.iter().map(|i| &i.kind).collect();
    assert!(
        matches!(kinds[1], RunItemKind::ToolCallOutput { output: ToolOutput::Json(v), .. } if *v == json!({"approved": true})),
        "{kinds:?}"
    );
    assert_eq!(output_read(&outer), r#"{"approved":true}"#);

    // An empty final message falls back to the last non-empty message.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_output(vec![text("the real answer"), text("")]);
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(output_read(&outer), "the real answer");

    // A custom extractor sees the whole nested result.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).tool(echo("echo")).build();
    let tool = nested.as_tool("ask", "Asks.").output_extractor(|r| {
        ToolOutput::text(format!(
            "{} items, last agent {}, said {}",
            r.new_items.len(),
            r.last_agent.name(),
            r.final_output_text()
        ))
    });
    let orchestrator = agent("O", &outer).tool(tool).build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_output(vec![function_call_with_id("n1", "echo", &args("y"))]);
    inner.push_text("fine");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(output_read(&outer), "3 items, last agent N, said fine");
}

// ---- Failures ------------------------------------------------------------------

/// A nested agent whose model keeps calling its echo tool.
fn looping_nested(inner: &Arc<ScriptedModel>, turns: usize) -> Agent {
    for n in 0..turns {
        inner.push_output(vec![function_call_with_id(
            &format!("n{n}"),
            "echo",
            &args("again"),
        )]);
    }
    agent("Looper", inner).tool(echo("echo")).build()
}

#[tokio::test]
async fn nested_max_turns_is_a_tool_error_under_the_policy() {
    // Return to model (the default): the outer run goes on.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let looper = looping_nested(&inner, 2);
    let orchestrator = agent("O", &outer)
        .tool(looper.as_tool("loop", "Loops.").max_turns(Some(2)))
        .build();
    outer_calls(&outer, "loop", r#"{"input":"x"}"#);
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(inner.call_count(), 2, "two nested turns, then the limit");
    let read = output_read(&outer);
    assert!(
        read.contains("`loop` failed") && read.contains("max turns (2) exceeded"),
        "{read}"
    );
    assert!(tool_outputs(&r.new_items)[0].2);

    // Raise: the outer run ends with a tool error.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let looper = looping_nested(&inner, 1);
    let orchestrator = agent("O", &outer)
        .tool(looper.as_tool("loop", "Loops.").max_turns(Some(1)))
        .build();
    outer.push_output(vec![function_call_with_id(
        "t1",
        "loop",
        r#"{"input":"x"}"#,
    )]);
    let options = RunOptions::default().run_config(RunConfig {
        tool_error_policy: ToolErrorPolicy::Raise,
        ..RunConfig::default()
    });
    let e = expect_err(Runner::run(&orchestrator, "hi", options).await);
    match &e.error {
        Error::Tool { tool, message } => {
            assert_eq!(tool, "loop");
            assert!(message.contains("max turns (1) exceeded"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(outer.call_count(), 1);
}

#[tokio::test]
async fn nested_model_errors_and_tripwires_are_error_outputs() {
    // A failing model.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_error(ModelError::Other("upstream exploded".into()));
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    let read = output_read(&outer);
    assert!(read.contains("upstream exploded"), "{read}");

    // A tripped input guardrail of the nested agent (blocking: no nested call).
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let guarded = agent("N", &inner)
        .input_guardrail(
            InputGuardrail::new("no_x", |_c: RunContext, _a: Agent, _i: Arc<[Item]>| async {
                Ok(GuardrailOutput::trip(json!("x is forbidden")))
            })
            .blocking(),
        )
        .build();
    let orchestrator = agent("O", &outer)
        .tool(guarded.as_tool("ask", "Asks."))
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(inner.call_count(), 0);
    let read = output_read(&outer);
    assert!(read.contains("input guardrail `no_x` tripped"), "{read}");
}

// ---- Usage, config, context, toolkits ------------------------------------------

fn usage(input: u64, output: u64) -> RequestUsage {
    RequestUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        ..RequestUsage::default()
    }
}

#[tokio::test]
async fn nested_usage_is_added_to_the_outer_usage_even_when_the_nested_run_fails() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).tool(echo("echo")).build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ok", "Works."))
        .tool(
            nested
                .as_tool("short", "Runs out of turns.")
                .max_turns(Some(1)),
        )
        .build();
    outer.push_response(
        ModelResponse::new(vec![function_call_with_id("t1", "ok", r#"{"input":"a"}"#)])
            .with_usage(usage(100, 10)),
    );
    outer.push_response(
        ModelResponse::new(vec![function_call_with_id(
            "t2",
            "short",
            r#"{"input":"b"}"#,
        )])
        .with_usage(usage(200, 20)),
    );
    outer.push_response(ModelResponse::new(vec![text("done")]).with_usage(usage(300, 30)));
    // "ok": two nested requests.
    inner.push_response(
        ModelResponse::new(vec![function_call_with_id("n1", "echo", &args("x"))])
            .with_usage(usage(1, 1)),
    );
    inner.push_response(ModelResponse::new(vec![text("fine")]).with_usage(usage(2, 2)));
    // "short": one request, then max turns.
    inner.push_response(
        ModelResponse::new(vec![function_call_with_id("n2", "echo", &args("y"))])
            .with_usage(usage(4, 4)),
    );
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.usage.requests, 3 + 3);
    assert_eq!(r.usage.input_tokens, 600 + 7);
    assert_eq!(r.usage.output_tokens, 60 + 7);
    assert_eq!(r.usage.request_usage_entries.len(), 6);
    assert!(tool_outputs(&r.new_items)[1].2, "the short run failed");
}

#[derive(Default)]
struct Counter {
    n: AtomicUsize,
}

fn bump() -> FunctionTool<Counter, agents_core::NoArgs> {
    FunctionTool::new(
        "bump",
        "Bumps the shared counter.",
        |ctx: ToolContext<Counter>, _a: agents_core::NoArgs| async move {
            let n = ctx.context().n.fetch_add(1, Ordering::SeqCst) + 1;
            Ok::<_, String>(n.to_string())
        },
    )
}

#[tokio::test]
async fn the_nested_run_inherits_the_run_config_and_shares_the_context() {
    // The nested agent names no model: the outer RunConfig's model and
    // settings apply to it. Both runs use the same scripted model, in order.
    let model = ScriptedModel::new();
    let nested: Agent<Counter> = Agent::builder("Nested").tool(bump()).build();
    let orchestrator: Agent<Counter> = Agent::builder("O")
        .tool(bump())
        .tool(nested.as_tool("delegate", "Delegates."))
        .build();
    model.push_output(vec![function_call_with_id("o1", "bump", "{}")]);
    model.push_output(vec![function_call_with_id(
        "t1",
        "delegate",
        r#"{"input":"bump it"}"#,
    )]);
    model.push_output(vec![function_call_with_id("n1", "bump", "{}")]); // nested
    model.push_text("bumped"); // nested
    model.push_output(vec![function_call_with_id("o2", "bump", "{}")]);
    model.push_text("done");
    let config = RunConfig {
        model: Some(AgentModel::Instance(model.clone())),
        model_settings: Some(ModelSettings::new().temperature(0.25)),
        ..RunConfig::default()
    };
    let counter = Arc::new(Counter::default());
    let r = Runner::run(
        &orchestrator,
        "hi",
        RunOptions::default()
            .context_arc(Arc::clone(&counter))
            .run_config(config),
    )
    .await
    .expect("run");
    assert_eq!(r.final_output_text(), "done");
    model.assert_complete();
    let calls = model.calls();
    assert!(calls.iter().all(|c| c.settings.temperature == Some(0.25)));
    // Calls 2 and 3 are the nested run's: its own tools, its own input.
    assert_eq!(calls[2].tool_names(), vec!["bump"]);
    assert_eq!(calls[2].input, vec![Item::user("bump it")]);
    // One counter: outer 1, nested 2, outer 3.
    assert_eq!(counter.n.load(Ordering::SeqCst), 3);
    assert_eq!(
        tool_outputs(&r.new_items),
        vec![
            ("o1".to_owned(), "1".to_owned(), false),
            ("t1".to_owned(), "bumped".to_owned(), false),
            ("o2".to_owned(), "3".to_owned(), false),
        ]
    );

    // A run config of the tool's own replaces the inherited one.
    let (outer, own) = (ScriptedModel::new(), ScriptedModel::new());
    let nested: Agent<Counter> = Agent::builder("Nested").build();
    let orchestrator: Agent<Counter> = Agent::builder("O")
        .tool(
            nested
                .as_tool("delegate", "Delegates.")
                .run_config(RunConfig {
                    model: Some(AgentModel::Instance(own.clone())),
                    ..RunConfig::default()
                }),
        )
        .build();
    outer_calls(&outer, "delegate", r#"{"input":"x"}"#);
    own.push_text("from its own model");
    let config = RunConfig {
        model: Some(AgentModel::Instance(outer.clone())),
        model_settings: Some(ModelSettings::new().temperature(0.25)),
        ..RunConfig::default()
    };
    Runner::run(
        &orchestrator,
        "hi",
        RunOptions::default()
            .context(Counter::default())
            .run_config(config),
    )
    .await
    .expect("run");
    assert_eq!(output_read(&outer), "from its own model");
    assert_eq!(own.calls()[0].settings.temperature, None);
}

#[tokio::test]
async fn nested_toolkits_live_in_the_outer_run_session() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let counts = KitCounts::default();
    let nested = agent("N", &inner)
        .toolkit(CountingKit::new("kit", &counts))
        .build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    let session = orchestrator.create_session(()).await.expect("session");
    for n in 0..2 {
        outer_calls(&outer, "ask", r#"{"input":"x"}"#);
        inner.push_output(vec![function_call_with_id("k1", "kit_tool", &args("y"))]);
        inner.push_text("used the kit");
        session.run("hi", RunOptions::default()).await.expect("run");
        assert_eq!(output_read(&outer), "used the kit");
        assert_eq!(counts.get(), (1, 0), "run {n}: opened once, kept open");
    }
    session.close().await.expect("close");
    assert_eq!(counts.get(), (1, 1));

    // In a one-off run they are closed with the outer run.
    let counts = KitCounts::default();
    let nested = agent("N", &inner)
        .toolkit(CountingKit::new("kit", &counts))
        .build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_text("no kit needed");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(counts.get(), (1, 1));
}

// ---- Streaming and hooks -------------------------------------------------------

#[tokio::test]
async fn on_stream_receives_the_nested_events_in_order() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let events: Arc<Mutex<Vec<AgentToolEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let nested = agent("N", &inner).tool(echo("echo")).build();
    let tool = nested
        .as_tool("ask", "Asks.")
        .on_stream(move |e| sink.lock().expect("lock").push(e));
    let orchestrator = agent("O", &outer).tool(tool).build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_output(vec![function_call_with_id("n1", "echo", &args("y"))]);
    inner.push_text("streamed answer");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(output_read(&outer), "streamed answer");
    let events = events.lock().expect("lock").clone();
    assert!(events
        .iter()
        .all(|e| e.tool_name == "ask" && e.call_id == "t1" && e.agent == "N"));
    let described: Vec<String> = events.iter().map(|e| describe(&e.event)).collect();
    assert_eq!(
        described,
        vec![
            "agent_updated:N",
            "raw:args_delta",
            "raw:item_done:function_call",
            "tool_called",
            "tool_output",
            "raw:text_delta:streamed answer",
            "raw:item_done:message",
            "message_output_created",
        ]
    );
    assert!(inner.calls().iter().all(|c| c.streamed));
    // Without the callback the nested run is not streamed.
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_text("plain");
    Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert!(!inner.calls()[0].streamed);
}

#[tokio::test]
async fn run_level_hooks_are_not_inherited_but_can_be_set_on_the_tool() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let log = Log::default();
    let nested = agent("N", &inner)
        .hooks(Recorder::new("nested_agent", &log))
        .build();
    let orchestrator = agent("O", &outer)
        .tool(
            nested
                .as_tool("ask", "Asks.")
                .hooks(Recorder::new("tool_run", &log)),
        )
        .build();
    outer_calls(&outer, "ask", r#"{"input":"x"}"#);
    inner.push_text("ok");
    Runner::run(
        &orchestrator,
        "hi",
        RunOptions::default().hooks(Recorder::new("outer_run", &log)),
    )
    .await
    .expect("run");
    let entries = log.entries();
    // The outer run's hooks see the outer agent only.
    assert!(entries
        .iter()
        .filter(|e| e.starts_with("outer_run:"))
        .all(|e| !e.contains(":N")));
    assert!(entries.contains(&"outer_run:tool_start:ask".to_owned()));
    let nested_events: Vec<&String> = entries
        .iter()
        .filter(|e| !e.starts_with("outer_run:"))
        .collect();
    assert_eq!(
        nested_events,
        vec![
            "tool_run:agent_start:N",
            "nested_agent:agent_start:N",
            "tool_run:llm_start:N",
            "nested_agent:llm_start:N",
            "tool_run:llm_end:N",
            "nested_agent:llm_end:N",
            "tool_run:agent_end:N=ok",
            "nested_agent:agent_end:N=ok",
        ]
    );
}

// ---- Approval --------------------------------------------------------------------

#[tokio::test]
async fn needs_approval_pauses_the_outer_run_until_approved() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let nested = agent("N", &inner).build();
    let ctx = RunContext::new(());
    let never = nested.as_tool("a", "A.");
    assert!(matches!(never.approval(), NeedsApproval::Never));
    assert!(!never.requires_approval(&ctx, &json!({"input": "x"})));
    let always = nested.as_tool("a", "A.").needs_approval(true);
    assert!(matches!(always.approval(), NeedsApproval::Always));
    assert!(always.requires_approval(&ctx, &json!({"input": "x"})));
    let when = nested
        .as_tool("a", "A.")
        .needs_approval_when(|_ctx, args| args["input"] == "delete everything");
    assert!(when.requires_approval(&ctx, &json!({"input": "delete everything"})));
    assert!(!when.requires_approval(&ctx, &json!({"input": "read"})));

    // The call pauses the run; the nested agent runs once approved.
    let orchestrator = agent("O", &outer).tool(always).build();
    outer_calls(&outer, "a", r#"{"input":"x"}"#);
    let r = Runner::run(&orchestrator, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.final_output, None);
    assert_eq!(inner.call_count(), 0, "the nested agent waits for approval");
    let mut state = r.to_state();
    let item = r.interruptions()[0].clone();
    assert_eq!(
        (item.tool_name.as_str(), item.call_id.as_str()),
        ("a", "t1")
    );
    state.approve(&item, agents_runner::Always::No);
    inner.push_text("ran after approval");
    let r = Runner::run(&orchestrator, state, RunOptions::default())
        .await
        .expect("resumed run");
    assert_eq!(output_read(&outer), "ran after approval");
    assert_eq!(r.final_output_text(), "done");
}

// ---- Cancellation --------------------------------------------------------------

#[tokio::test]
async fn cancelling_the_outer_run_cancels_the_nested_tools_token() {
    use agents_runner::{CancelHandle, CancelMode};
    use std::sync::atomic::AtomicBool;
    use tokio::sync::Notify;

    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let started = Arc::new(Notify::new());
    let seen_cancel = Arc::new(AtomicBool::new(false));
    let (s, c) = (Arc::clone(&started), Arc::clone(&seen_cancel));
    let watcher = FunctionTool::new(
        "watch",
        "Waits forever, watching its cancel token.",
        move |ctx: ToolContext, _a: agents_core::NoArgs| {
            let (s, c) = (Arc::clone(&s), Arc::clone(&c));
            async move {
                let token = ctx.cancel.clone();
                tokio::spawn(async move {
                    token.cancelled().await;
                    c.store(true, Ordering::SeqCst);
                });
                s.notify_one();
                futures::future::pending::<()>().await;
                Ok::<_, String>("never")
            }
        },
    );
    let nested = agent("N", &inner).tool(watcher).build();
    let orchestrator = agent("O", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer.push_output(vec![function_call_with_id("t1", "ask", r#"{"input":"x"}"#)]);
    inner.push_output(vec![function_call_with_id("w1", "watch", "{}")]);
    let handle = CancelHandle::new();
    let options = RunOptions::default().cancel_handle(handle.clone());
    let run = tokio::spawn(async move { Runner::run(&orchestrator, "hi", options).await });
    started.notified().await;
    assert!(!seen_cancel.load(Ordering::SeqCst));
    handle.cancel(CancelMode::Immediate);
    let e = expect_err(run.await.expect("join"));
    assert!(matches!(e.error, Error::Cancelled), "{}", e.error);
    for _ in 0..200 {
        if seen_cancel.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        seen_cancel.load(Ordering::SeqCst),
        "the nested tool's token follows the outer run's"
    );
}
