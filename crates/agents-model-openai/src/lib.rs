//! OpenAI models for the agents SDK: the Responses API
//! ([`OpenAIResponsesModel`], the default) and the Chat Completions API
//! ([`OpenAIChatCompletionsModel`]), the [`OpenAIProvider`] that makes them
//! from model names, and the prefix-routing [`MultiProvider`].
//!
//! ```
//! use agents_core::{Item, ModelProvider, ModelRequest, ModelSettings};
//! use agents_model_openai::{OpenAIProvider, OpenAIResponsesModel};
//!
//! let provider = OpenAIProvider::builder()
//!     .api_key("sk-test")
//!     .base_url("http://127.0.0.1:8080/v1")
//!     .build();
//! // A model for an agent (not called here: no server is running).
//! let model = provider.get_model(Some("gpt-4.1"))?;
//! assert!(format!("{model:?}").contains("gpt-4.1"));
//!
//! // The exact JSON a Responses model would send.
//! let input = [Item::user("Hello")];
//! let settings = ModelSettings::new().temperature(0.5);
//! let request = ModelRequest::new(&input, &settings).instructions(Some("Be brief."));
//! let body = provider.responses_model("gpt-4.1").request_body(&request, false)?;
//! assert_eq!(
//!     body,
//!     serde_json::json!({
//!         "model": "gpt-4.1",
//!         "instructions": "Be brief.",
//!         "input": [{"type": "message", "role": "user", "content": "Hello"}],
//!         "temperature": 0.5
//!     })
//! );
//! # Ok::<(), agents_core::ModelError>(())
//! ```
//!
//! # Configuration
//!
//! [`OpenAIProvider::from_env`] reads `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
//! `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, `OPENAI_MODEL` and `OPENAI_API`
//! (`responses`, the default, or `chat_completions`); the builder's
//! arguments win over the environment, and [`set_default_openai_api`] sets
//! the API for the whole process (over `OPENAI_API`). Construction never fails: without a
//! key, requests to the official API fail with a clear error, and requests to
//! other base URLs go without an `Authorization` header. The key never appears
//! in `Debug` output, errors or logs.
//!
//! # OpenAI-compatible servers (Ollama, vLLM, LM Studio)
//!
//! Point the base URL at the server and use Chat Completions, which they all
//! speak; no key is needed unless the server asks for one:
//!
//! ```
//! use agents_core::ModelProvider;
//! use agents_model_openai::OpenAIProvider;
//!
//! // Ollama: `ollama serve`, then `ollama pull llama3.2`.
//! let ollama = OpenAIProvider::builder()
//!     .base_url("http://127.0.0.1:11434/v1") // vLLM: :8000/v1, LM Studio: :1234/v1
//!     .chat_completions()
//!     .default_model("llama3.2")
//!     .ignore_env()
//!     .build();
//! let model = ollama.get_model(None)?;
//! # Ok::<(), agents_core::ModelError>(())
//! ```
//!
//! Register it in a [`MultiProvider`] to pick it per agent by name
//! (`"ollama/llama3.2"`), next to OpenAI models (`"gpt-4.1"`).
//!
//! # Request mapping
//!
//! Every [`ModelSettings`](agents_core::ModelSettings) field is sent where the
//! API accepts it:
//!
//! | setting | Responses | Chat Completions |
//! |---|---|---|
//! | `temperature`, `top_p` | same name | same name |
//! | `frequency_penalty`, `presence_penalty` | not sent (the API has none; use `extra_body`) | same name |
//! | `tool_choice` | `"auto"`/`"required"`/`"none"`/`{"type":"function","name"}` | `{"type":"function","function":{"name"}}` for a name |
//! | `parallel_tool_calls` | sent only when there are tools | sent only when there are tools |
//! | `truncation` | same name | not sent (no such setting) |
//! | `max_tokens` | `max_output_tokens` | `max_completion_tokens` |
//! | `reasoning` | `reasoning: {effort, summary}` | `reasoning_effort` |
//! | `verbosity` | `text.verbosity` | `verbosity` |
//! | `metadata`, `store` | same name | same name |
//! | `include` | same name, plus `file_search_call.results` for file search with results and `message.output_text.logprobs` with `top_logprobs` | not sent (no such setting) |
//! | `top_logprobs` | same name | same name, with `logprobs: true` |
//! | `prompt_cache_retention` | same name | same name |
//! | `include_usage` | (usage is always reported) | `stream_options.include_usage`, default `true` when streaming |
//! | `extra_headers`, `extra_query` | HTTP headers and query parameters | same |
//! | `extra_body` | merged into the body last (wins) | same |
//! | `retry`, `timeout` | see *Reliability* | same |
//!
//! Function tools and handoffs are both sent as strict-capable function tools;
//! the output schema becomes `text.format` (Responses) or `response_format`
//! (Chat) of type `json_schema`. `previous_response_id`, `conversation_id`
//! (`conversation`) and `prompt` are Responses features, and so are hosted
//! tools (web search, file search, code interpreter, image generation,
//! hosted MCP: sent after the function tools as their own tool objects) and
//! the hosted tool choices; the Chat model rejects requests that use any of
//! them, before sending, with
//! [`ModelError::Unsupported`](agents_core::ModelError::Unsupported).
//!
//! # Reliability
//!
//! - **Retries** are off unless `ModelSettings::retry` is set. Then 408, 409,
//!   429, 5xx, connection failures and timeouts are retried with exponential
//!   backoff (`initial_backoff * 2^n`, capped at `max_backoff`, minus up to
//!   25 % jitter). A `retry-after-ms` or `Retry-After` (seconds) hint of at
//!   most 60 s replaces the computed delay. A stream is never retried once it
//!   has yielded an event.
//! - **Retry hints are clamped.** Whatever a server sends in `retry-after` or
//!   `retry-after-ms` (`1e20`, `inf`, `NaN`, `-5`, a 30-digit number), the
//!   client never panics: `NaN`, negative and non-numeric hints are ignored,
//!   and hints over one day are reported as one day in
//!   `ModelError::Http::retry_after`. The retry policy still honours only
//!   hints of at most 60 s and otherwise uses its own backoff.
//! - **Timeouts**: `ModelSettings::timeout` bounds each attempt. For
//!   non-streamed calls it covers the whole exchange; for streams it bounds
//!   the wait for the response headers and then each wait for more bytes.
//!   Expiry is [`ModelError::Timeout`](agents_core::ModelError::Timeout).
//! - **Errors** are [`ModelError`](agents_core::ModelError)s:
//!   `Http { status, message, request_id, body, retry_after }` for error
//!   statuses, `Connection`, `Timeout`, `InvalidResponse` for bodies or
//!   events that are not what the API documents (never a panic), and
//!   `Stream` when a stream breaks or ends before its final event
//!   (`response.completed`, or `[DONE]` for Chat Completions). Unknown
//!   Responses event types are passed on as `ModelStreamEvent::Other`.
//!   `response.incomplete` (for example `max_output_tokens` reached) ends a
//!   stream like `response.completed`, with the partial output, as a
//!   non-streamed `incomplete` response does; `response.failed` and `error`
//!   events are `Stream` errors. A stream request answered with plain JSON
//!   (a server that ignores `"stream": true`) yields that complete response.
//!   Function-call arguments are passed on as the model wrote them, valid
//!   JSON or not; the runner reports malformed arguments back to the model.
//!
//! # Transport limits and redaction
//!
//! - **Size limits.** A broken or hostile server cannot make the client
//!   buffer without bound. A line of an SSE stream, an SSE event (its `data:`
//!   lines joined) and a whole JSON body are each limited to 16 MiB by
//!   default (a streamed `response.completed` event carries the full
//!   response, so the limits are generous); set others with
//!   [`OpenAIProviderBuilder::response_limits`] or
//!   [`OpenAIClient::with_response_limits`] and a [`ResponseLimits`]. Going
//!   over one ends the call with
//!   [`ModelError::ResponseTooLarge`](agents_core::ModelError::ResponseTooLarge)
//!   `{ limit, max_bytes }`, which names the limit (`max_sse_line_bytes`,
//!   `max_sse_event_bytes` or `max_body_bytes`); it is not retried. A body
//!   whose `Content-Length` is over the limit is refused before it is read.
//!   Error bodies are read up to 64 KiB and the rest is dropped.
//! - **Header values are checked.** An API key, organization, project or
//!   custom header value HTTP does not allow (a newline in
//!   `OPENAI_PROJECT_ID`, say) is found when the client is built:
//!   [`OpenAIClient::try_new`] and [`OpenAIProviderBuilder::try_build`]
//!   return it, and [`OpenAIClient::new`] / `build` report it on every
//!   request, before anything is sent, as
//!   [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader)
//!   `{ name }`. `ModelSettings::extra_headers` are checked when each request
//!   is built, with the same error. The error names the header and never
//!   shows its value.
//! - **Redaction.** An error body that echoes credentials is redacted before
//!   it reaches `ModelError::Http` (`message` and `body`, so `Display` and
//!   `Debug` too), and so is an error built from a streamed `error` event:
//!   every value the request sent in a header whose name
//!   suggests a credential (`Authorization`, `api-key`, `x-api-key`,
//!   `x-goog-api-key`, anything with `auth`, `key`, `token`, `secret`...), the
//!   value after such a name (`authorization: ...`, `"api_key": "..."`), the
//!   token after `Bearer`, and `sk-...` keys all read `<redacted>`. The key is
//!   never in `Debug` output of the client or provider, and
//!   `ModelSettings`'s `Debug` (so `RunConfig`'s) prints the names of
//!   `extra_headers` with `"<redacted>"` values.
//!
//! async-openai's `OpenAIConfig` has no getter for the project id and
//! `unwrap`s its header values, so the client checks them by calling
//! `headers()` once under `catch_unwind`: a bad value prints the usual panic
//! message (without the value) once, at construction, and is then the typed
//! error above. With `panic = "abort"` such a configuration still aborts; the
//! provider builder checks its own key, organization and project without
//! calling `headers()`.
//!
//! See `DESIGN.md` in this crate for why requests are sent with `reqwest`
//! directly rather than through async-openai's client.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod chat;
mod client;
mod provider;
mod responses;
mod traces;
mod transport;

pub use agents_http::ResponseLimits;
pub use chat::OpenAIChatCompletionsModel;
pub use client::{OpenAIClient, OPENAI_BASE_URL};
pub use provider::{
    default_openai_api, set_default_openai_api, MultiProvider, OpenAIApi, OpenAIProvider,
    OpenAIProviderBuilder, DEFAULT_MODEL,
};
pub use responses::OpenAIResponsesModel;
pub use traces::{OpenAITracesExporter, TRACES_INGEST_PATH};

/// The async-openai crate, whose [`Config`](async_openai::config::Config)
/// types configure an [`OpenAIClient`].
pub use async_openai;
/// The reqwest crate, whose `Client` sends the requests
/// ([`OpenAIClient::with_http_client`]).
pub use reqwest;
