//! Gemini responses (whole, or streamed chunk by chunk) to items.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use agents_core::items::{Reasoning, SummaryText};
use agents_core::{
    Content, ContentPart, Extra, FunctionCall, Item, Message, ModelError, ModelResponse,
    ModelStreamEvent, RequestUsage, Role, PLACEHOLDER_ID,
};
use agents_http::{Decoder, SseEvent};
use serde_json::{json, Map, Value};

use crate::convert::{PROVIDER, PROVIDER_DATA};

/// Finish reasons that mean the output was withheld by a safety or policy
/// filter: they become a refusal.
const BLOCKED: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "LANGUAGE",
];

/// Finish reasons that mean the model produced something unusable.
const FAILED: &[&str] = &[
    "MALFORMED_FUNCTION_CALL",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "MISSING_THOUGHT_SIGNATURE",
    "MALFORMED_RESPONSE",
];

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

/// A call id for a call Gemini gave none: unique in the process and across
/// processes (time-seeded), stable once stored in the history.
fn generated_call_id(response_id: Option<&str>, index: usize) -> String {
    match response_id.filter(|r| !r.is_empty()) {
        Some(r) => format!("call_{r}_{index}"),
        None => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let n = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
            format!("call_{nanos:x}{n:x}_{index}")
        }
    }
}

fn record(model: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("provider".into(), json!(PROVIDER));
    m.insert("model".into(), json!(model));
    m
}

fn extra_with(record: Map<String, Value>) -> Extra {
    let mut extra = Extra::new();
    extra.insert(PROVIDER_DATA, Value::Object(record));
    extra
}

/// Accumulates the parts of one candidate into items, in order: thoughts
/// become one reasoning item, consecutive text one assistant message,
/// every function call one item.
pub(crate) struct Accumulator {
    model: String,
    response_id: Option<String>,
    thoughts: Vec<String>,
    thought_signature: Option<String>,
    text: String,
    text_signature: Option<String>,
    /// Items finished so far.
    items: Vec<Item>,
    calls: usize,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    block_reason: Option<String>,
    usage: RequestUsage,
    /// Whether a reasoning or message item is open (for stream indices).
    open: Open,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Thought,
    Text,
}

impl Accumulator {
    pub(crate) fn new(model: &str) -> Self {
        Accumulator {
            model: model.to_owned(),
            response_id: None,
            thoughts: Vec::new(),
            thought_signature: None,
            text: String::new(),
            text_signature: None,
            items: Vec::new(),
            calls: 0,
            finish_reason: None,
            finish_message: None,
            block_reason: None,
            usage: RequestUsage::default(),
            open: Open::None,
        }
    }

