//! The OpenAI Chat Completions API (`POST /chat/completions`):
//! [`OpenAIChatCompletionsModel`].

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use agents_core::usage::RequestUsage;
use agents_core::{
    BoxFuture, BoxStream, Content, ContentPart, FunctionCall, Item, Message, Model, ModelError,
    ModelRequest, ModelResponse, ModelStreamEvent, OutputSchema, Role, ToolChoice, ToolSpec,
    PLACEHOLDER_ID,
};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::OpenAIClient;
use crate::responses::{push_whole_response, ErrorObject};
use crate::transport::{call_json, encode_body, stream_events};
use agents_http::Decoder;
use agents_http::SseEvent;

const PATH: &str = "/chat/completions";

/// A model served through the Chat Completions API: OpenAI's, or any
/// OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp, ...).
///
/// Items are converted to chat messages while the body is written:
/// instructions become a leading `system` message, assistant messages and
/// the function calls that follow them become one assistant message with
/// `tool_calls`, function call outputs become `tool` messages. Reasoning
/// items and item types that Chat Completions cannot express are left out.
/// The reply's `content`, `refusal` and `tool_calls` come back as a message
/// item and function call items, keeping the call ids. They are stored as
/// openai-agents-python stores them: the message as a complete Responses
/// output message (`status: "completed"`) and every item with the
/// placeholder id [`PLACEHOLDER_ID`](agents_core::PLACEHOLDER_ID), since Chat
/// Completions gives no item ids. So either SDK can continue the history on
/// either API. Reasoning text that
/// some compatible servers stream (`reasoning_content` or `reasoning` deltas)
/// surfaces as [`ModelStreamEvent::ReasoningDelta`] events only: Chat
/// Completions has no reasoning item to replay.
///
/// ```
/// use agents_model_openai::{OpenAIChatCompletionsModel, OpenAIClient};
/// use async_openai::config::OpenAIConfig;
///
/// // Ollama's OpenAI-compatible endpoint needs no key.
/// let client = OpenAIClient::new(
///     OpenAIConfig::new().with_api_key("").with_api_base("http://127.0.0.1:11434/v1"),
/// );
/// let model = OpenAIChatCompletionsModel::new("llama3.2", client);
/// assert_eq!(model.model_name(), "llama3.2");
/// ```
#[derive(Clone, Debug)]
pub struct OpenAIChatCompletionsModel {
    model: String,
    client: OpenAIClient,
}

impl OpenAIChatCompletionsModel {
    /// A Chat Completions model named `model`, sending through `client`.
    pub fn new(model: impl Into<String>, client: OpenAIClient) -> Self {
        OpenAIChatCompletionsModel {
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
    /// streaming variant), with `extra_body` merged in.
    pub fn request_body(
        &self,
        request: &ModelRequest<'_>,
        stream: bool,
    ) -> Result<Value, ModelError> {
        let bytes = self.encode(request, stream)?;
        serde_json::from_slice(&bytes).map_err(|e| ModelError::Other(e.to_string()))
    }

    fn encode(&self, request: &ModelRequest<'_>, stream: bool) -> Result<bytes::Bytes, ModelError> {
        let body = ChatRequest::new(&self.model, request, stream)?;
        encode_body(&body, request.settings.extra_body.as_ref())
    }
}

impl Model for OpenAIChatCompletionsModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            tracing::debug!(model = %self.model, items = request.input.len(), "chat completions request");
            let body = self.encode(&request, false)?;
            let (bytes, request_id) =
                call_json(&self.client, PATH, &body, request.settings).await?;
            parse_completion(&bytes, request_id)
        })
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        tracing::debug!(model = %self.model, items = request.input.len(), "chat completions stream request");
        let body = self.encode(&request, true);
        stream_events(&self.client, PATH, body, request.settings, ChatDecoder::new)
    }
}

// ---- request ----------------------------------------------------------------

/// The `POST /chat/completions` body, borrowing from the [`ModelRequest`].
#[derive(Serialize)]
pub(crate) struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "ChatTools::is_empty")]
    tools: ChatTools<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ChatToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verbosity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_retention: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

