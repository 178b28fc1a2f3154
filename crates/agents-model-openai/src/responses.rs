//! The OpenAI Responses API (`POST /responses`): [`OpenAIResponsesModel`].

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use agents_core::items::is_placeholder_id;
use agents_core::usage::RequestUsage;
use agents_core::{
    BoxFuture, BoxStream, Content, ContentPart, Extra, HostedTool, Item, Model, ModelError,
    ModelRequest, ModelResponse, ModelStreamEvent, OutputSchema, Prompt, ReasoningSettings, Role,
    ToolChoice, ToolSpec,
};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::OpenAIClient;
use crate::transport::{call_json, encode_body, stream_events};
use agents_http::Decoder;
use agents_http::SseEvent;

const PATH: &str = "/responses";

/// A model served through the OpenAI Responses API.
///
/// This is the default API of [`OpenAIProvider`](crate::OpenAIProvider). Items
/// are sent as Responses input items as they are (reasoning items included,
/// so reasoning models accept the tool results that follow them); item types
/// and fields the SDK does not model pass through verbatim. Placeholder ids
/// ([`PLACEHOLDER_ID`](agents_core::PLACEHOLDER_ID), stored for items from
/// APIs that give none) and openai-agents-python's `provider_data` are left
/// out, because the API rejects them; reasoning items with a placeholder id
/// come from another API and are left out too. The body is written from the
/// borrowed history, without copying it.
///
/// ```
/// use agents_model_openai::{OpenAIClient, OpenAIResponsesModel};
/// use async_openai::config::OpenAIConfig;
///
/// let client = OpenAIClient::new(OpenAIConfig::new().with_api_key("sk-test"));
/// let model = OpenAIResponsesModel::new("gpt-4.1", client);
/// assert_eq!(model.model_name(), "gpt-4.1");
/// ```
#[derive(Clone, Debug)]
pub struct OpenAIResponsesModel {
    model: String,
    client: OpenAIClient,
}

impl OpenAIResponsesModel {
    /// A Responses model named `model`, sending through `client`.
    pub fn new(model: impl Into<String>, client: OpenAIClient) -> Self {
        OpenAIResponsesModel {
            model: model.into(),
            client,
        }
    }

    /// The model name sent as `model`.
    pub fn model_name(&self) -> &str {
        &self.model
    }

    /// The client.
    pub fn client(&self) -> &OpenAIClient {
        &self.client
    }

    /// The JSON body this model sends for `request` (`stream` selects the
    /// streaming variant), with `extra_body` merged in. Useful for logging and
    /// tests; the model itself writes the body straight to bytes.
    pub fn request_body(
        &self,
        request: &ModelRequest<'_>,
        stream: bool,
    ) -> Result<Value, ModelError> {
        let bytes = encode_body(
            &ResponsesRequest::new(&self.model, request, stream),
            request.settings.extra_body.as_ref(),
        )?;
        serde_json::from_slice(&bytes).map_err(|e| ModelError::Other(e.to_string()))
    }
}

impl Model for OpenAIResponsesModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            tracing::debug!(model = %self.model, items = request.input.len(), "responses request");
            let body = encode_body(
                &ResponsesRequest::new(&self.model, &request, false),
                request.settings.extra_body.as_ref(),
            )?;
            let (bytes, request_id) =
                call_json(&self.client, PATH, &body, request.settings).await?;
            parse_response(&bytes, request_id)
        })
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        tracing::debug!(model = %self.model, items = request.input.len(), "responses stream request");
        let body = encode_body(
            &ResponsesRequest::new(&self.model, &request, true),
            request.settings.extra_body.as_ref(),
        );
        stream_events(
            &self.client,
            PATH,
            body,
            request.settings,
            ResponsesDecoder::new,
        )
    }
}

// ---- request ----------------------------------------------------------------

/// The `POST /responses` body, borrowing everything from the [`ModelRequest`].
#[derive(Serialize)]
pub(crate) struct ResponsesRequest<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
    input: InputItems<'a>,
    #[serde(skip_serializing_if = "Tools::is_empty")]
    tools: Tools<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ResponsesToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<TextParam<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<&'a ReasoningSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_response_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a Prompt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_retention: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
}

