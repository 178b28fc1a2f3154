//! Edge cases the reference servers cannot produce, against an rmcp server
//! running in the test process over `tokio::io::duplex`: pagination, caching
//! and invalidation, `tools/list_changed`, `isError` and JSON-RPC errors,
//! hangs, cancellation, a server that goes away, malformed schemas, strict
//! schemas, per-context servers and filters, approvals, and full agent runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agents_core::testing::{function_call, ScriptedModel};
use agents_core::{
    Agent, Item, RunContext, Tool, ToolContext, ToolError, ToolOutput, ToolkitSession,
};
use agents_mcp::rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
    ContentBlock, ErrorData, JsonObject, ListPromptsResult, ListToolsResult,
    PaginatedRequestParams, Prompt, ServerCapabilities, ServerConfig, Tool as McpToolDef,
};
use agents_mcp::rmcp::service::{NotificationContext, Peer, RequestContext, RoleServer};
use agents_mcp::rmcp::{ServerHandler, ServiceExt};
use agents_mcp::{ApprovalPolicy, McpError, McpServer, McpSession, McpTool, McpToolkit};
use agents_runner::{RunOptions, RunSession};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

// ---- the probe server -------------------------------------------------------

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn tool_def(name: &str, schema: Value) -> McpToolDef {
    let Value::Object(schema) = schema else {
        panic!("schema must be an object")
    };
    McpToolDef::new(
        name.to_owned(),
        format!("The {name} tool."),
        Arc::new(schema),
    )
}

fn any_args(name: &str) -> McpToolDef {
    tool_def(name, json!({"type": "object", "properties": {}}))
}

/// An MCP server whose behaviour the test controls. Tool names select what
/// a call does:
/// - `echo`: returns `{"text": ...}`'s text;
/// - `args`: returns the arguments it received, as JSON text;
/// - `fail`: an `isError` result;
/// - `rpc_error`: a JSON-RPC error;
/// - `hang`: never answers until cancelled (records the cancellation);
/// - `add_tool`: adds tool `added`, sends `tools/list_changed`, then answers.
#[derive(Clone, Default)]
struct Probe {
    tools: Arc<Mutex<Vec<McpToolDef>>>,
    prompts: Arc<Mutex<Vec<Prompt>>>,
    page_size: Option<usize>,
    repeat_cursor: bool,
    hang_list: bool,
    instructions: Option<String>,
    list_calls: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<JsonObject>>>,
    cancelled: Arc<Mutex<Vec<CancelledNotificationParam>>>,
    hanging: Arc<tokio::sync::Notify>,
    peer: Arc<Mutex<Option<Peer<RoleServer>>>>,
    crash: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

impl Probe {
    fn with_tools(names: &[&str]) -> Self {
        let probe = Probe::default();
        *lock(&probe.tools) = names.iter().map(|n| any_args(n)).collect();
        probe
    }

    fn list_calls(&self) -> usize {
        self.list_calls.load(Ordering::SeqCst)
    }

    fn set_tools(&self, names: &[&str]) {
        *lock(&self.tools) = names.iter().map(|n| any_args(n)).collect();
    }

    fn cancelled_count(&self) -> usize {
        lock(&self.cancelled).len()
    }

    /// Cuts the connection as a crash would: no answer to requests in
    /// flight, the client reads the end of its input.
    fn crash(&self) {
        if let Some(task) = lock(&self.crash).take() {
            task.abort();
        }
    }

    /// A transport factory: each connection starts a fresh server task.
    fn server(&self) -> McpServer {
        let probe = self.clone();
        McpServer::custom(move || {
            // client <-> relay <-> server: aborting the relay cuts the
            // connection the way a crash does, with no answer in flight.
            let (client, mut client_side) = tokio::io::duplex(1 << 16);
            let (mut server_side, server) = tokio::io::duplex(1 << 16);
            let probe = probe.clone();
            probe.connections.fetch_add(1, Ordering::SeqCst);
            let handler = probe.clone();
            tokio::spawn(async move {
                if let Ok(running) = handler.serve(server).await {
                    let _ = running.waiting().await;
                }
            });
            let relay = tokio::spawn(async move {
                let _ = tokio::io::copy_bidirectional(&mut client_side, &mut server_side).await;
            });
            *lock(&probe.crash) = Some(relay.abort_handle());
            Ok(client)
        })
    }

