//! Scripted replies: what the mock answers to one request.

use std::sync::Arc;
use std::time::Duration;

/// What the mock server answers to one request.
///
/// A reply is written once and rendered for whichever endpoint pops it: the Responses API
/// (`/v1/responses`) or Chat Completions (`/v1/chat/completions`), as a JSON body or as a
/// server-sent-event stream when the request says `"stream": true`.
///
/// A reply is either a *model output* — a sequence of output items (text messages, function
/// calls, reasoning, hosted tool calls such as [`Reply::with_web_search_call`] and
/// [`Reply::with_mcp_approval_request`]) with token usage — or an *HTTP error* made with [`Reply::status`].
/// [`Fault`]s can be added to either kind to break the transport in a controlled way.
///
/// Cloning is cheap (the contents are shared), so a reply can serve thousands of requests as the
/// server's default (see [`MockServer::set_default`](crate::MockServer::set_default)).
///
/// # Output items
///
/// Items appear in the order they were added. For the Responses API every item becomes one
/// output item with a fresh unique id (`msg_…`, `fc_…`, `rs_…`) and every reply gets a fresh
/// `resp_…` id unless [`Reply::response_id`] sets one. For Chat Completions all text items are
/// concatenated into `message.content`, function calls become `message.tool_calls`, and
/// reasoning items are left out (Chat Completions has no such item).
///
/// # Streaming granularity
///
/// By default a text is streamed as one delta and function-call arguments in two halves (so that
/// clients must accumulate). [`Reply::text_deltas`] gives the exact deltas of one text;
/// [`Reply::chunked`] splits every text, reasoning summary and arguments string into deltas of at
/// most `n` characters. Every delta becomes exactly one SSE event.
///
/// ```
/// use agents_testkit::{Reasoning, Reply, Usage};
///
/// // Text, then two tool calls, in one reply.
/// let reply = Reply::text("Let me check both cities.")
///     .with_function_call("call_1", "get_weather", r#"{"city":"Paris"}"#)
///     .with_function_call("call_2", "get_weather", r#"{"city":"Rome"}"#)
///     .usage(Usage::new(120, 30).cached_tokens(100));
///
/// // A reasoning item before the answer (Responses API only), streamed 4 chars per delta.
/// let reply = Reply::reasoning(Reasoning::new().summary("Thinking.").encrypted_content("gAAA"))
///     .with_text("Done.")
///     .chunked(4);
///
/// // A rate limit with a Retry-After of 1.5 s.
/// let reply = Reply::status(429).retry_after(std::time::Duration::from_millis(1500));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Reply does nothing until it is pushed to a MockServer"]
pub struct Reply {
    pub(crate) spec: Arc<ReplySpec>,
}

/// The contents of a [`Reply`].
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplySpec {
    pub(crate) items: Vec<Item>,
    pub(crate) usage: Usage,
    pub(crate) response_id: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) chunk_size: Option<usize>,
    pub(crate) incomplete: bool,
    pub(crate) error: Option<HttpError>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) faults: Vec<Fault>,
    /// Gemini-only settings (see `crate::gemini`).
    pub(crate) gemini: crate::gemini::GeminiReply,
    /// Anthropic-only settings (see `crate::anthropic`).
    pub(crate) anthropic: crate::anthropic::AnthropicReply,
}

/// One output item of a reply.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    Text {
        text: String,
        deltas: Option<Vec<String>>,
    },
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    Reasoning(Reasoning),
    /// A hosted tool or MCP output item (Responses API only), written as given; `id_prefix`
    /// names the generated id when the item has none.
    Hosted {
        id_prefix: &'static str,
        item: serde_json::Value,
    },
}

/// An HTTP error reply.
#[derive(Clone, Debug)]
pub(crate) struct HttpError {
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) kind: String,
    pub(crate) code: Option<String>,
    pub(crate) param: Option<String>,
}

