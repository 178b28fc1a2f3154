//! Every fault of the mock server, with the retry policy on and off, on both
//! APIs, JSON and streaming.

mod common;

use std::time::{Duration, Instant};

use agents_core::{Item, ModelError, ModelRequest, ModelSettings, ModelStreamEvent, RetrySettings};
use agents_model_openai::OpenAIApi;
use agents_testkit::{MockServer, Reply};
use common::*;

/// Runs one call, streaming or not; a stream's error comes with the events
/// yielded before it.
async fn call(
    server: &MockServer,
    api: OpenAIApi,
    settings: &ModelSettings,
    stream: bool,
) -> (Vec<ModelStreamEvent>, Result<String, ModelError>) {
    let model = model(server, api);
    let input = [Item::user("Hi")];
    let request = ModelRequest::new(&input, settings);
    if stream {
        let (events, error) = drain(model.stream_response(request)).await;
        let result = match error {
            Some(e) => Err(e),
            None => match events.last() {
                Some(ModelStreamEvent::Completed(r)) => Ok(message_text(&r.output)),
                other => panic!("stream ended without Completed: {other:?}"),
            },
        };
        (events, result)
    } else {
        let result = model
            .get_response(request)
            .await
            .map(|r| message_text(&r.output));
        (Vec::new(), result)
    }
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_once_then_succeeds() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::status(429).retry_after(Duration::from_millis(120)));
            server.push(Reply::text("ok after 429"));
            // A long backoff shows that the server's hint, not the backoff, sets the delay.
            let settings = ModelSettings::new().retry(
                RetrySettings::new(3)
                    .with_backoff(Duration::from_secs(30), Duration::from_secs(30)),
            );
            let started = Instant::now();
            let (_, result) = call(&server, api, &settings, stream).await;
            let elapsed = started.elapsed();
            assert_eq!(
                result.expect("retried"),
                "ok after 429",
                "{api:?} stream={stream}"
            );
            assert_eq!(server.received_count(), 2, "one retry");
            assert!(
                elapsed >= Duration::from_millis(120),
                "waited the hint: {elapsed:?}"
            );
            assert!(
                elapsed < Duration::from_secs(10),
                "did not wait the backoff: {elapsed:?}"
            );
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn rate_limit_without_retry_policy_is_a_typed_error_with_everything() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::status(429).retry_after(Duration::from_millis(1500)));
            let (events, result) = call(&server, api, &ModelSettings::new(), stream).await;
            assert!(events.is_empty());
            match result {
                Err(ModelError::Http {
                    status,
                    message,
                    request_id,
                    body,
                    retry_after,
                }) => {
                    assert_eq!(status, 429);
                    assert!(message.contains("Rate limit reached"), "{message}");
                    assert!(message.contains("rate_limit_exceeded"), "{message}");
                    assert_eq!(request_id.as_deref(), Some("req_mock_1"));
                    assert!(body
                        .expect("raw body")
                        .contains("\"code\":\"rate_limit_exceeded\""));
                    assert_eq!(retry_after, Some(Duration::from_millis(1500)));
                }
                other => panic!("{api:?} stream={stream}: {other:?}"),
            }
            assert_eq!(server.received_count(), 1, "no silent retry");
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn server_errors_without_retry_policy_are_returned_at_once() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::status(503));
            server.push(Reply::text("never served"));
            let (_, result) = call(&server, api, &ModelSettings::new(), stream).await;
            assert!(
                matches!(
                    &result,
                    Err(ModelError::Http {
                        status: 503,
                        retry_after: None,
                        ..
                    })
                ),
                "{api:?} stream={stream}: {result:?}"
            );
            assert_eq!(server.received_count(), 1);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn server_errors_exhaust_the_retries_and_report_the_last_status() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::status(500));
            server.push(Reply::status(500).error_message("still broken"));
            let settings = ModelSettings::new().retry(fast_retry(1));
            let (_, result) = call(&server, api, &settings, stream).await;
            match result {
                Err(ModelError::Http {
                    status: 500,
                    message,
                    request_id,
                    ..
                }) => {
                    assert!(message.contains("still broken"), "{message}");
                    assert_eq!(request_id.as_deref(), Some("req_mock_2"));
                }
                other => panic!("{api:?} stream={stream}: {other:?}"),
            }
            assert_eq!(server.received_count(), 2, "first try + one retry");
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(
            Reply::status(400)
                .error_message("bad things")
                .error_param("input"),
        );
        server.push(Reply::text("never served"));
        let settings = ModelSettings::new().retry(fast_retry(3));
        let (_, result) = call(&server, api, &settings, false).await;
        assert!(
            matches!(&result, Err(ModelError::Http { status: 400, message, .. }) if message.contains("bad things")),
            "{result:?}"
        );
        assert_eq!(server.received_count(), 1);
        assert_eq!(server.pending_replies(), 1);
        server.assert_ok();
    }
}

