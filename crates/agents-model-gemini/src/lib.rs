//! Google Gemini models for the agents SDK: [`GeminiModel`] speaks the
//! Gemini API's `generateContent` and `streamGenerateContent` (`alt=sse`),
//! and [`GeminiProvider`] makes models from names.
//!
//! ```
//! use agents_core::{Item, ModelProvider, ModelRequest, ModelSettings, ToolSpec};
//! use agents_model_gemini::GeminiProvider;
//! use serde_json::json;
//! use std::borrow::Cow;
//!
//! let provider = GeminiProvider::builder()
//!     .api_key("test-key")
//!     .base_url("http://127.0.0.1:8080/v1beta")
//!     .ignore_env()
//!     .build();
//! let model = provider.model("gemini-2.5-flash");
//! let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
//!     "required": ["city"], "additionalProperties": false});
//! let tools = [ToolSpec {
//!     name: Cow::Borrowed("get_weather"),
//!     description: Cow::Borrowed("The weather in a city."),
//!     parameters: Cow::Borrowed(&schema),
//!     strict: true,
//! }];
//! let input = [Item::user("Weather in Paris?")];
//! let settings = ModelSettings::new();
//! let request = ModelRequest::new(&input, &settings).tools(&tools);
//! let body = model.request_body(&request)?;
//! assert_eq!(body["tools"][0]["functionDeclarations"][0]["name"], "get_weather");
//! assert_eq!(body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"], schema);
//! # let _ = provider.get_model(None)?;
//! # Ok::<(), agents_core::ModelError>(())
//! ```
//!
//! # Request mapping
//!
//! | SDK | Gemini |
//! |---|---|
//! | instructions, system and developer messages | `systemInstruction` |
//! | user messages (text, images) | `user` contents: `text`, `inlineData` (data URLs), `fileData` (other URLs) |
//! | assistant messages, function calls | `model` contents: `text`, `functionCall` |
//! | function call outputs | one `user` content of `functionResponse` parts (`{"output": text}`) per turn |
//! | this crate's reasoning items | `thought` parts, with their thought signature |
//! | other providers' reasoning items | left out |
//! | tools and handoffs | `functionDeclarations` with `parametersJsonSchema` |
//! | `tool_choice` | `toolConfig.functionCallingConfig`: `AUTO`, `ANY`, `NONE`, `ANY` + `allowedFunctionNames` |
//! | output type | `generationConfig.responseMimeType: application/json` + `responseJsonSchema` |
//! | `temperature`, `top_p`, `max_tokens`, penalties | `temperature`, `topP`, `maxOutputTokens`, `presencePenalty`, `frequencyPenalty` |
//! | `reasoning`, [`GeminiThinking`] | `generationConfig.thinkingConfig` |
//! | `extra_headers`, `extra_query`, `extra_body` | headers, query parameters, merged into the body last |
//! | `retry`, `timeout` | the shared transport's retries and per-attempt timeouts (`agents-http`) |
//!
//! `parallel_tool_calls`, `truncation`, `store`, `metadata` and `verbosity`
//! have no Gemini equivalent and are not sent; `previous_response_id`,
//! `conversation_id` and stored prompts are refused with a clear error.
//!
//! # Thought signatures and call ids
//!
//! Gemini signs its thinking: a `thoughtSignature` comes on the first
//! function call of a turn (and on thoughts or text), and Gemini 3 refuses a
//! later request whose function calls of the current turn lack it. Items
//! keep the signature, byte for byte, in
//! `provider_data: {"provider": "gemini", "thought_signature": ...}` (which the
//! OpenAI models never send), and requests put it back on the part it came
//! with. A function call made by another model gets Gemini's documented
//! `skip_thought_signature_validator` signature instead.
//!
//! Gemini may omit call ids. Calls without one get a stable id
//! (`call_<responseId>_<n>`), stored with the item, so outputs pair with
//! their calls whichever provider reads the history next; ids that Gemini
//! did give are sent back on the call and its response.
//!
//! # Finish reasons
//!
//! `STOP` and `MAX_TOKENS` end a turn with what was produced. A blocked
//! prompt (`promptFeedback.blockReason`) or a withheld answer (`SAFETY`,
//! `RECITATION`, `PROHIBITED_CONTENT`, ...) becomes an assistant message
//! with a refusal part, which the run turns into its typed refusal error
//! (or a `model_refusal` handler's output). `MALFORMED_FUNCTION_CALL` and
//! the other unusable-output reasons are
//! [`ModelError::InvalidResponse`](agents_core::ModelError::InvalidResponse).
//! Usage comes from `usageMetadata` (thought tokens count as output and as
//! reasoning tokens; cached content tokens as cached input).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod convert;
mod decode;
mod model;
mod provider;
mod thinking;

pub use model::GeminiModel;
pub use provider::{GeminiProvider, GeminiProviderBuilder, DEFAULT_GEMINI_MODEL, GEMINI_BASE_URL};
pub use thinking::GeminiThinking;

/// The shared HTTP transport ([`HttpClient`](agents_http::HttpClient),
/// [`ResponseLimits`](agents_http::ResponseLimits)).
pub use agents_http;
