//! Providers, routing, authentication and secrecy of the API key.

mod common;

use std::sync::Arc;

use agents_core::{Item, Model, ModelError, ModelProvider, ModelRequest, ModelSettings};
use agents_model_openai::async_openai::config::OpenAIConfig;
use agents_model_openai::{
    MultiProvider, OpenAIApi, OpenAIChatCompletionsModel, OpenAIClient, OpenAIProvider,
    DEFAULT_MODEL,
};
use agents_testkit::{MockServer, Reply};
use common::*;

async fn say_hi(model: &dyn Model) -> Result<String, ModelError> {
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    model
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .map(|r| message_text(&r.output))
}

#[tokio::test]
async fn key_is_sent_as_bearer_with_organization_and_project() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(Reply::text("hi"));
        let provider = OpenAIProvider::builder()
            .api_key(KEY)
            .base_url(format!("{}/", server.base_url()))
            .organization("org-123")
            .project("proj_456")
            .api(api)
            .ignore_env()
            .build();
        let model = provider.get_model(Some("gpt-4o-mini")).expect("model");
        assert_eq!(say_hi(&*model).await.expect("ok"), "hi");
        let r = &server.requests()[0];
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(r.header("openai-organization"), Some("org-123"));
        assert_eq!(r.header("openai-project"), Some("proj_456"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body["model"], "gpt-4o-mini");
        server.assert_ok();
    }
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_or_errors() {
    let server = MockServer::start().await;
    server.push(Reply::status(401));
    let builder = OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .ignore_env();
    let builder_debug = format!("{builder:?}");
    let provider = builder.build();
    let model = provider.get_model(None).expect("model");
    let multi =
        MultiProvider::new(provider.clone()).with_provider("local", Arc::new(provider.clone()));
    let client = provider.client().clone();
    let err = say_hi(&*model).await.expect_err("401");
    assert!(
        matches!(err, ModelError::Http { status: 401, .. }),
        "{err:?}"
    );

    let rendered = [
        builder_debug,
        format!("{provider:?}"),
        format!("{provider:#?}"),
        format!("{model:?}"),
        format!("{multi:?}"),
        format!("{client:?}"),
        format!("{:?}", provider.responses_model("x")),
        format!("{:?}", provider.chat_completions_model("x")),
        format!("{err:?}"),
        err.to_string(),
    ];
    for text in &rendered {
        assert!(!text.contains(KEY), "the key leaked: {text}");
        assert!(
            !text.contains("4f1b8c2d9e7a"),
            "part of the key leaked: {text}"
        );
    }
    assert!(rendered[1].contains("<redacted>"), "{}", rendered[1]);
    assert!(
        rendered[1].contains(server.base_url()),
        "Debug is still useful: {}",
        rendered[1]
    );
    // The request really carried the key.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    server.assert_ok();
}

#[tokio::test]
async fn local_servers_need_no_key() {
    let server = MockServer::start().await;
    server.push(Reply::text("no auth needed"));
    let provider = OpenAIProvider::builder()
        .base_url(server.base_url())
        .chat_completions()
        .ignore_env()
        .build();
    assert!(!provider.client().has_api_key());
    assert!(format!("{provider:?}").contains("<unset>"));
    let model = provider.get_model(Some("llama3.2")).expect("model");
    assert_eq!(say_hi(&*model).await.expect("ok"), "no auth needed");
    assert_eq!(server.requests()[0].header("authorization"), None);
    server.assert_ok();
}

#[tokio::test]
async fn a_custom_http_client_and_config_headers_are_used() {
    let server = MockServer::start().await;
    server.push(Reply::text("one"));
    server.push(Reply::text("two"));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-from-http-client",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");

    let provider = OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .http_client(http.clone())
        .ignore_env()
        .build();
    assert_eq!(
        say_hi(&*provider.get_model(None).expect("model"))
            .await
            .expect("ok"),
        "one"
    );
    assert_eq!(
        server.requests()[0].header("x-from-http-client"),
        Some("yes")
    );

    let config = OpenAIConfig::new()
        .with_api_key(KEY)
        .with_api_base(server.base_url())
        .with_header("x-from-config", "cfg")
        .expect("header");
    let client = OpenAIClient::new(config).with_http_client(http);
    let model = OpenAIChatCompletionsModel::new("gpt-4o", client);
    assert_eq!(say_hi(&model).await.expect("ok"), "two");
    let r = &server.requests()[1];
    assert_eq!(r.header("x-from-config"), Some("cfg"));
    assert_eq!(r.header("x-from-http-client"), Some("yes"));
    assert_eq!(r.path, "/v1/chat/completions");
    server.assert_ok();
}

