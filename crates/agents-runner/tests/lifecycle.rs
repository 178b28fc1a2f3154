//! Toolkit session lifecycle, cancellation, and `Send` futures.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::{
    Agent, BoxFuture, Error, FunctionTool, ModelError, RunContext, Tool, ToolContext, Toolkit,
    ToolkitError, ToolkitSession,
};
use agents_runner::{AgentRunExt, CancelHandle, CancelMode, RunOptions, RunSession, Runner};
use common::*;
use futures::StreamExt;
use tokio::sync::{oneshot, Notify};

// ---- A counting toolkit ---------------------------------------------------

#[derive(Clone, Default)]
struct Counts {
    creates: Arc<AtomicUsize>,
    closes: Arc<AtomicUsize>,
}

impl Counts {
    fn get(&self) -> (usize, usize) {
        (
            self.creates.load(Ordering::SeqCst),
            self.closes.load(Ordering::SeqCst),
        )
    }
}

struct CountingToolkit {
    name: String,
    counts: Counts,
    fail: bool,
}

struct CountingSession {
    name: String,
    counts: Counts,
}

impl Toolkit for CountingToolkit {
    fn name(&self) -> &str {
        &self.name
    }

    fn create_session<'a>(
        &'a self,
        _ctx: &'a RunContext,
    ) -> BoxFuture<'a, Result<Arc<dyn ToolkitSession>, ToolkitError>> {
        Box::pin(async move {
            if self.fail {
                return Err(ToolkitError::new(&self.name, "cannot connect"));
            }
            self.counts.creates.fetch_add(1, Ordering::SeqCst);
            let s: Arc<dyn ToolkitSession> = Arc::new(CountingSession {
                name: self.name.clone(),
                counts: self.counts.clone(),
            });
            Ok(s)
        })
    }
}

impl ToolkitSession for CountingSession {
    fn system_prompt(&self) -> Option<String> {
        Some(format!("Toolkit {} is connected.", self.name))
    }

    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        vec![echo(&format!("{}_tool", self.name)).into_dyn()]
    }

    fn close(&self) -> BoxFuture<'_, Result<(), ToolkitError>> {
        self.counts.closes.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}

fn kit(name: &str, counts: &Counts) -> CountingToolkit {
    CountingToolkit {
        name: name.to_owned(),
        counts: counts.clone(),
        fail: false,
    }
}

fn broken_kit(name: &str) -> CountingToolkit {
    CountingToolkit {
        name: name.to_owned(),
        counts: Counts::default(),
        fail: true,
    }
}

fn kit_agent(model: &Arc<ScriptedModel>, counts: &Counts) -> Agent {
    agent("A", model)
        .instructions("Base.")
        .tool(echo("static_tool"))
        .toolkit(kit("kit", counts))
        .build()
}

/// Waits (bounded) until the background close has run.
async fn settle_closes(counts: &Counts, expected: usize) {
    for _ in 0..200 {
        if counts.get().1 >= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn run_session_opens_toolkits_once_and_closes_on_close() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = kit_agent(&model, &counts);
    let session = a.create_session(()).await.expect("open");
    assert_eq!(counts.get(), (1, 0), "created when the session opens");

    model.push_output(vec![function_call_with_id("c1", "kit_tool", &args("x"))]);
    model.push_text("one");
    model.push_text("two");
    let r1 = session
        .run("first", RunOptions::default())
        .await
        .expect("run 1");
    let r2 = session
        .run("second", RunOptions::default())
        .await
        .expect("run 2");
    let r3 = session
        .run_stream("third", RunOptions::default())
        .result()
        .await;
    assert_eq!(r1.final_output_text(), "one");
    assert_eq!(r2.final_output_text(), "two");
    assert!(r3.is_err(), "the script is exhausted");
    assert_eq!(counts.get(), (1, 0), "runs reuse the open session");

    let calls = model.calls();
    assert_eq!(calls.len(), 4);
    for c in &calls {
        assert_eq!(
            c.instructions.as_deref(),
            Some("Base.\n\nToolkit kit is connected.")
        );
        assert_eq!(c.tool_names(), vec!["static_tool", "kit_tool"]);
    }
    // The toolkit's tool runs.
    assert_eq!(
        outputs_in(&calls[1]),
        vec![("c1".into(), "kit_tool:x".into())]
    );

    session.close().await.expect("close");
    assert_eq!(counts.get(), (1, 1));
}

#[tokio::test]
async fn toolkit_prompt_becomes_the_instructions_when_the_agent_has_none() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    model.push_text("ok");
    let a = agent("A", &model).toolkit(kit("kit", &counts)).build();
    a.run("hi", RunOptions::default()).await.expect("run");
    assert_eq!(
        model.calls()[0].instructions.as_deref(),
        Some("Toolkit kit is connected.")
    );
}

