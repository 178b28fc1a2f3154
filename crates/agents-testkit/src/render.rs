//! Rendering a [`Reply`](crate::Reply) as a Responses API or Chat Completions body, JSON or SSE.
//!
//! The hot paths (text and argument deltas) are written straight into a byte buffer with a
//! precomputed prefix; the rarer, structured events go through `serde_json::Value`.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::reply::{Fault, HttpError, Item, ReplySpec};
use crate::Api;

/// Process-wide counter behind every generated id, so ids never repeat within a process even
/// across servers.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The model name used when neither the reply nor the request names one.
const FALLBACK_MODEL: &str = "gpt-4o-mock";

const SSE_CONTENT_TYPE: &str = "text/event-stream; charset=utf-8";
const JSON_CONTENT_TYPE: &str = "application/json";

/// The body that [`Fault::InvalidJsonBody`] and [`Fault::MalformedEvent`] (non-streaming) send.
const NOT_JSON_BODY: &[u8] = b"{\"id\": this body is not JSON (agents-testkit fault injection)";

/// A piece of a planned response body.
#[derive(Debug)]
pub(crate) enum Segment {
    Data(Vec<u8>),
    Sleep(Duration),
    Abort,
}

/// A planned response body.
#[derive(Debug)]
pub(crate) enum BodyPlan {
    /// Sent at once, with a content length.
    Full(Vec<u8>),
    /// Sent piece by piece (chunked), possibly with pauses or an abort.
    Segments(Vec<Segment>),
}

/// A fully planned HTTP response (headers other than the content type are added by the server).
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: BodyPlan,
}

/// What the renderer needs to know about the request.
pub(crate) struct RequestInfo<'a> {
    pub(crate) api: Api,
    pub(crate) body: &'a Value,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    /// The request path (Gemini names the model and the method in it).
    pub(crate) path: &'a str,
}

