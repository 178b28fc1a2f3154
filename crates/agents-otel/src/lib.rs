//! OpenTelemetry export for the agents SDK.
//!
//! [`OtelExporter`] turns the SDK's traces and spans
//! ([`agents_core::trace`]) into OpenTelemetry spans that follow the
//! [GenAI semantic conventions](https://opentelemetry.io/docs/specs/semconv/gen-ai/)
//! and sends them over OTLP, HTTP/protobuf (feature `http`, the default) or
//! gRPC (feature `grpc`). It records the `gen_ai.client.token.usage` and
//! `gen_ai.client.operation.duration` metrics too. It runs behind a
//! [`BatchTraceProcessor`]: conversion and export happen on the processor's
//! thread, never on a run's task, and a full queue drops spans instead of
//! slowing the run.
//!
//! | SDK span    | OpenTelemetry span              | `gen_ai.operation.name` |
//! |-------------|---------------------------------|-------------------------|
//! | agent       | `invoke_agent {agent}`          | `invoke_agent`          |
//! | generation  | `chat {model}`                  | `chat`                  |
//! | function    | `execute_tool {tool}`           | `execute_tool`          |
//! | handoff     | `handoff {from} -> {to}`        |                         |
//! | guardrail   | `guardrail {name}`              |                         |
//! | mcp_tools   | `list_tools {server}`           |                         |
//! | custom      | its name                        |                         |
//!
//! Span and trace ids are kept: a `trace_<32 hex>` id becomes the
//! OpenTelemetry trace id with those 32 hex digits, so a trace id printed by
//! a run can be looked up in the backend. A failed span has status `Error`
//! and an `error.type` attribute. Message content (`gen_ai.input.messages`,
//! `gen_ai.output.messages`, tool arguments and results) is exported only
//! when the run captured it
//! (`RunConfig::trace_include_sensitive_data`, off by default).
//!
//! `https://` endpoints work through rustls with the *ring* provider (feature
//! `tls`, on by default, for HTTP; always with `grpc`), trusting the system's
//! roots and any added with [`OtelConfig::root_certificate_pem`] or
//! [`OtelConfig::root_certificate_file`] (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use agents_core::trace::add_trace_processor;
//!
//! // OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 (or :4317 with
//! // OTEL_EXPORTER_OTLP_PROTOCOL=grpc and the `grpc` feature)
//! let otel = agents_otel::OtelConfig::from_env().service_name("my-agent").build()?;
//! add_trace_processor(otel.processor());
//! // ... run agents ...
//! otel.shutdown(); // flushes spans and metrics
//! # Ok::<(), agents_otel::OtelError>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod convert;
mod pipeline;

pub use convert::{attributes_of, span_name, GenAiMetrics};
pub use pipeline::{OtelConfig, OtelError, OtelExporter, OtelPipeline, Protocol};

/// Re-exported for [`BatchTraceProcessor`] settings.
pub use agents_core::trace::{BatchConfig, BatchTraceProcessor};
