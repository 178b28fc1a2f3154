//! [`RunSession`]: many runs bound to one user's context, sharing toolkit
//! sessions; and [`AgentRunExt`], the `agent.run(..)` shorthands.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use agents_core::{Agent, Error, RunContext, ToolkitError};

use crate::config::RunOptions;
use crate::error::RunError;
use crate::result::{RunResult, RunResultStreaming};
use crate::runner::{CloseGuard, RunInput, Runner};
use crate::toolkits::ToolkitSessions;

/// An agent bound to one user's context, with its toolkit sessions (an MCP
/// connection, say) open across runs. Call [`RunSession::run`] as often as
/// needed, then [`RunSession::close`].
///
/// Dropping a session without closing it closes its toolkit sessions in the
/// background (when a Tokio runtime is available).
pub struct RunSession<C: Send + Sync + 'static = ()> {
    agent: Agent<C>,
    context: Arc<C>,
    toolkits: Arc<ToolkitSessions<C>>,
    guard: Option<CloseGuard<C>>,
}

impl<C: Send + Sync + 'static> fmt::Debug for RunSession<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunSession")
            .field("agent", &self.agent.name())
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> RunSession<C> {
    /// Opens a session: the agent's toolkit sessions are created now (and
    /// closed again if one fails to open).
    pub async fn open(agent: &Agent<C>, context: Arc<C>) -> Result<Self, RunError> {
        let toolkits = Arc::new(ToolkitSessions::new());
        let ctx = RunContext::from_arc(Arc::clone(&context));
        toolkits
            .for_agent(agent, &ctx)
            .await
            .map_err(|e| RunError::new(Error::Toolkit(e)))?;
        Ok(RunSession {
            agent: agent.clone(),
            context,
            guard: Some(CloseGuard::new(Arc::clone(&toolkits))),
            toolkits,
        })
    }

    /// The agent.
    pub fn agent(&self) -> &Agent<C> {
        &self.agent
    }

    /// The user context.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// Runs the agent once within this session.
    pub async fn run(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> Result<RunResult<C>, RunError> {
        Runner::driver(
            self.agent.clone(),
            input.into(),
            options,
            Some((Arc::clone(&self.context), Arc::clone(&self.toolkits))),
            None,
        )?
        .await
    }

    /// Runs the agent once within this session, streaming events.
    pub fn run_stream(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C> {
        Runner::streamed(
            self.agent.clone(),
            input.into(),
            options,
            Some((Arc::clone(&self.context), Arc::clone(&self.toolkits))),
        )
    }

    /// Closes every toolkit session.
    pub async fn close(mut self) -> Result<(), ToolkitError> {
        if let Some(guard) = self.guard.take() {
            guard.disarm();
        }
        self.toolkits.close_all().await
    }
}

/// `agent.run(..)`, `agent.run_stream(..)` and `agent.create_session(..)`.
pub trait AgentRunExt<C: Send + Sync + 'static> {
    /// Runs once; toolkit sessions are opened for this run and always closed.
    fn run(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> impl Future<Output = Result<RunResult<C>, RunError>> + Send;

    /// Runs once, streaming; toolkit sessions are closed when the run ends
    /// or the stream is dropped.
    fn run_stream(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C>;

    /// Opens a [`RunSession`] bound to `context`.
    fn create_session(
        &self,
        context: C,
    ) -> impl Future<Output = Result<RunSession<C>, RunError>> + Send;
}

impl<C: Send + Sync + 'static> AgentRunExt<C> for Agent<C> {
    fn run(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> impl Future<Output = Result<RunResult<C>, RunError>> + Send {
        let driver = Runner::driver(self.clone(), input.into(), options, None, None);
        async move { driver?.await }
    }

    fn run_stream(
        &self,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C> {
        Runner::run_streamed(self, input, options)
    }

    fn create_session(
        &self,
        context: C,
    ) -> impl Future<Output = Result<RunSession<C>, RunError>> + Send {
        let agent = self.clone();
        async move { RunSession::open(&agent, Arc::new(context)).await }
    }
}
