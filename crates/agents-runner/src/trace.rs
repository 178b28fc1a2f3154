//! Tracing of runs: the spans the agent loop records, the environment
//! switches, and ready-made processors.
//!
//! The trace model lives in [`agents_core::trace`] (re-exported here). The
//! loop opens one span per phase of a turn:
//!
//! ```text
//! trace (workflow_name, trace_id, group_id, metadata)
//! └─ agent "Triage"                  from taking control to handoff or the end
//!    ├─ guardrail "no_pii"           input guardrails (first turn), output guardrails
//!    ├─ mcp_tools "fs"               each toolkit session's tool listing
//!    ├─ generation                   each model call
//!    ├─ function "search"            each tool call (nested runs nest under it)
//!    │  └─ agent "Researcher" …      an agent used as a tool
//!    └─ handoff Triage → Billing
//! └─ agent "Billing" …
//! ```
//!
//! Inputs and outputs (model input and output items, tool arguments and
//! outputs, tool error texts) are recorded only with
//! [`RunConfig::trace_include_sensitive_data`](crate::RunConfig::trace_include_sensitive_data),
//! which is off by default.
//!
//! Processors: [`BatchTraceProcessor`] (a bounded queue and a background
//! thread in front of any [`TraceExporter`]), [`JsonlExporter`] (JSON lines
//! in a file), [`TracingBridge`] (the `tracing` crate's events, for
//! `tracing-subscriber` users).

use std::sync::{Arc, OnceLock};

use agents_core::agent::ToolCallResult;
use agents_core::{Agent, Error, Item, ModelError, ModelResponse, ModelSettings};

use crate::config::RunConfig;

mod bridge;
mod jsonl;

pub use agents_core::trace::*;
pub use bridge::TracingBridge;
pub use jsonl::JsonlExporter;

/// Turns tracing off for every run, like
/// [`RunConfig::tracing_disabled`](crate::RunConfig::tracing_disabled):
/// `true` or `1`. The reference SDK's `OPENAI_AGENTS_DISABLE_TRACING` is
/// honoured too.
pub const ENV_DISABLE_TRACING: &str = "AGENTS_DISABLE_TRACING";

/// The OpenTelemetry GenAI switch for content capture: `true` records
/// inputs and outputs, like
/// [`RunConfig::trace_include_sensitive_data`](crate::RunConfig::trace_include_sensitive_data).
/// When unset, the reference SDK's `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`
/// is read; when both are unset, content is not captured.
pub const ENV_CAPTURE_CONTENT: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

fn flag(name: &str) -> Option<bool> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    Some(v.eq_ignore_ascii_case("true") || v == "1")
}

/// The environment switches, read once per process:
/// `(tracing_disabled, include_sensitive_data)`.
pub(crate) fn env_defaults() -> (bool, bool) {
    static ENV: OnceLock<(bool, bool)> = OnceLock::new();
    *ENV.get_or_init(|| {
        let disabled = flag(ENV_DISABLE_TRACING)
            .or_else(|| flag("OPENAI_AGENTS_DISABLE_TRACING"))
            .unwrap_or(false);
        let content = flag(ENV_CAPTURE_CONTENT)
            .or_else(|| flag("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA"))
            .unwrap_or(false);
        (disabled, content)
    })
}

/// A short, stable kind for a run error (OpenTelemetry's `error.type`).
pub(crate) fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::MaxTurnsExceeded { .. } => "max_turns_exceeded",
        Error::ModelBehavior(_) => "model_behavior_error",
        Error::ModelRefusal { .. } => "model_refusal",
        Error::UserError(_) => "user_error",
        Error::InputGuardrailTripwire(_) => "input_guardrail_tripwire",
        Error::OutputGuardrailTripwire(_) => "output_guardrail_tripwire",
        Error::ToolGuardrailTripwire(_) => "tool_guardrail_tripwire",
        Error::Tool { .. } => "tool_error",
        Error::ToolTimeout { .. } => "tool_timeout",
        Error::Model(m) => model_error_kind(m),
        Error::Session(_) => "session_error",
        Error::Toolkit(_) => "toolkit_error",
        Error::Hook(_) => "hook_error",
        Error::Cancelled => "cancelled",
        _ => "error",
    }
}

