//! Tool calls: concurrency, order, the concurrency cap, timeouts and the
//! error policy.

mod common;

use std::sync::Arc;
use std::time::Duration;

use agents_core::testing::{function_call_with_id, text, ScriptedModel};
use agents_core::{Error, FunctionTool, Item, RunItemKind, ToolContext, ToolError};
use agents_runner::{RunConfig, RunOptions, Runner, ToolErrorPolicy};
use common::*;
use tokio::sync::Barrier;

fn with_policy(policy: ToolErrorPolicy) -> RunOptions {
    RunOptions::default().run_config(RunConfig {
        tool_error_policy: policy,
        ..RunConfig::default()
    })
}

// ---- Concurrency and order ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_of_one_turn_run_concurrently() {
    let barrier = Arc::new(Barrier::new(2));
    let tool = |name: &str| {
        let barrier = Arc::clone(&barrier);
        let prefix = name.to_owned();
        FunctionTool::new(
            name,
            "Waits for its sibling.",
            move |_c: ToolContext, a: Text| {
                let barrier = Arc::clone(&barrier);
                let out = format!("{prefix}:{}", a.text);
                async move {
                    // Deadlocks unless both calls run at the same time.
                    barrier.wait().await;
                    Ok::<_, String>(out)
                }
            },
        )
    };
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "left", &args("1")),
        function_call_with_id("c2", "right", &args("2")),
    ]);
    model.push_text("done");
    let a = agent("A", &model)
        .tool(tool("left"))
        .tool(tool("right"))
        .build();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        Runner::run(&a, "hi", RunOptions::default()),
    )
    .await
    .expect("the two tools must run concurrently (a sequential run deadlocks)")
    .expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![
            ("c1".into(), "left:1".into()),
            ("c2".into(), "right:2".into())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn results_keep_call_order_when_the_first_finishes_last() {
    let finished = Log::default();
    let tool = |name: &str, d: Duration| {
        let finished = finished.clone();
        let prefix = name.to_owned();
        FunctionTool::new(name, "Sleeps.", move |_c: ToolContext, a: Text| {
            let finished = finished.clone();
            let out = format!("{prefix}:{}", a.text);
            let name = prefix.clone();
            async move {
                tokio::time::sleep(d).await;
                finished.push(name);
                Ok::<_, String>(out)
            }
        })
    };
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "slow", &args("a")),
        function_call_with_id("c2", "medium", &args("b")),
        function_call_with_id("c3", "fast", &args("c")),
    ]);
    model.push_text("done");
    let a = agent("A", &model)
        .tool(tool("slow", Duration::from_millis(300)))
        .tool(tool("medium", Duration::from_millis(200)))
        .tool(tool("fast", Duration::from_millis(100)))
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(finished.entries(), vec!["fast", "medium", "slow"]);
    let expected: Vec<(String, String)> = vec![
        ("c1".into(), "slow:a".into()),
        ("c2".into(), "medium:b".into()),
        ("c3".into(), "fast:c".into()),
    ];
    assert_eq!(outputs_in(&model.calls()[1]), expected);
    let in_items: Vec<(String, String)> = tool_outputs(&r.new_items)
        .into_iter()
        .map(|(id, out, _)| (id, out))
        .collect();
    assert_eq!(in_items, expected);
    assert_eq!(
        names(&r.new_items),
        vec![
            "tool_called",
            "tool_called",
            "tool_called",
            "tool_output",
            "tool_output",
            "tool_output",
            "message_output_created"
        ]
    );
}

