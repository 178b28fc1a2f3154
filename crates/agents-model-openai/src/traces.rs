//! The OpenAI traces exporter: the reference SDK's default tracing backend.
//!
//! [`OpenAITracesExporter`] is a [`TraceExporter`]: it runs behind a
//! [`BatchTraceProcessor`] (export happens on the processor's thread, never
//! on a run's task) and posts batches to `{base_url}/traces/ingest` as the
//! reference SDK's `BackendSpanExporter` does: `{"data": [..]}` with
//! `"object": "trace"` and `"object": "trace.span"` items, the
//! `Authorization: Bearer`, `OpenAI-Beta: traces=v1` and optional
//! `OpenAI-Organization` / `OpenAI-Project` headers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use agents_core::trace::{
    trace_id_bytes, BatchConfig, BatchTraceProcessor, Span, SpanData, SpanId, Trace, TraceExporter,
    TraceRecord,
};
use agents_core::{ModelError, RetrySettings};
use agents_http::{map_reqwest_error, with_timeout, HttpClient, RetryState};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use crate::client::OPENAI_BASE_URL;

/// The path appended to the base URL: `{base_url}/traces/ingest`.
pub const TRACES_INGEST_PATH: &str = "/traces/ingest";

/// The usage keys the traces backend accepts in a generation span.
const USAGE_KEYS: [&str; 5] = [
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_tokens_details",
    "output_tokens_details",
];

