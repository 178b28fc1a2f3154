//! The mock's `POST /v1/traces/ingest`: the OpenAI traces backend that the reference SDK's
//! `BackendSpanExporter` (and `agents_model_openai::OpenAITracesExporter`) posts to.
//!
//! A batch is `{"data": [..]}` with `"object": "trace"` and `"object": "trace.span"` items.
//! The mock validates it strictly (headers, id forms, required fields, field types, the span
//! data of every kind, the usage keys the service accepts) and answers `400` naming the first
//! rule broken, or `200` and records the items. Scripted failures
//! ([`TraceIngest::fail_next`]) answer with an error status before validation, to test
//! retries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Map, Value};
use tokio::sync::Notify;

/// The path the mock serves for trace ingestion.
pub const TRACES_INGEST_PATH: &str = "/v1/traces/ingest";

/// One accepted or refused `POST /v1/traces/ingest`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IngestRequest {
    /// The status the mock answered.
    pub status: u16,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `OpenAI-Organization` header, if any.
    pub organization: Option<String>,
    /// The `OpenAI-Project` header, if any.
    pub project: Option<String>,
    /// The body as JSON (`Null` when it was not JSON).
    pub body: Value,
    /// Why the body was refused (`400`), naming the rule; empty when accepted.
    pub error: Option<String>,
}

#[derive(Default)]
struct State {
    requests: Vec<IngestRequest>,
    items: Vec<Value>,
    failures: VecDeque<u16>,
}

/// What the mock's trace ingestion received; from [`MockServer::trace_ingest`].
///
/// [`MockServer::trace_ingest`]: crate::MockServer::trace_ingest
#[derive(Clone, Default)]
pub struct TraceIngest {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl std::fmt::Debug for TraceIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("TraceIngest")
            .field("requests", &s.requests.len())
            .field("items", &s.items.len())
            .finish()
    }
}

impl TraceIngest {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers the next `count` ingest requests with `status` (a `500`, a `429`, ...), before
    /// looking at them; later requests are validated as usual.
    pub fn fail_next(&self, status: u16, count: usize) {
        let mut s = self.lock();
        s.failures.extend(std::iter::repeat_n(status, count));
    }

    /// Every ingest request so far, accepted or not.
    pub fn requests(&self) -> Vec<IngestRequest> {
        self.lock().requests.clone()
    }

    /// Every accepted item, in order.
    pub fn items(&self) -> Vec<Value> {
        self.lock().items.clone()
    }

    /// The accepted `"object": "trace"` items.
    pub fn traces(&self) -> Vec<Value> {
        self.of_object("trace")
    }

    /// The accepted `"object": "trace.span"` items.
    pub fn spans(&self) -> Vec<Value> {
        self.of_object("trace.span")
    }

    fn of_object(&self, object: &str) -> Vec<Value> {
        self.lock()
            .items
            .iter()
            .filter(|i| i["object"] == object)
            .cloned()
            .collect()
    }

    /// The refused requests' rule messages.
    pub fn rejections(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter_map(|r| r.error.clone())
            .collect()
    }

    /// Waits until at least `n` spans were accepted; an error naming the count otherwise.
    pub async fn wait_for_spans(&self, n: usize, timeout: Duration) -> Result<Vec<Value>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let spans = self.spans();
            if spans.len() >= n {
                return Ok(spans);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "agents-testkit: waited {timeout:?} for {n} trace span(s), got {}",
                    spans.len()
                ));
            }
        }
    }

    /// Handles one request: a scripted failure, or validation and recording.
    pub(crate) fn handle(&self, headers: &HeaderMap, body: &[u8]) -> (u16, Value) {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let scripted = self.lock().failures.pop_front();
        let (status, error) = match scripted {
            Some(status) => (status, Some(format!("scripted failure {status}"))),
            None => match validate(headers, json.as_ref()) {
                Ok(()) => (200, None),
                Err(rule) => (400, Some(rule)),
            },
        };
        let mut s = self.lock();
        if status == 200 {
            if let Some(Value::Array(items)) = json.as_ref().and_then(|j| j.get("data")) {
                s.items.extend(items.iter().cloned());
            }
        }
        s.requests.push(IngestRequest {
            status,
            authorization: header("authorization"),
            organization: header("openai-organization"),
            project: header("openai-project"),
            body: json.unwrap_or(Value::Null),
            error: if status == 400 { error.clone() } else { None },
        });
        drop(s);
        self.arrived.notify_waiters();
        let reply = match (status, error) {
            (200, _) => serde_json::json!({}),
            (_, message) => serde_json::json!({"error": {
                "message": format!("agents-testkit: {}", message.unwrap_or_default()),
                "type": if status == 400 { "invalid_request_error" } else { "server_error" },
                "param": null,
                "code": null,
            }}),
        };
        (status, reply)
    }
}

