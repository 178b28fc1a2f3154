//! A scriptable mock of the OpenAI HTTP API for tests and benchmarks, which validates every
//! request body against the official OpenAI OpenAPI spec.
//!
//! ```
//! use agents_testkit::{MockServer, Reply};
//! use serde_json::{json, Value};
//!
//! #[tokio::main]
//! async fn main() {
//!     let server = MockServer::start().await;
//!     server.push(Reply::text("Hello from the mock"));
//!
//!     let response: Value = reqwest::Client::new()
//!         .post(format!("{}/responses", server.base_url()))
//!         .json(&json!({"model": "gpt-4o", "input": "Say hello"}))
//!         .send()
//!         .await
//!         .unwrap()
//!         .json()
//!         .await
//!         .unwrap();
//!
//!     assert_eq!(response["output"][0]["content"][0]["text"], "Hello from the mock");
//!     assert_eq!(server.requests()[0].body["input"], "Say hello");
//!     server.assert_ok(); // every body matched CreateResponse, no unscripted request
//! }
//! ```
//!
//! # What it serves
//!
//! [`MockServer`] listens on `127.0.0.1` (never other interfaces) and serves
//! `POST /v1/responses` and `POST /v1/chat/completions`, as JSON, or as server-sent events when
//! the body says `"stream": true`. Replies come from one FIFO queue of [`Reply`]s shared by both
//! endpoints; each reply is rendered in the format of the endpoint that pops it, following the
//! real event sequences. [`Fault`]s inject rate limits, disconnects, truncated or malformed
//! streams, stalls and invalid JSON.
//!
//! # Validation against the OpenAPI spec
//!
//! Every request body is validated against `CreateResponse` or `CreateChatCompletionRequest`
//! (JSON Schema draft 2020-12 over the spec's `components`). The spec is located at run time by
//! [`spec_path`]; it is parsed and each validator compiled once per process. An invalid body is
//! answered with `400` and recorded, so a provider test fails loudly, and
//! [`MockServer::verify`] lists it. Without the spec, validation is skipped with a one-line note
//! on stderr — except under `CI=true`, where starting a server panics.
//!
//! The same validators are public ([`validate_create_response`], [`validate_response_object`],
//! …), and the crate's own tests check that everything the mock renders matches the response
//! schemas, because a mock that drifts from the real service proves nothing.
//!
//! Two OpenAPI constructs are translated before compiling, because taken literally as JSON
//! Schema they reject what the service accepts and sends: `nullable: true` becomes
//! `anyOf [<schema>, {"type": "null"}]` (otherwise `"finish_reason": null` in a chat chunk
//! fails), and the `oneOf` of `InputItem` becomes `anyOf` (its `EasyInputMessage` and
//! `InputMessage` alternatives both match a user message whose `content` is a list of parts).
//! One spec error is corrected: `MCPApprovalResponse` lists `request_id` in `required` without
//! such a property (no official SDK sends one), so it is dropped from `required`. Everything else
//! is taken as written.
//!
//! # Rules beyond the spec
//!
//! The spec cannot say everything the service checks. The mock also enforces, on every request
//! of both APIs, OpenAI's strict-mode rules for every `strict: true` schema (function tool
//! parameters, `text.format` / `response_format` JSON schemas) and the Responses item rule that
//! input items never carry the placeholder id `__fake_id__`; see [`strict`], whose
//! [`check_strict_schema`](strict::check_strict_schema) is public for direct use. A breach is
//! answered with `400`, a message naming the rule and the place, and is recorded like a schema
//! error.
//!
//! Validation is cheap: the compiled validators are shared by the whole process, a valid body
//! is checked with a boolean fast path (error details are computed only for invalid bodies), and
//! the items of `input` / `messages` that were already found valid in an earlier request — the
//! conversation history an agent re-sends every turn — are recognised by a 128-bit hash instead
//! of being validated again.

pub mod anthropic;
pub mod gemini;
pub mod pyvalidate;
mod render;
mod reply;
mod server;
pub mod servers;
pub mod session_conformance;
mod spec;
pub mod strict;
pub mod traces;

pub use reply::{Fault, Reasoning, Reply, Usage};
pub use server::{Api, CapturedRequest, MockServer, MockServerBuilder};
pub use spec::{
    is_ci_value, running_in_ci, spec_path, validate_chat_completion_chunk,
    validate_chat_completion_response, validate_chat_request, validate_create_response,
    validate_response_object, validate_response_stream_event, SPEC_ENV,
};
