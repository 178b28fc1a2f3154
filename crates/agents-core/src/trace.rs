//! Traces and spans: what a run did, as data for processors and exporters.
//!
//! A [`Trace`] is one workflow (one run, or several runs grouped with
//! [`trace`] / [`TraceBuilder`]). It holds [`Span`]s, each with a start, an
//! end, a parent and, when it failed, a [`SpanError`]. What a span describes
//! is its [`SpanData`]: an agent, a model call (generation), a function tool
//! call, a handoff, a guardrail, an MCP tool listing, or a custom span a
//! user opens with [`custom_span`].
//!
//! The agent loop (`agents-runner`) records them; [`TraceProcessor`]s
//! receive them. Processors are registered process-wide
//! ([`add_trace_processor`], [`set_trace_processors`]) or set per run. With
//! no processor registered, nothing is recorded and a run pays only a
//! check.
//!
//! The current trace and span travel with the future that runs inside them
//! (a task-local), so runs and custom spans started inside a tool call nest
//! under that call's span:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use agents_core::trace::{self, Span, Trace, TraceProcessor};
//!
//! #[derive(Default)]
//! struct Names(Mutex<Vec<String>>);
//! impl TraceProcessor for Names {
//!     fn on_trace_start(&self, t: &Trace) { self.0.lock().unwrap().push(t.workflow_name.clone()) }
//!     fn on_span_end(&self, s: &Span) { self.0.lock().unwrap().push(s.data.name().to_owned()) }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let names = Arc::new(Names::default());
//! trace::TraceBuilder::new("nightly report")
//!     .processors(vec![names.clone()])
//!     .run(async {
//!         let outer = trace::custom_span("fetch", Default::default());
//!         outer.scope(async { drop(trace::custom_span("parse", Default::default())) }).await;
//!     })
//!     .await;
//! assert_eq!(*names.0.lock().unwrap(), ["nightly report", "parse", "fetch"]);
//! # });
//! ```

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::items::Item;
use crate::settings::ModelSettings;
use crate::usage::RequestUsage;

mod batch;

pub use batch::{BatchConfig, BatchStats, BatchTraceProcessor, TraceExporter, TraceRecord};

// ---------------------------------------------------------------------------
// Ids

fn id_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.write_u32(std::process::id());
        h.finish()
    })
}

/// 64 random-looking bits: SplitMix64 over a per-process random seed and a
/// counter. Unique within a process, unpredictable enough across processes
/// for ids (not for secrets).
fn next_random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = id_seed().wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A new trace id in the reference SDK's form: `trace_` and 32 hex digits.
pub fn gen_trace_id() -> String {
    let mut id = String::with_capacity(6 + 32);
    id.push_str("trace_");
    for n in [next_random(), next_random()] {
        push_hex(&mut id, n);
    }
    id
}

/// Appends `n` as 16 lowercase hex digits (what `{:016x}` writes, without
/// the formatting machinery: ids are made on the run's path).
fn push_hex(out: &mut String, n: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(char::from(DIGITS[((n >> (shift * 4)) & 0xf) as usize]));
    }
}

/// The id of a span: 64 random bits, shown as `span_` and 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(u64);

impl SpanId {
    /// A new random span id.
    pub fn generate() -> Self {
        // Zero is the "invalid" span id of OpenTelemetry.
        SpanId(next_random().max(1))
    }

    /// The id as a number (for exporters that need 8 bytes).
    pub fn to_u64(self) -> u64 {
        self.0
    }

    /// A span id from a number.
    pub fn from_u64(id: u64) -> Self {
        SpanId(id)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "span_{:016x}", self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SpanId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SpanId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.strip_prefix("span_")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map(SpanId)
            .ok_or_else(|| serde::de::Error::custom("a span id is `span_` and 16 hex digits"))
    }
}

/// The 16 bytes an OpenTelemetry exporter needs for a trace id: the 32 hex
/// digits of a `trace_<32 hex>` id, else a stable hash of the id.
pub fn trace_id_bytes(trace_id: &str) -> [u8; 16] {
    let hex = trace_id.strip_prefix("trace_").unwrap_or(trace_id);
    if let Ok(n) = u128::from_str_radix(hex, 16) {
        if hex.len() == 32 && n != 0 {
            return n.to_be_bytes();
        }
    }
    // FNV-1a, 128 bits: stable across processes and versions.
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in trace_id.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    h.max(1).to_be_bytes()
}

