//! SDK spans to OpenTelemetry GenAI spans and metrics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use agents_core::trace::{trace_id_bytes, Span, SpanData, Trace};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData as OtelSpan;

/// The OpenTelemetry span name of an SDK span (see the crate docs).
pub fn span_name(span: &Span) -> String {
    match &span.data {
        SpanData::Agent(d) => format!("invoke_agent {}", d.name),
        SpanData::Generation(d) => match &d.model {
            Some(m) => format!("chat {m}"),
            None => "chat".to_owned(),
        },
        SpanData::Function(d) => format!("execute_tool {}", d.name),
        SpanData::Handoff(d) => format!("handoff {} -> {}", d.from_agent, d.to_agent),
        SpanData::Guardrail(d) => format!("guardrail {}", d.name),
        SpanData::McpTools(d) => format!("list_tools {}", d.server),
        SpanData::Custom(d) => d.name.clone(),
        other => other.kind().to_owned(),
    }
}

fn json(v: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_string(v).ok().map(Value::from)
}

/// The attributes of an SDK span: `gen_ai.*` after the GenAI semantic
/// conventions, `agents.*` for what they do not cover, and `error.type`.
pub fn attributes_of(span: &Span) -> Vec<KeyValue> {
    let mut a = Vec::with_capacity(12);
    a.push(KeyValue::new("agents.span.type", span.data.kind()));
    match &span.data {
        SpanData::Agent(d) => {
            a.push(KeyValue::new("gen_ai.operation.name", "invoke_agent"));
            a.push(KeyValue::new("gen_ai.agent.name", d.name.clone()));
            if !d.tools.is_empty() {
                a.push(KeyValue::new("agents.agent.tools", d.tools.join(",")));
            }
            if !d.handoffs.is_empty() {
                a.push(KeyValue::new("agents.agent.handoffs", d.handoffs.join(",")));
            }
            if let Some(t) = &d.output_type {
                a.push(KeyValue::new("gen_ai.output.type", "json"));
                a.push(KeyValue::new("agents.agent.output_type", t.clone()));
            }
        }
        SpanData::Generation(d) => {
            a.push(KeyValue::new("gen_ai.operation.name", "chat"));
            if let Some(m) = &d.model {
                a.push(KeyValue::new("gen_ai.request.model", m.clone()));
            }
            if let Some(cfg) = &d.model_config {
                for (attr, value) in [
                    ("gen_ai.request.temperature", cfg.temperature),
                    ("gen_ai.request.top_p", cfg.top_p),
                    ("gen_ai.request.frequency_penalty", cfg.frequency_penalty),
                    ("gen_ai.request.presence_penalty", cfg.presence_penalty),
                ] {
                    if let Some(v) = value {
                        a.push(KeyValue::new(attr, decimal(v)));
                    }
                }
                if let Some(n) = cfg.max_tokens {
                    a.push(KeyValue::new("gen_ai.request.max_tokens", i64::from(n)));
                }
            }
            if let Some(u) = &d.usage {
                a.push(KeyValue::new(
                    "gen_ai.usage.input_tokens",
                    to_i64(u.input_tokens),
                ));
                a.push(KeyValue::new(
                    "gen_ai.usage.output_tokens",
                    to_i64(u.output_tokens),
                ));
            }
            if let Some(id) = &d.response_id {
                a.push(KeyValue::new("gen_ai.response.id", id.clone()));
            }
            if let Some(v) = d.input.as_ref().and_then(json) {
                a.push(KeyValue::new("gen_ai.input.messages", v));
            }
            if let Some(v) = d.output.as_ref().and_then(json) {
                a.push(KeyValue::new("gen_ai.output.messages", v));
            }
        }
        SpanData::Function(d) => {
            a.push(KeyValue::new("gen_ai.operation.name", "execute_tool"));
            a.push(KeyValue::new("gen_ai.tool.name", d.name.clone()));
            a.push(KeyValue::new("gen_ai.tool.call.id", d.call_id.clone()));
            a.push(KeyValue::new("gen_ai.tool.type", "function"));
            if let Some(i) = &d.input {
                a.push(KeyValue::new("gen_ai.tool.call.arguments", i.clone()));
            }
            if let Some(o) = &d.output {
                a.push(KeyValue::new("gen_ai.tool.call.result", o.clone()));
            }
        }
        SpanData::Handoff(d) => {
            a.push(KeyValue::new("agents.handoff.from", d.from_agent.clone()));
            a.push(KeyValue::new("agents.handoff.to", d.to_agent.clone()));
        }
        SpanData::Guardrail(d) => {
            a.push(KeyValue::new("agents.guardrail.name", d.name.clone()));
            a.push(KeyValue::new(
                "agents.guardrail.kind",
                match serde_json::to_value(d.kind) {
                    Ok(serde_json::Value::String(s)) => s,
                    _ => "input".to_owned(),
                },
            ));
            a.push(KeyValue::new("agents.guardrail.triggered", d.triggered));
        }
        SpanData::McpTools(d) => {
            a.push(KeyValue::new("agents.mcp.server", d.server.clone()));
            a.push(KeyValue::new("agents.mcp.tools", d.result.join(",")));
        }
        SpanData::Custom(d) => {
            for (k, v) in &d.data {
                let value = match v {
                    serde_json::Value::String(s) => Value::from(s.clone()),
                    serde_json::Value::Bool(b) => Value::from(*b),
                    serde_json::Value::Number(n) if n.is_i64() => {
                        Value::from(n.as_i64().unwrap_or_default())
                    }
                    serde_json::Value::Number(n) => Value::from(n.as_f64().unwrap_or_default()),
                    other => Value::from(other.to_string()),
                };
                a.push(KeyValue::new(format!("agents.custom.{k}"), value));
            }
        }
        _ => {}
    }
    if let Some(e) = &span.error {
        a.push(KeyValue::new("error.type", e.kind.clone()));
    }
    a
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The trace-level attributes of a run, kept until its trace ends (the
/// trace record comes after its spans) and added to the top-level spans.
#[derive(Clone, Debug, Default)]
pub(crate) struct TraceInfo {
    attrs: Vec<KeyValue>,
}

impl TraceInfo {
    pub(crate) fn of(trace: &Trace) -> Self {
        let mut attrs = vec![KeyValue::new(
            "agents.workflow.name",
            trace.workflow_name.clone(),
        )];
        if let Some(g) = &trace.group_id {
            attrs.push(KeyValue::new("gen_ai.conversation.id", g.clone()));
        }
        for (k, v) in &trace.metadata {
            attrs.push(KeyValue::new(format!("agents.metadata.{k}"), v.clone()));
        }
        TraceInfo { attrs }
    }
}

/// Converts SDK spans, keeping their ids and parent links.
pub(crate) fn to_otel(span: &Span, scope: &InstrumentationScope) -> OtelSpan {
    let trace_id = TraceId::from_bytes(trace_id_bytes(&span.trace_id));
    let span_id = SpanId::from_bytes(span.span_id.to_u64().to_be_bytes());
    let parent = span
        .parent_id
        .map(|p| SpanId::from_bytes(p.to_u64().to_be_bytes()))
        .unwrap_or(SpanId::INVALID);
    let kind = match &span.data {
        SpanData::Generation(_) => SpanKind::Client,
        _ => SpanKind::Internal,
    };
    let status = match &span.error {
        Some(e) => Status::error(e.message.clone()),
        None => Status::Unset,
    };
    OtelSpan {
        span_context: SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: parent,
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Owned(span_name(span)),
        start_time: span.started_at,
        end_time: span.ended_at.unwrap_or(span.started_at),
        attributes: attributes_of(span),
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

/// Adds the trace's attributes to the top-level spans of a batch, for the
/// traces whose record is in the batch or was seen before.
pub(crate) fn add_trace_attrs(
    spans: &mut [(Arc<str>, bool, OtelSpan)],
    traces: &HashMap<Arc<str>, TraceInfo>,
) {
    for (trace_id, top, span) in spans {
        if !*top {
            continue;
        }
        if let Some(info) = traces.get(trace_id) {
            span.attributes.extend(info.attrs.iter().cloned());
        }
    }
}

/// The GenAI client metrics: `gen_ai.client.token.usage` (histogram of
/// tokens, by `gen_ai.token.type`) and `gen_ai.client.operation.duration`
/// (histogram of seconds), both with `gen_ai.operation.name` and
/// `gen_ai.request.model`, recorded for each model call.
#[derive(Clone, Debug)]
pub struct GenAiMetrics {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
}

impl GenAiMetrics {
    /// The instruments, created on `meter`.
    pub fn new(meter: &Meter) -> Self {
        GenAiMetrics {
            tokens: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(vec![
                    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0,
                    1048576.0, 4194304.0, 16777216.0, 67108864.0,
                ])
                .build(),
            duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("GenAI operation duration")
                .with_boundaries(vec![
                    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48,
                    40.96, 81.92,
                ])
                .build(),
        }
    }

    /// Records one model call (a generation span); other spans are ignored.
    pub fn record(&self, span: &Span) {
        let SpanData::Generation(d) = &span.data else {
            return;
        };
        let mut attrs = vec![KeyValue::new("gen_ai.operation.name", "chat")];
        if let Some(m) = &d.model {
            attrs.push(KeyValue::new("gen_ai.request.model", m.clone()));
        }
        if let Some(e) = &span.error {
            attrs.push(KeyValue::new("error.type", e.kind.clone()));
        }
        if let Some(end) = span.ended_at {
            if let Ok(d) = end.duration_since(span.started_at) {
                self.duration.record(d.as_secs_f64(), &attrs);
            }
        }
        if let Some(u) = &d.usage {
            let mut input = attrs.clone();
            input.push(KeyValue::new("gen_ai.token.type", "input"));
            self.tokens.record(u.input_tokens, &input);
            attrs.push(KeyValue::new("gen_ai.token.type", "output"));
            self.tokens.record(u.output_tokens, &attrs);
        }
    }
}

/// An `f32` setting as the `f64` of its shortest decimal form: a
/// temperature of `0.2` is exported as `0.2`, not `0.20000000298023224`.
fn decimal(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}
