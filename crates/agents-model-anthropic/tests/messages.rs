//! The Anthropic model against the testkit's `/v1/messages` mock, whose every request body is
//! validated with the official `anthropic` package (`MessageCreateParams`, strict): text, the
//! tool loop, parallel calls, structured output, thinking replay, prompt caching, refusals,
//! settings, headers and history from other providers. JSON and streaming.

use std::borrow::Cow;
use std::sync::Arc;

use agents_core::items::Reasoning as ReasoningItem;
use agents_core::{
    Agent, ContentPart, Error, FunctionTool, Item, Model, ModelRequest, ModelResponse,
    ModelSettings, ModelStreamEvent, OutputSchema, ReasoningSettings, ToolChoice, ToolContext,
    ToolSpec,
};
use agents_model_anthropic::{
    AnthropicModel, AnthropicProvider, AnthropicSettings, StructuredOutput, STRUCTURED_OUTPUT_TOOL,
};
use agents_runner::{RunOptions, Runner};
use agents_testkit::{Api, MockServer, Reasoning, Reply, Usage};
use futures::StreamExt;
use serde_json::{json, Value};

fn model(server: &MockServer) -> AnthropicModel {
    provider(server).model("claude-sonnet-4-5")
}

fn provider(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::builder()
        .api_key("sk-ant-test-key-123456")
        .base_url(server.base_url())
        .ignore_env()
        .build()
}

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

/// Calls the model, streamed or not; for streams also checks that the items announced by
/// `OutputItemDone` are the response's.
async fn call(model: &AnthropicModel, request: ModelRequest<'_>, stream: bool) -> ModelResponse {
    if stream {
        let mut events = model.stream_response(request);
        let mut done = Vec::new();
        let mut kinds = Vec::new();
        while let Some(event) = events.next().await {
            match event.expect("stream event") {
                ModelStreamEvent::OutputItemDone { item, .. } => done.push(item),
                ModelStreamEvent::Other { event_type, .. } => kinds.push(event_type),
                ModelStreamEvent::Completed(response) => {
                    assert_eq!(done, response.output);
                    assert_eq!(kinds.first().map(String::as_str), Some("message_start"));
                    assert!(kinds.iter().any(|k| k == "ping"), "{kinds:?}");
                    assert_eq!(kinds.last().map(String::as_str), Some("message_stop"));
                    return response;
                }
                _ => {}
            }
        }
        panic!("the stream ended without Completed");
    } else {
        model.get_response(request).await.expect("response")
    }
}

fn text_of(items: &[Item]) -> String {
    items
        .iter()
        .filter_map(Item::as_message)
        .map(|m| m.text())
        .collect()
}

fn last_body(server: &MockServer) -> Value {
    let request = server.last_request().expect("a request");
    assert_eq!(request.api, Api::Anthropic);
    assert!(request.is_valid(), "{:?}", request.validation_errors);
    request.body
}

