//! The run error: what went wrong plus everything produced so far.

use std::fmt;

use agents_core::guardrail::ToolGuardrailResult;
use agents_core::{
    Error, InputGuardrailResult, Item, ModelResponse, OutputGuardrailResult, RunItem, Usage,
};

use crate::state::{RunState, Shown, Snapshot};

/// Work a failed run had done before it failed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RunErrorDetails {
    /// The run's input.
    pub input: Vec<Item>,
    /// Items produced so far.
    pub new_items: Vec<RunItem>,
    /// Model responses so far.
    pub raw_responses: Vec<ModelResponse>,
    /// Usage so far.
    pub usage: Usage,
    /// The agent that was running.
    pub last_agent: String,
    /// Input guardrail results so far (a tripped one included).
    pub input_guardrail_results: Vec<InputGuardrailResult>,
    /// Output guardrail results so far (a tripped one included).
    pub output_guardrail_results: Vec<OutputGuardrailResult>,
    /// Tool input guardrail results so far (one that raised included).
    pub tool_input_guardrail_results: Vec<ToolGuardrailResult>,
    /// Tool output guardrail results so far (one that raised included).
    pub tool_output_guardrail_results: Vec<ToolGuardrailResult>,
    /// Turns started (model calls made or attempted).
    pub turns: u32,
    /// What [`RunError::to_state`] needs besides the public fields.
    pub(crate) snapshot: Option<Box<Snapshot>>,
}

/// A failed run. Carries the cause and the work done so far, so nothing is lost.
///
/// `Display` is one line: the cause, where the run was, and a hint when one
/// helps (a 401 says to check the API key). `Debug` shows the cause and the
/// size of the work done, not the whole transcript, so that `main` returning
/// `Result<(), Box<dyn Error>>` prints something readable; the work itself is
/// in [`RunError::details`].
pub struct RunError {
    /// What went wrong.
    pub error: Error,
    /// The work done before the failure.
    pub details: Box<RunErrorDetails>,
}

impl RunError {
    /// An error without any work done (bad options, say).
    pub fn new(error: Error) -> Self {
        RunError {
            error,
            details: Box::default(),
        }
    }

    /// The cancelled run as a [`RunState`] from which it continues, or `None`
    /// if the run was not cancelled (or failed before it started).
    ///
    /// After [`CancelMode::Immediate`](crate::CancelMode::Immediate) the
    /// interrupted turn continues: a model call that was cut off is made
    /// again; if the model had answered, the tool calls that had not
    /// finished run again (those that had finished keep their outputs and
    /// do not run again). After
    /// [`CancelMode::AfterTurn`](crate::CancelMode::AfterTurn) the next turn
    /// starts. No item is lost or produced twice, and a session does not get
    /// the cancelled turn's items twice.
    pub fn to_state(&self) -> Option<RunState> {
        if !matches!(self.error, Error::Cancelled) {
            return None;
        }
        let d = &self.details;
        Some(RunState::assemble(
            d.snapshot.as_deref()?,
            Shown {
                agent: &d.last_agent,
                input: &d.input,
                new_items: &d.new_items,
                raw_responses: &d.raw_responses,
                usage: &d.usage,
                input_guardrail_results: &d.input_guardrail_results,
                output_guardrail_results: &d.output_guardrail_results,
                tool_input_guardrail_results: &d.tool_input_guardrail_results,
                tool_output_guardrail_results: &d.tool_output_guardrail_results,
                final_output: None,
            },
        ))
    }

    /// Items produced before the failure.
    pub fn new_items(&self) -> &[RunItem] {
        &self.details.new_items
    }

    /// The run's input plus the items produced so far, ready to feed a new run.
    pub fn to_input_list(&self) -> Vec<Item> {
        let mut out = self.details.input.clone();
        out.extend(
            self.details
                .new_items
                .iter()
                .filter(|i| i.is_model_input())
                .map(|i| i.item.clone()),
        );
        out
    }
}

impl RunError {
    /// What the user can do about this error, when the cause suggests it.
    pub fn hint(&self) -> Option<&'static str> {
        use agents_core::ModelError;
        Some(match &self.error {
            Error::Model(ModelError::Http { status: 401, .. }) => {
                "check the API key (OPENAI_API_KEY for OpenAI)"
            }
            Error::Model(ModelError::Http { status: 403, .. }) => {
                "the API key is not allowed to use this model or project"
            }
            Error::Model(ModelError::Http { status: 404, .. }) => {
                "check the model name and the base URL (OPENAI_BASE_URL)"
            }
            Error::Model(ModelError::Http { status: 429, .. }) => {
                "rate limited or out of quota: enable retries in ModelSettings, or wait"
            }
            Error::Model(ModelError::Connection(_)) => {
                "is the server reachable? check the base URL (OPENAI_BASE_URL)"
            }
            Error::Model(ModelError::UnknownModel(_)) => {
                "name a model the provider knows, or set RunConfig::model_provider"
            }
            Error::MaxTurnsExceeded { .. } => {
                "raise RunOptions::max_turns, or give an on_max_turns handler"
            }
            Error::Cancelled => "RunError::to_state gives a state to resume from",
            _ => return None,
        })
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the cause's text holds.
        let cause = self.error.to_string();
        let mut words = cause.split_whitespace();
        if let Some(first) = words.next() {
            f.write_str(first)?;
            for word in words {
                write!(f, " {word}")?;
            }
        }
        if !self.details.last_agent.is_empty() {
            write!(
                f,
                " (agent `{}`, after {} turn(s), {} item(s) produced)",
                self.details.last_agent,
                self.details.turns,
                self.details.new_items.len()
            )?;
        }
        if let Some(hint) = self.hint() {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.details;
        f.debug_struct("RunError")
            .field("error", &self.error)
            .field("last_agent", &d.last_agent)
            .field("turns", &d.turns)
            .field("new_items", &d.new_items.len())
            .field("usage", &d.usage)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<Error> for RunError {
    fn from(error: Error) -> Self {
        RunError::new(error)
    }
}