/// The request's `include`: the settings' list, what hosted tools need
/// (`file_search_call.results`), and `message.output_text.logprobs` when
/// `top_logprobs` is set, without duplicates.
fn includes<'a>(r: &ModelRequest<'a>) -> Option<Vec<&'a str>> {
    let s = r.settings;
    let mut all: Vec<&'a str> = s
        .include
        .iter()
        .flatten()
        .map(String::as_str)
        .chain(r.hosted_tools.iter().filter_map(|t| t.includes()))
        .chain(
            s.top_logprobs
                .is_some()
                .then_some("message.output_text.logprobs"),
        )
        .collect();
    let mut seen = std::collections::HashSet::new();
    all.retain(|i| seen.insert(*i));
    (!all.is_empty() || s.include.is_some()).then_some(all)
}

impl<'a> ResponsesRequest<'a> {
    pub(crate) fn new(model: &'a str, r: &ModelRequest<'a>, stream: bool) -> Self {
        let s = r.settings;
        let tools = Tools {
            tools: r.tools,
            handoffs: r.handoffs,
            hosted: r.hosted_tools,
        };
        if s.frequency_penalty.is_some() || s.presence_penalty.is_some() {
            tracing::debug!(
                "the Responses API has no frequency/presence penalties; they are not sent \
                 (use extra_body to force them)"
            );
        }
        let text = (r.output_schema.is_some() || s.verbosity.is_some()).then(|| TextParam {
            format: r.output_schema.map(|schema| JsonSchemaFormat { schema }),
            verbosity: s.verbosity.as_deref(),
        });
        ResponsesRequest {
            model,
            instructions: r.instructions,
            input: InputItems(r.input),
            parallel_tool_calls: if tools.is_empty() {
                None
            } else {
                s.parallel_tool_calls
            },
            tools,
            tool_choice: s.tool_choice.as_ref().map(ResponsesToolChoice),
            text,
            reasoning: s.reasoning.as_ref(),
            temperature: s.temperature,
            top_p: s.top_p,
            truncation: s.truncation.as_deref(),
            max_output_tokens: s.max_tokens,
            metadata: s.metadata.as_ref(),
            store: s.store,
            previous_response_id: r.previous_response_id,
            conversation: r.conversation_id,
            prompt: r.prompt,
            include: includes(r),
            top_logprobs: s.top_logprobs,
            prompt_cache_retention: s.prompt_cache_retention.as_deref(),
            stream: stream.then_some(true),
        }
    }
}

/// Function tools, then handoff tools (as Responses function tools), then
/// hosted tools (as their own tool objects).
struct Tools<'a> {
    tools: &'a [ToolSpec<'a>],
    handoffs: &'a [ToolSpec<'a>],
    hosted: &'a [HostedTool],
}

impl Tools<'_> {
    fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.handoffs.is_empty() && self.hosted.is_empty()
    }
}

impl Serialize for Tools<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(
            self.tools.len() + self.handoffs.len() + self.hosted.len(),
        ))?;
        for t in self.tools.iter().chain(self.handoffs) {
            seq.serialize_element(&FunctionTool(t))?;
        }
        for t in self.hosted {
            seq.serialize_element(t)?;
        }
        seq.end()
    }
}

/// `{"type": "function", "name", "description", "parameters", "strict"}`.
struct FunctionTool<'a>(&'a ToolSpec<'a>);

impl Serialize for FunctionTool<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("type", "function")?;
        m.serialize_entry("name", &t.name)?;
        m.serialize_entry("description", &t.description)?;
        m.serialize_entry("parameters", &t.parameters)?;
        m.serialize_entry("strict", &t.strict)?;
        m.end()
    }
}

struct ResponsesToolChoice<'a>(&'a ToolChoice);

impl Serialize for ResponsesToolChoice<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ToolChoice::Auto => s.serialize_str("auto"),
            ToolChoice::Required => s.serialize_str("required"),
            ToolChoice::None => s.serialize_str("none"),
            ToolChoice::Function(name) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "function")?;
                m.serialize_entry("name", name)?;
                m.end()
            }
            ToolChoice::Mcp { server_label, name } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "mcp")?;
                m.serialize_entry("server_label", server_label)?;
                if let Some(name) = name {
                    m.serialize_entry("name", name)?;
                }
                m.end()
            }
            hosted => {
                let kind = match hosted {
                    ToolChoice::WebSearch => "web_search_preview",
                    ToolChoice::FileSearch => "file_search",
                    ToolChoice::CodeInterpreter => "code_interpreter",
                    ToolChoice::ImageGeneration => "image_generation",
                    other => {
                        return Err(serde::ser::Error::custom(format!(
                            "tool choice {other:?} cannot be sent to the Responses API"
                        )))
                    }
                };
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("type", kind)?;
                m.end()
            }
        }
    }
}