/// Checks headers and body; `Err` names the first rule broken and where.
pub fn validate(headers: &HeaderMap, body: Option<&Value>) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match header("authorization") {
        Some(a)
            if a.strip_prefix("Bearer ")
                .is_some_and(|k| !k.trim().is_empty()) => {}
        _ => return Err("the `Authorization: Bearer <key>` header is required".into()),
    }
    if header("openai-beta") != Some("traces=v1") {
        return Err("the `OpenAI-Beta: traces=v1` header is required".into());
    }
    if !header("content-type").is_some_and(|c| c.starts_with("application/json")) {
        return Err("the body must be sent as `Content-Type: application/json`".into());
    }
    let Some(Value::Object(body)) = body else {
        return Err("the body must be a JSON object".into());
    };
    only_keys(body, &["data"], "body")?;
    let Some(Value::Array(data)) = body.get("data") else {
        return Err("body.data must be an array".into());
    };
    for (i, item) in data.iter().enumerate() {
        let at = format!("data[{i}]");
        let Value::Object(item) = item else {
            return Err(format!("{at} must be an object"));
        };
        match item.get("object").and_then(Value::as_str) {
            Some("trace") => check_trace(item, &at)?,
            Some("trace.span") => check_span(item, &at)?,
            _ => return Err(format!("{at}.object must be \"trace\" or \"trace.span\"")),
        }
    }
    Ok(())
}

fn only_keys(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{at}: unknown field `{k}`")),
        None => Ok(()),
    }
}

fn is_hex_id(s: &str, prefix: &str, digits: usize) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        h.len() == digits
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn check_trace_id(v: Option<&Value>, at: &str) -> Result<(), String> {
    match v.and_then(Value::as_str) {
        Some(id) if is_hex_id(id, "trace_", 32) => Ok(()),
        _ => Err(format!(
            "{at}: a trace id is `trace_` and 32 lowercase hex digits"
        )),
    }
}

fn check_span_id(v: Option<&Value>, at: &str) -> Result<(), String> {
    match v.and_then(Value::as_str) {
        Some(id) if is_hex_id(id, "span_", 24) => Ok(()),
        _ => Err(format!(
            "{at}: a span id is `span_` and 24 lowercase hex digits"
        )),
    }
}

/// `Kind` of a field: what JSON types it may hold.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    StrOrNull,
    NonEmptyStr,
    ArrOrNull,
    StrArrOrNull,
    ObjOrNull,
    Obj,
    Bool,
}

