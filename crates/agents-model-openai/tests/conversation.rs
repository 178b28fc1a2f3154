//! Both APIs × JSON and streaming against the mock server: text, tool calls,
//! structured output, parallel calls, reasoning replay and call-id round trips.

mod common;

use std::borrow::Cow;

use agents_core::{
    Item, ModelRequest, ModelSettings, ModelStreamEvent, OutputSchema, ReasoningSettings,
    ToolChoice, ToolSpec,
};
use agents_model_openai::OpenAIApi;
use agents_testkit::{Api, MockServer, Reasoning, Reply, Usage};
use common::*;
use serde_json::{json, Value};

fn weather_tool() -> ToolSpec<'static> {
    ToolSpec {
        name: Cow::Borrowed("get_weather"),
        description: Cow::Borrowed("Weather of a city."),
        parameters: Cow::Owned(json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": false
        })),
        strict: true,
    }
}

fn api_of(api: OpenAIApi) -> Api {
    match api {
        OpenAIApi::Responses => Api::Responses,
        _ => Api::ChatCompletions,
    }
}

#[tokio::test]
async fn text_reply_json_and_stream_on_both_apis() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(
                Reply::text_deltas(["Hel", "lo", " there!"])
                    .usage(Usage::new(12, 3).cached_tokens(4).reasoning_tokens(1)),
            );
            let model = model(&server, api);
            let input = [Item::user("Hi")];
            let settings = ModelSettings::new().include_usage(true);
            let request = ModelRequest::new(&input, &settings).instructions(Some("Be nice."));
            let response = if stream {
                let (events, response) = drain_ok(model.stream_response(request)).await;
                assert_eq!(text_deltas(&events), ["Hel", "lo", " there!"], "{api:?}");
                assert_eq!(done_items(&events), response.output, "{api:?}");
                response
            } else {
                model.get_response(request).await.expect("response")
            };
            assert_eq!(
                message_text(&response.output),
                "Hello there!",
                "{api:?} stream={stream}"
            );
            let u = response.usage;
            assert_eq!(
                (
                    u.input_tokens,
                    u.cached_input_tokens,
                    u.output_tokens,
                    u.reasoning_tokens,
                    u.total_tokens
                ),
                (12, 4, 3, 1, 15),
                "{api:?} stream={stream}"
            );
            assert_eq!(response.request_id.as_deref(), Some("req_mock_1"));
            assert_eq!(response.response_id.is_some(), api == OpenAIApi::Responses);

            let captured = server.requests();
            assert_eq!(captured.len(), 1);
            let r = &captured[0];
            assert_eq!(r.api, api_of(api));
            assert_eq!(r.is_stream(), stream);
            assert_eq!(r.body["model"], "gpt-4o");
            match api {
                OpenAIApi::Responses => {
                    assert_eq!(r.body["instructions"], "Be nice.");
                    assert_eq!(
                        r.body["input"],
                        json!([{"type": "message", "role": "user", "content": "Hi"}])
                    );
                }
                _ => {
                    assert_eq!(
                        r.body["messages"],
                        json!([{"role": "system", "content": "Be nice."}, {"role": "user", "content": "Hi"}])
                    );
                    let expected = if stream {
                        json!({"include_usage": true})
                    } else {
                        Value::Null
                    };
                    assert_eq!(r.body["stream_options"], expected);
                }
            }
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn chat_stream_requests_usage_by_default_and_honours_include_usage_false() {
    for (include_usage, expected) in [(None, true), (Some(false), false)] {
        let server = MockServer::start().await;
        server.push(Reply::text("ok").usage(Usage::new(7, 2)));
        let model = model(&server, OpenAIApi::ChatCompletions);
        let input = [Item::user("Hi")];
        let mut settings = ModelSettings::new();
        settings.include_usage = include_usage;
        let (_, response) =
            drain_ok(model.stream_response(ModelRequest::new(&input, &settings))).await;
        assert_eq!(
            server.requests()[0].body["stream_options"]["include_usage"],
            expected
        );
        let tokens = if expected { 9 } else { 0 };
        assert_eq!(response.usage.total_tokens, tokens);
        server.assert_ok();
    }
}