impl HttpError {
    fn for_status(status: u16) -> Self {
        let (message, kind, code) = match status {
            400 => (
                "Invalid request (scripted by the mock).",
                "invalid_request_error",
                None,
            ),
            401 => (
                "Incorrect API key provided (scripted by the mock).",
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
            403 => (
                "Permission denied (scripted by the mock).",
                "invalid_request_error",
                None,
            ),
            404 => (
                "The model does not exist or you do not have access to it (scripted by the mock).",
                "invalid_request_error",
                Some("model_not_found"),
            ),
            429 => (
                "Rate limit reached (scripted by the mock). Please try again later.",
                "requests",
                Some("rate_limit_exceeded"),
            ),
            503 => (
                "The engine is currently overloaded (scripted by the mock). Please try again later.",
                "server_error",
                None,
            ),
            s if s >= 500 => (
                "The server had an error while processing your request (scripted by the mock).",
                "server_error",
                None,
            ),
            _ => (
                "Request failed (scripted by the mock).",
                "invalid_request_error",
                None,
            ),
        };
        HttpError {
            status,
            message: message.to_owned(),
            kind: kind.to_owned(),
            code: code.map(str::to_owned),
            param: None,
        }
    }
}

/// A transport fault injected into a reply. Add one with [`Reply::with_fault`] or use the
/// shortcut constructors ([`Reply::disconnect_mid_stream`], …).
///
/// "Content delta" below means an `output_text`, reasoning-summary or function-arguments delta
/// event (Responses API) or a chunk carrying `content` or `tool_calls` (Chat Completions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the connection abruptly in the middle of the body.
    ///
    /// Streaming: the first half of the content deltas (at least one) is sent, then the connection
    /// is aborted without the terminal event (`response.completed`, or the finish chunk and
    /// `data: [DONE]`). Non-streaming: the status line, headers and the first half of the JSON
    /// body are sent, then the connection is aborted. Either way the client sees a transport
    /// error while reading the body.
    DisconnectMidStream,
    /// End the body cleanly but early.
    ///
    /// Streaming: everything except the terminal part — `response.completed` (Responses API), or
    /// the finish chunk, the usage chunk and `data: [DONE]` (Chat Completions). Non-streaming: the
    /// first half of the JSON body, then a clean end of the body.
    TruncatedStream,
    /// Insert one SSE event whose `data:` line is not JSON, right after the first content delta
    /// (or after the first event if there is none); the rest of the stream is complete and valid.
    /// Non-streaming requests get a 200 whose body is not JSON, like [`Fault::InvalidJsonBody`].
    MalformedEvent,
    /// Wait this long before sending the status line and headers.
    StallBeforeHeaders(Duration),
    /// Send the headers, then wait this long in the middle of the body.
    ///
    /// Streaming: the pause comes right after the first content delta (or the first event if
    /// there is none). Non-streaming: the pause comes between the headers and the body.
    StallMidStream(Duration),
    /// Answer `200` with `content-type: application/json` and a body that is not JSON, whether or
    /// not the request asked for a stream.
    InvalidJsonBody,
}

/// A reasoning output item (Responses API only; left out of Chat Completions replies).
///
/// ```
/// use agents_testkit::Reasoning;
///
/// let item = Reasoning::new()
///     .id("rs_fixed")
///     .summary("The user wants the weather.")
///     .encrypted_content("gAAAAB...");
/// # let _ = item;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Reasoning {
    pub(crate) id: Option<String>,
    pub(crate) summary: Option<String>,
    pub(crate) encrypted_content: Option<String>,
}

impl Reasoning {
    /// A reasoning item with an empty summary, a generated `rs_…` id and no encrypted content.
    pub fn new() -> Self {
        Reasoning::default()
    }

    /// Sets the item id instead of a generated `rs_…` one.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the summary text (one `summary_text` part, streamed as reasoning-summary deltas).
    /// An empty text means no summary part.
    pub fn summary(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.summary = (!text.is_empty()).then_some(text);
        self
    }

    /// Sets `encrypted_content`, as the service returns it when the request includes
    /// `reasoning.encrypted_content`.
    pub fn encrypted_content(mut self, content: impl Into<String>) -> Self {
        self.encrypted_content = Some(content.into());
        self
    }
}

impl From<&str> for Reasoning {
    fn from(summary: &str) -> Self {
        Reasoning::new().summary(summary)
    }
}

impl From<String> for Reasoning {
    fn from(summary: String) -> Self {
        Reasoning::new().summary(summary)
    }
}

