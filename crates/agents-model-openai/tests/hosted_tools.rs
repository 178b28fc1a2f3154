//! Hosted tools on the wire: the Responses body (tools, tool choices,
//! `include`, `top_logprobs`, `prompt_cache_retention`) is exact and valid
//! for the OpenAPI spec, hosted output items come back (JSON and SSE) as the
//! items the loop classifies, an MCP approval answer is a valid input item,
//! and Chat Completions refuses hosted tools with a typed error before
//! sending anything.

mod common;

use agents_core::hosted::{self, HostedMcp, HostedTool, McpRequireApproval};
use agents_core::{
    Item, Model, ModelError, ModelRequest, ModelSettings, RunItemKind, ToolChoice, ToolSpec,
};
use agents_model_openai::OpenAIApi;
use agents_testkit::{validate_chat_request, validate_create_response, MockServer, Reply};
use common::*;
use serde_json::{json, Value};
use std::borrow::Cow;

fn hosted_tools() -> Vec<HostedTool> {
    vec![
        HostedTool::web_search()
            .search_context_size("low")
            .allowed_domains(["docs.rs"]),
        HostedTool::file_search(["vs_1"])
            .max_num_results(4)
            .include_search_results(true),
        HostedTool::code_interpreter().container_files(["file-1"]),
        HostedTool::image_generation().option("quality", "low"),
        HostedMcp::new("wiki", "https://wiki.example/mcp")
            .allowed_tools(["ask", "read"])
            .require_approval(McpRequireApproval::Tools {
                always: vec!["ask".into()],
                never: vec!["read".into()],
            })
            .header("x-team", "agents")
            .into(),
    ]
}

fn function_tool() -> ToolSpec<'static> {
    ToolSpec {
        name: Cow::Borrowed("lookup"),
        description: Cow::Borrowed("Looks up a word."),
        parameters: Cow::Owned(json!({"type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"], "additionalProperties": false})),
        strict: true,
    }
}

#[tokio::test]
async fn responses_bodies_carry_hosted_tools_and_pass_the_spec() {
    let server = MockServer::start().await;
    let model = provider(&server, OpenAIApi::Responses).responses_model("gpt-4.1");
    let input = [Item::user("Find it.")];
    let tools = [function_tool()];
    let hosted = hosted_tools();
    let choices = [
        (ToolChoice::WebSearch, json!({"type": "web_search_preview"})),
        (ToolChoice::FileSearch, json!({"type": "file_search"})),
        (
            ToolChoice::CodeInterpreter,
            json!({"type": "code_interpreter"}),
        ),
        (
            ToolChoice::ImageGeneration,
            json!({"type": "image_generation"}),
        ),
        (
            ToolChoice::Mcp {
                server_label: "wiki".into(),
                name: Some("ask".into()),
            },
            json!({"type": "mcp", "server_label": "wiki", "name": "ask"}),
        ),
    ];
    for (choice, wire) in choices {
        let settings = ModelSettings::new()
            .tool_choice(choice)
            .include(vec!["reasoning.encrypted_content".to_owned()])
            .top_logprobs(3u32)
            .prompt_cache_retention("24h");
        let request = ModelRequest::new(&input, &settings)
            .tools(&tools)
            .hosted_tools(&hosted);
        let body = model.request_body(&request, false).expect("body");
        assert_eq!(body["tool_choice"], wire);
        assert_eq!(validate_create_response(&body), Ok(()), "{body}");
        assert_eq!(
            body["tools"],
            json!([
                {"type": "function", "name": "lookup", "description": "Looks up a word.",
                 "parameters": {"type": "object", "properties": {"word": {"type": "string"}},
                    "required": ["word"], "additionalProperties": false}, "strict": true},
                {"type": "web_search", "search_context_size": "low",
                 "filters": {"allowed_domains": ["docs.rs"]}},
                {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 4},
                {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ["file-1"]}},
                {"type": "image_generation", "quality": "low"},
                {"type": "mcp", "server_label": "wiki", "server_url": "https://wiki.example/mcp",
                 "headers": {"x-team": "agents"}, "allowed_tools": ["ask", "read"],
                 "require_approval": {"always": {"tool_names": ["ask"]},
                    "never": {"tool_names": ["read"]}}}
            ])
        );
        // The settings' list, then what file search and logprobs need.
        assert_eq!(
            body["include"],
            json!([
                "reasoning.encrypted_content",
                "file_search_call.results",
                "message.output_text.logprobs"
            ])
        );
        assert_eq!(body["top_logprobs"], 3);
        assert_eq!(body["prompt_cache_retention"], "24h");
        // And the server accepts it as sent.
        server.push(Reply::text("ok"));
        model.get_response(request).await.expect("response");
    }
    assert!(server.requests().iter().all(|r| r.is_valid()));
    server.assert_ok();
}