// ---------------------------------------------------------------------------
// Data

mod unix_micros {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn micros(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or_default()
    }

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(micros(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let us = u64::deserialize(d)?;
        Ok(UNIX_EPOCH + Duration::from_micros(us))
    }

    pub(super) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<SystemTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&micros(*t)),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            Ok(Option::<u64>::deserialize(d)?.map(|us| UNIX_EPOCH + Duration::from_micros(us)))
        }
    }
}

/// One workflow: a run, or several runs grouped under one trace.
///
/// Serialized with times as microseconds since the Unix epoch
/// (`started_at`, `ended_at`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trace {
    /// The trace id (`trace_<32 hex>` when generated).
    pub trace_id: Arc<str>,
    /// The workflow's name.
    pub workflow_name: String,
    /// Groups traces of one conversation, say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Extra metadata, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, String)>,
    /// When the trace started.
    #[serde(with = "unix_micros")]
    pub started_at: SystemTime,
    /// When the trace ended (set on `on_trace_end`).
    #[serde(default, with = "unix_micros::option")]
    pub ended_at: Option<SystemTime>,
}

/// Why a span failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpanError {
    /// A short, stable kind (`model_error`, `tool_error`, `max_turns_exceeded`,
    /// ...): what OpenTelemetry calls `error.type`.
    pub kind: String,
    /// What went wrong, for a human.
    pub message: String,
}

impl SpanError {
    /// An error of `kind` with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        SpanError {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

/// An agent's span: from the agent taking control to its handoff or the end
/// of the run. Its children are the agent's guardrails, model calls, tool
/// calls and handoff.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentSpanData {
    /// The agent's name.
    pub name: String,
    /// The agents it may hand off to.
    #[serde(default)]
    pub handoffs: Vec<String>,
    /// The tools it may call (set at its first model call).
    #[serde(default)]
    pub tools: Vec<String>,
    /// The name of its output type, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_type: Option<String>,
}

/// One model call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GenerationSpanData {
    /// The model's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The resolved model settings, as [`ModelSettings::for_trace`] gives
    /// them: the values of extra headers, query parameters and body fields
    /// replaced by `"<redacted>"` (they can carry keys). `None` when no
    /// setting is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config: Option<Box<ModelSettings>>,
    /// The input items (only when sensitive data is included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<Item>>,
    /// The output items (only when sensitive data is included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<Item>>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<RequestUsage>,
    /// The provider's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Whether the response was streamed.
    #[serde(default)]
    pub stream: bool,
}

/// One function tool call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionSpanData {
    /// The tool's name.
    pub name: String,
    /// The model's call id.
    pub call_id: String,
    /// The JSON arguments (only when sensitive data is included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The output text (only when sensitive data is included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A handoff from one agent to another.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HandoffSpanData {
    /// The agent handing off.
    pub from_agent: String,
    /// The agent taking over.
    pub to_agent: String,
}

/// Which kind of guardrail ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GuardrailKind {
    /// An agent's input guardrail.
    #[default]
    Input,
    /// An agent's output guardrail.
    Output,
}

/// One guardrail check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuardrailSpanData {
    /// The guardrail's name.
    pub name: String,
    /// Input or output guardrail.
    pub kind: GuardrailKind,
    /// Whether its tripwire triggered.
    pub triggered: bool,
}

/// Listing the tools of a toolkit session (an MCP server, say).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct McpToolsSpanData {
    /// The toolkit session's name.
    pub server: String,
    /// The names of the tools listed.
    #[serde(default)]
    pub result: Vec<String>,
}

