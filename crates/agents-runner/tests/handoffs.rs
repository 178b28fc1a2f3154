//! Handoffs: tool names and descriptions, typed arguments, callbacks, input
//! filters (and the ready-made ones), nested history, enabling, toolkits of
//! the new agent, agent-updated events and server-managed conversations.

mod common;

use std::sync::Arc;

use agents_core::handoff::{filters, HISTORY_END, HISTORY_PREAMBLE, HISTORY_START};
use agents_core::testing::{function_call_with_id, handoff_call, text, ScriptedModel};
use agents_core::{Agent, Error, Handoff, HandoffInputData, Item, RunItemKind};
use agents_runner::{AgentRunExt, RunConfig, RunOptions, RunStreamEvent, Runner};
use common::*;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// The arguments of an escalation handoff.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
struct Escalation {
    /// Why the conversation is escalated.
    reason: String,
    /// 1 (low) to 3 (high).
    priority: u8,
}

/// `(name, description)` of the handoff tools offered in a call.
fn handoff_specs(call: &agents_core::testing::RecordedCall) -> Vec<(String, String)> {
    call.handoffs
        .iter()
        .map(|h| (h.name.to_string(), h.description.to_string()))
        .collect()
}

// ---- Tool name, description, arguments ---------------------------------------

#[tokio::test]
async fn default_name_and_description_name_the_agent_and_can_be_overridden() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let billing = agent("Billing Agent", &mb)
        .handoff_description("Handles invoices and refunds.")
        .build();
    let faq = agent("FAQ bot", &mc).build();
    let a = agent("Triage", &ma)
        .handoff_to(&billing)
        .handoff(
            Handoff::to(&faq)
                .tool_name("ask_the_faq")
                .tool_description("Questions answered in the FAQ."),
        )
        .build();
    ma.push_output(vec![function_call_with_id("h1", "ask_the_faq", "{}")]);
    mc.push_text("See the FAQ.");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        handoff_specs(&ma.calls()[0]),
        vec![
            (
                "transfer_to_billing_agent".to_owned(),
                "Handoff to the Billing Agent agent to handle the request. \
                 Handles invoices and refunds."
                    .to_owned()
            ),
            (
                "ask_the_faq".to_owned(),
                "Questions answered in the FAQ.".to_owned()
            ),
        ]
    );
    // The default schema takes no arguments.
    assert_eq!(
        ma.calls()[0].handoffs[0].parameters.as_ref(),
        &json!({"type":"object","properties":{},"required":[],"additionalProperties":false})
    );
    // The custom name routes to its agent.
    assert!(r.last_agent.ptr_eq(&faq));
    assert_eq!(r.final_output_text(), "See the FAQ.");
    assert_eq!(mb.call_count(), 0);
}

#[tokio::test]
async fn input_type_sets_a_strict_schema_and_on_handoff_gets_the_typed_value() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let b = agent("B", &mb).build();
    let a = agent("A", &ma)
        .handoff(
            Handoff::to(&b).on_handoff_typed(move |_ctx, e: Escalation| {
                s.lock().expect("lock").push(e);
                async move { Ok(()) }
            }),
        )
        .build();
    ma.push_output(vec![function_call_with_id(
        "h1",
        "transfer_to_b",
        r#"{"reason":"refund over limit","priority":3}"#,
    )]);
    mb.push_text("B here");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let spec = &ma.calls()[0].handoffs[0];
    assert!(spec.strict);
    assert_eq!(spec.parameters["required"], json!(["reason", "priority"]));
    assert_eq!(spec.parameters["additionalProperties"], json!(false));
    assert_eq!(
        spec.parameters["properties"]["reason"]["description"],
        json!("Why the conversation is escalated.")
    );
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![Escalation {
            reason: "refund over limit".into(),
            priority: 3
        }]
    );
    assert_eq!(r.last_agent.name(), "B");
}