#[tokio::test]
async fn disconnect_mid_stream_after_output_is_an_error_and_never_retried() {
    for api in APIS {
        for retry in [None, Some(fast_retry(3))] {
            let server = MockServer::start().await;
            server.push(Reply::disconnect_mid_stream());
            server.push(Reply::text("must not be requested"));
            let mut settings = ModelSettings::new();
            settings.retry = retry.clone();
            let (events, result) = call(&server, api, &settings, true).await;
            assert!(
                !text_deltas(&events).is_empty(),
                "{api:?}: output came first"
            );
            assert!(
                matches!(&result, Err(ModelError::Stream(m)) if m.contains("connection broke")),
                "{api:?} retry={retry:?}: {result:?}"
            );
            assert_eq!(server.received_count(), 1, "{api:?}: no retry after output");
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn disconnect_of_a_json_body_is_a_connection_error_that_may_be_retried() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(Reply::disconnect_mid_stream());
        let (_, result) = call(&server, api, &ModelSettings::new(), false).await;
        assert!(
            matches!(result, Err(ModelError::Connection(_))),
            "{api:?}: {result:?}"
        );

        server.push(Reply::disconnect_mid_stream());
        server.push(Reply::text("second try"));
        let settings = ModelSettings::new().retry(fast_retry(1));
        let (_, result) = call(&server, api, &settings, false).await;
        assert_eq!(result.expect("retried"), "second try");
        assert_eq!(server.received_count(), 3);
        server.assert_ok();
    }
}

#[tokio::test]
async fn truncated_stream_is_a_stream_error() {
    for api in APIS {
        for retry in [None, Some(fast_retry(2))] {
            let server = MockServer::start().await;
            server.push(Reply::truncated_sse());
            let mut settings = ModelSettings::new();
            settings.retry = retry;
            let (events, result) = call(&server, api, &settings, true).await;
            assert_eq!(
                text_deltas(&events).concat(),
                "This answer is cut short here."
            );
            assert!(
                matches!(result, Err(ModelError::Stream(_))),
                "{api:?}: {result:?}"
            );
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, ModelStreamEvent::Completed(_))),
                "no Completed for a truncated stream"
            );
            assert_eq!(server.received_count(), 1);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn truncated_json_body_is_an_invalid_response() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(Reply::truncated_sse());
        let settings = ModelSettings::new().retry(fast_retry(2));
        let (_, result) = call(&server, api, &settings, false).await;
        assert!(
            matches!(result, Err(ModelError::InvalidResponse(_))),
            "{api:?}: {result:?}"
        );
        assert_eq!(server.received_count(), 1, "not retryable");
        server.assert_ok();
    }
}

/// Documented choice: a `data:` line that is not JSON fails the stream with
/// `ModelError::InvalidResponse` after the events before it; never retried.
#[tokio::test]
async fn malformed_event_is_an_invalid_response_error() {
    for api in APIS {
        for stream in [false, true] {
            for retry in [None, Some(fast_retry(2))] {
                let server = MockServer::start().await;
                server.push(Reply::malformed_event());
                let mut settings = ModelSettings::new();
                settings.retry = retry;
                let (events, result) = call(&server, api, &settings, stream).await;
                match result {
                    Err(ModelError::InvalidResponse(message)) => assert!(!message.is_empty()),
                    other => panic!("{api:?} stream={stream}: {other:?}"),
                }
                if stream {
                    assert_eq!(
                        text_deltas(&events),
                        ["This "],
                        "{api:?}: the delta before the bad line"
                    );
                }
                assert_eq!(server.received_count(), 1, "not retried");
                server.assert_ok();
            }
        }
    }
}

#[tokio::test]
async fn invalid_json_body_is_an_invalid_response() {
    for api in APIS {
        for stream in [false, true] {
            for retry in [None, Some(fast_retry(2))] {
                let server = MockServer::start().await;
                server.push(Reply::invalid_json_body());
                let mut settings = ModelSettings::new();
                settings.retry = retry;
                let (events, result) = call(&server, api, &settings, stream).await;
                assert!(events.is_empty());
                assert!(
                    matches!(result, Err(ModelError::InvalidResponse(_))),
                    "{api:?} stream={stream}: {result:?}"
                );
                assert_eq!(server.received_count(), 1, "not retried");
                server.assert_ok();
            }
        }
    }
}