fn model_error_kind(e: &ModelError) -> &'static str {
    match e {
        ModelError::Http { .. } => "http_error",
        ModelError::Timeout(_) => "timeout",
        ModelError::Connection(_) => "connection_error",
        _ => "model_error",
    }
}

/// What a run's spans need: where they go, whether content is recorded, and
/// the open agent span. Inert (every handle a no-op) when tracing is off.
#[derive(Default)]
pub(crate) struct RunTracer {
    /// The trace this run started; `None` when it joined an enclosing one
    /// (or records nothing).
    own: Option<TraceGuard>,
    /// Where the run's top-level spans go; `None`: nothing is recorded.
    root: Option<CurrentSpan>,
    sensitive: bool,
    agent_span: SpanHandle,
}

impl RunTracer {
    /// Joins the trace the caller runs inside (a tool call's span, or a
    /// [`trace`](agents_core::trace::trace) scope), else starts one. Sets
    /// the run's trace id (generated when unset) so a run state carries it.
    pub(crate) fn start<C>(rc: &mut RunConfig<C>) -> Self {
        if rc.tracing_disabled {
            return RunTracer::default();
        }
        let sensitive = rc.trace_include_sensitive_data;
        if let Some(current) = current_span() {
            rc.trace_id = Some(current.trace.trace_id().to_owned());
            return RunTracer {
                own: None,
                root: Some(current),
                sensitive,
                agent_span: SpanHandle::noop(),
            };
        }
        let trace_id = rc.trace_id.get_or_insert_with(gen_trace_id).as_str();
        let processors: Processors = match &rc.trace_processors {
            Some(p) => Arc::from(p.as_slice()),
            None => trace_processors(),
        };
        if processors.is_empty() {
            return RunTracer::default();
        }
        let mut builder = TraceBuilder::new(rc.workflow_name.clone())
            .trace_id(trace_id)
            .with_processors(processors);
        if let Some(g) = &rc.group_id {
            builder = builder.group_id(g.clone());
        }
        for (k, v) in &rc.trace_metadata {
            builder = builder.metadata(k.clone(), v.clone());
        }
        let guard = builder.start();
        let root = guard.current();
        RunTracer {
            own: Some(guard),
            root,
            sensitive,
            agent_span: SpanHandle::noop(),
        }
    }

    /// Whether spans are recorded.
    pub(crate) fn is_on(&self) -> bool {
        self.root.is_some()
    }

    /// Whether inputs and outputs are recorded.
    pub(crate) fn sensitive(&self) -> bool {
        self.sensitive
    }

    /// Opens the span of `agent` unless one is open.
    pub(crate) fn enter_agent<C>(&mut self, agent: &Agent<C>) {
        if self.agent_span.is_recording() {
            return;
        }
        let Some(root) = &self.root else { return };
        let mut data = AgentSpanData::new(agent.name());
        data.handoffs = agent
            .handoffs()
            .iter()
            .map(|h| h.agent().name().to_owned())
            .collect();
        data.output_type = agent.output_type().map(|t| t.schema().name.clone());
        self.agent_span = root.trace.start_span(root.parent, SpanData::Agent(data));
    }

    /// Records the tools the current agent may call.
    pub(crate) fn agent_tools(&mut self, names: impl FnOnce() -> Vec<String>) {
        if let Some(SpanData::Agent(d)) = self.agent_span.data_mut() {
            if d.tools.is_empty() {
                d.tools = names();
            }
        }
    }

    /// Ends the current agent's span (a handoff, or the end of the run),
    /// with `error` when the run failed.
    pub(crate) fn exit_agent(&mut self, error: Option<&Error>) {
        let mut span = std::mem::take(&mut self.agent_span);
        if let Some(e) = error {
            span.set_error(SpanError::new(error_kind(e), e.to_string()));
        }
        span.end();
    }

    /// Ends the run's trace (when the run started it).
    pub(crate) fn finish(&mut self, error: Option<&Error>) {
        self.exit_agent(error);
        self.root = None;
        if let Some(guard) = self.own.take() {
            guard.end();
        }
    }

    /// Where spans opened under the current agent go (for futures that
    /// outlive a borrow of the loop).
    pub(crate) fn agent_scope(&self) -> Option<CurrentSpan> {
        self.agent_span.current()
    }

    /// A child span of the current agent.
    pub(crate) fn child(&self, data: impl FnOnce() -> SpanData) -> SpanHandle {
        if self.agent_span.is_recording() {
            self.agent_span.child(data())
        } else {
            SpanHandle::noop()
        }
    }

