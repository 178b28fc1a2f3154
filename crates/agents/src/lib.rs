//! An agent SDK for Rust.
//!
//! An [`Agent`] is a stateless, shareable blueprint: instructions, a model,
//! tools, handoffs, guardrails and an output type. The [`Runner`] runs it:
//! it calls the model, runs the tools the model asks for, follows handoffs,
//! and stops at a final output, streaming events if you ask.
//!
//! This crate re-exports the SDK's layers:
//!
//! | crate | what it holds |
//! |---|---|
//! | `agents-core` | items, [`Agent`], the [`Tool`], [`Toolkit`], [`Model`] and [`Session`] traits |
//! | `agents-runner` | the agent loop: [`Runner`], [`RunSession`], streaming, guardrails, handoffs |
//! | `agents-model-openai` (feature `openai`, default) | the OpenAI Responses and Chat Completions models |
//! | `agents-model-gemini` (feature `gemini`, default) | `gemini::GeminiProvider`: Gemini models; `gemini/...` names route to them |
//! | `agents-model-anthropic` (feature `anthropic`, default) | `anthropic::AnthropicProvider`: Claude models; `anthropic/...` names route to them |
//! | `agents-otel` (feature `otel`) | `otel`: OpenTelemetry export of runs over OTLP |
//! | `agents-durable` (feature `durable`) | `durable::DurableWorker`: runs that survive a worker crash, on Restate |
//! | `agents-session-sqlite` (feature `sqlite`) | `sqlite::SqliteSession`: conversation memory in SQLite, shared with openai-agents-python |
//! | `agents-session-postgres` (feature `postgres`) | `postgres::PostgresStore`: sessions and paused runs in Postgres, shared with openai-agents-python |
//! | `agents-session-redis` (feature `redis`) | `redis::RedisStore`: sessions and paused runs in Redis, shared with openai-agents-python |
//! | `agents-session-encrypted` (feature `encrypted`) | `encrypted::EncryptedSession`: encryption at rest around any session |
//! | `agents-mcp` (feature `mcp`) | `mcp::McpToolkit`: MCP servers (stdio, streamable HTTP) as toolkits |
//!
//! ```
//! use agents::prelude::*;
//! use agents_core::testing::{function_call, ScriptedModel};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct City { city: String }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = ScriptedModel::new();
//! model.push_output(vec![function_call("get_weather", r#"{"city":"Paris"}"#)]);
//! model.push_text("It is sunny in Paris.");
//!
//! let weather = FunctionTool::new("get_weather", "Weather of a city.", |_ctx, a: City| async move {
//!     Ok::<_, String>(format!("sunny in {}", a.city))
//! });
//! let agent: Agent = Agent::builder("Weather bot")
//!     .instructions("Use the weather tool.")
//!     .model(model.clone())
//!     .tool(weather)
//!     .build();
//!
//! let result = Runner::run(&agent, "Weather in Paris?", RunOptions::default()).await?;
//! assert_eq!(result.final_output_text(), "It is sunny in Paris.");
//! # Ok(()) }
//! ```
//!
//! With the `openai` feature (on by default), agents may name their model
//! (`.model("gpt-4.1-mini")`): [`Runner`] and [`AgentExt`] resolve names
//! through [`openai::MultiProvider`] configured from the environment
//! (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, ...), unless the run configures
//! another provider.
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::future::Future;