/// Exports traces and spans to the OpenAI traces backend (the dashboard's
/// *Traces* page), like the reference SDK's default exporter.
///
/// - **Configuration:** [`from_env`](Self::from_env) reads `OPENAI_API_KEY`,
///   `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`; the builder
///   methods win over them. Without a key nothing is sent: each batch fails
///   with an error the processor counts ([`BatchTraceProcessor::last_error`]).
/// - **Retries:** connection failures, timeouts, 408, 409, 429 and 5xx are
///   retried with exponential backoff (3 retries, 1 s doubling to 30 s, a
///   `Retry-After` of at most 60 s honoured); other 4xx drop the batch.
/// - **Never in a run's way:** it runs on the [`BatchTraceProcessor`]'s
///   thread, whose queue drops (and counts) records when full. A failed
///   batch is counted and dropped; a run never waits for it or fails by it.
/// - **The key** never appears in `Debug` output or errors.
///
/// What is sent: a trace once (as it starts), each span as it ends. Ids
/// keep their form: a `trace_<32 hex>` id is sent as is (any other trace id
/// as `trace_` and the 32 hex digits of its stable hash,
/// [`trace_id_bytes`]), and a span id `span_<16 hex>` as `span_<24 hex>`
/// (zero-padded). Times are ISO 8601 in UTC with microseconds. Inputs and
/// outputs of model calls and tools are in the spans only when the run
/// captured them (`RunConfig::trace_include_sensitive_data`).
///
/// ```
/// use agents_core::trace::{add_trace_processor, TraceProcessor};
/// use agents_model_openai::OpenAITracesExporter;
///
/// let exporter = OpenAITracesExporter::from_env().organization("org-123");
/// assert!(!format!("{exporter:?}").contains("sk-"));
/// let processor = exporter.processor();
/// add_trace_processor(processor.clone());
/// // ... runs ...
/// processor.shutdown(); // exports what is queued
/// ```
pub struct OpenAITracesExporter {
    endpoint: String,
    api_key: Option<SecretString>,
    organization: Option<String>,
    project: Option<String>,
    retry: RetrySettings,
    timeout: Duration,
    http: HttpClient,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for OpenAITracesExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAITracesExporter")
            .field("endpoint", &self.endpoint)
            .field("has_api_key", &self.api_key.is_some())
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for OpenAITracesExporter {
    fn default() -> Self {
        Self::new()
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl OpenAITracesExporter {
    /// An exporter to `https://api.openai.com/v1/traces/ingest` with no key
    /// (set one with [`api_key`](Self::api_key)); reads no environment.
    pub fn new() -> Self {
        OpenAITracesExporter {
            endpoint: format!("{OPENAI_BASE_URL}{TRACES_INGEST_PATH}"),
            api_key: None,
            organization: None,
            project: None,
            retry: RetrySettings::new(3)
                .with_backoff(Duration::from_secs(1), Duration::from_secs(30)),
            timeout: Duration::from_secs(30),
            http: HttpClient::new(),
            runtime: None,
        }
    }

    /// An exporter configured from `OPENAI_API_KEY`, `OPENAI_BASE_URL`
    /// (the endpoint is `{OPENAI_BASE_URL}/traces/ingest`), `OPENAI_ORG_ID`
    /// and `OPENAI_PROJECT_ID`.
    pub fn from_env() -> Self {
        let mut e = Self::new();
        e.api_key = non_empty_env("OPENAI_API_KEY").map(SecretString::from);
        if let Some(base) = non_empty_env("OPENAI_BASE_URL") {
            e = e.base_url(base);
        }
        e.organization = non_empty_env("OPENAI_ORG_ID");
        e.project = non_empty_env("OPENAI_PROJECT_ID");
        e
    }

    /// The API key sent as `Authorization: Bearer`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Posts to `{base_url}/traces/ingest` (`https://api.openai.com/v1` by
    /// default).
    pub fn base_url(mut self, base_url: impl AsRef<str>) -> Self {
        self.endpoint = format!(
            "{}{TRACES_INGEST_PATH}",
            base_url.as_ref().trim_end_matches('/')
        );
        self
    }

    /// Posts to exactly this URL.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = url.into();
        self
    }

    /// Sends `OpenAI-Organization`.
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Sends `OpenAI-Project`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The retry policy of one batch (default: 3 retries, 1 s backoff
    /// doubling up to 30 s).
    pub fn retry(mut self, retry: RetrySettings) -> Self {
        self.retry = retry;
        self
    }

    /// The timeout of one attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends with this `reqwest::Client` (proxies, TLS roots).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = HttpClient::new().with_reqwest(http);
        self
    }

    /// The URL batches are posted to.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// This exporter behind a [`BatchTraceProcessor`] with the reference
    /// SDK's batching (128 records per request, at least every 5 s, a queue
    /// of 8,192): register it with `add_trace_processor` or per run, and
    /// call `shutdown` (or `force_flush`) before the program exits.
    pub fn processor(self) -> Arc<BatchTraceProcessor> {
        let config = BatchConfig::default()
            .max_batch(128)
            .interval(Duration::from_secs(5));
        self.processor_with(config)
    }

    /// This exporter behind a [`BatchTraceProcessor`] with `config`.
    pub fn processor_with(self, config: BatchConfig) -> Arc<BatchTraceProcessor> {
        Arc::new(BatchTraceProcessor::with_config(self, config))
    }

    /// The JSON items the backend receives for `batch` (trace ends are not
    /// sent: a trace is sent once, as it starts).
    pub fn payload(batch: &[TraceRecord]) -> Vec<Value> {
        batch.iter().filter_map(record_json).collect()
    }

    fn headers(&self, key: &SecretString) -> Result<HeaderMap, ModelError> {
        let invalid = |name: &str| ModelError::InvalidHeader {
            name: name.to_owned(),
        };
        let mut h = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
            .map_err(|_| invalid("Authorization"))?;
        auth.set_sensitive(true);
        h.insert(AUTHORIZATION, auth);
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert("openai-beta", HeaderValue::from_static("traces=v1"));
        if let Some(org) = &self.organization {
            h.insert(
                "openai-organization",
                HeaderValue::from_str(org).map_err(|_| invalid("OpenAI-Organization"))?,
            );
        }
        if let Some(project) = &self.project {
            h.insert(
                "openai-project",
                HeaderValue::from_str(project).map_err(|_| invalid("OpenAI-Project"))?,
            );
        }
        Ok(h)
    }

    async fn post(&self, headers: HeaderMap, body: bytes::Bytes) -> Result<(), ModelError> {
        let mut retry = RetryState::new(Some(&self.retry));
        loop {
            let attempt = with_timeout(Some(self.timeout), async {
                let request = self
                    .http
                    .reqwest()?
                    .post(&self.endpoint)
                    .headers(headers.clone())
                    .body(body.clone())
                    .build()
                    .map_err(map_reqwest_error)?;
                self.http.send(request).await.map(drop)
            })
            .await;
            match attempt {
                Ok(()) => return Ok(()),
                Err(error) => match retry.next_delay(&error) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(error),
                },
            }
        }
    }
}

impl TraceExporter for OpenAITracesExporter {
    fn export(&mut self, batch: &[TraceRecord]) -> Result<(), String> {
        let data = Self::payload(batch);
        if data.is_empty() {
            return Ok(());
        }
        let Some(key) = &self.api_key else {
            return Err(format!(
                "no OpenAI API key (OPENAI_API_KEY): {} trace items not exported",
                data.len()
            ));
        };
        let headers = self.headers(key).map_err(|e| e.to_string())?;
        let body = serde_json::to_vec(&json!({ "data": data }))
            .map_err(|e| format!("cannot encode the traces: {e}"))?;
        if self.runtime.is_none() {
            // Built on the export thread, on first use: never inside a caller's runtime.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the trace export runtime: {e}"))?;
            self.runtime = Some(rt);
        }
        let Some(rt) = &self.runtime else {
            return Err("no trace export runtime".into());
        };
        rt.block_on(self.post(headers, bytes::Bytes::from(body)))
            .map_err(|e| format!("POST {}: {e}", self.endpoint))
    }
}

fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// A trace id in the backend's form: `trace_<32 lowercase hex>`.
fn api_trace_id(id: &str) -> String {
    let hex = id.strip_prefix("trace_").unwrap_or_default();
    let ok = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        id.to_owned()
    } else {
        format!("trace_{:032x}", u128::from_be_bytes(trace_id_bytes(id)))
    }
}

