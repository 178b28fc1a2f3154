//! The [`Model`] and [`ModelProvider`] traits and the request/response types
//! that cross them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hosted::HostedTool;
use crate::items::Item;
use crate::settings::ModelSettings;
use crate::usage::RequestUsage;

/// A function tool as the model sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec<'a> {
    /// Tool name.
    pub name: Cow<'a, str>,
    /// What the tool does, for the model.
    pub description: Cow<'a, str>,
    /// JSON schema of the arguments object.
    pub parameters: Cow<'a, Value>,
    /// Whether the provider should enforce the schema strictly.
    pub strict: bool,
}

impl ToolSpec<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> ToolSpec<'static> {
        ToolSpec {
            name: Cow::Owned(self.name.into_owned()),
            description: Cow::Owned(self.description.into_owned()),
            parameters: Cow::Owned(self.parameters.into_owned()),
            strict: self.strict,
        }
    }
}

/// The JSON schema of an agent's structured output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    /// Schema name (sent as `text.format.name` / `response_format.json_schema.name`).
    pub name: String,
    /// The JSON schema (always an object schema).
    pub schema: Value,
    /// Whether the provider should enforce the schema strictly.
    pub strict: bool,
}

/// A reusable prompt stored on the provider (Responses API `prompt`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    /// Prompt id.
    pub id: String,
    /// Prompt version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Template variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

impl Prompt {
    /// A prompt by id.
    pub fn new(id: impl Into<String>) -> Self {
        Prompt {
            id: id.into(),
            version: None,
            variables: None,
        }
    }

    /// Sets the version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets one variable.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.variables
            .get_or_insert_with(Map::new)
            .insert(name.into(), value.into());
        self
    }
}

/// Everything a model needs for one call. Borrowed from the run, so that
/// building a request never copies the conversation history.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ModelRequest<'a> {
    /// System instructions for this turn.
    pub instructions: Option<&'a str>,
    /// Input items (for server-managed conversations, only those the server has not seen).
    pub input: &'a [Item],
    /// Resolved settings.
    pub settings: &'a ModelSettings,
    /// Function tools.
    pub tools: &'a [ToolSpec<'a>],
    /// Handoffs, presented to the model as function tools.
    pub handoffs: &'a [ToolSpec<'a>],
    /// Tools the provider runs (Responses API only).
    pub hosted_tools: &'a [HostedTool],
    /// Structured output schema, if the agent has an output type.
    pub output_schema: Option<&'a OutputSchema>,
    /// Chain onto this server-side response.
    pub previous_response_id: Option<&'a str>,
    /// Server-side conversation.
    pub conversation_id: Option<&'a str>,
    /// Stored prompt.
    pub prompt: Option<&'a Prompt>,
}

impl<'a> ModelRequest<'a> {
    /// A request with just input and settings; the rest empty.
    pub fn new(input: &'a [Item], settings: &'a ModelSettings) -> Self {
        ModelRequest {
            instructions: None,
            input,
            settings,
            tools: &[],
            handoffs: &[],
            hosted_tools: &[],
            output_schema: None,
            previous_response_id: None,
            conversation_id: None,
            prompt: None,
        }
    }

    /// Sets the instructions.
    pub fn instructions(mut self, instructions: Option<&'a str>) -> Self {
        self.instructions = instructions;
        self
    }

    /// Sets the function tools.
    pub fn tools(mut self, tools: &'a [ToolSpec<'a>]) -> Self {
        self.tools = tools;
        self
    }

    /// Sets the handoff tools.
    pub fn handoffs(mut self, handoffs: &'a [ToolSpec<'a>]) -> Self {
        self.handoffs = handoffs;
        self
    }

    /// Sets the hosted tools (Responses API only).
    pub fn hosted_tools(mut self, tools: &'a [HostedTool]) -> Self {
        self.hosted_tools = tools;
        self
    }

    /// Sets the output schema.
    pub fn output_schema(mut self, schema: Option<&'a OutputSchema>) -> Self {
        self.output_schema = schema;
        self
    }

    /// Sets the server-managed conversation state.
    pub fn server_state(
        mut self,
        previous_response_id: Option<&'a str>,
        conversation_id: Option<&'a str>,
    ) -> Self {
        self.previous_response_id = previous_response_id;
        self.conversation_id = conversation_id;
        self
    }

    /// Sets the stored prompt.
    pub fn prompt(mut self, prompt: Option<&'a Prompt>) -> Self {
        self.prompt = prompt;
        self
    }
}

