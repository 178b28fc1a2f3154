//! The runner end to end through the HTTP provider and the testkit server:
//! both APIs, JSON and streaming, every request validated against the
//! OpenAPI spec by the server.

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::{ModelStreamEvent, RunItemKind};
use agents_testkit::{MockServer, Reply, Usage};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Forecast {
    city: String,
    celsius: i32,
}

fn weather_agent(model: &str) -> Agent {
    let tool = FunctionTool::new(
        "get_weather",
        "Weather of a city.",
        |_ctx: ToolContext, a: City| async move { Ok::<_, String>(format!("22C in {}", a.city)) },
    );
    Agent::builder("Weather")
        .instructions("Use the tool.")
        .model(model)
        .tool(tool)
        .build()
}

fn options(server: &MockServer, api: OpenAIApi) -> RunOptions {
    let provider = OpenAIProvider::builder()
        .ignore_env()
        .api(api)
        .base_url(server.base_url())
        .api_key("sk-test")
        .build();
    RunOptions::default().run_config(RunConfig {
        model_provider: Some(Arc::new(provider)),
        ..Default::default()
    })
}

fn script_tool_loop(server: &MockServer) {
    server.push(
        Reply::function_call("call_1", "get_weather", r#"{"city":"Oslo"}"#)
            .usage(Usage::new(11, 3)),
    );
    server.push(
        Reply::text("It is 22C in Oslo.")
            .chunked(3)
            .usage(Usage::new(20, 6)),
    );
}

async fn tool_loop(api: OpenAIApi, streamed: bool) {
    let server = MockServer::start().await;
    script_tool_loop(&server);
    let agent = weather_agent("gpt-4.1-mini");
    let result = if streamed {
        let mut run = Runner::run_streamed(&agent, "Weather in Oslo?", options(&server, api));
        let mut text = String::new();
        let mut names = Vec::new();
        while let Some(event) = run.next().await {
            match event {
                RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { delta, .. }) => {
                    text.push_str(&delta)
                }
                RunStreamEvent::RunItem { name, .. } => names.push(name),
                _ => {}
            }
        }
        assert_eq!(text, "It is 22C in Oslo.");
        assert_eq!(
            names,
            ["tool_called", "tool_output", "message_output_created"]
        );
        run.result().await.expect("streamed run")
    } else {
        Runner::run(&agent, "Weather in Oslo?", options(&server, api))
            .await
            .expect("run")
    };
    assert_eq!(result.final_output_text(), "It is 22C in Oslo.");
    assert_eq!(result.usage.requests, 2);
    assert_eq!(result.usage.input_tokens, 31);
    assert_eq!(result.usage.output_tokens, 9);
    let kinds: Vec<_> = result.new_items.iter().map(|i| i.kind.clone()).collect();
    assert!(matches!(kinds[0], RunItemKind::ToolCall));
    assert!(matches!(
        kinds[1],
        RunItemKind::ToolCallOutput {
            is_error: false,
            ..
        }
    ));
    assert!(matches!(kinds[2], RunItemKind::MessageOutput));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.is_stream(), streamed);
        assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    }
    // The second request replays the call and carries its output, same call id.
    let second = serde_json::to_string(&requests[1].body).expect("json");
    assert!(second.contains("call_1"), "{second}");
    assert!(second.contains("22C in Oslo"), "{second}");
    server.assert_ok();
}

#[tokio::test]
async fn responses_tool_loop_json() {
    tool_loop(OpenAIApi::Responses, false).await;
}

#[tokio::test]
async fn responses_tool_loop_streamed() {
    tool_loop(OpenAIApi::Responses, true).await;
}

#[tokio::test]
async fn chat_completions_tool_loop_json() {
    tool_loop(OpenAIApi::ChatCompletions, false).await;
}

#[tokio::test]
async fn chat_completions_tool_loop_streamed() {
    tool_loop(OpenAIApi::ChatCompletions, true).await;
}

#[tokio::test]
async fn structured_output_over_both_apis() {
    for api in [OpenAIApi::Responses, OpenAIApi::ChatCompletions] {
        let server = MockServer::start().await;
        server.push(Reply::text(r#"{"city":"Oslo","celsius":3}"#));
        let agent: Agent = Agent::builder("Forecaster")
            .model("gpt-4.1-mini")
            .output_type::<Forecast>()
            .build();
        let result = Runner::run(&agent, "Oslo?", options(&server, api))
            .await
            .expect("run");
        let forecast: Forecast = result.final_output_as().expect("typed output");
        assert_eq!(
            forecast,
            Forecast {
                city: "Oslo".into(),
                celsius: 3
            }
        );
        let body = &server.requests()[0].body;
        let schema_name = match api {
            OpenAIApi::Responses => &body["text"]["format"]["name"],
            _ => &body["response_format"]["json_schema"]["name"],
        };
        assert_eq!(schema_name, "Forecast");
        server.assert_ok();
    }
}

#[tokio::test]
async fn server_errors_reach_the_caller_with_the_work_done() {
    let server = MockServer::start().await;
    server.push(Reply::function_call(
        "call_1",
        "get_weather",
        r#"{"city":"Oslo"}"#,
    ));
    server.push(Reply::status(500));
    let agent = weather_agent("gpt-4.1-mini");
    let err = Runner::run(&agent, "Weather?", options(&server, OpenAIApi::Responses))
        .await
        .expect_err("the second call fails");
    match &err.error {
        agents::Error::Model(agents::ModelError::Http {
            status, request_id, ..
        }) => {
            assert_eq!(*status, 500);
            assert!(request_id.is_some());
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        err.new_items().len(),
        2,
        "the tool call and its output survive"
    );
    server.assert_ok();
}

#[tokio::test]
async fn named_models_resolve_through_the_multi_provider_prefix() {
    let server = MockServer::start().await;
    server.push(Reply::text("hi"));
    let multi = agents::openai::MultiProvider::new(
        OpenAIProvider::builder()
            .ignore_env()
            .base_url(server.base_url())
            .api_key("sk-test")
            .build(),
    );
    let opts = RunOptions::default().run_config(RunConfig {
        model_provider: Some(Arc::new(multi)),
        ..Default::default()
    });
    let agent: Agent = Agent::builder("A").model("openai/gpt-4.1-mini").build();
    let result = Runner::run(&agent, "hi", opts).await.expect("run");
    assert_eq!(result.final_output_text(), "hi");
    let last = server.last_request().expect("request");
    assert_eq!(last.body["model"], "gpt-4.1-mini");

    let unknown: Agent = Agent::builder("B").model("nope/some-model").build();
    let err = Runner::run(
        &unknown,
        "hi",
        RunOptions::default().run_config(RunConfig {
            model_provider: Some(Arc::new(agents::openai::MultiProvider::new(
                OpenAIProvider::builder().ignore_env().build(),
            ))),
            ..Default::default()
        }),
    )
    .await
    .expect_err("unknown prefix");
    assert!(
        matches!(&err.error, agents::Error::Model(agents::ModelError::UnknownModel(m)) if m.contains("nope")),
        "{err}"
    );
    server.assert_ok();
}
