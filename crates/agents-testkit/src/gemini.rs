//! The Gemini API on the mock server: `POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`.
//!
//! The same `MockServer`, reply queue and [`Fault`]s serve
//! it; a [`Reply`] is rendered as a `GenerateContentResponse` (JSON) or as a stream of them
//! (`data:` events):
//!
//! - a text item becomes a `text` part (streamed as one chunk per delta);
//! - a function call becomes a `functionCall` part with its arguments as `args`, without an
//!   `id`, as the Gemini API sends them (see [`Reply::gemini_call_ids`]);
//! - a reasoning item becomes a `thought` part with its summary, and its
//!   `encrypted_content` becomes the `thoughtSignature` (base64 of its bytes) of the part that
//!   follows it (the first function call of the turn, or the text), as Gemini 3 signs its
//!   thinking;
//! - usage becomes `usageMetadata` (reasoning tokens as `thoughtsTokenCount`, cached tokens as
//!   `cachedContentTokenCount`); [`Reply::max_tokens_reached`] is `finishReason: MAX_TOKENS`;
//! - [`Reply::gemini_finish_reason`] and [`Reply::gemini_prompt_blocked`] script safety stops;
//! - [`Reply::status`] is a Google-shaped error (`{"error": {"code", "message", "status"}}`).
//!
//! # Validation
//!
//! Every request body is validated against the official `google-genai` Python package's
//! pydantic types (the Gemini API publishes no OpenAPI document), strictly, by `python/gemini_validate.py` (see its docs for the rules beyond
//! the types), run by the Python of `target/py-venv` (or `AGENTS_TESTKIT_PYTHON`). Without
//! that Python or package, validation is skipped with a note, except under `CI=true`, where
//! every Gemini request fails. A refused body is answered with a Google-shaped `400
//! INVALID_ARGUMENT` naming each problem. [`validate_gemini`] runs the same checks on any payload (the
//! crate's tests check every rendered reply and stream chunk with it).
//!
//! The mock also enforces Gemini 3's thought-signature rule: in the current turn (the
//! contents after the last user text), the first function call of every model content must
//! carry a `thoughtSignature`, and every signature must be one the mock issued (byte for
//! byte) or Gemini's documented `skip_thought_signature_validator`; any other is refused as
//! corrupted.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value};

use crate::render::{BodyPlan, Rendered, SseBuf};
use crate::reply::{Fault, Item, Reply, ReplySpec};
use crate::{running_in_ci, Api};

/// The signatures Gemini documents for function calls it did not produce.
const SKIP_SIGNATURES: [&str; 2] = [
    "skip_thought_signature_validator",
    "context_engineering_is_the_way_to_go",
];

/// Gemini-only settings of a reply.
#[derive(Clone, Debug, Default)]
pub(crate) struct GeminiReply {
    finish_reason: Option<String>,
    block_reason: Option<String>,
    call_ids: bool,
}

impl Reply {
    /// Gemini only: ends the candidate with this `finishReason` (for example `SAFETY`,
    /// `RECITATION`, `MALFORMED_FUNCTION_CALL`) instead of `STOP`. With no items the candidate
    /// has no content, as when Gemini withholds an answer.
    pub fn gemini_finish_reason(self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.edit_gemini(|g| g.finish_reason = Some(reason))
    }

    /// Gemini only: a blocked prompt: no candidate, `promptFeedback.blockReason` set (for
    /// example `SAFETY` or `PROHIBITED_CONTENT`).
    pub fn gemini_prompt_blocked(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Reply::new().edit_gemini(|g| g.block_reason = Some(reason))
    }

    /// Gemini only: function calls carry their call ids (`functionCall.id`), as Vertex AI and
    /// some Gemini models send them. By default calls have no id, as the Gemini API sends them.
    pub fn gemini_call_ids(self) -> Self {
        self.edit_gemini(|g| g.call_ids = true)
    }