#[tokio::test]
async fn multi_provider_routes_by_prefix() {
    let openai_server = MockServer::start().await;
    let local_server = MockServer::start().await;
    let openai = provider(&openai_server, OpenAIApi::Responses);
    let local = OpenAIProvider::builder()
        .base_url(local_server.base_url())
        .chat_completions()
        .default_model("local-default")
        .ignore_env()
        .build();
    let multi = MultiProvider::new(openai).with_provider("ollama", Arc::new(local));

    for name in [
        None,
        Some("gpt-4.1"),
        Some("openai/gpt-4.1"),
        Some("ollama/llama3.2"),
        Some("ollama/"),
    ] {
        openai_server.push(Reply::text("from openai"));
        local_server.push(Reply::text("from ollama"));
        let model = multi.get_model(name).expect("routed");
        let expected = if name.is_some_and(|n| n.starts_with("ollama/")) {
            "from ollama"
        } else {
            "from openai"
        };
        assert_eq!(say_hi(&*model).await.expect("ok"), expected, "{name:?}");
    }
    let models: Vec<String> = openai_server
        .requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(models, ["gpt-4o", "gpt-4.1", "gpt-4.1"]);
    let local_models: Vec<String> = local_server
        .requests()
        .iter()
        .map(|r| r.body["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        local_models,
        ["llama3.2", "local-default"],
        "the prefix is stripped"
    );

    match multi.get_model(Some("anthropic/claude")) {
        Err(ModelError::UnknownModel(message)) => {
            assert!(message.contains("anthropic/claude"), "{message}");
            assert!(message.contains("\"anthropic\""), "{message}");
            assert!(message.contains("openai, ollama"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Leftover replies are not requests; nothing unexpected happened.
    openai_server.assert_ok();
    local_server.assert_ok();
}

#[test]
fn providers_build_without_any_configuration() {
    let provider = OpenAIProvider::builder().ignore_env().build();
    assert_eq!(provider.default_model(), DEFAULT_MODEL);
    assert_eq!(provider.api(), OpenAIApi::Responses);
    assert_eq!(provider.client().base_url(), "https://api.openai.com/v1");
    assert!(!provider.client().has_api_key());
    assert!(provider.get_model(None).is_ok());
    // `from_env` never fails either, whatever the environment holds.
    let multi = MultiProvider::from_env();
    assert!(multi.get_model(Some("gpt-4o")).is_ok());
    assert!(multi.openai().get_model(Some("")).is_ok());
}

#[tokio::test]
async fn official_api_without_key_fails_before_sending() {
    let provider = OpenAIProvider::builder().ignore_env().build();
    let model = provider.get_model(None).expect("model");
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let err = model
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect_err("no key");
    assert!(
        matches!(&err, ModelError::Other(m) if m.contains("OPENAI_API_KEY")),
        "{err:?}"
    );
    let (events, err) = drain(model.stream_response(ModelRequest::new(&input, &settings))).await;
    assert!(events.is_empty());
    assert!(
        matches!(&err, Some(ModelError::Other(m)) if m.contains("OPENAI_API_KEY")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_bad_key_or_organization_is_an_error_per_request_not_a_panic() {
    for builder in [
        OpenAIProvider::builder().api_key("sk-with\u{7f}control"),
        OpenAIProvider::builder()
            .api_key(KEY)
            .organization("org\u{1}"),
    ] {
        let provider = builder
            .base_url("http://127.0.0.1:9/v1")
            .ignore_env()
            .build();
        let err = say_hi(&*provider.get_model(None).expect("model"))
            .await
            .expect_err("bad config");
        assert!(
            matches!(&err, ModelError::InvalidHeader { .. })
                && err.to_string().contains("HTTP header"),
            "{err:?}"
        );
        assert!(!format!("{err:?}").contains("control"));
    }
}