/// Renders an OpenAI-shaped error body.
pub(crate) fn error_body(
    message: &str,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
) -> Vec<u8> {
    let value = json!({
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code,
        }
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Renders `reply` for the request described by `info`.
pub(crate) fn render(reply: &ReplySpec, info: &RequestInfo<'_>) -> Rendered {
    if info.api == Api::Anthropic {
        // Anthropic-shaped errors too.
        return crate::anthropic::render(reply, info.body, info.stream);
    }
    if let Some(error) = &reply.error {
        return render_error(error);
    }
    if reply.has_fault(|f| *f == Fault::InvalidJsonBody)
        || (!info.stream && reply.has_fault(|f| *f == Fault::MalformedEvent))
    {
        return Rendered {
            status: 200,
            content_type: JSON_CONTENT_TYPE,
            body: BodyPlan::Full(NOT_JSON_BODY.to_vec()),
        };
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let model = reply
        .model
        .as_deref()
        .or_else(|| info.body.get("model").and_then(Value::as_str))
        .unwrap_or(FALLBACK_MODEL);
    let ctx = Ctx {
        reply,
        request: info.body,
        created,
        model,
    };
    if info.stream {
        let stream = match info.api {
            Api::Responses => ctx.responses_stream(),
            Api::ChatCompletions => ctx.chat_stream(info.include_usage),
            Api::Gemini => return crate::gemini::render(reply, info.body, info.path, true),
            Api::Anthropic => return crate::anthropic::render(reply, info.body, true),
        };
        Rendered {
            status: 200,
            content_type: SSE_CONTENT_TYPE,
            body: stream.into_plan(reply, info.api),
        }
    } else {
        let value = match info.api {
            Api::Responses => ctx.responses_json(),
            Api::ChatCompletions => ctx.chat_json(),
            Api::Gemini => return crate::gemini::render(reply, info.body, info.path, false),
            Api::Anthropic => return crate::anthropic::render(reply, info.body, false),
        };
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        Rendered {
            status: 200,
            content_type: JSON_CONTENT_TYPE,
            body: json_plan(bytes, reply),
        }
    }
}

fn render_error(error: &HttpError) -> Rendered {
    Rendered {
        status: error.status,
        content_type: JSON_CONTENT_TYPE,
        body: BodyPlan::Full(error_body(
            &error.message,
            &error.kind,
            error.code.as_deref(),
            error.param.as_deref(),
        )),
    }
}

/// Applies the faults that concern a non-streamed JSON body.
pub(crate) fn json_plan(bytes: Vec<u8>, reply: &ReplySpec) -> BodyPlan {
    let half = bytes.len() / 2;
    if reply.has_fault(|f| *f == Fault::DisconnectMidStream) {
        let mut bytes = bytes;
        bytes.truncate(half);
        return BodyPlan::Segments(vec![Segment::Data(bytes), Segment::Abort]);
    }
    if reply.has_fault(|f| *f == Fault::TruncatedStream) {
        let mut bytes = bytes;
        bytes.truncate(half);
        return BodyPlan::Segments(vec![Segment::Data(bytes)]);
    }
    if let Some(delay) = reply.stall_mid_stream() {
        return BodyPlan::Segments(vec![Segment::Sleep(delay), Segment::Data(bytes)]);
    }
    BodyPlan::Full(bytes)
}

/// An SSE body under construction, with the offsets that faults cut at.
pub(crate) struct SseBuf {
    pub(crate) buf: Vec<u8>,
    /// Offsets right after each content delta event.
    delta_ends: Vec<usize>,
    /// Offset right after the first event.
    first_event_end: Option<usize>,
    /// Offset where the terminal part (completion event, finish chunk, `[DONE]`) starts.
    terminal_start: Option<usize>,
}

impl SseBuf {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        SseBuf {
            buf: Vec::with_capacity(capacity),
            delta_ends: Vec::new(),
            first_event_end: None,
            terminal_start: None,
        }
    }

    pub(crate) fn end_event(&mut self, is_delta: bool) {
        if self.first_event_end.is_none() {
            self.first_event_end = Some(self.buf.len());
        }
        if is_delta {
            self.delta_ends.push(self.buf.len());
        }
    }

    pub(crate) fn mark_terminal(&mut self) {
        self.terminal_start = Some(self.buf.len());
    }

    /// Applies the streaming faults and returns the body plan.
    pub(crate) fn into_plan(self, reply: &ReplySpec, api: Api) -> BodyPlan {
        let SseBuf {
            mut buf,
            mut delta_ends,
            first_event_end,
            terminal_start,
        } = self;
        let first_event_end = first_event_end.unwrap_or(0);
        let mut terminal_start = terminal_start.unwrap_or(buf.len());
        let early_point = delta_ends.first().copied().unwrap_or(first_event_end);

        if reply.has_fault(|f| *f == Fault::MalformedEvent) {
            let malformed: &[u8] = match api {
                Api::Responses => b"event: response.output_text.delta\ndata: {\"type\": \"response.output_text.delta\", \"delta\": this line is not JSON\n\n",
                Api::ChatCompletions => b"data: {\"choices\": [ this line is not JSON\n\n",
                Api::Gemini => b"data: {\"candidates\": [ this line is not JSON\r\n\r\n",
                Api::Anthropic => b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", this line is not JSON\n\n",
            };
            buf.splice(early_point..early_point, malformed.iter().copied());
            let shift = |offset: &mut usize| {
                if *offset > early_point {
                    *offset += malformed.len();
                }
            };
            delta_ends.iter_mut().for_each(shift);
            shift(&mut terminal_start);
        }

        let mut end = buf.len();
        let mut abort = false;
        if reply.has_fault(|f| *f == Fault::TruncatedStream) {
            end = end.min(terminal_start);
        }
        if reply.has_fault(|f| *f == Fault::DisconnectMidStream) {
            let cut = if delta_ends.is_empty() {
                first_event_end
            } else {
                delta_ends[(delta_ends.len() / 2).max(1) - 1]
            };
            end = end.min(cut);
            abort = true;
        }
        buf.truncate(end);

        let stall = reply.stall_mid_stream();
        if stall.is_none() && !abort {
            // A truncated stream is just a shorter body that ends cleanly.
            return BodyPlan::Full(buf);
        }
        let mut segments = Vec::with_capacity(4);
        match stall {
            Some(delay) if early_point < buf.len() => {
                let rest = buf.split_off(early_point);
                segments.push(Segment::Data(buf));
                segments.push(Segment::Sleep(delay));
                segments.push(Segment::Data(rest));
            }
            Some(delay) => {
                segments.push(Segment::Data(buf));
                segments.push(Segment::Sleep(delay));
            }
            None => segments.push(Segment::Data(buf)),
        }
        if abort {
            segments.push(Segment::Abort);
        }
        BodyPlan::Segments(segments)
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

fn push_json(buf: &mut Vec<u8>, value: &Value) {
    let _ = serde_json::to_writer(&mut *buf, value);
}

/// Per-request rendering context.
struct Ctx<'a> {
    reply: &'a ReplySpec,
    request: &'a Value,
    created: u64,
    model: &'a str,
}

/// One Responses API output item with its id.
struct OutputItem<'a> {
    id: String,
    item: &'a Item,
}

impl<'a> Ctx<'a> {
    // ----- Responses API -------------------------------------------------------------------

    /// A rough count of the delta events, to size the output buffer once.
    fn estimated_deltas(&self) -> usize {
        let chunk = self.reply.chunk_size.unwrap_or(usize::MAX);
        self.reply
            .items
            .iter()
            .map(|item| match item {
                Item::Text {
                    deltas: Some(deltas),
                    ..
                } => deltas.len(),
                Item::Text { text, .. } => text.len() / chunk + 1,
                Item::FunctionCall { arguments, .. } => arguments.len() / chunk + 2,
                Item::Reasoning(r) => r.summary.as_ref().map_or(0, |s| s.len() / chunk + 1),
                Item::Hosted { .. } => 0,
            })
            .sum()
    }

    fn response_id(&self) -> String {
        self.reply
            .response_id
            .clone()
            .unwrap_or_else(|| format!("resp_mock_{:06}", next_id()))
    }

    fn output_items(&self) -> Vec<OutputItem<'a>> {
        self.reply
            .items
            .iter()
            .map(|item| {
                let id = match item {
                    Item::Text { .. } => format!("msg_mock_{:06}", next_id()),
                    Item::FunctionCall { .. } => format!("fc_mock_{:06}", next_id()),
                    Item::Reasoning(r) => {
                        r.id.clone()
                            .unwrap_or_else(|| format!("rs_mock_{:06}", next_id()))
                    }
                    Item::Hosted { id_prefix, item } => item
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("{id_prefix}_mock_{:06}", next_id())),
                };
                OutputItem { id, item }
            })
            .collect()
    }

    /// The status of the message item at `index` once complete.
    fn item_status(&self, index: usize) -> &'static str {
        let last = index + 1 == self.reply.items.len();
        if self.reply.incomplete && last && matches!(self.reply.items[index], Item::Text { .. }) {
            "incomplete"
        } else {
            "completed"
        }
    }

    fn final_item(&self, index: usize, out: &OutputItem<'_>) -> Value {
        match out.item {
            Item::Text { text, .. } => json!({
                "id": out.id,
                "type": "message",
                "status": self.item_status(index),
                "role": "assistant",
                "content": [output_text_part(text)],
            }),
            Item::FunctionCall {
                call_id,
                name,
                arguments,
            } => json!({
                "id": out.id,
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                "name": name,
                "arguments": arguments,
            }),
            Item::Reasoning(r) => {
                let summary: Vec<Value> = r
                    .summary
                    .iter()
                    .map(|text| json!({"type": "summary_text", "text": text}))
                    .collect();
                let mut item = json!({
                    "id": out.id,
                    "type": "reasoning",
                    "summary": summary,
                });
                if let Some(content) = &r.encrypted_content {
                    item["encrypted_content"] = Value::String(content.clone());
                }
                item
            }
            Item::Hosted { item, .. } => {
                let mut item = item.clone();
                if let Some(map) = item.as_object_mut() {
                    map.insert("id".to_owned(), Value::String(out.id.clone()));
                }
                item
            }
        }
    }

    fn usage_json(&self) -> Value {
        let u = &self.reply.usage;
        json!({
            "input_tokens": u.input_tokens,
            "input_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
            "total_tokens": u.total_tokens(),
        })
    }

    /// The `Response` object. `output` is `None` for the in-progress snapshots.
    fn response_object(&self, id: &str, output: Option<Vec<Value>>) -> Value {
        let request = self.request;
        let echo = |key: &str, fallback: Value| -> Value {
            match request.get(key) {
                Some(v) if !v.is_null() => v.clone(),
                _ => fallback,
            }
        };
        let done = output.is_some();
        let status = match (done, self.reply.incomplete) {
            (false, _) => "in_progress",
            (true, false) => "completed",
            (true, true) => "incomplete",
        };
        let mut map = Map::new();
        map.insert("id".into(), Value::String(id.to_owned()));
        map.insert("object".into(), "response".into());
        map.insert("created_at".into(), self.created.into());
        map.insert("status".into(), status.into());
        map.insert("background".into(), false.into());
        map.insert(
            "completed_at".into(),
            if status == "completed" {
                self.created.into()
            } else {
                Value::Null
            },
        );
        map.insert("error".into(), Value::Null);
        map.insert(
            "incomplete_details".into(),
            if status == "incomplete" {
                json!({"reason": "max_output_tokens"})
            } else {
                Value::Null
            },
        );
        map.insert("instructions".into(), echo("instructions", Value::Null));
        map.insert(
            "max_output_tokens".into(),
            echo("max_output_tokens", Value::Null),
        );
        map.insert("max_tool_calls".into(), echo("max_tool_calls", Value::Null));
        map.insert("model".into(), self.model.into());
        map.insert("output".into(), Value::Array(output.unwrap_or_default()));
        map.insert(
            "parallel_tool_calls".into(),
            echo("parallel_tool_calls", true.into()),
        );
        map.insert(
            "previous_response_id".into(),
            echo("previous_response_id", Value::Null),
        );
        map.insert(
            "reasoning".into(),
            echo("reasoning", json!({"effort": null, "summary": null})),
        );
        map.insert("service_tier".into(), "default".into());
        map.insert("store".into(), echo("store", true.into()));
        map.insert("temperature".into(), echo("temperature", 1.0.into()));
        map.insert(
            "text".into(),
            echo(
                "text",
                json!({"format": {"type": "text"}, "verbosity": "medium"}),
            ),
        );
        map.insert("tool_choice".into(), echo("tool_choice", "auto".into()));
        map.insert("tools".into(), echo("tools", json!([])));
        map.insert("top_p".into(), echo("top_p", 1.0.into()));
        map.insert("truncation".into(), echo("truncation", "disabled".into()));
        if done {
            // The service sends `"usage": null` in the in-progress snapshots, but the spec's
            // `Response.usage` is not nullable; leaving the key out satisfies both readings.
            map.insert("usage".into(), self.usage_json());
        }
        map.insert("metadata".into(), echo("metadata", json!({})));
        Value::Object(map)
    }

    fn responses_json(&self) -> Value {
        let id = self.response_id();
        let items = self.output_items();
        let output = items
            .iter()
            .enumerate()
            .map(|(i, out)| self.final_item(i, out))
            .collect();
        self.response_object(&id, Some(output))
    }

    fn responses_stream(&self) -> SseBuf {
        let id = self.response_id();
        let items = self.output_items();
        let mut w = ResponsesWriter {
            sse: SseBuf::with_capacity(4096 + self.estimated_deltas() * 200),
            seq: 0,
        };

        let snapshot = self.response_object(&id, None);
        w.event("response.created", json!({"response": snapshot}));
        w.event("response.in_progress", json!({"response": snapshot}));

        let mut finals = Vec::with_capacity(items.len());
        for (index, out) in items.iter().enumerate() {
            let item_id = out.id.as_str();
            match out.item {
                Item::Text { text, deltas } => {
                    w.event(
                        "response.output_item.added",
                        json!({
                            "output_index": index,
                            "item": {
                                "id": item_id,
                                "type": "message",
                                "status": "in_progress",
                                "role": "assistant",
                                "content": [],
                            },
                        }),
                    );
                    w.event(
                        "response.content_part.added",
                        json!({
                            "item_id": item_id,
                            "output_index": index,
                            "content_index": 0,
                            "part": output_text_part(""),
                        }),
                    );
                    let prefix = delta_prefix(
                        "response.output_text.delta",
                        item_id,
                        index,
                        Some(("content_index", 0)),
                    );
                    for delta in self.reply.text_deltas(text, deltas.as_deref()) {
                        w.delta(&prefix, delta, ",\"logprobs\":[]}\n\n");
                    }
                    w.event(
                        "response.output_text.done",
                        json!({
                            "item_id": item_id,
                            "output_index": index,
                            "content_index": 0,
                            "text": text,
                            "logprobs": [],
                        }),
                    );
                    w.event(
                        "response.content_part.done",
                        json!({
                            "item_id": item_id,
                            "output_index": index,
                            "content_index": 0,
                            "part": output_text_part(text),
                        }),
                    );
                }
                Item::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => {
                    w.event(
                        "response.output_item.added",
                        json!({
                            "output_index": index,
                            "item": {
                                "id": item_id,
                                "type": "function_call",
                                "status": "in_progress",
                                "call_id": call_id,
                                "name": name,
                                "arguments": "",
                            },
                        }),
                    );
                    let prefix = delta_prefix(
                        "response.function_call_arguments.delta",
                        item_id,
                        index,
                        None,
                    );
                    for delta in self.reply.argument_deltas(arguments) {
                        w.delta(&prefix, delta, "}\n\n");
                    }
                    w.event(
                        "response.function_call_arguments.done",
                        json!({
                            "item_id": item_id,
                            "output_index": index,
                            "name": name,
                            "arguments": arguments,
                        }),
                    );
                }
                Item::Reasoning(r) => {
                    w.event(
                        "response.output_item.added",
                        json!({
                            "output_index": index,
                            "item": {"id": item_id, "type": "reasoning", "summary": []},
                        }),
                    );
                    if let Some(summary) = &r.summary {
                        w.event(
                            "response.reasoning_summary_part.added",
                            json!({
                                "item_id": item_id,
                                "output_index": index,
                                "summary_index": 0,
                                "part": {"type": "summary_text", "text": ""},
                            }),
                        );
                        let prefix = delta_prefix(
                            "response.reasoning_summary_text.delta",
                            item_id,
                            index,
                            Some(("summary_index", 0)),
                        );
                        for delta in self.reply.text_deltas(summary, None) {
                            w.delta(&prefix, delta, "}\n\n");
                        }
                        w.event(
                            "response.reasoning_summary_text.done",
                            json!({
                                "item_id": item_id,
                                "output_index": index,
                                "summary_index": 0,
                                "text": summary,
                            }),
                        );
                        w.event(
                            "response.reasoning_summary_part.done",
                            json!({
                                "item_id": item_id,
                                "output_index": index,
                                "summary_index": 0,
                                "part": {"type": "summary_text", "text": summary},
                            }),
                        );
                    }
                }
                Item::Hosted { .. } => {
                    // Announced in progress, then done (the tool-specific progress events
                    // are optional for a client and left out).
                    let mut added = self.final_item(index, out);
                    if added.get("status").is_some() {
                        added["status"] = Value::String("in_progress".to_owned());
                    }
                    w.event(
                        "response.output_item.added",
                        json!({"output_index": index, "item": added}),
                    );
                }
            }
            let done = self.final_item(index, out);
            w.event(
                "response.output_item.done",
                json!({"output_index": index, "item": done}),
            );
            finals.push(done);
        }

        w.sse.mark_terminal();
        let terminal = if self.reply.incomplete {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let response = self.response_object(&id, Some(finals));
        w.event(terminal, json!({"response": response}));
        w.sse
    }

    // ----- Chat Completions ------------------------------------------------------------------

    fn chat_id(&self) -> String {
        self.reply
            .response_id
            .clone()
            .unwrap_or_else(|| format!("chatcmpl-mock{:06}", next_id()))
    }

    fn chat_text(&self) -> Option<String> {
        let mut texts = self.reply.items.iter().filter_map(|item| match item {
            Item::Text { text, .. } => Some(text.as_str()),
            _ => None,
        });
        let first = texts.next()?;
        let mut all = first.to_owned();
        texts.for_each(|t| all.push_str(t));
        Some(all)
    }

    fn chat_calls(&self) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> + 'a {
        self.reply.items.iter().filter_map(|item| match item {
            Item::FunctionCall {
                call_id,
                name,
                arguments,
            } => Some((call_id.as_str(), name.as_str(), arguments.as_str())),
            _ => None,
        })
    }

    fn finish_reason(&self) -> &'static str {
        if self.reply.incomplete {
            "length"
        } else if self.chat_calls().next().is_some() {
            "tool_calls"
        } else {
            "stop"
        }
    }

    fn chat_usage(&self) -> Value {
        let u = &self.reply.usage;
        json!({
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.total_tokens(),
            "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": u.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        })
    }

    fn chat_json(&self) -> Value {
        let mut message = json!({
            "role": "assistant",
            "content": self.chat_text(),
            "refusal": null,
            "annotations": [],
        });
        let calls: Vec<Value> = self
            .chat_calls()
            .map(|(id, name, arguments)| {
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
            })
            .collect();
        if !calls.is_empty() {
            message["tool_calls"] = Value::Array(calls);
        }
        json!({
            "id": self.chat_id(),
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": self.finish_reason(),
            }],
            "usage": self.chat_usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
        })
    }

    fn chat_stream(&self, include_usage: bool) -> SseBuf {
        let id = self.chat_id();
        // Every chunk is `{<head>"choices":[{"index":0,"delta":<delta>,"logprobs":null,"finish_reason":<fr>}]<tail>}`.
        let mut head = Vec::with_capacity(160);
        head.extend_from_slice(b"data: {\"id\":");
        push_json_str(&mut head, &id);
        let _ = write!(
            head,
            ",\"object\":\"chat.completion.chunk\",\"created\":{},\"model\":",
            self.created
        );
        push_json_str(&mut head, self.model);
        head.extend_from_slice(
            b",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_mock\",\"choices\":",
        );
        let tail: &[u8] = if include_usage {
            b",\"usage\":null}\n\n"
        } else {
            b"}\n\n"
        };

        let text_deltas: Vec<&str> = self
            .reply
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Text { text, deltas } => {
                    Some(self.reply.text_deltas(text, deltas.as_deref()))
                }
                _ => None,
            })
            .flatten()
            .collect();
        let mut sse = SseBuf::with_capacity(
            1024 + (text_deltas.len() + self.estimated_deltas()) * (head.len() + 80),
        );
        let chunk = |sse: &mut SseBuf,
                     delta: &dyn Fn(&mut Vec<u8>),
                     finish: Option<&str>,
                     is_delta: bool| {
            sse.buf.extend_from_slice(&head);
            sse.buf.extend_from_slice(b"[{\"index\":0,\"delta\":");
            delta(&mut sse.buf);
            sse.buf
                .extend_from_slice(b",\"logprobs\":null,\"finish_reason\":");
            match finish {
                Some(reason) => push_json_str(&mut sse.buf, reason),
                None => sse.buf.extend_from_slice(b"null"),
            }
            sse.buf.extend_from_slice(b"}]");
            sse.buf.extend_from_slice(tail);
            sse.end_event(is_delta);
        };

        let has_text = !text_deltas.is_empty();
        chunk(
            &mut sse,
            &|buf| {
                let content: &[u8] = if has_text { b"\"\"" } else { b"null" };
                buf.extend_from_slice(b"{\"role\":\"assistant\",\"content\":");
                buf.extend_from_slice(content);
                buf.extend_from_slice(b",\"refusal\":null}");
            },
            None,
            false,
        );
        for delta in &text_deltas {
            chunk(
                &mut sse,
                &|buf| {
                    buf.extend_from_slice(b"{\"content\":");
                    push_json_str(buf, delta);
                    buf.push(b'}');
                },
                None,
                true,
            );
        }
        for (index, (call_id, name, arguments)) in self.chat_calls().enumerate() {
            let opening = json!({"tool_calls": [{
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }]});
            chunk(&mut sse, &|buf| push_json(buf, &opening), None, true);
            for piece in self.reply.argument_deltas(arguments) {
                chunk(
                    &mut sse,
                    &|buf| {
                        let _ = write!(
                            buf,
                            "{{\"tool_calls\":[{{\"index\":{index},\"function\":{{\"arguments\":"
                        );
                        push_json_str(buf, piece);
                        buf.extend_from_slice(b"}}]}");
                    },
                    None,
                    true,
                );
            }
        }

        sse.mark_terminal();
        chunk(
            &mut sse,
            &|buf| buf.extend_from_slice(b"{}"),
            Some(self.finish_reason()),
            false,
        );
        if include_usage {
            sse.buf.extend_from_slice(&head);
            sse.buf.extend_from_slice(b"[],\"usage\":");
            push_json(&mut sse.buf, &self.chat_usage());
            sse.buf.extend_from_slice(b"}\n\n");
            sse.end_event(false);
        }
        sse.buf.extend_from_slice(b"data: [DONE]\n\n");
        sse.end_event(false);
        sse
    }
}

fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The constant start of a delta event's bytes, up to (excluding) the sequence number.
struct DeltaPrefix {
    /// `event: <type>\ndata: {"type":"<type>","sequence_number":`
    head: Vec<u8>,
    /// `,"item_id":"…","output_index":N[,"<extra>":M],"delta":`
    middle: Vec<u8>,
}

fn delta_prefix(
    kind: &str,
    item_id: &str,
    output_index: usize,
    extra: Option<(&str, usize)>,
) -> DeltaPrefix {
    let mut head = Vec::with_capacity(64 + kind.len() * 2);
    let _ = write!(
        head,
        "event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":"
    );
    let mut middle = Vec::with_capacity(64 + item_id.len());
    middle.extend_from_slice(b",\"item_id\":");
    push_json_str(&mut middle, item_id);
    let _ = write!(middle, ",\"output_index\":{output_index}");
    if let Some((key, value)) = extra {
        let _ = write!(middle, ",\"{key}\":{value}");
    }
    middle.extend_from_slice(b",\"delta\":");
    DeltaPrefix { head, middle }
}

/// Writes Responses API events with increasing sequence numbers.
struct ResponsesWriter {
    sse: SseBuf,
    seq: u64,
}

impl ResponsesWriter {
    /// Writes a structured event; `fields` must be an object (without `type` and
    /// `sequence_number`).
    fn event(&mut self, kind: &str, fields: Value) {
        let buf = &mut self.sse.buf;
        // `type` and `sequence_number` first, as the service writes them.
        let _ = write!(
            buf,
            "event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":{}",
            self.seq
        );
        self.seq += 1;
        let start = buf.len();
        push_json(buf, &fields);
        // Splice the fields object in: drop its `{`, keep its `}`.
        if buf.len() - start > 2 {
            buf[start] = b',';
        } else {
            buf.truncate(start);
            buf.push(b'}');
        }
        buf.extend_from_slice(b"\n\n");
        self.sse.end_event(false);
    }

    /// Writes a delta event from its precomputed prefix; `suffix` closes the JSON object and the
    /// event.
    fn delta(&mut self, prefix: &DeltaPrefix, delta: &str, suffix: &str) {
        let buf = &mut self.sse.buf;
        buf.extend_from_slice(&prefix.head);
        let _ = write!(buf, "{}", self.seq);
        buf.extend_from_slice(&prefix.middle);
        push_json_str(buf, delta);
        buf.extend_from_slice(suffix.as_bytes());
        self.seq += 1;
        self.sse.end_event(true);
    }
}