/// Token usage reported by a reply.
///
/// The default is 10 input tokens, 5 output tokens, no cached and no reasoning tokens; the total
/// is always input + output.
///
/// ```
/// use agents_testkit::Usage;
///
/// let usage = Usage::new(1200, 80).cached_tokens(1024).reasoning_tokens(64);
/// assert_eq!(usage.total_tokens(), 1280);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Output (completion) tokens, reasoning tokens included.
    pub output_tokens: u64,
    /// Input tokens served from the prompt cache (`input_tokens_details.cached_tokens`).
    pub cached_tokens: u64,
    /// Output tokens spent on reasoning (`output_tokens_details.reasoning_tokens`).
    pub reasoning_tokens: u64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage::new(10, 5)
    }
}

impl Usage {
    /// Usage with the given input and output tokens, no cached and no reasoning tokens.
    pub const fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Usage {
            input_tokens,
            output_tokens,
            cached_tokens: 0,
            reasoning_tokens: 0,
        }
    }

    /// Sets the cached input tokens.
    #[must_use]
    pub const fn cached_tokens(mut self, tokens: u64) -> Self {
        self.cached_tokens = tokens;
        self
    }

    /// Sets the reasoning output tokens.
    #[must_use]
    pub const fn reasoning_tokens(mut self, tokens: u64) -> Self {
        self.reasoning_tokens = tokens;
        self
    }

    /// Input plus output tokens.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// The text used by fault constructors that need some content to break.
const FAULT_TEXT: [&str; 6] = ["This ", "answer ", "is ", "cut ", "short ", "here."];

impl Default for Reply {
    fn default() -> Self {
        Reply::new()
    }
}

impl Reply {
    /// An empty model output: no items, default usage. Add items with the `with_*` methods.
    pub fn new() -> Self {
        Reply {
            spec: Arc::new(ReplySpec::default()),
        }
    }

    pub(crate) fn edit(mut self, f: impl FnOnce(&mut ReplySpec)) -> Self {
        f(Arc::make_mut(&mut self.spec));
        self
    }

