//! Request bodies are validated against the OpenAPI spec: what the real SDKs send passes, what
//! the service would reject fails, and the server answers an invalid body with a 400.

mod common;

use agents_testkit::{
    validate_chat_completion_chunk, validate_chat_completion_response, validate_chat_request,
    validate_create_response, validate_response_object, validate_response_stream_event, MockServer,
    Reply,
};
use common::{post, responses_body, spec_available};
use serde_json::{json, Value};

fn params() -> Value {
    json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": false,
    })
}

/// Asserts that `body` is (in)valid for `/v1/responses`; `needle` must appear in the errors.
fn check_responses(name: &str, body: Value, expected: Result<(), &str>) {
    check(name, validate_create_response(&body), expected);
}

fn check_chat(name: &str, body: Value, expected: Result<(), &str>) {
    check(name, validate_chat_request(&body), expected);
}

fn check(name: &str, actual: Result<(), Vec<String>>, expected: Result<(), &str>) {
    match (actual, expected) {
        (Ok(()), Ok(())) => {}
        (Err(errors), Ok(())) => panic!("{name}: expected valid, got:\n{}", errors.join("\n")),
        (Ok(()), Err(_)) => panic!("{name}: expected invalid, but it passed"),
        (Err(errors), Err(needle)) => {
            let all = errors.join("\n");
            assert!(
                all.contains(needle),
                "{name}: errors should mention {needle:?}:\n{all}"
            );
        }
    }
}