#[tokio::test]
async fn agent_run_opens_and_closes_its_own_sessions() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = kit_agent(&model, &counts);
    model.push_text("one");
    a.run("hi", RunOptions::default()).await.expect("run");
    assert_eq!(counts.get(), (1, 1));
    model.push_text("two");
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(counts.get(), (2, 2));

    // Also when the run fails.
    model.push_error(ModelError::Other("overloaded".into()));
    let e = expect_err(a.run("hi", RunOptions::default()).await);
    assert!(matches!(e.error, Error::Model(_)));
    assert_eq!(counts.get(), (3, 3));

    // And a streamed run that finishes.
    model.push_text("three");
    let r = a.run_stream("hi", RunOptions::default()).result().await;
    assert_eq!(r.expect("run").final_output_text(), "three");
    assert_eq!(counts.get(), (4, 4));
}

#[tokio::test]
async fn a_streamed_run_dropped_midway_closes_its_sessions() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = kit_agent(&model, &counts);
    model.push_stall();
    let mut s = a.run_stream("hi", RunOptions::default());
    assert_eq!(
        describe(&s.next().await.expect("first event")),
        "agent_updated:A"
    );
    // The model stalls: no further event comes.
    let more = tokio::time::timeout(Duration::from_millis(50), s.next()).await;
    assert!(more.is_err(), "the model stalls");
    assert_eq!(model.call_count(), 1);
    assert_eq!(counts.get(), (1, 0));
    drop(s);
    settle_closes(&counts, 1).await;
    assert_eq!(
        counts.get(),
        (1, 1),
        "dropping the stream closes the sessions"
    );
}

#[tokio::test]
async fn a_failing_toolkit_closes_the_ones_already_opened() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = agent("A", &model)
        .toolkit(kit("good", &counts))
        .toolkit(broken_kit("bad"))
        .build();

    let e = expect_err(a.create_session(()).await);
    match &e.error {
        Error::Toolkit(t) => assert_eq!(t.toolkit, "bad"),
        other => panic!("unexpected {other}"),
    }
    assert_eq!(counts.get(), (1, 1));

    let e = expect_err(RunSession::open(&a, Arc::new(())).await);
    assert!(matches!(e.error, Error::Toolkit(_)));
    assert_eq!(counts.get(), (2, 2));

    // A one-off run fails the same way, before any model call.
    let e = expect_err(a.run("hi", RunOptions::default()).await);
    assert!(matches!(e.error, Error::Toolkit(_)));
    assert_eq!(counts.get(), (3, 3));
    assert_eq!(model.call_count(), 0);
}

#[tokio::test]
async fn a_dropped_run_session_closes_in_the_background() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = kit_agent(&model, &counts);
    let session = a.create_session(()).await.expect("open");
    drop(session);
    settle_closes(&counts, 1).await;
    assert_eq!(counts.get(), (1, 1));
}