    /// A reply with one assistant text message. Structured output is just text that is JSON:
    /// `Reply::text(r#"{"answer":42}"#)`.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::new().with_text(text)
    }

    /// A reply with one assistant text message streamed as exactly these deltas (one SSE event
    /// each); the full text is their concatenation.
    pub fn text_deltas<I, S>(deltas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Reply::new().with_text_deltas(deltas)
    }

    /// A reply with one function call. `arguments` is the JSON string of the arguments, as the
    /// service sends it.
    pub fn function_call(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Reply::new().with_function_call(call_id, name, arguments)
    }

    /// A reply with one reasoning item (Responses API only). Accepts a [`Reasoning`] or a summary
    /// text.
    pub fn reasoning(reasoning: impl Into<Reasoning>) -> Self {
        Reply::new().with_reasoning(reasoning)
    }

    /// An HTTP error reply with this status code and an OpenAI-shaped body
    /// `{"error": {"message", "type", "param", "code"}}`. The message, type and code default to
    /// what the service sends for that status (429: `requests` / `rate_limit_exceeded`, 5xx:
    /// `server_error`, …) and can be changed with [`Reply::error_message`], [`Reply::error_type`]
    /// and [`Reply::error_code`]. Use a status of 400 or more. The error body is JSON even when
    /// the request asked for a stream, as with the real service.
    pub fn status(status: u16) -> Self {
        Reply::new().edit(|s| s.error = Some(HttpError::for_status(status)))
    }

    /// A streamed text reply that is cut off: see [`Fault::DisconnectMidStream`].
    pub fn disconnect_mid_stream() -> Self {
        Reply::text_deltas(FAULT_TEXT).with_fault(Fault::DisconnectMidStream)
    }

    /// A streamed text reply whose stream ends cleanly without its terminal event: see
    /// [`Fault::TruncatedStream`].
    pub fn truncated_sse() -> Self {
        Reply::text_deltas(FAULT_TEXT).with_fault(Fault::TruncatedStream)
    }

    /// A streamed text reply with one non-JSON `data:` line among valid events: see
    /// [`Fault::MalformedEvent`].
    pub fn malformed_event() -> Self {
        Reply::text_deltas(FAULT_TEXT).with_fault(Fault::MalformedEvent)
    }

    /// The text reply `"ok"`, sent only after waiting `delay` before the headers. Same as
    /// [`Reply::stall_before_headers`].
    pub fn stall(delay: Duration) -> Self {
        Reply::stall_before_headers(delay)
    }

    /// The text reply `"ok"`, sent only after waiting `delay` before the headers: see
    /// [`Fault::StallBeforeHeaders`].
    pub fn stall_before_headers(delay: Duration) -> Self {
        Reply::text("ok").with_fault(Fault::StallBeforeHeaders(delay))
    }

    /// A streamed text reply that pauses for `delay` after its first delta: see
    /// [`Fault::StallMidStream`].
    pub fn stall_mid_stream(delay: Duration) -> Self {
        Reply::text_deltas(FAULT_TEXT).with_fault(Fault::StallMidStream(delay))
    }

    /// A `200` whose body is not JSON: see [`Fault::InvalidJsonBody`].
    pub fn invalid_json_body() -> Self {
        Reply::text("ok").with_fault(Fault::InvalidJsonBody)
    }

    /// Appends an assistant text message.
    pub fn with_text(self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.edit(|s| s.items.push(Item::Text { text, deltas: None }))
    }

    /// Appends an assistant text message streamed as exactly these deltas.
    pub fn with_text_deltas<I, S>(self, deltas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let deltas: Vec<String> = deltas.into_iter().map(Into::into).collect();
        let text = deltas.concat();
        self.edit(|s| {
            s.items.push(Item::Text {
                text,
                deltas: Some(deltas),
            })
        })
    }

    /// Appends a function call (`arguments` is a JSON string).
    pub fn with_function_call(
        self,
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        let item = Item::FunctionCall {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
        };
        self.edit(|s| s.items.push(item))
    }

    /// Appends a reasoning item (Responses API only).
    pub fn with_reasoning(self, reasoning: impl Into<Reasoning>) -> Self {
        let item = Item::Reasoning(reasoning.into());
        self.edit(|s| s.items.push(item))
    }

    /// Appends a hosted tool or MCP output item as the Responses API writes it, for items without
    /// a dedicated helper. It must be a valid `OutputItem` of the spec; an `id` is generated
    /// when it has none. Left out of Chat Completions replies.
    pub fn with_output_item(self, item: serde_json::Value) -> Self {
        let id_prefix = match item.get("type").and_then(serde_json::Value::as_str) {
            Some("web_search_call") => "ws",
            Some("file_search_call") => "fs",
            Some("code_interpreter_call") => "ci",
            Some("image_generation_call") => "ig",
            Some("mcp_call") => "mcp",
            Some("mcp_list_tools") => "mcpl",
            Some("mcp_approval_request") => "mcpr",
            _ => "item",
        };
        self.edit(|s| s.items.push(Item::Hosted { id_prefix, item }))
    }

    /// Appends a completed `web_search_call` that searched for `query` (Responses API only).
    pub fn with_web_search_call(self, query: impl Into<String>) -> Self {
        let query = query.into();
        self.with_output_item(serde_json::json!({
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": "search", "query": query, "queries": [query]},
        }))
    }

    /// Appends a completed `file_search_call` with these queries and result texts (Responses API
    /// only; the results as the API returns them with `include: ["file_search_call.results"]`).
    pub fn with_file_search_call<I, S>(self, queries: I, results: &[(&str, &str)]) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let queries: Vec<String> = queries.into_iter().map(Into::into).collect();
        let results: Vec<serde_json::Value> = results
            .iter()
            .map(|(file_id, text)| {
                serde_json::json!({"file_id": file_id, "filename": format!("{file_id}.txt"),
                    "score": 0.9, "text": text, "attributes": {}})
            })
            .collect();
        self.with_output_item(serde_json::json!({
            "type": "file_search_call",
            "status": "completed",
            "queries": queries,
            "results": results,
        }))
    }

    /// Appends a completed `code_interpreter_call` that ran `code` and logged `logs` (Responses
    /// API only).
    pub fn with_code_interpreter_call(
        self,
        code: impl Into<String>,
        logs: impl Into<String>,
    ) -> Self {
        self.with_output_item(serde_json::json!({
            "type": "code_interpreter_call",
            "status": "completed",
            "container_id": "cntr_mock",
            "code": code.into(),
            "outputs": [{"type": "logs", "logs": logs.into()}],
        }))
    }

    /// Appends a completed `image_generation_call` whose result is this base64 image (Responses
    /// API only).
    pub fn with_image_generation_call(self, result_base64: impl Into<String>) -> Self {
        self.with_output_item(serde_json::json!({
            "type": "image_generation_call",
            "status": "completed",
            "result": result_base64.into(),
        }))
    }

    /// Appends a completed `mcp_call`: the hosted MCP server `server_label` ran `name` with
    /// `arguments` (a JSON string) and returned `output` (Responses API only).
    pub fn with_mcp_call(
        self,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
        output: impl Into<String>,
    ) -> Self {
        self.with_output_item(serde_json::json!({
            "type": "mcp_call",
            "status": "completed",
            "server_label": server_label.into(),
            "name": name.into(),
            "arguments": arguments.into(),
            "output": output.into(),
        }))
    }

    /// Appends an `mcp_list_tools` item: the tools (names, with an empty object schema) of the
    /// hosted MCP server `server_label` (Responses API only).
    pub fn with_mcp_list_tools<I, S>(self, server_label: impl Into<String>, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tools: Vec<serde_json::Value> = tools
            .into_iter()
            .map(|name| {
                serde_json::json!({"name": name.into(), "input_schema": {"type": "object"},
                    "description": null, "annotations": null})
            })
            .collect();
        self.with_output_item(serde_json::json!({
            "type": "mcp_list_tools",
            "server_label": server_label.into(),
            "tools": tools,
        }))
    }

    /// Appends an `mcp_approval_request` with this id: the hosted MCP server `server_label` asks
    /// to run `name` with `arguments` (Responses API only).
    pub fn with_mcp_approval_request(
        self,
        id: impl Into<String>,
        server_label: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.with_output_item(serde_json::json!({
            "type": "mcp_approval_request",
            "id": id.into(),
            "server_label": server_label.into(),
            "name": name.into(),
            "arguments": arguments.into(),
        }))
    }

    /// Streams every text, reasoning summary and arguments string as deltas of at most `chars`
    /// characters (texts given with [`Reply::text_deltas`] keep their own deltas). `0` is
    /// treated as `1`.
    pub fn chunked(self, chars: usize) -> Self {
        self.edit(|s| s.chunk_size = Some(chars.max(1)))
    }

    /// Sets the token usage reported by the reply (default: [`Usage::default`]).
    pub fn usage(self, usage: Usage) -> Self {
        self.edit(|s| s.usage = usage)
    }

    /// Sets the response id (`resp_…` for the Responses API, the completion id for Chat
    /// Completions) instead of a generated unique one.
    pub fn response_id(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.edit(|s| s.response_id = Some(id))
    }

    /// Sets the model name reported by the reply (default: the request's `model`).
    pub fn model(self, model: impl Into<String>) -> Self {
        let model = model.into();
        self.edit(|s| s.model = Some(model))
    }

    /// Marks the output as cut short by the token limit: Responses API status `incomplete` with
    /// `incomplete_details.reason = "max_output_tokens"` (stream ends with
    /// `response.incomplete`), Chat Completions `finish_reason = "length"`.
    pub fn max_tokens_reached(self) -> Self {
        self.edit(|s| s.incomplete = true)
    }

    /// Adds `retry-after` (whole seconds, rounded up) and `retry-after-ms` headers.
    pub fn retry_after(self, delay: Duration) -> Self {
        self.edit(|s| s.retry_after = Some(delay))
    }

    /// Sets `error.message` of a [`Reply::status`] reply (no effect on other replies).
    pub fn error_message(self, message: impl Into<String>) -> Self {
        let message = message.into();
        self.edit(|s| {
            if let Some(e) = &mut s.error {
                e.message = message;
            }
        })
    }

    /// Sets `error.type` of a [`Reply::status`] reply (no effect on other replies).
    pub fn error_type(self, kind: impl Into<String>) -> Self {
        let kind = kind.into();
        self.edit(|s| {
            if let Some(e) = &mut s.error {
                e.kind = kind;
            }
        })
    }

    /// Sets `error.code` of a [`Reply::status`] reply (no effect on other replies).
    pub fn error_code(self, code: impl Into<String>) -> Self {
        let code = code.into();
        self.edit(|s| {
            if let Some(e) = &mut s.error {
                e.code = Some(code);
            }
        })
    }

    /// Sets `error.param` of a [`Reply::status`] reply (no effect on other replies).
    pub fn error_param(self, param: impl Into<String>) -> Self {
        let param = param.into();
        self.edit(|s| {
            if let Some(e) = &mut s.error {
                e.param = Some(param);
            }
        })
    }

    /// Adds a response header. Names that are not valid header names, or values that are not
    /// valid header values, make the server answer 500 and record a failure.
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let header = (name.into(), value.into());
        self.edit(|s| s.headers.push(header))
    }

    /// Adds a transport fault (see [`Fault`]). Faults other than
    /// [`Fault::StallBeforeHeaders`] have no effect on [`Reply::status`] replies.
    pub fn with_fault(self, fault: Fault) -> Self {
        self.edit(|s| s.faults.push(fault))
    }

    /// The HTTP status this reply answers with (200 unless made with [`Reply::status`]).
    pub fn http_status(&self) -> u16 {
        self.spec.error.as_ref().map_or(200, |e| e.status)
    }
}