fn check_field(map: &Map<String, Value>, key: &str, kind: Kind, at: &str) -> Result<(), String> {
    let v = map.get(key);
    let ok = match (kind, v) {
        (_, None) => false,
        (Kind::Str, Some(Value::String(_))) => true,
        (Kind::NonEmptyStr, Some(Value::String(s))) => !s.is_empty(),
        (Kind::StrOrNull, Some(Value::String(_) | Value::Null)) => true,
        (Kind::ArrOrNull, Some(Value::Array(_) | Value::Null)) => true,
        (Kind::StrArrOrNull, Some(Value::Null)) => true,
        (Kind::StrArrOrNull, Some(Value::Array(a))) => a.iter().all(Value::is_string),
        (Kind::ObjOrNull, Some(Value::Object(_) | Value::Null)) => true,
        (Kind::Obj, Some(Value::Object(_))) => true,
        (Kind::Bool, Some(Value::Bool(_))) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let what = match kind {
        Kind::Str => "a string",
        Kind::NonEmptyStr => "a non-empty string",
        Kind::StrOrNull => "a string or null",
        Kind::ArrOrNull => "an array or null",
        Kind::StrArrOrNull => "an array of strings or null",
        Kind::ObjOrNull => "an object or null",
        Kind::Obj => "an object",
        Kind::Bool => "a boolean",
    };
    match v {
        None => Err(format!("{at}.{key} is required ({what})")),
        Some(_) => Err(format!("{at}.{key} must be {what}")),
    }
}

fn check_trace(item: &Map<String, Value>, at: &str) -> Result<(), String> {
    only_keys(
        item,
        &["object", "id", "workflow_name", "group_id", "metadata"],
        at,
    )?;
    check_trace_id(item.get("id"), &format!("{at}.id"))?;
    check_field(item, "workflow_name", Kind::NonEmptyStr, at)?;
    check_field(item, "group_id", Kind::StrOrNull, at)?;
    check_field(item, "metadata", Kind::ObjOrNull, at)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as Python's `datetime.isoformat()` writes.
fn is_iso_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10))
        || b[10] != b'T'
        || !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19))
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && rest.as_bytes()[3] == b':'
            && rest[4..6].bytes().all(|c| c.is_ascii_digit()))
}

fn check_time(item: &Map<String, Value>, key: &str, at: &str) -> Result<(), String> {
    match item.get(key) {
        Some(Value::String(s)) if is_iso_time(s) => Ok(()),
        Some(Value::Null) if key == "ended_at" => Ok(()),
        _ => Err(format!(
            "{at}.{key} must be an ISO 8601 time with a UTC offset (`2025-01-01T12:00:00.000000+00:00`)"
        )),
    }
}

/// The usage keys the traces backend accepts in a generation span (others are refused).
const USAGE_KEYS: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_tokens_details",
    "output_tokens_details",
];