impl<'a> ChatRequest<'a> {
    pub(crate) fn new(
        model: &'a str,
        r: &ModelRequest<'a>,
        stream: bool,
    ) -> Result<Self, ModelError> {
        let unsupported = |what: String| ModelError::Unsupported {
            api: "Chat Completions".to_owned(),
            feature: what,
            hint: "use the Responses API (OpenAIApi::Responses, the default)".to_owned(),
        };
        if r.previous_response_id.is_some() {
            return Err(unsupported("previous_response_id".into()));
        }
        if r.conversation_id.is_some() {
            return Err(unsupported("conversation_id".into()));
        }
        if r.prompt.is_some() {
            return Err(unsupported("stored prompts".into()));
        }
        if let Some(tool) = r.hosted_tools.first() {
            return Err(unsupported(format!(
                "hosted tools (the agent has `{}`; the provider runs hosted tools only on the Responses API)",
                tool.name()
            )));
        }
        let s = r.settings;
        if let Some(choice) = &s.tool_choice {
            if !matches!(
                choice,
                ToolChoice::Auto
                    | ToolChoice::Required
                    | ToolChoice::None
                    | ToolChoice::Function(_)
            ) {
                return Err(unsupported(format!("the hosted tool choice {choice:?}")));
            }
        }
        if s.truncation.is_some() {
            tracing::debug!("the Chat Completions API has no truncation setting; it is not sent");
        }
        if s.include.is_some() {
            tracing::debug!("the Chat Completions API has no `include`; it is not sent");
        }
        let tools = ChatTools {
            tools: r.tools,
            handoffs: r.handoffs,
        };
        Ok(ChatRequest {
            model,
            messages: to_messages(r.instructions, r.input),
            parallel_tool_calls: if tools.is_empty() {
                None
            } else {
                s.parallel_tool_calls
            },
            tools,
            tool_choice: s.tool_choice.as_ref().map(ChatToolChoice),
            response_format: r.output_schema.map(ResponseFormat),
            temperature: s.temperature,
            top_p: s.top_p,
            frequency_penalty: s.frequency_penalty,
            presence_penalty: s.presence_penalty,
            max_completion_tokens: s.max_tokens,
            reasoning_effort: s.reasoning.as_ref().and_then(|r| r.effort.as_deref()),
            verbosity: s.verbosity.as_deref(),
            metadata: s.metadata.as_ref(),
            store: s.store,
            // Chat Completions returns log probabilities only with `logprobs: true`.
            logprobs: s.top_logprobs.map(|_| true),
            top_logprobs: s.top_logprobs,
            prompt_cache_retention: s.prompt_cache_retention.as_deref(),
            stream: stream.then_some(true),
            stream_options: stream.then(|| StreamOptions {
                include_usage: s.include_usage.unwrap_or(true),
            }),
        })
    }
}

/// One chat message, borrowing from the items.
enum ChatMessage<'a> {
    System {
        role: &'static str,
        content: Cow<'a, str>,
    },
    User(&'a Content),
    Assistant {
        content: Option<Cow<'a, str>>,
        refusal: Option<&'a str>,
        tool_calls: Vec<&'a FunctionCall>,
    },
    Tool {
        tool_call_id: &'a str,
        content: Cow<'a, str>,
    },
}

