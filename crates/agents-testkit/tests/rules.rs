//! The mock enforces the rules the real service checks beyond the OpenAPI spec, on every
//! request of both APIs: strict-mode schemas and placeholder item ids get a 400 naming the rule.

mod common;

use agents_testkit::{MockServer, Reply};
use common::post;
use serde_json::{json, Value};

/// A schema that is fine as JSON Schema but breaks strict mode: a map field.
fn map_params() -> Value {
    json!({
        "type": "object",
        "properties": {"extra": {"type": "object", "additionalProperties": {"type": "string"}}},
        "required": ["extra"],
        "additionalProperties": false,
    })
}

fn strict_params() -> Value {
    json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": false,
    })
}

/// Posts `body` to `path` and asserts a 400 with code `mock_rule_violated` whose message holds
/// every needle; the scripted reply stays queued.
async fn assert_rejected(path: &str, body: Value, needles: &[&str]) {
    let server = MockServer::start().await;
    server.push(Reply::text("unused"));
    let (status, _, text) = post(server.base_url(), path, &body).await;
    assert_eq!(status, 400, "{text}");
    let error: Value = serde_json::from_str(&text).expect("error JSON");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "mock_rule_violated", "{text}");
    let message = error["error"]["message"].as_str().expect("message");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
    assert_eq!(server.pending_replies(), 1);
    assert!(!server.last_request().expect("captured").is_valid());
    assert!(server.verify().is_err());
}

/// Posts `body` and asserts it is answered normally.
async fn assert_accepted(path: &str, body: Value) {
    let server = MockServer::start().await;
    server.push(Reply::text("ok"));
    let (status, _, text) = post(server.base_url(), path, &body).await;
    assert_eq!(status, 200, "{text}");
    server.assert_ok();
}

#[tokio::test]
async fn responses_strict_tool_parameters_are_checked() {
    let tool = |parameters: Value, strict: bool| {
        json!({"model": "gpt-4o", "input": "hi", "tools": [
            {"type": "function", "name": "f", "description": "d", "parameters": parameters, "strict": strict}]})
    };
    assert_rejected(
        "/responses",
        tool(map_params(), true),
        &[
            "tools[0].parameters",
            "additional-properties-false",
            "'properties', 'extra'",
        ],
    )
    .await;
    assert_accepted("/responses", tool(map_params(), false)).await;
    assert_accepted("/responses", tool(strict_params(), true)).await;
}

#[tokio::test]
async fn responses_strict_output_format_is_checked() {
    let mut schema = strict_params();
    schema["properties"]["city"]["default"] = json!("Oslo");
    let body = json!({"model": "gpt-4o", "input": "hi", "text": {"format":
        {"type": "json_schema", "name": "out", "schema": schema, "strict": true}}});
    assert_rejected(
        "/responses",
        body,
        &["text.format.schema", "supported-keyword", "'default'"],
    )
    .await;
}

#[tokio::test]
async fn chat_strict_tool_parameters_and_response_format_are_checked() {
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": map_params(), "strict": true}}]});
    assert_rejected(
        "/chat/completions",
        body,
        &[
            "tools[0].function.parameters",
            "additional-properties-false",
        ],
    )
    .await;
    let with_ref = json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A", "description": "d"}},
        "required": ["a"], "additionalProperties": false, "$defs": {"A": {"type": "string"}}});
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "o", "schema": with_ref, "strict": true}}});
    assert_rejected(
        "/chat/completions",
        body,
        &["response_format.json_schema.schema", "ref-no-siblings"],
    )
    .await;
}

#[tokio::test]
async fn responses_input_items_with_the_placeholder_id_are_rejected() {
    let message = |id: &str| {
        json!({"type": "message", "id": id, "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "hello", "annotations": [], "logprobs": []}]})
    };
    let body = |id: &str| json!({"model": "gpt-4o", "input": [{"role": "user", "content": "hi"}, message(id)]});
    assert_rejected(
        "/responses",
        body("__fake_id__"),
        &["input[1].id", "no-placeholder-item-id"],
    )
    .await;
    assert_accepted("/responses", body("msg_abc123")).await;
}