#[test]
fn responses_bodies_that_sdks_send_are_valid() {
    if !spec_available("responses_bodies_that_sdks_send_are_valid") {
        return;
    }
    let tool = json!({"type": "function", "name": "get_weather", "description": "d", "parameters": params(), "strict": true});
    let cases = [
        (
            "plain string input",
            json!({"model": "gpt-4o", "input": "hi"}),
        ),
        (
            "what openai-agents sends on a first turn",
            json!({
                "model": "gpt-4o",
                "input": [{"role": "user", "content": "hi"}],
                "instructions": "Be nice",
                "include": [],
                "tools": [tool],
                "tool_choice": "auto",
                "parallel_tool_calls": true,
                "stream": false,
                "text": {"format": {"type": "json_schema", "name": "final_output", "schema": params(), "strict": true}},
                "reasoning": {"effort": "low", "summary": "auto"},
                "metadata": {"a": "b"},
                "store": true,
                "temperature": 0.5,
                "top_p": 1.0,
                "max_output_tokens": 100,
                "truncation": "auto",
            }),
        ),
        (
            "a replayed history of every item kind",
            json!({"model": "gpt-4o", "tools": [tool], "input": [
                {"role": "system", "content": "sys"},
                {"role": "developer", "content": "dev"},
                {"role": "user", "content": "Weather?"},
                {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}], "encrypted_content": "gAAA"},
                {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
                {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Sunny", "annotations": [], "logprobs": []}]},
                {"role": "assistant", "content": "plain assistant text"},
                {"type": "item_reference", "id": "msg_0"},
            ]}),
        ),
        (
            "user message with a list of parts (no type)",
            json!({"model": "gpt-4o", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}),
        ),
        (
            "user message with a list of parts and type message",
            json!({"model": "gpt-4o", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}]}]}),
        ),
        (
            "function call output as content parts",
            json!({"model": "gpt-4o", "input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "x"}]}]}),
        ),
        (
            "tool choice forcing a function",
            json!({"model": "gpt-4o", "input": "hi", "tools": [tool], "tool_choice": {"type": "function", "name": "get_weather"}}),
        ),
        (
            "tool choice required",
            json!({"model": "gpt-4o", "input": "hi", "tool_choice": "required"}),
        ),
        (
            "server-managed state",
            json!({"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_1", "store": true}),
        ),
        (
            "conversation id",
            json!({"model": "gpt-4o", "input": "hi", "conversation": "conv_1"}),
        ),
        (
            "hosted tools",
            json!({"model": "gpt-4o", "input": "hi", "tools": [{"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["vs_1"]}]}),
        ),
        (
            "stream with options",
            json!({"model": "gpt-4o", "input": "hi", "stream": true, "stream_options": {"include_obfuscation": false}}),
        ),
        (
            "explicit nulls",
            json!({"model": "gpt-4o", "input": "hi", "temperature": null, "top_p": null, "instructions": null, "metadata": null, "parallel_tool_calls": null}),
        ),
        (
            "any model name",
            json!({"model": "my-fine-tune:v2", "input": "hi"}),
        ),
    ];
    for (name, body) in cases {
        check_responses(name, body, Ok(()));
    }
}

#[test]
fn responses_bodies_the_service_rejects_are_invalid() {
    if !spec_available("responses_bodies_the_service_rejects_are_invalid") {
        return;
    }
    let cases = [
        (
            "input as a number",
            json!({"model": "gpt-4o", "input": 5}),
            "/input",
        ),
        (
            "unknown tool_choice",
            json!({"model": "gpt-4o", "input": "hi", "tool_choice": "sometimes"}),
            "/tool_choice",
        ),
        (
            "temperature out of range",
            json!({"model": "gpt-4o", "input": "hi", "temperature": 3}),
            "/temperature",
        ),
        (
            "function tool without a name",
            json!({"model": "gpt-4o", "input": "hi", "tools": [{"type": "function", "parameters": {}, "strict": true}]}),
            "/tools/0: \"name\" is a required property",
        ),
        (
            "unknown item type",
            json!({"model": "gpt-4o", "input": [{"type": "telepathy", "content": "x"}]}),
            "/input",
        ),
        (
            "unknown role",
            json!({"model": "gpt-4o", "input": [{"role": "robot", "content": "x"}]}),
            "/input",
        ),
        (
            "function call without call_id",
            json!({"model": "gpt-4o", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}),
            "/input/0: \"call_id\" is a required property",
        ),
        (
            "max_output_tokens below 16",
            json!({"model": "gpt-4o", "input": "hi", "max_output_tokens": 3}),
            "/max_output_tokens",
        ),
        (
            "metadata values must be strings",
            json!({"model": "gpt-4o", "input": "hi", "metadata": {"n": 1}}),
            "/metadata",
        ),
        ("not an object", json!([1, 2]), "/"),
        (
            "a bad item late in a long history",
            long_history_with(json!({"type": "function_call", "name": "f", "arguments": "{}"})),
            "/input/40: \"call_id\" is a required property",
        ),
        (
            "a bad first item before a long history",
            {
                let mut body = long_history_with(json!({"role": "user", "content": "fine"}));
                body["input"][0] = json!({"role": "user", "content": 7});
                body
            },
            "/input",
        ),
    ];
    // Twice: the second round runs with every valid history item already known.
    for _ in 0..2 {
        for (name, body, needle) in &cases {
            check_responses(name, body.clone(), Err(needle));
        }
    }
    check_responses(
        "the long history itself",
        long_history_with(json!({"role": "user", "content": "ok"})),
        Ok(()),
    );
}

/// Forty valid items of every common kind, then `last`.
fn long_history_with(last: Value) -> Value {
    let mut input = Vec::new();
    for i in 0..10 {
        input.push(json!({"role": "user", "content": format!("question {i}")}));
        input.push(json!({"id": format!("fc_{i}"), "type": "function_call", "call_id": format!("call_{i}"), "name": "f", "arguments": "{}", "status": "completed"}));
        input.push(
            json!({"type": "function_call_output", "call_id": format!("call_{i}"), "output": "ok"}),
        );
        input.push(json!({"id": format!("msg_{i}"), "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "answer", "annotations": [], "logprobs": []}]}));
    }
    input.push(last);
    json!({"model": "gpt-4o", "input": input})
}

#[test]
fn chat_bodies_that_sdks_send_are_valid() {
    if !spec_available("chat_bodies_that_sdks_send_are_valid") {
        return;
    }
    let user = json!({"role": "user", "content": "hi"});
    let tool = json!({"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": params(), "strict": true}});
    let cases = [
        ("minimal", json!({"model": "gpt-4o", "messages": [user]})),
        (
            "a tool round trip, streamed with usage",
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "system", "content": "s"},
                    user,
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                ],
                "tools": [tool],
                "tool_choice": "auto",
                "parallel_tool_calls": true,
                "stream": true,
                "stream_options": {"include_usage": true},
                "temperature": 0.5,
                "max_tokens": 100,
                "store": false,
                "metadata": {},
            }),
        ),
        (
            "structured output",
            json!({"model": "gpt-4o", "messages": [user], "response_format": {"type": "json_schema", "json_schema": {"name": "final_output", "strict": true, "schema": params()}}}),
        ),
        (
            "image parts",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}]}]}),
        ),
        (
            "assistant tool calls without content",
            json!({"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
        ),
        (
            "sampling options and nulls",
            json!({"model": "gpt-4o", "messages": [user], "max_completion_tokens": 10, "seed": 1, "n": 1, "stop": ["x"], "logprobs": true, "top_logprobs": 2, "presence_penalty": 0.1, "frequency_penalty": 0.1, "reasoning_effort": "low", "stream_options": null, "temperature": null}),
        ),
        (
            "forced function",
            json!({"model": "gpt-4o", "messages": [user], "tools": [tool], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
        ),
    ];
    for (name, body) in cases {
        check_chat(name, body, Ok(()));
    }
}

#[test]
fn chat_bodies_the_service_rejects_are_invalid() {
    if !spec_available("chat_bodies_the_service_rejects_are_invalid") {
        return;
    }
    let user = json!({"role": "user", "content": "hi"});
    let cases = [
        ("no messages", json!({"model": "gpt-4o"}), "messages"),
        (
            "empty messages",
            json!({"model": "gpt-4o", "messages": []}),
            "/messages",
        ),
        ("no model", json!({"messages": [user]}), "model"),
        (
            "unknown role",
            json!({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}),
            "/messages/0",
        ),
        (
            "tool message without tool_call_id",
            json!({"model": "gpt-4o", "messages": [{"role": "tool", "content": "x"}]}),
            "/messages/0: \"tool_call_id\" is a required property",
        ),
        (
            "unknown tool_choice",
            json!({"model": "gpt-4o", "messages": [user], "tool_choice": "sometimes"}),
            "/tool_choice",
        ),
        (
            "responses-style tool",
            json!({"model": "gpt-4o", "messages": [user], "tools": [{"type": "function", "name": "f", "parameters": {}}]}),
            "/tools/0",
        ),
    ];
    for (name, body, needle) in cases {
        check_chat(name, body, Err(needle));
    }
}

#[test]
fn response_validators_reject_what_the_service_never_sends() {
    if !spec_available("response_validators_reject_what_the_service_never_sends") {
        return;
    }
    check(
        "empty Response",
        validate_response_object(&json!({})),
        Err("required"),
    );
    check(
        "unknown event type",
        validate_response_stream_event(
            &json!({"type": "response.telepathy", "sequence_number": 0}),
        ),
        Err("/"),
    );
    check(
        "chat completion without choices",
        validate_chat_completion_response(
            &json!({"id": "x", "object": "chat.completion", "created": 0, "model": "m"}),
        ),
        Err("choices"),
    );
    check(
        "chunk with a wrong object",
        validate_chat_completion_chunk(
            &json!({"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}),
        ),
        Err("/object"),
    );
}

#[tokio::test]
async fn a_valid_body_passes_and_an_invalid_one_gets_a_400_and_fails_verify() {
    if !spec_available("a_valid_body_passes_and_an_invalid_one_gets_a_400_and_fails_verify") {
        return;
    }
    let server = MockServer::start().await;
    server.push(Reply::text("first"));
    server.push(Reply::text("second"));

    let (status, _, _) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(status, 200);
    assert!(server.verify().is_ok());

    let invalid = json!({"model": "gpt-4o", "input": 42, "tool_choice": "sometimes"});
    let (status, headers, body) = post(server.base_url(), "/responses", &invalid).await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-request-id"], "req_mock_2");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "mock_schema_validation_failed");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("CreateResponse"), "{message}");
    assert!(message.contains("/input"), "{message}");
    assert!(message.contains("/tool_choice"), "{message}");

    let captured = server.last_request().unwrap();
    assert!(!captured.is_valid());
    assert_eq!(captured.body, invalid);
    assert!(captured
        .validation_errors
        .iter()
        .any(|e| e.starts_with("/input")));

    // The invalid request did not consume a scripted reply.
    assert_eq!(server.pending_replies(), 1);
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert!(body.contains("second"));

    let report = server.verify().unwrap_err();
    assert!(report.contains("request #2"), "{report}");
    assert!(report.contains("/tool_choice"), "{report}");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.assert_ok()));
    assert!(panic.is_err(), "assert_ok must panic on an invalid body");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_failure() {
    let server = MockServer::start().await;
    server.push(Reply::text("unused"));
    let response = common::client()
        .post(format!("{}/chat/completions", server.base_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let report = server.verify().unwrap_err();
    assert!(report.contains("not JSON"), "{report}");
    assert_eq!(server.pending_replies(), 1);
}