/// Converts items to chat messages: consecutive function calls (and the
/// assistant message right before them) become one assistant message.
fn to_messages<'a>(instructions: Option<&'a str>, items: &'a [Item]) -> Vec<ChatMessage<'a>> {
    let mut out = Vec::with_capacity(items.len() + 1);
    if let Some(instructions) = instructions {
        out.push(ChatMessage::System {
            role: "system",
            content: Cow::Borrowed(instructions),
        });
    }
    // Index in `out` of the assistant message that function calls join.
    let mut open_assistant: Option<usize> = None;
    for item in items {
        match item {
            Item::Message(m) => match m.role {
                Role::Assistant => {
                    let (content, refusal) = assistant_content(m);
                    out.push(ChatMessage::Assistant {
                        content,
                        refusal,
                        tool_calls: Vec::new(),
                    });
                    open_assistant = Some(out.len() - 1);
                }
                Role::User => {
                    out.push(ChatMessage::User(&m.content));
                    open_assistant = None;
                }
                Role::System | Role::Developer => {
                    out.push(ChatMessage::System {
                        role: if m.role == Role::System {
                            "system"
                        } else {
                            "developer"
                        },
                        content: content_text(&m.content),
                    });
                    open_assistant = None;
                }
            },
            Item::FunctionCall(call) => match open_assistant.and_then(|i| out.get_mut(i)) {
                Some(ChatMessage::Assistant { tool_calls, .. }) => tool_calls.push(call),
                _ => {
                    out.push(ChatMessage::Assistant {
                        content: None,
                        refusal: None,
                        tool_calls: vec![call],
                    });
                    open_assistant = Some(out.len() - 1);
                }
            },
            Item::FunctionCallOutput(o) => {
                if matches!(&o.output, Content::Parts(parts) if parts.iter().any(|p| !matches!(p, ContentPart::InputText { .. } | ContentPart::OutputText { .. })))
                {
                    tracing::debug!(call_id = %o.call_id, "Chat Completions tool messages carry text only; non-text parts of the output are left out");
                }
                out.push(ChatMessage::Tool {
                    tool_call_id: &o.call_id,
                    content: content_text(&o.output),
                });
                open_assistant = None;
            }
            Item::Reasoning(_) => {} // Chat Completions cannot replay reasoning.
            Item::Other(_) => {
                let kind = item.kind();
                tracing::debug!(
                    item_type = kind,
                    "item type not supported by Chat Completions; left out of the request"
                );
            }
        }
    }
    out
}

fn content_text(content: &Content) -> Cow<'_, str> {
    match content {
        Content::Text(t) => Cow::Borrowed(t),
        Content::Parts(parts) => match parts.as_slice() {
            [ContentPart::InputText { text, .. }] | [ContentPart::OutputText { text, .. }] => {
                Cow::Borrowed(text)
            }
            _ => Cow::Owned(content.text()),
        },
    }
}

/// The text and refusal of an assistant message.
fn assistant_content(m: &Message) -> (Option<Cow<'_, str>>, Option<&str>) {
    match &m.content {
        Content::Text(t) => (Some(Cow::Borrowed(t)), None),
        Content::Parts(parts) => {
            let refusal = m.refusal();
            let has_text = parts.iter().any(|p| {
                matches!(
                    p,
                    ContentPart::OutputText { .. } | ContentPart::InputText { .. }
                )
            });
            let text = if has_text || refusal.is_none() {
                Some(content_text(&m.content))
            } else {
                None
            };
            (text, refusal)
        }
    }
}

impl Serialize for ChatMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            ChatMessage::System { role, content } => {
                m.serialize_entry("role", role)?;
                m.serialize_entry("content", content)?;
            }
            ChatMessage::User(content) => {
                m.serialize_entry("role", "user")?;
                match content {
                    Content::Text(t) => m.serialize_entry("content", t)?,
                    Content::Parts(parts) => m.serialize_entry("content", &UserParts(parts))?,
                }
            }
            ChatMessage::Assistant {
                content,
                refusal,
                tool_calls,
            } => {
                m.serialize_entry("role", "assistant")?;
                if let Some(content) = content {
                    m.serialize_entry("content", content)?;
                }
                if let Some(refusal) = refusal {
                    m.serialize_entry("refusal", refusal)?;
                }
                if !tool_calls.is_empty() {
                    m.serialize_entry("tool_calls", &ToolCalls(tool_calls))?;
                }
            }
            ChatMessage::Tool {
                tool_call_id,
                content,
            } => {
                m.serialize_entry("role", "tool")?;
                m.serialize_entry("tool_call_id", tool_call_id)?;
                m.serialize_entry("content", content)?;
            }
        }
        m.end()
    }
}

struct ToolCalls<'a>(&'a [&'a FunctionCall]);

impl Serialize for ToolCalls<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Call<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            arguments: &'a str,
        }
        s.collect_seq(self.0.iter().map(|c| Call {
            id: &c.call_id,
            kind: "function",
            function: Function {
                name: &c.name,
                arguments: &c.arguments,
            },
        }))
    }
}

/// User content parts as chat content parts.
struct UserParts<'a>(&'a [ContentPart]);

