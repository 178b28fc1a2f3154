//! The documented order of hooks, guardrails and callbacks in a run (see the
//! `Hooks` trait docs), what `on_llm_start` / `on_llm_end` see, and what a
//! blocking or parallel input guardrail lets happen before it trips.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::guardrail::{
    ToolGuardrailOutput, ToolInputGuardrail, ToolInputGuardrailData, ToolOutputGuardrail,
    ToolOutputGuardrailData,
};
use agents_core::hooks::HookResult;
use agents_core::testing::{function_call_with_id, handoff_call, ScriptedModel};
use agents_core::{
    Agent, BoxFuture, Error, FinalOutput, FunctionTool, GuardrailOutput, Handoff, Hooks,
    InputGuardrail, Item, ModelResponse, OutputGuardrail, RunContext, ToolContext,
};
use agents_runner::{AgentToolExt, ModelInputData, RunConfig, RunOptions, Runner};
use common::*;
use serde_json::json;

/// An input guardrail that logs its name when it starts and passes or trips.
fn logging_input_guard(name: &'static str, log: &Log, trip: bool) -> InputGuardrail {
    let log = log.clone();
    InputGuardrail::new(name, move |_c: RunContext, _a: Agent, _i: Arc<[Item]>| {
        log.push(name);
        async move {
            Ok(if trip {
                GuardrailOutput::trip(json!("tripped"))
            } else {
                GuardrailOutput::pass(json!("ok"))
            })
        }
    })
}

#[tokio::test]
async fn hooks_guardrails_and_callbacks_fire_in_the_documented_order() {
    let log = Log::default();
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let l = log.clone();
    let echo = FunctionTool::new("echo", "Echoes.", move |_ctx: ToolContext, a: Text| {
        l.push("tool_body");
        let out = format!("echo:{}", a.text);
        async move { Ok::<_, String>(out) }
    });
    let (l1, l2) = (log.clone(), log.clone());
    let echo = echo
        .input_guardrail(ToolInputGuardrail::new(
            "tool_in",
            move |_d: ToolInputGuardrailData| {
                l1.push("tool_input_guardrail");
                async { Ok(ToolGuardrailOutput::allow()) }
            },
        ))
        .output_guardrail(ToolOutputGuardrail::new(
            "tool_out",
            move |d: ToolOutputGuardrailData| {
                l2.push(format!("tool_output_guardrail:{}", d.output.to_text()));
                async { Ok(ToolGuardrailOutput::allow()) }
            },
        ));
    let l = log.clone();
    let b = agent("B", &mb)
        .hooks(Recorder::new("b", &log))
        .output_guardrail(OutputGuardrail::new(
            "out",
            move |_c: RunContext, a: Agent, o: FinalOutput| {
                l.push(format!("output_guardrail:{}={}", a.name(), o.to_text()));
                async { Ok(GuardrailOutput::pass(json!("ok"))) }
            },
        ))
        .build();
    let (l1, l2) = (log.clone(), log.clone());
    let handoff = Handoff::to(&b)
        .on_handoff_sync(move |_ctx, _args| {
            l1.push("on_handoff_callback");
            Ok(())
        })
        .input_filter(move |d| {
            l2.push("input_filter");
            d
        });
    let a = agent("A", &ma)
        .tool(echo)
        .handoff(handoff)
        .hooks(Recorder::new("a", &log))
        .build();
    ma.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("bye");
    let options = RunOptions::default()
        .hooks(Recorder::new("run", &log))
        .run_config(RunConfig {
            input_guardrails: vec![
                logging_input_guard("blocking_input_guardrail", &log, false).blocking(),
                logging_input_guard("parallel_input_guardrail", &log, false),
            ],
            ..RunConfig::default()
        });
    let r = Runner::run(&a, "hi", options).await.expect("run");
    assert_eq!(r.final_output_text(), "bye");
    let mut entries = log.entries();
    // The parallel guardrail runs alongside the first model call: after
    // on_llm_start, before on_llm_end.
    let parallel = entries
        .iter()
        .position(|e| e == "parallel_input_guardrail")
        .expect("the parallel guardrail ran");
    entries.remove(parallel);
    assert_eq!(entries[parallel - 1], "a:llm_start:A");
    assert_eq!(entries[parallel], "run:llm_end:A");
    assert_eq!(
        entries,
        vec![
            "blocking_input_guardrail",
            "run:agent_start:A",
            "a:agent_start:A",
            "run:llm_start:A",
            "a:llm_start:A",
            "run:llm_end:A",
            "a:llm_end:A",
            "run:tool_start:echo",
            "a:tool_start:echo",
            "tool_input_guardrail",
            "tool_body",
            "tool_output_guardrail:echo:x",
            "run:tool_end:echo=echo:x",
            "a:tool_end:echo=echo:x",
            "run:llm_start:A",
            "a:llm_start:A",
            "run:llm_end:A",
            "a:llm_end:A",
            "on_handoff_callback",
            "input_filter",
            "run:handoff:A->B",
            "b:handoff:A->B",
            "run:agent_start:B",
            "b:agent_start:B",
            "run:llm_start:B",
            "b:llm_start:B",
            "run:llm_end:B",
            "b:llm_end:B",
            "output_guardrail:B=bye",
            "run:agent_end:B=bye",
            "b:agent_end:B=bye",
        ]
    );
}

