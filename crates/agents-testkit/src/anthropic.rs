//! Anthropic's Messages API on the mock server: `POST /v1/messages`, JSON or SSE (`"stream":
//! true`).
//!
//! The same `MockServer`, reply queue and [`Fault`]s serve
//! it; a [`Reply`] is rendered as a `Message` (JSON) or as the Messages event stream
//! (`message_start`, `ping`, `content_block_start` / `_delta` / `_stop`, `message_delta`,
//! `message_stop`):
//!
//! - a text item becomes a `text` block (streamed as one `text_delta` per delta);
//! - a function call becomes a `tool_use` block with its arguments parsed as `input`
//!   (streamed as `input_json_delta`s of the raw arguments);
//! - a reasoning item with a summary becomes a `thinking` block (the summary is the thinking
//!   text, streamed as `thinking_delta`s, and its `encrypted_content` the `signature`, else a
//!   generated one, sent as one `signature_delta`); one without a summary but with
//!   `encrypted_content` becomes a `redacted_thinking` block;
//! - usage: `input_tokens` are the uncached input tokens (usage input minus cached minus
//!   [`Reply::anthropic_cache_creation_tokens`]), cached tokens are `cache_read_input_tokens`;
//! - the stop reason is `tool_use` with calls, `max_tokens` for [`Reply::max_tokens_reached`],
//!   else `end_turn`, or what [`Reply::anthropic_stop_reason`] /
//!   [`Reply::anthropic_refusal`] say;
//! - [`Reply::status`] is an Anthropic-shaped error (`{"type": "error", "error": {"type",
//!   "message"}}`): 529 is `overloaded_error` ([`Reply::overloaded`]), 429 `rate_limit_error`.
//!
//! # Validation
//!
//! Every request body is validated with the official `anthropic` Python package:
//! `TypeAdapter(MessageCreateParams)` in strict mode with unknown fields refused, then the rules
//! the service enforces beyond the types (tool_use/tool_result pairing, the extended-thinking
//! rules, cache breakpoint count; see `python/anthropic_validate.py`). The request must also
//! carry `anthropic-version` and an `x-api-key`. Responses carry the request id in
//! `request-id`, the header Anthropic sends (not `x-request-id`), and the mock's own errors
//! (a refused body, no reply left) are Anthropic-shaped too. Without the Python package, body validation is
//! skipped with a note, except under `CI=true`, where every Anthropic request fails.
//! [`validate_anthropic`] runs the same checks on any payload; [`anthropic_rendering`] gives
//! what the mock would send, so tests check every reply and event against the SDK's response
//! models.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::render::{BodyPlan, Rendered, SseBuf};
use crate::reply::{Fault, Item, Reply, ReplySpec};
use crate::{running_in_ci, Api};

/// Anthropic-only settings of a reply.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnthropicReply {
    stop_reason: Option<String>,
    cache_creation_tokens: u64,
}

impl Reply {
    /// Anthropic only: the model declines: `stop_reason: "refusal"`, with `text` (possibly
    /// empty) as what it said.
    pub fn anthropic_refusal(text: impl Into<String>) -> Self {
        let text = text.into();
        let reply = if text.is_empty() {
            Reply::new()
        } else {
            Reply::text(text)
        };
        reply.anthropic_stop_reason("refusal")
    }

    /// Anthropic only: this `stop_reason` (`end_turn`, `stop_sequence`, `pause_turn`,
    /// `refusal`, `model_context_window_exceeded`, ...) instead of the derived one.
    pub fn anthropic_stop_reason(self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.edit(|s| s.anthropic.stop_reason = Some(reason))
    }

    /// Anthropic only: input tokens written to the prompt cache
    /// (`cache_creation_input_tokens`), counted within the usage's input tokens.
    pub fn anthropic_cache_creation_tokens(self, tokens: u64) -> Self {
        self.edit(|s| s.anthropic.cache_creation_tokens = tokens)
    }

    /// Anthropic's `529 overloaded_error` (retryable).
    pub fn overloaded() -> Self {
        Reply::status(529)
    }
}

/// Whether `path` is the Anthropic endpoint of the mock.
pub(crate) fn is_anthropic_path(path: &str) -> bool {
    path == "/v1/messages"
}

static NOTED: OnceLock<()> = OnceLock::new();

/// Validates `payload` with the official `anthropic` package: `kind` is `anthropic.request`,
/// `anthropic.response`, `anthropic.stream_event` or `anthropic.error`. Returns the problems
/// found (empty when valid), or `Err` with the reason when the validator cannot run.
pub fn validate_anthropic(kind: &str, payload: &Value) -> Result<Vec<String>, String> {
    crate::pyvalidate::validate(kind, payload)
}