impl Serialize for UserParts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter_map(|p| {
            let keep = !matches!(
                p,
                ContentPart::InputImage {
                    image_url: None,
                    ..
                } | ContentPart::Refusal { .. }
            );
            if !keep {
                tracing::debug!("a user content part Chat Completions cannot carry is left out (image by file id, refusal)");
            }
            keep.then_some(UserPart(p))
        }))
    }
}

struct UserPart<'a>(&'a ContentPart);

impl Serialize for UserPart<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ContentPart::InputText { text, .. } | ContentPart::OutputText { text, .. } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", text)?;
                m.end()
            }
            ContentPart::InputImage {
                image_url, detail, ..
            } => {
                #[derive(Serialize)]
                struct ImageUrl<'a> {
                    url: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    detail: Option<&'a str>,
                }
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "image_url")?;
                m.serialize_entry(
                    "image_url",
                    &ImageUrl {
                        url: image_url.as_deref().unwrap_or_default(),
                        detail: detail.as_deref(),
                    },
                )?;
                m.end()
            }
            ContentPart::Other(v)
                if v.get("type").and_then(Value::as_str) == Some("input_file") =>
            {
                let mut file = serde_json::Map::new();
                for key in ["file_id", "file_data", "filename"] {
                    if let Some(x) = v.get(key) {
                        file.insert(key.to_owned(), x.clone());
                    }
                }
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "file")?;
                m.serialize_entry("file", &file)?;
                m.end()
            }
            // Chat-native parts (`input_audio`, ...) pass through as they are.
            part => part.serialize(s),
        }
    }
}

struct ChatTools<'a> {
    tools: &'a [ToolSpec<'a>],
    handoffs: &'a [ToolSpec<'a>],
}

impl ChatTools<'_> {
    fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.handoffs.is_empty()
    }
}

impl Serialize for ChatTools<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tool<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            function: Function<'a>,
        }
        #[derive(Serialize)]
        struct Function<'a> {
            name: &'a str,
            description: &'a str,
            parameters: &'a Value,
            strict: bool,
        }
        s.collect_seq(self.tools.iter().chain(self.handoffs).map(|t| Tool {
            kind: "function",
            function: Function {
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
                strict: t.strict,
            },
        }))
    }
}

struct ChatToolChoice<'a>(&'a ToolChoice);

impl Serialize for ChatToolChoice<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ToolChoice::Auto => s.serialize_str("auto"),
            ToolChoice::Required => s.serialize_str("required"),
            ToolChoice::None => s.serialize_str("none"),
            ToolChoice::Function(name) => {
                #[derive(Serialize)]
                struct Name<'a> {
                    name: &'a str,
                }
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "function")?;
                m.serialize_entry("function", &Name { name })?;
                m.end()
            }
            // Refused before the body is written (`ChatRequest::new`).
            other => Err(serde::ser::Error::custom(format!(
                "the Chat Completions API has no tool choice {other:?}"
            ))),
        }
    }
}

/// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`.
struct ResponseFormat<'a>(&'a OutputSchema);

impl Serialize for ResponseFormat<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct JsonSchema<'a> {
            name: &'a str,
            schema: &'a Value,
            strict: bool,
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", "json_schema")?;
        m.serialize_entry(
            "json_schema",
            &JsonSchema {
                name: &self.0.name,
                schema: &self.0.schema,
                strict: self.0.strict,
            },
        )?;
        m.end()
    }
}

// ---- response ---------------------------------------------------------------

#[derive(Deserialize)]
struct ChatCompletion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ReplyToolCall>>,
}

#[derive(Deserialize)]
struct ReplyToolCall {
    id: String,
    #[serde(default)]
    function: Option<ReplyFunction>,
}

