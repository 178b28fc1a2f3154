//! The [`Runner`]: entry points that run an agent once.

use std::any::Any;
use std::sync::Arc;

use agents_core::{Agent, Error, Item, RunContext};
use tracing::Instrument;

use crate::config::RunOptions;
use crate::engine::RunLoop;
use crate::error::RunError;
use crate::result::{EventSink, RunResult, RunResultStreaming};
use crate::state::RunState;
use crate::toolkits::ToolkitSessions;

/// A run's input: text, items, or the state of a run to continue.
#[derive(Clone, Debug, PartialEq)]
pub enum RunInput {
    /// A user message.
    Text(String),
    /// Items (a previous run's `to_input_list()`, say).
    Items(Vec<Item>),
    /// A paused, cancelled or interrupted run to continue (see [`RunState`]).
    State(Box<RunState>),
}

impl RunInput {
    pub(crate) fn into_items(self) -> Vec<Item> {
        match self {
            RunInput::Text(t) => vec![Item::user(t)],
            RunInput::Items(items) => items,
            RunInput::State(state) => state.data.original_input,
        }
    }
}

impl From<RunState> for RunInput {
    fn from(state: RunState) -> Self {
        RunInput::State(Box::new(state))
    }
}
impl From<Box<RunState>> for RunInput {
    fn from(state: Box<RunState>) -> Self {
        RunInput::State(state)
    }
}

impl From<&str> for RunInput {
    fn from(s: &str) -> Self {
        RunInput::Text(s.to_owned())
    }
}
impl From<String> for RunInput {
    fn from(s: String) -> Self {
        RunInput::Text(s)
    }
}
impl From<&String> for RunInput {
    fn from(s: &String) -> Self {
        RunInput::Text(s.clone())
    }
}
impl From<Vec<Item>> for RunInput {
    fn from(items: Vec<Item>) -> Self {
        RunInput::Items(items)
    }
}
impl From<Item> for RunInput {
    fn from(item: Item) -> Self {
        RunInput::Items(vec![item])
    }
}

pub(crate) fn resolve_context<C: Send + Sync + 'static>(
    context: Option<Arc<C>>,
) -> Result<Arc<C>, Error> {
    if let Some(c) = context {
        return Ok(c);
    }
    let unit: Arc<dyn Any + Send + Sync> = Arc::new(());
    unit.downcast::<C>().map_err(|_| {
        Error::UserError(format!(
            "this agent needs a context of type `{}`: set RunOptions::context",
            std::any::type_name::<C>()
        ))
    })
}

/// Closes a run's own toolkit sessions, also when the run is dropped midway.
pub(crate) struct CloseGuard<C: Send + Sync + 'static>(Option<Arc<ToolkitSessions<C>>>);

impl<C: Send + Sync + 'static> CloseGuard<C> {
    pub(crate) fn new(sessions: Arc<ToolkitSessions<C>>) -> Self {
        CloseGuard(Some(sessions))
    }

    /// Drops the guard without closing anything (the caller closes).
    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }

    pub(crate) async fn close(mut self) {
        if let Some(s) = self.0.take() {
            if let Err(e) = s.close_all().await {
                tracing::warn!(error = %e, "closing toolkit sessions after the run failed");
            }
        }
    }
}

impl<C: Send + Sync + 'static> Drop for CloseGuard<C> {
    fn drop(&mut self) {
        let Some(sessions) = self.0.take() else {
            return;
        };
        if !sessions.has_open() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if let Err(e) = sessions.close_all().await {
                        tracing::warn!(error = %e, "closing toolkit sessions of a dropped run failed");
                    }
                });
            }
            Err(_) => {
                tracing::warn!("a run was dropped outside a runtime; its toolkit sessions leak")
            }
        }
    }
}

/// Runs agents. Every entry point drives the same agent loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct Runner;

impl Runner {
    /// Runs `agent` on `input` until it produces a final output.
    ///
    /// Toolkit sessions the run opens are closed before it returns, also on error.
    pub async fn run<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> Result<RunResult<C>, RunError> {
        Self::driver(agent.clone(), input.into(), options, None, None)?.await
    }

    /// Like [`Runner::run`], on a runtime of its own. Fails with a user
    /// error when called from inside an async runtime.
    pub fn run_blocking<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> Result<RunResult<C>, RunError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(RunError::new(Error::UserError(
                "run_blocking was called inside an async runtime; use `Runner::run(..).await`"
                    .into(),
            )));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::new(Error::UserError(format!("cannot start a runtime: {e}"))))?;
        rt.block_on(Self::run(agent, input, options))
    }

    /// Runs `agent` and streams events. Poll the returned handle as a stream;
    /// when it ends, `result()` gives the settled result.
    pub fn run_streamed<C: Send + Sync + 'static>(
        agent: &Agent<C>,
        input: impl Into<RunInput>,
        options: RunOptions<C>,
    ) -> RunResultStreaming<C> {
        Self::streamed(agent.clone(), input.into(), options, None)
    }

    pub(crate) fn streamed<C: Send + Sync + 'static>(
        agent: Agent<C>,
        input: RunInput,
        mut options: RunOptions<C>,
        session: Option<(Arc<C>, Arc<ToolkitSessions<C>>)>,
    ) -> RunResultStreaming<C> {
        let cancel = options.cancel.take().unwrap_or_default();
        options.cancel = Some(cancel.clone());
        let sink = EventSink::default();
        let driver = match Self::driver(agent, input, options, session, Some(sink.clone())) {
            Ok(d) => d,
            Err(e) => Box::pin(std::future::ready(Err(e))),
        };
        RunResultStreaming::new(sink, driver, cancel)
    }

    pub(crate) fn driver<C: Send + Sync + 'static>(
        agent: Agent<C>,
        input: RunInput,
        mut options: RunOptions<C>,
        session: Option<(Arc<C>, Arc<ToolkitSessions<C>>)>,
        sink: Option<EventSink>,
    ) -> Result<
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<RunResult<C>, RunError>> + Send>>,
        RunError,
    > {
        let (context, toolkits, owned) = match session {
            Some((context, toolkits)) => {
                if options.context.is_some() {
                    return Err(RunError::new(Error::UserError(
                        "a RunSession is bound to its context; do not set RunOptions::context"
                            .into(),
                    )));
                }
                (context, toolkits, false)
            }
            None => {
                // A resumed run falls back on the context its state holds.
                let state_context = match &input {
                    RunInput::State(state) => state.context::<C>(),
                    _ => None,
                };
                let context = resolve_context(options.context.take().or(state_context))?;
                (context, Arc::new(ToolkitSessions::new()), true)
            }
        };
        let span = tracing::info_span!(
            "agent_run",
            workflow = %options.run_config.workflow_name,
            agent = %agent.name()
        );
        let ctx = RunContext::from_arc(context);
        let guard = owned.then(|| CloseGuard::new(Arc::clone(&toolkits)));
        let run = match input {
            RunInput::State(state) => RunLoop::resume(agent, *state, options, ctx, toolkits, sink)
                .map_err(RunError::new)?,
            input => RunLoop::new(agent, input.into_items(), options, ctx, toolkits, sink),
        };
        Ok(Box::pin(
            async move {
                let result = run.drive().await;
                if let Some(guard) = guard {
                    guard.close().await;
                }
                result
            }
            .instrument(span),
        ))
    }
}
