//! Request mapping: a rich request, the exact body of each API, and proof
//! that the mock (and its OpenAPI validation) accepts it, extra headers and
//! query parameters included.

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use agents_core::items::{Reasoning, SummaryText};
use agents_core::{
    Content, ContentPart, Item, Message, ModelRequest, ModelSettings, OutputSchema, Prompt,
    ReasoningSettings, RetrySettings, Role, ToolChoice, ToolSpec,
};
use agents_model_openai::OpenAIApi;
use agents_testkit::{validate_chat_request, validate_create_response, MockServer, Reply};
use common::*;
use serde_json::{json, Map, Value};

struct Fixture {
    input: Vec<Item>,
    tools: Vec<ToolSpec<'static>>,
    handoffs: Vec<ToolSpec<'static>>,
    schema: OutputSchema,
    settings: ModelSettings,
    prompt: Prompt,
}

fn fixture() -> Fixture {
    let parameters = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": false
    });
    let input = vec![
        Item::user("What's the weather?"),
        Item::Message(Message::new(
            Role::User,
            Content::Parts(vec![
                ContentPart::input_text("And here:"),
                ContentPart::input_image(
                    Some("data:image/png;base64,iVBORw0KGgo=".into()),
                    None,
                    Some("low".into()),
                ),
            ]),
        )),
        Item::Reasoning(Reasoning {
            encrypted_content: Some("gAAAA-enc".into()),
            ..Reasoning::new("rs_1", vec![SummaryText::new("Use the tool.")])
        }),
        Item::Message(Message {
            id: Some("msg_1".into()),
            status: Some("completed".into()),
            ..Message::new(
                Role::Assistant,
                Content::Parts(vec![ContentPart::output_text("Checking.")]),
            )
        }),
        Item::function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        Item::function_call("call_2", "get_weather", r#"{"city":"Lyon"}"#),
        Item::function_call_output("call_1", "sunny"),
        Item::function_call_output("call_2", "rainy"),
        Item::developer("Answer in French."),
        // An item type the SDK does not model.
        serde_json::from_value(json!({"type": "item_reference", "id": "msg_0"})).expect("item"),
    ];
    let tools = vec![ToolSpec {
        name: Cow::Borrowed("get_weather"),
        description: Cow::Borrowed("Weather of a city."),
        parameters: Cow::Owned(parameters.clone()),
        strict: true,
    }];
    let handoffs = vec![ToolSpec {
        name: Cow::Borrowed("transfer_to_billing"),
        description: Cow::Borrowed("Hand off to the billing agent."),
        parameters: Cow::Owned(
            json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
        ),
        strict: true,
    }];
    let schema = OutputSchema {
        name: "forecast".into(),
        schema: json!({
            "type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"],
            "additionalProperties": false
        }),
        strict: true,
    };
    let mut extra_body = Map::new();
    extra_body.insert("temperature".into(), json!(0.25));
    extra_body.insert("user".into(), json!("user-42"));
    let settings = ModelSettings::new()
        .temperature(0.5)
        .top_p(0.9)
        .frequency_penalty(0.1)
        .presence_penalty(0.2)
        .tool_choice(ToolChoice::Required)
        .parallel_tool_calls(false)
        .truncation("auto")
        .max_tokens(256u32)
        .reasoning(ReasoningSettings::effort("medium").with_summary("auto"))
        .verbosity("low")
        .metadata(BTreeMap::from([("run".to_owned(), "r1".to_owned())]))
        .store(false)
        .include_usage(true)
        .extra_headers(BTreeMap::from([("x-trace".to_owned(), "t-1".to_owned())]))
        .extra_query(BTreeMap::from([(
            "tenant".to_owned(),
            "acme corp".to_owned(),
        )]))
        .extra_body(extra_body)
        .retry(RetrySettings::new(1))
        .timeout(Duration::from_secs(30));
    let prompt = Prompt::new("pmpt_1").version("2").variable("city", "Paris");
    Fixture {
        input,
        tools,
        handoffs,
        schema,
        settings,
        prompt,
    }
}