#[tokio::test]
async fn text_json_and_stream_with_headers_usage_and_request_id() {
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push(Reply::text_deltas(["Hel", "lo", "!"]).usage(Usage::new(20, 3)));
        let input = [Item::user("Hi"), Item::system("Answer in English.")];
        let settings = ModelSettings::new().temperature(0.3).max_tokens(300u32);
        let request = ModelRequest::new(&input, &settings).instructions(Some("Be nice."));
        let response = call(&model(&server), request, stream).await;
        assert_eq!(text_of(&response.output), "Hello!");
        assert_eq!(response.usage.input_tokens, 20);
        assert_eq!(response.usage.output_tokens, 3);
        assert_eq!(response.usage.total_tokens, 23);
        assert_eq!(response.request_id.as_deref(), Some("req_mock_1"));
        assert!(response
            .response_id
            .as_deref()
            .is_some_and(|id| id.starts_with("msg_")));
        let captured = server.last_request().expect("request");
        assert_eq!(captured.header("x-api-key"), Some("sk-ant-test-key-123456"));
        assert_eq!(captured.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(captured.path, "/v1/messages");
        let body = last_body(&server);
        assert_eq!(body["system"], "Be nice.\n\nAnswer in English.");
        assert_eq!(body["max_tokens"], 300);
        // The Messages API has no sampling parameters: not sent by default.
        assert!(body.get("temperature").is_none());
        assert_eq!(
            body["stream"],
            if stream { json!(true) } else { Value::Null }
        );
        assert_eq!(
            body["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn a_tool_loop_through_the_runner_pairs_tool_use_and_tool_result() {
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push_all([
            Reply::text("Let me check.").with_function_call(
                "toolu_01",
                "get_weather",
                r#"{"city":"Paris"}"#,
            ),
            Reply::text("Sunny in Paris."),
        ]);
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        struct City {
            city: String,
        }
        let tool = FunctionTool::new(
            "get_weather",
            "Weather of a city.",
            |_ctx: ToolContext, a: City| async move { Ok::<_, String>(format!("sunny in {}", a.city)) },
        );
        let model: Arc<dyn Model> = Arc::new(model(&server));
        let agent: Agent = Agent::builder("Weather").model(model).tool(tool).build();
        let result = if stream {
            let mut run = Runner::run_streamed(&agent, "Weather in Paris?", RunOptions::default());
            while run.next().await.is_some() {}
            run.result().await.expect("run")
        } else {
            Runner::run(&agent, "Weather in Paris?", RunOptions::default())
                .await
                .expect("run")
        };
        assert_eq!(result.final_output_text(), "Sunny in Paris.");
        let body = last_body(&server);
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny in Paris"}
                ]}
            ]),
            "stream={stream}"
        );
        assert_eq!(
            body["tools"][0]["input_schema"]["required"],
            json!(["city"])
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn parallel_calls_are_answered_in_one_user_turn_and_can_be_disabled() {
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push(
            Reply::function_call("toolu_a", "get_weather", r#"{"city":"Paris"}"#)
                .with_function_call("toolu_b", "get_weather", r#"{"city":"Rome"}"#)
                .chunked(3),
        );
        let tools = [weather_tool()];
        let settings = ModelSettings::new();
        let input = [Item::user("Paris and Rome?")];
        let request = ModelRequest::new(&input, &settings).tools(&tools);
        let response = call(&model(&server), request, stream).await;
        let calls: Vec<_> = response
            .output
            .iter()
            .filter_map(Item::as_function_call)
            .map(|c| (c.call_id.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(
            calls,
            [
                ("toolu_a", r#"{"city":"Paris"}"#),
                ("toolu_b", r#"{"city":"Rome"}"#)
            ]
        );

        // The results go back in one user turn, in call order, with parallel use disabled.
        server.push(Reply::text("Both sunny."));
        let mut history = input.to_vec();
        history.extend(response.output.clone());
        history.push(Item::function_call_output("toolu_a", "sunny"));
        history.push(Item::function_call_output("toolu_b", "cloudy"));
        let settings = ModelSettings::new().parallel_tool_calls(false);
        let request = ModelRequest::new(&history, &settings).tools(&tools);
        let response = call(&model(&server), request, stream).await;
        assert_eq!(text_of(&response.output), "Both sunny.");
        let body = last_body(&server);
        assert_eq!(
            body["messages"][2],
            json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": "cloudy"}
            ]})
        );
        assert_eq!(
            body["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn tool_choice_maps_to_the_messages_api() {
    let server = MockServer::start().await;
    let tools = [weather_tool()];
    let input = [Item::user("Hi")];
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"type": "auto"})),
        (ToolChoice::Required, json!({"type": "any"})),
        (ToolChoice::None, json!({"type": "none"})),
        (
            ToolChoice::Function("get_weather".into()),
            json!({"type": "tool", "name": "get_weather"}),
        ),
    ] {
        server.push(Reply::text("ok"));
        let settings = ModelSettings::new().tool_choice(choice);
        let request = ModelRequest::new(&input, &settings).tools(&tools);
        model(&server)
            .get_response(request)
            .await
            .expect("response");
        assert_eq!(last_body(&server)["tool_choice"], expected);
    }
    // A hosted tool choice is refused before sending.
    let settings = ModelSettings::new().tool_choice(ToolChoice::WebSearch);
    let request = ModelRequest::new(&input, &settings).tools(&tools);
    let err = model(&server)
        .get_response(request)
        .await
        .expect_err("unsupported");
    assert!(
        matches!(err, agents_core::ModelError::Unsupported { .. }),
        "{err:?}"
    );
    server.assert_ok();
}

fn answer_schema() -> OutputSchema {
    OutputSchema {
        name: "answer".into(),
        schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}, "celsius": {"type": "integer"}},
            "required": ["city", "celsius"],
            "additionalProperties": false
        }),
        strict: true,
    }
}

