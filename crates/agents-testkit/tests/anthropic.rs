//! The Anthropic endpoint's HTTP details, observed with a plain HTTP client: the request id
//! travels in Anthropic's `request-id` header, the mock's own errors are Anthropic-shaped and
//! name what refused the body, and the benchmark switch skips only the Python validator.

use agents_testkit::anthropic::validate_anthropic;
use agents_testkit::{running_in_ci, MockServer, Reply};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

fn body() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}]
    })
}

/// POSTs `body` to `/v1/messages`, with the Anthropic headers unless `headers` is false.
async fn post(server: &MockServer, body: &Value, headers: bool) -> (u16, HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/messages", server.base_url()))
        .json(body);
    if headers {
        request = request
            .header("anthropic-version", "2023-06-01")
            .header("x-api-key", "sk-ant-test");
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Whether the `anthropic` package can validate here; outside CI a missing one skips.
fn validator_ready() -> bool {
    match validate_anthropic("anthropic.ready", &Value::Null) {
        Ok(_) => true,
        Err(reason) => {
            assert!(
                !running_in_ci(),
                "the anthropic package is required under CI=true: {reason}"
            );
            eprintln!("note: skipped, the anthropic package is not available: {reason}");
            false
        }
    }
}

#[tokio::test]
async fn the_request_id_is_in_the_request_id_header_as_anthropic_sends_it() {
    let server = MockServer::start().await;
    server.push(Reply::text("Hi."));
    server.push(Reply::overloaded());
    for (n, status) in [(1, 200), (2, 529)] {
        let (got, headers, body) = post(&server, &body(), true).await;
        assert_eq!(got, status);
        assert_eq!(headers["request-id"], format!("req_mock_{n}").as_str());
        assert!(headers.get("x-request-id").is_none(), "{headers:?}");
        if status == 529 {
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], "overloaded_error");
        }
    }
    server.assert_ok();
}

#[tokio::test]
async fn a_refused_body_is_an_anthropic_error_naming_the_sdk_types_not_an_openapi_schema() {
    let server = MockServer::start().await;
    // Without the anthropic-version header the body is refused whether or not Python runs.
    let (status, headers, body) = post(&server, &body(), false).await;
    assert_eq!(status, 400);
    assert_eq!(headers["request-id"], "req_mock_1");
    assert!(headers.get("x-request-id").is_none());
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["request_id"], "req_mock_1");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("official anthropic MessageCreateParams"),
        "{message}"
    );
    assert!(message.contains("anthropic-version: header is required"));
    assert!(!message.contains("OpenAPI"), "{message}");
    let report = server.verify().expect_err("the refusal is recorded");
    assert!(report.contains("anthropic-version"), "{report}");
}

#[tokio::test]
async fn without_python_validation_only_the_python_checks_are_skipped() {
    let mut unknown_field = body();
    unknown_field["not_a_field"] = json!(true);

    if validator_ready() {
        let validating = MockServer::start().await;
        let (status, _, body) = post(&validating, &unknown_field, true).await;
        assert_eq!(status, 400, "{body}");
        assert!(validating.verify().is_err());
    }

    let server = MockServer::builder()
        .without_python_validation()
        .start()
        .await;
    server.push(Reply::text("Served."));
    let (status, _, reply) = post(&server, &unknown_field, true).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["content"][0]["text"], "Served.");
    server.assert_ok();
    // The header checks are made in Rust and stay.
    let (status, _, _) = post(&server, &body(), false).await;
    assert_eq!(status, 400);
    assert!(server.verify().is_err());
}