#[tokio::test]
async fn tool_call_json_and_stream_on_both_apis() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(
                Reply::function_call("call_w1", "get_weather", r#"{"city":"Paris"}"#).chunked(3),
            );
            let model = model(&server, api);
            let input = [Item::user("Weather in Paris?")];
            let tools = [weather_tool()];
            let settings =
                ModelSettings::new().tool_choice(ToolChoice::Function("get_weather".into()));
            let request = ModelRequest::new(&input, &settings).tools(&tools);
            let response = if stream {
                let (events, response) = drain_ok(model.stream_response(request)).await;
                let mut args = String::new();
                for e in &events {
                    if let ModelStreamEvent::FunctionCallArgumentsDelta {
                        call_id,
                        name,
                        delta,
                        ..
                    } = e
                    {
                        assert_eq!(call_id.as_deref(), Some("call_w1"), "{api:?}");
                        assert_eq!(name.as_deref(), Some("get_weather"), "{api:?}");
                        args.push_str(delta);
                    }
                }
                assert_eq!(args, r#"{"city":"Paris"}"#, "{api:?}: deltas add up");
                response
            } else {
                model.get_response(request).await.expect("response")
            };
            assert_eq!(
                calls(&response.output),
                [(
                    "call_w1".to_owned(),
                    "get_weather".to_owned(),
                    r#"{"city":"Paris"}"#.to_owned()
                )],
                "{api:?} stream={stream}"
            );
            let body = &server.requests()[0].body;
            match api {
                OpenAIApi::Responses => {
                    assert_eq!(body["tools"][0]["name"], "get_weather");
                    assert_eq!(
                        body["tool_choice"],
                        json!({"type": "function", "name": "get_weather"})
                    );
                }
                _ => {
                    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
                    assert_eq!(
                        body["tool_choice"],
                        json!({"type": "function", "function": {"name": "get_weather"}})
                    );
                }
            }
            assert!(
                body.get("parallel_tool_calls").is_none(),
                "not set, not sent"
            );
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn parallel_calls_with_text_keep_order_and_ids() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(
                Reply::text("Checking both.")
                    .with_function_call("call_p", "get_weather", r#"{"city":"Paris"}"#)
                    .with_function_call("call_r", "get_weather", r#"{"city":"Rome"}"#)
                    .chunked(4),
            );
            let model = model(&server, api);
            let input = [Item::user("Paris and Rome?")];
            let tools = [weather_tool()];
            let settings = ModelSettings::new().parallel_tool_calls(true);
            let request = ModelRequest::new(&input, &settings).tools(&tools);
            let response = if stream {
                drain_ok(model.stream_response(request)).await.1
            } else {
                model.get_response(request).await.expect("response")
            };
            assert_eq!(response.output.len(), 3, "{api:?} stream={stream}");
            assert_eq!(message_text(&response.output[..1]), "Checking both.");
            let ids: Vec<String> = calls(&response.output).into_iter().map(|c| c.0).collect();
            assert_eq!(ids, ["call_p", "call_r"], "{api:?} stream={stream}");
            assert_eq!(server.requests()[0].body["parallel_tool_calls"], true);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn structured_output_sends_the_schema_and_returns_json_text() {
    let schema = OutputSchema {
        name: "answer".into(),
        schema: json!({
            "type": "object",
            "properties": {"answer": {"type": "integer"}},
            "required": ["answer"],
            "additionalProperties": false
        }),
        strict: true,
    };
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::text(r#"{"answer":42}"#).chunked(5));
            let model = model(&server, api);
            let input = [Item::user("6 x 7?")];
            let settings = ModelSettings::new();
            let request = ModelRequest::new(&input, &settings).output_schema(Some(&schema));
            let response = if stream {
                drain_ok(model.stream_response(request)).await.1
            } else {
                model.get_response(request).await.expect("response")
            };
            let parsed: Value =
                serde_json::from_str(&message_text(&response.output)).expect("json");
            assert_eq!(parsed, json!({"answer": 42}));
            let body = &server.requests()[0].body;
            let expected = json!({"name": "answer", "schema": schema.schema, "strict": true});
            match api {
                OpenAIApi::Responses => {
                    let mut format = expected.clone();
                    format["type"] = json!("json_schema");
                    assert_eq!(body["text"]["format"], format);
                }
                _ => assert_eq!(
                    body["response_format"],
                    json!({"type": "json_schema", "json_schema": expected})
                ),
            }
            server.assert_ok();
        }
    }
}

/// A reasoning model calls a tool; the second turn replays the reasoning item
/// (Responses) or leaves it out (Chat), and the call ids survive the round trip.
#[tokio::test]
async fn reasoning_and_tool_results_round_trip() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(
                Reply::reasoning(
                    Reasoning::new()
                        .id("rs_1")
                        .summary("Need the weather.")
                        .encrypted_content("gAAAenc"),
                )
                .with_function_call("call_a", "get_weather", r#"{"city":"Oslo"}"#)
                .with_function_call("call_b", "get_weather", r#"{"city":"Bergen"}"#)
                .usage(Usage::new(20, 10).reasoning_tokens(6)),
            );
            server.push(Reply::text("Oslo 3°C, Bergen 7°C."));
            let model = model(&server, api);
            let tools = [weather_tool()];
            let settings = ModelSettings::new()
                .reasoning(ReasoningSettings::effort("low").with_summary("auto"));
            let mut history = vec![Item::user("Weather in Oslo and Bergen?")];

            let request = ModelRequest::new(&history, &settings).tools(&tools);
            let first = if stream {
                let (events, response) = drain_ok(model.stream_response(request)).await;
                let reasoning: String = events
                    .iter()
                    .filter_map(|e| match e {
                        ModelStreamEvent::ReasoningDelta { delta, .. } => Some(delta.as_str()),
                        _ => None,
                    })
                    .collect();
                let expected = if api == OpenAIApi::Responses {
                    "Need the weather."
                } else {
                    ""
                };
                assert_eq!(reasoning, expected);
                response
            } else {
                model.get_response(request).await.expect("first turn")
            };
            assert_eq!(first.usage.reasoning_tokens, 6);
            let n_reasoning = first
                .output
                .iter()
                .filter(|i| i.kind() == "reasoning")
                .count();
            assert_eq!(
                n_reasoning,
                usize::from(api == OpenAIApi::Responses),
                "{api:?}"
            );
            history.extend(first.output.iter().cloned());
            for (call_id, _, _) in calls(&first.output) {
                history.push(Item::function_call_output(
                    call_id.clone(),
                    format!("weather for {call_id}"),
                ));
            }

            let request = ModelRequest::new(&history, &settings).tools(&tools);
            let second = if stream {
                drain_ok(model.stream_response(request)).await.1
            } else {
                model.get_response(request).await.expect("second turn")
            };
            assert_eq!(message_text(&second.output), "Oslo 3°C, Bergen 7°C.");

            let body = &server.requests()[1].body;
            match api {
                OpenAIApi::Responses => {
                    let input = body["input"].as_array().expect("input list");
                    let kinds: Vec<&str> = input
                        .iter()
                        .map(|i| i["type"].as_str().unwrap_or("?"))
                        .collect();
                    assert_eq!(
                        kinds,
                        [
                            "message",
                            "reasoning",
                            "function_call",
                            "function_call",
                            "function_call_output",
                            "function_call_output"
                        ]
                    );
                    assert_eq!(input[1]["id"], "rs_1");
                    assert_eq!(input[1]["encrypted_content"], "gAAAenc");
                    assert_eq!(
                        input[1]["summary"],
                        json!([{"type": "summary_text", "text": "Need the weather."}])
                    );
                    assert_eq!(input[2]["call_id"], "call_a");
                    assert_eq!(input[3]["call_id"], "call_b");
                    assert_eq!(input[4]["call_id"], "call_a");
                    assert_eq!(input[5]["call_id"], "call_b");
                    assert_eq!(
                        body["reasoning"],
                        json!({"effort": "low", "summary": "auto"})
                    );
                }
                _ => {
                    assert_eq!(
                        body["messages"],
                        json!([
                            {"role": "user", "content": "Weather in Oslo and Bergen?"},
                            {"role": "assistant", "tool_calls": [
                                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                                {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Bergen\"}"}}
                            ]},
                            {"role": "tool", "tool_call_id": "call_a", "content": "weather for call_a"},
                            {"role": "tool", "tool_call_id": "call_b", "content": "weather for call_b"}
                        ])
                    );
                    assert_eq!(body["reasoning_effort"], "low");
                }
            }
            server.assert_ok();
        }
    }
}

/// Output items of one API are accepted as input by the other: a Responses
/// transcript (with server ids and reasoning) sent to Chat Completions, and a
/// Chat transcript (no ids) sent to the Responses API.
#[tokio::test]
async fn transcripts_move_between_apis() {
    let server = MockServer::start().await;
    server.push(
        Reply::reasoning("Thinking.")
            .with_text("Let me check.")
            .with_function_call("call_x", "get_weather", "{\"city\":\"Rome\"}"),
    );
    server.push(Reply::text("Sunny."));
    server.push(Reply::text("Let me check.").with_function_call(
        "call_y",
        "get_weather",
        "{\"city\":\"Rome\"}",
    ));
    server.push(Reply::text("Sunny again."));
    let tools = [weather_tool()];
    let settings = ModelSettings::new();

    for (first_api, second_api) in [
        (OpenAIApi::Responses, OpenAIApi::ChatCompletions),
        (OpenAIApi::ChatCompletions, OpenAIApi::Responses),
    ] {
        let mut history = vec![Item::user("Rome?")];
        let first = model(&server, first_api)
            .get_response(ModelRequest::new(&history, &settings).tools(&tools))
            .await
            .expect("first");
        history.extend(first.output.iter().cloned());
        let call_id = calls(&first.output)[0].0.clone();
        history.push(Item::function_call_output(call_id, "sunny"));
        let second = model(&server, second_api)
            .get_response(ModelRequest::new(&history, &settings).tools(&tools))
            .await
            .expect("second turn accepted by the other API");
        assert!(message_text(&second.output).starts_with("Sunny"));
    }
    let requests = server.requests();
    // Chat: the assistant text and the call it made are one message.
    assert_eq!(
        requests[1].body["messages"][1],
        json!({"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_x", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
        ]})
    );
    // Responses: a message without server id goes back as an easy input message.
    assert_eq!(
        requests[3].body["input"][1],
        json!({"type": "message", "role": "assistant", "content": "Let me check."})
    );
    server.assert_ok();
}