/// All the checks of an Anthropic request: headers, then (when `python`) the official types and
/// service rules.
pub(crate) fn validate_request(body: &Value, headers: &HeaderMap, python: bool) -> Vec<String> {
    let mut errors = Vec::new();
    if headers.get("anthropic-version").is_none() {
        errors.push("anthropic-version: header is required".to_owned());
    }
    if headers.get("x-api-key").is_none() && headers.get("authorization").is_none() {
        errors.push("x-api-key: header is required".to_owned());
    }
    if !python {
        return errors;
    }
    match validate_anthropic("anthropic.request", body) {
        Ok(found) => errors.extend(found),
        Err(reason) if running_in_ci() => errors.push(format!(
            "the anthropic validator is required under CI=true: {reason}"
        )),
        Err(reason) => {
            NOTED.get_or_init(|| {
                eprintln!("note: agents-testkit: Anthropic bodies are not validated: {reason}");
            });
        }
    }
    errors
}

fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An Anthropic-shaped error body.
pub(crate) fn error_body(status: u16, message: &str, request_id: Option<&str>) -> Vec<u8> {
    let mut body =
        json!({"type": "error", "error": {"type": error_type(status), "message": message}});
    if let Some(id) = request_id {
        body["request_id"] = json!(id);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// One content block of the reply, with what its stream needs.
enum Block<'a> {
    Text(&'a str, Vec<&'a str>),
    Thinking(&'a str, Vec<&'a str>, String),
    Redacted(String),
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
        deltas: Vec<&'a str>,
    },
}

fn blocks(reply: &ReplySpec) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    for item in &reply.items {
        match item {
            Item::Text { text, deltas } => {
                out.push(Block::Text(
                    text,
                    reply.text_deltas(text, deltas.as_deref()),
                ));
            }
            Item::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let input = match serde_json::from_str::<Value>(arguments) {
                    Ok(v @ Value::Object(_)) => v,
                    _ => Value::Object(Map::new()),
                };
                out.push(Block::ToolUse {
                    id: call_id,
                    name,
                    input,
                    deltas: reply.argument_deltas(arguments),
                });
            }
            Item::Reasoning(r) => match (&r.summary, &r.encrypted_content) {
                (Some(summary), signature) => {
                    let signature = signature.clone().unwrap_or_else(|| {
                        format!("sig_mock_{}", NEXT.fetch_add(1, Ordering::Relaxed))
                    });
                    out.push(Block::Thinking(
                        summary,
                        reply.text_deltas(summary, None),
                        signature,
                    ));
                }
                (None, Some(data)) => out.push(Block::Redacted(data.clone())),
                (None, None) => out.push(Block::Redacted(format!(
                    "redacted_mock_{}",
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ))),
            },
            Item::Hosted { .. } => {} // the Messages API has no such items
        }
    }
    out
}

impl Block<'_> {
    fn whole(&self) -> Value {
        match self {
            Block::Text(text, _) => json!({"type": "text", "text": text, "citations": null}),
            Block::Thinking(text, _, sig) => {
                json!({"type": "thinking", "thinking": text, "signature": sig})
            }
            Block::Redacted(data) => json!({"type": "redacted_thinking", "data": data}),
            Block::ToolUse {
                id, name, input, ..
            } => json!({"type": "tool_use", "id": id, "name": name, "input": input}),
        }
    }

    fn start(&self) -> Value {
        match self {
            Block::Text(..) => json!({"type": "text", "text": "", "citations": null}),
            Block::Thinking(..) => json!({"type": "thinking", "thinking": "", "signature": ""}),
            Block::Redacted(data) => json!({"type": "redacted_thinking", "data": data}),
            Block::ToolUse { id, name, .. } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": {}})
            }
        }
    }
}

fn stop_reason(reply: &ReplySpec) -> String {
    if let Some(reason) = &reply.anthropic.stop_reason {
        return reason.clone();
    }
    if reply.incomplete {
        "max_tokens".to_owned()
    } else if reply
        .items
        .iter()
        .any(|i| matches!(i, Item::FunctionCall { .. }))
    {
        "tool_use".to_owned()
    } else {
        "end_turn".to_owned()
    }
}

fn usage(reply: &ReplySpec, output_tokens: u64) -> Value {
    let u = reply.usage;
    let created = reply.anthropic.cache_creation_tokens;
    json!({
        "input_tokens": u.input_tokens.saturating_sub(u.cached_tokens).saturating_sub(created),
        "output_tokens": output_tokens,
        "cache_read_input_tokens": u.cached_tokens,
        "cache_creation_input_tokens": created,
    })
}