    /// Reads one response (or one stream chunk), pushing stream events to
    /// `out` when given.
    pub(crate) fn feed(
        &mut self,
        chunk: &Value,
        mut out: Option<&mut VecDeque<ModelStreamEvent>>,
    ) -> Result<(), ModelError> {
        let Some(obj) = chunk.as_object() else {
            return Err(invalid("a response is not a JSON object"));
        };
        if let Some(error) = obj.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Err(ModelError::Stream(format!(
                "Gemini sent an error: {message}"
            )));
        }
        if let Some(id) = obj.get("responseId").and_then(Value::as_str) {
            self.response_id.get_or_insert_with(|| id.to_owned());
        }
        if let Some(usage) = obj.get("usageMetadata") {
            self.usage = usage_of(usage);
        }
        if let Some(reason) = obj
            .get("promptFeedback")
            .and_then(|f| f.get("blockReason"))
            .and_then(Value::as_str)
        {
            self.block_reason = Some(reason.to_owned());
        }
        let Some(candidate) = obj
            .get("candidates")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return Ok(());
        };
        if let Some(parts) = candidate
            .get("content")
            .and_then(|c| c.get("parts"))
            .and_then(Value::as_array)
        {
            for part in parts {
                self.part(part, out.as_deref_mut())?;
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
            self.finish_message = candidate
                .get("finishMessage")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        Ok(())
    }

    fn index(&self) -> usize {
        self.items.len()
    }

    fn part(
        &mut self,
        part: &Value,
        mut out: Option<&mut VecDeque<ModelStreamEvent>>,
    ) -> Result<(), ModelError> {
        let signature = part
            .get("thoughtSignature")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(call) = part.get("functionCall") {
            self.close(out.as_deref_mut());
            let name = call
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("a functionCall part has no name"))?;
            let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
            let arguments = serde_json::to_string(&args)
                .map_err(|e| invalid(&format!("functionCall args: {e}")))?;
            let mut data = record(&self.model);
            let call_id = match call
                .get("id")
                .and_then(Value::as_str)
                .filter(|i| !i.is_empty())
            {
                Some(id) => {
                    data.insert("server_id".into(), json!(true));
                    id.to_owned()
                }
                None => generated_call_id(self.response_id.as_deref(), self.calls),
            };
            self.calls += 1;
            if let Some(sig) = signature {
                data.insert("thought_signature".into(), json!(sig));
            }
            let mut item = FunctionCall::new(call_id.clone(), name, arguments.clone());
            item.status = Some("completed".into());
            item.extra = extra_with(data);
            let index = self.index();
            if let Some(out) = out {
                out.push_back(ModelStreamEvent::FunctionCallArgumentsDelta {
                    item_id: None,
                    output_index: index,
                    call_id: Some(call_id),
                    name: Some(name.to_owned()),
                    delta: arguments,
                });
                out.push_back(ModelStreamEvent::OutputItemDone {
                    output_index: index,
                    item: Item::FunctionCall(item.clone()),
                });
            }
            self.items.push(Item::FunctionCall(item));
            return Ok(());
        }
        let text = part.get("text").and_then(Value::as_str);
        let thought = part.get("thought") == Some(&Value::Bool(true));
        match (text, thought) {
            (Some(text), true) => {
                if self.open != Open::Thought {
                    self.close(out.as_deref_mut());
                    self.open = Open::Thought;
                }
                if !text.is_empty() {
                    if let Some(out) = out {
                        out.push_back(ModelStreamEvent::ReasoningDelta {
                            item_id: None,
                            output_index: self.index(),
                            delta: text.to_owned(),
                        });
                    }
                    // Streamed thoughts arrive in pieces of one thought.
                    match self.thoughts.last_mut() {
                        Some(last) if !part_ends_thought(part) => last.push_str(text),
                        _ => self.thoughts.push(text.to_owned()),
                    }
                }
                if signature.is_some() {
                    self.thought_signature = signature;
                }
            }
            (Some(text), false) => {
                if self.open != Open::Text {
                    self.close(out.as_deref_mut());
                    self.open = Open::Text;
                }
                if !text.is_empty() {
                    if let Some(out) = out {
                        out.push_back(ModelStreamEvent::OutputTextDelta {
                            item_id: None,
                            output_index: self.index(),
                            delta: text.to_owned(),
                        });
                    }
                    self.text.push_str(text);
                }
                if signature.is_some() {
                    self.text_signature = signature;
                }
            }
            (None, _) => {
                // A part without text or call: a signature alone, or data
                // this crate does not model (inline images, code execution).
                if let Some(sig) = signature {
                    match self.open {
                        Open::Text => self.text_signature = Some(sig),
                        _ => {
                            self.open = Open::Thought;
                            self.thought_signature = Some(sig);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes the open reasoning or message item.
    fn close(&mut self, out: Option<&mut VecDeque<ModelStreamEvent>>) {
        let item = match self.open {
            Open::None => return,
            Open::Thought => {
                let mut data = record(&self.model);
                if let Some(sig) = self.thought_signature.take() {
                    data.insert("thought_signature".into(), json!(sig));
                }
                let summary = std::mem::take(&mut self.thoughts)
                    .into_iter()
                    .map(SummaryText::new)
                    .collect();
                let mut r = Reasoning::new(PLACEHOLDER_ID, summary);
                r.extra = extra_with(data);
                Item::Reasoning(r)
            }
            Open::Text => {
                let mut m = Message::new(
                    Role::Assistant,
                    Content::Parts(vec![ContentPart::output_text(std::mem::take(
                        &mut self.text,
                    ))]),
                );
                m.id = Some(PLACEHOLDER_ID.into());
                m.status = Some("completed".into());
                let mut data = record(&self.model);
                if let Some(sig) = self.text_signature.take() {
                    data.insert("thought_signature".into(), json!(sig));
                }
                m.extra = extra_with(data);
                Item::Message(m)
            }
        };
        self.open = Open::None;
        if let Some(out) = out {
            out.push_back(ModelStreamEvent::OutputItemDone {
                output_index: self.index(),
                item: item.clone(),
            });
        }
        self.items.push(item);
    }

    /// Whether the response is complete (a finish reason, or a blocked prompt).
    pub(crate) fn is_finished(&self) -> bool {
        self.finish_reason.is_some() || self.block_reason.is_some()
    }

    /// The response: items, usage, ids. A blocked prompt or a safety stop
    /// ends with a refusal message (the run's typed refusal error); a
    /// finish reason meaning unusable output is an error.
    pub(crate) fn finish(
        mut self,
        request_id: Option<String>,
        out: Option<&mut VecDeque<ModelStreamEvent>>,
    ) -> Result<ModelResponse, ModelError> {
        let mut out = out;
        self.close(out.as_deref_mut());
        if let Some(reason) = self.finish_reason.as_deref() {
            if FAILED.contains(&reason) {
                return Err(ModelError::InvalidResponse(format!(
                    "Gemini stopped with finish reason {reason}{}",
                    self.finish_message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )));
            }
        }
        let refusal = match (&self.block_reason, self.finish_reason.as_deref()) {
            (Some(block), _) => Some(format!("Gemini blocked the prompt (block reason {block})")),
            (None, Some(reason)) if BLOCKED.contains(&reason) => Some(format!(
                "Gemini withheld the response (finish reason {reason}){}",
                self.finish_message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(refusal) = refusal {
            let mut m = Message::new(
                Role::Assistant,
                Content::Parts(vec![ContentPart::refusal(refusal)]),
            );
            m.id = Some(PLACEHOLDER_ID.into());
            m.status = Some("completed".into());
            m.extra = extra_with(record(&self.model));
            let item = Item::Message(m);
            if let Some(out) = out {
                out.push_back(ModelStreamEvent::OutputItemDone {
                    output_index: self.items.len(),
                    item: item.clone(),
                });
            }
            self.items.push(item);
        } else if self.finish_reason.is_none() && self.items.is_empty() {
            return Err(invalid("the response has no candidate"));
        }
        let mut response = ModelResponse::new(self.items).with_usage(self.usage);
        if let Some(id) = self.response_id {
            response = response.with_response_id(id);
        }
        if let Some(id) = request_id {
            response = response.with_request_id(id);
        }
        Ok(response)
    }
}

/// Whether a streamed thought part starts a new thought. Gemini streams
/// one thought in several parts; it never marks boundaries, so pieces are
/// joined.
fn part_ends_thought(_part: &Value) -> bool {
    false
}

fn invalid(message: &str) -> ModelError {
    ModelError::InvalidResponse(format!("Gemini: {message}"))
}

fn count(usage: &Value, key: &str) -> u64 {
    usage.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// `usageMetadata` to usage: output tokens include thought tokens.
pub(crate) fn usage_of(usage: &Value) -> RequestUsage {
    let input = count(usage, "promptTokenCount");
    let candidates = count(usage, "candidatesTokenCount");
    let thoughts = count(usage, "thoughtsTokenCount");
    let output = candidates.saturating_add(thoughts);
    let total = match count(usage, "totalTokenCount") {
        0 => input.saturating_add(output),
        t => t,
    };
    RequestUsage {
        input_tokens: input,
        cached_input_tokens: count(usage, "cachedContentTokenCount"),
        output_tokens: output,
        reasoning_tokens: thoughts,
        total_tokens: total,
        // `promptTokenCount` already includes the cached tokens; Gemini
        // reports no cache writes (explicit caches are created separately).
        cache_write_input_tokens: 0,
    }
}

/// Parses a whole `generateContent` body.
pub(crate) fn parse_response(
    body: &[u8],
    model: &str,
    request_id: Option<String>,
) -> Result<ModelResponse, ModelError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| invalid(&format!("the body is not JSON: {e}")))?;
    let mut acc = Accumulator::new(model);
    acc.feed(&value, None)?;
    acc.finish(request_id, None)
}

/// The stream decoder of one attempt.
pub(crate) struct StreamDecoder {
    acc: Option<Accumulator>,
    model: String,
    request_id: Option<String>,
}

impl StreamDecoder {
    pub(crate) fn new(model: &str, request_id: Option<String>) -> Self {
        StreamDecoder {
            acc: Some(Accumulator::new(model)),
            model: model.to_owned(),
            request_id,
        }
    }

    fn complete(&mut self, out: &mut VecDeque<ModelStreamEvent>) -> Result<(), ModelError> {
        let acc = self
            .acc
            .take()
            .unwrap_or_else(|| Accumulator::new(&self.model));
        let response = acc.finish(self.request_id.take(), Some(out))?;
        out.push_back(ModelStreamEvent::Completed(response));
        Ok(())
    }
}

impl Decoder for StreamDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<bool, ModelError> {
        let value: Value = serde_json::from_str(&event.data)
            .map_err(|e| invalid(&format!("a stream event is not JSON: {e}")))?;
        let Some(acc) = self.acc.as_mut() else {
            return Ok(true);
        };
        acc.feed(&value, Some(out))?;
        if acc.is_finished() {
            self.complete(out)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn on_json_body(
        &mut self,
        body: &[u8],
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(&format!("the body is not JSON: {e}")))?;
        // Some gateways answer a stream request with the array of chunks.
        let chunks = match value {
            Value::Array(chunks) => chunks,
            other => vec![other],
        };
        if let Some(acc) = self.acc.as_mut() {
            for chunk in &chunks {
                acc.feed(chunk, Some(out))?;
            }
        }
        self.complete(out)
    }

    fn on_eof(
        &mut self,
        partial: bool,
        _out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        Err(ModelError::Stream(if partial {
            "the Gemini stream ended in the middle of an event".into()
        } else {
            "the Gemini stream ended before a finish reason".into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_thoughts_as_output() {
        let u = usage_of(&json!({"promptTokenCount": 10, "candidatesTokenCount": 4,
            "thoughtsTokenCount": 6, "cachedContentTokenCount": 8, "totalTokenCount": 20}));
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.reasoning_tokens,
                u.cached_input_tokens,
                u.total_tokens
            ),
            (10, 10, 6, 8, 20)
        );
    }

    #[test]
    fn parts_become_items_in_order() {
        let body = json!({"responseId": "r1", "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think", "thought": true},
            {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "g", "args": {}}}
        ]}, "finishReason": "STOP"}]});
        let r = parse_response(body.to_string().as_bytes(), "gemini-x", None).expect("parses");
        assert_eq!(r.output.len(), 3);
        assert!(matches!(&r.output[0], Item::Reasoning(x) if x.summary[0].text == "Let me think"));
        let c = r.output[1].as_function_call().expect("call");
        assert_eq!(
            (c.call_id.as_str(), c.arguments.as_str()),
            ("call_r1_0", r#"{"a":1}"#)
        );
        assert_eq!(
            c.extra
                .get(PROVIDER_DATA)
                .and_then(|d| d.get("thought_signature")),
            Some(&json!("c2ln"))
        );
        assert_eq!(
            r.output[2].as_function_call().expect("call").call_id,
            "call_r1_1"
        );
        assert_eq!(r.response_id.as_deref(), Some("r1"));
    }

    #[test]
    fn safety_stops_and_blocked_prompts_are_refusals() {
        let body = json!({"candidates": [{"finishReason": "SAFETY", "index": 0}]});
        let r = parse_response(body.to_string().as_bytes(), "m", None).expect("parses");
        let refusal = r.output[0]
            .as_message()
            .and_then(|m| m.refusal())
            .expect("refusal");
        assert!(refusal.contains("SAFETY"), "{refusal}");
        let body = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}});
        let r = parse_response(body.to_string().as_bytes(), "m", None).expect("parses");
        let refusal = r.output[0]
            .as_message()
            .and_then(|m| m.refusal())
            .expect("refusal");
        assert!(refusal.contains("PROHIBITED_CONTENT"), "{refusal}");
        let body = json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]});
        assert!(matches!(
            parse_response(body.to_string().as_bytes(), "m", None),
            Err(ModelError::InvalidResponse(_))
        ));
        assert!(parse_response(b"[1,2", "m", None).is_err());
        assert!(parse_response(b"{}", "m", None).is_err());
    }
}
