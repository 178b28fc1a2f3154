//! What goes into and out of a durable run.

use agents_core::{FinalOutput, Item, RunItem, Usage};
use serde::{Deserialize, Serialize};

/// The input of a durable run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DurableRunInput {
    /// The run's input items.
    pub input: Vec<Item>,
    /// The run's turn limit (the worker's run options decide when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
}

impl DurableRunInput {
    /// A run whose input is one user message.
    pub fn text(text: impl Into<String>) -> Self {
        DurableRunInput {
            input: vec![Item::user(text.into())],
            max_turns: None,
        }
    }

    /// A run whose input is `items`.
    pub fn items(items: Vec<Item>) -> Self {
        DurableRunInput {
            input: items,
            max_turns: None,
        }
    }

    /// Sets the run's turn limit.
    pub fn max_turns(mut self, max_turns: u32) -> Self {
        self.max_turns = Some(max_turns);
        self
    }
}

/// The result of a finished durable run, as the engine stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DurableRunOutput {
    /// The final output.
    pub final_output: Option<FinalOutput>,
    /// The items the run produced, in order.
    pub new_items: Vec<RunItem>,
    /// Usage of the run.
    pub usage: Usage,
    /// The name of the agent that produced the final output.
    pub last_agent: String,
    /// The number of turns (model calls).
    pub turns: u32,
}

impl DurableRunOutput {
    /// The final output as text (empty when there is none).
    pub fn final_output_text(&self) -> String {
        self.final_output
            .as_ref()
            .map(FinalOutput::to_text)
            .unwrap_or_default()
    }
}

/// A decision on a call that waits for approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalDecision {
    /// The call's id ([`ToolApprovalItem::call_id`](agents_runner::ToolApprovalItem)).
    pub call_id: String,
    /// Approved (`true`) or rejected.
    pub approved: bool,
    /// The decision also covers later calls of the same tool in this run.
    #[serde(default)]
    pub always: bool,
    /// For a rejection: what the model reads (a default text when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ApprovalDecision {
    /// Approves the call `call_id`.
    pub fn approve(call_id: impl Into<String>) -> Self {
        ApprovalDecision {
            call_id: call_id.into(),
            approved: true,
            always: false,
            message: None,
        }
    }

    /// Rejects the call `call_id`, optionally telling the model why.
    pub fn reject(call_id: impl Into<String>, message: Option<String>) -> Self {
        ApprovalDecision {
            call_id: call_id.into(),
            approved: false,
            always: false,
            message,
        }
    }

    /// Makes the decision sticky: later calls of the same tool get it too.
    pub fn always(mut self) -> Self {
        self.always = true;
        self
    }
}