fn check_span(item: &Map<String, Value>, at: &str) -> Result<(), String> {
    only_keys(
        item,
        &[
            "object",
            "id",
            "trace_id",
            "parent_id",
            "started_at",
            "ended_at",
            "span_data",
            "error",
        ],
        at,
    )?;
    check_span_id(item.get("id"), &format!("{at}.id"))?;
    check_trace_id(item.get("trace_id"), &format!("{at}.trace_id"))?;
    match item.get("parent_id") {
        Some(Value::Null) => {}
        other => check_span_id(other, &format!("{at}.parent_id (or null)"))?,
    }
    check_time(item, "started_at", at)?;
    check_time(item, "ended_at", at)?;
    match item.get("error") {
        Some(Value::Null) => {}
        Some(Value::Object(e)) => {
            let at = format!("{at}.error");
            only_keys(e, &["message", "data"], &at)?;
            check_field(e, "message", Kind::Str, &at)?;
            check_field(e, "data", Kind::ObjOrNull, &at)?;
        }
        _ => {
            return Err(format!(
                "{at}.error is required (null or {{message, data}})"
            ))
        }
    }
    let Some(Value::Object(data)) = item.get("span_data") else {
        return Err(format!("{at}.span_data is required (an object)"));
    };
    let at = format!("{at}.span_data");
    let fields: &[(&str, Kind)] = match data.get("type").and_then(Value::as_str) {
        Some("agent") => &[
            ("name", Kind::NonEmptyStr),
            ("handoffs", Kind::StrArrOrNull),
            ("tools", Kind::StrArrOrNull),
            ("output_type", Kind::StrOrNull),
        ],
        Some("generation") => &[
            ("input", Kind::ArrOrNull),
            ("output", Kind::ArrOrNull),
            ("model", Kind::StrOrNull),
            ("model_config", Kind::ObjOrNull),
            ("usage", Kind::ObjOrNull),
        ],
        Some("response") => &[("response_id", Kind::StrOrNull), ("usage", Kind::ObjOrNull)],
        Some("function") => &[
            ("name", Kind::NonEmptyStr),
            ("input", Kind::StrOrNull),
            ("output", Kind::StrOrNull),
            ("mcp_data", Kind::ObjOrNull),
        ],
        Some("handoff") => &[
            ("from_agent", Kind::StrOrNull),
            ("to_agent", Kind::StrOrNull),
        ],
        Some("guardrail") => &[("name", Kind::NonEmptyStr), ("triggered", Kind::Bool)],
        Some("mcp_tools") => &[("server", Kind::StrOrNull), ("result", Kind::StrArrOrNull)],
        Some("custom") => &[("name", Kind::NonEmptyStr), ("data", Kind::Obj)],
        _ => {
            return Err(format!(
                "{at}.type must be one of agent, generation, response, function, handoff, \
                 guardrail, mcp_tools, custom"
            ))
        }
    };
    let mut allowed: Vec<&str> = vec!["type"];
    allowed.extend(fields.iter().map(|(k, _)| *k));
    only_keys(data, &allowed, &at)?;
    for (key, kind) in fields {
        check_field(data, key, *kind, &at)?;
    }
    if let Some(Value::Object(usage)) = data.get("usage") {
        if let Some(k) = usage.keys().find(|k| !USAGE_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "{at}.usage: unknown field `{k}` (accepted: {})",
                USAGE_KEYS.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer sk-x".parse().unwrap());
        h.insert("openai-beta", "traces=v1".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        h
    }

    fn span() -> Value {
        json!({
            "object": "trace.span",
            "id": "span_0123456789abcdef01234567",
            "trace_id": "trace_0123456789abcdef0123456789abcdef",
            "parent_id": null,
            "started_at": "2025-01-01T12:00:00.123456+00:00",
            "ended_at": "2025-01-01T12:00:01+00:00",
            "span_data": {"type": "function", "name": "add", "input": null, "output": null, "mcp_data": null},
            "error": null
        })
    }

    #[test]
    fn a_well_formed_batch_passes() {
        let trace = json!({"object": "trace", "id": "trace_0123456789abcdef0123456789abcdef",
            "workflow_name": "wf", "group_id": null, "metadata": {"k": "v"}});
        validate(&headers(), Some(&json!({"data": [trace, span()]}))).unwrap();
    }

    #[test]
    fn each_rule_is_named() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/id", json!("span_0123"), "24 lowercase hex"),
            ("/trace_id", json!("trace_given"), "32 lowercase hex"),
            ("/parent_id", json!(7), "span id"),
            ("/started_at", json!("yesterday"), "ISO 8601"),
            ("/object", json!("span"), "\"trace.span\""),
            ("/span_data/type", json!("tool"), "type must be one of"),
            ("/span_data/name", json!(""), "non-empty"),
            ("/span_data/call_id", json!("c1"), "unknown field `call_id`"),
            ("/error", json!({"message": "x"}), "error.data is required"),
        ];
        for (pointer, value, rule) in cases {
            let mut s = span();
            match s.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    let (parent, key) = pointer.rsplit_once('/').unwrap();
                    s.pointer_mut(if parent.is_empty() { "" } else { parent })
                        .unwrap()
                        .as_object_mut()
                        .unwrap()
                        .insert(key.to_owned(), value);
                }
            }
            let err = validate(&headers(), Some(&json!({"data": [s]}))).unwrap_err();
            assert!(err.contains(rule), "{pointer}: {err}");
        }
        let mut h = headers();
        h.remove("openai-beta");
        assert!(validate(&h, Some(&json!({"data": []})))
            .unwrap_err()
            .contains("OpenAI-Beta"));
        let mut g = span();
        g["span_data"] = json!({"type": "generation", "input": null, "output": null, "model": "m",
            "model_config": null, "usage": {"input_tokens": 1, "requests": 1}});
        assert!(validate(&headers(), Some(&json!({"data": [g]})))
            .unwrap_err()
            .contains("unknown field `requests`"));
    }
}
