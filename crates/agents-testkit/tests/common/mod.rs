//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{json, Value};

/// Returns false (after a note) when the OpenAPI spec is not available, so that a test whose
/// point is schema validation can skip instead of passing vacuously. Under `CI=true` the spec is
/// required and the testkit itself panics when it is missing.
pub fn spec_available(test: &str) -> bool {
    if agents_testkit::spec_path().is_some() {
        return true;
    }
    assert!(
        !agents_testkit::running_in_ci(),
        "{test}: the OpenAPI spec is required under CI=true"
    );
    eprintln!("{test}: skipped, OpenAPI spec not found (set OPENAI_OPENAPI_SPEC)");
    false
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {}", self.data))
    }
}

/// Parses an SSE body into events (blocks separated by a blank line).
pub fn parse_sse(body: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    for block in body.split("\n\n") {
        if block.trim().is_empty() {
            continue;
        }
        let mut event = None;
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(rest) = line.strip_prefix("event: ") {
                event = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("data: ") {
                data.push(rest);
            } else {
                panic!("unexpected SSE line {line:?}");
            }
        }
        events.push(SseEvent {
            event,
            data: data.join("\n"),
        });
    }
    events
}

/// A minimal valid Responses API request body.
pub fn responses_body(stream: bool) -> Value {
    json!({"model": "gpt-4o", "input": "Hello", "stream": stream})
}

/// A minimal valid Chat Completions request body.
pub fn chat_body(stream: bool, include_usage: bool) -> Value {
    let mut body = json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": stream,
    });
    if stream && include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Posts `body` to `base_url` + `path` and returns the status, headers and full body text.
pub async fn post(
    base_url: &str,
    path: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client()
        .post(format!("{base_url}{path}"))
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body read");
    (status, headers, text)
}