/// A span a user opened with [`custom_span`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomSpanData {
    /// The span's name.
    pub name: String,
    /// Whatever the user attached.
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// What a span describes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SpanData {
    /// An agent in control.
    Agent(AgentSpanData),
    /// A model call.
    Generation(GenerationSpanData),
    /// A function tool call.
    Function(FunctionSpanData),
    /// A handoff.
    Handoff(HandoffSpanData),
    /// A guardrail.
    Guardrail(GuardrailSpanData),
    /// A toolkit session's tool listing.
    McpTools(McpToolsSpanData),
    /// A user's span.
    Custom(CustomSpanData),
}

impl AgentSpanData {
    /// The span data of agent `name`.
    pub fn new(name: impl Into<String>) -> Self {
        AgentSpanData {
            name: name.into(),
            ..Default::default()
        }
    }
}

impl FunctionSpanData {
    /// The span data of a call of tool `name`.
    pub fn new(name: impl Into<String>, call_id: impl Into<String>) -> Self {
        FunctionSpanData {
            name: name.into(),
            call_id: call_id.into(),
            ..Default::default()
        }
    }
}

impl HandoffSpanData {
    /// The span data of a handoff.
    pub fn new(from_agent: impl Into<String>, to_agent: impl Into<String>) -> Self {
        HandoffSpanData {
            from_agent: from_agent.into(),
            to_agent: to_agent.into(),
        }
    }
}

impl GuardrailSpanData {
    /// The span data of guardrail `name` (not triggered yet).
    pub fn new(name: impl Into<String>, kind: GuardrailKind) -> Self {
        GuardrailSpanData {
            name: name.into(),
            kind,
            triggered: false,
        }
    }
}

impl McpToolsSpanData {
    /// The span data of a tool listing.
    pub fn new(server: impl Into<String>, result: Vec<String>) -> Self {
        McpToolsSpanData {
            server: server.into(),
            result,
        }
    }
}

impl CustomSpanData {
    /// The span data of custom span `name`.
    pub fn new(name: impl Into<String>, data: Map<String, Value>) -> Self {
        CustomSpanData {
            name: name.into(),
            data,
        }
    }
}

impl SpanData {
    /// The kind, as in the JSON `type` field: `agent`, `generation`,
    /// `function`, `handoff`, `guardrail`, `mcp_tools` or `custom`.
    pub fn kind(&self) -> &'static str {
        match self {
            SpanData::Agent(_) => "agent",
            SpanData::Generation(_) => "generation",
            SpanData::Function(_) => "function",
            SpanData::Handoff(_) => "handoff",
            SpanData::Guardrail(_) => "guardrail",
            SpanData::McpTools(_) => "mcp_tools",
            SpanData::Custom(_) => "custom",
        }
    }

    /// A short name: the agent's, tool's, guardrail's or custom span's name,
    /// `generation`, `handoff`, or the toolkit session's name.
    pub fn name(&self) -> &str {
        match self {
            SpanData::Agent(d) => &d.name,
            SpanData::Generation(_) => "generation",
            SpanData::Function(d) => &d.name,
            SpanData::Handoff(_) => "handoff",
            SpanData::Guardrail(d) => &d.name,
            SpanData::McpTools(d) => &d.server,
            SpanData::Custom(d) => &d.name,
        }
    }
}

/// One timed operation inside a trace.
///
/// Serialized with times as microseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: Arc<str>,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent span; `None` for a top-level span of the trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<SpanId>,
    /// When it started.
    #[serde(with = "unix_micros")]
    pub started_at: SystemTime,
    /// When it ended (set on `on_span_end`).
    #[serde(default, with = "unix_micros::option")]
    pub ended_at: Option<SystemTime>,
    /// What it describes.
    pub data: SpanData,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SpanError>,
}

// ---------------------------------------------------------------------------
// Processors