#[derive(Serialize)]
struct TextParam<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<JsonSchemaFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verbosity: Option<&'a str>,
}

/// `{"type": "json_schema", "name", "schema", "strict"}`.
struct JsonSchemaFormat<'a> {
    schema: &'a OutputSchema,
}

impl Serialize for JsonSchemaFormat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", "json_schema")?;
        m.serialize_entry("name", &self.schema.name)?;
        m.serialize_entry("schema", &self.schema.schema)?;
        m.serialize_entry("strict", &self.schema.strict)?;
        m.end()
    }
}

/// The input items, serialized straight from the borrowed history (no copy
/// of the history is made, whatever needs cleaning).
struct InputItems<'a>(&'a [Item]);

impl Serialize for InputItems<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter(|i| !skipped(i)).map(InputItem))
    }
}

/// Whether an item is left out of the request: a reasoning item that the
/// Responses API did not produce (a [`PLACEHOLDER_ID`], or another
/// provider's `provider_data`), which the API cannot replay.
fn skipped(item: &Item) -> bool {
    matches!(item, Item::Reasoning(r)
        if is_placeholder_id(&r.id) || r.extra.contains_key(PROVIDER_DATA))
}

/// openai-agents-python's record of another provider's fields on an item;
/// never sent to the Responses API.
const PROVIDER_DATA: &str = "provider_data";

/// One input item. Every item is sent as stored, except that:
///
/// - a [`PLACEHOLDER_ID`] (stored, as openai-agents-python does, for items
///   whose API gave no id, like Chat Completions replies) and
///   `provider_data` are left out: the API rejects ids it did not issue;
/// - an assistant message with content parts that lacks a real `id` or a
///   `status` (built locally, or converted from a Chat Completions reply) is
///   sent as an easy input message with its text (and `phase`): the API only
///   accepts output parts inside a complete output message.
struct InputItem<'a>(&'a Item);

/// The id to send: a real one, never the placeholder.
fn real_id(id: &Option<String>) -> Option<&str> {
    id.as_deref().filter(|id| !is_placeholder_id(id))
}

/// Writes the extra fields that neither shadow a modelled key nor are
/// `provider_data`.
fn write_extra<M: SerializeMap>(m: &mut M, extra: &Extra, known: &[&str]) -> Result<(), M::Error> {
    for (k, v) in extra.iter() {
        if k != PROVIDER_DATA && !known.contains(&k.as_str()) {
            m.serialize_entry(k, v)?;
        }
    }
    Ok(())
}

fn write_opt<M: SerializeMap>(m: &mut M, key: &str, v: Option<&str>) -> Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

impl Serialize for InputItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Item::Message(msg) => {
                let id = real_id(&msg.id);
                if let (Role::Assistant, Content::Parts(parts), None, _)
                | (Role::Assistant, Content::Parts(parts), _, None) =
                    (msg.role, &msg.content, id, &msg.status)
                {
                    let mut map = s.serialize_map(None)?;
                    map.serialize_entry("type", "message")?;
                    map.serialize_entry("role", "assistant")?;
                    map.serialize_entry("content", &assistant_text(parts))?;
                    if let Some(phase) = msg.extra.get("phase") {
                        map.serialize_entry("phase", phase)?;
                    }
                    return map.end();
                }
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "message")?;
                write_opt(&mut m, "id", id)?;
                m.serialize_entry("role", &msg.role)?;
                m.serialize_entry("content", &msg.content)?;
                write_opt(&mut m, "status", msg.status.as_deref())?;
                write_extra(
                    &mut m,
                    &msg.extra,
                    &["type", "id", "role", "content", "status"],
                )?;
                m.end()
            }
            Item::FunctionCall(c) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "function_call")?;
                write_opt(&mut m, "id", real_id(&c.id))?;
                m.serialize_entry("call_id", &c.call_id)?;
                m.serialize_entry("name", &c.name)?;
                m.serialize_entry("arguments", &c.arguments)?;
                write_opt(&mut m, "status", c.status.as_deref())?;
                write_extra(
                    &mut m,
                    &c.extra,
                    &["type", "id", "call_id", "name", "arguments", "status"],
                )?;
                m.end()
            }
            Item::FunctionCallOutput(o) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "function_call_output")?;
                write_opt(&mut m, "id", real_id(&o.id))?;
                m.serialize_entry("call_id", &o.call_id)?;
                m.serialize_entry("output", &o.output)?;
                write_opt(&mut m, "status", o.status.as_deref())?;
                write_extra(
                    &mut m,
                    &o.extra,
                    &["type", "id", "call_id", "output", "status"],
                )?;
                m.end()
            }
            // Reasoning items that reach here are the API's own.
            Item::Reasoning(_) => self.0.serialize(s),
            Item::Other(Value::Object(map))
                if map.contains_key(PROVIDER_DATA)
                    || map
                        .get("id")
                        .and_then(Value::as_str)
                        .is_some_and(is_placeholder_id) =>
            {
                s.collect_map(map.iter().filter(|(k, v)| {
                    *k != PROVIDER_DATA
                        && !(*k == "id" && v.as_str().is_some_and(is_placeholder_id))
                }))
            }
            item => item.serialize(s),
        }
    }
}