#[tokio::test]
async fn structured_output_native_and_through_a_forced_tool() {
    #[derive(serde::Deserialize, schemars::JsonSchema, PartialEq, Debug)]
    struct Answer {
        city: String,
        celsius: i64,
    }
    for stream in [false, true] {
        // Native: output_config.format.
        let server = MockServer::start().await;
        server.push(Reply::text(r#"{"city":"Paris","celsius":22}"#));
        let schema = answer_schema();
        let settings = ModelSettings::new();
        let input = [Item::user("Weather?")];
        let request = ModelRequest::new(&input, &settings).output_schema(Some(&schema));
        let response = call(&model(&server), request, stream).await;
        assert_eq!(
            text_of(&response.output),
            r#"{"city":"Paris","celsius":22}"#
        );
        let body = last_body(&server);
        assert_eq!(
            body["output_config"],
            json!({"format": {"type": "json_schema", "schema": schema.schema}})
        );
        assert!(body.get("tools").is_none());

        // Tool mode: a forced tool whose input becomes the message.
        server.push(Reply::function_call(
            "toolu_so",
            STRUCTURED_OUTPUT_TOOL,
            r#"{"city":"Rome","celsius":25}"#,
        ));
        let tool_model = model(&server)
            .with_settings(AnthropicSettings::new().structured_output(StructuredOutput::Tool));
        let request = ModelRequest::new(&input, &settings).output_schema(Some(&schema));
        let response = call(&tool_model, request, stream).await;
        assert!(response
            .output
            .iter()
            .all(|i| i.as_function_call().is_none()));
        let value: Value = serde_json::from_str(&text_of(&response.output)).expect("JSON");
        assert_eq!(value, json!({"city": "Rome", "celsius": 25}));
        let body = last_body(&server);
        assert_eq!(
            body["tool_choice"],
            json!({"type": "tool", "name": STRUCTURED_OUTPUT_TOOL})
        );
        assert_eq!(body["tools"][0]["input_schema"], schema.schema);
        assert!(body.get("output_config").is_none());
        server.assert_ok();
    }

    // End to end: the runner parses the output type.
    let server = MockServer::start().await;
    server.push(Reply::text(r#"{"city":"Oslo","celsius":3}"#));
    let m: Arc<dyn Model> = Arc::new(model(&server));
    let agent: Agent = Agent::builder("Typed")
        .model(m)
        .output_type::<Answer>()
        .build();
    let result = Runner::run(&agent, "Weather in Oslo?", RunOptions::default())
        .await
        .expect("run");
    assert_eq!(
        result.final_output_as::<Answer>().expect("typed"),
        Answer {
            city: "Oslo".into(),
            celsius: 3
        }
    );
    assert!(last_body(&server).get("output_config").is_some());
    server.assert_ok();
}

/// The thinking block of a reply is replayed byte for byte in the next request, before the
/// tool call it led to; redacted thinking too.
#[tokio::test]
async fn thinking_is_replayed_byte_identical_across_a_tool_call() {
    let thinking =
        "The user wants Paris. I should call get_weather — «quoted» \"text\" \\ \u{1F600}.";
    let signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxDHpGq+/signature==";
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push(
            Reply::reasoning(
                Reasoning::new()
                    .summary(thinking)
                    .encrypted_content(signature),
            )
            .with_reasoning(Reasoning::new().encrypted_content("redacted-opaque-data=="))
            .with_function_call("toolu_t", "get_weather", r#"{"city":"Paris"}"#)
            .chunked(7),
        );
        let tools = [weather_tool()];
        let anthropic =
            model(&server).with_settings(AnthropicSettings::new().thinking_budget(4096));
        let settings = ModelSettings::new();
        let input = [Item::user("Weather in Paris?")];
        let request = ModelRequest::new(&input, &settings).tools(&tools);
        let response = call(&anthropic, request, stream).await;
        let body = last_body(&server);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 4096})
        );
        assert_eq!(body["max_tokens"], 4096 + 4096, "raised above the budget");
        let reasoning: Vec<&ReasoningItem> = response
            .output
            .iter()
            .filter_map(|i| match i {
                Item::Reasoning(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(reasoning.len(), 2, "stream={stream}");

        // The items survive a session round trip (JSON), then go back.
        let stored: Vec<Value> = response
            .output
            .iter()
            .map(|i| serde_json::to_value(i).expect("json"))
            .collect();
        let mut history = input.to_vec();
        history.extend(
            stored
                .into_iter()
                .map(|v| serde_json::from_value::<Item>(v).expect("item")),
        );
        history.push(Item::function_call_output("toolu_t", "sunny"));
        server.push(Reply::text("Sunny."));
        let request = ModelRequest::new(&history, &settings).tools(&tools);
        call(&anthropic, request, stream).await;
        let captured = server.last_request().expect("request");
        assert!(captured.is_valid(), "{:?}", captured.validation_errors);
        assert_eq!(
            captured.body["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": thinking, "signature": signature},
                {"type": "redacted_thinking", "data": "redacted-opaque-data=="},
                {"type": "tool_use", "id": "toolu_t", "name": "get_weather", "input": {"city": "Paris"}}
            ]),
            "stream={stream}"
        );
        // Byte-identical: the exact JSON strings the mock sent are in the request body.
        let raw = serde_json::to_string(&captured.body).expect("json");
        assert!(raw.contains(&serde_json::to_string(thinking).expect("json")));
        assert!(raw.contains(&serde_json::to_string(signature).expect("json")));
        server.assert_ok();
    }
}

/// The service refuses thinking when the conversation continues from a tool-use turn that has
/// no thinking block (another model's turn, after a handoff): the mock enforces that rule, and
/// the model leaves thinking out of that one call, keeping it for the others.
#[tokio::test]
async fn thinking_is_left_out_after_another_models_tool_turn() {
    let python = agents_testkit::pyvalidate::validate("anthropic.ready", &Value::Null).is_ok();
    if python {
        // The rule on a raw body, as the mock checks every request.
        let body = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 4096,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": {"city": "Paris"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_x", "content": "sunny"}
                ]}
            ]
        });
        let errors = agents_testkit::anthropic::validate_anthropic("anthropic.request", &body)
            .expect("the validator runs");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("must start with a thinking block")),
            "{errors:?}"
        );
    } else {
        eprintln!("note: the anthropic package is missing; the service rule is not checked");
    }

    let server = MockServer::start().await;
    let tools = [weather_tool()];
    let anthropic = model(&server).with_settings(AnthropicSettings::new().thinking_budget(1024));
    let settings = ModelSettings::new();
    // Another model called the tool (no thinking block): this call goes without thinking.
    let history = [
        Item::user("Weather?"),
        Item::function_call("toolu_x", "get_weather", r#"{"city":"Paris"}"#),
        Item::function_call_output("toolu_x", "sunny"),
    ];
    server.push(Reply::text("Sunny in Paris."));
    let response = anthropic
        .get_response(ModelRequest::new(&history, &settings).tools(&tools))
        .await
        .expect("accepted without thinking");
    assert_eq!(text_of(&response.output), "Sunny in Paris.");
    let body = last_body(&server);
    assert!(body.get("thinking").is_none(), "{body}");

    // The conversation goes on with a new user turn: thinking is back.
    let mut history = history.to_vec();
    history.extend(response.output);
    history.push(Item::user("And tomorrow?"));
    server.push(Reply::text("Rain."));
    anthropic
        .get_response(ModelRequest::new(&history, &settings).tools(&tools))
        .await
        .expect("response");
    let body = last_body(&server);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    server.assert_ok();
}