    fn edit_gemini(self, f: impl FnOnce(&mut GeminiReply)) -> Self {
        self.edit(|s| f(&mut s.gemini))
    }
}

/// Whether `path` is a Gemini endpoint of the mock.
pub(crate) fn is_gemini_path(path: &str) -> bool {
    path.strip_prefix("/v1beta/models/").is_some_and(|rest| {
        rest.ends_with(":generateContent") || rest.ends_with(":streamGenerateContent")
    })
}

/// Whether a Gemini request asks for a stream.
pub(crate) fn is_stream_path(path: &str) -> bool {
    path.ends_with(":streamGenerateContent")
}

/// The model named in a Gemini path.
fn model_of(path: &str) -> &str {
    path.strip_prefix("/v1beta/models/")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("gemini-mock")
}

// ----- validation ------------------------------------------------------------------------

/// The validator process (`python/gemini_validate.py`).
struct Validator {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

enum ValidatorState {
    Ready(Validator),
    Unavailable(String),
}

static VALIDATOR: OnceLock<Mutex<ValidatorState>> = OnceLock::new();

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("AGENTS_TESTKIT_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python")
}

fn start_validator() -> ValidatorState {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/gemini_validate.py");
    let python = python();
    let child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return ValidatorState::Unavailable(format!(
                "cannot run {} ({e}); `cargo xtask ci` installs google-genai into target/py-venv",
                python.display()
            ))
        }
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return ValidatorState::Unavailable("the validator has no pipes".into());
    };
    let mut v = Validator {
        _child: child,
        stdin,
        stdout: BufReader::new(stdout),
    };
    // A first request proves that google-genai imports.
    match ask(&mut v, "gemini.response", &json!({})) {
        Ok(_) => ValidatorState::Ready(v),
        Err(e) => ValidatorState::Unavailable(format!(
            "the google-genai validator did not start ({e}); `cargo xtask ci` installs \
             google-genai into target/py-venv"
        )),
    }
}