#[doc(inline)]
pub use agents_core::trace::{custom_span, trace, TraceBuilder, TraceProcessor};
#[doc(inline)]
pub use agents_core::{
    agent, context, graph, guardrail, handoff, hooks, items, model, output, run_item, schema,
    session, settings, tool, toolkit, usage, Agent, AgentBuilder, AgentGraph, AgentModel,
    BoxFuture, BoxStream, Content, ContentPart, Error, FinalOutput, FunctionCall,
    FunctionCallOutput, FunctionTool, GuardrailOutput, Handoff, HandoffInputData, Hooks,
    InputGuardrail, InputGuardrailResult, IntoToolOutput, Item, MemorySession, Message, Model,
    ModelError, ModelProvider, ModelRequest, ModelResponse, ModelSettings, ModelStreamEvent,
    NoArgs, OutputGuardrail, OutputGuardrailResult, OutputSchema, OutputType, Prompt,
    ReasoningSettings, RequestUsage, RetrySettings, Role, RunContext, RunItem, RunItemKind,
    Session, SessionError, Tool, ToolChoice, ToolContext, ToolError, ToolOutput, ToolSpec,
    ToolUseBehavior, Toolkit, ToolkitError, ToolkitSession, Usage,
};
#[doc(inline)]
pub use agents_core::{
    hosted, ApprovalDecision, HostedMcp, HostedTool, McpRequireApproval, PendingApproval,
};
#[doc(inline)]
pub use agents_core::{
    HistoryMapper, ToolGuardrailBehavior, ToolGuardrailOutput, ToolGuardrailResult,
    ToolInputGuardrail, ToolInputGuardrailData, ToolOutputGuardrail, ToolOutputGuardrailData,
};
#[doc(inline)]
pub use agents_runner::UNNAMED_MODEL;
#[doc(inline)]
pub use agents_runner::{
    call_model_input_filter, call_model_input_filter_async, session_input_callback,
    session_input_callback_async, CallModelData,
};
#[doc(inline)]
pub use agents_runner::{
    AgentTool, AgentToolEvent, AgentToolExt, CancelHandle, CancelMode, InvalidFinalOutputData,
    MaxTurnsData, ModelInputData, ModelRefusalData, NeedsApproval, RunConfig, RunError,
    RunErrorDetails, RunInput, RunOptions, RunResult, RunResultStreaming, RunSession,
    RunStreamEvent, ToolErrorPolicy, DEFAULT_MAX_TURNS,
};
#[doc(inline)]
pub use agents_runner::{
    Always, RunState, RunStateError, ToolApprovalItem, DEFAULT_REJECTION_MESSAGE,
    RUN_STATE_SCHEMA_VERSION,
};
#[doc(inline)]
pub use agents_runner::{RunStates, StateStoreError, StoredRun};

/// Traces and spans of runs: the model ([`agents_core::trace`]), the
/// process-wide processors, the batching processor, the JSON-lines exporter
/// and the bridge to the `tracing` crate. See `docs/tracing.md`.
pub mod tracing {
    #[doc(inline)]
    pub use agents_runner::trace::*;
}
#[doc(inline)]
pub use agents_core::{MemoryRunStateStore, RunStateStore, RunStateStoreError, StoredRunState};

/// Turns a function into a [`FunctionTool`] constructor: the doc comment is
/// the description, each parameter a property of the arguments' schema
/// (described with `#[arg("...")]`), an optional first `ToolContext<C>`
/// parameter gets the call's context, and the return value is anything
/// [`IntoToolOutput`] or a `Result` of it.
///
/// ```
/// use agents::prelude::*;
///
/// /// Current weather of a city.
/// #[tool]
/// async fn get_weather(#[arg("The city, e.g. Paris")] city: String) -> String {
///     format!("Sunny, 22 °C in {city}.")
/// }
///
/// let agent: Agent = Agent::builder("Weather assistant").tool(get_weather()).build();
/// assert_eq!(agent.tools()[0].name(), "get_weather");
/// ```
///
/// Options: `#[tool(name = "...", description = "...", args(p = "..."),
/// strict = false, timeout = "30s", needs_approval)]`; see the
/// `agents-macros` crate docs.
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use agents_macros::tool;

#[doc(hidden)]
pub use agents_core::__private;

/// The serde crate the SDK uses, so that argument and output types can
/// derive through the facade without their own `serde` dependency: add
/// `#[serde(crate = "agents::serde")]` next to the derive (serde's derive
/// otherwise looks for a `serde` crate of your own).
///
/// ```
/// use agents::schemars::JsonSchema;
/// use agents::serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(crate = "agents::serde")]
/// #[schemars(crate = "agents::schemars")]
/// struct City {
///     /// The city's name.
///     name: String,
/// }
///
/// let schema = agents::tool::parameters_schema::<City>();
/// assert_eq!(schema["required"], serde_json::json!(["name"]));
/// let city: City = serde_json::from_str(r#"{"name": "Oslo"}"#).unwrap();
/// assert_eq!(city.name, "Oslo");
/// ```
pub use agents_core::__private::serde;

/// The schemars crate (1.x) the SDK uses for tool and output schemas; derive
/// `JsonSchema` through the facade with `#[schemars(crate = "agents::schemars")]`
/// (see [`serde`]).
pub use agents_core::__private::schemars;