impl ReplySpec {
    pub(crate) fn has_fault(&self, wanted: impl Fn(&Fault) -> bool) -> bool {
        self.faults.iter().any(wanted)
    }

    pub(crate) fn stall_before_headers(&self) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::StallBeforeHeaders(d) => Some(*d),
            _ => None,
        })
    }

    pub(crate) fn stall_mid_stream(&self) -> Option<Duration> {
        self.faults.iter().find_map(|f| match f {
            Fault::StallMidStream(d) => Some(*d),
            _ => None,
        })
    }

    /// The deltas a text is streamed as.
    pub(crate) fn text_deltas<'a>(
        &self,
        text: &'a str,
        deltas: Option<&'a [String]>,
    ) -> Vec<&'a str> {
        match deltas {
            Some(d) => d.iter().map(String::as_str).collect(),
            None => match self.chunk_size {
                Some(n) => split_chars(text, n),
                None => vec![text],
            },
        }
    }

    /// The deltas an arguments string is streamed as: chunks of `chunk_size`, or two halves.
    pub(crate) fn argument_deltas<'a>(&self, arguments: &'a str) -> Vec<&'a str> {
        match self.chunk_size {
            Some(n) => split_chars(arguments, n),
            None => {
                let chars = arguments.chars().count();
                if chars < 2 {
                    vec![arguments]
                } else {
                    split_chars(arguments, chars.div_ceil(2))
                }
            }
        }
    }
}

