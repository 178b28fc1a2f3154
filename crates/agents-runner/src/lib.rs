//! The agent loop of the agents SDK.
//!
//! [`Runner`] runs an [`Agent`](agents_core::Agent): it calls the model, runs
//! the tools it asks for, follows handoffs, checks guardrails, and stops at a
//! final output. [`Runner::run`], [`Runner::run_blocking`],
//! [`Runner::run_streamed`], [`AgentRunExt`] and [`RunSession`] all drive the
//! same state machine; the streamed mode only also emits events.
//!
//! ```
//! use agents_core::testing::ScriptedModel;
//! use agents_core::Agent;
//! use agents_runner::{RunOptions, Runner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let model = ScriptedModel::new();
//! model.push_text("Hello!");
//! let agent: Agent = Agent::builder("Greeter").model(model.clone()).build();
//! let result = Runner::run(&agent, "Hi", RunOptions::default()).await.unwrap();
//! assert_eq!(result.final_output_text(), "Hello!");
//! model.assert_complete();
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod agent_tool;
pub mod approvals;
mod config;
mod engine;
mod error;
mod result;
mod runner;
mod session;
pub mod state;
mod state_store;
pub mod steps;
mod toolkits;
pub mod trace;
mod usage;

pub use agent_tool::{AgentTool, AgentToolEvent, AgentToolExt, NeedsApproval};
pub use approvals::{Always, ToolApprovalItem, DEFAULT_REJECTION_MESSAGE};
pub use config::{
    call_model_input_filter, call_model_input_filter_async, session_input_callback,
    session_input_callback_async, CallModelData, CallModelInputFilter, CancelHandle, CancelMode,
    InvalidFinalOutputData, InvalidFinalOutputHandler, MaxTurnsData, MaxTurnsHandler,
    ModelInputData, ModelRefusalData, ModelRefusalHandler, RunConfig, RunOptions,
    SessionInputCallback, ToolErrorPolicy, DEFAULT_MAX_TURNS,
};
pub use engine::{default_model_provider, set_default_model_provider, MULTIPLE_HANDOFFS_MESSAGE};
pub use error::{RunError, RunErrorDetails};
pub use result::{RunResult, RunResultStreaming, RunStreamEvent};
pub use runner::{RunInput, Runner};
pub use session::{AgentRunExt, RunSession};
pub use state::{
    RunState, RunStateError, RUN_STATE_SCHEMA_VERSION, SUPPORTED_RUN_STATE_SCHEMA_VERSIONS,
};
pub use state_store::{RunStates, StateStoreError, StoredRun};
pub use steps::{InProcess, StepExecutor, StepId};
pub use usage::UNNAMED_MODEL;