#[derive(Deserialize)]
struct ReplyFunction {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Default, Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl ChatUsage {
    fn into_request_usage(self) -> RequestUsage {
        RequestUsage {
            input_tokens: self.prompt_tokens,
            cached_input_tokens: self
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            output_tokens: self.completion_tokens,
            reasoning_tokens: self
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            total_tokens: self.total_tokens,
            // OpenAI does not report cache writes.
            cache_write_input_tokens: 0,
        }
    }
}

/// The assistant message item of a reply, if it has text or a refusal.
///
/// Stored as openai-agents-python stores it: a complete Responses output
/// message (`id`, `status`, `output_text` with `annotations` and `logprobs`),
/// with the [`PLACEHOLDER_ID`] because Chat Completions gives no item id.
/// So the item is a valid Responses input item, and either SDK can continue
/// a session holding it, on either API.
fn message_item(text: Option<String>, refusal: Option<String>) -> Option<Item> {
    let mut parts = Vec::new();
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        parts.push(ContentPart::output_text(text));
    }
    if let Some(refusal) = refusal.filter(|r| !r.is_empty()) {
        parts.push(ContentPart::refusal(refusal));
    }
    (!parts.is_empty()).then(|| {
        let mut message = Message::new(Role::Assistant, Content::Parts(parts));
        message.id = Some(PLACEHOLDER_ID.to_owned());
        message.status = Some("completed".to_owned());
        Item::Message(message)
    })
}

/// A function call item of a reply, as openai-agents-python stores it: the
/// [`PLACEHOLDER_ID`] as item id (Chat Completions gives only the call id)
/// and no status.
fn function_call_item(call_id: String, name: String, arguments: String) -> Item {
    let mut call = FunctionCall::new(call_id, name, arguments);
    call.id = Some(PLACEHOLDER_ID.to_owned());
    Item::FunctionCall(call)
}

fn parse_completion(bytes: &[u8], request_id: Option<String>) -> Result<ModelResponse, ModelError> {
    let completion: ChatCompletion = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::InvalidResponse(format!("the body is not a chat completion: {e}"))
    })?;
    let choice = completion.choices.into_iter().next().ok_or_else(|| {
        ModelError::InvalidResponse("the chat completion has no choices".to_owned())
    })?;
    let message = choice.message;
    let mut output: Vec<Item> = message_item(message.content, message.refusal)
        .into_iter()
        .collect();
    for call in message.tool_calls.unwrap_or_default() {
        match call.function {
            Some(f) => output.push(function_call_item(call.id, f.name, f.arguments)),
            None => tracing::debug!(call_id = %call.id, "a non-function tool call is left out"),
        }
    }
    let mut response = ModelResponse::new(output)
        .with_usage(completion.usage.unwrap_or_default().into_request_usage());
    response.request_id = request_id;
    Ok(response)
}

// ---- streaming --------------------------------------------------------------

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<ChunkDelta>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
    /// Reasoning text of OpenAI-compatible servers (DeepSeek, vLLM).
    #[serde(default)]
    reasoning_content: Option<String>,
    /// Reasoning text of OpenAI-compatible servers (Ollama, OpenRouter).
    #[serde(default)]
    reasoning: Option<String>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// A function call being assembled from deltas.
struct CallAcc {
    index: Option<u32>,
    output_index: usize,
    id: Option<String>,
    name: String,
    arguments: String,
}

/// Accumulates chat completion chunks into items: text into one assistant
/// message, tool-call deltas by their `index` into function calls.
pub(crate) struct ChatDecoder {
    request_id: Option<String>,
    next_output_index: usize,
    /// Output index, text and refusal of the assistant message.
    message: Option<(usize, String, String)>,
    calls: Vec<CallAcc>,
    usage: Option<ChatUsage>,
}

impl ChatDecoder {
    fn message_index(&mut self) -> usize {
        if let Some((i, _, _)) = &self.message {
            return *i;
        }
        let i = self.next_output_index;
        self.next_output_index += 1;
        self.message = Some((i, String::new(), String::new()));
        i
    }

    fn on_tool_call(&mut self, d: ToolCallDelta, out: &mut VecDeque<ModelStreamEvent>) {
        let position = match (d.index, &d.id) {
            (Some(index), _) => self.calls.iter().position(|c| c.index == Some(index)),
            (None, Some(id)) => self.calls.iter().position(|c| c.id.as_ref() == Some(id)),
            // No index and no id: a continuation of the latest call.
            (None, None) => self.calls.len().checked_sub(1),
        };
        let position = position.unwrap_or_else(|| {
            self.calls.push(CallAcc {
                index: d.index,
                output_index: self.next_output_index,
                id: None,
                name: String::new(),
                arguments: String::new(),
            });
            self.next_output_index += 1;
            self.calls.len() - 1
        });
        let call = &mut self.calls[position];
        if let Some(id) = d.id.filter(|id| !id.is_empty()) {
            call.id = Some(id);
        }
        let Some(f) = d.function else { return };
        if let Some(name) = f.name {
            call.name.push_str(&name);
        }
        if let Some(arguments) = f.arguments.filter(|a| !a.is_empty()) {
            call.arguments.push_str(&arguments);
            out.push_back(ModelStreamEvent::FunctionCallArgumentsDelta {
                item_id: None,
                output_index: call.output_index,
                call_id: call.id.clone(),
                name: (!call.name.is_empty()).then(|| call.name.clone()),
                delta: arguments,
            });
        }
    }

