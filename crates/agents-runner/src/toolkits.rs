//! Toolkit sessions of one run session: opened lazily per agent, closed together.

use std::sync::Arc;

use agents_core::{Agent, RunContext, ToolkitError, ToolkitSession};
use tokio::sync::Mutex;

type Open<C> = Vec<Arc<dyn ToolkitSession<C>>>;

/// The toolkit sessions opened so far, keyed by agent.
pub(crate) struct ToolkitSessions<C> {
    open: Mutex<Vec<(Agent<C>, Open<C>)>>,
}

impl<C: Send + Sync + 'static> ToolkitSessions<C> {
    pub(crate) fn new() -> Self {
        ToolkitSessions {
            open: Mutex::new(Vec::new()),
        }
    }

    /// The agent's toolkit sessions, opening each toolkit once. If one fails
    /// to open, those already opened for the agent are closed again.
    pub(crate) async fn for_agent(
        &self,
        agent: &Agent<C>,
        ctx: &RunContext<C>,
    ) -> Result<Open<C>, ToolkitError> {
        if agent.toolkits().is_empty() {
            return Ok(Vec::new());
        }
        let mut open = self.open.lock().await;
        if let Some((_, sessions)) = open.iter().find(|(a, _)| a.ptr_eq(agent)) {
            return Ok(sessions.clone());
        }
        let mut sessions: Open<C> = Vec::with_capacity(agent.toolkits().len());
        for toolkit in agent.toolkits() {
            match toolkit.create_session(ctx).await {
                Ok(s) => sessions.push(s),
                Err(e) => {
                    for s in sessions {
                        if let Err(close_err) = s.close().await {
                            tracing::warn!(error = %close_err, "closing a toolkit session failed");
                        }
                    }
                    return Err(e);
                }
            }
        }
        open.push((agent.clone(), sessions.clone()));
        Ok(sessions)
    }

    /// Closes every session; returns the first error.
    pub(crate) async fn close_all(&self) -> Result<(), ToolkitError> {
        let drained: Vec<_> = std::mem::take(&mut *self.open.lock().await);
        let mut first = None;
        for (_, sessions) in drained {
            for s in sessions {
                if let Err(e) = s.close().await {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Whether any session is open.
    pub(crate) fn has_open(&self) -> bool {
        self.open.try_lock().map_or(true, |o| !o.is_empty())
    }
}