/// The text of an assistant message's parts (output text and refusals).
fn assistant_text(parts: &[ContentPart]) -> Cow<'_, str> {
    let mut texts = parts.iter().filter_map(|p| match p {
        ContentPart::OutputText { text, .. } | ContentPart::InputText { text, .. } => {
            Some(text.as_str())
        }
        ContentPart::Refusal { refusal, .. } => Some(refusal.as_str()),
        _ => None,
    });
    match (texts.next(), texts.next()) {
        (None, _) => Cow::Borrowed(""),
        (Some(one), None) => Cow::Borrowed(one),
        (Some(a), Some(b)) => {
            let mut all = String::from(a);
            all.push_str(b);
            texts.for_each(|t| all.push_str(t));
            Cow::Owned(all)
        }
    }
}

// ---- response ---------------------------------------------------------------

/// A Responses API response object (the fields the SDK uses).
#[derive(Deserialize)]
struct ResponseObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    output: Vec<Item>,
    #[serde(default)]
    usage: Option<ResponsesUsage>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Default, Deserialize)]
struct ResponsesUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
    #[serde(default)]
    total_tokens: u64,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct ErrorObject {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

impl ErrorObject {
    pub(crate) fn describe(&self) -> String {
        let message = self.message.as_deref().unwrap_or("no message");
        match &self.code {
            Some(Value::String(code)) => format!("{message} ({code})"),
            Some(Value::Number(code)) => format!("{message} ({code})"),
            _ => message.to_owned(),
        }
    }
}

impl ResponsesUsage {
    fn into_request_usage(self) -> RequestUsage {
        RequestUsage {
            input_tokens: self.input_tokens,
            cached_input_tokens: self
                .input_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            output_tokens: self.output_tokens,
            reasoning_tokens: self
                .output_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            total_tokens: self.total_tokens,
            // OpenAI does not report cache writes.
            cache_write_input_tokens: 0,
        }
    }
}

impl ResponseObject {
    fn into_model_response(self, request_id: Option<String>) -> ModelResponse {
        let mut response = ModelResponse::new(self.output)
            .with_usage(self.usage.unwrap_or_default().into_request_usage());
        response.response_id = self.id;
        response.request_id = request_id;
        response
    }
}

/// Parses a non-streamed response body.
fn parse_response(bytes: &[u8], request_id: Option<String>) -> Result<ModelResponse, ModelError> {
    let object: ResponseObject = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::InvalidResponse(format!(
            "the Responses API body is not a response object: {e}"
        ))
    })?;
    if object.status.as_deref() == Some("failed") {
        let why = object
            .error
            .as_ref()
            .map_or_else(|| "no error details".to_owned(), ErrorObject::describe);
        return Err(ModelError::Other(format!(
            "the model response failed: {why}"
        )));
    }
    if object.status.as_deref() == Some("incomplete") {
        tracing::debug!(
            "the model response is incomplete (for example max_output_tokens was reached)"
        );
    }
    Ok(object.into_model_response(request_id))
}

// ---- streaming --------------------------------------------------------------

