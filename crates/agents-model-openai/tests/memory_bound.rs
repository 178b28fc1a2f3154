//! With 1 MiB limits and with the default ones, a server streaming 100 MB (an endless SSE line,
//! an endless JSON body, an endless error body) cannot make the client
//! buffer it: the call fails with a typed error after reading about the
//! limit, and the process's peak RSS grows by far less than 100 MB.
//!
//! This binary holds a single test, so that no other test allocates in the
//! same process while the peak is measured.

mod common;
mod raw_http;

use std::time::Duration;

use agents_core::{Item, ModelError, ModelProvider, ModelRequest, ModelSettings};
use agents_model_openai::{OpenAIApi, OpenAIProvider, ResponseLimits};
use common::{drain, KEY};
use raw_http::{peak_rss, Behaviour, RawServer};

const MIB: u64 = 1024 * 1024;
const HUNDRED_MB: u64 = 100_000_000;

async fn call(server: &RawServer, stream: bool, limits: Option<ResponseLimits>) -> ModelError {
    let mut builder = OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .api(OpenAIApi::Responses)
        .default_model("gpt-4o")
        .ignore_env();
    if let Some(limits) = limits {
        builder = builder.response_limits(limits);
    }
    let provider = builder.build();
    assert_eq!(
        provider.client().response_limits(),
        limits.unwrap_or_default()
    );
    let model = provider.get_model(None).expect("model");
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let request = ModelRequest::new(&input, &settings);
    let call = async {
        if stream {
            drain(model.stream_response(request))
                .await
                .1
                .expect("the stream fails")
        } else {
            model
                .get_response(request)
                .await
                .expect_err("the call fails")
        }
    };
    tokio::time::timeout(Duration::from_secs(120), call)
        .await
        .expect("the client gives up instead of reading forever")
}

/// Runs the three 100 MB scenarios with `limits` (the defaults for `None`).
async fn endless_streams(limits: Option<ResponseLimits>) {
    let limit = limits.unwrap_or_default().max_body_bytes as u64;
    let scenarios: [(&str, Behaviour, bool, Option<&str>); 3] = [
        (
            "endless SSE line",
            Behaviour::Endless {
                status: "200 OK",
                content_type: "text/event-stream",
                prefix: b"data: {\"type\":\"response.output_text.delta\",\"delta\":\"".to_vec(),
                filler: vec![b'x'; 64 * 1024],
                total: HUNDRED_MB,
            },
            true,
            Some("max_sse_line_bytes"),
        ),
        (
            "endless JSON body",
            Behaviour::Endless {
                status: "200 OK",
                content_type: "application/json",
                prefix: b"{\"id\":\"".to_vec(),
                filler: vec![b'a'; 64 * 1024],
                total: HUNDRED_MB,
            },
            false,
            Some("max_body_bytes"),
        ),
        (
            "endless error body",
            Behaviour::Endless {
                status: "503 Service Unavailable",
                content_type: "application/json",
                prefix: b"{\"error\":{\"message\":\"".to_vec(),
                filler: vec![b'e'; 64 * 1024],
                total: HUNDRED_MB,
            },
            true,
            None,
        ),
    ];
    for (what, behaviour, stream, expected_limit) in scenarios {
        let server = RawServer::start(behaviour).await;
        let error = call(&server, stream, limits).await;
        match (&error, expected_limit) {
            (
                ModelError::ResponseTooLarge {
                    limit: name,
                    max_bytes,
                },
                Some(expected),
            ) => {
                assert_eq!(name, expected, "{what}");
                assert_eq!(*max_bytes as u64, limit, "{what}");
            }
            (
                ModelError::Http {
                    status: 503,
                    body: Some(body),
                    ..
                },
                None,
            ) => {
                assert_eq!(body.len(), 64 * 1024, "{what}");
            }
            _ => panic!("{what}: {error:?}"),
        }
        let written = server.body_bytes_written();
        eprintln!(
            "{what}: the server wrote {} KiB before the client stopped",
            written / 1024
        );
        assert!(
            written < limit + 32 * MIB,
            "{what}: the client read on: {written} bytes written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_stream_keeps_memory_bounded_by_the_limits() {
    let Some(start) = peak_rss() else {
        eprintln!("note: /proc/self/status has no VmHWM here; memory is not measured");
        return;
    };
    let growth_since = |before: u64, what: &str| {
        let after = peak_rss().expect("VmHWM");
        let growth = after.saturating_sub(before);
        eprintln!(
            "{what}: peak RSS {} MiB before, {} MiB after, growth {} MiB",
            before / MIB,
            after / MIB,
            growth / MIB
        );
        (after, growth)
    };
    // 1 MiB limits: the peak hardly moves.
    let small = ResponseLimits::default()
        .with_max_sse_line_bytes(MIB as usize)
        .with_max_sse_event_bytes(MIB as usize)
        .with_max_body_bytes(MIB as usize);
    endless_streams(Some(small)).await;
    let (after_small, growth) = growth_since(start, "1 MiB limits");
    assert!(
        growth < 16 * MIB,
        "peak RSS grew by {} MiB with 1 MiB limits",
        growth / MIB
    );
    // The default 16 MiB limits: the peak follows the limit, not the 100 MB.
    endless_streams(None).await;
    let (_, growth) = growth_since(after_small, "default limits");
    assert!(
        growth < 40 * MIB,
        "peak RSS grew by {} MiB with the default limits while reading 100 MB streams",
        growth / MIB
    );
}