#[tokio::test]
async fn another_providers_reasoning_is_never_sent() {
    let server = MockServer::start().await;
    server.push(Reply::text("ok"));
    let mut openai_reasoning = ReasoningItem::new("rs_0123456789", Vec::new());
    openai_reasoning.encrypted_content = Some("gAAAAB-openai-encrypted".into());
    let mut gemini = ReasoningItem::new(agents_core::PLACEHOLDER_ID, Vec::new());
    gemini.extra.insert(
        "provider_data",
        json!({"provider": "gemini", "thought_signature": "c2ln"}),
    );
    let history = [
        Item::user("Hi"),
        Item::Reasoning(openai_reasoning),
        Item::Reasoning(gemini),
        Item::assistant("Hello."),
        Item::user("Again?"),
    ];
    let settings = ModelSettings::new();
    model(&server)
        .get_response(ModelRequest::new(&history, &settings))
        .await
        .expect("response");
    let raw = serde_json::to_string(&last_body(&server)).expect("json");
    assert!(!raw.contains("gAAAAB"), "{raw}");
    assert!(!raw.contains("c2ln"), "{raw}");
    assert!(!raw.contains("thinking"), "{raw}");
    server.assert_ok();
}

#[tokio::test]
async fn prompt_caching_breakpoints_and_cache_usage() {
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push(
            Reply::text("Cached.")
                .usage(Usage::new(2000, 10).cached_tokens(1500))
                .anthropic_cache_creation_tokens(300),
        );
        let tools = [weather_tool()];
        let cached = model(&server).with_settings(
            AnthropicSettings::new()
                .cache_system(true)
                .cache_tools(true)
                .cache_conversation(true),
        );
        let settings = ModelSettings::new();
        let input = [
            Item::user("First"),
            Item::assistant("Ok."),
            Item::user("Second"),
        ];
        let request = ModelRequest::new(&input, &settings)
            .instructions(Some("A long system prompt."))
            .tools(&tools);
        let response = call(&cached, request, stream).await;
        // The wire says input_tokens 200 (uncached), cache reads 1500, cache
        // writes 300: the SDK's input_tokens counts all 2000.
        let u = response.usage;
        assert_eq!(
            (
                u.input_tokens,
                u.cached_input_tokens,
                u.cache_write_input_tokens,
                u.output_tokens,
                u.total_tokens
            ),
            (2000, 1500, 300, 10, 2010),
            "stream={stream}"
        );
        let body = last_body(&server);
        let ephemeral = json!({"type": "ephemeral"});
        assert_eq!(body["system"][0]["cache_control"], ephemeral);
        assert_eq!(body["tools"][0]["cache_control"], ephemeral);
        assert_eq!(
            body["messages"][2]["content"][0]["cache_control"],
            ephemeral
        );
        assert!(body["messages"][0]["content"][0]
            .get("cache_control")
            .is_none());
        server.assert_ok();
    }
}

