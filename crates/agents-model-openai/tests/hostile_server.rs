//! A broken or hostile server on 127.0.0.1: it echoes credentials into its
//! error bodies, streams lines, events or bodies that never end, or is
//! configured with header values HTTP forbids. The client must fail with a
//! typed error, never panic, never buffer without bound, and never show a
//! credential.

mod common;
mod raw_http;

use std::collections::BTreeMap;
use std::time::Duration;

use agents_core::{Item, ModelError, ModelProvider, ModelRequest, ModelSettings};
use agents_model_openai::{OpenAIApi, OpenAIProvider, ResponseLimits};
use common::{drain, APIS, KEY};
use raw_http::{Behaviour, RawServer};

const MIB: usize = 1024 * 1024;
/// What a hostile server is willing to send: 100 MB.
const HUNDRED_MB: u64 = 100_000_000;
/// Socket buffers on both sides of a loopback connection, plus the HTTP
/// client's own read buffer: what may be in flight when the client stops.
const IN_FLIGHT: u64 = 32 * MIB as u64;

fn provider(base_url: &str, api: OpenAIApi, limits: ResponseLimits) -> OpenAIProvider {
    OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(base_url)
        .api(api)
        .default_model("gpt-4o")
        .response_limits(limits)
        .ignore_env()
        .build()
}

/// One call, streamed or not; its error.
async fn fail(provider: &OpenAIProvider, settings: &ModelSettings, stream: bool) -> ModelError {
    let model = provider.get_model(None).expect("model");
    let input = [Item::user("Hi")];
    let request = ModelRequest::new(&input, settings);
    let call = async {
        if stream {
            let (_, error) = drain(model.stream_response(request)).await;
            error.expect("the stream fails")
        } else {
            model
                .get_response(request)
                .await
                .expect_err("the call fails")
        }
    };
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the client gives up instead of reading forever")
}

fn assert_too_large(error: &ModelError, name: &str, max: usize) {
    match error {
        ModelError::ResponseTooLarge { limit, max_bytes } => {
            assert_eq!(limit, name, "{error}");
            assert_eq!(*max_bytes, max, "{error}");
            assert!(error.to_string().contains(name), "{error}");
        }
        other => panic!("expected ResponseTooLarge({name}), got {other:?}"),
    }
}

fn small_limits() -> ResponseLimits {
    ResponseLimits::default()
        .with_max_sse_line_bytes(MIB)
        .with_max_sse_event_bytes(2 * MIB)
        .with_max_body_bytes(MIB)
}

#[tokio::test]
async fn an_endless_sse_line_stops_at_the_line_limit() {
    for api in APIS {
        let server = RawServer::start(Behaviour::Endless {
            status: "200 OK",
            content_type: "text/event-stream",
            prefix: b"data: {\"type\":\"response.output_text.delta\",\"delta\":\"".to_vec(),
            filler: vec![b'x'; 64 * 1024],
            total: HUNDRED_MB,
        })
        .await;
        let provider = provider(server.base_url(), api, small_limits());
        let error = fail(&provider, &ModelSettings::new(), true).await;
        assert_too_large(&error, "max_sse_line_bytes", MIB);
        let written = server.body_bytes_written();
        assert!(
            written < MIB as u64 + IN_FLIGHT,
            "{api:?}: the server wrote {written} bytes"
        );
        assert_eq!(server.connections(), 1, "not retried");
    }
}

#[tokio::test]
async fn an_endless_sse_event_stops_at_the_event_limit() {
    for api in APIS {
        let server = RawServer::start(Behaviour::Endless {
            status: "200 OK",
            content_type: "text/event-stream",
            prefix: Vec::new(),
            filler:
                b"data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                    .repeat(1024),
            total: HUNDRED_MB,
        })
        .await;
        let provider = provider(server.base_url(), api, small_limits());
        let error = fail(&provider, &ModelSettings::new(), true).await;
        assert_too_large(&error, "max_sse_event_bytes", 2 * MIB);
        let written = server.body_bytes_written();
        assert!(
            written < 2 * MIB as u64 + IN_FLIGHT,
            "{api:?}: the server wrote {written} bytes"
        );
    }
}