// ---- What the LLM hooks see ----------------------------------------------------

/// Hooks that keep what `on_llm_start` and `on_llm_end` received.
#[derive(Default)]
struct LlmSpy {
    starts: Mutex<Vec<(Option<String>, Vec<Item>)>>,
    ends: Mutex<Vec<Option<String>>>,
}

impl Hooks for LlmSpy {
    fn on_llm_start<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _agent: &'a Agent,
        system_prompt: Option<&'a str>,
        input: &'a [Item],
    ) -> BoxFuture<'a, HookResult> {
        self.starts
            .lock()
            .expect("lock")
            .push((system_prompt.map(str::to_owned), input.to_vec()));
        Box::pin(async { Ok(()) })
    }

    fn on_llm_end<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _agent: &'a Agent,
        response: &'a ModelResponse,
    ) -> BoxFuture<'a, HookResult> {
        self.ends
            .lock()
            .expect("lock")
            .push(response.response_id.clone());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn llm_hooks_see_exactly_what_the_model_receives_and_returns() {
    let model = ScriptedModel::new();
    let spy = Arc::new(LlmSpy::default());
    struct Shared(Arc<LlmSpy>);
    impl Hooks for Shared {
        fn on_llm_start<'a>(
            &'a self,
            ctx: &'a RunContext,
            agent: &'a Agent,
            system_prompt: Option<&'a str>,
            input: &'a [Item],
        ) -> BoxFuture<'a, HookResult> {
            self.0.on_llm_start(ctx, agent, system_prompt, input)
        }
        fn on_llm_end<'a>(
            &'a self,
            ctx: &'a RunContext,
            agent: &'a Agent,
            response: &'a ModelResponse,
        ) -> BoxFuture<'a, HookResult> {
            self.0.on_llm_end(ctx, agent, response)
        }
    }
    let a = agent("A", &model)
        .instructions("Be brief.")
        .tool(echo("echo"))
        .build();
    model.push_response(response(
        "resp_1",
        vec![function_call_with_id("c1", "echo", &args("x"))],
    ));
    model.push_response(response("resp_2", vec![Item::assistant("done")]));
    let options = RunOptions::default()
        .hooks(Shared(Arc::clone(&spy)))
        .run_config(RunConfig {
            call_model_input_filter: Some(agents_runner::call_model_input_filter(|data| {
                let mut data: ModelInputData = data.model_data;
                data.instructions = data.instructions.map(|i| format!("{i} (edited)"));
                data.input.insert(0, Item::developer("injected"));
                Ok(data)
            })),
            ..RunConfig::default()
        });
    let r = Runner::run(&a, "hi", options).await.expect("run");
    let starts = spy.starts.lock().expect("lock").clone();
    let calls = model.calls();
    assert_eq!(starts.len(), 2);
    for (n, (prompt, input)) in starts.iter().enumerate() {
        assert_eq!(prompt, &calls[n].instructions, "turn {n}");
        assert_eq!(input, &calls[n].input, "turn {n}");
    }
    assert_eq!(starts[0].0.as_deref(), Some("Be brief. (edited)"));
    assert_eq!(
        starts[0].1,
        vec![Item::developer("injected"), Item::user("hi")]
    );
    assert_eq!(starts[1].1.len(), 4);
    assert_eq!(
        *spy.ends.lock().expect("lock"),
        vec![Some("resp_1".to_owned()), Some("resp_2".to_owned())]
    );
    assert_eq!(r.last_response_id(), Some("resp_2"));
}