/// Runs four gauged tool calls in one turn under `cap`; returns the highest
/// number that ran at once.
async fn max_simultaneous(cap: Option<usize>) -> usize {
    let gauge = Gauge::default();
    let g = gauge.clone();
    let tool = FunctionTool::new("work", "Works.", move |_c: ToolContext, a: Text| {
        let g = g.clone();
        async move {
            g.enter();
            tokio::time::sleep(Duration::from_millis(50)).await;
            g.leave();
            Ok::<_, String>(a.text)
        }
    });
    let model = ScriptedModel::new();
    model.push_output(
        (1..=4)
            .map(|i| function_call_with_id(&format!("c{i}"), "work", &args(&i.to_string())))
            .collect(),
    );
    model.push_text("done");
    let a = agent("A", &model).tool(tool).build();
    let options = RunOptions::default().run_config(RunConfig {
        max_tool_concurrency: cap,
        ..RunConfig::default()
    });
    let r = Runner::run(&a, "hi", options).await.expect("run");
    // Order is kept whatever the cap.
    let ids: Vec<String> = outputs_in(&model.calls()[1])
        .into_iter()
        .map(|(id, out)| format!("{id}={out}"))
        .collect();
    assert_eq!(ids, vec!["c1=1", "c2=2", "c3=3", "c4=4"]);
    assert_eq!(r.final_output_text(), "done");
    gauge.max()
}

#[tokio::test(start_paused = true)]
async fn max_tool_concurrency_caps_simultaneous_calls() {
    for (cap, expected) in [(None, 4), (Some(1), 1), (Some(2), 2), (Some(10), 4)] {
        assert_eq!(max_simultaneous(cap).await, expected, "cap {cap:?}");
    }
}

// ---- Failures go back to the model ----------------------------------------

/// One failure scenario: the tools of the agent and what the model calls.
struct Failure {
    label: &'static str,
    tools: Vec<FunctionTool<(), Text>>,
    call: Item,
    /// A fragment the model must read in the error output.
    returned: &'static str,
    /// What the raise policy must produce.
    raised: fn(&Error) -> bool,
}

fn failures() -> Vec<Failure> {
    vec![
        Failure {
            label: "tool returns Err",
            tools: vec![failing("broken", "disk on fire")],
            call: function_call_with_id("c1", "broken", &args("x")),
            returned: "disk on fire",
            raised: |e| matches!(e, Error::Tool { tool, message } if tool == "broken" && message.contains("disk on fire")),
        },
        Failure {
            label: "tool panics",
            tools: vec![panicking("crashy", "kaboom")],
            call: function_call_with_id("c1", "crashy", &args("x")),
            returned: "kaboom",
            raised: |e| matches!(e, Error::Tool { tool, message } if tool == "crashy" && message.contains("kaboom")),
        },
        Failure {
            label: "tool panics before returning its future",
            tools: vec![FunctionTool::new(
                "eager",
                "Panics while building its future.",
                |_c: ToolContext, a: Text| {
                    if a.text != "__never__" {
                        panic!("eager kaboom");
                    }
                    async move { Ok::<_, String>("unreachable") }
                },
            )],
            call: function_call_with_id("c1", "eager", &args("x")),
            returned: "eager kaboom",
            raised: |e| matches!(e, Error::Tool { tool, message } if tool == "eager" && message.contains("eager kaboom")),
        },
        Failure {
            label: "malformed JSON arguments",
            tools: vec![echo("echo")],
            call: function_call_with_id("c1", "echo", r#"{"text": "unterminated"#),
            returned: "invalid arguments",
            raised: |e| matches!(e, Error::Tool { tool, message } if tool == "echo" && message.contains("invalid arguments")),
        },
        Failure {
            label: "arguments of the wrong shape",
            tools: vec![echo("echo")],
            call: function_call_with_id("c1", "echo", r#"{"txt": 1}"#),
            returned: "invalid arguments",
            raised: |e| matches!(e, Error::Tool { tool, .. } if tool == "echo"),
        },
        Failure {
            label: "unknown tool",
            tools: vec![echo("echo")],
            call: function_call_with_id("c1", "nope", &args("x")),
            returned: "nope",
            raised: |e| matches!(e, Error::ModelBehavior(m) if m.contains("nope")),
        },
        Failure {
            label: "tool times out",
            tools: vec![sleeping("slow", Duration::from_secs(3600))
                .with_timeout(Duration::from_millis(100))],
            call: function_call_with_id("c1", "slow", &args("x")),
            returned: "timed out",
            raised: |e| matches!(e, Error::ToolTimeout { tool, timeout } if tool == "slow" && *timeout == Duration::from_millis(100)),
        },
    ]
}

fn agent_with(
    model: &Arc<ScriptedModel>,
    tools: Vec<FunctionTool<(), Text>>,
) -> agents_core::Agent {
    let mut b = agent("A", model);
    for t in tools {
        b = b.tool(t);
    }
    b.build()
}

#[tokio::test(start_paused = true)]
async fn tool_failures_become_outputs_the_model_reads() {
    for f in failures() {
        let model = ScriptedModel::new();
        model.push_output(vec![f.call.clone()]);
        model.push_text("recovered");
        let a = agent_with(&model, f.tools);
        let r = Runner::run(&a, "hi", RunOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", f.label));
        assert_eq!(r.final_output_text(), "recovered", "{}", f.label);
        model.assert_complete();
        let seen = outputs_in(&model.calls()[1]);
        assert_eq!(seen.len(), 1, "{}", f.label);
        assert_eq!(seen[0].0, "c1", "{}", f.label);
        assert!(
            seen[0].1.contains(f.returned),
            "{}: the model read {:?}",
            f.label,
            seen[0].1
        );
        let outs = tool_outputs(&r.new_items);
        assert_eq!(outs.len(), 1, "{}", f.label);
        assert!(outs[0].2, "{}: the output is flagged as an error", f.label);
    }
}

#[tokio::test(start_paused = true)]
async fn raise_policy_ends_the_run_with_a_typed_error() {
    for f in failures() {
        let model = ScriptedModel::new();
        model.push_output(vec![text("calling"), f.call.clone()]);
        let a = agent_with(&model, f.tools);
        let e = expect_err(Runner::run(&a, "hi", with_policy(ToolErrorPolicy::Raise)).await);
        assert!((f.raised)(&e.error), "{}: got {:?}", f.label, e.error);
        assert_eq!(model.call_count(), 1, "{}", f.label);
        // The partial items are carried: the message and the call.
        assert_eq!(
            names(&e.details.new_items),
            vec!["message_output_created", "tool_called"],
            "{}",
            f.label
        );
        assert_eq!(calls_of(&e.details.new_items)[0].call_id, "c1");
        assert_eq!(e.details.raw_responses.len(), 1);
        assert_eq!(e.details.input, vec![Item::user("hi")]);
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_does_not_hide_the_other_results_of_the_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "broken", &args("x")),
        function_call_with_id("c2", "echo", &args("y")),
        function_call_with_id("c3", "missing", &args("z")),
    ]);
    model.push_text("ok");
    let a = agent_with(&model, vec![failing("broken", "bad"), echo("echo")]);
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let seen = outputs_in(&model.calls()[1]);
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, vec!["c1", "c2", "c3"]);
    assert!(seen[0].1.contains("bad"));
    assert_eq!(seen[1].1, "echo:y");
    assert!(seen[2].1.contains("missing"));
}