#[tokio::test]
async fn stall_before_headers_times_out_per_attempt() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::stall(Duration::from_secs(30)));
            let settings = ModelSettings::new().timeout(Duration::from_millis(200));
            let started = Instant::now();
            let (_, result) = call(&server, api, &settings, stream).await;
            assert!(
                matches!(result, Err(ModelError::Timeout(t)) if t == Duration::from_millis(200)),
                "{api:?} stream={stream}: {result:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(5));
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_when_the_policy_allows() {
    for api in APIS {
        for stream in [false, true] {
            let server = MockServer::start().await;
            server.push(Reply::stall(Duration::from_secs(30)));
            server.push(Reply::text("fast now"));
            let settings = ModelSettings::new()
                .timeout(Duration::from_millis(200))
                .retry(fast_retry(1));
            let (_, result) = call(&server, api, &settings, stream).await;
            assert_eq!(
                result.expect("second attempt"),
                "fast now",
                "{api:?} stream={stream}"
            );
            assert_eq!(server.received_count(), 2);
            server.assert_ok();
        }
    }
}

#[tokio::test]
async fn stall_mid_stream_times_out_after_output_without_retry() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(Reply::stall_mid_stream(Duration::from_secs(30)));
        server.push(Reply::text("must not be requested"));
        let settings = ModelSettings::new()
            .timeout(Duration::from_millis(300))
            .retry(fast_retry(2));
        let (events, result) = call(&server, api, &settings, true).await;
        assert_eq!(text_deltas(&events), ["This "], "{api:?}");
        assert!(
            matches!(result, Err(ModelError::Timeout(_))),
            "{api:?}: {result:?}"
        );
        assert_eq!(server.received_count(), 1);
        server.assert_ok();
    }
}

#[tokio::test]
async fn a_short_stall_within_the_timeout_is_fine() {
    for api in APIS {
        let server = MockServer::start().await;
        server.push(Reply::stall_mid_stream(Duration::from_millis(50)));
        let settings = ModelSettings::new().timeout(Duration::from_secs(5));
        let (_, result) = call(&server, api, &settings, true).await;
        assert_eq!(result.expect("completes"), "This answer is cut short here.");
        server.assert_ok();
    }
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connection_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let provider = agents_model_openai::OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .ignore_env()
        .build();
    let model = provider.responses_model("gpt-4o");
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new().retry(fast_retry(1));
    let started = Instant::now();
    let err = agents_core::Model::get_response(&model, ModelRequest::new(&input, &settings))
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, ModelError::Connection(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() >= Duration::from_millis(7),
        "one backoff was waited"
    );
    assert!(!format!("{err:?}").contains(KEY));
}

/// Retry hints no sane server sends, as (header, value, reported hint).
/// Huge and infinite hints are clamped to one day; NaN, negative and
/// non-numeric hints are ignored.
const HOSTILE_RETRY_AFTER: [(&str, &str, Option<Duration>); 9] = [
    ("retry-after", "1e20", Some(ONE_DAY)),
    ("retry-after-ms", "1e30", Some(ONE_DAY)),
    ("retry-after", "inf", Some(ONE_DAY)),
    ("retry-after-ms", "infinity", Some(ONE_DAY)),
    ("retry-after", "99999999999999999999999999", Some(ONE_DAY)),
    ("retry-after", "NaN", None),
    ("retry-after-ms", "-NaN", None),
    ("retry-after", "-5", None),
    ("retry-after-ms", "-1e308", None),
];
const ONE_DAY: Duration = Duration::from_secs(86_400);

#[tokio::test]
async fn hostile_retry_after_headers_never_panic_with_retries_off() {
    for (header, value, reported) in HOSTILE_RETRY_AFTER {
        for api in APIS {
            for stream in [false, true] {
                let server = MockServer::start().await;
                server.push(Reply::status(429).header(header, value));
                let (events, result) = call(&server, api, &ModelSettings::new(), stream).await;
                assert!(events.is_empty());
                match result {
                    Err(ModelError::Http {
                        status: 429,
                        retry_after,
                        ..
                    }) => assert_eq!(retry_after, reported, "{header}: {value}"),
                    other => panic!("{header}: {value}, {api:?} stream={stream}: {other:?}"),
                }
                assert_eq!(server.received_count(), 1);
                server.assert_ok();
            }
        }
    }
}

#[tokio::test]
async fn hostile_retry_after_headers_fall_back_to_the_backoff_with_retries_on() {
    for (header, value, _) in HOSTILE_RETRY_AFTER {
        for api in APIS {
            for stream in [false, true] {
                let server = MockServer::start().await;
                server.push(Reply::status(429).header(header, value));
                server.push(Reply::text("ok after a hostile hint"));
                let settings = ModelSettings::new().retry(fast_retry(2));
                let started = Instant::now();
                let (_, result) = call(&server, api, &settings, stream).await;
                assert_eq!(
                    result.expect("retried"),
                    "ok after a hostile hint",
                    "{header}: {value}, {api:?} stream={stream}"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "{header}: {value}: waited the backoff (10 ms), not the hint: {:?}",
                    started.elapsed()
                );
                assert_eq!(server.received_count(), 2);
                server.assert_ok();
            }
        }
    }
}