fn ask(v: &mut Validator, kind: &str, payload: &Value) -> Result<Vec<String>, String> {
    let line = json!({ "kind": kind, "payload": payload }).to_string();
    v.stdin
        .write_all(line.as_bytes())
        .and_then(|()| v.stdin.write_all(b"\n"))
        .and_then(|()| v.stdin.flush())
        .map_err(|e| format!("writing to the validator: {e}"))?;
    let mut answer = String::new();
    v.stdout
        .read_line(&mut answer)
        .map_err(|e| format!("reading from the validator: {e}"))?;
    let answer: Value = serde_json::from_str(&answer)
        .map_err(|e| format!("the validator answered {answer:?}: {e}"))?;
    Ok(answer["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// Validates `payload` with the official `google-genai` types: `kind` is `gemini.request`,
/// `gemini.response` or `gemini.stream_chunk`. Returns the problems found (empty when valid),
/// or `Err` with the reason when the validator cannot run (no Python or no `google-genai`).
pub fn validate_gemini(kind: &str, payload: &Value) -> Result<Vec<String>, String> {
    let state = VALIDATOR.get_or_init(|| Mutex::new(start_validator()));
    let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
    match &mut *guard {
        ValidatorState::Ready(v) => match ask(v, kind, payload) {
            Ok(errors) => Ok(errors),
            Err(e) => {
                *guard = ValidatorState::Unavailable(e.clone());
                Err(e)
            }
        },
        ValidatorState::Unavailable(reason) => Err(reason.clone()),
    }
}

static NOTED: OnceLock<()> = OnceLock::new();

/// All the checks of a Gemini request body: (when `python`) the official types and service
/// rules, then the thought-signature rule.
pub(crate) fn validate_request(body: &Value, python: bool) -> Vec<String> {
    if !python {
        return check_signatures(body);
    }
    let mut errors = match validate_gemini("gemini.request", body) {
        Ok(errors) => errors,
        Err(reason) if running_in_ci() => vec![format!(
            "the google-genai validator is required under CI=true: {reason}"
        )],
        Err(reason) => {
            NOTED.get_or_init(|| {
                eprintln!("note: agents-testkit: Gemini bodies are not validated: {reason}");
            });
            Vec::new()
        }
    };
    errors.extend(check_signatures(body));
    errors
}

// ----- thought signatures ---------------------------------------------------------------

#[derive(Default)]
struct Signatures {
    /// Every signature issued.
    issued: HashSet<String>,
}

static SIGNATURES: OnceLock<Mutex<Signatures>> = OnceLock::new();

fn signatures() -> std::sync::MutexGuard<'static, Signatures> {
    SIGNATURES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn check_signatures(body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return errors;
    };
    // The current turn starts after the last user content with a text part.
    let start = contents
        .iter()
        .rposition(|c| {
            c.get("role").and_then(Value::as_str) == Some("user")
                && c["parts"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p.get("text").is_some()))
        })
        .map_or(0, |i| i + 1);
    let known = signatures();
    for (i, content) in contents.iter().enumerate() {
        let Some(parts) = content.get("parts").and_then(Value::as_array) else {
            continue;
        };
        let mut first_call = true;
        for (j, part) in parts.iter().enumerate() {
            let sig = part.get("thoughtSignature").and_then(Value::as_str);
            if let Some(sig) = sig {
                if !known.issued.contains(sig) && !SKIP_SIGNATURES.contains(&sig) {
                    errors.push(format!(
                        "contents[{i}].parts[{j}].thoughtSignature: corrupted thought signature \
                         (not one Gemini issued)"
                    ));
                }
            }
            let Some(call) = part.get("functionCall") else {
                continue;
            };
            if first_call && i >= start && sig.is_none() {
                errors.push(format!(
                    "contents[{i}].parts[{j}]: function call `{}` in the current turn is missing \
                     a thought_signature",
                    call["name"].as_str().unwrap_or_default()
                ));
            }
            first_call = false;
        }
    }
    errors
}

/// Base64 (URL-safe alphabet, as the official SDK reads bytes) of `text`.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ----- rendering --------------------------------------------------------------------------

/// One part of the candidate, with how it streams.
struct Part {
    value: Value,
    /// Text deltas (one chunk each); `None` for parts sent whole.
    deltas: Option<Vec<String>>,
    /// Whether the part is a thought.
    thought: bool,
}

fn parts_of(reply: &ReplySpec) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut pending_sig: Option<String> = None;
    let mut calls = 0usize;
    let mut known = signatures();
    for item in &reply.items {
        match item {
            Item::Text { text, deltas } => {
                let mut value = json!({ "text": text });
                if let Some(sig) = pending_sig.take() {
                    value["thoughtSignature"] = json!(sig);
                }
                let deltas = reply
                    .text_deltas(text, deltas.as_deref())
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                parts.push(Part {
                    value,
                    deltas: Some(deltas),
                    thought: false,
                });
            }
            Item::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let args = match serde_json::from_str::<Value>(arguments) {
                    Ok(Value::Object(m)) => Value::Object(m),
                    _ => json!({ "arguments": arguments }),
                };
                let mut call = Map::new();
                if reply.gemini.call_ids {
                    call.insert("id".into(), json!(call_id));
                }
                call.insert("name".into(), json!(name));
                call.insert("args".into(), args);
                let call = Value::Object(call);
                let mut value = json!({ "functionCall": call });
                if let Some(sig) = pending_sig.take() {
                    value["thoughtSignature"] = json!(sig);
                }
                calls += 1;
                parts.push(Part {
                    value,
                    deltas: None,
                    thought: false,
                });
            }
            Item::Reasoning(r) => {
                if let Some(summary) = &r.summary {
                    let deltas = reply
                        .text_deltas(summary, None)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    parts.push(Part {
                        value: json!({ "text": summary, "thought": true }),
                        deltas: Some(deltas),
                        thought: true,
                    });
                }
                if let Some(content) = &r.encrypted_content {
                    let sig = base64(content);
                    known.issued.insert(sig.clone());
                    pending_sig = Some(sig);
                }
            }
            // Hosted tool items are Responses API items: Gemini has none.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    let _ = calls;
    if let Some(sig) = pending_sig {
        // A signature with nothing after it rides on an empty thought part.
        match parts.last_mut() {
            Some(p) if p.thought => p.value["thoughtSignature"] = json!(sig),
            _ => parts.push(Part {
                value: json!({ "text": "", "thought": true, "thoughtSignature": sig }),
                deltas: None,
                thought: true,
            }),
        }
    }
    parts
}

fn usage_metadata(reply: &ReplySpec) -> Value {
    let u = &reply.usage;
    let candidates = u.output_tokens.saturating_sub(u.reasoning_tokens);
    let mut m = json!({
        "promptTokenCount": u.input_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": u.input_tokens + u.output_tokens,
    });
    if u.reasoning_tokens > 0 {
        m["thoughtsTokenCount"] = json!(u.reasoning_tokens);
    }
    if u.cached_tokens > 0 {
        m["cachedContentTokenCount"] = json!(u.cached_tokens);
    }
    m
}

fn finish_reason(reply: &ReplySpec) -> &str {
    match &reply.gemini.finish_reason {
        Some(r) => r,
        None if reply.incomplete => "MAX_TOKENS",
        None => "STOP",
    }
}

fn safety_ratings(reason: &str) -> Option<Value> {
    (reason == "SAFETY").then(|| {
        json!([
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true},
            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}
        ])
    })
}