/// Splits `text` into pieces of at most `n` characters (never inside a UTF-8 sequence). An empty
/// text gives one empty piece.
pub(crate) fn split_chars(text: &str, n: usize) -> Vec<&str> {
    let n = n.max(1);
    if text.is_empty() {
        return vec![text];
    }
    let mut pieces = Vec::with_capacity(text.len() / n + 1);
    let mut start = 0;
    let mut count = 0;
    for (index, _) in text.char_indices() {
        if count == n {
            pieces.push(&text[start..index]);
            start = index;
            count = 0;
        }
        count += 1;
    }
    pieces.push(&text[start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_chars_respects_char_boundaries() {
        assert_eq!(split_chars("abcde", 2), vec!["ab", "cd", "e"]);
        assert_eq!(split_chars("héllo", 2), vec!["hé", "ll", "o"]);
        assert_eq!(split_chars("", 3), vec![""]);
        assert_eq!(split_chars("ab", 0), vec!["a", "b"]);
    }

    #[test]
    fn arguments_default_to_two_halves() {
        let spec = ReplySpec::default();
        assert_eq!(spec.argument_deltas("{\"a\":1}"), vec!["{\"a\"", ":1}"]);
        assert_eq!(spec.argument_deltas("x"), vec!["x"]);
    }

    #[test]
    fn builder_edits_do_not_leak_into_clones() {
        let base = Reply::text("a");
        let more = base.clone().with_text("b");
        assert_eq!(base.spec.items.len(), 1);
        assert_eq!(more.spec.items.len(), 2);
    }
}
