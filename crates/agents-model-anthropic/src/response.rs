//! Messages API replies (a `Message`, or a stream of events) to items.

use std::collections::VecDeque;

use agents_core::items::{Reasoning, PLACEHOLDER_ID};
use agents_core::usage::RequestUsage;
use agents_core::{
    Content, ContentPart, FunctionCall, Item, Message, ModelError, ModelResponse, ModelStreamEvent,
    Role,
};
use agents_http::{Decoder, SseEvent};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::request::{PROVIDER, PROVIDER_DATA};

/// A content block of a reply.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Block {
    Text {
        text: String,
        #[serde(default)]
        citations: Option<Vec<Value>>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Unknown,
}

/// The `usage` object (every field optional: `message_delta` carries some).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl Usage {
    /// Later counts (a `message_delta`'s) replace earlier ones.
    fn merge(&mut self, later: Usage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
    }

    /// The SDK's usage: `input_tokens` counts every prompt token (uncached,
    /// cache reads and cache writes, as OpenAI counts them), of which
    /// `cached_input_tokens` are the cache reads and
    /// `cache_write_input_tokens` the cache writes.
    fn request_usage(self) -> RequestUsage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let created = self.cache_creation_input_tokens.unwrap_or(0);
        let input = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(read)
            .saturating_add(created);
        let output = self.output_tokens.unwrap_or(0);
        RequestUsage {
            input_tokens: input,
            cached_input_tokens: read,
            cache_write_input_tokens: created,
            output_tokens: output,
            reasoning_tokens: 0,
            total_tokens: input.saturating_add(output),
        }
    }
}

#[derive(Deserialize)]
struct WireMessage {
    id: String,
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Usage,
}

fn provider_data(kind: &str) -> serde_json::Map<String, Value> {
    let mut data = serde_json::Map::new();
    data.insert("provider".into(), json!(PROVIDER));
    data.insert("type".into(), json!(kind));
    data
}

/// The items of a reply's blocks, in order: consecutive text blocks form one
/// assistant message; thinking blocks reasoning items that keep everything
/// needed to replay them byte for byte; `tool_use` blocks function calls
/// (the forced output tool's input becomes the message text instead). A
/// `refusal` stop reason adds a refusal part, so the run fails with the
/// typed refusal error.
fn items(blocks: Vec<Block>, stop_reason: Option<&str>, forced: Option<&str>) -> Vec<Item> {
    let mut out = Vec::new();
    let mut texts: Vec<ContentPart> = Vec::new();
    let status = match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "incomplete",
        _ => "completed",
    };
    let flush = |texts: &mut Vec<ContentPart>, out: &mut Vec<Item>| {
        if !texts.is_empty() {
            let mut m = Message::new(Role::Assistant, Content::Parts(std::mem::take(texts)));
            m.id = Some(PLACEHOLDER_ID.to_owned());
            m.status = Some(status.to_owned());
            out.push(Item::Message(m));
        }
    };
    for block in blocks {
        match block {
            Block::Text { text, citations } => {
                let mut part = ContentPart::output_text(text);
                if let (ContentPart::OutputText { annotations, .. }, Some(c)) =
                    (&mut part, citations)
                {
                    *annotations = c;
                }
                texts.push(part);
            }
            Block::ToolUse { name, input, .. } if Some(name.as_str()) == forced => {
                texts.push(ContentPart::output_text(arguments(input)));
            }
            Block::ToolUse { id, name, input } => {
                flush(&mut texts, &mut out);
                let mut call = FunctionCall::new(id, name, arguments(input));
                call.id = Some(PLACEHOLDER_ID.to_owned());
                call.status = Some("completed".to_owned());
                out.push(Item::FunctionCall(call));
            }
            Block::Thinking {
                thinking,
                signature,
            } => {
                flush(&mut texts, &mut out);
                let mut r = Reasoning::new(PLACEHOLDER_ID, Vec::new());
                r.content = Some(vec![json!({"type": "reasoning_text", "text": thinking})]);
                let mut data = provider_data("thinking");
                data.insert("signature".into(), json!(signature));
                r.extra.insert(PROVIDER_DATA, Value::Object(data));
                out.push(Item::Reasoning(r));
            }
            Block::RedactedThinking { data } => {
                flush(&mut texts, &mut out);
                let mut r = Reasoning::new(PLACEHOLDER_ID, Vec::new());
                r.encrypted_content = Some(data);
                r.extra.insert(
                    PROVIDER_DATA,
                    Value::Object(provider_data("redacted_thinking")),
                );
                out.push(Item::Reasoning(r));
            }
            Block::Unknown => tracing::debug!("a content block type this SDK does not know"),
        }
    }
    if stop_reason == Some("refusal") {
        let said: String = texts
            .iter()
            .filter_map(|p| match p {
                ContentPart::OutputText { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let refusal = if said.is_empty() {
            "the model declined to answer (stop reason `refusal`)".to_owned()
        } else {
            said
        };
        texts.clear();
        texts.push(ContentPart::refusal(refusal));
    }
    flush(&mut texts, &mut out);
    out
}

/// A tool input as function-call arguments. A streamed input that was not
/// valid JSON is kept as a string, and passed on as the model wrote it.
fn arguments(input: Value) -> String {
    match input {
        Value::String(raw) => raw,
        other => other.to_string(),
    }
}

/// Parses a whole `Message` body.
pub(crate) fn parse_message(
    bytes: &[u8],
    request_id: Option<String>,
    forced: Option<&str>,
) -> Result<ModelResponse, ModelError> {
    let message: WireMessage = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::InvalidResponse(format!("the body is not a Messages API message: {e}"))
    })?;
    Ok(response(
        message.id,
        message.content,
        message.stop_reason.as_deref(),
        message.usage,
        request_id,
        forced,
    ))
}

