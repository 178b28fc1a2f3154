//! Run results, streamed events and the streamed run handle.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use agents_core::guardrail::ToolGuardrailResult;
use agents_core::{
    Agent, FinalOutput, InputGuardrailResult, Item, ModelResponse, ModelStreamEvent,
    OutputGuardrailResult, RunItem, Usage,
};
use futures::stream::{BoxStream, Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::approvals::ToolApprovalItem;
use crate::config::{CancelHandle, CancelMode};
use crate::error::RunError;
use crate::state::{RunState, Shown, Snapshot};

/// The result of a finished run.
pub struct RunResult<C = ()> {
    /// The run's input (session history not included).
    pub input: Vec<Item>,
    /// Items produced by the run, in order.
    pub new_items: Vec<RunItem>,
    /// Every model response.
    pub raw_responses: Vec<ModelResponse>,
    /// The final output; `None` when the run paused on approvals (see
    /// [`RunResult::interruptions`]).
    pub final_output: Option<FinalOutput>,
    /// The agent that produced the final output.
    pub last_agent: Agent<C>,
    /// Usage of the run (including nested runs).
    pub usage: Usage,
    /// The run's usage per agent name, nested agent-as-tool runs included
    /// (a resumed run counts from where it resumed). For cost tracking.
    pub usage_by_agent: BTreeMap<String, Usage>,
    /// The run's usage per model name (the name the agent or the run
    /// config gives; [`UNNAMED_MODEL`](crate::UNNAMED_MODEL) for a model
    /// instance), nested runs included.
    pub usage_by_model: BTreeMap<String, Usage>,
    /// Input guardrail results.
    pub input_guardrail_results: Vec<InputGuardrailResult>,
    /// Output guardrail results.
    pub output_guardrail_results: Vec<OutputGuardrailResult>,
    /// Tool input guardrail results, one per guardrail run, in call order.
    pub tool_input_guardrail_results: Vec<ToolGuardrailResult>,
    /// Tool output guardrail results, one per guardrail run, in call order.
    pub tool_output_guardrail_results: Vec<ToolGuardrailResult>,
    /// Number of turns (model calls).
    pub turns: u32,
    /// What [`RunResult::to_state`] needs besides the public fields.
    pub(crate) snapshot: Box<Snapshot>,
}

impl<C> fmt::Debug for RunResult<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunResult")
            .field("final_output", &self.final_output)
            .field("last_agent", &self.last_agent.name())
            .field("new_items", &self.new_items.len())
            .field("turns", &self.turns)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

impl<C> RunResult<C> {
    /// The final output as text (empty when there is none).
    pub fn final_output_text(&self) -> String {
        self.final_output
            .as_ref()
            .map(FinalOutput::to_text)
            .unwrap_or_default()
    }

    /// The final output deserialized into `T`.
    pub fn final_output_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.final_output {
            Some(o) => o.parse(),
            None => Err(serde::de::Error::custom("the run has no final output")),
        }
    }

    /// The tool calls the run paused on, waiting for approval. When this is
    /// not empty the run was interrupted: `final_output` is `None`; decide
    /// the calls on [`to_state`](RunResult::to_state) and resume.
    pub fn interruptions(&self) -> &[ToolApprovalItem] {
        &self.snapshot.interruptions
    }

    /// Whether the run paused on approvals.
    pub fn is_interrupted(&self) -> bool {
        !self.snapshot.interruptions.is_empty()
    }

    /// The run as a [`RunState`]: approve or reject its interruptions, then
    /// pass it to [`Runner::run`](crate::Runner::run) to continue. The state
    /// of a finished run (with a final output) cannot be resumed.
    pub fn to_state(&self) -> RunState {
        RunState::assemble(
            &self.snapshot,
            Shown {
                agent: self.last_agent.name(),
                input: &self.input,
                new_items: &self.new_items,
                raw_responses: &self.raw_responses,
                usage: &self.usage,
                input_guardrail_results: &self.input_guardrail_results,
                output_guardrail_results: &self.output_guardrail_results,
                tool_input_guardrail_results: &self.tool_input_guardrail_results,
                tool_output_guardrail_results: &self.tool_output_guardrail_results,
                final_output: self.final_output.as_ref(),
            },
        )
    }

    /// The run's trace id: the configured one, the enclosing trace's, or
    /// the one generated when the run started. `None` when tracing is
    /// disabled and no id was configured.
    pub fn trace_id(&self) -> Option<&str> {
        self.snapshot.trace.trace_id.as_deref()
    }

    /// The id of the last model response, for `previous_response_id` chaining.
    pub fn last_response_id(&self) -> Option<&str> {
        self.raw_responses
            .iter()
            .rev()
            .find_map(|r| r.response_id.as_deref())
    }

    /// The input plus every produced item, ready to be the next run's input.
    pub fn to_input_list(&self) -> Vec<Item> {
        let mut out = Vec::with_capacity(self.input.len() + self.new_items.len());
        out.extend_from_slice(&self.input);
        out.extend(
            self.new_items
                .iter()
                .filter(|i| i.is_model_input())
                .map(|i| i.item.clone()),
        );
        out
    }
}