/// Receives traces and spans as they start and end.
///
/// Called on the run's own task: implementations must be quick and must
/// never block (hand work to a queue, as `BatchTraceProcessor` in
/// `agents-runner` does). A panic in a processor is caught and the
/// processor skipped for that event.
pub trait TraceProcessor: Send + Sync {
    /// A trace started.
    fn on_trace_start(&self, trace: &Trace) {
        let _ = trace;
    }
    /// A trace ended (`ended_at` is set).
    fn on_trace_end(&self, trace: &Trace) {
        let _ = trace;
    }
    /// A trace ended, handed over by value: like
    /// [`on_span_end_owned`](TraceProcessor::on_span_end_owned), the last
    /// processor of a trace gets its end through this method instead of
    /// [`on_trace_end`](TraceProcessor::on_trace_end). The default calls
    /// `on_trace_end`; implement both the same way.
    fn on_trace_end_owned(&self, trace: Trace) {
        self.on_trace_end(&trace);
    }
    /// A span started.
    fn on_span_start(&self, span: &Span) {
        let _ = span;
    }
    /// A span ended (`ended_at` is set, and `error` when it failed).
    fn on_span_end(&self, span: &Span) {
        let _ = span;
    }
    /// A span ended, handed over by value: the last processor of a trace
    /// gets each ended span through this method instead of
    /// [`on_span_end`](TraceProcessor::on_span_end), so that a processor
    /// that keeps spans (a queue) takes it without a copy. Every processor
    /// sees each span once, through one of the two. The default calls
    /// `on_span_end`; implement both the same way.
    fn on_span_end_owned(&self, span: Span) {
        self.on_span_end(&span);
    }
    /// Exports everything received so far; returns when done.
    fn force_flush(&self) {}
    /// Flushes and releases resources; later events may be ignored.
    fn shutdown(&self) {}
}

/// A set of processors, cheap to clone.
pub type Processors = Arc<[Arc<dyn TraceProcessor>]>;

fn registry() -> &'static RwLock<Processors> {
    static REGISTRY: OnceLock<RwLock<Processors>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Arc::from(Vec::new())))
}

/// Adds a processor to the process-wide set (every run without processors
/// of its own sends its traces there).
pub fn add_trace_processor(processor: Arc<dyn TraceProcessor>) {
    let mut g = registry().write().unwrap_or_else(PoisonError::into_inner);
    let mut v: Vec<_> = g.iter().cloned().collect();
    v.push(processor);
    *g = Arc::from(v);
}

/// Replaces the process-wide set of processors (an empty vector removes
/// them all). The replaced processors are not shut down.
pub fn set_trace_processors(processors: Vec<Arc<dyn TraceProcessor>>) {
    *registry().write().unwrap_or_else(PoisonError::into_inner) = Arc::from(processors);
}

/// The process-wide processors.
pub fn trace_processors() -> Processors {
    Arc::clone(&registry().read().unwrap_or_else(PoisonError::into_inner))
}

/// Flushes every process-wide processor (call before a short program exits).
pub fn flush_traces() {
    for p in trace_processors().iter() {
        p.force_flush();
    }
}

/// Shuts every process-wide processor down (flushing first).
pub fn shutdown_trace_processors() {
    for p in trace_processors().iter() {
        p.shutdown();
    }
}

fn each(processors: &Processors, f: impl Fn(&dyn TraceProcessor)) {
    for p in processors.iter() {
        guarded(|| f(p.as_ref()));
    }
}

/// Calls a processor; a panic in it must not fail the run.
fn guarded(f: impl FnOnce()) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

// ---------------------------------------------------------------------------
// Live traces and spans

/// A live trace: its id and where its spans go. Cheap to clone.
#[derive(Clone)]
pub struct TraceContext {
    trace_id: Arc<str>,
    processors: Processors,
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("trace_id", &self.trace_id)
            .field("processors", &self.processors.len())
            .finish()
    }
}

impl TraceContext {
    /// The trace's id.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The processors its spans go to.
    pub fn processors(&self) -> &Processors {
        &self.processors
    }

    /// Starts a span under `parent` (`None`: top level). Ends when the
    /// handle is dropped or [`SpanHandle::end`] is called.
    pub fn start_span(&self, parent: Option<SpanId>, data: SpanData) -> SpanHandle {
        let span = Span {
            trace_id: Arc::clone(&self.trace_id),
            span_id: SpanId::generate(),
            parent_id: parent,
            started_at: SystemTime::now(),
            ended_at: None,
            data,
            error: None,
        };
        each(&self.processors, |p| p.on_span_start(&span));
        SpanHandle {
            live: Some(Box::new(LiveSpan {
                span,
                trace: self.clone(),
            })),
        }
    }
}

