//! The Gemini mock against the official `google-genai` package: every rendered reply and
//! stream chunk validates against its response types, bodies the real service refuses are
//! refused, and the official Python client itself talks to the mock.

use std::process::Command;

use agents_testkit::gemini::{gemini_rendering, validate_gemini};
use agents_testkit::{running_in_ci, MockServer, Reasoning, Reply, Usage};
use serde_json::{json, Value};

/// The validator, or `None` (with a note) outside CI when google-genai is missing.
fn validator_ready() -> bool {
    match validate_gemini("gemini.response", &json!({})) {
        Ok(_) => true,
        Err(reason) if running_in_ci() => {
            panic!("google-genai is required under CI=true: {reason}")
        }
        Err(reason) => {
            eprintln!("note: skipping: {reason}");
            false
        }
    }
}

#[test]
fn every_rendered_reply_and_chunk_matches_the_official_types() {
    if !validator_ready() {
        return;
    }
    let replies = [
        Reply::text("Hello"),
        Reply::text_deltas(["a", "b", "c"])
            .usage(Usage::new(100, 20).cached_tokens(64).reasoning_tokens(5)),
        Reply::function_call("c1", "get_weather", r#"{"city":"Oslo"}"#)
            .with_function_call("c2", "get_time", "{}"),
        Reply::reasoning(
            Reasoning::new()
                .summary("Thinking hard.")
                .encrypted_content("sig"),
        )
        .with_function_call("c1", "f", r#"{"a":[1,2]}"#)
        .chunked(3),
        Reply::reasoning(Reasoning::new().encrypted_content("sig-only")).with_text("Answer."),
        Reply::reasoning(Reasoning::new().encrypted_content("trailing")),
        Reply::function_call("id-1", "f", "{}").gemini_call_ids(),
        Reply::text("cut").max_tokens_reached(),
        Reply::new().gemini_finish_reason("SAFETY"),
        Reply::gemini_prompt_blocked("PROHIBITED_CONTENT"),
    ];
    for reply in &replies {
        let (body, chunks) = gemini_rendering(reply, "gemini-2.5-flash");
        let errors = validate_gemini("gemini.response", &body).expect("validator");
        assert!(errors.is_empty(), "{body}: {errors:?}");
        assert!(!chunks.is_empty());
        for chunk in &chunks {
            let errors = validate_gemini("gemini.stream_chunk", chunk).expect("validator");
            assert!(errors.is_empty(), "{chunk}: {errors:?}");
        }
    }
}

fn refused(body: Value, rule: &str) {
    let errors = validate_gemini("gemini.request", &body).expect("validator");
    assert!(
        errors.iter().any(|e| e.contains(rule)),
        "expected `{rule}` for {body}, got {errors:?}"
    );
}

#[test]
fn requests_the_service_refuses_are_refused() {
    if !validator_ready() {
        return;
    }
    let ok = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    assert_eq!(
        validate_gemini("gemini.request", &ok).expect("validator"),
        Vec::<String>::new()
    );
    refused(json!({"contents": []}), "contents: required");
    refused(
        json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
        "must be `user` or `model`",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": 1}]}]}),
        "valid string",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}]}),
        "exactly one",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"functionCal": {"name": "f"}}]}]}),
        "Extra inputs are not permitted",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "temperature": 1}),
        "unknown field",
    );
    refused(
        json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}, {"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
        ]}),
        "number of function response parts",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
               "generationConfig": {"responseJsonSchema": {"type": "object"}}}),
        "responseMimeType",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
               "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}}}),
        "\"LOW\"",
    );
    refused(
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
               "tools": [{"functionDeclarations": [{"name": "bad name!", "parametersJsonSchema": {"type": "object"}}]}]}),
        "must start with a letter",
    );
}

