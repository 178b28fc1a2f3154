//! Partial items on errors, sessions, server-managed conversation state,
//! usage, `to_input_list` and `run_blocking`.

mod common;

use std::sync::Arc;

use agents_core::testing::{function_call_with_id, text, ScriptedModel};
use agents_core::{
    BoxFuture, BoxStream, Error, Item, MemorySession, Model, ModelError, ModelRequest,
    ModelResponse, ModelStreamEvent, RequestUsage, Session, SessionError,
};
use agents_runner::{RunConfig, RunOptions, Runner};
use common::*;

// ---- 11. Errors carry partial items ---------------------------------------

#[tokio::test]
async fn a_model_error_on_turn_two_keeps_turn_one() {
    let model = ScriptedModel::new();
    model.push_response(
        response(
            "resp_1",
            vec![
                text("checking"),
                function_call_with_id("c1", "echo", &args("x")),
            ],
        )
        .with_usage(usage(10, 2)),
    );
    model.push_error(ModelError::Http {
        status: 503,
        message: "overloaded".into(),
        request_id: Some("req_1".into()),
        body: None,
        retry_after: None,
    });
    let a = agent("A", &model).tool(echo("echo")).build();
    let e = expect_err(Runner::run(&a, "hi", RunOptions::default()).await);
    assert!(
        matches!(&e.error, Error::Model(ModelError::Http { status: 503, .. })),
        "{}",
        e.error
    );
    assert_eq!(
        names(&e.details.new_items),
        vec!["message_output_created", "tool_called", "tool_output"]
    );
    assert_eq!(e.details.raw_responses.len(), 1);
    assert_eq!(e.details.usage.requests, 1);
    assert_eq!(e.details.usage.input_tokens, 10);
    assert_eq!(e.details.last_agent, "A");
    // The work can feed a new run.
    let resumable = e.to_input_list();
    assert_eq!(
        kinds(&resumable),
        vec![
            "message",
            "message",
            "function_call",
            "function_call_output"
        ]
    );
    assert_eq!(resumable[0], Item::user("hi"));
    assert_eq!(resumable, model.calls()[1].input);
}

// ---- 14. Sessions ---------------------------------------------------------

/// A model that logs each call, then delegates to a scripted model.
#[derive(Debug)]
struct LoggedModel {
    inner: Arc<ScriptedModel>,
    log: Log,
}

impl Model for LoggedModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        self.log.push(format!("model:{}", request.input.len()));
        self.inner.get_response(request)
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        self.log.push(format!("model:{}", request.input.len()));
        self.inner.stream_response(request)
    }
}

/// A memory session that logs each save.
struct LoggedSession {
    inner: MemorySession,
    log: Log,
}

impl Session for LoggedSession {
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }

    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        self.inner.get_items(limit)
    }

    fn add_items<'a>(&'a self, items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        self.log.push(format!("save:{}", kinds(items).join(",")));
        self.inner.add_items(items)
    }

    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        self.inner.pop_item()
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        self.inner.clear()
    }
}

#[tokio::test]
async fn a_session_saves_the_input_first_and_each_turn_after_it() {
    let scripted = ScriptedModel::new();
    let log = Log::default();
    let model = Arc::new(LoggedModel {
        inner: Arc::clone(&scripted),
        log: log.clone(),
    });
    let session = Arc::new(LoggedSession {
        inner: MemorySession::new("s1"),
        log: log.clone(),
    });
    scripted.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    scripted.push_text("done");
    let a = agents_core::Agent::builder("A")
        .model(model)
        .tool(echo("echo"))
        .build();
    let r = Runner::run(&a, "hi", RunOptions::default().session(session.clone()))
        .await
        .expect("run");
    assert_eq!(r.final_output_text(), "done");
    assert_eq!(
        log.entries(),
        vec![
            "save:message",
            "model:1",
            "save:function_call,function_call_output",
            "model:3",
            "save:message",
        ]
    );
    let stored = session.get_items(None).await.expect("items");
    assert_eq!(stored, r.to_input_list());
}