/// Where new spans go: a trace and the span to nest under.
#[derive(Clone, Debug)]
pub struct CurrentSpan {
    /// The trace.
    pub trace: TraceContext,
    /// The span to nest under (`None`: top level of the trace).
    pub parent: Option<SpanId>,
}

tokio::task_local! {
    static CURRENT: CurrentSpan;
}

/// The trace and span that the running future is inside, if any.
pub fn current_span() -> Option<CurrentSpan> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `fut` with `current` as the place new spans and runs nest under.
pub async fn with_current<F: Future>(current: Option<CurrentSpan>, fut: F) -> F::Output {
    match current {
        Some(c) => CURRENT.scope(c, fut).await,
        None => fut.await,
    }
}

/// Runs `f` with `current` as the place new spans nest under.
pub fn with_current_sync<R>(current: Option<CurrentSpan>, f: impl FnOnce() -> R) -> R {
    match current {
        Some(c) => CURRENT.sync_scope(c, f),
        None => f(),
    }
}

struct LiveSpan {
    span: Span,
    trace: TraceContext,
}

/// A span being recorded; a no-op handle when tracing is off. The span ends
/// when the handle is dropped (or on [`end`](SpanHandle::end)).
#[derive(Default)]
pub struct SpanHandle {
    live: Option<Box<LiveSpan>>,
}

impl fmt::Debug for SpanHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.live {
            Some(l) => f
                .debug_struct("SpanHandle")
                .field("span_id", &l.span.span_id)
                .field("kind", &l.span.data.kind())
                .finish(),
            None => f.write_str("SpanHandle(off)"),
        }
    }
}

impl SpanHandle {
    /// A handle that records nothing.
    pub fn noop() -> Self {
        SpanHandle { live: None }
    }

    /// Whether this handle records a span.
    pub fn is_recording(&self) -> bool {
        self.live.is_some()
    }

    /// The span's id, when recording.
    pub fn id(&self) -> Option<SpanId> {
        self.live.as_ref().map(|l| l.span.span_id)
    }

    /// The span's data, when recording (to fill in results before it ends).
    pub fn data_mut(&mut self) -> Option<&mut SpanData> {
        self.live.as_mut().map(|l| &mut l.span.data)
    }

    /// Marks the span as failed.
    pub fn set_error(&mut self, error: SpanError) {
        if let Some(l) = &mut self.live {
            l.span.error = Some(error);
        }
    }

    /// Where spans opened inside this one go (`None` when not recording).
    pub fn current(&self) -> Option<CurrentSpan> {
        self.live.as_ref().map(|l| CurrentSpan {
            trace: l.trace.clone(),
            parent: Some(l.span.span_id),
        })
    }

    /// Runs `fut` inside this span: spans and runs it starts nest under it.
    pub fn scope<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> {
        with_current(self.current(), fut)
    }

    /// Starts a child span (a no-op handle when this one is not recording).
    pub fn child(&self, data: SpanData) -> SpanHandle {
        match &self.live {
            Some(l) => l.trace.start_span(Some(l.span.span_id), data),
            None => SpanHandle::noop(),
        }
    }

    /// Ends the span now.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if let Some(l) = self.live.take() {
            let LiveSpan { mut span, trace } = *l;
            span.ended_at = Some(SystemTime::now());
            let Some((last, others)) = trace.processors.split_last() else {
                return;
            };
            for p in others {
                guarded(|| p.on_span_end(&span));
            }
            guarded(move || last.on_span_end_owned(span));
        }
    }
}

impl Drop for SpanHandle {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Opens a custom span under the current span (see [`current_span`]); a
/// no-op handle outside any trace.
pub fn custom_span(name: impl Into<String>, data: Map<String, Value>) -> SpanHandle {
    match current_span() {
        Some(c) => c.trace.start_span(
            c.parent,
            SpanData::Custom(CustomSpanData {
                name: name.into(),
                data,
            }),
        ),
        None => SpanHandle::noop(),
    }
}

/// A started trace; it ends when dropped (or on [`end`](TraceGuard::end)).
pub struct TraceGuard {
    trace: Option<Trace>,
    ctx: Option<TraceContext>,
}

impl fmt::Debug for TraceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceGuard")
            .field("trace_id", &self.trace.as_ref().map(|t| &t.trace_id))
            .finish()
    }
}

