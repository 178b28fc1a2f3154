//! Tests against the official MCP reference servers from npm:
//! `@modelcontextprotocol/server-everything` over stdio and over streamable
//! HTTP, and `@modelcontextprotocol/server-filesystem` over stdio.
//!
//! They need node and `npm ci --prefix crates/agents-mcp/tests/servers`
//! (`cargo xtask ci` runs it). Without them each test prints a note and
//! passes, except under `CI=true`, where it fails.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_core::items::ContentPart;
use agents_core::testing::{function_call, ScriptedModel};
use agents_core::{Agent, RunContext, Tool, ToolContext, ToolError, ToolOutput, ToolkitSession};
use agents_mcp::{McpError, McpServer, McpSession, McpTool, McpToolkit, McpToolkitBuilder};
use agents_runner::{RunOptions, RunSession};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use common::*;

macro_rules! require_servers {
    ($name:literal) => {
        if !reference_servers_available($name) {
            return;
        }
    };
}

fn ctx() -> ToolContext {
    ToolContext::new(RunContext::new(()), "t", "call_1", CancellationToken::new())
}

fn find(session: &McpSession, name: &str) -> Arc<McpTool> {
    session
        .mcp_tools()
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("tool `{name}` not offered; have {:?}", session.tool_names()))
}

fn everything(server: impl Into<McpServer>) -> McpToolkitBuilder {
    McpToolkit::builder("everything", server)
}

async fn open(builder: McpToolkitBuilder) -> Arc<McpSession> {
    builder
        .cache_tools_list(true)
        .build()
        .connect(&RunContext::new(()))
        .await
        .expect("connect to the reference server")
}