/// Test helpers: [`ScriptedModel`](testing::ScriptedModel) and item builders.
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing {
    #[doc(inline)]
    pub use agents_core::testing::*;
}

/// The OpenAI models and providers.
#[cfg(feature = "openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
pub mod openai {
    #[doc(inline)]
    pub use agents_model_openai::*;
}

/// Google Gemini models (`generateContent`, `streamGenerateContent`).
#[cfg(feature = "gemini")]
#[cfg_attr(docsrs, doc(cfg(feature = "gemini")))]
pub mod gemini {
    #[doc(inline)]
    pub use agents_model_gemini::*;
}

/// Anthropic Claude models through the Messages API (`/v1/messages`):
/// tools, extended thinking replayed verbatim, prompt caching, streaming.
#[cfg(feature = "anthropic")]
#[cfg_attr(docsrs, doc(cfg(feature = "anthropic")))]
pub mod anthropic {
    #[doc(inline)]
    pub use agents_model_anthropic::*;
}

/// SQLite conversation sessions, file-compatible with openai-agents-python's
/// `SQLiteSession`.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite {
    #[doc(inline)]
    pub use agents_session_sqlite::*;
}

/// Postgres conversation sessions and run-state store, in the tables of
/// openai-agents-python's `SQLAlchemySession`.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres {
    #[doc(inline)]
    pub use agents_session_postgres::*;
}

/// Redis conversation sessions and run-state store, in the keys of
/// openai-agents-python's `RedisSession`.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis {
    #[doc(inline)]
    pub use agents_session_redis::*;
}

/// Encryption at rest for any session: AES-256-GCM per item, a key per
/// session derived with HKDF, expiry and master-key rotation.
#[cfg(feature = "encrypted")]
#[cfg_attr(docsrs, doc(cfg(feature = "encrypted")))]
pub mod encrypted {
    #[doc(inline)]
    pub use agents_session_encrypted::*;
}

/// MCP (Model Context Protocol) servers as toolkits: stdio and streamable
/// HTTP servers whose tools, prompts and resources agents use.
#[cfg(feature = "mcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "mcp")))]
pub mod mcp {
    #[doc(inline)]
    pub use agents_mcp::*;
}

/// Durable runs on Restate: a worker serves an agent as a workflow whose
/// model calls and tool calls are journaled, so a run survives the crash of
/// its worker; approvals wait on durable promises (see `docs/durable.md`).
#[cfg(feature = "durable")]
#[cfg_attr(docsrs, doc(cfg(feature = "durable")))]
pub mod durable {
    #[doc(inline)]
    pub use agents_durable::*;
}

/// OpenTelemetry export: GenAI semantic-convention spans and metrics over
/// OTLP.
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel {
    #[doc(inline)]
    pub use agents_otel::*;
}

/// The agent loop crate, for the items not re-exported at the top level.
pub mod runner {
    #[doc(inline)]
    pub use agents_runner::*;
}

/// Installs the default model provider once: with the `openai` feature, a
/// [`openai::MultiProvider`] configured from the environment. Runs that set
/// `RunConfig::model_provider` are not affected.
pub fn init_default_provider() {
    #[cfg(feature = "openai")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if agents_runner::default_model_provider().is_none() {
                agents_runner::set_default_model_provider(std::sync::Arc::new(
                    multi_provider_from_env(),
                ));
            }
        });
    }
}

/// The default model provider: [`openai::MultiProvider::from_env`], with a
/// route for each provider feature that is on (`gemini/...` to
/// [`gemini::GeminiProvider::from_env`] with the `gemini` feature,
/// `anthropic/...` to [`anthropic::AnthropicProvider::from_env`] with the
/// `anthropic` feature). The prefix is stripped before the provider sees the
/// name.
///
/// ```
/// use agents::ModelProvider;
///
/// let provider = agents::multi_provider_from_env();
/// assert!(provider.get_model(Some("gpt-4.1")).is_ok());
/// # #[cfg(feature = "anthropic")]
/// assert!(format!("{:?}", provider.get_model(Some("anthropic/claude-sonnet-4-5"))?)
///     .contains("\"claude-sonnet-4-5\""));
/// # Ok::<(), agents::ModelError>(())
/// ```
#[cfg(feature = "openai")]
#[cfg_attr(docsrs, doc(cfg(feature = "openai")))]
pub fn multi_provider_from_env() -> openai::MultiProvider {
    #[allow(unused_mut)] // only mutated when a provider feature is on
    let mut provider = openai::MultiProvider::from_env();
    #[cfg(feature = "gemini")]
    {
        provider = provider.with_provider(
            "gemini",
            std::sync::Arc::new(gemini::GeminiProvider::from_env()),
        );
    }
    #[cfg(feature = "anthropic")]
    {
        provider = provider.with_provider(
            "anthropic",
            std::sync::Arc::new(anthropic::AnthropicProvider::from_env()),
        );
    }
    provider
}