#[tokio::test]
async fn an_endless_json_body_stops_at_the_body_limit() {
    for api in APIS {
        // Non-streamed, and a stream request answered with JSON.
        for stream in [false, true] {
            let server = RawServer::start(Behaviour::Endless {
                status: "200 OK",
                content_type: "application/json",
                prefix: b"{\"id\":\"".to_vec(),
                filler: vec![b'a'; 64 * 1024],
                total: HUNDRED_MB,
            })
            .await;
            let provider = provider(server.base_url(), api, small_limits());
            let settings = ModelSettings::new().retry(common::fast_retry(3));
            let error = fail(&provider, &settings, stream).await;
            assert_too_large(&error, "max_body_bytes", MIB);
            let written = server.body_bytes_written();
            assert!(
                written < MIB as u64 + IN_FLIGHT,
                "{api:?} stream={stream}: the server wrote {written} bytes"
            );
            assert_eq!(server.connections(), 1, "a size error is not retried");
        }
    }
}

#[tokio::test]
async fn an_announced_oversized_body_is_refused_before_reading_it() {
    for stream in [false, true] {
        let server = RawServer::start(Behaviour::Announced {
            content_type: "application/json",
            filler: vec![b' '; 64 * 1024],
            length: HUNDRED_MB,
        })
        .await;
        let provider = provider(server.base_url(), OpenAIApi::Responses, small_limits());
        let error = fail(&provider, &ModelSettings::new(), stream).await;
        assert_too_large(&error, "max_body_bytes", MIB);
        assert!(server.body_bytes_written() < IN_FLIGHT);
    }
}

#[tokio::test]
async fn an_endless_error_body_is_cut_at_64_kib() {
    for stream in [false, true] {
        let server = RawServer::start(Behaviour::Endless {
            status: "500 Internal Server Error",
            content_type: "text/plain",
            prefix: b"upstream exploded: ".to_vec(),
            filler: vec![b'e'; 64 * 1024],
            total: HUNDRED_MB,
        })
        .await;
        let provider = provider(
            server.base_url(),
            OpenAIApi::ChatCompletions,
            small_limits(),
        );
        let error = fail(&provider, &ModelSettings::new(), stream).await;
        match &error {
            ModelError::Http {
                status: 500,
                message,
                body: Some(body),
                ..
            } => {
                assert_eq!(body.len(), 64 * 1024);
                assert!(body.starts_with("upstream exploded: eee"));
                assert!(message.len() <= 500, "{}", message.len());
            }
            other => panic!("{other:?}"),
        }
        assert!(server.body_bytes_written() < 64 * 1024 + IN_FLIGHT);
    }
}