#[tokio::test]
async fn a_session_keeps_the_input_when_the_model_fails() {
    let model = ScriptedModel::new();
    model.push_error(ModelError::Other("down".into()));
    let session = Arc::new(MemorySession::new("s1"));
    let a = agent("A", &model).build();
    expect_err(
        Runner::run(
            &a,
            "remember me",
            RunOptions::default().session(session.clone()),
        )
        .await,
    );
    assert_eq!(
        session.get_items(None).await.expect("items"),
        vec![Item::user("remember me")]
    );
}

#[tokio::test]
async fn a_second_run_sees_the_session_history() {
    let model = ScriptedModel::new();
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("s1"));
    let a = agent("A", &model).tool(echo("echo")).build();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("first answer");
    model.push_text("second answer");
    let r1 = Runner::run(
        &a,
        "first",
        RunOptions::default().session(Arc::clone(&session)),
    )
    .await
    .expect("run 1");
    let r2 = Runner::run(
        &a,
        "second",
        RunOptions::default().session(Arc::clone(&session)),
    )
    .await
    .expect("run 2");
    assert_eq!(r2.final_output_text(), "second answer");
    let mut expected = r1.to_input_list();
    expected.push(Item::user("second"));
    let calls = model.calls();
    assert_eq!(calls[2].input, expected);
    assert_eq!(
        kinds(&calls[2].input),
        vec![
            "message",
            "function_call",
            "function_call_output",
            "message",
            "message"
        ]
    );
    // The run's own input excludes the history.
    assert_eq!(r2.input, vec![Item::user("second")]);
    assert_eq!(session.get_items(None).await.expect("items").len(), 6);
}

#[tokio::test]
async fn a_session_limit_bounds_the_history() {
    let model = ScriptedModel::new();
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("s1"));
    session
        .add_items(&[
            Item::user("old 1"),
            Item::assistant("old 2"),
            Item::user("old 3"),
            Item::assistant("old 4"),
        ])
        .await
        .expect("seed");
    model.push_text("ok");
    let a = agent("A", &model).build();
    let options = RunOptions::default()
        .session(Arc::clone(&session))
        .run_config(RunConfig {
            session_limit: Some(2),
            ..RunConfig::default()
        });
    Runner::run(&a, "new", options).await.expect("run");
    assert_eq!(
        model.calls()[0].input,
        vec![
            Item::user("old 3"),
            Item::assistant("old 4"),
            Item::user("new")
        ]
    );
}

#[tokio::test]
async fn a_session_cannot_be_combined_with_server_managed_state() {
    let cases: Vec<(&str, RunOptions)> = vec![
        (
            "previous_response_id",
            RunOptions::default().previous_response_id("resp_x"),
        ),
        (
            "conversation_id",
            RunOptions::default().conversation_id("conv_x"),
        ),
        (
            "auto_previous_response_id",
            RunOptions::default().auto_previous_response_id(true),
        ),
    ];
    for (label, options) in cases {
        let model = ScriptedModel::new();
        model.push_text("never");
        let session = Arc::new(MemorySession::new("s1"));
        let a = agent("A", &model).build();
        let e = expect_err(Runner::run(&a, "hi", options.session(session.clone())).await);
        assert!(
            matches!(e.error, Error::UserError(_)),
            "{label}: {}",
            e.error
        );
        assert_eq!(model.call_count(), 0, "{label}");
        assert!(
            session.get_items(None).await.expect("items").is_empty(),
            "{label}: nothing saved"
        );
    }
}

// ---- 15. Server-managed state ---------------------------------------------

/// Scripts a tool turn (response `resp_1`) and a text turn (`resp_2`).
fn two_turn_model() -> Arc<ScriptedModel> {
    let model = ScriptedModel::new();
    model.push_response(response(
        "resp_1",
        vec![function_call_with_id("c1", "echo", &args("x"))],
    ));
    model.push_response(response("resp_2", vec![text("done")]));
    model
}