struct Ctx<'a> {
    reply: &'a ReplySpec,
    model: String,
    response_id: String,
}

impl Ctx<'_> {
    fn chunk(&self, parts: Option<Vec<Value>>, finish: bool) -> Value {
        let mut candidate = Map::new();
        if let Some(parts) = parts {
            candidate.insert("content".into(), json!({ "role": "model", "parts": parts }));
        }
        if finish {
            let reason = finish_reason(self.reply);
            candidate.insert("finishReason".into(), json!(reason));
            if let Some(ratings) = safety_ratings(reason) {
                candidate.insert("safetyRatings".into(), ratings);
            }
        }
        candidate.insert("index".into(), json!(0));
        let mut out = json!({ "candidates": [Value::Object(candidate)] });
        if finish {
            out["usageMetadata"] = usage_metadata(self.reply);
        }
        out["modelVersion"] = json!(self.model);
        out["responseId"] = json!(self.response_id);
        out
    }

    fn blocked(&self, reason: &str) -> Value {
        json!({
            "promptFeedback": {
                "blockReason": reason,
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]
            },
            "usageMetadata": {"promptTokenCount": self.reply.usage.input_tokens, "totalTokenCount": self.reply.usage.input_tokens},
            "modelVersion": self.model,
            "responseId": self.response_id,
        })
    }

    fn json(&self) -> Value {
        if let Some(reason) = &self.reply.gemini.block_reason {
            return self.blocked(reason);
        }
        let parts: Vec<Value> = parts_of(self.reply).into_iter().map(|p| p.value).collect();
        self.chunk((!parts.is_empty()).then_some(parts), true)
    }

    fn stream(&self) -> SseBuf {
        let mut w = SseBuf::with_capacity(1024);
        let event = |w: &mut SseBuf, value: &Value, is_delta: bool| {
            w.buf.extend_from_slice(b"data: ");
            let _ = serde_json::to_writer(&mut w.buf, value);
            w.buf.extend_from_slice(b"\r\n\r\n");
            w.end_event(is_delta);
        };
        if let Some(reason) = &self.reply.gemini.block_reason {
            w.mark_terminal();
            event(&mut w, &self.blocked(reason), false);
            return w;
        }
        let parts = parts_of(self.reply);
        for part in &parts {
            match &part.deltas {
                Some(deltas) if deltas.len() > 1 => {
                    for (k, delta) in deltas.iter().enumerate() {
                        let mut value = part.value.clone();
                        value["text"] = json!(delta);
                        // The signature rides on the last piece.
                        if k + 1 < deltas.len() {
                            if let Some(obj) = value.as_object_mut() {
                                obj.remove("thoughtSignature");
                            }
                        }
                        event(&mut w, &self.chunk(Some(vec![value]), false), true);
                    }
                }
                _ => event(
                    &mut w,
                    &self.chunk(Some(vec![part.value.clone()]), false),
                    true,
                ),
            }
        }
        w.mark_terminal();
        event(&mut w, &self.chunk(None, true), false);
        w
    }
}

