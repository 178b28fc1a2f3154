//! [`TracingBridge`]: the SDK's spans as spans of the `tracing` crate.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use agents_core::trace::{Span, SpanData, SpanId, TraceProcessor};
use tracing::field::Empty;

/// Mirrors every SDK span as a `tracing` span (target `agents::trace`,
/// level INFO, name `agents.span`), nested the same way, so a
/// `tracing-subscriber` setup (fmt, `tracing-opentelemetry`, ...) sees what
/// the run did.
///
/// Fields: `kind` (`agent`, `generation`, `function`, ...), `name`,
/// `trace_id`, `span_id`; at the end `model`, `input_tokens`,
/// `output_tokens`, `response_id`, `tool_call_id`, `triggered`, `error_type`
/// and `error`. Never inputs or outputs: those stay in the SDK's spans.
///
/// The `tracing` span is created when the SDK span starts and closed when it
/// ends, so its timing is the SDK span's. At most 10,000 spans are kept open
/// at once; more are not mirrored.
#[derive(Default)]
pub struct TracingBridge {
    open: Mutex<HashMap<SpanId, tracing::Span>>,
}

impl std::fmt::Debug for TracingBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingBridge").finish_non_exhaustive()
    }
}

const MAX_OPEN: usize = 10_000;

impl TracingBridge {
    /// A new bridge; register it with `add_trace_processor(Arc::new(..))`.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TraceProcessor for TracingBridge {
    fn on_span_start(&self, span: &Span) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= MAX_OPEN {
            return;
        }
        let parent = span
            .parent_id
            .and_then(|p| open.get(&p))
            .and_then(tracing::Span::id);
        let s = tracing::info_span!(
            target: "agents::trace",
            parent: parent,
            "agents.span",
            kind = span.data.kind(),
            name = span.data.name(),
            trace_id = &*span.trace_id,
            span_id = %span.span_id,
            model = Empty,
            input_tokens = Empty,
            output_tokens = Empty,
            response_id = Empty,
            tool_call_id = Empty,
            triggered = Empty,
            error_type = Empty,
            error = Empty,
        );
        open.insert(span.span_id, s);
    }

    fn on_span_end(&self, span: &Span) {
        let s = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&span.span_id);
        let Some(s) = s else { return };
        match &span.data {
            SpanData::Generation(d) => {
                if let Some(m) = &d.model {
                    s.record("model", m.as_str());
                }
                if let Some(u) = &d.usage {
                    s.record("input_tokens", u.input_tokens);
                    s.record("output_tokens", u.output_tokens);
                }
                if let Some(id) = &d.response_id {
                    s.record("response_id", id.as_str());
                }
            }
            SpanData::Function(d) => {
                s.record("tool_call_id", d.call_id.as_str());
            }
            SpanData::Guardrail(d) => {
                s.record("triggered", d.triggered);
            }
            _ => {}
        }
        if let Some(e) = &span.error {
            s.record("error_type", e.kind.as_str());
            s.record("error", e.message.as_str());
        }
        drop(s);
    }
}
