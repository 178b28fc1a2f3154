//! Core types of the agents SDK.
//!
//! This crate holds the vocabulary every other crate of the SDK speaks:
//! [items] in the Responses API wire format, the [`Agent`] blueprint,
//! and the [`Tool`], [`Toolkit`], [`Model`], [`ModelProvider`] and [`Session`]
//! traits. It depends on no other crate of the workspace; the agent loop
//! lives in `agents-runner`.
//!
//! ```
//! use agents_core::{Agent, FunctionTool, Item};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct City { city: String }
//!
//! let weather = FunctionTool::new("get_weather", "Weather of a city.", |_ctx, a: City| async move {
//!     Ok::<_, String>(format!("It is sunny in {}.", a.city))
//! });
//! let agent: Agent = Agent::builder("Weather bot")
//!     .instructions("Answer with the weather tool.")
//!     .tool(weather)
//!     .build();
//! assert_eq!(agent.tools().len(), 1);
//!
//! let item: Item = serde_json::from_str(r#"{"role":"user","content":"hi"}"#).unwrap();
//! assert_eq!(item, Item::user("hi"));
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod agent;
pub mod context;
pub mod error;
pub mod guardrail;
pub mod handoff;
pub mod hooks;
pub mod items;
pub mod model;
pub mod output;
pub mod run_item;
pub mod schema;
pub mod session;
pub mod settings;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod tool;
pub mod toolkit;
pub mod usage;

pub use agent::{
    Agent, AgentBuilder, AgentModel, Instructions, PromptSource, ToolCallResult, ToolUseBehavior,
    ToolsToFinalOutput,
};
pub use context::RunContext;
pub use error::Error;
pub use guardrail::{
    GuardrailOutput, InputGuardrail, InputGuardrailResult, OutputGuardrail, OutputGuardrailResult,
    ToolGuardrailBehavior, ToolGuardrailOutput, ToolGuardrailResult, ToolInputGuardrail,
    ToolInputGuardrailData, ToolOutputGuardrail, ToolOutputGuardrailData,
};
pub use handoff::{Handoff, HandoffInputData, HistoryMapper};
pub use hooks::Hooks;
pub use items::{
    Content, ContentPart, Extra, FunctionCall, FunctionCallOutput, Item, Message, Role,
    PLACEHOLDER_ID,
};
pub use model::{
    Model, ModelError, ModelProvider, ModelRequest, ModelResponse, ModelStreamEvent, OutputSchema,
    Prompt, ToolSpec,
};
pub use output::{FinalOutput, OutputType};
pub use run_item::{RunItem, RunItemKind};
pub use session::{MemorySession, Session, SessionError};
pub use settings::{ModelSettings, ReasoningSettings, RetrySettings, ToolChoice};
pub use tool::{FunctionTool, IntoToolOutput, NoArgs, Tool, ToolContext, ToolError, ToolOutput};
pub use toolkit::{Toolkit, ToolkitError, ToolkitSession};
pub use usage::{RequestUsage, Usage};

/// A boxed, `Send` future, the return type of the SDK's object-safe async methods.
pub use futures::future::BoxFuture;
/// A boxed, `Send` stream.
pub use futures::stream::BoxStream;