/// A Google-shaped error body: `{"error": {"code", "message", "status"}}`.
pub(crate) fn error_body(code: u16, message: &str) -> Vec<u8> {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    let body = json!({ "error": { "code": code, "message": message, "status": status } });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Renders `reply` for a Gemini request.
pub(crate) fn render(reply: &ReplySpec, body: &Value, path: &str, stream: bool) -> Rendered {
    let _ = body;
    if let Some(error) = &reply.error {
        return Rendered {
            status: error.status,
            content_type: "application/json",
            body: BodyPlan::Full(error_body(error.status, &error.message)),
        };
    }
    if reply.has_fault(|f| *f == Fault::InvalidJsonBody)
        || (!stream && reply.has_fault(|f| *f == Fault::MalformedEvent))
    {
        return Rendered {
            status: 200,
            content_type: "application/json",
            body: BodyPlan::Full(b"{\"candidates\": this body is not JSON".to_vec()),
        };
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let ctx = Ctx {
        reply,
        model: reply
            .model
            .clone()
            .unwrap_or_else(|| model_of(path).to_owned()),
        response_id: reply.response_id.clone().unwrap_or_else(|| {
            format!(
                "gemresp{:06}",
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            )
        }),
    };
    if stream {
        Rendered {
            status: 200,
            content_type: "text/event-stream",
            body: ctx.stream().into_plan(reply, Api::Gemini),
        }
    } else {
        let bytes = serde_json::to_vec(&ctx.json()).unwrap_or_default();
        Rendered {
            status: 200,
            content_type: "application/json",
            body: crate::render::json_plan(bytes, reply),
        }
    }
}

/// The bodies the mock would send for `reply`: the JSON response and the stream's `data:`
/// payloads, for checking them against the official types.
pub fn gemini_rendering(reply: &Reply, model: &str) -> (Value, Vec<Value>) {
    let path = format!("/v1beta/models/{model}:generateContent");
    let json = match render(&reply.spec, &Value::Null, &path, false).body {
        BodyPlan::Full(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        BodyPlan::Segments(_) => Value::Null,
    };
    let stream = match render(&reply.spec, &Value::Null, &path, true).body {
        BodyPlan::Full(bytes) => String::from_utf8_lossy(&bytes)
            .split("\r\n\r\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect(),
        BodyPlan::Segments(_) => Vec::new(),
    };
    (json, stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_encoding() {
        assert_eq!(base64("sig-1"), "c2lnLTE=");
        assert_eq!(base64("abc"), "YWJj");
        assert_eq!(base64(""), "");
    }

    #[test]
    fn paths() {
        assert!(is_gemini_path(
            "/v1beta/models/gemini-2.5-flash:generateContent"
        ));
        assert!(is_gemini_path("/v1beta/models/g:streamGenerateContent"));
        assert!(!is_gemini_path("/v1/responses"));
        assert_eq!(
            model_of("/v1beta/models/gemini-x:generateContent"),
            "gemini-x"
        );
    }
}