    /// Emits the finished items and the `Completed` response.
    fn finish(&mut self, out: &mut VecDeque<ModelStreamEvent>) {
        let mut items: Vec<(usize, Item)> = Vec::with_capacity(self.calls.len() + 1);
        if let Some((i, text, refusal)) = self.message.take() {
            if let Some(item) = message_item(Some(text), Some(refusal)) {
                items.push((i, item));
            }
        }
        for (n, call) in self.calls.drain(..).enumerate() {
            let call_id = call.id.unwrap_or_else(|| {
                tracing::debug!("a streamed tool call came without an id; one is made up");
                format!("call_{n}")
            });
            items.push((
                call.output_index,
                function_call_item(call_id, call.name, call.arguments),
            ));
        }
        items.sort_by_key(|(i, _)| *i);
        let mut output = Vec::with_capacity(items.len());
        for (output_index, item) in items {
            out.push_back(ModelStreamEvent::OutputItemDone {
                output_index,
                item: item.clone(),
            });
            output.push(item);
        }
        let mut response = ModelResponse::new(output).with_usage(
            self.usage
                .take()
                .map(ChatUsage::into_request_usage)
                .unwrap_or_default(),
        );
        response.request_id = self.request_id.take();
        out.push_back(ModelStreamEvent::Completed(response));
    }
}

impl ChatDecoder {
    /// A decoder for one attempt, knowing the attempt's request id.
    fn new(request_id: Option<String>) -> Self {
        ChatDecoder {
            request_id,
            next_output_index: 0,
            message: None,
            calls: Vec::new(),
            usage: None,
        }
    }
}

impl Decoder for ChatDecoder {
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<bool, ModelError> {
        if event.data.trim() == "[DONE]" {
            self.finish(out);
            return Ok(true);
        }
        let chunk: Chunk = serde_json::from_str(&event.data).map_err(|e| {
            ModelError::InvalidResponse(format!("malformed chat completion chunk: {e}"))
        })?;
        if let Some(error) = chunk.error {
            return Err(ModelError::Stream(format!(
                "the server reported an error: {}",
                error.describe()
            )));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices {
            if choice.index != 0 {
                continue;
            }
            let Some(delta) = choice.delta else { continue };
            if let Some(reasoning) = delta
                .reasoning_content
                .or(delta.reasoning)
                .filter(|r| !r.is_empty())
            {
                out.push_back(ModelStreamEvent::ReasoningDelta {
                    item_id: None,
                    output_index: 0,
                    delta: reasoning,
                });
            }
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                let output_index = self.message_index();
                if let Some((_, all, _)) = &mut self.message {
                    all.push_str(&text);
                }
                out.push_back(ModelStreamEvent::OutputTextDelta {
                    item_id: None,
                    output_index,
                    delta: text,
                });
            }
            if let Some(refusal) = delta.refusal.filter(|r| !r.is_empty()) {
                self.message_index();
                if let Some((_, _, all)) = &mut self.message {
                    all.push_str(&refusal);
                }
            }
            for call in delta.tool_calls.unwrap_or_default() {
                self.on_tool_call(call, out);
            }
        }
        Ok(false)
    }

    fn on_json_body(
        &mut self,
        body: &[u8],
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        push_whole_response(parse_completion(body, self.request_id.take())?, out);
        Ok(())
    }