#[tokio::test]
async fn a_refusal_is_the_typed_refusal_error() {
    for stream in [false, true] {
        let server = MockServer::start().await;
        server.push(Reply::anthropic_refusal("I can't help with that."));
        let m: Arc<dyn Model> = Arc::new(model(&server));
        let agent: Agent = Agent::builder("Careful").model(m).build();
        let result = if stream {
            let mut run = Runner::run_streamed(&agent, "Something bad", RunOptions::default());
            while run.next().await.is_some() {}
            run.result().await
        } else {
            Runner::run(&agent, "Something bad", RunOptions::default()).await
        };
        let err = result.expect_err("refusal");
        match &err.error {
            Error::ModelRefusal { refusal } => {
                assert_eq!(refusal, "I can't help with that.")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        server.assert_ok();
    }
    // With no text, the refusal still carries a reason.
    let server = MockServer::start().await;
    server.push(Reply::anthropic_refusal(""));
    let input = [Item::user("x")];
    let settings = ModelSettings::new();
    let response = model(&server)
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("response");
    let refusal = response
        .output
        .iter()
        .filter_map(Item::as_message)
        .find_map(|m| m.refusal().map(str::to_owned));
    assert!(refusal.is_some_and(|r| r.contains("refusal")));
    server.assert_ok();
}

#[tokio::test]
async fn sampling_settings_thinking_from_effort_and_extras() {
    let server = MockServer::start().await;
    server.push_all([
        Reply::text("a"),
        Reply::text("b"),
        Reply::text("cut").max_tokens_reached(),
    ]);
    let input = [Item::user("Hi")];
    let tuned = model(&server).with_settings(
        AnthropicSettings::new()
            .top_k(40)
            .stop_sequences(["END"])
            .max_tokens(512),
    );
    // Sampling parameters only when asked for (not sent here: the pinned SDK refuses them).
    let sampling = tuned
        .clone()
        .with_settings(AnthropicSettings::new().top_k(40).sampling_parameters(true));
    let sampled = ModelSettings::new().temperature(0.7).top_p(0.9);
    let body = sampling
        .request_body(&ModelRequest::new(&input, &sampled), false)
        .expect("body");
    assert_eq!(
        (
            body["temperature"].to_string(),
            body["top_p"].to_string(),
            body["top_k"].clone()
        ),
        ("0.7".to_owned(), "0.9".to_owned(), json!(40))
    );
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("user_id".to_owned(), "user-42".to_owned());
    let settings = ModelSettings::new()
        .top_p(0.9)
        .metadata(metadata)
        .extra_body(
            [("service_tier".to_owned(), json!("auto"))]
                .into_iter()
                .collect::<serde_json::Map<_, _>>(),
        );
    tuned
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("response");
    let body = last_body(&server);
    assert!(body.get("top_k").is_none() && body.get("top_p").is_none());
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(body["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(body["service_tier"], "auto");

    // `reasoning.effort` turns thinking on.
    let settings = ModelSettings::new().reasoning(ReasoningSettings::effort("medium"));
    model(&server)
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("response");
    let body = last_body(&server);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert!(body["max_tokens"].as_u64().expect("n") > 4096);

    // `max_tokens` stop: the message is incomplete.
    let response = model(&server)
        .get_response(ModelRequest::new(&input, &ModelSettings::new()))
        .await
        .expect("response");
    let message = response.output[0].as_message().expect("message");
    assert_eq!(message.status.as_deref(), Some("incomplete"));
    assert_eq!(message.text(), "cut");
    server.assert_ok();
}

#[tokio::test]
async fn images_become_image_blocks() {
    let server = MockServer::start().await;
    server.push(Reply::text("A cat."));
    let image = agents_core::Message::new(
        agents_core::Role::User,
        agents_core::Content::Parts(vec![
            ContentPart::input_text("What is this?"),
            ContentPart::input_image(
                Some("data:image/png;base64,iVBORw0KGgo=".into()),
                None,
                None,
            ),
            ContentPart::input_image(Some("https://example.com/cat.jpg".into()), None, None),
        ]),
    );
    let input = [Item::Message(image)];
    let settings = ModelSettings::new();
    model(&server)
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("response");
    assert_eq!(
        last_body(&server)["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
    server.assert_ok();
}

#[tokio::test]
async fn configuration_betas_version_and_key_redaction() {
    let server = MockServer::start().await;
    server.push(
        Reply::status(401)
            .error_message("invalid x-api-key: sk-ant-test-key-123456 (echoed by a proxy)"),
    );
    let provider = AnthropicProvider::builder()
        .api_key("sk-ant-test-key-123456")
        .base_url(format!("http://{}", server.addr()))
        .version("2023-01-01")
        .beta("prompt-caching-2024-07-31")
        .beta("output-128k-2025-02-19")
        .ignore_env()
        .build();
    let m = provider.model("claude-x");
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let err = m
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect_err("401");
    let shown = format!("{err} {err:?} {provider:?} {m:?}");
    assert!(!shown.contains("sk-ant-test-key-123456"), "{shown}");
    assert!(matches!(
        err,
        agents_core::ModelError::Http { status: 401, .. }
    ));
    let captured = server.last_request().expect("request");
    assert_eq!(captured.header("anthropic-version"), Some("2023-01-01"));
    assert_eq!(
        captured.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31,output-128k-2025-02-19")
    );
    server.assert_ok();

    // Without a key, the official API is a clear error before anything is sent.
    let p = AnthropicProvider::builder().ignore_env().build();
    let err = p
        .model("claude-x")
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect_err("no key");
    assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
}