#[tokio::test]
async fn bad_handoff_arguments_go_back_to_the_model_and_no_handoff_happens() {
    // (arguments, what the error output mentions)
    let cases = [
        (r#"{"reason": "x""#, "EOF"),
        (r#"{"reason":"refund"}"#, "missing field `priority`"),
        (r#"{"reason":"refund","priority":"high"}"#, "invalid type"),
        ("", "missing field"),
    ];
    for (arguments, mentions) in cases {
        let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
        let calls = Log::default();
        let l = calls.clone();
        let b = agent("B", &mb).build();
        let a = agent("A", &ma)
            .handoff(
                Handoff::to(&b).on_handoff_typed(move |_ctx, e: Escalation| {
                    l.push(e.reason);
                    async move { Ok(()) }
                }),
            )
            .build();
        ma.push_output(vec![function_call_with_id(
            "h1",
            "transfer_to_b",
            arguments,
        )]);
        ma.push_text("A again");
        let r = Runner::run(&a, "hi", RunOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{arguments}: {e}"));
        assert_eq!(r.final_output_text(), "A again", "{arguments}");
        assert_eq!(r.last_agent.name(), "A", "{arguments}");
        assert_eq!(mb.call_count(), 0, "{arguments}: no handoff");
        assert!(calls.entries().is_empty(), "{arguments}: no callback");
        let outputs = tool_outputs(&r.new_items);
        assert_eq!(outputs.len(), 1, "{arguments}");
        let (call_id, text, is_error) = &outputs[0];
        assert_eq!(call_id, "h1");
        assert!(*is_error, "{arguments}");
        assert!(
            text.contains("invalid arguments for `transfer_to_b`") && text.contains(mentions),
            "{arguments}: {text}"
        );
        // The model read the error on its next call.
        assert_eq!(
            outputs_in(&ma.calls()[1]),
            vec![("h1".into(), text.clone())]
        );
    }
}

#[tokio::test]
async fn a_sync_on_handoff_runs_before_the_switch_and_its_error_ends_the_run() {
    for fail in [false, true] {
        let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
        let log = Log::default();
        let l = log.clone();
        let b = agent("B", &mb).build();
        let a = agent("A", &ma)
            .handoff(Handoff::to(&b).on_handoff_sync(move |_ctx, args| {
                l.push(args.to_string());
                if fail {
                    Err("escalation desk closed".into())
                } else {
                    Ok(())
                }
            }))
            .build();
        ma.push_output(vec![function_call_with_id(
            "h1",
            "transfer_to_b",
            r#"{"any":"json"}"#,
        )]);
        if !fail {
            mb.push_text("B here");
        }
        let outcome = Runner::run(&a, "hi", RunOptions::default()).await;
        assert_eq!(log.entries(), vec![r#"{"any":"json"}"#]);
        if fail {
            let e = expect_err(outcome);
            match &e.error {
                Error::Hook(msg) => assert!(
                    msg.contains("transfer_to_b") && msg.contains("escalation desk closed"),
                    "{msg}"
                ),
                other => panic!("unexpected {other}"),
            }
            assert_eq!(mb.call_count(), 0);
            assert_eq!(e.details.last_agent, "A");
            assert_eq!(names(&e.details.new_items), vec!["handoff_requested"]);
        } else {
            assert_eq!(outcome.expect("run").last_agent.name(), "B");
        }
    }
}

// ---- Input filters -----------------------------------------------------------

/// A: "looking" + echo call, then "passing on" + handoff to B. Returns the
/// agents and models; B answers "B here".
fn tool_then_handoff(
    handoff: impl FnOnce(&Agent) -> Handoff,
) -> (Agent, Arc<ScriptedModel>, Arc<ScriptedModel>) {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("B", &mb).build();
    let a = agent("A", &ma)
        .tool(echo("echo"))
        .handoff(handoff(&b))
        .build();
    ma.push_output(vec![
        text("looking"),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    ma.push_output(vec![
        text("passing on"),
        function_call_with_id("h1", "transfer_to_b", "{}"),
    ]);
    mb.push_text("B here");
    (a, ma, mb)
}

fn marker_filter(marker: &'static str) -> impl Fn(HandoffInputData) -> HandoffInputData {
    move |mut data: HandoffInputData| {
        data.input_history = vec![Item::user(marker)];
        data.pre_handoff_items.clear();
        data.new_items.clear();
        data
    }
}

#[tokio::test]
async fn the_handoffs_own_filter_wins_over_the_run_default() {
    let (a, _, mb) = tool_then_handoff(|b| Handoff::to(b).input_filter(marker_filter("own")));
    let options = RunOptions::default().run_config(RunConfig {
        handoff_input_filter: Some(Arc::new(marker_filter("run default"))),
        ..RunConfig::default()
    });
    Runner::run(&a, "hi", options).await.expect("run");
    assert_eq!(mb.calls()[0].input, vec![Item::user("own")]);
}

#[tokio::test]
async fn remove_all_tools_leaves_the_next_agent_the_messages_only() {
    let (a, _, mb) = tool_then_handoff(Handoff::to);
    let options = RunOptions::default().run_config(RunConfig {
        handoff_input_filter: Some(Arc::new(filters::remove_all_tools)),
        ..RunConfig::default()
    });
    let r = Runner::run(&a, "hi", options).await.expect("run");
    assert_eq!(
        mb.calls()[0].input,
        vec![
            Item::user("hi"),
            Item::assistant("looking"),
            Item::assistant("passing on")
        ]
    );
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
async fn keep_last_n_limits_what_the_next_agent_sees() {
    // Transcript before B: user, looking, echo call, echo output, passing on,
    // handoff call, handoff output.
    let cases: [(usize, Vec<&str>); 4] = [
        (2, vec!["function_call", "function_call_output"]),
        (3, vec!["message", "function_call", "function_call_output"]),
        // The 4th item from the end is the echo output, whose call was cut:
        // the orphan output is dropped too.
        (4, vec!["message", "function_call", "function_call_output"]),
        (
            7,
            vec![
                "message",
                "message",
                "function_call",
                "function_call_output",
                "message",
                "function_call",
                "function_call_output",
            ],
        ),
    ];
    for (n, expected) in cases {
        let (a, _, mb) =
            tool_then_handoff(|b| Handoff::to(b).input_filter(filters::keep_last_n(n)));
        Runner::run(&a, "hi", RunOptions::default())
            .await
            .expect("run");
        let input = &mb.calls()[0].input;
        assert_eq!(kinds(input), expected, "keep_last_n({n})");
        assert_eq!(
            input.last(),
            Some(&Item::function_call_output("h1", r#"{"assistant":"B"}"#)),
            "keep_last_n({n})"
        );
    }
}

// ---- Nested history ----------------------------------------------------------

fn summary_lines(item: &Item) -> Vec<String> {
    let m = item.as_message().expect("the summary is a message");
    assert_eq!(m.role, agents_core::Role::Assistant);
    m.text().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn nested_history_collapses_the_transcript_into_one_summary_message() {
    let (a, _, mb) = tool_then_handoff(|b| Handoff::to(b).nest_history(true));
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let input = &mb.calls()[0].input;
    assert_eq!(input.len(), 1, "{input:?}");
    let lines = summary_lines(&input[0]);
    assert_eq!(lines[0], HISTORY_PREAMBLE);
    assert_eq!(lines[1], HISTORY_START);
    assert_eq!(lines.last().map(String::as_str), Some(HISTORY_END));
    let records = &lines[2..lines.len() - 1];
    assert_eq!(records.len(), 7, "{records:?}");
    assert_eq!(records[0], "1. user: hi");
    assert_eq!(records[1], "2. assistant: looking");
    assert!(
        records[2].starts_with("3. {\"type\":\"function_call\""),
        "{}",
        records[2]
    );
    assert!(records[3].contains("echo:x"), "{}", records[3]);
    assert_eq!(records[4], "5. assistant: passing on");
    assert!(records[5].contains("transfer_to_b"), "{}", records[5]);
    assert!(
        records[6].contains(r#"{\"assistant\":\"B\"}"#),
        "{}",
        records[6]
    );
    // The run still reports every item it produced.
    assert_eq!(
        names(&r.new_items),
        vec![
            "message_output_created",
            "tool_called",
            "tool_output",
            "message_output_created",
            "handoff_requested",
            "handoff_occurred",
            "message_output_created"
        ]
    );
    assert_eq!(r.to_input_list().len(), 8);
}

#[tokio::test]
async fn nested_history_switches_and_mappers() {
    let summarised = |input: &[Item]| {
        input.len() == 1
            && input[0]
                .as_message()
                .is_some_and(|m| m.text().starts_with(HISTORY_PREAMBLE))
    };
    let run_nesting = || RunConfig {
        nest_handoff_history: true,
        ..RunConfig::default()
    };

    // The run-level switch nests handoffs that do not say otherwise.
    let (a, _, mb) = tool_then_handoff(Handoff::to);
    Runner::run(&a, "hi", RunOptions::default().run_config(run_nesting()))
        .await
        .expect("run");
    assert!(summarised(&mb.calls()[0].input));

    // A handoff's `false` wins over the run's `true`.
    let (a, _, mb) = tool_then_handoff(|b| Handoff::to(b).nest_history(false));
    Runner::run(&a, "hi", RunOptions::default().run_config(run_nesting()))
        .await
        .expect("run");
    assert_eq!(mb.calls()[0].input.len(), 7);

    // Off by default.
    let (a, _, mb) = tool_then_handoff(Handoff::to);
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(mb.calls()[0].input.len(), 7);

    // An input filter wins over nesting.
    let (a, _, mb) = tool_then_handoff(|b| {
        Handoff::to(b)
            .nest_history(true)
            .input_filter(marker_filter("filtered"))
    });
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(mb.calls()[0].input, vec![Item::user("filtered")]);

    // A run-level mapper customises the summary; the handoff's own mapper wins.
    let run_mapper = RunConfig {
        nest_handoff_history: true,
        handoff_history_mapper: Some(Arc::new(|t: Vec<Item>| {
            vec![Item::developer(format!("run mapper saw {} items", t.len()))]
        })),
        ..RunConfig::default()
    };
    let (a, _, mb) = tool_then_handoff(Handoff::to);
    Runner::run(
        &a,
        "hi",
        RunOptions::default().run_config(run_mapper.clone()),
    )
    .await
    .expect("run");
    assert_eq!(
        mb.calls()[0].input,
        vec![Item::developer("run mapper saw 7 items")]
    );
    let (a, _, mb) = tool_then_handoff(|b| {
        Handoff::to(b).history_mapper(|t: Vec<Item>| {
            let mut kept: Vec<Item> = t.into_iter().filter(|i| i.as_message().is_some()).collect();
            kept.push(Item::developer("handoff mapper"));
            kept
        })
    });
    Runner::run(&a, "hi", RunOptions::default().run_config(run_mapper))
        .await
        .expect("run");
    assert_eq!(
        mb.calls()[0].input,
        vec![
            Item::user("hi"),
            Item::assistant("looking"),
            Item::assistant("passing on"),
            Item::developer("handoff mapper")
        ]
    );
}

#[tokio::test]
async fn handing_off_twice_with_nesting_keeps_one_flat_summary() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let c = agent("C", &mc).build();
    let b = agent("B", &mb).handoff_to(&c).build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_output(vec![text("to B"), handoff_call("B")]);
    mb.push_output(vec![text("to C"), handoff_call("C")]);
    mc.push_text("C here");
    let options = RunOptions::default().run_config(RunConfig {
        nest_handoff_history: true,
        ..RunConfig::default()
    });
    Runner::run(&a, "hi", options).await.expect("run");
    let input = &mc.calls()[0].input;
    assert_eq!(input.len(), 1);
    let lines = summary_lines(&input[0]);
    assert_eq!(
        lines.iter().filter(|l| l.as_str() == HISTORY_START).count(),
        1,
        "{lines:?}"
    );
    // user, "to B", A's handoff call and output, "to C", B's call and output.
    assert_eq!(lines.len(), 2 + 7 + 1, "{lines:?}");
    assert_eq!(lines[2], "1. user: hi");
    assert_eq!(lines[3], "2. assistant: to B");
    assert_eq!(lines[6], "5. assistant: to C");
}

// ---- Enabling ----------------------------------------------------------------

#[derive(Default)]
struct Customer {
    vip: bool,
}

#[tokio::test]
async fn handoffs_are_enabled_by_a_flag_or_a_function_of_the_context() {
    for vip in [false, true] {
        let (ma, mb, mc, md) = (
            ScriptedModel::new(),
            ScriptedModel::new(),
            ScriptedModel::new(),
            ScriptedModel::new(),
        );
        let concierge: Agent<Customer> = Agent::builder("Concierge").model(mb.clone()).build();
        let hidden: Agent<Customer> = Agent::builder("Hidden").model(mc.clone()).build();
        let shown: Agent<Customer> = Agent::builder("Shown").model(md.clone()).build();
        let a: Agent<Customer> = Agent::builder("A")
            .model(ma.clone())
            .handoff(Handoff::to(&concierge).enabled_when(|ctx| ctx.context().vip))
            .handoff(Handoff::to(&hidden).enabled(false))
            .handoff(Handoff::to(&shown).enabled(true))
            .build();
        ma.push_text("hello");
        Runner::run(&a, "hi", RunOptions::default().context(Customer { vip }))
            .await
            .expect("run");
        let offered = ma.calls()[0].handoff_names().join(",");
        if vip {
            assert_eq!(offered, "transfer_to_concierge,transfer_to_shown");
        } else {
            assert_eq!(offered, "transfer_to_shown");
        }
    }
}

// ---- Toolkits of the new agent -----------------------------------------------

#[tokio::test]
async fn the_new_agents_toolkits_open_lazily_inside_the_run_session() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let counts = KitCounts::default();
    let b = agent("B", &mb)
        .toolkit(CountingKit::new("kit", &counts))
        .build();
    let a = agent("A", &ma).handoff_to(&b).build();
    let session = a.create_session(()).await.expect("session");
    assert_eq!(counts.get(), (0, 0), "not opened with the starting agent");

    // A run that does not hand off never opens B's toolkit.
    ma.push_text("no handoff");
    session.run("hi", RunOptions::default()).await.expect("run");
    assert_eq!(counts.get(), (0, 0));

    // Two runs that hand off share one toolkit session.
    for n in 0..2 {
        ma.push_output(vec![handoff_call("B")]);
        mb.push_output(vec![function_call_with_id("k1", "kit_tool", &args("x"))]);
        mb.push_text("B used its kit");
        let r = session.run("hi", RunOptions::default()).await.expect("run");
        assert_eq!(r.final_output_text(), "B used its kit");
        assert_eq!(counts.get(), (1, 0), "run {n}");
        assert_eq!(
            tool_outputs(&r.new_items),
            vec![("k1".to_owned(), "kit_tool:x".to_owned(), false)]
        );
    }
    assert_eq!(mb.calls()[0].tool_names(), vec!["kit_tool"]);
    session.close().await.expect("close");
    assert_eq!(counts.get(), (1, 1));

    // A one-off run opens it on the handoff and closes it at the end.
    let counts = KitCounts::default();
    let b = agent("B", &mb)
        .toolkit(CountingKit::new("kit", &counts))
        .build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_output(vec![handoff_call("B")]);
    mb.push_text("B here");
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(counts.get(), (1, 1));
}

// ---- Agent switch: last_agent and events -------------------------------------

#[tokio::test]
async fn last_agent_and_agent_updated_events_follow_each_switch() {
    let (ma, mb, mc) = (
        ScriptedModel::new(),
        ScriptedModel::new(),
        ScriptedModel::new(),
    );
    let c = agent("C", &mc).build();
    let b = agent("B", &mb)
        .handoff(Handoff::to(&c).tool_name("escalate"))
        .build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_output(vec![handoff_call("B")]);
    mb.push_output(vec![function_call_with_id("e1", "escalate", "{}")]);
    mc.push_text("C answers");
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut seen = Vec::new();
    while let Some(e) = s.next().await {
        match &e {
            RunStreamEvent::AgentUpdated { .. } => seen.push(describe(&e)),
            RunStreamEvent::RunItem { item, .. } => {
                if let RunItemKind::HandoffOutput { source, target } = &item.kind {
                    seen.push(format!("handoff:{source}->{target}"));
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        seen,
        vec![
            "agent_updated:A",
            "handoff:A->B",
            "agent_updated:B",
            "handoff:B->C",
            "agent_updated:C"
        ]
    );
    let r = s.result().await.expect("run");
    assert!(r.last_agent.ptr_eq(&c));
    // The plain run agrees.
    ma.push_output(vec![handoff_call("B")]);
    mb.push_output(vec![function_call_with_id("e2", "escalate", "{}")]);
    mc.push_text("C answers");
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert!(r.last_agent.ptr_eq(&c));
}

// ---- Server-managed conversations --------------------------------------------

#[tokio::test]
async fn server_managed_conversations_skip_filters_and_nesting() {
    for server in ["previous_response_id", "conversation_id", "auto"] {
        let calls = Log::default();
        let l = calls.clone();
        let (a, _, mb) = tool_then_handoff(|b| {
            Handoff::to(b).input_filter(move |d| {
                l.push("filter ran");
                d
            })
        });
        let options = match server {
            "previous_response_id" => RunOptions::default().previous_response_id("resp_0"),
            "conversation_id" => RunOptions::default().conversation_id("conv_1"),
            _ => RunOptions::default().auto_previous_response_id(true),
        };
        let options = options.run_config(RunConfig {
            nest_handoff_history: true,
            handoff_input_filter: Some(Arc::new(marker_filter("run default"))),
            ..RunConfig::default()
        });
        Runner::run(&a, "hi", options).await.expect("run");
        assert!(
            calls.entries().is_empty(),
            "{server}: the filter must not run"
        );
        // B gets only what the server has not seen: the handoff output.
        assert_eq!(
            mb.calls()[0].input,
            vec![Item::function_call_output("h1", r#"{"assistant":"B"}"#)],
            "{server}"
        );
    }
}