/// Decodes Responses API server-sent events.
pub(crate) struct ResponsesDecoder {
    request_id: Option<String>,
    /// Function calls announced by `response.output_item.added`:
    /// `(output_index, call_id, name)`, so argument deltas can name them.
    calls: Vec<(usize, String, String)>,
    /// Items of `response.output_item.done`, a fallback when the completed
    /// response carries no output.
    done: Vec<Item>,
}

#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct DeltaEvent {
    #[serde(default)]
    item_id: Option<String>,
    #[serde(default)]
    output_index: usize,
    delta: String,
}

#[derive(Deserialize)]
struct ItemDoneEvent {
    #[serde(default)]
    output_index: usize,
    item: Item,
}

#[derive(Deserialize)]
struct ResponseEvent {
    response: ResponseObject,
}

#[derive(Deserialize)]
struct FailedEvent {
    response: FailedResponse,
}

#[derive(Deserialize)]
struct FailedResponse {
    #[serde(default)]
    error: Option<ErrorObject>,
}

fn malformed(kind: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidResponse(format!("malformed `{kind}` event: {e}"))
}

impl ResponsesDecoder {
    /// A decoder for one attempt, knowing the attempt's request id.
    fn new(request_id: Option<String>) -> Self {
        ResponsesDecoder {
            request_id,
            calls: Vec::new(),
            done: Vec::new(),
        }
    }
}

impl Decoder for ResponsesDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<bool, ModelError> {
        let data = event.data.as_str();
        if data == "[DONE]" {
            return Ok(false);
        }
        let head: EventHead<'_> = serde_json::from_str(data).map_err(|e| {
            ModelError::InvalidResponse(format!("a stream event is not a JSON object: {e}"))
        })?;
        let kind: Cow<'_, str> = match (head.kind, event.event.as_deref()) {
            (Some(kind), _) => kind,
            (None, Some(name)) => Cow::Borrowed(name),
            (None, None) => {
                return Err(ModelError::InvalidResponse(
                    "a stream event has no `type`".to_owned(),
                ))
            }
        };
        let parse_delta =
            || serde_json::from_str::<DeltaEvent>(data).map_err(|e| malformed(&kind, e));
        match &*kind {
            "response.output_text.delta" => {
                let d = parse_delta()?;
                out.push_back(ModelStreamEvent::OutputTextDelta {
                    item_id: d.item_id,
                    output_index: d.output_index,
                    delta: d.delta,
                });
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let d = parse_delta()?;
                out.push_back(ModelStreamEvent::ReasoningDelta {
                    item_id: d.item_id,
                    output_index: d.output_index,
                    delta: d.delta,
                });
            }
            "response.function_call_arguments.delta" => {
                let d = parse_delta()?;
                let known = self.calls.iter().find(|(i, _, _)| *i == d.output_index);
                out.push_back(ModelStreamEvent::FunctionCallArgumentsDelta {
                    item_id: d.item_id,
                    output_index: d.output_index,
                    call_id: known.map(|(_, c, _)| c.clone()),
                    name: known.map(|(_, _, n)| n.clone()),
                    delta: d.delta,
                });
            }
            "response.output_item.done" => {
                let e: ItemDoneEvent =
                    serde_json::from_str(data).map_err(|e| malformed(&kind, e))?;
                self.done.push(e.item.clone());
                out.push_back(ModelStreamEvent::OutputItemDone {
                    output_index: e.output_index,
                    item: e.item,
                });
            }
            "response.completed" | "response.incomplete" => {
                let e: ResponseEvent =
                    serde_json::from_str(data).map_err(|e| malformed(&kind, e))?;
                if kind == "response.incomplete" {
                    tracing::debug!("the model response is incomplete (for example max_output_tokens was reached)");
                }
                let mut response = e.response.into_model_response(self.request_id.take());
                if response.output.is_empty() {
                    response.output = std::mem::take(&mut self.done);
                }
                out.push_back(ModelStreamEvent::Completed(response));
                return Ok(true);
            }
            "response.failed" => {
                let e: FailedEvent = serde_json::from_str(data).map_err(|e| malformed(&kind, e))?;
                let why = e
                    .response
                    .error
                    .as_ref()
                    .map_or_else(|| "no error details".to_owned(), ErrorObject::describe);
                return Err(ModelError::Stream(format!(
                    "the model response failed: {why}"
                )));
            }
            "error" => {
                let e: ErrorObject = serde_json::from_str(data).map_err(|e| malformed(&kind, e))?;
                return Err(ModelError::Stream(format!(
                    "the server reported an error: {}",
                    e.describe()
                )));
            }
            _ => {
                let value: Value = serde_json::from_str(data).map_err(|e| malformed(&kind, e))?;
                if kind == "response.output_item.added" {
                    self.note_added_call(&value);
                }
                out.push_back(ModelStreamEvent::Other {
                    event_type: kind.into_owned(),
                    data: value,
                });
            }
        }
        Ok(false)
    }

    fn on_json_body(
        &mut self,
        body: &[u8],
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        push_whole_response(parse_response(body, self.request_id.take())?, out);
        Ok(())
    }

    fn on_eof(
        &mut self,
        partial: bool,
        _out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        Err(ModelError::Stream(if partial {
            "the stream was cut off in the middle of an event, before `response.completed`"
                .to_owned()
        } else {
            "the stream ended before `response.completed`".to_owned()
        }))
    }
}

