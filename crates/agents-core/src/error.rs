//! The error type of the SDK's core.

use std::time::Duration;

use crate::guardrail::{InputGuardrailResult, OutputGuardrailResult, ToolGuardrailResult};
use crate::model::ModelError;
use crate::session::SessionError;
use crate::toolkit::ToolkitError;

/// Everything that can end a run.
///
/// The runner wraps this in its run error together with the items produced
/// so far, so no work is lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The run used more turns than allowed.
    #[error("max turns ({max_turns}) exceeded")]
    MaxTurnsExceeded {
        /// The limit that was exceeded.
        max_turns: u32,
    },
    /// The model did something the run cannot accept (unknown tool under the
    /// raise policy, output that fails the output type, ...).
    #[error("model behaviour error: {0}")]
    ModelBehavior(String),
    /// The model refused to answer: its message has a refusal content part
    /// and no `model_refusal` error handler gave a final output instead.
    #[error("the model refused: {refusal}")]
    ModelRefusal {
        /// The refusal text the model gave.
        refusal: String,
    },
    /// The SDK was used wrongly (conflicting options, bad configuration).
    #[error("user error: {0}")]
    UserError(String),
    /// An input guardrail tripped.
    #[error("input guardrail `{}` tripped", .0.guardrail)]
    InputGuardrailTripwire(Box<InputGuardrailResult>),
    /// An output guardrail tripped.
    #[error("output guardrail `{}` tripped", .0.guardrail)]
    OutputGuardrailTripwire(Box<OutputGuardrailResult>),
    /// A tool guardrail answered "raise": the run stops at that tool call,
    /// whatever the tool error policy.
    /// The result names the guardrail, the tool and the call; its output
    /// holds the message ([`ToolGuardrailOutput::message`](crate::guardrail::ToolGuardrailOutput::message))
    /// and the reported `output_info`.
    #[error(
        "tool guardrail `{}` tripped on tool `{}`: {}",
        .0.guardrail,
        .0.tool,
        .0.output.message().unwrap_or_default()
    )]
    ToolGuardrailTripwire(Box<ToolGuardrailResult>),
    /// A tool failed and the run's tool error policy is to raise.
    #[error("tool `{tool}` failed: {message}")]
    Tool {
        /// The tool name.
        tool: String,
        /// What went wrong.
        message: String,
    },
    /// A tool took longer than its timeout and the policy is to raise.
    #[error("tool `{tool}` timed out after {timeout:?}")]
    ToolTimeout {
        /// The tool name.
        tool: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The session store failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A toolkit failed to open, list tools or close.
    #[error(transparent)]
    Toolkit(#[from] ToolkitError),
    /// A lifecycle hook failed.
    #[error("hook failed: {0}")]
    Hook(String),
    /// The run was cancelled.
    #[error("run cancelled")]
    Cancelled,
}