#[tokio::test]
async fn incomplete_responses_still_complete() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::text("Cut sh").max_tokens_reached());
            let model = model(&server, api);
            let input = [Item::user("Long story")];
            let settings = ModelSettings::new().max_tokens(16u32);
            let request = ModelRequest::new(&input, &settings);
            let response = if stream {
                drain_ok(model.stream_response(request)).await.1
            } else {
                model.get_response(request).await.expect("response")
            };
            assert_eq!(
                message_text(&response.output),
                "Cut sh",
                "{api:?} stream={stream}"
            );
            let body = &server.requests()[0].body;
            let key = if api == OpenAIApi::Responses {
                "max_output_tokens"
            } else {
                "max_completion_tokens"
            };
            assert_eq!(body[key], 16);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn server_managed_state_is_sent_to_responses_and_refused_by_chat() {
    let server = MockServer::start().await;
    server.push(Reply::text("again"));
    let input = [Item::user("more")];
    let settings = ModelSettings::new();
    let request = ModelRequest::new(&input, &settings).server_state(Some("resp_prev"), None);
    model(&server, OpenAIApi::Responses)
        .get_response(request.clone())
        .await
        .expect("responses");
    assert_eq!(
        server.requests()[0].body["previous_response_id"],
        "resp_prev"
    );

    let err = model(&server, OpenAIApi::ChatCompletions)
        .get_response(request)
        .await
        .expect_err("chat has no server state");
    assert!(err.to_string().contains("previous_response_id"), "{err}");
    assert_eq!(server.received_count(), 1, "nothing was sent");
    server.assert_ok();
}