/// Emits a complete response as `OutputItemDone` events and `Completed`.
pub(crate) fn push_whole_response(response: ModelResponse, out: &mut VecDeque<ModelStreamEvent>) {
    for (output_index, item) in response.output.iter().enumerate() {
        out.push_back(ModelStreamEvent::OutputItemDone {
            output_index,
            item: item.clone(),
        });
    }
    out.push_back(ModelStreamEvent::Completed(response));
}

impl ResponsesDecoder {
    fn note_added_call(&mut self, value: &Value) {
        let Some(item) = value.get("item") else {
            return;
        };
        if item.get("type").and_then(Value::as_str) != Some("function_call") {
            return;
        }
        let index = value
            .get("output_index")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let text = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        self.calls.push((index, text("call_id"), text("name")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_core::Message;
    use serde_json::json;

    fn feed(events: &[Value]) -> (Vec<ModelStreamEvent>, Result<bool, ModelError>) {
        let mut decoder = ResponsesDecoder::new(Some("req_9".into()));
        let mut out = VecDeque::new();
        let mut result = Ok(false);
        for data in events {
            let event = SseEvent {
                event: data.get("type").and_then(Value::as_str).map(str::to_owned),
                data: data.to_string(),
            };
            result = decoder.on_event(event, &mut out);
            if !matches!(result, Ok(false)) {
                break;
            }
        }
        (out.into_iter().collect(), result)
    }

    #[test]
    fn events_map_to_model_stream_events() {
        let call = json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"});
        let (events, result) = feed(&[
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1"}}),
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": "{}"}),
            json!({"type": "response.reasoning_text.delta", "item_id": "rs_1", "output_index": 0, "delta": "hm"}),
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 2, "content_index": 0, "delta": "Hi"}),
            json!({"type": "response.brand_new_event", "x": 1}),
            json!({"type": "response.output_item.done", "output_index": 1, "item": call}),
            json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": [],
                "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}}),
            json!({"type": "response.after_the_end"}),
        ]);
        assert!(matches!(result, Ok(true)));
        assert_eq!(
            events,
            [
                ModelStreamEvent::Other {
                    event_type: "response.created".into(),
                    data: json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1"}})
                },
                ModelStreamEvent::Other {
                    event_type: "response.output_item.added".into(),
                    data: json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": ""}})
                },
                ModelStreamEvent::FunctionCallArgumentsDelta {
                    item_id: Some("fc_1".into()),
                    output_index: 1,
                    call_id: Some("call_1".into()),
                    name: Some("f".into()),
                    delta: "{}".into()
                },
                ModelStreamEvent::ReasoningDelta {
                    item_id: Some("rs_1".into()),
                    output_index: 0,
                    delta: "hm".into()
                },
                ModelStreamEvent::OutputTextDelta {
                    item_id: Some("msg_1".into()),
                    output_index: 2,
                    delta: "Hi".into()
                },
                ModelStreamEvent::Other {
                    event_type: "response.brand_new_event".into(),
                    data: json!({"type": "response.brand_new_event", "x": 1})
                },
                ModelStreamEvent::OutputItemDone {
                    output_index: 1,
                    item: serde_json::from_value(call.clone()).expect("item")
                },
                ModelStreamEvent::Completed(
                    // An empty `output` falls back to the items seen done.
                    ModelResponse::new(vec![serde_json::from_value(call).expect("item")])
                        .with_usage(RequestUsage {
                            input_tokens: 1,
                            output_tokens: 2,
                            total_tokens: 3,
                            ..Default::default()
                        })
                        .with_response_id("resp_1")
                        .with_request_id("req_9")
                ),
            ]
        );
    }

    #[test]
    fn failures_and_bad_events_are_typed_errors() {
        let cases = [
            (
                json!({"type": "response.failed", "response": {"id": "r", "status": "failed", "error": {"code": "server_error", "message": "boom"}}}),
                "boom",
            ),
            (
                json!({"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": null}),
                "slow down",
            ),
        ];
        for (event, needle) in cases {
            let (_, result) = feed(&[event]);
            assert!(
                matches!(&result, Err(ModelError::Stream(m)) if m.contains(needle)),
                "{result:?}"
            );
        }
        for bad in [
            json!({"type": "response.output_text.delta", "delta": 5}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call"}}),
            json!({"type": "response.completed", "response": "nope"}),
            json!({"no_type": true}),
            json!([1, 2]),
        ] {
            let (_, result) = feed(std::slice::from_ref(&bad));
            assert!(
                matches!(result, Err(ModelError::InvalidResponse(_))),
                "{bad}: {result:?}"
            );
        }
        let mut decoder = ResponsesDecoder::new(None);
        let mut out = VecDeque::new();
        let err = decoder
            .on_event(
                SseEvent {
                    event: None,
                    data: "not json".into(),
                },
                &mut out,
            )
            .expect_err("not json");
        assert!(matches!(err, ModelError::InvalidResponse(_)));
        assert!(
            matches!(decoder.on_eof(true, &mut out), Err(ModelError::Stream(m)) if m.contains("cut off"))
        );
    }

    #[test]
    fn an_event_without_type_in_its_data_uses_the_sse_event_name() {
        let mut decoder = ResponsesDecoder::new(None);
        let mut out = VecDeque::new();
        let event = SseEvent {
            event: Some("response.output_text.delta".into()),
            data: r#"{"output_index":0,"delta":"x"}"#.into(),
        };
        assert!(matches!(decoder.on_event(event, &mut out), Ok(false)));
        assert!(matches!(&out[0], ModelStreamEvent::OutputTextDelta { delta, .. } if delta == "x"));
    }

    #[test]
    fn failed_and_malformed_response_bodies() {
        let failed = json!({"id": "r", "status": "failed", "output": [], "error": {"code": "server_error", "message": "boom"}});
        assert!(matches!(
            parse_response(failed.to_string().as_bytes(), None),
            Err(ModelError::Other(m)) if m.contains("boom")
        ));
        assert!(matches!(
            parse_response(b"{\"output\": 3}", None),
            Err(ModelError::InvalidResponse(_))
        ));
        let unknown = json!({"id": "r", "status": "completed", "output": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]});
        let r = parse_response(unknown.to_string().as_bytes(), None)
            .expect("unknown items pass through");
        assert_eq!(
            serde_json::to_value(&r.output[0]).expect("json"),
            unknown["output"][0]
        );
    }

    #[test]
    fn placeholder_ids_and_provider_data_are_left_out_of_unmodelled_items() {
        let items: Vec<Item> = serde_json::from_value(json!([
            {"type": "custom_call", "id": "__fake_id__", "provider_data": {"m": 1}, "x": 2},
            {"type": "custom_call", "id": "cc_1", "x": 3},
            {"type": "reasoning", "id": "rs_other", "summary": [], "provider_data": {"m": 1}},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"}
        ]))
        .expect("items");
        assert_eq!(
            serde_json::to_value(InputItems(&items)).expect("json"),
            json!([
                {"type": "custom_call", "x": 2},
                {"type": "custom_call", "id": "cc_1", "x": 3},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"}
            ])
        );
    }

    #[test]
    fn assistant_messages_without_server_ids_become_easy_messages() {
        let items = [
            Item::assistant("a"),
            Item::Message(Message::new(
                Role::Assistant,
                Content::Parts(vec![
                    ContentPart::output_text("b"),
                    ContentPart::refusal("c"),
                ]),
            )),
            Item::Message(Message::new(Role::Assistant, Content::Text("d".into()))),
        ];
        assert_eq!(
            serde_json::to_value(InputItems(&items)).expect("json"),
            json!([
                {"type": "message", "role": "assistant", "content": "a"},
                {"type": "message", "role": "assistant", "content": "bc"},
                {"type": "message", "role": "assistant", "content": "d"}
            ])
        );
    }
}
