//! The Gemini model against the testkit's Gemini mock, whose every request body is validated
//! against the official `google-genai` types: text, tool loops, parallel calls, structured
//! output, thought-signature replay, safety stops and every fault with retries on and off.

use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    Agent, Error, FunctionTool, Item, Model, ModelError, ModelProvider, ModelRequest,
    ModelSettings, ModelStreamEvent, OutputType, RetrySettings, ToolContext,
};
use agents_model_gemini::GeminiProvider;
use agents_runner::{RunOptions, Runner};
use agents_testkit::{Fault, MockServer, Reasoning, Reply, Usage};
use futures::StreamExt;
use serde_json::{json, Value};

fn provider(server: &MockServer) -> GeminiProvider {
    let base = server.base_url().replace("/v1", "/v1beta");
    GeminiProvider::builder()
        .api_key("gm-test-key")
        .base_url(base)
        .ignore_env()
        .build()
}

fn options(server: &MockServer) -> RunOptions {
    RunOptions::default().model_provider(Arc::new(provider(server)))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

fn weather_agent() -> Agent {
    let tool = FunctionTool::new(
        "get_weather",
        "Weather of a city.",
        |_ctx: ToolContext, a: City| async move { Ok::<_, String>(format!("22C in {}", a.city)) },
    );
    Agent::builder("Weather")
        .instructions("Use the tool.")
        .model("gemini-2.5-flash")
        .tool(tool)
        .build()
}

fn parts(body: &Value, content: usize) -> &Vec<Value> {
    body["contents"][content]["parts"]
        .as_array()
        .expect("parts")
}

#[tokio::test]
async fn text_json_and_stream() {
    let server = MockServer::start().await;
    server.push(Reply::text("Hello from Gemini").usage(Usage::new(12, 4).cached_tokens(8)));
    server.push(Reply::text_deltas(["Hel", "lo ", "again"]).usage(Usage::new(5, 3)));
    let model = provider(&server).model("gemini-2.5-flash");
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new().temperature(0.5).max_tokens(100u32);
    let request = ModelRequest::new(&input, &settings).instructions(Some("Be brief."));
    let response = model.get_response(request.clone()).await.expect("response");
    let message = response.output[0].as_message().expect("message");
    assert_eq!(message.text(), "Hello from Gemini");
    assert_eq!(
        (
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.usage.cached_input_tokens
        ),
        (12, 4, 8)
    );

    let mut deltas = Vec::new();
    let mut completed = None;
    let mut stream = model.stream_response(request);
    while let Some(event) = stream.next().await {
        match event.expect("event") {
            ModelStreamEvent::OutputTextDelta { delta, .. } => deltas.push(delta),
            ModelStreamEvent::Completed(r) => completed = Some(r),
            _ => {}
        }
    }
    assert_eq!(deltas, ["Hel", "lo ", "again"]);
    let completed = completed.expect("completed");
    assert_eq!(
        completed.output[0].as_message().expect("message").text(),
        "Hello again"
    );
    assert_eq!(completed.usage.total_tokens, 8);

    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        requests[1].path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(requests[1].query.as_deref(), Some("alt=sse"));
    assert_eq!(requests[0].header("x-goog-api-key"), Some("gm-test-key"));
    assert_eq!(
        requests[0].body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {"temperature": 0.5, "maxOutputTokens": 100}
        })
    );
    server.assert_ok();
}