    /// The span of one model call.
    pub(crate) fn generation(
        &self,
        model: Option<&str>,
        settings: &ModelSettings,
        input: &[Item],
        stream: bool,
    ) -> SpanHandle {
        self.child(|| {
            let mut d = GenerationSpanData::default();
            d.model = model.map(str::to_owned);
            // Nothing to record when no setting is set (the common case).
            if *settings != ModelSettings::default() {
                d.model_config = Some(Box::new(settings.for_trace()));
            }
            d.input = self.sensitive.then(|| input.to_vec());
            d.stream = stream;
            SpanData::Generation(d)
        })
    }

    /// The span of one function tool call.
    pub(crate) fn function(&self, name: &str, call_id: &str, arguments: &str) -> SpanHandle {
        self.child(|| {
            let mut d = FunctionSpanData::new(name, call_id);
            d.input = self.sensitive.then(|| arguments.to_owned());
            SpanData::Function(d)
        })
    }

    /// Fills a function span from the call's result and ends it.
    /// `unknown`: the model called a tool that does not exist.
    pub(crate) fn function_end(
        &self,
        span: &mut SpanHandle,
        result: &Result<ToolCallResult, Error>,
        unknown: bool,
    ) {
        if !span.is_recording() {
            return;
        }
        match result {
            Ok(r) => {
                let text = self.sensitive.then(|| r.output.to_text());
                if r.is_error {
                    let kind = if unknown {
                        "unknown_tool"
                    } else {
                        "tool_error"
                    };
                    let message = text.clone().unwrap_or_else(|| {
                        "the tool call failed; its error output went to the model".to_owned()
                    });
                    span.set_error(SpanError::new(kind, message));
                }
                if let Some(SpanData::Function(d)) = span.data_mut() {
                    d.output = text;
                }
            }
            Err(e) => span.set_error(SpanError::new(error_kind(e), e.to_string())),
        }
        std::mem::take(span).end();
    }

    /// A guardrail span under the current agent.
    pub(crate) fn guardrail(&self, name: &str, kind: GuardrailKind) -> SpanHandle {
        self.child(|| SpanData::Guardrail(GuardrailSpanData::new(name, kind)))
    }

    /// The span of a handoff.
    pub(crate) fn handoff(&self, from: &str, to: &str) -> SpanHandle {
        self.child(|| SpanData::Handoff(HandoffSpanData::new(from, to)))
    }

    /// The span of a toolkit session's tool listing.
    pub(crate) fn mcp_tools(&self, server: &str, tools: impl FnOnce() -> Vec<String>) {
        self.child(|| SpanData::McpTools(McpToolsSpanData::new(server, tools())))
            .end();
    }
}

/// Opens a guardrail span under `parent`.
pub(crate) fn guardrail_span(
    parent: Option<&CurrentSpan>,
    name: &str,
    kind: GuardrailKind,
) -> SpanHandle {
    match parent {
        Some(p) => p.trace.start_span(
            p.parent,
            SpanData::Guardrail(GuardrailSpanData::new(name, kind)),
        ),
        None => SpanHandle::noop(),
    }
}

/// Ends a guardrail span: triggered, or failed with `error`.
pub(crate) fn guardrail_end(mut span: SpanHandle, result: Result<bool, &String>) {
    match result {
        Ok(triggered) => {
            if let Some(SpanData::Guardrail(d)) = span.data_mut() {
                d.triggered = triggered;
            }
        }
        Err(e) => span.set_error(SpanError::new("guardrail_error", e.as_str())),
    }
    span.end();
}

/// Fills a generation span from the model's answer and ends it.
pub(crate) fn generation_end(
    sensitive: bool,
    span: &mut SpanHandle,
    result: &Result<ModelResponse, Error>,
) {
    if !span.is_recording() {
        return;
    }
    match result {
        Ok(response) => {
            if let Some(SpanData::Generation(d)) = span.data_mut() {
                d.usage = Some(response.usage);
                d.response_id.clone_from(&response.response_id);
                if sensitive {
                    d.output = Some(response.output.clone());
                }
            }
        }
        Err(e) => span.set_error(SpanError::new(error_kind(e), e.to_string())),
    }
    std::mem::take(span).end();
}