fn api_span_id(id: SpanId) -> String {
    format!("span_{:024x}", id.to_u64())
}

fn record_json(record: &TraceRecord) -> Option<Value> {
    match record {
        TraceRecord::Trace(t) if t.ended_at.is_none() => Some(trace_json(t)),
        TraceRecord::Span(s) => Some(span_json(s)),
        _ => None,
    }
}

fn trace_json(t: &Trace) -> Value {
    let metadata = (!t.metadata.is_empty()).then(|| {
        t.metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>()
    });
    let name = if t.workflow_name.is_empty() {
        "Agent workflow"
    } else {
        &t.workflow_name
    };
    json!({
        "object": "trace",
        "id": api_trace_id(&t.trace_id),
        "workflow_name": name,
        "group_id": t.group_id,
        "metadata": metadata,
    })
}

fn span_json(s: &Span) -> Value {
    let error = s
        .error
        .as_ref()
        .map(|e| json!({"message": e.message, "data": {"kind": e.kind}}));
    json!({
        "object": "trace.span",
        "id": api_span_id(s.span_id),
        "trace_id": api_trace_id(&s.trace_id),
        "parent_id": s.parent_id.map(api_span_id),
        "started_at": iso(s.started_at),
        "ended_at": s.ended_at.map(iso),
        "span_data": span_data_json(&s.data),
        "error": error,
    })
}

fn non_empty_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_owned())
    }
}

fn span_data_json(data: &SpanData) -> Value {
    match data {
        SpanData::Agent(a) => json!({
            "type": "agent",
            "name": a.name,
            "handoffs": a.handoffs,
            "tools": a.tools,
            "output_type": a.output_type,
        }),
        SpanData::Generation(g) => {
            let to_json = |items: &Option<Vec<agents_core::Item>>| {
                items
                    .as_ref()
                    .and_then(|i| serde_json::to_value(i).ok())
                    .unwrap_or(Value::Null)
            };
            let usage = g.usage.as_ref().map(|u| {
                let mut m = Map::new();
                m.insert("input_tokens".into(), u.input_tokens.into());
                m.insert("output_tokens".into(), u.output_tokens.into());
                m.insert("total_tokens".into(), u.total_tokens.into());
                m.insert(
                    "input_tokens_details".into(),
                    json!({"cached_tokens": u.cached_input_tokens}),
                );
                m.insert(
                    "output_tokens_details".into(),
                    json!({"reasoning_tokens": u.reasoning_tokens}),
                );
                debug_assert!(m.keys().all(|k| USAGE_KEYS.contains(&k.as_str())));
                Value::Object(m)
            });
            let config = g
                .model_config
                .as_ref()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or(Value::Null);
            json!({
                "type": "generation",
                "input": to_json(&g.input),
                "output": to_json(&g.output),
                "model": g.model,
                "model_config": config,
                "usage": usage,
            })
        }
        SpanData::Function(f) => json!({
            "type": "function",
            "name": f.name,
            "input": f.input,
            "output": f.output.as_deref().filter(|o| !o.is_empty()),
            "mcp_data": null,
        }),
        SpanData::Handoff(h) => json!({
            "type": "handoff",
            "from_agent": non_empty_or_null(&h.from_agent),
            "to_agent": non_empty_or_null(&h.to_agent),
        }),
        SpanData::Guardrail(g) => json!({
            "type": "guardrail",
            "name": g.name,
            "triggered": g.triggered,
        }),
        SpanData::McpTools(m) => json!({
            "type": "mcp_tools",
            "server": non_empty_or_null(&m.server),
            "result": m.result,
        }),
        SpanData::Custom(c) => json!({
            "type": "custom",
            "name": c.name,
            "data": c.data,
        }),
        // A kind added later: sent as a custom span of that kind.
        other => json!({
            "type": "custom",
            "name": other.kind(),
            "data": {"name": other.name()},
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_take_the_backend_form() {
        let id = "trace_0123456789abcdef0123456789abcdef";
        assert_eq!(api_trace_id(id), id);
        let other = api_trace_id("my-trace");
        assert_eq!(other.len(), 6 + 32);
        assert_eq!(other, api_trace_id("my-trace"));
        assert_eq!(
            api_span_id(SpanId::from_u64(0xabc)),
            "span_000000000000000000000abc"
        );
    }

    #[test]
    fn times_are_iso_utc_with_micros() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(iso(t), "2023-11-14T22:13:20.123456+00:00");
    }

    #[test]
    fn the_key_is_not_in_debug() {
        let e = OpenAITracesExporter::new().api_key("sk-secret-123");
        let d = format!("{e:?}");
        assert!(
            !d.contains("sk-secret-123") && d.contains("has_api_key: true"),
            "{d}"
        );
    }
}
