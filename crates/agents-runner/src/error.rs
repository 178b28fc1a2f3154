//! The run error: what went wrong plus everything produced so far.

use std::fmt;

use agents_core::{Error, InputGuardrailResult, Item, ModelResponse, RunItem, Usage};

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
    /// Input guardrail results so far.
    pub input_guardrail_results: Vec<InputGuardrailResult>,
    /// Turns started (model calls made or attempted).
    pub turns: u32,
}

/// A failed run. Carries the cause and the work done so far, so nothing is lost.
#[derive(Debug)]
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

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        if !self.details.last_agent.is_empty() {
            write!(
                f,
                " (agent `{}`, after {} turn(s), {} item(s) produced)",
                self.details.last_agent,
                self.details.turns,
                self.details.new_items.len()
            )?;
        }
        Ok(())
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