impl TraceGuard {
    /// Starts `trace`, sending it and its spans to `processors`. With no
    /// processors nothing is recorded (the guard is inert).
    pub fn start(mut trace: Trace, processors: Processors) -> Self {
        if processors.is_empty() {
            return TraceGuard {
                trace: Some(trace),
                ctx: None,
            };
        }
        trace.started_at = SystemTime::now();
        each(&processors, |p| p.on_trace_start(&trace));
        let ctx = TraceContext {
            trace_id: Arc::clone(&trace.trace_id),
            processors,
        };
        TraceGuard {
            trace: Some(trace),
            ctx: Some(ctx),
        }
    }

    /// The trace's id.
    pub fn trace_id(&self) -> &str {
        self.trace
            .as_ref()
            .map(|t| &*t.trace_id)
            .unwrap_or_default()
    }

    /// The live trace (`None` when nothing is recorded).
    pub fn context(&self) -> Option<&TraceContext> {
        self.ctx.as_ref()
    }

    /// Where spans of this trace go, at its top level.
    pub fn current(&self) -> Option<CurrentSpan> {
        self.ctx.as_ref().map(|c| CurrentSpan {
            trace: c.clone(),
            parent: None,
        })
    }

    /// Runs `fut` inside this trace: runs and custom spans it starts join
    /// the trace.
    pub fn scope<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> {
        with_current(self.current(), fut)
    }

    /// Ends the trace now.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if let (Some(mut trace), Some(ctx)) = (self.trace.take(), self.ctx.take()) {
            trace.ended_at = Some(SystemTime::now());
            let Some((last, others)) = ctx.processors.split_last() else {
                return;
            };
            for p in others {
                guarded(|| p.on_trace_end(&trace));
            }
            guarded(move || last.on_trace_end_owned(trace));
        }
    }
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Builds a trace that groups several runs (and custom spans) into one
/// workflow.
#[derive(Clone, Default)]
pub struct TraceBuilder {
    workflow_name: String,
    trace_id: Option<Arc<str>>,
    group_id: Option<String>,
    metadata: Vec<(String, String)>,
    processors: Option<Processors>,
    disabled: bool,
}

impl fmt::Debug for TraceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceBuilder")
            .field("workflow_name", &self.workflow_name)
            .field("trace_id", &self.trace_id)
            .field("group_id", &self.group_id)
            .finish_non_exhaustive()
    }
}

impl TraceBuilder {
    /// A trace for the workflow `name`.
    pub fn new(workflow_name: impl Into<String>) -> Self {
        TraceBuilder {
            workflow_name: workflow_name.into(),
            ..Default::default()
        }
    }

    /// Uses this trace id (default: a new `trace_<32 hex>`).
    pub fn trace_id(mut self, id: impl AsRef<str>) -> Self {
        self.trace_id = Some(Arc::from(id.as_ref()));
        self
    }

    /// Sets the group id (a conversation, say).
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Sends this trace to `processors` instead of the process-wide ones.
    pub fn processors(mut self, processors: Vec<Arc<dyn TraceProcessor>>) -> Self {
        self.processors = Some(Arc::from(processors));
        self
    }

    /// Like [`processors`](Self::processors), with a shared set.
    pub fn with_processors(mut self, processors: Processors) -> Self {
        self.processors = Some(processors);
        self
    }

    /// Records nothing when `disabled`.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Starts the trace. Runs join it only inside [`TraceGuard::scope`].
    pub fn start(self) -> TraceGuard {
        let processors = match (self.disabled, self.processors) {
            (true, _) => Arc::from(Vec::new()),
            (false, Some(p)) => p,
            (false, None) => trace_processors(),
        };
        let trace = Trace {
            trace_id: self.trace_id.unwrap_or_else(|| Arc::from(gen_trace_id())),
            workflow_name: self.workflow_name,
            group_id: self.group_id,
            metadata: self.metadata,
            started_at: SystemTime::now(),
            ended_at: None,
        };
        TraceGuard::start(trace, processors)
    }

