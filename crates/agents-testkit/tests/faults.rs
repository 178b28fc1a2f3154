//! Each fault behaves as documented, observed with a plain HTTP client.

mod common;

use std::time::{Duration, Instant};

use agents_testkit::{Fault, MockServer, Reply};
use common::{chat_body, client, parse_sse, post, responses_body};
use serde_json::{json, Value};

/// Reads a body chunk by chunk; returns what arrived and whether reading ended in an error.
async fn read_all(mut response: reqwest::Response) -> (String, Result<(), reqwest::Error>) {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return (String::from_utf8_lossy(&bytes).into_owned(), Ok(())),
            Err(e) => return (String::from_utf8_lossy(&bytes).into_owned(), Err(e)),
        }
    }
}

async fn send(server: &MockServer, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", server.base_url()))
        .json(body)
        .send()
        .await
        .expect("headers arrive")
}

#[tokio::test]
async fn status_429_has_retry_after_headers_and_an_openai_error_body() {
    let server = MockServer::start().await;
    server.push(Reply::status(429).retry_after(Duration::from_millis(1500)));
    let (status, headers, body) =
        post(server.base_url(), "/responses", &responses_body(true)).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["retry-after-ms"], "1500");
    assert_eq!(headers["x-request-id"], "req_mock_1");
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "requests");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"]["param"].is_null());
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Rate limit"));
    server.assert_ok();
}

#[tokio::test]
async fn status_500_and_custom_error_fields() {
    let server = MockServer::start().await;
    server.push(Reply::status(500));
    server.push(
        Reply::status(400)
            .error_message("Invalid value for 'temperature'.")
            .error_type("invalid_request_error")
            .error_code("invalid_value")
            .error_param("temperature"),
    );
    let (status, headers, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(false, false),
    )
    .await;
    assert_eq!(status, 500);
    assert!(headers.get("retry-after").is_none());
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "server_error");
    assert!(body["error"]["code"].is_null());

    let (status, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": {
            "message": "Invalid value for 'temperature'.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "invalid_value",
        }})
    );
    server.assert_ok();
}

#[tokio::test]
async fn disconnect_mid_stream_breaks_the_body_after_some_deltas() {
    let server = MockServer::start().await;
    server.push(Reply::disconnect_mid_stream());
    server.push(Reply::disconnect_mid_stream());

    let response = send(&server, "/responses", &responses_body(true)).await;
    assert_eq!(response.status(), 200);
    let (text, result) = read_all(response).await;
    assert!(
        result.is_err(),
        "reading the body must fail, got clean end after {text:?}"
    );
    let deltas = text.matches("event: response.output_text.delta").count();
    assert_eq!(deltas, 3, "half of the six deltas arrive: {text}");
    assert!(!text.contains("response.completed"));

    let response = send(&server, "/chat/completions", &chat_body(true, true)).await;
    let (text, result) = read_all(response).await;
    assert!(result.is_err());
    assert!(text.contains("\"content\":\"This \""), "{text}");
    assert!(!text.contains("[DONE]"));
    assert!(!text.contains("finish_reason\":\"stop"));
    server.assert_ok();
}

#[tokio::test]
async fn disconnect_without_stream_cuts_the_json_body() {
    let server = MockServer::start().await;
    server.push(Reply::disconnect_mid_stream());
    let response = send(&server, "/responses", &responses_body(false)).await;
    assert_eq!(response.status(), 200);
    let (text, result) = read_all(response).await;
    assert!(result.is_err());
    assert!(text.starts_with('{'));
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn truncated_sse_ends_cleanly_without_the_terminal_events() {
    let server = MockServer::start().await;
    server.push(Reply::truncated_sse());
    server.push(Reply::truncated_sse());

    let response = send(&server, "/responses", &responses_body(true)).await;
    let (text, result) = read_all(response).await;
    assert!(result.is_ok(), "clean end expected");
    let events = parse_sse(&text);
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("response.output_item.done"),
        "everything but the completion arrives"
    );
    assert!(events
        .iter()
        .all(|e| e.event.as_deref() != Some("response.completed")));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event.as_deref() == Some("response.output_text.delta"))
            .count(),
        6
    );

    let response = send(&server, "/chat/completions", &chat_body(true, true)).await;
    let (text, result) = read_all(response).await;
    assert!(result.is_ok());
    let events = parse_sse(&text);
    assert!(events.iter().all(|e| e.data != "[DONE]"));
    assert!(events
        .iter()
        .all(|e| e.json()["choices"][0]["finish_reason"].is_null()));
    server.assert_ok();
}