#[tokio::test]
async fn a_401_that_echoes_the_request_headers_never_shows_a_credential() {
    let server = RawServer::start(Behaviour::EchoHeaders).await;
    let gateway = [
        ("api-key", "gateway-key-5e0c1a77"),
        ("x-api-key", "anthropic-style-key-93b2"),
        ("x-goog-api-key", "AIzaSy-google-style-key-77"),
        ("ocp-apim-subscription-key", "apim-subscription-0c4d"),
    ];
    let settings = ModelSettings::new().extra_headers(
        gateway
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    );
    for api in APIS {
        for stream in [false, true] {
            let provider = provider(server.base_url(), api, ResponseLimits::default());
            let error = fail(&provider, &settings, stream).await;
            let ModelError::Http {
                status,
                message,
                body,
                ..
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(*status, 401);
            // The echo happened: header names survive, values do not.
            let body = body.as_deref().expect("body");
            for name in ["authorization", "api-key", "x-goog-api-key", "content-type"] {
                assert!(body.contains(name), "{name} in {body}");
            }
            assert!(message.contains("Unauthorized"), "{message}");
            assert!(message.contains("<redacted>"), "{message}");
            for shown in [
                error.to_string(),
                format!("{error:?}"),
                format!("{error:#?}"),
            ] {
                assert!(!shown.contains(KEY), "{shown}");
                assert!(!shown.contains("sk-test-key"), "{shown}");
                for (_, secret) in gateway {
                    assert!(!shown.contains(secret), "{secret} in {shown}");
                }
            }
        }
    }
}

#[tokio::test]
async fn header_values_with_a_newline_are_typed_errors_and_nothing_is_sent() {
    let server = RawServer::start(Behaviour::EchoHeaders).await;
    let with = |f: fn(
        agents_model_openai::OpenAIProviderBuilder,
    ) -> agents_model_openai::OpenAIProviderBuilder| {
        f(OpenAIProvider::builder()
            .api_key(KEY)
            .base_url(server.base_url())
            .ignore_env())
    };
    let cases = [
        (
            with(|b| b.project("proj_secret_1\nX-Injected: yes")),
            "OpenAI-Project",
        ),
        (
            with(|b| b.organization("org_secret_2\r\nX: y")),
            "OpenAI-Organization",
        ),
        (with(|b| b.api_key("sk-secret_3\nX: y")), "Authorization"),
    ];
    for (builder, header) in cases {
        let provider = builder.clone().build();
        for stream in [false, true] {
            let error = fail(&provider, &ModelSettings::new(), stream).await;
            assert!(
                matches!(&error, ModelError::InvalidHeader { name } if name == header),
                "{error:?}"
            );
            for shown in [
                error.to_string(),
                format!("{error:?}"),
                format!("{provider:?}"),
            ] {
                assert!(!shown.contains("secret_"), "{shown}");
            }
        }
        let error = builder.try_build().expect_err("try_build reports it");
        assert!(matches!(&error, ModelError::InvalidHeader { name } if name == header));
    }
    // A newline in a per-request header value.
    let provider = with(|b| b).build();
    let settings = ModelSettings::new().extra_headers(BTreeMap::from([(
        "api-key".to_owned(),
        "gateway_secret_4\n".to_owned(),
    )]));
    for stream in [false, true] {
        let error = fail(&provider, &settings, stream).await;
        assert!(
            matches!(&error, ModelError::InvalidHeader { name } if name == "api-key"),
            "{error:?}"
        );
        assert!(!format!("{error:?}").contains("secret_"));
    }
    assert_eq!(server.connections(), 0, "no request went out");
}

#[tokio::test]
async fn a_streamed_error_event_that_echoes_the_request_headers_is_redacted() {
    let cases = [
        (
            OpenAIApi::Responses,
            "data: {\"type\":\"error\",\"code\":\"invalid_api_key\",\"message\":\"rejected: {HEADERS}\",\"param\":null}\n\n",
        ),
        (
            OpenAIApi::ChatCompletions,
            "data: {\"error\":{\"message\":\"rejected: {HEADERS}\",\"code\":\"invalid_api_key\"}}\n\n",
        ),
    ];
    let settings = ModelSettings::new().extra_headers(BTreeMap::from([(
        "x-api-key".to_owned(),
        "gateway-key-streamed-1f2e".to_owned(),
    )]));
    for (api, body) in cases {
        let server = RawServer::start(Behaviour::Fixed {
            content_type: "text/event-stream",
            body: body.to_owned(),
        })
        .await;
        let provider = provider(server.base_url(), api, ResponseLimits::default());
        let error = fail(&provider, &settings, true).await;
        let shown = [
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ];
        // The echo reached the error: header names survive, values do not.
        assert!(shown[0].contains("rejected"), "{api:?}: {}", shown[0]);
        assert!(shown[0].contains("x-api-key"), "{api:?}: {}", shown[0]);
        assert!(shown[0].contains("<redacted>"), "{api:?}: {}", shown[0]);
        for shown in shown {
            assert!(!shown.contains(KEY), "{api:?}: {shown}");
            assert!(!shown.contains("gateway-key-streamed"), "{api:?}: {shown}");
        }
    }
}