fn response(
    id: String,
    blocks: Vec<Block>,
    stop_reason: Option<&str>,
    usage: Usage,
    request_id: Option<String>,
    forced: Option<&str>,
) -> ModelResponse {
    let mut response = ModelResponse::new(items(blocks, stop_reason, forced))
        .with_usage(usage.request_usage())
        .with_response_id(id);
    response.request_id = request_id;
    response
}

// ---- streaming --------------------------------------------------------------

/// A block being streamed.
enum Building {
    Text(String, Vec<Value>),
    Thinking(String, String),
    Redacted(String),
    Tool {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// Turns the events of one streamed attempt into model stream events: every
/// event is passed on raw ([`ModelStreamEvent::Other`] with its type), text,
/// thinking and tool-input deltas also as typed deltas; `message_stop` ends
/// the response with the items built from the accumulated blocks.
pub(crate) struct StreamDecoder {
    request_id: Option<String>,
    forced: Option<String>,
    id: String,
    usage: Usage,
    stop_reason: Option<String>,
    blocks: Vec<(usize, Building)>,
    done: Vec<Block>,
}

impl StreamDecoder {
    pub(crate) fn new(request_id: Option<String>, forced: Option<String>) -> Self {
        StreamDecoder {
            request_id,
            forced,
            id: String::new(),
            usage: Usage::default(),
            stop_reason: None,
            blocks: Vec::new(),
            done: Vec::new(),
        }
    }

    fn block(&mut self, index: usize) -> Option<&mut Building> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidResponse(format!(
        "a `{what}` event is not what the API documents: {e}"
    ))
}

fn index_of(data: &Value, what: &str) -> Result<usize, ModelError> {
    data.get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| invalid(what, "no `index`"))
}

impl Decoder for StreamDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<bool, ModelError> {
        let data: Value = serde_json::from_str(&event.data)
            .map_err(|e| ModelError::InvalidResponse(format!("an event is not JSON: {e}")))?;
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "message_start" => {
                let message = data
                    .get("message")
                    .ok_or_else(|| invalid(&kind, "no message"))?;
                self.id = message
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(u) = message.get("usage") {
                    let u: Usage =
                        serde_json::from_value(u.clone()).map_err(|e| invalid(&kind, e))?;
                    self.usage.merge(u);
                }
            }
            "content_block_start" => {
                let index = index_of(&data, &kind)?;
                let block = data
                    .get("content_block")
                    .ok_or_else(|| invalid(&kind, "no content_block"))?;
                let building = match serde_json::from_value::<Block>(block.clone()) {
                    Ok(Block::Text { text, citations }) => {
                        Building::Text(text, citations.unwrap_or_default())
                    }
                    Ok(Block::Thinking {
                        thinking,
                        signature,
                    }) => Building::Thinking(thinking, signature),
                    Ok(Block::RedactedThinking { data }) => Building::Redacted(data),
                    Ok(Block::ToolUse { id, name, input }) => Building::Tool {
                        id,
                        name,
                        // A start event carries `{}`; the input arrives as deltas.
                        json: match input {
                            Value::Object(m) if m.is_empty() => String::new(),
                            other => other.to_string(),
                        },
                    },
                    Ok(Block::Unknown) => Building::Other,
                    Err(e) => return Err(invalid(&kind, e)),
                };
                self.blocks.push((index, building));
            }
            "content_block_delta" => {
                let index = index_of(&data, &kind)?;
                let delta = data
                    .get("delta")
                    .ok_or_else(|| invalid(&kind, "no delta"))?;
                let text = |field: &str| {
                    delta
                        .get(field)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("content_block_delta", format!("no `{field}`")))
                };
                let forced = self.forced.clone();
                let block = self
                    .block(index)
                    .ok_or_else(|| invalid(&kind, format!("no block {index} was started")))?;
                match (delta.get("type").and_then(Value::as_str), block) {
                    (Some("text_delta"), Building::Text(buf, _)) => {
                        let t = text("text")?;
                        buf.push_str(&t);
                        out.push_back(ModelStreamEvent::OutputTextDelta {
                            item_id: None,
                            output_index: index,
                            delta: t,
                        });
                    }
                    (Some("citations_delta"), Building::Text(_, citations)) => {
                        if let Some(c) = delta.get("citation") {
                            citations.push(c.clone());
                        }
                    }
                    (Some("thinking_delta"), Building::Thinking(buf, _)) => {
                        let t = text("thinking")?;
                        buf.push_str(&t);
                        out.push_back(ModelStreamEvent::ReasoningDelta {
                            item_id: None,
                            output_index: index,
                            delta: t,
                        });
                    }
                    (Some("signature_delta"), Building::Thinking(_, sig)) => {
                        sig.push_str(&text("signature")?);
                    }
                    (Some("input_json_delta"), Building::Tool { id, name, json }) => {
                        let t = text("partial_json")?;
                        json.push_str(&t);
                        if forced.as_deref() == Some(name.as_str()) {
                            out.push_back(ModelStreamEvent::OutputTextDelta {
                                item_id: None,
                                output_index: index,
                                delta: t,
                            });
                        } else {
                            out.push_back(ModelStreamEvent::FunctionCallArgumentsDelta {
                                item_id: None,
                                output_index: index,
                                call_id: Some(id.clone()),
                                name: Some(name.clone()),
                                delta: t,
                            });
                        }
                    }
                    (other, _) => {
                        return Err(invalid(
                            &kind,
                            format!("the delta type {other:?} does not fit block {index}"),
                        ))
                    }
                }
            }
            "content_block_stop" => {
                let index = index_of(&data, &kind)?;
                let pos = self
                    .blocks
                    .iter()
                    .position(|(i, _)| *i == index)
                    .ok_or_else(|| invalid(&kind, format!("no block {index} was started")))?;
                let (_, building) = self.blocks.remove(pos);
                let block = match building {
                    Building::Text(text, citations) => Block::Text {
                        text,
                        citations: (!citations.is_empty()).then_some(citations),
                    },
                    Building::Thinking(thinking, signature) => Block::Thinking {
                        thinking,
                        signature,
                    },
                    Building::Redacted(data) => Block::RedactedThinking { data },
                    Building::Tool { id, name, json } => {
                        let input = if json.trim().is_empty() {
                            Value::Object(serde_json::Map::new())
                        } else {
                            serde_json::from_str(&json).unwrap_or(Value::String(json))
                        };
                        Block::ToolUse { id, name, input }
                    }
                    Building::Other => Block::Unknown,
                };
                self.done.push(block);
            }
            "message_delta" => {
                if let Some(reason) = data
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(u) = data.get("usage") {
                    let u: Usage =
                        serde_json::from_value(u.clone()).map_err(|e| invalid(&kind, e))?;
                    self.usage.merge(u);
                }
            }
            "message_stop" => {
                out.push_back(ModelStreamEvent::Other {
                    event_type: kind,
                    data,
                });
                let blocks = std::mem::take(&mut self.done);
                let response = response(
                    std::mem::take(&mut self.id),
                    blocks,
                    self.stop_reason.as_deref(),
                    self.usage,
                    self.request_id.take(),
                    self.forced.as_deref(),
                );
                for (output_index, item) in response.output.iter().enumerate() {
                    out.push_back(ModelStreamEvent::OutputItemDone {
                        output_index,
                        item: item.clone(),
                    });
                }
                out.push_back(ModelStreamEvent::Completed(response));
                return Ok(true);
            }
            "error" => {
                let error = data.get("error");
                let field = |f: &str| {
                    error
                        .and_then(|e| e.get(f))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                return Err(ModelError::Stream(format!(
                    "the server sent an error event: {} ({})",
                    field("message"),
                    field("type")
                )));
            }
            _ => {} // `ping` and event types added later: passed on raw.
        }
        out.push_back(ModelStreamEvent::Other {
            event_type: kind,
            data,
        });
        Ok(false)
    }

    fn on_json_body(
        &mut self,
        body: &[u8],
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        let response = parse_message(body, self.request_id.take(), self.forced.as_deref())?;
        for (output_index, item) in response.output.iter().enumerate() {
            out.push_back(ModelStreamEvent::OutputItemDone {
                output_index,
                item: item.clone(),
            });
        }
        out.push_back(ModelStreamEvent::Completed(response));
        Ok(())
    }

    fn on_eof(
        &mut self,
        partial: bool,
        _out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        Err(ModelError::Stream(if partial {
            "the stream was cut in the middle of an event, before `message_stop`".to_owned()
        } else {
            "the stream ended before `message_stop`".to_owned()
        }))
    }
}