    /// Runs `fut` inside a new trace, which ends when `fut` does.
    pub async fn run<F: Future>(self, fut: F) -> F::Output {
        let guard = self.start();
        let out = guard.scope(fut).await;
        guard.end();
        out
    }
}

/// Runs `fut` as one workflow named `workflow_name`: every run (and custom
/// span) started inside it joins one trace, sent to the process-wide
/// processors. See [`TraceBuilder`] for a trace id, group id, metadata or
/// processors of its own.
pub async fn trace<F: Future>(workflow_name: impl Into<String>, fut: F) -> F::Output {
    TraceBuilder::new(workflow_name).run(fut).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl TraceProcessor for Log {
        fn on_trace_start(&self, t: &Trace) {
            self.0
                .lock()
                .unwrap()
                .push(format!("trace+ {}", t.workflow_name));
        }
        fn on_trace_end(&self, t: &Trace) {
            assert!(t.ended_at.is_some());
            self.0
                .lock()
                .unwrap()
                .push(format!("trace- {}", t.workflow_name));
        }
        fn on_span_start(&self, s: &Span) {
            self.0.lock().unwrap().push(format!("+{}", s.data.name()));
        }
        fn on_span_end(&self, s: &Span) {
            self.0.lock().unwrap().push(format!("-{}", s.data.name()));
        }
    }

    /// Counts how each ended span reached it.
    #[derive(Default)]
    struct Ends {
        by_ref: Mutex<Vec<SpanId>>,
        owned: Mutex<Vec<SpanId>>,
        traces_by_ref: Mutex<Vec<String>>,
        traces_owned: Mutex<Vec<String>>,
    }

    impl TraceProcessor for Ends {
        fn on_trace_end(&self, t: &Trace) {
            self.traces_by_ref
                .lock()
                .unwrap()
                .push(t.trace_id.to_string());
        }
        fn on_trace_end_owned(&self, t: Trace) {
            assert!(t.ended_at.is_some());
            self.traces_owned
                .lock()
                .unwrap()
                .push(t.trace_id.to_string());
        }
        fn on_span_end(&self, s: &Span) {
            self.by_ref.lock().unwrap().push(s.span_id);
        }
        fn on_span_end_owned(&self, s: Span) {
            self.owned.lock().unwrap().push(s.span_id);
        }
    }

    #[test]
    fn the_last_processor_gets_each_ended_span_and_the_trace_end_by_value_the_others_by_reference()
    {
        let (first, last) = (Arc::new(Ends::default()), Arc::new(Ends::default()));
        let guard = TraceBuilder::new("w")
            .processors(vec![first.clone(), last.clone()])
            .start();
        let ctx = guard.context().unwrap().clone();
        let outer = ctx.start_span(None, SpanData::Custom(CustomSpanData::new("a", Map::new())));
        let inner = outer.child(SpanData::Custom(CustomSpanData::new("b", Map::new())));
        let ids = [inner.id().unwrap(), outer.id().unwrap()];
        let trace_id = guard.trace_id().to_owned();
        inner.end();
        drop(outer);
        guard.end();
        assert_eq!(*first.by_ref.lock().unwrap(), ids);
        assert!(first.owned.lock().unwrap().is_empty());
        assert_eq!(*last.owned.lock().unwrap(), ids);
        assert!(last.by_ref.lock().unwrap().is_empty());
        // The trace's end likewise.
        assert_eq!(*first.traces_by_ref.lock().unwrap(), [trace_id.as_str()]);
        assert!(first.traces_owned.lock().unwrap().is_empty());
        assert_eq!(*last.traces_owned.lock().unwrap(), [trace_id]);
        assert!(last.traces_by_ref.lock().unwrap().is_empty());
        // A processor that implements only `on_span_end` and
        // `on_trace_end` gets them either way.
        let log = Arc::new(Log::default());
        let guard = TraceBuilder::new("w").processors(vec![log.clone()]).start();
        let ctx = guard.context().unwrap().clone();
        ctx.start_span(None, SpanData::Custom(CustomSpanData::new("c", Map::new())))
            .end();
        guard.end();
        assert_eq!(*log.0.lock().unwrap(), ["trace+ w", "+c", "-c", "trace- w"]);
    }

    #[test]
    fn hex_digits_match_the_formatter() {
        for n in [0, 1, 0xabc, u64::MAX, 0x0123_4567_89ab_cdef, next_random()] {
            let mut s = String::new();
            push_hex(&mut s, n);
            assert_eq!(s, format!("{n:016x}"));
        }
    }

    #[test]
    fn trace_ids_have_the_reference_form_and_differ() {
        let a = gen_trace_id();
        let b = gen_trace_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 6 + 32);
        assert!(a.starts_with("trace_"));
        assert!(a[6..].chars().all(|c| c.is_ascii_hexdigit()));
        let s = SpanId::generate().to_string();
        assert!(s.starts_with("span_") && s.len() == 5 + 16, "{s}");
    }

    #[test]
    fn trace_id_bytes_read_the_hex_or_hash_the_rest() {
        let id = "trace_0123456789abcdef0123456789abcdef";
        assert_eq!(
            u128::from_be_bytes(trace_id_bytes(id)),
            0x0123456789abcdef0123456789abcdef
        );
        assert_eq!(trace_id_bytes("my-trace"), trace_id_bytes("my-trace"));
        assert_ne!(trace_id_bytes("my-trace"), trace_id_bytes("other"));
        assert_ne!(trace_id_bytes("trace_0"), [0; 16]);
    }

    #[test]
    fn spans_round_trip_through_json() {
        let span = Span {
            trace_id: Arc::from("trace_x"),
            span_id: SpanId::from_u64(0xabc),
            parent_id: Some(SpanId::from_u64(1)),
            started_at: UNIX_EPOCH + std::time::Duration::from_micros(5),
            ended_at: Some(UNIX_EPOCH + std::time::Duration::from_micros(9)),
            data: SpanData::Function(FunctionSpanData {
                name: "add".into(),
                call_id: "c1".into(),
                input: None,
                output: None,
            }),
            error: Some(SpanError::new("tool_error", "boom")),
        };
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(json["span_id"], "span_0000000000000abc");
        assert_eq!(json["data"]["type"], "function");
        assert_eq!(json["started_at"], 5);
        let back: Span = serde_json::from_value(json).unwrap();
        assert_eq!(back, span);
    }

    #[tokio::test]
    async fn custom_spans_nest_under_the_current_span_and_end_in_order() {
        let log = Arc::new(Log::default());
        assert!(!custom_span("outside", Map::new()).is_recording());
        TraceBuilder::new("wf")
            .processors(vec![log.clone()])
            .run(async {
                let outer = custom_span("outer", Map::new());
                let outer_id = outer.id();
                outer
                    .scope(async {
                        let inner = custom_span("inner", Map::new());
                        assert!(inner.is_recording());
                        assert_eq!(current_span().unwrap().parent, outer_id);
                    })
                    .await;
            })
            .await;
        assert_eq!(
            *log.0.lock().unwrap(),
            [
                "trace+ wf",
                "+outer",
                "+inner",
                "-inner",
                "-outer",
                "trace- wf"
            ]
        );
    }

    #[test]
    fn a_panicking_processor_is_skipped() {
        struct Bad;
        impl TraceProcessor for Bad {
            fn on_span_start(&self, _: &Span) {
                panic!("processor bug");
            }
        }
        let log = Arc::new(Log::default());
        let guard = TraceBuilder::new("wf")
            .processors(vec![Arc::new(Bad), log.clone()])
            .start();
        let ctx = guard.context().unwrap().clone();
        drop(ctx.start_span(None, SpanData::Custom(CustomSpanData::default())));
        guard.end();
        assert_eq!(log.0.lock().unwrap().len(), 4);
    }

    #[test]
    fn a_trace_without_processors_records_nothing() {
        let guard = TraceBuilder::new("wf")
            .processors(Vec::new())
            .trace_id("trace_given")
            .start();
        assert!(guard.context().is_none());
        assert_eq!(guard.trace_id(), "trace_given");
    }
}