    fn toolkit(&self) -> agents_mcp::McpToolkitBuilder {
        McpToolkit::builder("probe", self.server())
    }

    fn page<T: Clone>(
        &self,
        items: &[T],
        request: Option<PaginatedRequestParams>,
    ) -> (Vec<T>, Option<String>) {
        let start: usize = request
            .and_then(|r| r.cursor)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let size = self.page_size.unwrap_or(usize::MAX);
        let end = start.saturating_add(size).min(items.len());
        let next = if end < items.len() {
            Some(if self.repeat_cursor {
                "1".to_owned()
            } else {
                end.to_string()
            })
        } else {
            None
        };
        (items[start.min(end)..end].to_vec(), next)
    }
}

impl ServerHandler for Probe {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_prompts()
            .build();
        let info = ServerConfig::new(capabilities);
        match &self.instructions {
            Some(i) => info.with_instructions(i.clone()),
            None => info,
        }
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        *lock(&self.peer) = Some(context.peer);
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.list_calls.fetch_add(1, Ordering::SeqCst);
        if self.hang_list {
            std::future::pending::<()>().await;
        }
        let tools = lock(&self.tools).clone();
        let (tools, next) = self.page(&tools, request);
        let mut result = ListToolsResult::with_all_items(tools);
        result.next_cursor = next;
        Ok(result)
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = lock(&self.prompts).clone();
        let (prompts, next) = self.page(&prompts, request);
        let mut result = ListPromptsResult::with_all_items(prompts);
        result.next_cursor = next;
        Ok(result)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.clone().unwrap_or_default();
        lock(&self.received).push(args.clone());
        let result = match request.name.as_ref() {
            "echo" => CallToolResult::success(vec![ContentBlock::text(
                args.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )]),
            "args" => {
                CallToolResult::success(vec![ContentBlock::text(Value::Object(args).to_string())])
            }
            "fail" => CallToolResult::error(vec![ContentBlock::text("bad input: try again")]),
            "rpc_error" => return Err(ErrorData::invalid_params("no such widget", None)),
            "hang" => {
                self.hanging.notify_one();
                context.ct.cancelled().await;
                return Err(ErrorData::internal_error("cancelled", None));
            }
            "add_tool" => {
                lock(&self.tools).push(any_args("added"));
                context
                    .peer
                    .notify_tool_list_changed()
                    .await
                    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
                CallToolResult::success(vec![ContentBlock::text("added a tool")])
            }
            other => {
                CallToolResult::error(vec![ContentBlock::text(format!("unknown tool {other}"))])
            }
        };
        Ok(result.into())
    }

    async fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        lock(&self.cancelled).push(notification);
    }
}

// ---- helpers ------------------------------------------------------------------

fn tool_ctx() -> ToolContext {
    ToolContext::new(RunContext::new(()), "t", "call_1", CancellationToken::new())
}

fn find<C: Send + Sync + 'static>(session: &McpSession<C>, name: &str) -> Arc<McpTool<C>> {
    session
        .mcp_tools()
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("tool `{name}` not offered; have {:?}", session.tool_names()))
}

async fn connect(builder: agents_mcp::McpToolkitBuilder) -> Arc<McpSession> {
    builder
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect("connect to the probe server")
}

async fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const WAIT: Duration = Duration::from_secs(5);