#[tokio::test]
async fn previous_response_id_sends_only_unseen_items() {
    let model = two_turn_model();
    let a = agent("A", &model).tool(echo("echo")).build();
    let r = Runner::run(
        &a,
        "hi",
        RunOptions::default().previous_response_id("resp_x"),
    )
    .await
    .expect("run");
    let calls = model.calls();
    assert_eq!(calls[0].previous_response_id.as_deref(), Some("resp_x"));
    assert_eq!(calls[0].input, vec![Item::user("hi")]);
    assert_eq!(calls[1].previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(kinds(&calls[1].input), vec!["function_call_output"]);
    assert_eq!(outputs_in(&calls[1]), vec![("c1".into(), "echo:x".into())]);
    assert!(calls.iter().all(|c| c.conversation_id.is_none()));
    assert_eq!(r.last_response_id(), Some("resp_2"));
    // The result still holds the whole conversation.
    assert_eq!(r.to_input_list().len(), 4);
}

#[tokio::test]
async fn auto_previous_response_id_chains_from_the_first_turn() {
    let model = two_turn_model();
    let a = agent("A", &model).tool(echo("echo")).build();
    Runner::run(
        &a,
        "hi",
        RunOptions::default().auto_previous_response_id(true),
    )
    .await
    .expect("run");
    let calls = model.calls();
    assert_eq!(calls[0].previous_response_id, None);
    assert_eq!(calls[0].input, vec![Item::user("hi")]);
    assert_eq!(calls[1].previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(kinds(&calls[1].input), vec!["function_call_output"]);
}

#[tokio::test]
async fn conversation_id_sends_only_unseen_items() {
    let model = two_turn_model();
    let a = agent("A", &model).tool(echo("echo")).build();
    Runner::run(&a, "hi", RunOptions::default().conversation_id("conv_1"))
        .await
        .expect("run");
    let calls = model.calls();
    for c in &calls {
        assert_eq!(c.conversation_id.as_deref(), Some("conv_1"));
        assert_eq!(c.previous_response_id, None);
    }
    assert_eq!(calls[0].input, vec![Item::user("hi")]);
    assert_eq!(kinds(&calls[1].input), vec!["function_call_output"]);
}

#[tokio::test]
async fn without_server_state_every_call_carries_the_whole_history() {
    let model = two_turn_model();
    let a = agent("A", &model).tool(echo("echo")).build();
    Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    let calls = model.calls();
    assert!(calls.iter().all(|c| c.previous_response_id.is_none()));
    assert_eq!(
        kinds(&calls[1].input),
        vec!["message", "function_call", "function_call_output"]
    );
}

#[tokio::test]
async fn server_state_in_a_streamed_run_matches_the_plain_run() {
    let model = two_turn_model();
    let a = agent("A", &model).tool(echo("echo")).build();
    Runner::run_streamed(
        &a,
        "hi",
        RunOptions::default().previous_response_id("resp_x"),
    )
    .result()
    .await
    .expect("run");
    let calls = model.calls();
    assert_eq!(calls[1].previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(kinds(&calls[1].input), vec!["function_call_output"]);
}

#[tokio::test]
async fn previous_response_id_across_a_handoff_sends_only_the_handoff_output() {
    let (ma, mb) = (ScriptedModel::new(), ScriptedModel::new());
    let b = agent("B", &mb).build();
    let a = agent("A", &ma).handoff_to(&b).build();
    ma.push_response(response(
        "resp_1",
        vec![function_call_with_id("h1", "transfer_to_b", "{}")],
    ));
    mb.push_response(response("resp_2", vec![text("B here")]));
    Runner::run(
        &a,
        "hi",
        RunOptions::default().previous_response_id("resp_x"),
    )
    .await
    .expect("run");
    let call = &mb.calls()[0];
    assert_eq!(call.previous_response_id.as_deref(), Some("resp_1"));
    assert_eq!(kinds(&call.input), vec!["function_call_output"]);
}

#[tokio::test]
async fn a_run_session_is_bound_to_its_context() {
    let model = ScriptedModel::new();
    model.push_text("never");
    let a = agent("A", &model).build();
    let session = agents_runner::RunSession::open(&a, Arc::new(()))
        .await
        .expect("open");
    let e = expect_err(session.run("hi", RunOptions::default().context(())).await);
    assert!(matches!(e.error, Error::UserError(_)));
    assert_eq!(model.call_count(), 0);
}

// ---- 16. Usage, to_input_list, run_blocking -------------------------------

fn usage(input: u64, output: u64) -> RequestUsage {
    RequestUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        ..RequestUsage::default()
    }
}

#[tokio::test]
async fn usage_sums_over_turns() {
    let model = ScriptedModel::new();
    model.push_response(
        ModelResponse::new(vec![function_call_with_id("c1", "echo", &args("x"))])
            .with_usage(usage(100, 10)),
    );
    model.push_response(
        ModelResponse::new(vec![function_call_with_id("c2", "echo", &args("y"))]).with_usage(
            RequestUsage {
                cached_input_tokens: 50,
                reasoning_tokens: 3,
                ..usage(120, 20)
            },
        ),
    );
    model.push_response(ModelResponse::new(vec![text("done")]).with_usage(usage(150, 5)));
    let a = agent("A", &model).tool(echo("echo")).build();
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.usage.requests, 3);
    assert_eq!(r.usage.input_tokens, 370);
    assert_eq!(r.usage.output_tokens, 35);
    assert_eq!(r.usage.total_tokens, 405);
    assert_eq!(r.usage.cached_input_tokens, 50);
    assert_eq!(r.usage.reasoning_tokens, 3);
    assert_eq!(r.usage.request_usage_entries.len(), 3);
    assert_eq!(r.usage.request_usage_entries[2], usage(150, 5));

    // Usage belongs to one run: a second run starts from zero.
    model.push_response(ModelResponse::new(vec![text("again")]).with_usage(usage(1, 1)));
    let r = Runner::run(&a, "hi", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(r.usage.requests, 1);
    assert_eq!(r.usage.total_tokens, 2);
}

#[tokio::test]
async fn to_input_list_is_input_plus_new_items_and_feeds_the_next_run() {
    let model = ScriptedModel::new();
    model.push_output(vec![
        text("let me look"),
        function_call_with_id("c1", "echo", &args("x")),
    ]);
    model.push_text("found it");
    model.push_text("you're welcome");
    let a = agent("A", &model).tool(echo("echo")).build();
    let first = Runner::run(&a, "find x", RunOptions::default())
        .await
        .expect("run");
    let list = first.to_input_list();
    let mut expected = vec![Item::user("find x")];
    expected.extend(wire(&first.new_items));
    assert_eq!(list, expected);
    assert_eq!(
        kinds(&list),
        vec![
            "message",
            "message",
            "function_call",
            "function_call_output",
            "message"
        ]
    );

    let mut next = list.clone();
    next.push(Item::user("thanks"));
    let second = Runner::run(&a, next.clone(), RunOptions::default())
        .await
        .expect("run");
    assert_eq!(second.final_output_text(), "you're welcome");
    assert_eq!(model.calls()[2].input, next);
    assert_eq!(second.input, next);
}

#[test]
fn run_blocking_works_outside_a_runtime() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("c1", "echo", &args("x"))]);
    model.push_text("blocking done");
    let a = agent("A", &model).tool(echo("echo")).build();
    let r = Runner::run_blocking(&a, "hi", RunOptions::default()).expect("run");
    assert_eq!(r.final_output_text(), "blocking done");
    model.assert_complete();
}

#[test]
fn run_blocking_inside_a_runtime_is_a_user_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let model = ScriptedModel::new();
    model.push_text("never");
    let a = agent("A", &model).build();
    let r = rt.block_on(async { Runner::run_blocking(&a, "hi", RunOptions::default()) });
    assert!(matches!(expect_err(r).error, Error::UserError(_)));
    assert_eq!(model.call_count(), 0);
}