fn tools_json(chat: bool) -> Value {
    let weather = json!({"name": "get_weather", "description": "Weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false},
        "strict": true});
    let billing = json!({"name": "transfer_to_billing", "description": "Hand off to the billing agent.",
        "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": false},
        "strict": true});
    if chat {
        json!([{"type": "function", "function": weather}, {"type": "function", "function": billing}])
    } else {
        let with_type = |mut v: Value| {
            let mut m = Map::new();
            m.insert("type".into(), json!("function"));
            m.append(v.as_object_mut().expect("object"));
            Value::Object(m)
        };
        json!([with_type(weather), with_type(billing)])
    }
}

#[tokio::test]
async fn rich_responses_request() {
    let f = fixture();
    let server = MockServer::start().await;
    let provider = provider(&server, OpenAIApi::Responses);
    let model = provider.responses_model("gpt-5-mini");
    let request = ModelRequest::new(&f.input, &f.settings)
        .instructions(Some("You are a weather bot."))
        .tools(&f.tools)
        .handoffs(&f.handoffs)
        .output_schema(Some(&f.schema))
        .server_state(Some("resp_prev"), None)
        .prompt(Some(&f.prompt));
    let body = model.request_body(&request, true).expect("body");
    let expected = json!({
        "model": "gpt-5-mini",
        "instructions": "You are a weather bot.",
        "input": [
            {"type": "message", "role": "user", "content": "What's the weather?"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "And here:"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Use the tool."}], "encrypted_content": "gAAAA-enc"},
            {"type": "message", "id": "msg_1", "role": "assistant", "content": [
                {"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []}
            ], "status": "completed"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "function_call_output", "call_id": "call_2", "output": "rainy"},
            {"type": "message", "role": "developer", "content": "Answer in French."},
            {"type": "item_reference", "id": "msg_0"}
        ],
        "tools": tools_json(false),
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "text": {
            "format": {"type": "json_schema", "name": "forecast", "schema": f.schema.schema, "strict": true},
            "verbosity": "low"
        },
        "reasoning": {"effort": "medium", "summary": "auto"},
        "temperature": 0.25,
        "top_p": 0.9,
        "truncation": "auto",
        "max_output_tokens": 256,
        "metadata": {"run": "r1"},
        "store": false,
        "previous_response_id": "resp_prev",
        "prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}},
        "stream": true,
        "user": "user-42"
    });
    assert_eq!(body, expected);
    assert_eq!(validate_create_response(&body), Ok(()));
    // Key order: extra_body fields replace in place or come last.
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("model"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("user"));

    // The same request over the wire, JSON and streaming.
    server.push(Reply::text(r#"{"summary":"Il fait beau."}"#));
    server.push(Reply::text(r#"{"summary":"Il fait beau."}"#));
    agents_core::Model::get_response(&model, request.clone())
        .await
        .expect("accepted");
    drain_ok(agents_core::Model::stream_response(&model, request)).await;
    for captured in server.requests() {
        assert_eq!(captured.header("x-trace"), Some("t-1"));
        assert_eq!(captured.query.as_deref(), Some("tenant=acme+corp"));
        assert_eq!(captured.body["user"], "user-42");
        assert_eq!(captured.body["temperature"], 0.25);
    }
    assert_eq!(server.requests()[1].body, body);
    server.assert_ok();
}

#[tokio::test]
async fn rich_chat_completions_request() {
    let f = fixture();
    let server = MockServer::start().await;
    let provider = provider(&server, OpenAIApi::ChatCompletions);
    let model = provider.chat_completions_model("gpt-4o");
    let request = ModelRequest::new(&f.input, &f.settings)
        .instructions(Some("You are a weather bot."))
        .tools(&f.tools)
        .handoffs(&f.handoffs)
        .output_schema(Some(&f.schema));
    let body = model.request_body(&request, true).expect("body");
    let expected = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": "What's the weather?"},
            {"role": "user", "content": [
                {"type": "text", "text": "And here:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "rainy"},
            {"role": "developer", "content": "Answer in French."}
        ],
        "tools": tools_json(true),
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "response_format": {"type": "json_schema", "json_schema": {"name": "forecast", "schema": f.schema.schema, "strict": true}},
        "temperature": 0.25,
        "top_p": 0.9,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "max_completion_tokens": 256,
        "reasoning_effort": "medium",
        "verbosity": "low",
        "metadata": {"run": "r1"},
        "store": false,
        "stream": true,
        "stream_options": {"include_usage": true},
        "user": "user-42"
    });
    assert_eq!(body, expected);
    assert_eq!(validate_chat_request(&body), Ok(()));

    server.push(Reply::text(r#"{"summary":"Il fait beau."}"#));
    server.push(Reply::text(r#"{"summary":"Il fait beau."}"#));
    agents_core::Model::get_response(&model, request.clone())
        .await
        .expect("accepted");
    drain_ok(agents_core::Model::stream_response(&model, request)).await;
    let captured = server.requests();
    assert_eq!(
        captured[0].body["stream"],
        Value::Null,
        "non-streaming sends no stream flag"
    );
    assert_eq!(captured[0].body["stream_options"], Value::Null);
    for c in &captured {
        assert_eq!(c.header("x-trace"), Some("t-1"));
        assert_eq!(c.query.as_deref(), Some("tenant=acme+corp"));
    }
    assert_eq!(captured[1].body, body);
    server.assert_ok();
}

#[test]
fn minimal_requests_send_only_what_is_set() {
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let request = ModelRequest::new(&input, &settings);
    let provider = agents_model_openai::OpenAIProvider::builder()
        .api_key(KEY)
        .ignore_env()
        .build();
    assert_eq!(
        provider
            .responses_model("m")
            .request_body(&request, false)
            .expect("body"),
        json!({"model": "m", "input": [{"type": "message", "role": "user", "content": "Hi"}]})
    );
    assert_eq!(
        provider
            .chat_completions_model("m")
            .request_body(&request, false)
            .expect("body"),
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]})
    );
    // parallel_tool_calls needs tools.
    let settings = ModelSettings::new()
        .parallel_tool_calls(true)
        .tool_choice(ToolChoice::None);
    let request = ModelRequest::new(&input, &settings);
    let body = provider
        .responses_model("m")
        .request_body(&request, false)
        .expect("body");
    assert_eq!(body.get("parallel_tool_calls"), None);
    assert_eq!(body["tool_choice"], "none");
    let body = provider
        .chat_completions_model("m")
        .request_body(&request, false)
        .expect("body");
    assert_eq!(body.get("parallel_tool_calls"), None);
    assert_eq!(body["tool_choice"], "none");
}

#[test]
fn conversation_and_stored_prompt_go_to_responses_only() {
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let prompt = Prompt::new("pmpt_9");
    let request = ModelRequest::new(&input, &settings)
        .server_state(None, Some("conv_1"))
        .prompt(Some(&prompt));
    let provider = agents_model_openai::OpenAIProvider::builder()
        .api_key(KEY)
        .ignore_env()
        .build();
    let body = provider
        .responses_model("m")
        .request_body(&request, false)
        .expect("body");
    assert_eq!(body["conversation"], "conv_1");
    assert_eq!(body["prompt"], json!({"id": "pmpt_9"}));
    assert_eq!(validate_create_response(&body), Ok(()));
    for r in [
        ModelRequest::new(&input, &settings).server_state(None, Some("conv_1")),
        ModelRequest::new(&input, &settings).prompt(Some(&prompt)),
    ] {
        let err = provider
            .chat_completions_model("m")
            .request_body(&r, false)
            .expect_err("unsupported");
        assert!(err.to_string().contains("Responses API"), "{err}");
    }
}

#[test]
fn invalid_extra_header_is_an_error_not_a_panic() {
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new()
        .extra_headers(BTreeMap::from([("bad header".to_owned(), "x".to_owned())]));
    let provider = agents_model_openai::OpenAIProvider::builder()
        .api_key(KEY)
        .base_url("http://127.0.0.1:9/v1")
        .ignore_env()
        .build();
    let model = provider.responses_model("m");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let err = rt
        .block_on(agents_core::Model::get_response(
            &model,
            ModelRequest::new(&input, &settings),
        ))
        .expect_err("invalid header");
    assert!(err.to_string().contains("bad header"), "{err}");
}
