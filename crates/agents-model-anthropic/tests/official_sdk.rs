//! The official `anthropic` Python package against the mock: its client talks to
//! `/v1/messages` (JSON and streaming) and understands every reply, and every reply and stream
//! event the mock renders validates against the package's response models. This proves the
//! mock speaks the real protocol, so the Rust tests against it mean something.

use std::process::Command;

use agents_testkit::anthropic::{anthropic_rendering, validate_anthropic};
use agents_testkit::{pyvalidate, running_in_ci, MockServer, Reasoning, Reply, Usage};
use serde_json::Value;

/// Whether the official package can run here; outside CI a missing package skips with a note.
fn sdk_available() -> bool {
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

fn replies() -> Vec<(&'static str, Reply)> {
    vec![
        (
            "text",
            Reply::text_deltas(["Hel", "lo"]).usage(Usage::new(30, 2)),
        ),
        (
            "tools",
            Reply::text("Checking.")
                .with_function_call("toolu_1", "get_weather", r#"{"city":"Paris"}"#)
                .with_function_call("toolu_2", "get_weather", r#"{"city":"Rome"}"#)
                .chunked(4),
        ),
        (
            "thinking",
            Reply::reasoning(
                Reasoning::new()
                    .summary("Let me think.")
                    .encrypted_content("c2ln"),
            )
            .with_reasoning(Reasoning::new().encrypted_content("opaque"))
            .with_text("Done."),
        ),
        (
            "cache",
            Reply::text("Cached.")
                .usage(Usage::new(2000, 5).cached_tokens(1500))
                .anthropic_cache_creation_tokens(300),
        ),
        ("refusal", Reply::anthropic_refusal("No.")),
        ("max_tokens", Reply::text("cut").max_tokens_reached()),
        ("overloaded", Reply::overloaded()),
        ("rate_limited", Reply::status(429)),
    ]
}

#[test]
fn every_rendered_reply_and_event_matches_the_sdk_response_models() {
    if !sdk_available() {
        return;
    }
    for (name, reply) in replies() {
        let (json, events, error) = anthropic_rendering(&reply, "claude-sonnet-4-5");
        if !error.is_null() {
            let problems = validate_anthropic("anthropic.error", &error).expect("validator");
            assert!(problems.is_empty(), "{name}: {problems:?}\n{error}");
            continue;
        }
        let problems = validate_anthropic("anthropic.response", &json).expect("validator");
        assert!(problems.is_empty(), "{name}: {problems:?}\n{json}");
        assert!(events.len() >= 5, "{name}: {events:?}");
        for event in &events {
            let problems = validate_anthropic("anthropic.stream_event", event).expect("validator");
            assert!(problems.is_empty(), "{name}: {problems:?}\n{event}");
        }
    }
    // The validator is not a rubber stamp.
    let bad = serde_json::json!({"type": "message", "id": "m", "role": "assistant"});
    assert!(!validate_anthropic("anthropic.response", &bad)
        .expect("validator")
        .is_empty());
}

const CLIENT: &str = r#"
import json, sys
import anthropic
client = anthropic.Anthropic(base_url=sys.argv[1], api_key="sk-ant-python", max_retries=0)
out = {}
m = client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                           messages=[{"role": "user", "content": "Hi"}])
out["text"] = m.content[0].text
out["usage"] = [m.usage.input_tokens, m.usage.cache_read_input_tokens]
out["request_id"] = m._request_id
with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                            messages=[{"role": "user", "content": "Weather?"}],
                            tools=[{"name": "get_weather", "input_schema": {"type": "object",
                                    "properties": {"city": {"type": "string"}}}}]) as s:
    deltas = [e.delta.partial_json for e in s if e.type == "content_block_delta"
              and e.delta.type == "input_json_delta"]
    final = s.get_final_message()
out["stream"] = [final.stop_reason, final.content[0].input, len(deltas)]
try:
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                           messages=[{"role": "user", "content": "Hi"}])
except anthropic.APIStatusError as e:
    out["error"] = [e.status_code, type(e).__name__, e.body["error"]["type"], e.request_id]
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_talks_to_the_mock() {
    if !tokio::task::spawn_blocking(sdk_available)
        .await
        .expect("join")
    {
        return;
    }
    let server = MockServer::start().await;
    server.push_all([
        Reply::text("Hello from the mock.").usage(Usage::new(12, 4).cached_tokens(2)),
        Reply::function_call("toolu_py", "get_weather", r#"{"city":"Paris"}"#).chunked(5),
        Reply::overloaded(),
    ]);
    let base = format!("http://{}", server.addr());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(pyvalidate::python())
            .args(["-c", CLIENT, &base])
            .output()
            .expect("python runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(out["text"], "Hello from the mock.");
    // The client reads the request id from Anthropic's `request-id` header.
    assert_eq!(out["request_id"], "req_mock_1");
    assert_eq!(out["usage"], serde_json::json!([10, 2]));
    assert_eq!(
        out["stream"],
        serde_json::json!(["tool_use", {"city": "Paris"}, 4])
    );
    assert_eq!(
        out["error"],
        serde_json::json!([529, "OverloadedError", "overloaded_error", "req_mock_3"])
    );
    // The official client's own requests passed the same validation as ours.
    server.assert_ok();
    assert_eq!(server.received_count(), 3);
}