    fn on_eof(
        &mut self,
        partial: bool,
        _out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError> {
        Err(ModelError::Stream(if partial {
            "the chat stream was cut off in the middle of a chunk".to_owned()
        } else {
            "the chat stream ended before [DONE]".to_owned()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(lines: &[&str]) -> (Vec<ModelStreamEvent>, Result<bool, ModelError>) {
        let mut decoder = ChatDecoder::new(Some("req_1".into()));
        let mut out = VecDeque::new();
        let mut result = Ok(false);
        for data in lines {
            result = decoder.on_event(
                SseEvent {
                    event: None,
                    data: (*data).to_owned(),
                },
                &mut out,
            );
            if !matches!(result, Ok(false)) {
                break;
            }
        }
        (out.into_iter().collect(), result)
    }

    fn stored_call(call_id: &str, name: &str, arguments: &str) -> Item {
        function_call_item(call_id.into(), name.into(), arguments.into())
    }

    fn chunk(delta: Value) -> String {
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]}).to_string()
    }

    #[test]
    fn interleaved_tool_call_deltas_are_accumulated_by_index() {
        let lines = [
            chunk(json!({"role": "assistant", "content": null})),
            chunk(json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_", "arguments": ""}}]})),
            chunk(json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":"}}]})),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"name": "weather", "arguments": "{\"city\":"}}]})),
            chunk(json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"x\"}"}}]})),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]})),
            json!({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}).to_string(),
            json!({"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}).to_string(),
            "[DONE]".to_owned(),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (events, result) = feed(&refs);
        assert!(matches!(result, Ok(true)));
        let deltas: Vec<(usize, Option<&str>, Option<&str>, &str)> = events
            .iter()
            .filter_map(|e| match e {
                ModelStreamEvent::FunctionCallArgumentsDelta {
                    output_index,
                    call_id,
                    name,
                    delta,
                    ..
                } => Some((
                    *output_index,
                    call_id.as_deref(),
                    name.as_deref(),
                    delta.as_str(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            deltas,
            [
                (1, Some("call_b"), Some("lookup"), "{\"q\":"),
                (0, Some("call_a"), Some("get_weather"), "{\"city\":"),
                (1, Some("call_b"), Some("lookup"), "\"x\"}"),
                (0, Some("call_a"), Some("get_weather"), "\"Oslo\"}"),
            ]
        );
        let Some(ModelStreamEvent::Completed(response)) = events.last() else {
            panic!("no Completed: {events:?}")
        };
        assert_eq!(
            response.output,
            [
                stored_call("call_a", "get_weather", "{\"city\":\"Oslo\"}"),
                stored_call("call_b", "lookup", "{\"q\":\"x\"}"),
            ]
        );
        assert_eq!(response.usage.total_tokens, 7);
        assert_eq!(response.request_id.as_deref(), Some("req_1"));
        let done: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                ModelStreamEvent::OutputItemDone { output_index, .. } => Some(*output_index),
                _ => None,
            })
            .collect();
        assert_eq!(done, [0, 1]);
    }

    #[test]
    fn text_refusal_reasoning_and_calls_without_index_or_id() {
        let lines = [
            chunk(json!({"reasoning_content": "hmm"})),
            chunk(json!({"content": "Hi"})),
            chunk(json!({"refusal": "no"})),
            chunk(json!({"tool_calls": [{"function": {"name": "f", "arguments": "{"}}]})),
            chunk(json!({"tool_calls": [{"function": {"arguments": "}"}}]})),
            "[DONE]".to_owned(),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (events, result) = feed(&refs);
        assert!(matches!(result, Ok(true)));
        assert!(
            matches!(&events[0], ModelStreamEvent::ReasoningDelta { delta, .. } if delta == "hmm")
        );
        let Some(ModelStreamEvent::Completed(response)) = events.last() else {
            panic!("no Completed")
        };
        // Stored as openai-agents-python stores a chat reply.
        assert_eq!(
            serde_json::to_value(&response.output).expect("json"),
            json!([
                {"type": "message", "id": "__fake_id__", "role": "assistant", "status": "completed",
                 "content": [
                    {"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []},
                    {"type": "refusal", "refusal": "no"}
                 ]},
                {"type": "function_call", "id": "__fake_id__", "call_id": "call_0", "name": "f",
                 "arguments": "{}"}
            ])
        );
    }

    #[test]
    fn bad_chunks_are_typed_errors() {
        let (_, result) = feed(&["{not json"]);
        assert!(
            matches!(result, Err(ModelError::InvalidResponse(_))),
            "{result:?}"
        );
        let (_, result) = feed(&[r#"{"choices": "nope"}"#]);
        assert!(
            matches!(result, Err(ModelError::InvalidResponse(_))),
            "{result:?}"
        );
        let (_, result) =
            feed(&[r#"{"error": {"message": "overloaded", "code": "server_error"}}"#]);
        assert!(
            matches!(&result, Err(ModelError::Stream(m)) if m.contains("overloaded")),
            "{result:?}"
        );
        let mut decoder = ChatDecoder::new(None);
        let mut out = VecDeque::new();
        assert!(matches!(
            decoder.on_eof(false, &mut out),
            Err(ModelError::Stream(_))
        ));
    }

    #[test]
    fn completions_parse_content_refusal_and_calls() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Sure.", "refusal": null,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                    {"id": "call_2", "type": "custom", "custom": {"name": "g", "input": "x"}}
                ]
            }}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11,
                "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 1}}
        });
        let r = parse_completion(body.to_string().as_bytes(), None).expect("parses");
        assert_eq!(
            serde_json::to_value(&r.output).expect("json"),
            json!([
                {"type": "message", "id": "__fake_id__", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "Sure.", "annotations": [], "logprobs": []}]},
                {"type": "function_call", "id": "__fake_id__", "call_id": "call_1", "name": "f",
                 "arguments": "{\"a\":1}"}
            ])
        );
        assert_eq!(
            (
                r.usage.input_tokens,
                r.usage.cached_input_tokens,
                r.usage.output_tokens,
                r.usage.reasoning_tokens
            ),
            (5, 2, 6, 1)
        );
        for bad in [
            json!({"choices": []}),
            json!({"choices": [{"message": 3}]}),
            json!([1]),
        ] {
            assert!(matches!(
                parse_completion(bad.to_string().as_bytes(), None),
                Err(ModelError::InvalidResponse(_))
            ));
        }
    }

    fn messages(instructions: Option<&str>, items: &[Item]) -> Value {
        serde_json::to_value(to_messages(instructions, items)).expect("serializes")
    }

    #[test]
    fn items_become_messages() {
        let items = [
            Item::user("q"),
            Item::function_call("c1", "f", "{}"),
            Item::function_call("c2", "g", "{}"),
            Item::function_call_output("c1", "one"),
            Item::function_call("c3", "h", "{}"),
            Item::function_call_output("c2", "two"),
            Item::function_call_output("c3", "three"),
            Item::assistant("done"),
            Item::system("sys"),
        ];
        assert_eq!(
            messages(Some("inst"), &items),
            json!([
                {"role": "system", "content": "inst"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "one"},
                {"role": "assistant", "tool_calls": [
                    {"id": "c3", "type": "function", "function": {"name": "h", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "c2", "content": "two"},
                {"role": "tool", "tool_call_id": "c3", "content": "three"},
                {"role": "assistant", "content": "done"},
                {"role": "system", "content": "sys"}
            ])
        );
    }

    #[test]
    fn refusals_multi_part_outputs_and_unsupported_items() {
        let refusal = Item::Message(Message::new(
            Role::Assistant,
            Content::Parts(vec![ContentPart::refusal("no")]),
        ));
        let output = Item::FunctionCallOutput(agents_core::FunctionCallOutput::new(
            "c1",
            vec![
                ContentPart::input_text("a"),
                ContentPart::input_image(Some("data:x".into()), None, None),
                ContentPart::input_text("b"),
            ],
        ));
        let other: Item =
            serde_json::from_value(json!({"type": "web_search_call", "id": "ws"})).expect("item");
        let file = Item::Message(Message::new(
            Role::User,
            Content::Parts(vec![
                ContentPart::input_image(None, Some("file_1".into()), None),
                ContentPart::Other(
                    json!({"type": "input_file", "file_id": "file_2", "filename": "a.pdf"}),
                ),
            ]),
        ));
        assert_eq!(
            messages(None, &[refusal, output, other, file]),
            json!([
                {"role": "assistant", "refusal": "no"},
                {"role": "tool", "tool_call_id": "c1", "content": "ab"},
                {"role": "user", "content": [{"type": "file", "file": {"file_id": "file_2", "filename": "a.pdf"}}]}
            ])
        );
    }
}
