//! [`AnthropicSettings`]: what the Messages API has beyond
//! [`ModelSettings`](agents_core::ModelSettings).

/// The `max_tokens` sent when neither `ModelSettings::max_tokens` nor
/// [`AnthropicSettings::max_tokens`] is set (the API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// How an agent's output type reaches the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StructuredOutput {
    /// The API's native JSON output: `output_config.format` of type
    /// `json_schema` (the default).
    #[default]
    Native,
    /// A forced tool whose `input_schema` is the output schema; its input
    /// becomes the assistant's JSON message. For models without native JSON
    /// output. With extended thinking the tool cannot be forced
    /// (`tool_choice` stays `auto`).
    Tool,
}

/// Settings of the Messages API that [`ModelSettings`](agents_core::ModelSettings)
/// does not have, set per provider
/// ([`AnthropicProviderBuilder::settings`](crate::AnthropicProviderBuilder::settings))
/// or per model ([`AnthropicModel::with_settings`](crate::AnthropicModel::with_settings)).
///
/// ```
/// use agents_model_anthropic::{AnthropicSettings, StructuredOutput};
///
/// let settings = AnthropicSettings::new()
///     .max_tokens(2048)
///     .top_k(40)
///     .sampling_parameters(true)
///     .stop_sequences(["\n\nHuman:"])
///     .thinking_budget(1024)
///     .cache_system(true)
///     .cache_tools(true)
///     .cache_conversation(true)
///     .structured_output(StructuredOutput::Tool);
/// assert_eq!(settings.thinking_budget, Some(1024));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnthropicSettings {
    /// `max_tokens` when `ModelSettings::max_tokens` is unset. With thinking
    /// on, a default below the budget is raised to budget + 4096.
    pub max_tokens: u32,
    /// `top_k` sampling (sent only with
    /// [`sampling_parameters`](Self::sampling_parameters)).
    pub top_k: Option<u32>,
    /// `stop_sequences`.
    pub stop_sequences: Vec<String>,
    /// Extended thinking with this token budget (at least 1024). When unset,
    /// `ModelSettings::reasoning.effort` turns thinking on: `minimal`/`low`
    /// 1024, `medium` 4096, `high` 16384 tokens.
    pub thinking_budget: Option<u32>,
    /// A cache breakpoint on the system prompt.
    pub cache_system: bool,
    /// A cache breakpoint on the last tool (caching every tool definition).
    pub cache_tools: bool,
    /// A cache breakpoint on the last block of the conversation, so that the
    /// next turn reads the history from the cache.
    pub cache_conversation: bool,
    /// How output types are sent.
    pub structured_output: StructuredOutput,
    /// Whether `temperature`, `top_p` and `top_k` are sent. The Messages API
    /// as the official SDK (`anthropic` 1.0 and later) documents it has no
    /// sampling parameters, and the service refuses unknown fields, so they
    /// are left out by default (`ModelSettings::temperature` / `top_p` of an
    /// agent shared with other providers are then ignored, with a debug
    /// log). Turn this on for deployments and models that still take them.
    pub sampling_parameters: bool,
}

impl Default for AnthropicSettings {
    fn default() -> Self {
        AnthropicSettings {
            max_tokens: DEFAULT_MAX_TOKENS,
            top_k: None,
            stop_sequences: Vec::new(),
            thinking_budget: None,
            cache_system: false,
            cache_tools: false,
            cache_conversation: false,
            structured_output: StructuredOutput::Native,
            sampling_parameters: false,
        }
    }
}

impl AnthropicSettings {
    /// The defaults: `max_tokens` [`DEFAULT_MAX_TOKENS`], no thinking, no
    /// cache breakpoints, native structured output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the default `max_tokens`.
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets `top_k`.
    #[must_use]
    pub fn top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// Sets the stop sequences.
    #[must_use]
    pub fn stop_sequences<S: Into<String>>(mut self, stops: impl IntoIterator<Item = S>) -> Self {
        self.stop_sequences = stops.into_iter().map(Into::into).collect();
        self
    }

    /// Turns extended thinking on with this budget (tokens, at least 1024).
    #[must_use]
    pub fn thinking_budget(mut self, budget: u32) -> Self {
        self.thinking_budget = Some(budget);
        self
    }

    /// A cache breakpoint on the system prompt.
    #[must_use]
    pub fn cache_system(mut self, on: bool) -> Self {
        self.cache_system = on;
        self
    }

    /// A cache breakpoint on the tool definitions.
    #[must_use]
    pub fn cache_tools(mut self, on: bool) -> Self {
        self.cache_tools = on;
        self
    }

    /// A cache breakpoint at the end of the conversation.
    #[must_use]
    pub fn cache_conversation(mut self, on: bool) -> Self {
        self.cache_conversation = on;
        self
    }

    /// Sends `temperature`, `top_p` and `top_k` (see
    /// [`sampling_parameters`](Self::sampling_parameters)).
    #[must_use]
    pub fn sampling_parameters(mut self, on: bool) -> Self {
        self.sampling_parameters = on;
        self
    }

    /// How output types are sent.
    #[must_use]
    pub fn structured_output(mut self, mode: StructuredOutput) -> Self {
        self.structured_output = mode;
        self
    }
}
