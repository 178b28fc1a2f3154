//! Every fault of the mock, with retries on and off, JSON and streaming: 429 and 529 honour
//! `retry-after`, 5xx and broken connections before any output are retried, nothing is
//! retried once a stream has yielded output, and every failure is a typed error.

use std::time::{Duration, Instant};

use agents_core::{
    Item, Model, ModelError, ModelRequest, ModelResponse, ModelSettings, ModelStreamEvent,
    RetrySettings,
};
use agents_model_anthropic::{AnthropicModel, AnthropicProvider};
use agents_testkit::{MockServer, Reply};
use futures::StreamExt;

fn model(server: &MockServer) -> AnthropicModel {
    AnthropicProvider::builder()
        .api_key("sk-ant-faults")
        .base_url(server.base_url())
        .ignore_env()
        .build()
        .model("claude-sonnet-4-5")
}

fn settings(retry: bool) -> ModelSettings {
    let mut s = ModelSettings::new().timeout(Duration::from_millis(1000));
    if retry {
        s = s.retry(
            RetrySettings::new(2).with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        );
    }
    s
}

/// The result of one call, and whether a stream yielded output before failing.
async fn call(
    server: &MockServer,
    retry: bool,
    stream: bool,
) -> (Result<ModelResponse, ModelError>, bool) {
    let model = model(server);
    let input = [Item::user("Hi")];
    let settings = settings(retry);
    let request = ModelRequest::new(&input, &settings);
    if !stream {
        return (model.get_response(request).await, false);
    }
    let mut events = model.stream_response(request);
    let mut yielded = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(ModelStreamEvent::Completed(r)) => return (Ok(r), yielded),
            Ok(ModelStreamEvent::OutputTextDelta { .. }) => yielded = true,
            Ok(_) => {}
            Err(e) => return (Err(e), yielded),
        }
    }
    (Err(ModelError::Stream("no Completed".into())), yielded)
}

/// Starts the official-SDK validator before any timed call (its first start imports the
/// package, which takes seconds on a loaded machine).
async fn warm() {
    let _ = tokio::task::spawn_blocking(|| {
        agents_testkit::pyvalidate::validate("anthropic.ready", &serde_json::Value::Null)
    })
    .await;
}

fn text(r: &ModelResponse) -> String {
    r.output
        .iter()
        .filter_map(Item::as_message)
        .map(|m| m.text())
        .collect()
}