/// A history as openai-agents-python stores a Chat Completions conversation
/// (placeholder ids, `provider_data`), with a Responses turn in between.
fn python_chat_history() -> Vec<Item> {
    let stored = json!([
        {"content": "Weather in Paris?", "role": "user"},
        {"id": "__fake_id__", "summary": [{"text": "Look it up.", "type": "summary_text"}],
         "type": "reasoning"},
        {"id": "__fake_id__", "content": [{"annotations": [], "text": "Checking.",
         "type": "output_text", "logprobs": []}], "role": "assistant", "status": "completed",
         "type": "message", "provider_data": {"model": "other"}},
        {"id": "__fake_id__", "call_id": "call_1", "name": "get_weather",
         "arguments": "{\"city\":\"Paris\"}", "type": "function_call"},
        {"id": "__fake_id__", "call_id": "call_1", "output": "sunny",
         "type": "function_call_output"},
        {"id": "msg_real", "content": [{"annotations": [], "text": "Sunny.",
         "type": "output_text", "logprobs": []}], "role": "assistant", "status": "completed",
         "type": "message", "phase": "final_answer"}
    ]);
    serde_json::from_value(stored).expect("python items parse")
}

#[tokio::test]
async fn placeholder_ids_never_reach_the_responses_api() {
    let server = MockServer::start().await;
    server.push(Reply::text("Still sunny."));
    let model = model(&server, OpenAIApi::Responses);
    let mut input = python_chat_history();
    input.push(Item::user("And tomorrow?"));
    let before = input.clone();
    let settings = ModelSettings::new();
    let response = model
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("the mock accepts the request");
    assert_eq!(message_text(&response.output), "Still sunny.");
    // The history itself is untouched: cleaning happens while writing the body.
    assert_eq!(input, before);
    let captured = server.requests();
    assert_eq!(
        captured[0].body["input"],
        json!([
            {"type": "message", "role": "user", "content": "Weather in Paris?"},
            // The chat reply's reasoning (placeholder id) is left out.
            {"type": "message", "role": "assistant", "content": "Checking."},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather",
             "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "message", "id": "msg_real", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Sunny.", "annotations": [], "logprobs": []}],
             "phase": "final_answer"},
            {"type": "message", "role": "user", "content": "And tomorrow?"}
        ])
    );
    assert!(
        !captured[0].body.to_string().contains("__fake_id__"),
        "{}",
        captured[0].body
    );
    server.assert_ok();
}

