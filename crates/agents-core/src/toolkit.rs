//! Toolkits: tool sources that need a per-session instance (an MCP
//! connection, say).

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::context::RunContext;
use crate::tool::Tool;

/// A toolkit failed to open, list its tools or close.
#[derive(Clone, Debug, thiserror::Error)]
#[error("toolkit `{toolkit}`: {message}")]
pub struct ToolkitError {
    /// The toolkit's name.
    pub toolkit: String,
    /// What went wrong.
    pub message: String,
}

impl ToolkitError {
    /// An error of toolkit `toolkit`.
    pub fn new(toolkit: impl Into<String>, message: impl Into<String>) -> Self {
        ToolkitError {
            toolkit: toolkit.into(),
            message: message.into(),
        }
    }
}

/// A source of tools that opens one session per run session.
///
/// The runner calls [`Toolkit::create_session`] once per `RunSession` (or
/// once per one-off `agent.run`), reads the session's prompt and tools at
/// every turn, and closes it when the run session closes.
pub trait Toolkit<C = ()>: Send + Sync {
    /// A name for errors and logs.
    fn name(&self) -> &str;

    /// Opens a session for one user's context.
    fn create_session<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
    ) -> BoxFuture<'a, Result<Arc<dyn ToolkitSession<C>>, ToolkitError>>;
}

/// One open toolkit session.
pub trait ToolkitSession<C = ()>: Send + Sync {
    /// Text appended to the agent's instructions; re-read at every turn.
    fn system_prompt(&self) -> Option<String> {
        None
    }

    /// The tools offered now; re-read at every turn.
    fn tools(&self) -> Vec<Arc<dyn Tool<C>>>;

    /// Closes the session and releases its resources.
    fn close(&self) -> BoxFuture<'_, Result<(), ToolkitError>>;
}