#[tokio::test]
async fn malformed_event_is_one_non_json_data_line_among_valid_events() {
    let server = MockServer::start().await;
    server.push(Reply::malformed_event());
    server.push(Reply::malformed_event());

    for (path, body) in [
        ("/responses", responses_body(true)),
        ("/chat/completions", chat_body(true, false)),
    ] {
        let response = send(&server, path, &body).await;
        let (text, result) = read_all(response).await;
        assert!(result.is_ok());
        let events = parse_sse(&text);
        let bad: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.data != "[DONE]" && serde_json::from_str::<Value>(&e.data).is_err())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(bad.len(), 1, "{path}: exactly one malformed data line");
        // It comes right after the first content delta, and the stream still completes.
        let previous = events[bad[0] - 1].json();
        let after_delta = previous["type"] == "response.output_text.delta"
            || previous["choices"][0]["delta"]["content"] == "This ";
        assert!(after_delta, "{path}: {previous}");
        let last = &events.last().unwrap();
        assert!(
            last.data == "[DONE]" || last.event.as_deref() == Some("response.completed"),
            "{path}"
        );
    }
    server.assert_ok();
}

#[tokio::test]
async fn stall_before_headers_is_seen_by_a_client_timeout() {
    let server = MockServer::start().await;
    server.push(Reply::stall(Duration::from_secs(3)));
    server.push(Reply::stall_before_headers(Duration::from_millis(300)));

    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = impatient
        .post(format!("{}/responses", server.base_url()))
        .json(&responses_body(false))
        .send()
        .await
        .expect_err("the stall outlasts the timeout");
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let started = Instant::now();
    let (status, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(body.contains("\"ok\""));
}

#[tokio::test]
async fn stall_mid_stream_sends_headers_and_a_first_delta_then_pauses() {
    let server = MockServer::start().await;
    server.push(Reply::stall_mid_stream(Duration::from_secs(3)));
    server.push(Reply::text("late").with_fault(Fault::StallMidStream(Duration::from_secs(3))));

    let started = Instant::now();
    let mut response = send(&server, "/responses", &responses_body(true)).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "headers come first"
    );
    let mut received = String::new();
    while !received.contains("event: response.output_text.delta") {
        let chunk = response.chunk().await.unwrap().expect("a first chunk");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(
        received
            .matches("event: response.output_text.delta")
            .count(),
        1
    );
    let next = tokio::time::timeout(Duration::from_millis(300), response.chunk()).await;
    assert!(next.is_err(), "the stream pauses after the first delta");

    // Non-streaming: headers, then the pause, then the body.
    let started = Instant::now();
    let response = send(&server, "/responses", &responses_body(false)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    let body = tokio::time::timeout(Duration::from_millis(300), response.text()).await;
    assert!(body.is_err(), "the body is late");
}

#[tokio::test]
async fn invalid_json_body_is_a_200_that_is_not_json() {
    let server = MockServer::start().await;
    server.push(Reply::invalid_json_body());
    server.push(Reply::invalid_json_body());
    for (path, body) in [
        ("/chat/completions", chat_body(false, false)),
        ("/responses", responses_body(true)),
    ] {
        let (status, headers, text) = post(server.base_url(), path, &body).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/json");
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    server.assert_ok();
}

#[tokio::test]
async fn custom_headers_are_sent() {
    let server = MockServer::start().await;
    server.push(Reply::text("x").header("openai-processing-ms", "12"));
    let (_, headers, _) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(headers["openai-processing-ms"], "12");
}