// ---- Blocking vs parallel input guardrails -------------------------------------

#[tokio::test]
async fn a_tripped_blocking_guardrail_lets_nothing_else_run() {
    let model = ScriptedModel::new();
    model.push_text("never");
    let log = Log::default();
    let counts = KitCounts::default();
    let evaluated = Arc::new(AtomicUsize::new(0));
    let e2 = Arc::clone(&evaluated);
    let a = agent("A", &model)
        .instructions_fn(move |_ctx, _agent| {
            e2.fetch_add(1, Ordering::SeqCst);
            "dynamic".to_owned()
        })
        .toolkit(CountingKit::new("kit", &counts))
        .hooks(Recorder::new("a", &log))
        .input_guardrail(logging_input_guard("blocker", &log, true).blocking())
        .build();
    let e = expect_err(
        Runner::run(
            &a,
            "hi",
            RunOptions::default().hooks(Recorder::new("run", &log)),
        )
        .await,
    );
    assert!(
        matches!(&e.error, Error::InputGuardrailTripwire(g) if g.guardrail == "blocker"),
        "{}",
        e.error
    );
    assert_eq!(model.call_count(), 0, "no model call");
    assert_eq!(log.entries(), vec!["blocker"], "no hook fired");
    assert_eq!(
        evaluated.load(Ordering::SeqCst),
        0,
        "no instructions evaluated"
    );
    assert_eq!(counts.get(), (0, 0), "no toolkit opened");
    assert_eq!(e.details.input_guardrail_results.len(), 1);
}

#[tokio::test]
async fn a_tripped_parallel_guardrail_may_follow_the_model_call_but_stops_the_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    let log = Log::default();
    let m = Arc::clone(&model);
    let watcher = InputGuardrail::new(
        "watcher",
        move |_c: RunContext, _a: Agent, _i: Arc<[Item]>| {
            let m = Arc::clone(&m);
            async move {
                // Trip only once the model has been called.
                for _ in 0..2000 {
                    if m.call_count() > 0 {
                        return Ok(GuardrailOutput::trip(json!("after the call")));
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok(GuardrailOutput::pass(json!("the model was never called")))
            }
        },
    );
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let tool = FunctionTool::new("echo", "Echoes.", move |_ctx: ToolContext, a: Text| {
        c.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, String>(a.text) }
    });
    let a = agent("A", &model)
        .tool(tool)
        .input_guardrail(watcher)
        .build();
    let e = expect_err(
        Runner::run(
            &a,
            "hi",
            RunOptions::default().hooks(Recorder::new("run", &log)),
        )
        .await,
    );
    match &e.error {
        Error::InputGuardrailTripwire(g) => {
            assert_eq!(g.output.output_info, json!("after the call"))
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(model.call_count(), 1, "the model was called");
    // The turn stops at the tripwire: no llm_end, no tool.
    assert_eq!(log.entries(), vec!["run:agent_start:A", "run:llm_start:A"]);
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

// ---- Hook errors ---------------------------------------------------------------

#[tokio::test]
async fn a_hook_error_inside_an_agent_tool_is_that_tools_error() {
    let (outer, inner) = (ScriptedModel::new(), ScriptedModel::new());
    let log = Log::default();
    let nested = agent("N", &inner)
        .hooks(Recorder::failing_on("nested", &log, "llm_end"))
        .build();
    let a = agent("A", &outer)
        .tool(nested.as_tool("ask", "Asks."))
        .build();
    outer.push_output(vec![function_call_with_id("t1", "ask", r#"{"input":"x"}"#)]);
    outer.push_text("done");
    inner.push_text("never used");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("the outer run goes on");
    let outputs = tool_outputs(&r.new_items);
    assert!(
        outputs[0].2 && outputs[0].1.contains("hook failed: nested refused llm_end"),
        "{outputs:?}"
    );
    assert_eq!(r.final_output_text(), "done");
}