// ---- Cancellation ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn streamed_immediate_cancel_stops_a_stalled_model() {
    let model = ScriptedModel::new();
    model.push_stall();
    let a = agent("A", &model).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    assert_eq!(describe(&s.next().await.expect("event")), "agent_updated:A");
    assert!(
        tokio::time::timeout(Duration::from_secs(60), s.next())
            .await
            .is_err(),
        "the model stalls"
    );
    s.cancel(CancelMode::Immediate);
    let e = expect_err(
        tokio::time::timeout(Duration::from_secs(60), s.result())
            .await
            .expect("cancel ends the run"),
    );
    assert!(matches!(e.error, Error::Cancelled), "{}", e.error);
    assert_eq!(model.call_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn streamed_cancel_after_turn_finishes_the_turn() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call_with_id("c1", "slow", &args("a")),
        function_call_with_id("c2", "slow", &args("b")),
    ]);
    // No second step: a second model call would fail with a model error.
    let a = agent("A", &model)
        .tool(sleeping("slow", Duration::from_secs(5)))
        .build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let mut seen = Vec::new();
    while let Some(e) = s.next().await {
        let name = describe(&e);
        if name == "tool_called" && !seen.contains(&name) {
            s.cancel(CancelMode::AfterTurn);
        }
        seen.push(name);
    }
    let e = expect_err(s.result().await);
    assert!(matches!(e.error, Error::Cancelled), "{}", e.error);
    assert_eq!(model.call_count(), 1, "the model is not called again");
    assert_eq!(
        tool_outputs(&e.details.new_items),
        vec![
            ("c1".into(), "slow:a".into(), false),
            ("c2".into(), "slow:b".into(), false)
        ]
    );
    assert!(seen.iter().filter(|n| *n == "tool_output").count() == 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_handle_cancels_a_plain_run() {
    let model = ScriptedModel::new();
    model.push_stall();
    let a = agent("A", &model).build();
    let handle = CancelHandle::new();
    let run = {
        let (a, handle) = (a.clone(), handle.clone());
        tokio::spawn(async move {
            Runner::run(&a, "hi", RunOptions::default().cancel_handle(handle)).await
        })
    };
    for _ in 0..1000 {
        if model.call_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(model.call_count(), 1, "the model was called");
    handle.cancel(CancelMode::Immediate);
    let r = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("cancel ends the run")
        .expect("join");
    assert!(matches!(expect_err(r).error, Error::Cancelled));
}

#[tokio::test]
async fn cancel_handle_after_turn_in_a_plain_run() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "stop_soon", &args("x"))]);
    let handle = CancelHandle::new();
    let h = handle.clone();
    let tool = FunctionTool::new(
        "stop_soon",
        "Asks to stop.",
        move |_c: ToolContext, a: Text| {
            h.cancel(CancelMode::AfterTurn);
            async move { Ok::<_, String>(format!("finished {}", a.text)) }
        },
    );
    let a = agent("A", &model).tool(tool).build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default().cancel_handle(handle)).await);
    assert!(matches!(e.error, Error::Cancelled));
    assert_eq!(model.call_count(), 1);
    assert_eq!(
        tool_outputs(&e.details.new_items),
        vec![("c1".into(), "finished x".into(), false)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_see_their_cancel_token_cancelled() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "watch", &args("x"))]);
    let started = Arc::new(Notify::new());
    let (tx, rx) = oneshot::channel::<&'static str>();
    let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
    let st = Arc::clone(&started);
    let tool = FunctionTool::new("watch", "Watches.", move |c: ToolContext, _a: Text| {
        let (st, tx) = (Arc::clone(&st), Arc::clone(&tx));
        async move {
            let token = c.cancel.clone();
            // Work the tool hands off keeps the token and sees the cancel.
            tokio::spawn(async move {
                token.cancelled().await;
                if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send("cancelled");
                }
            });
            st.notify_one();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, String>("never")
        }
    });
    let a = agent("A", &model).tool(tool).build();
    let mut s = Runner::run_streamed(&a, "hi", RunOptions::default());
    let cancelled = tokio::time::timeout(Duration::from_secs(20), async {
        let drive = async {
            while let Some(e) = s.next().await {
                if describe(&e) == "tool_called" {
                    started.notified().await;
                    s.cancel(CancelMode::Immediate);
                }
            }
        };
        drive.await;
        s.result().await
    })
    .await
    .expect("the run ends");
    assert!(matches!(expect_err(cancelled).error, Error::Cancelled));
    let seen = tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .expect("the token is cancelled")
        .expect("sent");
    assert_eq!(seen, "cancelled");
}

// ---- Send ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_future_can_be_spawned() {
    let model = ScriptedModel::new();
    let counts = Counts::default();
    let a = kit_agent(&model, &counts);
    for _ in 0..4 {
        model.push_text("ok");
    }

    let a1 = a.clone();
    let plain = tokio::spawn(async move { Runner::run(&a1, "hi", RunOptions::default()).await });
    assert_eq!(
        plain.await.expect("join").expect("run").final_output_text(),
        "ok"
    );

    let a2 = a.clone();
    let ext = tokio::spawn(async move { a2.run("hi", RunOptions::default()).await });
    assert_eq!(
        ext.await.expect("join").expect("run").final_output_text(),
        "ok"
    );

    let a3 = a.clone();
    let streamed = tokio::spawn(async move {
        let mut s = a3.run_stream("hi", RunOptions::default());
        let mut n = 0;
        while s.next().await.is_some() {
            n += 1;
        }
        assert!(n > 0);
        s.result().await
    });
    assert_eq!(
        streamed
            .await
            .expect("join")
            .expect("run")
            .final_output_text(),
        "ok"
    );

    let session = Arc::new(a.create_session(()).await.expect("open"));
    let s1 = Arc::clone(&session);
    let in_session = tokio::spawn(async move { s1.run("hi", RunOptions::default()).await });
    assert_eq!(
        in_session
            .await
            .expect("join")
            .expect("run")
            .final_output_text(),
        "ok"
    );
    let s2 = Arc::clone(&session);
    let opened = tokio::spawn(async move {
        let agent = s2.agent().clone();
        agent
            .create_session(())
            .await
            .map(|s| s.agent().name().to_owned())
    });
    assert_eq!(opened.await.expect("join").expect("open"), "A");
    model.assert_complete();
}