#[tokio::test]
async fn failure_formatter_sets_the_text_the_model_reads() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "broken", &args("x"))]);
    model.push_text("ok");
    let tool = failing("broken", "bad").with_failure_formatter(|name, err| {
        assert!(matches!(err, ToolError::Failed(_)));
        format!("{name} is unavailable")
    });
    let a = agent("A", &model).tool(tool).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        outputs_in(&model.calls()[1]),
        vec![("c1".into(), "broken is unavailable".into())]
    );
    assert!(r
        .new_items
        .iter()
        .any(|i| matches!(&i.kind, RunItemKind::ToolCallOutput { is_error: true, .. })));
}

#[tokio::test]
async fn tools_see_the_context_and_call_id() {
    let log = Log::default();
    let l = log.clone();
    let tool = FunctionTool::new("who", "Reports.", move |c: ToolContext, _a: Text| {
        l.push(format!("{}:{}", c.tool_name, c.call_id));
        async move { Ok::<_, String>("ok") }
    });
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("call_42", "who", &args("x"))]);
    model.push_text("done");
    let a = agent("A", &model).tool(tool).build();
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(log.entries(), vec!["who:call_42"]);
}

#[tokio::test]
async fn disabled_tools_are_not_offered() {
    let model = ScriptedModel::new();
    model.push_text("done");
    let a = agent("A", &model)
        .tool(echo("on"))
        .tool(echo("off").enabled_when(|_| false))
        .build();
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(model.calls()[0].tool_names(), vec!["on"]);
}
