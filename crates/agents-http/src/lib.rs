//! The HTTP transport shared by the agents SDK's model providers
//! (`agents-model-openai`, `agents-model-anthropic`, `agents-model-gemini`).
//!
//! A provider maps items to its API's JSON and back; everything between the
//! request bytes and the response bytes is here, written once:
//!
//! | piece | API |
//! |---|---|
//! | sending a call, retries, per-attempt timeouts | [`HttpClient::call_json`], [`HttpClient::stream`], [`HttpClient::send`] |
//! | the retry policy (backoff, `Retry-After` clamped, never retry after output) | [`RetryState`], [`backoff`], [`MAX_RETRY_AFTER`] |
//! | SSE decoding with size caps | [`SseParser`], [`SseEvent`], [`Decoder`], [`ResponseLimits`] |
//! | reading bodies within limits | [`read_body`], [`with_timeout`] |
//! | typed HTTP errors with status, request id, body, retry hint | [`ModelError::Http`](agents_core::ModelError::Http), [`error_message`], [`retry_after`], [`map_reqwest_error`] |
//! | key redaction | [`redact_text`], [`redact_error`], [`secret_values`], [`REDACTED`] |
//! | request bodies and extra settings | [`encode_body`] (`extra_body`), [`insert_extra_headers`] |
//!
//! ```
//! use std::collections::VecDeque;
//! use agents_core::{ModelError, ModelStreamEvent};
//! use agents_http::{redact_text, Decoder, SseEvent};
//!
//! // A provider's stream decoder: SSE events in, model stream events out.
//! struct Echo;
//! impl Decoder for Echo {
//!     fn on_event(&mut self, event: SseEvent, out: &mut VecDeque<ModelStreamEvent>)
//!         -> Result<bool, ModelError> {
//!         let data: serde_json::Value = serde_json::from_str(&event.data)
//!             .map_err(|e| ModelError::InvalidResponse(e.to_string()))?;
//!         let event_type = event.event.clone().unwrap_or_default();
//!         out.push_back(ModelStreamEvent::Other { event_type, data });
//!         Ok(event.event.as_deref() == Some("message_stop"))
//!     }
//!     fn on_json_body(&mut self, _: &[u8], _: &mut VecDeque<ModelStreamEvent>)
//!         -> Result<(), ModelError> {
//!         Err(ModelError::InvalidResponse("expected an event stream".into()))
//!     }
//!     fn on_eof(&mut self, _: bool, _: &mut VecDeque<ModelStreamEvent>)
//!         -> Result<(), ModelError> {
//!         Err(ModelError::Stream("the stream ended before message_stop".into()))
//!     }
//! }
//!
//! // Whatever a server echoes, credentials never reach an error.
//! let echoed = r#"{"error":"bad key","headers":{"x-api-key":"sk-ant-api03-abcdef"}}"#;
//! assert_eq!(
//!     redact_text(echoed, &[]),
//!     r#"{"error":"bad key","headers":{"x-api-key":"<redacted>"}}"#
//! );
//! ```
//!
//! # How a provider uses it
//!
//! 1. Keep one [`HttpClient`] per provider (it holds the connection pool),
//!    configured with the API's request id header
//!    ([`HttpClient::with_request_id_headers`]) and, if its error bodies are
//!    not shaped `{"error": {"message": ..}}`, a message parser
//!    ([`HttpClient::with_error_message`]).
//! 2. Encode the body once with [`encode_body`] (it merges
//!    `ModelSettings::extra_body`).
//! 3. For each call pass a closure building the `reqwest::Request` of one
//!    attempt (URL, auth header, [`insert_extra_headers`], `extra_query`,
//!    the body bytes) to [`HttpClient::call_json`] or [`HttpClient::stream`].
//!    The closure is called again for every retry.
//! 4. For streams implement [`Decoder`]: one decoder per attempt turns SSE
//!    events into [`ModelStreamEvent`](agents_core::ModelStreamEvent)s and
//!    says when the response is complete.
//!
//! # TLS
//!
//! The `rustls` feature (default) gives HTTPS through rustls with the *ring*
//! crypto provider and the platform's certificate verifier: no C toolchain
//! beyond what *ring* needs, no CMake, no system TLS library, and a much
//! lighter build than rustls' default `aws-lc-rs` provider. When no rustls
//! crypto provider is installed in the process, [`HttpClient::new`] installs
//! *ring*'s as the process default (an application that installs its own
//! first keeps it); call [`install_default_tls_provider`] before building a
//! `reqwest::Client` of your own earlier than that. The `native-tls` feature uses the platform's TLS library
//! instead (OpenSSL on Linux). With neither, only plain `http://` works
//! (local servers), unless a `reqwest::Client` with TLS is passed to
//! [`HttpClient::with_reqwest`].
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod client;
mod error;
mod limits;
mod redact;
mod retry;
mod sse;

pub use client::{
    encode_body, insert_extra_headers, install_default_tls_provider, read_body, with_timeout,
    Decoder, HttpClient,
};
pub use error::{
    error_message, map_reqwest_error, parse_retry_after, request_id, retry_after, MAX_ERROR_BODY,
    MAX_RETRY_AFTER_HINT,
};
pub use limits::ResponseLimits;
pub use redact::{
    is_secret_header, printable_name, redact_error, redact_text, secret_values, REDACTED,
};
pub use retry::{backoff, RetryState, MAX_RETRY_AFTER};
pub use sse::{SseEvent, SseParser};

/// The reqwest crate, whose `Client` sends the requests
/// ([`HttpClient::with_reqwest`]).
pub use reqwest;