/// The checks shared by the stdio and the HTTP transport.
async fn check_everything(session: &McpSession) {
    let info = session.server_info().expect("initialize result");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("mcp-servers/everything")
    );
    let names = session.tool_names();
    for expected in [
        "echo",
        "get-sum",
        "get-structured-content",
        "get-tiny-image",
        "get-resource-reference",
        "trigger-long-running-operation",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }

    assert_eq!(
        find(session, "echo")
            .invoke(ctx(), r#"{"message":"hello"}"#)
            .await,
        Ok(ToolOutput::Text("Echo: hello".into()))
    );
    assert_eq!(
        find(session, "get-sum")
            .invoke(ctx(), r#"{"a":2,"b":3}"#)
            .await,
        Ok(ToolOutput::Text("The sum of 2 and 3 is 5.".into()))
    );

    // Structured content is given as text unless preferred.
    let weather = find(session, "get-structured-content")
        .invoke(ctx(), r#"{"location":"Chicago"}"#)
        .await
        .unwrap();
    let ToolOutput::Text(text) = weather else {
        panic!("expected text, got {weather:?}")
    };
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"temperature": 36, "conditions": "Light rain / drizzle", "humidity": 82})
    );

    let image = find(session, "get-tiny-image")
        .invoke(ctx(), "")
        .await
        .unwrap();
    let ToolOutput::Parts(parts) = image else {
        panic!("expected parts, got {image:?}")
    };
    assert_eq!(parts.len(), 3);
    assert_eq!(
        parts[0],
        ContentPart::input_text("Here's the image you requested:")
    );
    match &parts[1] {
        ContentPart::InputImage {
            image_url: Some(url),
            ..
        } => assert!(url.starts_with("data:image/png;base64,iVBOR"), "{url}"),
        other => panic!("expected an image, got {other:?}"),
    }

    // An embedded text resource is read as text.
    let reference = find(session, "get-resource-reference")
        .invoke(ctx(), r#"{"resourceType":"Text","resourceId":3}"#)
        .await
        .unwrap();
    let text = reference.to_text();
    assert!(
        text.contains("Resource 3: This is a plaintext resource"),
        "{text}"
    );

    // Invalid arguments come back as an `isError` result.
    match find(session, "get-sum")
        .invoke(ctx(), r#"{"a":2,"b":"x"}"#)
        .await
    {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("expected number"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_over_stdio() {
    require_servers!("everything_over_stdio");
    // server-everything sends `notifications/tools/list_changed` before its
    // initialize result; connecting must cope with it.
    let session = open(everything(everything_stdio())).await;
    check_everything(&session).await;
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_over_streamable_http() {
    require_servers!("everything_over_streamable_http");
    let server = EverythingHttp::start().await;
    let session = open(everything(
        server
            .server()
            .bearer_auth("test-token")
            .header("x-test", "1"),
    ))
    .await;
    check_everything(&session).await;
    session.close().await.unwrap();
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_content_when_preferred() {
    require_servers!("structured_content_when_preferred");
    let session = open(everything(everything_stdio()).prefer_structured_content(true)).await;
    assert_eq!(
        find(&session, "get-structured-content")
            .invoke(ctx(), r#"{"location":"New York"}"#)
            .await,
        Ok(ToolOutput::Json(
            json!({"temperature": 33, "conditions": "Cloudy", "humidity": 82})
        ))
    );
    // Results without structured content keep their text.
    assert_eq!(
        find(&session, "echo")
            .invoke(ctx(), r#"{"message":"x"}"#)
            .await,
        Ok(ToolOutput::Text("Echo: x".into()))
    );
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_prefixes() {
    require_servers!("filters_and_prefixes");
    let allowed = open(everything(everything_stdio()).allow_tools(["echo", "get-sum"])).await;
    assert_eq!(allowed.tool_names(), ["echo", "get-sum"]);
    allowed.close().await.unwrap();

    let blocked = open(everything(everything_stdio()).block_tools(["echo"])).await;
    let names = blocked.tool_names();
    assert!(!names.iter().any(|n| n == "echo"), "{names:?}");
    assert!(names.iter().any(|n| n == "get-sum"), "{names:?}");
    blocked.close().await.unwrap();

    let getters = open(
        everything(everything_stdio())
            .filter_tools(|_ctx, tool| tool.name.starts_with("get-"))
            .prefix_tool_names(true),
    )
    .await;
    let names = getters.tool_names();
    assert!(!names.is_empty());
    assert!(
        names.iter().all(|n| n.starts_with("everything__get-")),
        "{names:?}"
    );
    assert_eq!(
        find(&getters, "everything__get-sum")
            .invoke(ctx(), r#"{"a":1,"b":1}"#)
            .await,
        Ok(ToolOutput::Text("The sum of 1 and 1 is 2.".into()))
    );
    getters.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_call_times_out() {
    require_servers!("a_stalled_call_times_out");
    let session =
        open(everything(everything_stdio()).call_timeout(Duration::from_millis(500))).await;
    let started = Instant::now();
    let out = find(&session, "trigger-long-running-operation")
        .invoke(ctx(), r#"{"duration":30,"steps":1}"#)
        .await;
    assert_eq!(out, Err(ToolError::Timeout(Duration::from_millis(500))));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The session is still usable.
    assert_eq!(
        find(&session, "echo")
            .invoke(ctx(), r#"{"message":"after"}"#)
            .await,
        Ok(ToolOutput::Text("Echo: after".into()))
    );
    session.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_call() {
    require_servers!("a_server_killed_mid_call");
    let session = open(everything(everything_stdio())).await;
    let pid = session.process_id().expect("a stdio server has a pid");
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        kill_process(pid);
    });
    let started = Instant::now();
    let out = find(&session, "trigger-long-running-operation")
        .invoke(ctx(), r#"{"duration":30,"steps":1}"#)
        .await;
    killer.await.unwrap();
    match out {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("disconnected"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(
        session.status(),
        Err(McpError::Disconnected { .. })
    ));
    eventually(
        Duration::from_secs(10),
        "the killed server to be reaped",
        || !process_exists(pid),
    )
    .await;

    session.reconnect().await.unwrap();
    let fresh = session.process_id().expect("a new process");
    assert_ne!(fresh, pid);
    assert_eq!(
        find(&session, "echo")
            .invoke(ctx(), r#"{"message":"again"}"#)
            .await,
        Ok(ToolOutput::Text("Echo: again".into()))
    );
    session.close().await.unwrap();
    assert!(!process_exists(fresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_killed_mid_call() {
    require_servers!("an_http_server_killed_mid_call");
    let server = EverythingHttp::start().await;
    let session = open(everything(server.server()).call_timeout(Duration::from_secs(60))).await;
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.kill().await;
    });
    let started = Instant::now();
    let out = find(&session, "trigger-long-running-operation")
        .invoke(ctx(), r#"{"duration":30,"steps":1}"#)
        .await;
    killer.await.unwrap();
    match out {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("disconnected"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the call must fail soon after the server dies, not at the call timeout"
    );
    assert!(matches!(
        session.status(),
        Err(McpError::Disconnected { .. })
    ));
    match find(&session, "echo")
        .invoke(ctx(), r#"{"message":"x"}"#)
        .await
    {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("unreachable"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(matches!(
        session.status(),
        Err(McpError::Disconnected { .. })
    ));
    let _ = session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_reaps_the_child() {
    require_servers!("close_reaps_the_child");
    let session = open(everything(everything_stdio())).await;
    let pid = session.process_id().expect("a stdio server has a pid");
    assert!(process_exists(pid));
    session.close().await.unwrap();
    assert!(
        !process_exists(pid),
        "process {pid} is still there (or a zombie)"
    );
    // Closing twice is fine; the session reports it is closed.
    session.close().await.unwrap();
    assert!(matches!(session.status(), Err(McpError::Closed { .. })));
    match find(&session, "echo").invoke(ctx(), "{}").await {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("closed"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_resources_and_instructions() {
    require_servers!("prompts_resources_and_instructions");
    let session = open(everything(everything_stdio()).use_server_instructions(true)).await;

    let prompts: Vec<String> = session
        .list_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(prompts.iter().any(|p| p == "args-prompt"), "{prompts:?}");
    let mut args = serde_json::Map::new();
    args.insert("city".into(), json!("Paris"));
    let prompt = session.get_prompt("args-prompt", Some(args)).await.unwrap();
    let text = serde_json::to_string(&prompt.messages).unwrap();
    assert!(text.contains("What's weather in Paris?"), "{text}");
    assert!(matches!(
        session.get_prompt("no-such-prompt", None).await,
        Err(McpError::Request {
            method: "prompts/get",
            ..
        })
    ));

    let resources = session.list_resources().await.unwrap();
    let instructions = resources
        .iter()
        .find(|r| r.uri.ends_with("instructions.md"))
        .unwrap_or_else(|| panic!("no instructions.md in {resources:?}"));
    let read = session.read_resource(&instructions.uri).await.unwrap();
    assert!(!read.contents.is_empty());
    let templates = session.list_resource_templates().await.unwrap();
    assert!(
        templates
            .iter()
            .any(|t| t.uri_template == "demo://resource/dynamic/text/{resourceId}"),
        "{templates:?}"
    );

    let system = ToolkitSession::system_prompt(&*session).expect("the server's instructions");
    assert_eq!(Some(system.clone()), session.instructions());
    assert!(!system.trim().is_empty());
    session.close().await.unwrap();

    let quiet = open(everything(everything_stdio())).await;
    assert_eq!(ToolkitSession::system_prompt(&*quiet), None);
    quiet.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_over_stdio() {
    require_servers!("filesystem_over_stdio");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "remember the milk\n").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let session = McpToolkit::<()>::builder("files", filesystem_stdio(&root))
        .block_tools(["write_file", "edit_file", "move_file", "create_directory"])
        .build()
        .connect(&RunContext::new(()))
        .await
        .unwrap();
    let names = session.tool_names();
    assert!(names.iter().any(|n| n == "read_text_file"), "{names:?}");
    assert!(!names.iter().any(|n| n == "write_file"), "{names:?}");

    let listing = find(&session, "list_directory")
        .invoke(ctx(), &json!({"path": root}).to_string())
        .await
        .unwrap()
        .to_text();
    assert!(listing.contains("[FILE] notes.txt"), "{listing}");
    assert!(listing.contains("[DIR] sub"), "{listing}");

    let content = find(&session, "read_text_file")
        .invoke(ctx(), &json!({"path": root.join("notes.txt")}).to_string())
        .await
        .unwrap()
        .to_text();
    assert_eq!(content.trim_end(), "remember the milk");

    match find(&session, "read_text_file")
        .invoke(ctx(), r#"{"path":"/etc/hostname"}"#)
        .await
    {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("Access denied"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    session.close().await.unwrap();
}

/// The pids of live processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmdline).contains(marker) {
                pids.push(pid);
            }
        }
    }
    pids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_run_calls_an_mcp_tool_through_a_run_session() {
    require_servers!("an_agent_run_calls_an_mcp_tool_through_a_run_session");
    // server-everything ignores extra arguments: this one marks the process.
    let marker = format!("agents-mcp-run-{}", std::process::id());
    let toolkit = McpToolkit::builder("everything", everything_stdio().arg(&marker))
        .allow_tools(["get-sum", "echo"])
        .build();
    let model = ScriptedModel::new();
    model.push_output(vec![function_call("get-sum", r#"{"a":20,"b":22}"#)]);
    model.push_text("20 + 22 = 42.");
    let agent: Agent = Agent::builder("calculator")
        .instructions("Use the tools.")
        .model(model.clone())
        .toolkit(toolkit)
        .build();

    let runs = RunSession::open(&agent, Arc::new(())).await.unwrap();
    assert_eq!(
        processes_with(&marker).len(),
        1,
        "one server per run session"
    );
    let result = runs
        .run("What is 20 + 22?", RunOptions::default())
        .await
        .unwrap();
    assert_eq!(result.final_output_text(), "20 + 22 = 42.");

    let calls = model.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].tool_names(), ["echo", "get-sum"]);
    let output = calls[1]
        .input
        .iter()
        .find_map(|i| i.as_function_call_output())
        .expect("the tool output is sent back to the model");
    assert_eq!(output.output.text(), "The sum of 20 and 22 is 42.");
    model.assert_complete();

    runs.close().await.unwrap();
    // `RunSession::close` currently returns before its toolkit sessions have
    // closed: dropping its close guard hands the closing to a background
    // task. The server must still be reaped soon after.
    eventually(
        Duration::from_secs(15),
        "the run session's server to be reaped",
        || processes_with(&marker).is_empty(),
    )
    .await;
}