#[tokio::test]
async fn chat_replies_are_stored_as_python_stores_them_and_continue_on_both_apis() {
    for stream in [false, true] {
        // Turn 1 on Chat Completions: a message and a tool call.
        let chat = MockServer::start().await;
        chat.push(Reply::text("Let me check.").with_function_call(
            "call_7",
            "get_weather",
            r#"{"city":"Oslo"}"#,
        ));
        let model_chat = model(&chat, OpenAIApi::ChatCompletions);
        let settings = ModelSettings::new();
        let tools = [weather_tool()];
        let mut history = vec![Item::user("Weather in Oslo?")];
        let request = ModelRequest::new(&history, &settings).tools(&tools);
        let output = if stream {
            drain_ok(model_chat.stream_response(request)).await.1.output
        } else {
            model_chat
                .get_response(request)
                .await
                .expect("reply")
                .output
        };
        assert_eq!(
            serde_json::to_value(&output).expect("json"),
            json!([
                {"type": "message", "id": "__fake_id__", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "Let me check.", "annotations": [],
                  "logprobs": []}]},
                {"type": "function_call", "id": "__fake_id__", "call_id": "call_7",
                 "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}
            ]),
            "stream={stream}"
        );
        chat.assert_ok();
        history.extend(output);
        history.push(Item::function_call_output("call_7", "cold"));

        // Turn 2 continues the same history on each API; the mock checks the
        // bodies against the spec and the placeholder-id rule.
        for api in APIS {
            let server = MockServer::start().await;
            server.push(Reply::text("It is cold."));
            let response = model(&server, api)
                .get_response(ModelRequest::new(&history, &settings).tools(&tools))
                .await
                .expect("the continued history is accepted");
            assert_eq!(message_text(&response.output), "It is cold.");
            let body = &server.requests()[0].body;
            assert!(!body.to_string().contains("__fake_id__"), "{api:?}: {body}");
            server.assert_ok();
        }
    }
}