/// A complete model response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelResponse {
    /// Output items.
    pub output: Vec<Item>,
    /// Token usage of this request.
    pub usage: RequestUsage,
    /// The provider's response id (`resp_...`), for `previous_response_id` chaining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// The provider's request id (`x-request-id`), for support tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ModelResponse {
    /// A response with the given output and no usage.
    pub fn new(output: Vec<Item>) -> Self {
        ModelResponse {
            output,
            ..Default::default()
        }
    }

    /// Sets the usage.
    pub fn with_usage(mut self, usage: RequestUsage) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the response id.
    pub fn with_response_id(mut self, id: impl Into<String>) -> Self {
        self.response_id = Some(id.into());
        self
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// One event of a streamed model response. The last event of a successful
/// stream is [`ModelStreamEvent::Completed`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModelStreamEvent {
    /// A piece of output text.
    OutputTextDelta {
        /// The output item being written, if known.
        item_id: Option<String>,
        /// Position of the item in the output.
        output_index: usize,
        /// The new text.
        delta: String,
    },
    /// A piece of a reasoning summary (or reasoning text).
    ReasoningDelta {
        /// The reasoning item being written, if known.
        item_id: Option<String>,
        /// Position of the item in the output.
        output_index: usize,
        /// The new text.
        delta: String,
    },
    /// A piece of a function call's arguments.
    FunctionCallArgumentsDelta {
        /// The function call item being written, if known.
        item_id: Option<String>,
        /// Position of the item in the output.
        output_index: usize,
        /// The call id, if known at this point.
        call_id: Option<String>,
        /// The tool name, if known at this point.
        name: Option<String>,
        /// The new argument text.
        delta: String,
    },
    /// An output item is complete.
    OutputItemDone {
        /// Position of the item in the output.
        output_index: usize,
        /// The finished item.
        item: Item,
    },
    /// Any other provider event, passed through as raw JSON.
    Other {
        /// The provider's event type (e.g. `response.created`).
        event_type: String,
        /// The event payload.
        data: Value,
    },
    /// The response is complete.
    Completed(ModelResponse),
}

/// Why a model call failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The server answered with an error status.
    #[error("model provider returned HTTP {status}{}: {message}", request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Http {
        /// HTTP status.
        status: u16,
        /// The server's error message (or the raw body).
        message: String,
        /// The server's request id.
        request_id: Option<String>,
        /// The raw error body.
        body: Option<String>,
        /// The server's `Retry-After` hint.
        retry_after: Option<Duration>,
    },
    /// The connection failed or broke.
    #[error("connection to the model provider failed: {0}")]
    Connection(String),
    /// An attempt took longer than the configured timeout.
    #[error("model request timed out after {0:?}")]
    Timeout(Duration),
    /// The server's response could not be understood.
    #[error("invalid response from the model provider: {0}")]
    InvalidResponse(String),
    /// The stream broke or ended without a completed response.
    #[error("model stream failed: {0}")]
    Stream(String),
    /// No model could be found for a name.
    #[error("unknown model `{0}`")]
    UnknownModel(String),
    /// A configured HTTP header cannot be sent: its name or value holds
    /// characters HTTP forbids (a newline, say). The value is never shown.
    #[error("the HTTP header `{name}` cannot be sent: its name or value contains characters HTTP does not allow (a newline or another control character?); the value is not shown")]
    InvalidHeader {
        /// The header name (for example `OpenAI-Project`).
        name: String,
    },
    /// The provider's response went over a size limit of the client (a line
    /// or event of a stream, or a whole body).
    #[error("the model provider's response exceeded the `{limit}` limit of {max_bytes} bytes")]
    ResponseTooLarge {
        /// The name of the limit (for example `max_sse_line_bytes`).
        limit: String,
        /// The limit, in bytes.
        max_bytes: usize,
    },
    /// The request uses something this model's API does not have (a
    /// hosted tool on Chat Completions, say). Nothing was sent.
    #[error("the {api} API does not support {feature}; {hint}")]
    Unsupported {
        /// The API (`Chat Completions`).
        api: String,
        /// What the request used (for example "the hosted tool `web_search`").
        feature: String,
        /// What to do instead.
        hint: String,
    },
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

impl ModelError {
    /// Whether a retry policy may retry this error: 408, 409, 429, 5xx and
    /// connection failures or timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Http { status, .. } => {
                matches!(status, 408 | 409 | 429) || (500..600).contains(status)
            }
            ModelError::Connection(_) | ModelError::Timeout(_) => true,
            _ => false,
        }
    }
}

/// A language model. Object-safe: agents hold models as `Arc<dyn Model>`.
///
/// Dropping the returned future or stream must cancel the underlying request.
pub trait Model: Send + Sync + fmt::Debug {
    /// Calls the model and returns the whole response.
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>>;

    /// Calls the model and streams events; the last event is
    /// [`ModelStreamEvent::Completed`].
    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>>;
}

/// Resolves model names to models.
pub trait ModelProvider: Send + Sync + fmt::Debug {
    /// The model for `name`, or the provider's default model for `None`.
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError>;
}