/// Renders `reply` for a `/v1/messages` request.
pub(crate) fn render(reply: &ReplySpec, request: &Value, stream: bool) -> Rendered {
    if let Some(error) = &reply.error {
        return Rendered {
            status: error.status,
            content_type: "application/json",
            body: BodyPlan::Full(error_body(error.status, &error.message, None)),
        };
    }
    if reply.has_fault(|f| *f == Fault::InvalidJsonBody)
        || (!stream && reply.has_fault(|f| *f == Fault::MalformedEvent))
    {
        return Rendered {
            status: 200,
            content_type: "application/json",
            body: BodyPlan::Full(b"{\"id\": this body is not JSON".to_vec()),
        };
    }
    let model = reply
        .model
        .as_deref()
        .or_else(|| request.get("model").and_then(Value::as_str))
        .unwrap_or("claude-mock")
        .to_owned();
    let id = reply
        .response_id
        .clone()
        .unwrap_or_else(|| format!("msg_mock{:06}", NEXT.fetch_add(1, Ordering::Relaxed)));
    let blocks = blocks(reply);
    let stop = stop_reason(reply);
    if !stream {
        let message = json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": blocks.iter().map(Block::whole).collect::<Vec<_>>(),
            "stop_reason": stop,
            "stop_sequence": null,
            "usage": usage(reply, reply.usage.output_tokens),
        });
        let bytes = serde_json::to_vec(&message).unwrap_or_default();
        return Rendered {
            status: 200,
            content_type: "application/json",
            body: crate::render::json_plan(bytes, reply),
        };
    }
    let mut sse = SseBuf::with_capacity(1024);
    let event = |sse: &mut SseBuf, data: Value, is_delta: bool| {
        let kind = data["type"].as_str().unwrap_or_default().to_owned();
        sse.buf
            .extend_from_slice(format!("event: {kind}\ndata: ").as_bytes());
        let _ = serde_json::to_writer(&mut sse.buf, &data);
        sse.buf.extend_from_slice(b"\n\n");
        sse.end_event(is_delta);
    };
    event(
        &mut sse,
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage(reply, 1)}}),
        false,
    );
    event(&mut sse, json!({"type": "ping"}), false);
    for (index, block) in blocks.iter().enumerate() {
        event(
            &mut sse,
            json!({"type": "content_block_start", "index": index, "content_block": block.start()}),
            false,
        );
        let delta = |sse: &mut SseBuf, delta: Value| {
            event(
                sse,
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
                true,
            );
        };
        match block {
            Block::Text(_, deltas) => {
                for d in deltas {
                    delta(&mut sse, json!({"type": "text_delta", "text": d}));
                }
            }
            Block::Thinking(_, deltas, signature) => {
                for d in deltas {
                    delta(&mut sse, json!({"type": "thinking_delta", "thinking": d}));
                }
                delta(
                    &mut sse,
                    json!({"type": "signature_delta", "signature": signature}),
                );
            }
            Block::Redacted(_) => {}
            Block::ToolUse { deltas, .. } => {
                for d in deltas {
                    delta(
                        &mut sse,
                        json!({"type": "input_json_delta", "partial_json": d}),
                    );
                }
            }
        }
        event(
            &mut sse,
            json!({"type": "content_block_stop", "index": index}),
            false,
        );
    }
    sse.mark_terminal();
    event(
        &mut sse,
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop, "stop_sequence": null},
               "usage": {"output_tokens": reply.usage.output_tokens}}),
        false,
    );
    event(&mut sse, json!({"type": "message_stop"}), false);
    Rendered {
        status: 200,
        content_type: "text/event-stream; charset=utf-8",
        body: sse.into_plan(reply, Api::Anthropic),
    }
}

/// What the mock would send for `reply` to a request for `model`: the JSON `Message`, the
/// stream's `data:` payloads in order, and the error body of an error reply (`Null`
/// otherwise), for checking them against the official response models.
pub fn anthropic_rendering(reply: &Reply, model: &str) -> (Value, Vec<Value>, Value) {
    let request = json!({"model": model});
    let whole = |stream: bool| match render(&reply.spec, &request, stream).body {
        BodyPlan::Full(bytes) => bytes,
        BodyPlan::Segments(_) => Vec::new(),
    };
    let json_bytes = whole(false);
    if reply.spec.error.is_some() {
        let error = serde_json::from_slice(&json_bytes).unwrap_or(Value::Null);
        return (Value::Null, Vec::new(), error);
    }
    let json = serde_json::from_slice(&json_bytes).unwrap_or(Value::Null);
    let stream = String::from_utf8_lossy(&whole(true))
        .split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    (json, stream, Value::Null)
}
