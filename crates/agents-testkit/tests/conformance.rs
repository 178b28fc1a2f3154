//! Everything the mock can render must match the official response schemas, and the streamed
//! events must add up to the same output as the JSON reply.

mod common;

use agents_testkit::{
    validate_chat_completion_chunk, validate_chat_completion_response, validate_response_object,
    validate_response_stream_event, MockServer, Reasoning, Reply, Usage,
};
use common::{chat_body, parse_sse, post, responses_body, spec_available};
use serde_json::{json, Value};

/// Every kind of successful reply the mock produces.
fn replies() -> Vec<(&'static str, Reply)> {
    vec![
        ("text", Reply::text("Hello there")),
        ("empty output", Reply::new()),
        (
            "structured output",
            Reply::text(r#"{"answer":42,"why":"because"}"#),
        ),
        (
            "one function call",
            Reply::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        ),
        (
            "text and two calls",
            Reply::text("Checking both.")
                .with_function_call("call_1", "get_weather", r#"{"city":"Paris"}"#)
                .with_function_call("call_2", "get_time", "{}"),
        ),
        (
            "reasoning with summary and encrypted content",
            Reply::reasoning(
                Reasoning::new()
                    .summary("The user greets me.")
                    .encrypted_content("gAAAAB-mock"),
            )
            .with_text("Hi!"),
        ),
        (
            "reasoning without summary, fixed id",
            Reply::reasoning(Reasoning::new().id("rs_fixed")).with_function_call(
                "call_9",
                "lookup",
                r#"{"q":"x"}"#,
            ),
        ),
        (
            "2000 deltas",
            Reply::text_deltas((0..2000).map(|i| format!("w{i} "))),
        ),
        (
            "chunked text and arguments",
            Reply::text("A somewhat longer answer, in pieces.")
                .with_function_call("call_3", "search", r#"{"query":"rust sse"}"#)
                .chunked(3),
        ),
        (
            "usage numbers",
            Reply::text("counted").usage(
                Usage::new(1200, 80)
                    .cached_tokens(1024)
                    .reasoning_tokens(64),
            ),
        ),
        (
            "custom ids and model",
            Reply::text("x")
                .response_id("resp_custom_1")
                .model("gpt-4.1-mini"),
        ),
        (
            "max tokens reached",
            Reply::text("This is cut").max_tokens_reached(),
        ),
        (
            "unicode and escapes",
            Reply::text("héllo \"quoted\" \\ back\nnew line 🎉 </script>").chunked(2),
        ),
        (
            "two text messages",
            Reply::text("first").with_text_deltas(["sec", "ond"]),
        ),
    ]
}

/// Request bodies, minimal and rich (the Responses object echoes request fields).
fn responses_requests(stream: bool) -> Vec<Value> {
    let mut rich = json!({
        "model": "gpt-4o",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Please."}]},
        ],
        "tools": [{
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false},
            "strict": true,
        }],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_output_tokens": 500,
        "metadata": {"suite": "conformance"},
        "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "final_output", "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"], "additionalProperties": false}, "strict": true}},
        "previous_response_id": "resp_previous",
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "truncation": "auto",
    });
    rich["stream"] = json!(stream);
    vec![responses_body(stream), rich]
}

fn check(what: &str, result: Result<(), Vec<String>>, value: &Value) {
    if let Err(errors) = result {
        let shown = value.to_string();
        let shown = &shown[..shown.len().min(2000)];
        panic!(
            "{what} does not match the schema:\n{}\nvalue: {shown}",
            errors.join("\n")
        );
    }
}

/// The text of every message item and the calls of a Responses output.
fn responses_summary(output: &Value) -> Vec<Value> {
    output
        .as_array()
        .expect("output array")
        .iter()
        .map(|item| match item["type"].as_str() {
            Some("message") => json!(["message", item["content"][0]["text"], item["status"]]),
            Some("function_call") => {
                json!([
                    "function_call",
                    item["call_id"],
                    item["name"],
                    item["arguments"]
                ])
            }
            Some("reasoning") => {
                json!(["reasoning", item["summary"], item.get("encrypted_content")])
            }
            other => panic!("unexpected item type {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn responses_json_replies_match_the_response_schema() {
    if !spec_available("responses_json_replies_match_the_response_schema") {
        return;
    }
    let server = MockServer::start().await;
    for (name, reply) in replies() {
        for request in responses_requests(false) {
            server.push(reply.clone());
            let (status, _, body) = post(server.base_url(), "/responses", &request).await;
            assert_eq!(status, 200, "{name}: {body}");
            let response: Value = serde_json::from_str(&body).expect("JSON body");
            check(
                &format!("{name}: Response"),
                validate_response_object(&response),
                &response,
            );
            assert_eq!(response["object"], "response");
            assert!(
                response["id"].as_str().unwrap().starts_with("resp_"),
                "{name}"
            );
            for item in response["output"].as_array().unwrap() {
                let id = item["id"].as_str().unwrap();
                let prefix = match item["type"].as_str().unwrap() {
                    "message" => "msg_",
                    "function_call" => "fc_",
                    _ => "rs_",
                };
                assert!(id.starts_with(prefix), "{name}: item id {id}");
            }
        }
    }
    server.assert_ok();
}

#[tokio::test]
async fn responses_streams_match_the_event_schema_and_add_up() {
    if !spec_available("responses_streams_match_the_event_schema_and_add_up") {
        return;
    }
    let server = MockServer::start().await;
    for (name, reply) in replies() {
        for request in responses_requests(true) {
            server.push(reply.clone());
            let (status, headers, body) = post(server.base_url(), "/responses", &request).await;
            assert_eq!(status, 200, "{name}: {body}");
            assert!(headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream"));
            let events = parse_sse(&body);
            let mut text_by_item: Vec<(String, String)> = Vec::new();
            let mut args_by_item: Vec<(String, String)> = Vec::new();
            for (index, event) in events.iter().enumerate() {
                let data = event.json();
                check(
                    &format!("{name}: event #{index}"),
                    validate_response_stream_event(&data),
                    &data,
                );
                assert_eq!(
                    event.event.as_deref(),
                    data["type"].as_str(),
                    "{name}: event: line"
                );
                assert_eq!(data["sequence_number"], index, "{name}: sequence numbers");
                let item_id = data["item_id"].as_str().unwrap_or_default().to_owned();
                match data["type"].as_str().unwrap() {
                    "response.output_text.delta" => {
                        match text_by_item.iter_mut().find(|(id, _)| *id == item_id) {
                            Some((_, text)) => text.push_str(data["delta"].as_str().unwrap()),
                            None => text_by_item
                                .push((item_id, data["delta"].as_str().unwrap().to_owned())),
                        }
                    }
                    "response.output_text.done" => {
                        let streamed = text_by_item
                            .iter()
                            .find(|(id, _)| *id == item_id)
                            .map(|(_, t)| t.as_str());
                        assert_eq!(
                            streamed,
                            data["text"].as_str(),
                            "{name}: text deltas add up"
                        );
                    }
                    "response.function_call_arguments.delta" => {
                        match args_by_item.iter_mut().find(|(id, _)| *id == item_id) {
                            Some((_, args)) => args.push_str(data["delta"].as_str().unwrap()),
                            None => args_by_item
                                .push((item_id, data["delta"].as_str().unwrap().to_owned())),
                        }
                    }
                    "response.function_call_arguments.done" => {
                        let streamed = args_by_item
                            .iter()
                            .find(|(id, _)| *id == item_id)
                            .map(|(_, t)| t.as_str());
                        assert_eq!(
                            streamed,
                            data["arguments"].as_str(),
                            "{name}: argument deltas add up"
                        );
                    }
                    _ => {}
                }
            }
            let kinds: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
            assert_eq!(
                &kinds[..2],
                ["response.created", "response.in_progress"],
                "{name}"
            );
            let last = events.last().unwrap().json();
            let expected_last = if name == "max tokens reached" {
                "response.incomplete"
            } else {
                "response.completed"
            };
            assert_eq!(last["type"], expected_last, "{name}");
            check(
                &format!("{name}: final Response"),
                validate_response_object(&last["response"]),
                &last["response"],
            );
            assert!(
                last["response"]["usage"]["total_tokens"].is_u64(),
                "{name}: usage"
            );

            // The streamed output equals the output of the same reply as JSON.
            server.push(reply.clone());
            let mut json_request = request.clone();
            json_request["stream"] = json!(false);
            let (_, _, json_body) = post(server.base_url(), "/responses", &json_request).await;
            let json_response: Value = serde_json::from_str(&json_body).unwrap();
            assert_eq!(
                responses_summary(&last["response"]["output"]),
                responses_summary(&json_response["output"]),
                "{name}: stream and JSON agree"
            );
            // The done items equal the items of the final response.
            let done_items: Vec<Value> = events
                .iter()
                .map(|e| e.json())
                .filter(|d| d["type"] == "response.output_item.done")
                .map(|d| d["item"].clone())
                .collect();
            let final_items = last["response"]["output"].as_array().unwrap().clone();
            assert_eq!(done_items, final_items, "{name}: output_item.done items");
        }
    }
    server.assert_ok();
}

#[tokio::test]
async fn responses_event_sequence_is_the_real_one() {
    let server = MockServer::start().await;
    server.push(
        Reply::reasoning("Think.")
            .with_text_deltas(["Hel", "lo"])
            .with_function_call("call_1", "f", r#"{"a":1}"#),
    );
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(true)).await;
    let kinds: Vec<String> = parse_sse(&body)
        .into_iter()
        .map(|e| e.event.unwrap())
        .collect();
    let expected = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ];
    assert_eq!(kinds, expected);
    server.assert_ok();
}

#[tokio::test]
async fn text_delta_events_carry_the_documented_fields() {
    let server = MockServer::start().await;
    server.push(Reply::text_deltas(["a", "b"]));
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(true)).await;
    let events = parse_sse(&body);
    let delta = events
        .iter()
        .map(|e| e.json())
        .find(|d| d["type"] == "response.output_text.delta")
        .unwrap();
    let item_id = delta["item_id"].as_str().unwrap().to_owned();
    assert!(item_id.starts_with("msg_"));
    assert_eq!(
        delta,
        json!({
            "type": "response.output_text.delta",
            "sequence_number": 4,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "delta": "a",
            "logprobs": [],
        })
    );
}

#[tokio::test]
async fn chat_json_replies_match_the_chat_completion_schema() {
    if !spec_available("chat_json_replies_match_the_chat_completion_schema") {
        return;
    }
    let server = MockServer::start().await;
    for (name, reply) in replies() {
        server.push(reply.clone());
        let (status, _, body) = post(
            server.base_url(),
            "/chat/completions",
            &chat_body(false, false),
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
        let completion: Value = serde_json::from_str(&body).unwrap();
        check(
            &format!("{name}: chat completion"),
            validate_chat_completion_response(&completion),
            &completion,
        );
        assert_eq!(completion["object"], "chat.completion");
        let choice = &completion["choices"][0];
        let has_calls = choice["message"]["tool_calls"].is_array();
        let expected_finish = if name == "max tokens reached" {
            "length"
        } else if has_calls {
            "tool_calls"
        } else {
            "stop"
        };
        assert_eq!(choice["finish_reason"], expected_finish, "{name}");
    }
    server.assert_ok();
}

#[tokio::test]
async fn chat_streams_match_the_chunk_schema_and_add_up() {
    if !spec_available("chat_streams_match_the_chunk_schema_and_add_up") {
        return;
    }
    let server = MockServer::start().await;
    for (name, reply) in replies() {
        for include_usage in [false, true] {
            server.push(reply.clone());
            let (status, _, body) = post(
                server.base_url(),
                "/chat/completions",
                &chat_body(true, include_usage),
            )
            .await;
            assert_eq!(status, 200, "{name}: {body}");
            let events = parse_sse(&body);
            assert_eq!(events.last().unwrap().data, "[DONE]", "{name}");
            assert!(
                events.iter().all(|e| e.event.is_none()),
                "chat SSE has no event: lines"
            );
            let chunks: Vec<Value> = events[..events.len() - 1]
                .iter()
                .map(|e| e.json())
                .collect();
            let mut content = String::new();
            let mut calls: Vec<(String, String, String)> = Vec::new();
            let mut finish = None;
            for (index, chunk) in chunks.iter().enumerate() {
                check(
                    &format!("{name}: chunk #{index}"),
                    validate_chat_completion_chunk(chunk),
                    chunk,
                );
                assert_eq!(chunk["object"], "chat.completion.chunk");
                assert_eq!(chunk["id"], chunks[0]["id"], "{name}: one id per stream");
                let Some(choice) = chunk["choices"].get(0) else {
                    continue;
                };
                assert!(
                    finish.is_none(),
                    "{name}: nothing after the finish chunk but usage"
                );
                if let Some(text) = choice["delta"]["content"].as_str() {
                    content.push_str(text);
                }
                for call in choice["delta"]["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let i = call["index"].as_u64().unwrap() as usize;
                    if i == calls.len() {
                        calls.push((
                            call["id"].as_str().unwrap().to_owned(),
                            call["function"]["name"].as_str().unwrap().to_owned(),
                            String::new(),
                        ));
                    }
                    calls[i]
                        .2
                        .push_str(call["function"]["arguments"].as_str().unwrap());
                }
                if let Some(reason) = choice["finish_reason"].as_str() {
                    finish = Some(reason.to_owned());
                }
            }
            assert!(finish.is_some(), "{name}: a finish chunk");
            let usage_chunk = chunks.last().unwrap();
            if include_usage {
                assert_eq!(usage_chunk["choices"], json!([]), "{name}: usage chunk");
                assert!(usage_chunk["usage"]["total_tokens"].is_u64(), "{name}");
            } else {
                assert!(chunks.iter().all(|c| c.get("usage").is_none()), "{name}");
            }

            // The stream adds up to the JSON completion of the same reply.
            server.push(reply.clone());
            let (_, _, json_body) = post(
                server.base_url(),
                "/chat/completions",
                &chat_body(false, false),
            )
            .await;
            let completion: Value = serde_json::from_str(&json_body).unwrap();
            let message = &completion["choices"][0]["message"];
            assert_eq!(
                message["content"].as_str().unwrap_or_default(),
                content,
                "{name}: content"
            );
            let json_calls: Vec<(String, String, String)> = message["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        c["function"]["name"].as_str().unwrap().to_owned(),
                        c["function"]["arguments"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(calls, json_calls, "{name}: tool calls");
            assert_eq!(
                finish.as_deref(),
                completion["choices"][0]["finish_reason"].as_str(),
                "{name}"
            );
        }
    }
    server.assert_ok();
}

#[tokio::test]
async fn usage_numbers_reach_both_apis() {
    let server = MockServer::start().await;
    let usage = Usage::new(1200, 80)
        .cached_tokens(1024)
        .reasoning_tokens(64);
    server.push(Reply::text("x").usage(usage));
    server.push(Reply::text("x").usage(usage));
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        response["usage"],
        json!({
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
            "output_tokens": 80,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 1280,
        })
    );
    let (_, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(false, false),
    )
    .await;
    let completion: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(completion["usage"]["prompt_tokens"], 1200);
    assert_eq!(completion["usage"]["completion_tokens"], 80);
    assert_eq!(completion["usage"]["total_tokens"], 1280);
    assert_eq!(
        completion["usage"]["prompt_tokens_details"]["cached_tokens"],
        1024
    );
    assert_eq!(
        completion["usage"]["completion_tokens_details"]["reasoning_tokens"],
        64
    );
    server.assert_ok();
}

#[tokio::test]
async fn reasoning_is_left_out_of_chat_completions() {
    let server = MockServer::start().await;
    server.push(Reply::reasoning("secret thoughts").with_text("answer"));
    let (_, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(false, false),
    )
    .await;
    assert!(!body.contains("secret thoughts"));
    let completion: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(completion["choices"][0]["message"]["content"], "answer");
    server.assert_ok();
}
