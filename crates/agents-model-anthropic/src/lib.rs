//! Anthropic's Messages API (`POST /v1/messages`) as a [`Model`](agents_core::Model)
//! of the agents SDK: [`AnthropicProvider`] makes [`AnthropicModel`]s.
//!
//! ```
//! use agents_core::{Item, ModelRequest, ModelSettings, ToolSpec};
//! use agents_model_anthropic::{AnthropicProvider, AnthropicSettings};
//! use serde_json::json;
//!
//! let provider = AnthropicProvider::builder()
//!     .api_key("sk-ant-test")
//!     .base_url("http://127.0.0.1:8080")
//!     .ignore_env()
//!     .build();
//! let model = provider
//!     .model("claude-sonnet-4-5")
//!     .with_settings(AnthropicSettings::new().cache_system(true));
//!
//! // A tool call and its result become a tool_use / tool_result pair.
//! let input = [
//!     Item::user("Weather in Paris?"),
//!     Item::function_call("call_1", "weather", r#"{"city":"Paris"}"#),
//!     Item::function_call_output("call_1", "sunny"),
//! ];
//! let tools = [ToolSpec {
//!     name: "weather".into(),
//!     description: "Looks up the weather.".into(),
//!     parameters: std::borrow::Cow::Owned(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
//!     strict: true,
//! }];
//! let settings = ModelSettings::new().max_tokens(1024u32);
//! let request = ModelRequest::new(&input, &settings)
//!     .instructions(Some("Be brief."))
//!     .tools(&tools);
//! let body = model.request_body(&request, false)?;
//! assert_eq!(
//!     body,
//!     json!({
//!         "model": "claude-sonnet-4-5",
//!         "max_tokens": 1024,
//!         "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
//!         "messages": [
//!             {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
//!             {"role": "assistant", "content": [
//!                 {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}]},
//!             {"role": "user", "content": [
//!                 {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}]}
//!         ],
//!         "tools": [{"name": "weather", "description": "Looks up the weather.",
//!                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
//!     })
//! );
//! # Ok::<(), agents_core::ModelError>(())
//! ```
//!
//! # Configuration
//!
//! [`AnthropicProvider::from_env`] reads `ANTHROPIC_API_KEY` (sent as
//! `x-api-key`), `ANTHROPIC_BASE_URL` (without `/v1`) and `ANTHROPIC_MODEL`;
//! builder arguments win. Every request carries `anthropic-version`
//! ([`ANTHROPIC_VERSION`] unless [`AnthropicProviderBuilder::version`] says
//! otherwise) and, when betas are added with
//! [`AnthropicProviderBuilder::beta`], `anthropic-beta`. The key never
//! appears in `Debug` output or errors.
//!
//! # Request mapping
//!
//! - **System prompt:** the agent's instructions, then the text of system and
//!   developer messages, as `system`.
//! - **Messages:** user and assistant messages become `user` / `assistant`
//!   turns of `text` and `image` blocks (a `data:` URL becomes a base64
//!   source, another URL a URL source); consecutive items of one role share a
//!   turn. A function call becomes a `tool_use` block (its id made to fit
//!   `^[a-zA-Z0-9_-]+$`, the same way for the result), its output a
//!   `tool_result` block, so consecutive results form one user turn.
//! - **Reasoning:** reasoning items this crate made from `thinking` and
//!   `redacted_thinking` blocks are sent back as those blocks, byte for
//!   byte (the text and signature, or the redacted data). Another
//!   provider's reasoning items are never sent. Item types the API does not
//!   have (hosted tool calls, say) are left out.
//! - **Tools:** function tools and handoffs as `{name, description,
//!   input_schema}`; hosted tools are refused with
//!   [`ModelError::Unsupported`](agents_core::ModelError::Unsupported).
//! - **Settings:** `tool_choice` `Auto`/`Required`/`None`/`Function(name)`
//!   → `auto`/`any`/`none`/`tool`; `parallel_tool_calls: false` →
//!   `disable_parallel_tool_use`; `max_tokens` (default
//!   [`AnthropicSettings::max_tokens`], [`DEFAULT_MAX_TOKENS`]);
//!   `metadata.user_id`; `extra_headers`, `extra_query`, `extra_body`
//!   (merged last). [`AnthropicSettings`] adds `stop_sequences`, the thinking
//!   budget, cache breakpoints and the structured output mode.
//! - **Sampling:** the Messages API as the official SDK documents it (the
//!   `anthropic` package 1.0 and later) has no `temperature`, `top_p` or
//!   `top_k`, and the service refuses unknown fields, so they are not sent
//!   by default; [`AnthropicSettings::sampling_parameters`] sends
//!   `temperature`, `top_p` and [`AnthropicSettings::top_k`] for
//!   deployments that take them. `reasoning.effort` turns thinking on when no
//!   budget is set (`low` 1024, `medium` 4096, `high` 16384 tokens).
//! - **Structured output:** an output type is sent as
//!   `output_config.format` (`json_schema`), or in
//!   [`StructuredOutput::Tool`] mode as a forced tool
//!   ([`STRUCTURED_OUTPUT_TOOL`]) whose input becomes the JSON message.
//! - **Prompt caching:** [`AnthropicSettings`] puts `cache_control:
//!   {"type": "ephemeral"}` on the system prompt, the last tool and the last
//!   block of the conversation. `input_tokens` counts every prompt token
//!   (Anthropic's `input_tokens`, which leaves out the cache, plus
//!   `cache_read_input_tokens` plus `cache_creation_input_tokens`), as
//!   OpenAI counts them; cache reads are also reported as
//!   `cached_input_tokens` and cache writes as `cache_write_input_tokens`.
//!
//! # Replies
//!
//! Text blocks form one assistant message, `tool_use` blocks function calls,
//! thinking blocks reasoning items (with `provider_data: {"provider":
//! "anthropic", ...}` and the placeholder id, so the OpenAI Responses model
//! leaves them out). Stop reasons: `end_turn`, `stop_sequence`, `tool_use`
//! and `pause_turn` complete the turn; `max_tokens` and
//! `model_context_window_exceeded` mark the message `incomplete`; `refusal`
//! gives a refusal part, so the run ends with the typed refusal error (or a
//! model-refusal handler's output).
//!
//! Streams pass every event (`message_start`, `content_block_start` /
//! `_delta` / `_stop`, `message_delta`, `message_stop`, `ping`) on as a raw
//! [`ModelStreamEvent::Other`](agents_core::ModelStreamEvent::Other), text,
//! thinking and tool-input deltas also as typed deltas, and end with the
//! items built from the accumulated blocks. An `error` event ends the stream
//! with [`ModelError::Stream`](agents_core::ModelError::Stream).
//!
//! # Reliability
//!
//! Requests go through `agents-http`: with `ModelSettings::retry` set, 408,
//! 409, 429, 5xx and Anthropic's 529 `overloaded_error` are retried with
//! backoff, honouring `retry-after` (at most 60 s), never after a stream has
//! yielded an event; `ModelSettings::timeout` bounds each attempt; bodies and
//! events are size-limited; errors are typed
//! [`ModelError`](agents_core::ModelError)s carrying status, `request-id`
//! and the redacted body.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod provider;
mod request;
mod response;
mod settings;

pub use provider::{
    AnthropicModel, AnthropicProvider, AnthropicProviderBuilder, ANTHROPIC_BASE_URL,
    ANTHROPIC_VERSION, DEFAULT_MODEL,
};
pub use request::STRUCTURED_OUTPUT_TOOL;
pub use settings::{AnthropicSettings, StructuredOutput, DEFAULT_MAX_TOKENS};