fn hosted_reply() -> Reply {
    Reply::new()
        .with_web_search_call("rust agents")
        .with_file_search_call(["agents"], &[("file-1", "Agents are loops.")])
        .with_code_interpreter_call("print(6 * 7)", "42\n")
        .with_image_generation_call("iVBORw0KGgo=")
        .with_mcp_list_tools("wiki", ["ask", "read"])
        .with_mcp_call("wiki", "read", r#"{"page":"home"}"#, "Welcome")
        .with_mcp_approval_request("mcpr_1", "wiki", "ask", r#"{"q":"x"}"#)
        .with_text("Done.")
}

fn kinds_of(items: &[Item]) -> Vec<(String, RunItemKind)> {
    items
        .iter()
        .map(|i| (i.kind().to_owned(), RunItemKind::of_output(i)))
        .collect()
}

#[tokio::test]
async fn hosted_output_items_come_back_from_json_and_sse_alike() {
    let server = MockServer::start().await;
    let model = model(&server, OpenAIApi::Responses);
    let input = [Item::user("Go.")];
    let settings = ModelSettings::new();
    let hosted = hosted_tools();
    let request = || ModelRequest::new(&input, &settings).hosted_tools(&hosted);
    server.push(hosted_reply());
    let json_items = model.get_response(request()).await.expect("json").output;
    server.push(hosted_reply());
    let (_, streamed) = drain_ok(model.stream_response(request())).await;
    let expected = [
        ("web_search_call", RunItemKind::HostedToolCall),
        ("file_search_call", RunItemKind::HostedToolCall),
        ("code_interpreter_call", RunItemKind::HostedToolCall),
        ("image_generation_call", RunItemKind::HostedToolCall),
        ("mcp_list_tools", RunItemKind::McpListTools),
        ("mcp_call", RunItemKind::HostedToolCall),
        ("mcp_approval_request", RunItemKind::McpApprovalRequest),
        ("message", RunItemKind::Other),
    ]
    .map(|(k, kind)| (k.to_owned(), kind));
    assert_eq!(kinds_of(&json_items), expected);
    assert_eq!(kinds_of(&streamed.output), expected);
    let req = hosted::McpApprovalRequest::from_item(&streamed.output[6]).expect("request");
    assert_eq!(
        (req.id.as_str(), req.server_label.as_str()),
        ("mcpr_1", "wiki")
    );
    // Kept verbatim: the code interpreter's logs, the file search results.
    let ci = serde_json::to_value(&json_items[2]).expect("json");
    assert_eq!(ci["outputs"][0]["logs"], "42\n");
    let fs = serde_json::to_value(&streamed.output[1]).expect("json");
    assert_eq!(fs["results"][0]["text"], "Agents are loops.");
    server.assert_ok();
}

#[tokio::test]
async fn an_mcp_approval_answer_is_a_valid_input_item() {
    let server = MockServer::start().await;
    let model = model(&server, OpenAIApi::Responses);
    let request_item: Item = serde_json::from_value(json!({"type": "mcp_approval_request",
        "id": "mcpr_1", "server_label": "wiki", "name": "ask", "arguments": "{}"}))
    .expect("item");
    for answer in [
        hosted::mcp_approval_response("mcpr_1", true, None),
        hosted::mcp_approval_response("mcpr_1", false, Some("Not now.")),
    ] {
        let input = [Item::user("Ask."), request_item.clone(), answer.clone()];
        let settings = ModelSettings::new();
        let hosted = hosted_tools();
        let request = ModelRequest::new(&input, &settings).hosted_tools(&hosted);
        server.push(
            Reply::new()
                .with_mcp_call("wiki", "ask", "{}", "42")
                .with_text("42"),
        );
        let response = model.get_response(request).await.expect("response");
        assert_eq!(response.output.len(), 2);
        let requests = server.requests();
        let sent = &requests.last().expect("request").body["input"];
        assert_eq!(sent[2], serde_json::to_value(&answer).expect("json"));
    }
    server.assert_ok();
}

#[tokio::test]
async fn chat_completions_refuses_hosted_tools_and_choices_before_sending() {
    let server = MockServer::start().await;
    let chat = model(&server, OpenAIApi::ChatCompletions);
    let input = [Item::user("Go.")];
    let hosted = [HostedTool::web_search()];
    let plain = ModelSettings::new();
    let err = chat
        .get_response(ModelRequest::new(&input, &plain).hosted_tools(&hosted))
        .await
        .expect_err("hosted tools");
    match &err {
        ModelError::Unsupported { api, feature, hint } => {
            assert_eq!(api, "Chat Completions");
            assert!(feature.contains("web_search"), "{feature}");
            assert!(hint.contains("Responses API"), "{hint}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(
        err.to_string().contains("does not support hosted tools"),
        "{err}"
    );
    let forced = ModelSettings::new().tool_choice(ToolChoice::CodeInterpreter);
    let err = chat
        .get_response(ModelRequest::new(&input, &forced))
        .await
        .expect_err("hosted choice");
    assert!(matches!(err, ModelError::Unsupported { .. }), "{err:?}");
    let (_, err) =
        drain(chat.stream_response(ModelRequest::new(&input, &plain).hosted_tools(&hosted))).await;
    assert!(
        matches!(err, Some(ModelError::Unsupported { .. })),
        "{err:?}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
    server.assert_ok();
}

#[tokio::test]
async fn chat_completions_maps_logprobs_and_cache_retention() {
    let server = MockServer::start().await;
    let provider = provider(&server, OpenAIApi::ChatCompletions);
    let chat = provider.chat_completions_model("gpt-4o");
    let input = [Item::user("Go.")];
    let settings = ModelSettings::new()
        .top_logprobs(2u32)
        .prompt_cache_retention("in_memory")
        .include(vec!["reasoning.encrypted_content".to_owned()]);
    let request = ModelRequest::new(&input, &settings);
    let body = chat.request_body(&request, false).expect("body");
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["top_logprobs"], 2);
    assert_eq!(body["prompt_cache_retention"], "in_memory");
    assert_eq!(body.get("include"), None::<&Value>);
    assert_eq!(validate_chat_request(&body), Ok(()), "{body}");
    server.push(Reply::text("ok"));
    chat.get_response(request).await.expect("response");
    server.assert_ok();
}