#[tokio::test]
async fn retryable_statuses_honour_retry_after_and_are_typed_without_retry() {
    warm().await;
    for stream in [false, true] {
        for (status, reply) in [
            (
                429,
                Reply::status(429).retry_after(Duration::from_millis(300)),
            ),
            (
                529,
                Reply::overloaded().retry_after(Duration::from_millis(300)),
            ),
            (500, Reply::status(500)),
        ] {
            // Retry on: the hint (300 ms) is honoured, then the second reply answers.
            let server = MockServer::start().await;
            server.push_all([reply.clone(), Reply::text("recovered")]);
            let started = Instant::now();
            let (result, _) = call(&server, true, stream).await;
            let response = result.unwrap_or_else(|e| panic!("{status} stream={stream}: {e}"));
            assert_eq!(text(&response), "recovered");
            assert_eq!(server.received_count(), 2);
            if status != 500 {
                assert!(
                    started.elapsed() >= Duration::from_millis(290),
                    "{status}: retry-after honoured"
                );
            }
            server.assert_ok();

            // Retry off: the typed error, with the hint and the Anthropic error type.
            let server = MockServer::start().await;
            server.push(reply);
            let (result, _) = call(&server, false, stream).await;
            match result.expect_err("fails") {
                ModelError::Http {
                    status: s,
                    retry_after,
                    message,
                    request_id,
                    ..
                } => {
                    assert_eq!(s, status);
                    assert_eq!(request_id.as_deref(), Some("req_mock_1"));
                    if status == 529 {
                        assert!(message.contains("overloaded_error"), "{message}");
                    }
                    if status != 500 {
                        assert_eq!(retry_after, Some(Duration::from_millis(300)));
                    }
                }
                other => panic!("{status}: {other:?}"),
            }
            assert_eq!(server.received_count(), 1);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn transport_faults_with_retry_on_and_off() {
    warm().await;
    for stream in [false, true] {
        for retry in [false, true] {
            // A disconnect: before output it is retried (JSON); a stream that already yielded
            // text is never retried.
            let server = MockServer::start().await;
            server.push_all([Reply::disconnect_mid_stream(), Reply::text("again")]);
            let (result, yielded) = call(&server, retry, stream).await;
            if stream {
                assert!(yielded);
                assert!(matches!(result, Err(ModelError::Stream(_))), "{result:?}");
                assert_eq!(server.received_count(), 1, "no retry after output");
                assert_eq!(server.pending_replies(), 1);
            } else if retry {
                assert_eq!(text(&result.expect("retried")), "again");
                assert_eq!(server.received_count(), 2);
            } else {
                assert!(
                    matches!(result, Err(ModelError::Connection(_))),
                    "{result:?}"
                );
            }
            server.verify().ok();

            // A clean but early end: a stream without message_stop, a cut JSON body.
            let server = MockServer::start().await;
            server.push(Reply::truncated_sse());
            let (result, _) = call(&server, retry, stream).await;
            match result {
                Err(ModelError::Stream(m)) if stream => assert!(m.contains("message_stop"), "{m}"),
                Err(ModelError::InvalidResponse(_)) if !stream => {}
                other => panic!("truncated stream={stream}: {other:?}"),
            }
            assert_eq!(server.received_count(), 1, "not retryable");
            server.assert_ok();

            // A malformed event or body.
            for reply in [Reply::malformed_event(), Reply::invalid_json_body()] {
                let server = MockServer::start().await;
                server.push(reply);
                let (result, _) = call(&server, retry, stream).await;
                assert!(
                    matches!(result, Err(ModelError::InvalidResponse(_))),
                    "{result:?}"
                );
                assert_eq!(server.received_count(), 1);
                server.assert_ok();
            }

            // A stall before the headers: the per-attempt timeout, retried when asked.
            let server = MockServer::start().await;
            server.push_all([
                Reply::stall_before_headers(Duration::from_millis(2500)),
                Reply::text("fast"),
            ]);
            let (result, _) = call(&server, retry, stream).await;
            if retry {
                assert_eq!(text(&result.expect("retried")), "fast");
            } else {
                assert!(matches!(result, Err(ModelError::Timeout(_))), "{result:?}");
            }
            server.verify().ok();

            // A stall in the middle of the body: an idle timeout. A JSON call has yielded
            // nothing, so it is retried when asked; a stream that yielded text is not.
            let server = MockServer::start().await;
            server.push_all([
                Reply::stall_mid_stream(Duration::from_millis(2500)),
                Reply::text("x"),
            ]);
            let (result, yielded) = call(&server, retry, stream).await;
            if retry && !stream {
                assert_eq!(text(&result.expect("retried")), "x");
            } else {
                assert!(
                    matches!(result, Err(ModelError::Timeout(_))),
                    "stream={stream} retry={retry}: {result:?}"
                );
                assert_eq!(yielded, stream);
                assert_eq!(server.received_count(), 1);
            }
            server.verify().ok();
        }
    }
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_typed_stream_error() {
    use std::io::{Read, Write};
    // A raw server: headers, one text delta, then an `error` event (as Anthropic sends
    // `overloaded_error` mid-stream), then the connection closes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            let mut buf = [0u8; 65536];
            let _ = socket.read(&mut buf);
            let events = concat!(
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
                "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
            );
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_raw\r\ncontent-length: {}\r\n\r\n",
                events.len()
            );
            let _ = socket.write_all(head.as_bytes());
            let _ = socket.write_all(events.as_bytes());
        }
    });
    let model = AnthropicProvider::builder()
        .api_key("k")
        .base_url(format!("http://{addr}"))
        .ignore_env()
        .build()
        .model("m");
    let input = [Item::user("Hi")];
    let settings = settings(true);
    let mut events = model.stream_response(ModelRequest::new(&input, &settings));
    let mut error = None;
    while let Some(event) = events.next().await {
        if let Err(e) = event {
            error = Some(e);
            break;
        }
    }
    match error.expect("an error") {
        ModelError::Stream(m) => assert!(
            m.contains("overloaded_error") && m.contains("Overloaded"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}