/// Runs agents; like [`agents_runner::Runner`], with the default model
/// provider of this crate's features installed first.
#[derive(Clone, Copy, Debug, Default)]
pub struct Runner;

impl Runner {
    /// Runs `agent` on `input` until it produces a final output.
    pub async fn run<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> Result<RunResult<C>, RunError> {
        init_default_provider();
        agents_runner::Runner::run(agent, input, options).await
    }

    /// Runs on a runtime of its own; fails inside an async runtime.
    pub fn run_blocking<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> Result<RunResult<C>, RunError> {
        init_default_provider();
        agents_runner::Runner::run_blocking(agent, input, options)
    }

    /// Runs `agent`, streaming events.
    pub fn run_streamed<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C> {
        init_default_provider();
        agents_runner::Runner::run_streamed(agent, input, options)
    }
}

/// `agent.run(..)`, `agent.run_stream(..)` and `agent.create_session(..)`,
/// with the default model provider installed first.
pub trait AgentExt<C: Send + Sync + 'static> {
    /// Runs once; toolkit sessions are opened for this run and always closed.
    fn run(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> impl Future<Output = Result<RunResult<C>, RunError>> + Send;

    /// Runs once, streaming.
    fn run_stream(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C>;

    /// Opens a [`RunSession`] bound to one user's context.
    fn create_session(
        &self,
        context: C,
    ) -> impl Future<Output = Result<RunSession<C>, RunError>> + Send;
}

impl<C: Send + Sync + 'static> AgentExt<C> for Agent<C> {
    fn run(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> impl Future<Output = Result<RunResult<C>, RunError>> + Send {
        init_default_provider();
        agents_runner::AgentRunExt::run(self, input, options)
    }

    fn run_stream(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C> {
        init_default_provider();
        agents_runner::AgentRunExt::run_stream(self, input, options)
    }

    fn create_session(
        &self,
        context: C,
    ) -> impl Future<Output = Result<RunSession<C>, RunError>> + Send {
        init_default_provider();
        agents_runner::AgentRunExt::create_session(self, context)
    }
}

/// The common imports: `use agents::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "macros")]
    pub use crate::tool;
    pub use crate::{
        Agent, AgentExt, AgentToolExt, FinalOutput, FunctionTool, Handoff, InputGuardrail, Item,
        ModelSettings, OutputGuardrail, RunConfig, RunContext, RunOptions, RunStreamEvent, Runner,
        Session, Tool, ToolContext, ToolGuardrailOutput, ToolInputGuardrail, ToolOutput,
        ToolOutputGuardrail,
    };
    pub use futures::StreamExt;
}

/// The README's examples, compiled as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The multi-agent guide's examples, compiled as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/multi_agent.md")]
pub struct MultiAgentGuideDoctests;

/// The human-in-the-loop guide's examples, compiled as doc-tests.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../../../docs/human_in_the_loop.md")]
pub struct HumanInTheLoopGuideDoctests;

/// The sessions guide's examples, compiled as doc-tests.
#[cfg(all(doctest, feature = "sqlite", feature = "testing"))]
#[doc = include_str!("../../../docs/sessions.md")]
pub struct SessionsGuideDoctests;

/// The errors guide's examples, compiled as doc-tests.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../../../docs/errors.md")]
pub struct ErrorsGuideDoctests;

/// The hosted tools guide's examples, compiled as doc-tests.
#[cfg(all(doctest, feature = "testing"))]
#[doc = include_str!("../../../docs/hosted_tools.md")]
pub struct HostedToolsGuideDoctests;

/// The MCP guide's examples, compiled as doc-tests.
#[cfg(all(doctest, feature = "mcp"))]
#[doc = include_str!("../../../docs/mcp.md")]
pub struct McpGuideDoctests;