/// One event of a streamed run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RunStreamEvent {
    /// A raw event from the model provider (text deltas and so on).
    RawModel(ModelStreamEvent),
    /// A run item was created. `name` is one of `message_output_created`,
    /// `tool_called`, `tool_output`, `handoff_requested`, `handoff_occurred`,
    /// `reasoning_item_created`, `tool_approval_requested`.
    RunItem {
        /// The event name.
        name: &'static str,
        /// The item.
        item: RunItem,
    },
    /// The current agent changed (also sent when the run starts).
    AgentUpdated {
        /// The new agent's name.
        agent: String,
    },
}

/// Where the loop puts stream events. Shared between the loop and the
/// consumer, which poll in the same task, so the lock is never contended.
#[derive(Clone, Default)]
pub(crate) struct EventSink {
    queue: Arc<Mutex<VecDeque<RunStreamEvent>>>,
}

impl EventSink {
    pub(crate) fn push(&self, event: RunStreamEvent) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(event);
    }

    fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    fn pop(&self) -> Option<RunStreamEvent> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

type Driver<C> = Pin<Box<dyn Future<Output = Result<RunResult<C>, RunError>> + Send>>;

/// A streamed run. Poll it as a [`Stream`] of [`RunStreamEvent`]s; when the
/// stream ends, the result is settled and [`RunResultStreaming::result`]
/// returns it.
///
/// The run makes progress only while it is polled. Dropping it stops the
/// model request and the running tools.
pub struct RunResultStreaming<C = ()> {
    sink: EventSink,
    driver: Option<Driver<C>>,
    outcome: Option<Result<RunResult<C>, RunError>>,
    cancel: CancelHandle,
}

impl<C> fmt::Debug for RunResultStreaming<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunResultStreaming")
            .field("complete", &(self.driver.is_none() && self.sink.is_empty()))
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> RunResultStreaming<C> {
    pub(crate) fn new(sink: EventSink, driver: Driver<C>, cancel: CancelHandle) -> Self {
        RunResultStreaming {
            sink,
            driver: Some(driver),
            outcome: None,
            cancel,
        }
    }

    /// The events, as a stream borrowing this handle.
    pub fn stream_events(&mut self) -> &mut Self {
        self
    }

    /// Only the text deltas of the model's output.
    pub fn to_text_stream(&mut self) -> BoxStream<'_, String> {
        self.filter_map(|e| async move {
            match e {
                RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { delta, .. }) => {
                    Some(delta)
                }
                _ => None,
            }
        })
        .boxed()
    }

    /// Cancels the run: immediately, or after the current turn.
    pub fn cancel(&self, mode: CancelMode) {
        self.cancel.cancel(mode);
    }

    /// Whether the run has ended and every event was consumed.
    pub fn is_complete(&self) -> bool {
        self.driver.is_none() && self.sink.is_empty()
    }

    /// Drives the run to its end (dropping unread events) and returns the result.
    pub async fn result(mut self) -> Result<RunResult<C>, RunError> {
        while self.next().await.is_some() {}
        match self.outcome.take() {
            Some(outcome) => outcome,
            None => Err(RunError::new(agents_core::Error::UserError(
                "the streamed result was already taken".into(),
            ))),
        }
    }
}

impl<C> Unpin for RunResultStreaming<C> {}

impl<C> Stream for RunResultStreaming<C> {
    type Item = RunStreamEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(e) = self.sink.pop() {
            return Poll::Ready(Some(e));
        }
        let Some(driver) = self.driver.as_mut() else {
            return Poll::Ready(None);
        };
        let done = driver.as_mut().poll(cx);
        if let Poll::Ready(outcome) = done {
            self.driver = None;
            self.outcome = Some(outcome);
        }
        match self.sink.pop() {
            Some(e) => Poll::Ready(Some(e)),
            None if self.driver.is_none() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}