// ---- listing ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_tools_is_listed() {
    let mut probe = Probe::with_tools(&["a", "b", "c", "d", "e", "f", "g"]);
    probe.page_size = Some(2);
    let session = connect(probe.toolkit().cache_tools_list(true)).await;
    assert_eq!(session.tool_names(), ["a", "b", "c", "d", "e", "f", "g"]);
    assert_eq!(probe.list_calls(), 4, "7 tools in pages of 2");
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeating_cursor_is_a_protocol_error() {
    let mut probe = Probe::with_tools(&["a", "b", "c", "d", "e"]);
    probe.page_size = Some(1);
    probe.repeat_cursor = true;
    let err = probe
        .toolkit()
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect_err("an endless listing must fail");
    assert!(
        matches!(
            err,
            McpError::Protocol {
                method: "tools/list",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_prompts_is_listed() {
    let mut probe = Probe::with_tools(&["a"]);
    probe.page_size = Some(2);
    *lock(&probe.prompts) = ["p1", "p2", "p3"]
        .iter()
        .map(|n| Prompt::new(*n, Some("a prompt"), None))
        .collect();
    let session = connect(probe.toolkit()).await;
    let names: Vec<String> = session
        .list_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["p1", "p2", "p3"]);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_list_is_kept_until_invalidated() {
    let probe = Probe::with_tools(&["a"]);
    let session = connect(probe.toolkit().cache_tools_list(true)).await;
    assert_eq!(probe.list_calls(), 1);
    probe.set_tools(&["a", "b"]);
    for _ in 0..3 {
        let names: Vec<String> = ToolkitSession::tools(&*session)
            .iter()
            .map(|t| t.name().to_owned())
            .collect();
        assert_eq!(names, ["a"]);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(probe.list_calls(), 1, "a cached list is not fetched again");

    session.invalidate_tools_cache();
    eventually(WAIT, "the list after invalidation", || {
        session.tool_names() == ["a", "b"]
    })
    .await;
    assert_eq!(probe.list_calls(), 2);

    probe.set_tools(&["c"]);
    assert_eq!(session.refresh_tools().await.unwrap(), 1);
    assert_eq!(session.tool_names(), ["c"]);
    assert_eq!(probe.list_calls(), 3);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncached_list_is_fetched_again_every_turn() {
    let probe = Probe::with_tools(&["a"]);
    let session = connect(probe.toolkit()).await;
    assert_eq!(probe.list_calls(), 1);
    probe.set_tools(&["a", "b"]);
    let _ = ToolkitSession::tools(&*session);
    eventually(WAIT, "a background listing", || probe.list_calls() >= 2).await;
    eventually(WAIT, "the new list", || session.tool_names() == ["a", "b"]).await;
    let names: Vec<String> = ToolkitSession::tools(&*session)
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(names, ["a", "b"]);
    eventually(WAIT, "another background listing", || {
        probe.list_calls() >= 3
    })
    .await;
    session.close().await.unwrap();
}

// ---- tools/list_changed ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_announced_by_a_call_is_listed_before_the_call_returns() {
    let probe = Probe::with_tools(&["add_tool"]);
    let session = connect(probe.toolkit().cache_tools_list(true)).await;
    assert_eq!(session.tool_names(), ["add_tool"]);
    let out = find(&session, "add_tool")
        .invoke(tool_ctx(), "{}")
        .await
        .unwrap();
    assert_eq!(out, ToolOutput::Text("added a tool".into()));
    // No waiting: the list was re-fetched before the call returned.
    assert_eq!(session.tool_names(), ["add_tool", "added"]);
    assert_eq!(probe.list_calls(), 2);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spontaneous_change_is_listed_in_the_background() {
    let probe = Probe::with_tools(&["a"]);
    let session = connect(probe.toolkit().cache_tools_list(true)).await;
    eventually(WAIT, "the server to see `initialized`", || {
        lock(&probe.peer).is_some()
    })
    .await;
    probe.set_tools(&["a", "b"]);
    let peer = lock(&probe.peer).clone().unwrap();
    peer.notify_tool_list_changed().await.unwrap();
    eventually(WAIT, "the changed list", || {
        session.tool_names() == ["a", "b"]
    })
    .await;
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_ignored_when_refresh_is_off() {
    let probe = Probe::with_tools(&["add_tool"]);
    let session = connect(
        probe
            .toolkit()
            .cache_tools_list(true)
            .refresh_on_list_changed(false),
    )
    .await;
    find(&session, "add_tool")
        .invoke(tool_ctx(), "{}")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(session.tool_names(), ["add_tool"]);
    assert_eq!(probe.list_calls(), 1);
    session.close().await.unwrap();
}

// ---- results and errors --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_results_and_rpc_errors_become_failures() {
    let probe = Probe::with_tools(&["fail", "rpc_error", "echo"]);
    let session = connect(probe.toolkit()).await;
    assert_eq!(
        find(&session, "fail").invoke(tool_ctx(), "{}").await,
        Err(ToolError::Failed("bad input: try again".into()))
    );
    match find(&session, "rpc_error").invoke(tool_ctx(), "{}").await {
        Err(ToolError::Failed(msg)) => {
            assert!(msg.contains("no such widget"), "{msg}");
            assert!(msg.contains("`rpc_error`"), "{msg}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(matches!(
        find(&session, "echo").invoke(tool_ctx(), "{not json").await,
        Err(ToolError::InvalidArguments(_))
    ));
    assert!(matches!(
        find(&session, "echo").invoke(tool_ctx(), "[1, 2]").await,
        Err(ToolError::InvalidArguments(_))
    ));
    assert_eq!(
        find(&session, "echo")
            .invoke(tool_ctx(), r#"{"text":"still fine"}"#)
            .await,
        Ok(ToolOutput::Text("still fine".into()))
    );
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_times_out_and_is_cancelled_on_the_server() {
    let probe = Probe::with_tools(&["hang", "echo"]);
    let session = connect(probe.toolkit().call_timeout(Duration::from_millis(300))).await;
    let started = Instant::now();
    let out = find(&session, "hang").invoke(tool_ctx(), "{}").await;
    assert_eq!(out, Err(ToolError::Timeout(Duration::from_millis(300))));
    assert!(started.elapsed() < Duration::from_secs(3));
    eventually(WAIT, "notifications/cancelled", || {
        probe.cancelled_count() == 1
    })
    .await;
    // The connection is still usable.
    assert_eq!(
        find(&session, "echo")
            .invoke(tool_ctx(), r#"{"text":"ok"}"#)
            .await,
        Ok(ToolOutput::Text("ok".into()))
    );
    session.status().unwrap();
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_run_cancels_the_request() {
    let probe = Probe::with_tools(&["hang"]);
    let session = connect(probe.toolkit()).await;
    let ctx = tool_ctx();
    let cancel = ctx.cancel.clone();
    let hanging = Arc::clone(&probe.hanging);
    tokio::spawn(async move {
        hanging.notified().await;
        cancel.cancel();
    });
    let started = Instant::now();
    let out = find(&session, "hang").invoke(ctx, "{}").await;
    assert_eq!(out, Err(ToolError::Cancelled));
    assert!(started.elapsed() < Duration::from_secs(3));
    eventually(WAIT, "notifications/cancelled", || {
        probe.cancelled_count() == 1
    })
    .await;
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_fails_the_call_and_the_session() {
    let probe = Probe::with_tools(&["hang", "echo"]);
    let session = connect(probe.toolkit()).await;
    let hanging = Arc::clone(&probe.hanging);
    let stopper = probe.clone();
    tokio::spawn(async move {
        hanging.notified().await;
        stopper.crash();
    });
    let out = tokio::time::timeout(WAIT, find(&session, "hang").invoke(tool_ctx(), "{}"))
        .await
        .expect("the call must not hang");
    match out {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("disconnected"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(matches!(
        session.status(),
        Err(McpError::Disconnected { .. })
    ));
    match find(&session, "echo").invoke(tool_ctx(), "{}").await {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("disconnected"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(matches!(
        session.list_prompts().await,
        Err(McpError::Disconnected { .. })
    ));

    // An explicit reconnect starts a new connection.
    session.reconnect().await.unwrap();
    assert_eq!(probe.connections.load(Ordering::SeqCst), 2);
    session.status().unwrap();
    assert_eq!(
        find(&session, "echo")
            .invoke(tool_ctx(), r#"{"text":"back"}"#)
            .await,
        Ok(ToolOutput::Text("back".into()))
    );
    session.close().await.unwrap();
    assert!(matches!(session.status(), Err(McpError::Closed { .. })));
    assert!(matches!(
        session.reconnect().await,
        Err(McpError::Closed { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_while_listing_fails_the_opening() {
    let mut probe = Probe::with_tools(&["a"]);
    probe.hang_list = true;
    let started = Instant::now();
    let err = probe
        .toolkit()
        .request_timeout(Duration::from_millis(300))
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect_err("the opening must fail");
    assert!(
        matches!(
            err,
            McpError::Timeout {
                method: "tools/list",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_initializes_fails_the_opening() {
    let silent = McpServer::custom(|| {
        let (client, server) = tokio::io::duplex(1 << 16);
        // Keep the other end open but never answer.
        tokio::spawn(async move {
            let _server = server;
            std::future::pending::<()>().await;
        });
        Ok(client)
    });
    let err = McpToolkit::<()>::builder("silent", silent)
        .request_timeout(Duration::from_millis(300))
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect_err("the opening must fail");
    assert!(
        matches!(
            err,
            McpError::Timeout {
                method: "initialize",
                ..
            }
        ),
        "{err:?}"
    );
    let gone = McpServer::custom(|| {
        let (client, _server) = tokio::io::duplex(1 << 16);
        Ok(client)
    });
    let err = McpToolkit::<()>::builder("gone", gone)
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect_err("the opening must fail");
    assert!(matches!(err, McpError::Initialize { .. }), "{err:?}");
}

// ---- schemas and names --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_schemas_are_skipped_or_repaired() {
    let probe = Probe::default();
    *lock(&probe.tools) = vec![
        tool_def("not_an_object", json!({"type": "string"})),
        tool_def("bad_properties", json!({"type": "object", "properties": 3})),
        tool_def("bad_required", json!({"type": "object", "required": "x"})),
        tool_def("untyped", json!({"properties": {"q": {"type": "string"}}})),
        tool_def(
            "open_map",
            json!({"type": "object", "properties": {"m": {"type": "object", "additionalProperties": true}}}),
        ),
        tool_def(
            "good",
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
        ),
    ];
    let session = connect(probe.toolkit().strict_schemas(true)).await;
    assert_eq!(session.tool_names(), ["untyped", "open_map", "good"]);

    let untyped = find(&session, "untyped");
    assert_eq!(untyped.parameters()["type"], "object");
    assert!(untyped.strict());
    assert_eq!(
        untyped.parameters()["properties"]["q"]["type"],
        json!(["string", "null"])
    );

    let open_map = find(&session, "open_map");
    assert!(!open_map.strict(), "strict mode cannot express an open map");
    assert_eq!(
        open_map.parameters()["properties"]["m"]["additionalProperties"],
        true
    );

    let good = find(&session, "good");
    assert!(good.strict());
    assert_eq!(good.parameters()["additionalProperties"], false);
    assert_eq!(good.description(), "The good tool.");
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_sends_no_null_for_optional_properties() {
    let probe = Probe::default();
    *lock(&probe.tools) = vec![tool_def(
        "args",
        json!({
            "type": "object",
            "properties": {"q": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["q"],
        }),
    )];
    let strict = connect(probe.toolkit().strict_schemas(true)).await;
    let out = find(&strict, "args")
        .invoke(tool_ctx(), r#"{"q":"x","limit":null}"#)
        .await
        .unwrap();
    assert_eq!(out, ToolOutput::Text(r#"{"q":"x"}"#.into()));
    strict.close().await.unwrap();

    let loose = connect(probe.toolkit()).await;
    assert!(!find(&loose, "args").strict());
    let out = find(&loose, "args")
        .invoke(tool_ctx(), r#"{"q":"x","limit":null}"#)
        .await
        .unwrap();
    assert_eq!(out, ToolOutput::Text(r#"{"q":"x","limit":null}"#.into()));
    loose.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixed_names_call_the_server_by_its_own_names() {
    let probe = Probe::with_tools(&["echo", "echo.v2"]);
    let session = connect(probe.toolkit().prefix_tool_names(true)).await;
    assert_eq!(session.tool_names(), ["probe__echo", "probe__echo_v2"]);
    let echo = find(&session, "probe__echo");
    assert_eq!(echo.mcp_name(), "echo");
    assert_eq!(echo.server_name(), "probe");
    assert_eq!(
        echo.invoke(tool_ctx(), r#"{"text":"hi"}"#).await,
        Ok(ToolOutput::Text("hi".into()))
    );
    session.close().await.unwrap();

    let custom = connect(probe.toolkit().tool_name_prefix("x")).await;
    assert_eq!(custom.tool_names(), ["x__echo", "x__echo_v2"]);
    custom.close().await.unwrap();
}

// ---- filters, contexts, approvals, instructions ---------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_filters_pick_tools() {
    let probe = Probe::with_tools(&["read", "write", "delete", "list"]);
    let allow = connect(probe.toolkit().allow_tools(["read", "list", "missing"])).await;
    assert_eq!(allow.tool_names(), ["read", "list"]);
    allow.close().await.unwrap();
    let block = connect(probe.toolkit().block_tools(["delete"])).await;
    assert_eq!(block.tool_names(), ["read", "write", "list"]);
    block.close().await.unwrap();
    let both = connect(
        probe
            .toolkit()
            .allow_tools(["read", "write"])
            .block_tools(["write"]),
    )
    .await;
    assert_eq!(both.tool_names(), ["read"]);
    both.close().await.unwrap();
}

struct Tenant {
    name: &'static str,
    may_write: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_and_filters_follow_the_run_context() {
    let acme = Probe::with_tools(&["read", "write"]);
    let globex = Probe::with_tools(&["search"]);
    let (a, g) = (acme.server(), globex.server());
    let toolkit =
        McpToolkit::<Tenant>::builder_per_context("crm", move |ctx| match ctx.context().name {
            "acme" => Ok(a.clone()),
            "globex" => Ok(g.clone()),
            other => Err(format!("no server for tenant `{other}`")),
        })
        .filter_tools(|ctx, tool| ctx.context().may_write || tool.name != "write")
        .build();

    let reader = toolkit
        .connect(&RunContext::new(Tenant {
            name: "acme",
            may_write: false,
        }))
        .await
        .unwrap();
    assert_eq!(reader.tool_names(), ["read"]);
    let writer = toolkit
        .connect(&RunContext::new(Tenant {
            name: "acme",
            may_write: true,
        }))
        .await
        .unwrap();
    assert_eq!(writer.tool_names(), ["read", "write"]);
    let other = toolkit
        .connect(&RunContext::new(Tenant {
            name: "globex",
            may_write: true,
        }))
        .await
        .unwrap();
    assert_eq!(other.tool_names(), ["search"]);
    let err = toolkit
        .connect(&RunContext::new(Tenant {
            name: "initech",
            may_write: true,
        }))
        .await
        .expect_err("an unknown tenant has no server");
    match err {
        McpError::Config { server, message } => {
            assert_eq!(server, "crm");
            assert!(message.contains("initech"), "{message}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    for s in [reader, writer, other] {
        s.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_policies_are_exposed_per_tool() {
    let probe = Probe::with_tools(&["read", "write"]);
    let ctx = RunContext::new(());
    let check = |policy: ApprovalPolicy| {
        let probe = probe.clone();
        async move {
            let session = connect(probe.toolkit().needs_approval(policy)).await;
            let verdicts = (
                find(&session, "read").approval_required(&RunContext::new(()), "{}"),
                find(&session, "write")
                    .approval_required(&RunContext::new(()), r#"{"path":"/etc"}"#),
                find(&session, "write")
                    .approval_required(&RunContext::new(()), r#"{"path":"/tmp"}"#),
                find(&session, "write").approval_required(&RunContext::new(()), "{oops"),
            );
            session.close().await.unwrap();
            verdicts
        }
    };
    assert_eq!(
        check(ApprovalPolicy::Never).await,
        (false, false, false, false)
    );
    assert_eq!(
        check(ApprovalPolicy::Always).await,
        (true, true, true, true)
    );
    assert_eq!(
        check(ApprovalPolicy::per_tool([("write", true)])).await,
        (false, true, true, true)
    );
    let by_path = ApprovalPolicy::from_fn(|_ctx, tool, args: &Value| {
        tool == "write" && args["path"] != "/tmp"
    });
    // Malformed arguments fail closed.
    assert_eq!(check(by_path).await, (false, true, false, true));

    // The runner asks through `Tool::needs_approval`.
    let session = connect(
        probe
            .toolkit()
            .needs_approval(ApprovalPolicy::per_tool([("write", true)])),
    )
    .await;
    assert!(!Tool::needs_approval(&*find(&session, "read"), &ctx, "{}", "c1").await);
    assert!(Tool::needs_approval(&*find(&session, "write"), &ctx, "{}", "c2").await);
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_needs_approval_pauses_the_run() {
    let probe = Probe::with_tools(&["echo", "args"]);
    let model = ScriptedModel::new();
    model.push_output(vec![
        function_call("echo", r#"{"text":"free"}"#),
        function_call("args", r#"{"secret":true}"#),
    ]);
    let toolkit = probe
        .toolkit()
        .needs_approval(ApprovalPolicy::per_tool([("args", true)]))
        .build();
    let agent: Agent = Agent::builder("gated")
        .model(model.clone())
        .toolkit(toolkit)
        .build();
    let runs = RunSession::open(&agent, Arc::new(())).await.unwrap();
    let result = runs.run("go", RunOptions::default()).await.unwrap();
    let paused: Vec<&str> = result
        .interruptions()
        .iter()
        .map(|i| i.tool_name.as_str())
        .collect();
    assert_eq!(paused, ["args"]);
    // Only the call that needs no approval reached the server.
    let received: Vec<Value> = lock(&probe.received)
        .iter()
        .cloned()
        .map(Value::Object)
        .collect();
    assert_eq!(received, [json!({"text": "free"})]);
    runs.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_instructions_are_an_opt_in_system_prompt() {
    let mut probe = Probe::with_tools(&["a"]);
    probe.instructions = Some("Always say please.".into());
    let off = connect(probe.toolkit()).await;
    assert_eq!(ToolkitSession::system_prompt(&*off), None);
    assert_eq!(off.instructions().as_deref(), Some("Always say please."));
    off.close().await.unwrap();
    let on = connect(probe.toolkit().use_server_instructions(true)).await;
    assert_eq!(
        ToolkitSession::system_prompt(&*on).as_deref(),
        Some("Always say please.")
    );
    on.close().await.unwrap();
}

// ---- agent runs ------------------------------------------------------------------

fn output_text(item: &Item) -> Option<String> {
    item.as_function_call_output().map(|o| o.output.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_list_change_takes_effect_on_the_next_turn() {
    let mut probe = Probe::with_tools(&["add_tool", "echo"]);
    probe.instructions = Some("Server rules.".into());
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("add_tool", "{}")]);
    model.push_output(vec![function_call("added", "{}")]);
    model.push_text("done");
    let toolkit = probe
        .toolkit()
        .cache_tools_list(true)
        .use_server_instructions(true)
        .build();
    let agent: Agent = Agent::builder("probe agent")
        .instructions("Be brief.")
        .model(model.clone())
        .toolkit(toolkit)
        .build();
    let runs = RunSession::open(&agent, Arc::new(())).await.unwrap();
    let result = runs.run("go", RunOptions::default()).await.unwrap();
    assert_eq!(result.final_output_text(), "done");
    let calls = model.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].tool_names(), ["add_tool", "echo"]);
    assert_eq!(calls[1].tool_names(), ["add_tool", "echo", "added"]);
    assert_eq!(
        calls[0].instructions.as_deref(),
        Some("Be brief.\n\nServer rules.")
    );
    let outputs: Vec<String> = calls[2].input.iter().filter_map(output_text).collect();
    assert_eq!(outputs[0], "added a tool");
    assert!(outputs[1].contains("unknown tool added"), "{outputs:?}");
    model.assert_complete();
    runs.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_session_outlives_the_run_sessions() {
    let probe = Probe::with_tools(&["echo"]);
    let session = connect(probe.toolkit().cache_tools_list(true)).await;
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("echo", r#"{"text":"shared"}"#)]);
    model.push_text("ok");
    let agent: Agent = Agent::builder("shared")
        .model(model.clone())
        .toolkit(session.as_toolkit())
        .build();
    let runs = RunSession::open(&agent, Arc::new(())).await.unwrap();
    runs.run("go", RunOptions::default()).await.unwrap();
    let outputs: Vec<String> = model.calls()[1]
        .input
        .iter()
        .filter_map(output_text)
        .collect();
    assert_eq!(outputs, ["shared"]);
    runs.close().await.unwrap();
    session
        .status()
        .expect("closing the run session leaves a shared session open");
    assert_eq!(probe.connections.load(Ordering::SeqCst), 1);
    session.close().await.unwrap();
    assert!(matches!(session.status(), Err(McpError::Closed { .. })));
}