#[tokio::test]
async fn the_official_python_client_speaks_to_the_mock() {
    if !validator_ready() {
        return;
    }
    let server = MockServer::start().await;
    server.push(Reply::text("Hello from the mock").usage(Usage::new(7, 3)));
    server.push(Reply::text_deltas(["Hel", "lo"]));
    server.push(
        Reply::reasoning(Reasoning::new().encrypted_content("sig-1")).with_function_call(
            "x",
            "get_weather",
            r#"{"city":"Oslo"}"#,
        ),
    );
    let base = server.base_url().trim_end_matches("/v1").to_owned();
    let script = r#"
import sys
from google import genai
from google.genai import types
client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=sys.argv[1], api_version="v1beta"))
r = client.models.generate_content(model="gemini-2.5-flash", contents="Hi",
    config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2))
assert r.text == "Hello from the mock", r.text
assert r.usage_metadata.prompt_token_count == 7
text = "".join(c.text or "" for c in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi"))
assert text == "Hello", text
tool = types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather", description="Weather.",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})])
r = client.models.generate_content(model="gemini-3-pro-preview", contents="Weather in Oslo?",
    config=types.GenerateContentConfig(tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)))
call = r.candidates[0].content.parts[0]
assert call.function_call.name == "get_weather" and call.function_call.args == {"city": "Oslo"}
assert call.thought_signature == b"sig-1", call.thought_signature
print("ok")
"#;
    let python = std::env::var("AGENTS_TESTKIT_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/py-venv/bin/python"
        )
        .to_owned()
    });
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(base)
            .output()
    })
    .await
    .expect("joined")
    .expect("python runs");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].header("x-goog-api-key"), Some("test-key"));
    assert!(requests[1].is_stream());
    assert_eq!(
        requests[0].body["systemInstruction"]["parts"][0]["text"],
        "Be brief."
    );
    server.assert_ok();
}

fn gemini_url(server: &MockServer) -> String {
    format!(
        "http://{}/v1beta/models/gemini-2.5-flash:generateContent",
        server.addr()
    )
}

async fn post(server: &MockServer, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(gemini_url(server))
        .header("x-goog-api-key", "test-key")
        .json(body)
        .send()
        .await
        .expect("the mock answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// A body whose function call carries a signature the mock never issued: refused by the
/// thought-signature rule, which the mock checks in Rust (so with or without Python).
fn forged_signature() -> Value {
    json!({"contents": [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}},
                                     "thoughtSignature": "Zm9yZ2Vk"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                         "response": {"result": "sunny"}}}]}
    ]})
}

#[tokio::test]
async fn a_refused_body_is_a_google_error_naming_the_sdk_types_not_an_openapi_schema() {
    let server = MockServer::start().await;
    let (status, headers, body) = post(&server, &forged_signature()).await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-request-id"], "req_mock_1");
    assert_eq!(body["error"]["code"], 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("official google-genai types"), "{message}");
    assert!(message.contains("corrupted thought signature"), "{message}");
    assert!(!message.contains("OpenAPI"), "{message}");
    let report = server.verify().expect_err("the refusal is recorded");
    assert!(report.contains("corrupted thought signature"), "{report}");
}

#[tokio::test]
async fn without_python_validation_only_the_python_checks_are_skipped() {
    let unknown_field = json!({
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "notAField": true
    });
    if validator_ready() {
        let validating = MockServer::start().await;
        let (status, _, body) = post(&validating, &unknown_field).await;
        assert_eq!(status, 400, "{body}");
        assert!(validating.verify().is_err());
    }

    let server = MockServer::builder()
        .without_python_validation()
        .start()
        .await;
    server.push(Reply::text("Served."));
    let (status, _, reply) = post(&server, &unknown_field).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["candidates"][0]["content"]["parts"][0]["text"],
        "Served."
    );
    server.assert_ok();
    // The thought-signature rule is checked in Rust and stays.
    let (status, _, _) = post(&server, &forged_signature()).await;
    assert_eq!(status, 400);
    assert!(server.verify().is_err());
}
