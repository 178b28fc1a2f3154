//! Async callbacks (prompt, tools-to-final-output, `call_model_input_filter`
//! with the agent, `session_input_callback`), agent introspection (the loop
//! sends exactly `Agent::all_tools` / `system_prompt` / `resolve_prompt`),
//! and what `RunContext` reports about the run.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::testing::{function_call_with_id, text, ScriptedModel};
use agents_core::{
    BoxFuture, FinalOutput, FunctionTool, Item, MemorySession, Prompt, RunContext, Session, Tool,
    ToolContext, ToolUseBehavior, Toolkit, ToolkitError, ToolkitSession, ToolsToFinalOutput,
};
use agents_runner::{
    call_model_input_filter_async, session_input_callback_async, RunConfig, RunOptions, Runner,
};
use common::*;

/// A toolkit whose sessions offer one tool and a prompt.
struct Kit;
struct KitSession;

impl Toolkit for Kit {
    fn name(&self) -> &str {
        "kit"
    }
    fn create_session<'a>(
        &'a self,
        _ctx: &'a RunContext,
    ) -> BoxFuture<'a, Result<Arc<dyn ToolkitSession>, ToolkitError>> {
        Box::pin(async { Ok(Arc::new(KitSession) as Arc<dyn ToolkitSession>) })
    }
}

impl ToolkitSession for KitSession {
    fn system_prompt(&self) -> Option<String> {
        Some("Kit tools are available.".into())
    }
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        vec![Arc::new(echo("kit_echo"))]
    }
    fn close(&self) -> BoxFuture<'_, Result<(), ToolkitError>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn the_loop_sends_what_the_agent_reports() {
    let model = ScriptedModel::new();
    model.push_output(vec![text("ok")]);
    let hidden = echo("hidden").enabled_when(|_ctx| false);
    let a = agent("A", &model)
        .instructions("Be brief.")
        .tool(echo("echo"))
        .tool(hidden)
        .toolkit(Kit)
        .prompt_async(|ctx: RunContext, agent| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Prompt::new("pmpt_1")
                .variable("agent", agent.name())
                .variable("turn", ctx.turn())
        })
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(text_of(&r.final_output), "ok");

    // The same answers, asked of the agent directly.
    let ctx = RunContext::new(());
    let session = Kit.create_session(&ctx).await.expect("session");
    let sessions = [session];
    let tools: Vec<String> = a
        .all_tools(&ctx, &sessions)
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(tools, ["echo", "kit_echo"]);
    let system = a.system_prompt(&ctx, &sessions).await;
    assert_eq!(
        system.as_deref(),
        Some("Be brief.\n\nKit tools are available.")
    );
    let call = &model.calls()[0];
    assert_eq!(call.tool_names(), tools);
    assert_eq!(call.instructions, system);
    assert_eq!(
        call.prompt,
        Some(
            Prompt::new("pmpt_1")
                .variable("agent", "A")
                .variable("turn", 1)
        )
    );
    assert_eq!(
        a.resolve_prompt(&ctx).await,
        Some(
            Prompt::new("pmpt_1")
                .variable("agent", "A")
                .variable("turn", 0)
        )
    );
}

#[tokio::test]
async fn an_async_tools_to_final_output_function_decides() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("more"))]);
    model.push_output(vec![function_call_with_id("c2", "echo", &args("stop"))]);
    let a = agent("A", &model)
        .tool(echo("echo"))
        .tool_use_behavior(ToolUseBehavior::custom_async(
            |ctx: RunContext, results| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                match results.iter().find(|r| r.output.to_text() == "echo:stop") {
                    Some(r) => ToolsToFinalOutput::Final(FinalOutput::Text(format!(
                        "{} at turn {}",
                        r.output.to_text(),
                        ctx.turn()
                    ))),
                    None => ToolsToFinalOutput::RunAgain,
                }
            },
        ))
        .build();
    let r = Runner::run(&a, "go", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(text_of(&r.final_output), "echo:stop at turn 2");
    model.assert_complete();
}

#[tokio::test]
async fn the_async_input_filter_sees_the_agent_and_edits_the_request() {
    let model = ScriptedModel::new();
    model.push_output(vec![text("ok")]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let a = agent("Planner", &model).instructions("Plan.").build();
    let config = RunConfig {
        call_model_input_filter: Some(call_model_input_filter_async(move |data| {
            let seen = Arc::clone(&seen2);
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                seen.lock()
                    .expect("lock")
                    .push((data.agent.name().to_owned(), data.context.turn()));
                let mut input = data.model_data;
                input.instructions = input
                    .instructions
                    .map(|i| format!("{i} ({})", data.agent.name()));
                input.input.push(Item::developer("filtered"));
                Ok(input)
            }
        })),
        ..RunConfig::default()
    };
    Runner::run(&a, "hi", RunOptions::default().run_config(config))
        .await
        .expect("run");
    assert_eq!(*seen.lock().expect("lock"), [("Planner".to_owned(), 1)]);
    let call = &model.calls()[0];
    assert_eq!(call.instructions.as_deref(), Some("Plan. (Planner)"));
    assert_eq!(call.input.last(), Some(&Item::developer("filtered")));
}

#[tokio::test]
async fn an_async_session_input_callback_merges_history() {
    let model = ScriptedModel::new();
    model.push_output(vec![text("a2")]);
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("s"));
    session
        .add_items(&[Item::user("q1"), Item::assistant("a1")])
        .await
        .expect("add");
    let a = agent("A", &model).build();
    let config = RunConfig {
        session_input_callback: Some(session_input_callback_async(|history, input| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            // Only the user's earlier questions, then the new input.
            let mut out: Vec<Item> = history
                .into_iter()
                .filter(|i| {
                    i.as_message()
                        .is_some_and(|m| m.role == agents_core::Role::User)
                })
                .collect();
            out.extend(input);
            out
        })),
        ..RunConfig::default()
    };
    Runner::run(
        &a,
        "q2",
        RunOptions::default()
            .session(Arc::clone(&session))
            .run_config(config),
    )
    .await
    .expect("run");
    assert_eq!(model.calls()[0].input, [Item::user("q1"), Item::user("q2")]);
}

#[tokio::test]
async fn run_context_reports_agent_turn_and_usage() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "probe", "{}")]);
    model.push_output(vec![function_call_with_id("c2", "probe", "{}")]);
    model.push_output(vec![text("done")]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let probe = FunctionTool::new(
        "probe",
        "Reports the run's position.",
        move |ctx: ToolContext, _a: agents_core::NoArgs| {
            let run = &ctx.run;
            seen2.lock().expect("lock").push((
                run.agent_name().map(|a| a.to_string()),
                run.turn(),
                run.usage().requests,
            ));
            async { Ok::<_, String>("ok") }
        },
    );
    let a = agent("Prober", &model).tool(probe).build();
    let r = Runner::run(&a, "go", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        *seen.lock().expect("lock"),
        [
            (Some("Prober".to_owned()), 1, 1),
            (Some("Prober".to_owned()), 2, 2)
        ]
    );
    assert_eq!(r.usage.requests, 3);
}