#[tokio::test]
async fn tool_loop_through_the_runner_streamed_and_not() {
    for streamed in [false, true] {
        let server = MockServer::start().await;
        server.push(Reply::function_call(
            "ignored",
            "get_weather",
            r#"{"city":"Oslo"}"#,
        ));
        server.push(Reply::text("It is 22C in Oslo.").chunked(4));
        let agent = weather_agent();
        let result = if streamed {
            let mut run = Runner::run_streamed(&agent, "Weather in Oslo?", options(&server));
            while let Some(event) = run.next().await {
                let _ = event;
            }
            run.result().await
        } else {
            Runner::run(&agent, "Weather in Oslo?", options(&server)).await
        }
        .expect("run succeeds");
        assert_eq!(
            result.final_output.expect("output").to_text(),
            "It is 22C in Oslo."
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        let second = &requests[1].body;
        let call = &parts(second, 1)[0];
        assert_eq!(
            call["functionCall"],
            json!({"name": "get_weather", "args": {"city": "Oslo"}})
        );
        assert_eq!(
            call["thoughtSignature"], "skip_thought_signature_validator",
            "an unsigned call gets Gemini's documented skip signature"
        );
        assert_eq!(
            parts(second, 2)[0]["functionResponse"],
            json!({"name": "get_weather", "response": {"output": "22C in Oslo"}})
        );
        assert_eq!(
            second["tools"][0]["functionDeclarations"][0]["name"],
            "get_weather"
        );
        server.assert_ok();
    }
}

#[tokio::test]
async fn prompt_cache_usage_is_reported_and_summed_over_a_run_streamed_and_not() {
    for streamed in [false, true] {
        let server = MockServer::start().await;
        // Gemini reports cache hits (implicit caching, or an explicit `cachedContent`) as
        // `cachedContentTokenCount`, within `promptTokenCount`; it reports no cache writes.
        server.push(
            Reply::function_call("ignored", "get_weather", r#"{"city":"Oslo"}"#)
                .usage(Usage::new(1000, 20).cached_tokens(768).reasoning_tokens(5)),
        );
        server.push(
            Reply::text("It is 22C in Oslo.")
                .chunked(3)
                .usage(Usage::new(1100, 10).cached_tokens(1024)),
        );
        let mut settings = ModelSettings::new();
        settings.extra_body = Some(
            json!({"cachedContent": "cachedContents/weather-prefix"})
                .as_object()
                .cloned()
                .expect("object"),
        );
        let agent = weather_agent().clone_with(|a| a.model_settings(settings.clone()));
        let result = if streamed {
            let mut run = Runner::run_streamed(&agent, "Weather in Oslo?", options(&server));
            while let Some(event) = run.next().await {
                let _ = event;
            }
            run.result().await
        } else {
            Runner::run(&agent, "Weather in Oslo?", options(&server)).await
        }
        .expect("run succeeds");
        let u = &result.usage;
        assert_eq!(u.requests, 2, "streamed={streamed}");
        assert_eq!(
            (
                u.input_tokens,
                u.cached_input_tokens,
                u.cache_write_input_tokens,
                u.output_tokens,
                u.reasoning_tokens,
                u.total_tokens
            ),
            (2100, 1792, 0, 30, 5, 2130),
            "streamed={streamed}"
        );
        let per_request: Vec<(u64, u64)> = u
            .request_usage_entries
            .iter()
            .map(|r| (r.input_tokens, r.cached_input_tokens))
            .collect();
        assert_eq!(per_request, [(1000, 768), (1100, 1024)]);
        // The explicit cache is named on every request, as the API expects.
        for request in server.requests() {
            assert_eq!(
                request.body["cachedContent"],
                "cachedContents/weather-prefix"
            );
        }
        server.assert_ok();
    }
}

#[tokio::test]
async fn parallel_calls_get_distinct_stable_ids_and_one_response_turn() {
    let server = MockServer::start().await;
    server.push(
        Reply::function_call("a", "get_weather", r#"{"city":"Paris"}"#).with_function_call(
            "b",
            "get_weather",
            r#"{"city":"Rome"}"#,
        ),
    );
    server.push(Reply::text("Both are 22C."));
    let result = Runner::run(&weather_agent(), "Paris and Rome?", options(&server))
        .await
        .expect("run");
    let items: Vec<Item> = result.new_items.iter().map(|i| i.item.clone()).collect();
    let calls: Vec<&str> = items
        .iter()
        .filter_map(Item::as_function_call)
        .map(|c| c.call_id.as_str())
        .collect();
    let outputs: Vec<&str> = items
        .iter()
        .filter_map(Item::as_function_call_output)
        .map(|o| o.call_id.as_str())
        .collect();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0], calls[1]);
    assert_eq!(calls, outputs, "outputs pair with the generated ids");
    let second = &server.requests()[1].body;
    let model_parts = parts(second, 1);
    assert_eq!(model_parts.len(), 2);
    assert!(model_parts[0].get("thoughtSignature").is_some());
    assert!(
        model_parts[1].get("thoughtSignature").is_none(),
        "only the first call is signed"
    );
    let responses = parts(second, 2);
    assert_eq!(responses.len(), 2);
    assert_eq!(
        responses[1]["functionResponse"]["response"]["output"],
        "22C in Rome"
    );
    server.assert_ok();
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Forecast {
    city: String,
    celsius: i32,
}

#[tokio::test]
async fn structured_output_uses_response_json_schema() {
    let server = MockServer::start().await;
    server.push(Reply::text(r#"{"city":"Oslo","celsius":3}"#));
    let agent = Agent::builder("Forecaster")
        .model("gemini-2.5-flash")
        .output_type::<Forecast>()
        .build();
    let result = Runner::run(&agent, "Forecast Oslo", options(&server))
        .await
        .expect("run");
    let forecast: Forecast = result
        .final_output
        .expect("output")
        .parse()
        .expect("parses");
    assert_eq!((forecast.city.as_str(), forecast.celsius), ("Oslo", 3));
    let body = &server.requests()[0].body;
    assert_eq!(
        body["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        body["generationConfig"]["responseJsonSchema"],
        OutputType::of::<Forecast>().schema().schema
    );
    server.assert_ok();
}

#[tokio::test]
async fn thought_signatures_are_replayed_byte_identical_across_a_tool_call() {
    for streamed in [false, true] {
        let server = MockServer::start().await;
        server.push(
            Reply::reasoning(
                Reasoning::new()
                    .summary("Need the weather.")
                    .encrypted_content("sig-A\u{1}bytes"),
            )
            .with_function_call("x", "get_weather", r#"{"city":"Oslo"}"#)
            .chunked(5),
        );
        server.push(Reply::text("22C."));
        let agent = weather_agent();
        let result = if streamed {
            let mut run = Runner::run_streamed(&agent, "Oslo?", options(&server));
            while run.next().await.is_some() {}
            run.result().await
        } else {
            Runner::run(&agent, "Oslo?", options(&server)).await
        }
        .expect("run");
        assert_eq!(result.final_output.expect("output").to_text(), "22C.");
        let requests = server.requests();
        let replayed = parts(&requests[1].body, 1);
        // The signature the mock issued: base64 of the scripted bytes.
        let issued = "c2lnLUEBYnl0ZXM=";
        assert_eq!(
            replayed[0],
            json!({"text": "Need the weather.", "thought": true})
        );
        assert_eq!(
            replayed[1]["thoughtSignature"], issued,
            "streamed={streamed}"
        );
        assert_eq!(replayed[1]["functionCall"]["name"], "get_weather");
        server.assert_ok();
    }
}

#[tokio::test]
async fn a_changed_or_missing_signature_is_refused_by_the_mock() {
    let server = MockServer::start().await;
    server.push(
        Reply::reasoning(Reasoning::new().encrypted_content("sig-B")).with_function_call(
            "x",
            "get_weather",
            r#"{"city":"Rome"}"#,
        ),
    );
    let model = provider(&server).model("gemini-3-pro-preview");
    let input = [Item::user("Rome?")];
    let settings = ModelSettings::new();
    let first = model
        .get_response(ModelRequest::new(&input, &settings))
        .await
        .expect("first");
    let mut history = vec![Item::user("Rome?")];
    history.extend(first.output);
    // Tamper with the stored signature.
    if let Some(Item::FunctionCall(c)) = history.last_mut() {
        c.extra.insert(
            "provider_data",
            json!({"provider": "gemini", "thought_signature": "dGFtcGVyZWQ="}),
        );
    }
    history.push(Item::function_call_output(
        history[1].as_function_call().expect("call").call_id.clone(),
        "22C",
    ));
    let err = model
        .get_response(ModelRequest::new(&history, &settings))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, ModelError::Http { status: 400, message, .. } if message.contains("corrupted thought signature")),
        "{err}"
    );
    assert!(server.verify().is_err(), "the mock recorded the bad body");
}

#[tokio::test]
async fn safety_stops_and_blocked_prompts_are_typed_refusals() {
    for reply in [
        Reply::new().gemini_finish_reason("SAFETY"),
        Reply::gemini_prompt_blocked("PROHIBITED_CONTENT"),
    ] {
        for streamed in [false, true] {
            let server = MockServer::start().await;
            server.push(reply.clone());
            let agent = Agent::builder("A").model("gemini-2.5-flash").build();
            let result = if streamed {
                let mut run = Runner::run_streamed(&agent, "something bad", options(&server));
                while run.next().await.is_some() {}
                run.result().await
            } else {
                Runner::run(&agent, "something bad", options(&server)).await
            };
            let err = result.expect_err("refused");
            assert!(
                matches!(&err.error, Error::ModelRefusal { refusal } if refusal.contains("SAFETY") || refusal.contains("PROHIBITED_CONTENT")),
                "{err}"
            );
            server.assert_ok();
        }
    }
    let server = MockServer::start().await;
    server.push(
        Reply::function_call("c", "get_weather", "{}")
            .gemini_finish_reason("MALFORMED_FUNCTION_CALL"),
    );
    let err = Runner::run(&weather_agent(), "x", options(&server))
        .await
        .expect_err("fails");
    assert!(
        matches!(&err.error, Error::Model(ModelError::InvalidResponse(m)) if m.contains("MALFORMED_FUNCTION_CALL")),
        "{err}"
    );
}

fn fast_retry(n: u32) -> RetrySettings {
    RetrySettings::new(n).with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

async fn call(
    server: &MockServer,
    settings: &ModelSettings,
    stream: bool,
) -> Result<String, ModelError> {
    let model = provider(server).get_model(Some("gemini-2.5-flash"))?;
    let input = [Item::user("Hi")];
    let request = ModelRequest::new(&input, settings);
    if !stream {
        let r = model.get_response(request).await?;
        return Ok(r
            .output
            .iter()
            .filter_map(Item::as_message)
            .map(|m| m.text())
            .collect());
    }
    let mut events = model.stream_response(request);
    while let Some(event) = events.next().await {
        if let ModelStreamEvent::Completed(r) = event? {
            return Ok(r
                .output
                .iter()
                .filter_map(Item::as_message)
                .map(|m| m.text())
                .collect());
        }
    }
    Err(ModelError::Stream("no completed event".into()))
}

#[tokio::test]
async fn every_fault_with_retries_on_and_off() {
    for stream in [false, true] {
        // 429 with Retry-After and 500/503: typed errors without retries, retried with them.
        for status in [429u16, 500, 503] {
            let server = MockServer::start().await;
            server.push(Reply::status(status).retry_after(Duration::from_millis(30)));
            let err = call(&server, &ModelSettings::new(), stream)
                .await
                .expect_err("fails");
            match err {
                ModelError::Http {
                    status: s,
                    retry_after,
                    message,
                    ..
                } => {
                    assert_eq!(s, status);
                    assert_eq!(retry_after, Some(Duration::from_millis(30)));
                    assert!(!message.is_empty());
                }
                other => panic!("{other:?}"),
            }
            server.push(Reply::status(status).retry_after(Duration::from_millis(30)));
            server.push(Reply::text("ok after retry"));
            let settings = ModelSettings::new().retry(fast_retry(2));
            assert_eq!(
                call(&server, &settings, stream).await.expect("retried"),
                "ok after retry"
            );
            assert_eq!(server.received_count(), 3);
        }
        // 400 is never retried.
        let server = MockServer::start().await;
        server.push(Reply::status(400));
        let err = call(&server, &ModelSettings::new().retry(fast_retry(3)), stream).await;
        assert!(matches!(err, Err(ModelError::Http { status: 400, .. })));
        assert_eq!(server.received_count(), 1);

        // Invalid JSON and malformed events: invalid responses, not retried.
        for fault in [Fault::InvalidJsonBody, Fault::MalformedEvent] {
            for retry in [None, Some(fast_retry(2))] {
                let server = MockServer::start().await;
                server.push(Reply::text_deltas(["a", "b", "c"]).with_fault(fault));
                let mut settings = ModelSettings::new();
                settings.retry = retry.clone();
                let err = call(&server, &settings, stream).await.expect_err("fails");
                assert!(
                    matches!(err, ModelError::InvalidResponse(_)),
                    "{fault:?} {err:?}"
                );
                assert_eq!(server.received_count(), 1, "{fault:?}: not retried");
            }
        }

        // A truncated body: a stream error (streams) or invalid JSON; never retried.
        for retry in [None, Some(fast_retry(2))] {
            let server = MockServer::start().await;
            server.push(Reply::truncated_sse());
            let mut settings = ModelSettings::new();
            settings.retry = retry;
            let err = call(&server, &settings, stream).await.expect_err("fails");
            if stream {
                assert!(
                    matches!(&err, ModelError::Stream(m) if m.contains("finish reason")),
                    "{err:?}"
                );
            } else {
                assert!(matches!(err, ModelError::InvalidResponse(_)), "{err:?}");
            }
            assert_eq!(server.received_count(), 1);
        }

        // A disconnect: after streamed output an error that is never retried; a broken JSON
        // body is a connection error that the policy retries.
        for retry in [None, Some(fast_retry(2))] {
            let server = MockServer::start().await;
            server.push(Reply::disconnect_mid_stream());
            server.push(Reply::text("second"));
            let mut settings = ModelSettings::new();
            settings.retry = retry.clone();
            let result = call(&server, &settings, stream).await;
            match (stream, retry.is_some()) {
                (true, _) => {
                    assert!(
                        matches!(
                            result,
                            Err(ModelError::Stream(_)) | Err(ModelError::Connection(_))
                        ),
                        "{result:?}"
                    );
                    assert_eq!(server.received_count(), 1, "never retried after output");
                }
                (false, false) => assert!(
                    matches!(result, Err(ModelError::Connection(_))),
                    "{result:?}"
                ),
                (false, true) => assert_eq!(result.expect("retried"), "second"),
            }
        }

        // Stalls: a per-attempt timeout, retried when allowed.
        let server = MockServer::start().await;
        server.push(Reply::stall_before_headers(Duration::from_millis(400)));
        let settings = ModelSettings::new().timeout(Duration::from_millis(80));
        assert!(matches!(
            call(&server, &settings, stream).await,
            Err(ModelError::Timeout(_))
        ));
        server.push(Reply::stall_before_headers(Duration::from_millis(400)));
        server.push(Reply::text("in time"));
        let settings = settings.retry(fast_retry(1));
        assert_eq!(
            call(&server, &settings, stream).await.expect("retried"),
            "in time"
        );

        let server = MockServer::start().await;
        server.push(Reply::stall_mid_stream(Duration::from_millis(400)));
        let settings = ModelSettings::new()
            .timeout(Duration::from_millis(80))
            .retry(fast_retry(2));
        let result = call(&server, &settings, stream).await;
        if stream {
            assert!(matches!(result, Err(ModelError::Timeout(_))), "{result:?}");
            assert_eq!(server.received_count(), 1, "no retry after output");
        } else {
            assert!(result.is_err());
        }
        let _ = server.verify();
    }
}
