//! Steps: the loop's model calls and tool calls, run through a
//! [`StepExecutor`].
//!
//! The loop hands each model call and each tool call, as a future, to the
//! run's executor ([`RunConfig::step_executor`](crate::RunConfig)), together
//! with a [`StepId`] that is the same every time the run is replayed. With no
//! executor set, the loop awaits the future itself. A durable executor (the
//! `agents-durable` crate) journals each result in a workflow engine and, when
//! the run is replayed after a crash, returns the recorded result instead of
//! calling the model or the tool again.
//!
//! The executor only wraps the call itself. Hooks, guardrails, approvals and
//! the handling of tool errors stay in the loop, which is the same loop for
//! every run: there is no second loop.

use std::fmt;
use std::future::Future;

use agents_core::{Error, FunctionCall, ModelResponse, ToolError, ToolOutput};
use futures::future::{BoxFuture, Either};

use crate::config::RunConfig;

/// One step of a run, named so that a replay of the run names it the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepId {
    /// The model call of turn `turn` (counted from 1 over the whole run).
    Model {
        /// The turn.
        turn: u32,
        /// The agent that called the model.
        agent: String,
    },
    /// The call `call_id` of tool `tool`, asked for in turn `turn`.
    Tool {
        /// The turn whose model response asked for the call.
        turn: u32,
        /// The call id the model gave.
        call_id: String,
        /// The tool's name.
        tool: String,
    },
}

impl StepId {
    /// The turn the step belongs to.
    pub fn turn(&self) -> u32 {
        match self {
            StepId::Model { turn, .. } | StepId::Tool { turn, .. } => *turn,
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepId::Model { turn, agent } => write!(f, "model:{turn}:{agent}"),
            StepId::Tool {
                turn,
                call_id,
                tool,
            } => write!(f, "tool:{turn}:{tool}:{call_id}"),
        }
    }
}

/// A model call as the loop runs it: the response, or the run's error.
pub type ModelStep<'a> = BoxFuture<'a, Result<ModelResponse, Error>>;

/// A tool call as the loop runs it (timeout and panic already turned into a
/// [`ToolError`]): the output, or the error the loop's tool error policy
/// handles.
pub type ToolStep<'a> = BoxFuture<'a, Result<ToolOutput, ToolError>>;

/// Runs the loop's model calls and tool calls.
///
/// An implementation must give each step's result back unchanged on first
/// execution; on a replay it may return a recorded result without polling
/// the future. The loop starts the tool calls of one turn concurrently (up to
/// `max_tool_concurrency`), each with its own step, so parallel calls stay
/// parallel. Both methods are called from inside the run's future (never
/// from a spawned task), so a task-local set around the run is visible here.
pub trait StepExecutor: Send + Sync {
    /// Runs (or replays) one model call.
    fn model<'a>(&'a self, id: StepId, call: ModelStep<'a>) -> ModelStep<'a>;

    /// Runs (or replays) one tool call.
    fn tool<'a>(&'a self, id: StepId, call: ToolStep<'a>) -> ToolStep<'a>;
}

/// The default executor: runs every step in process, as it comes.
#[derive(Clone, Copy, Debug, Default)]
pub struct InProcess;

impl StepExecutor for InProcess {
    fn model<'a>(&'a self, _id: StepId, call: ModelStep<'a>) -> ModelStep<'a> {
        call
    }

    fn tool<'a>(&'a self, _id: StepId, call: ToolStep<'a>) -> ToolStep<'a> {
        call
    }
}

/// The loop's model call `call` of turn `turn`, through the run's executor
/// if it has one.
pub(crate) fn model_step<'a, C>(
    config: &'a RunConfig<C>,
    turn: u32,
    agent: &str,
    call: impl Future<Output = Result<ModelResponse, Error>> + Send + 'a,
) -> impl Future<Output = Result<ModelResponse, Error>> + Send + 'a {
    match &config.step_executor {
        Some(steps) => {
            let id = StepId::Model {
                turn,
                agent: agent.to_owned(),
            };
            Either::Left(steps.model(id, Box::pin(call)))
        }
        None => Either::Right(call),
    }
}

/// The loop's tool call `call` (asked for in turn `turn`), through the
/// run's executor if it has one.
pub(crate) async fn tool_step<C>(
    config: &RunConfig<C>,
    turn: u32,
    call: &FunctionCall,
    invocation: impl Future<Output = Result<ToolOutput, ToolError>> + Send,
) -> Result<ToolOutput, ToolError> {
    match &config.step_executor {
        Some(steps) => {
            let id = StepId::Tool {
                turn,
                call_id: call.call_id.clone(),
                tool: call.name.clone(),
            };
            steps.tool(id, Box::pin(invocation)).await
        }
        None => invocation.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_name_turn_tool_and_call() {
        let model = StepId::Model {
            turn: 3,
            agent: "Triage".into(),
        };
        assert_eq!(model.to_string(), "model:3:Triage");
        let tool = StepId::Tool {
            turn: 2,
            call_id: "call_1".into(),
            tool: "search".into(),
        };
        assert_eq!(tool.to_string(), "tool:2:search:call_1");
        assert_eq!(tool.turn(), 2);
    }
}
