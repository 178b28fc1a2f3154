//! The loop's steps, journaled as Restate `run` entries.
//!
//! The loop runs inside a Restate workflow handler, but its steps reach the
//! handler's context through a channel: the context borrows the handler's
//! invocation, while a [`StepExecutor`] in the run's configuration must own
//! everything it holds. [`JournalSteps`] is the loop's side; [`serve`] the
//! handler's side, which opens one `ctx.run` entry per step in the order the
//! steps arrive and answers each step with the journaled value.
//!
//! On a live execution Restate calls the entry's closure: the closure hands
//! the step a result channel, the step runs the loop's future, and the value
//! it sends back is journaled. On a replay the closure is not called and the
//! recorded value comes back instead, so the model or tool is not called
//! again.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use agents_core::{Error, ModelError, ModelResponse, ToolError, ToolOutput};
use agents_runner::steps::{ModelStep, StepExecutor, StepId, ToolStep};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use restate_sdk::context::{ContextSideEffects, RunFuture, RunRetryPolicy, WorkflowContext};
use restate_sdk::errors::{HandlerError, TerminalError};
use restate_sdk::serde::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::replay::ReplayGate;

tokio::task_local! {
    /// Set while a step's own future runs: steps of a nested run (an agent
    /// used as a tool) are part of the enclosing step and run in process.
    static IN_STEP: ();
}

/// The terminal-error code of a model step that failed after the engine's
/// retries.
const MODEL_FAILED: u16 = 502;
/// The terminal-error code of a step that failed for a reason retries cannot
/// fix (a configuration error, say).
const STEP_FAILED: u16 = 422;

/// The output the model reads for a call of a non-idempotent tool that was
/// in flight when its worker stopped: the call is not made again.
pub const INTERRUPTED_CALL_MESSAGE: &str = "the call was interrupted by a worker restart; \
     the tool is not idempotent, so it was not run again and may or may not have taken effect";

/// How the engine retries a failed model call (Restate's `run` retry policy).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StepRetry {
    /// The delay before the first retry.
    pub initial_delay: Duration,
    /// The longest delay between two retries.
    pub max_delay: Duration,
    /// At most this many attempts (the first included); then the run fails.
    pub max_attempts: u32,
}

impl Default for StepRetry {
    fn default() -> Self {
        StepRetry {
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_attempts: 5,
        }
    }
}

impl StepRetry {
    /// A policy of `max_attempts` attempts, backing off from
    /// `initial_delay` (doubling) up to `max_delay`.
    pub fn new(initial_delay: Duration, max_delay: Duration, max_attempts: u32) -> Self {
        StepRetry {
            initial_delay,
            max_delay,
            max_attempts: max_attempts.max(1),
        }
    }

    fn policy(&self) -> RunRetryPolicy {
        RunRetryPolicy::new()
            .initial_delay(self.initial_delay)
            .exponentiation_factor(2.0)
            .max_delay(self.max_delay)
            .max_attempts(self.max_attempts)
    }
}

/// A tool step's journaled outcome.
#[derive(Serialize, Deserialize)]
enum ToolRecord {
    Ok(ToolOutput),
    Err(ToolErrorRecord),
}

/// A [`ToolError`] as journaled.
#[derive(Serialize, Deserialize)]
enum ToolErrorRecord {
    InvalidArguments(String),
    Failed(String),
    TimeoutMillis(u64),
    Panicked(String),
    NotFound(String),
    Cancelled,
}

impl From<&ToolError> for ToolErrorRecord {
    fn from(e: &ToolError) -> Self {
        match e {
            ToolError::InvalidArguments(m) => ToolErrorRecord::InvalidArguments(m.clone()),
            ToolError::Failed(m) => ToolErrorRecord::Failed(m.clone()),
            ToolError::Timeout(d) => {
                ToolErrorRecord::TimeoutMillis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
            ToolError::Panicked(m) => ToolErrorRecord::Panicked(m.clone()),
            ToolError::NotFound(m) => ToolErrorRecord::NotFound(m.clone()),
            ToolError::Cancelled => ToolErrorRecord::Cancelled,
            // A variant added later: kept as its message.
            #[allow(unreachable_patterns)]
            other => ToolErrorRecord::Failed(other.to_string()),
        }
    }
}

impl From<ToolErrorRecord> for ToolError {
    fn from(e: ToolErrorRecord) -> Self {
        match e {
            ToolErrorRecord::InvalidArguments(m) => ToolError::InvalidArguments(m),
            ToolErrorRecord::Failed(m) => ToolError::Failed(m),
            ToolErrorRecord::TimeoutMillis(ms) => ToolError::Timeout(Duration::from_millis(ms)),
            ToolErrorRecord::Panicked(m) => ToolError::Panicked(m),
            ToolErrorRecord::NotFound(m) => ToolError::NotFound(m),
            ToolErrorRecord::Cancelled => ToolError::Cancelled,
        }
    }
}

/// Why a step's live execution produced no value to journal.
enum StepFailure {
    /// The engine retries the step (its retry policy decides how often).
    Retryable(String),
    /// The step fails for good; the failure is journaled.
    Terminal(String),
}

/// A step on its way to the handler.
pub(crate) struct StepRequest {
    name: String,
    retry: Option<RunRetryPolicy>,
    /// Restate called the entry's closure: here is where to send the value.
    live: oneshot::Sender<oneshot::Sender<Result<Value, StepFailure>>>,
    /// The journaled value (recorded now, or replayed).
    reply: oneshot::Sender<Result<Value, TerminalError>>,
}

/// The loop's side: a [`StepExecutor`] whose steps are journaled by the
/// workflow handler that [`serve`]s the other end of its channel.
pub(crate) struct JournalSteps {
    tx: mpsc::UnboundedSender<StepRequest>,
    gate: Arc<ReplayGate>,
    non_idempotent: Arc<HashSet<String>>,
    model_retry: StepRetry,
}

impl JournalSteps {
    pub(crate) fn new(
        gate: Arc<ReplayGate>,
        non_idempotent: Arc<HashSet<String>>,
        model_retry: StepRetry,
    ) -> (Self, mpsc::UnboundedReceiver<StepRequest>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            JournalSteps {
                tx,
                gate,
                non_idempotent,
                model_retry,
            },
            rx,
        )
    }

    /// Journals one step: runs `work` if Restate asks for a live execution,
    /// else returns the recorded value. The bool says whether `work` ran.
    async fn journal<F>(
        &self,
        name: String,
        retry: Option<RunRetryPolicy>,
        work: F,
    ) -> Result<(Value, bool), TerminalError>
    where
        F: std::future::Future<Output = Result<Value, StepFailure>>,
    {
        let (live_tx, live_rx) = oneshot::channel();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let request = StepRequest {
            name,
            retry,
            live: live_tx,
            reply: reply_tx,
        };
        if self.tx.send(request).is_err() {
            // The handler is gone (the invocation ended): nothing to answer.
            return futures::future::pending().await;
        }
        let mut ran = false;
        let reply = tokio::select! {
            biased;
            reply = &mut reply_rx => reply,
            live = live_rx => match live {
                Ok(result_tx) => {
                    ran = true;
                    self.gate.live();
                    let value = IN_STEP.scope((), work).await;
                    // The handler may be gone; then the reply never comes.
                    let _ = result_tx.send(value);
                    reply_rx.await
                }
                Err(_) => reply_rx.await,
            },
        };
        match reply {
            Ok(result) => result.map(|v| (v, ran)),
            // The handler stopped (the attempt failed or the invocation
            // suspended): the run's future is dropped with it.
            Err(_) => futures::future::pending().await,
        }
    }
}

fn in_step() -> bool {
    IN_STEP.try_with(|_| ()).is_ok()
}

fn decode_error(what: &str, e: serde_json::Error) -> Error {
    Error::UserError(format!(
        "the journaled {what} cannot be read by this worker (a deploy changed its type?): {e}"
    ))
}

impl StepExecutor for JournalSteps {
    fn model<'a>(&'a self, id: StepId, call: ModelStep<'a>) -> ModelStep<'a> {
        if in_step() {
            return call;
        }
        Box::pin(async move {
            let work = async move {
                match call.await {
                    Ok(response) => serde_json::to_value(&response)
                        .map_err(|e| StepFailure::Terminal(e.to_string())),
                    Err(Error::Model(e)) => Err(StepFailure::Retryable(e.to_string())),
                    Err(other) => Err(StepFailure::Terminal(other.to_string())),
                }
            };
            let retry = Some(self.model_retry.policy());
            match self.journal(id.to_string(), retry, work).await {
                Ok((value, _)) => serde_json::from_value::<ModelResponse>(value)
                    .map_err(|e| decode_error("model response", e)),
                Err(failure) if failure.code() == MODEL_FAILED => {
                    Err(Error::Model(ModelError::Connection(format!(
                        "the model call failed after the engine's retries: {}",
                        failure.message()
                    ))))
                }
                Err(failure) => Err(Error::UserError(failure.message().to_owned())),
            }
        })
    }

    fn tool<'a>(&'a self, id: StepId, call: ToolStep<'a>) -> ToolStep<'a> {
        if in_step() {
            return call;
        }
        Box::pin(async move {
            let run = |outcome: Result<ToolOutput, ToolError>| {
                let record = match &outcome {
                    Ok(output) => ToolRecord::Ok(output.clone()),
                    Err(e) => ToolRecord::Err(e.into()),
                };
                serde_json::to_value(&record).map_err(|e| StepFailure::Terminal(e.to_string()))
            };
            let name = id.to_string();
            let tool = match &id {
                StepId::Tool { tool, .. } => tool.as_str(),
                _ => "",
            };
            let recorded = if self.non_idempotent.contains(tool) {
                // A start marker first: if it was journaled before but the
                // result was not, the call was in flight at a crash.
                let marker = self
                    .journal(format!("{name}:start"), None, async {
                        Ok(Value::Bool(true))
                    })
                    .await;
                let restarted = matches!(marker, Ok((_, false)));
                if restarted {
                    let interrupted = Err(ToolError::Failed(INTERRUPTED_CALL_MESSAGE.to_owned()));
                    self.journal(name, None, async move { run(interrupted) })
                        .await
                } else {
                    self.journal(name, None, async move { run(call.await) })
                        .await
                }
            } else {
                self.journal(name, None, async move { run(call.await) })
                    .await
            };
            let (value, _) = recorded.map_err(|f| ToolError::Failed(f.message().to_owned()))?;
            match serde_json::from_value::<ToolRecord>(value) {
                Ok(ToolRecord::Ok(output)) => Ok(output),
                Ok(ToolRecord::Err(e)) => Err(e.into()),
                Err(e) => Err(ToolError::Failed(
                    decode_error("tool output", e).to_string(),
                )),
            }
        })
    }
}

/// The handler's side: opens a `ctx.run` entry for every step, in arrival
/// order, and runs them concurrently. Returns when every [`JournalSteps`]
/// of the channel is dropped and the last step answered.
pub(crate) async fn serve(ctx: &WorkflowContext<'_>, mut rx: mpsc::UnboundedReceiver<StepRequest>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            request = rx.recv(), if open => match request {
                Some(request) => running.push(run_step(ctx, request)),
                None => open = false,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
            else => return,
        }
    }
}

async fn run_step(ctx: &WorkflowContext<'_>, request: StepRequest) {
    let StepRequest {
        name,
        retry,
        live,
        reply,
    } = request;
    let step = ctx
        .run(move || async move {
            let (result_tx, result_rx) = oneshot::channel();
            if live.send(result_tx).is_err() {
                return Err(HandlerError::from(StepGone));
            }
            match result_rx.await {
                Ok(Ok(value)) => Ok(Json(value)),
                Ok(Err(StepFailure::Retryable(message))) => {
                    Err(HandlerError::from(StepRetryable(message)))
                }
                Ok(Err(StepFailure::Terminal(message))) => {
                    Err(TerminalError::new_with_code(STEP_FAILED, message).into())
                }
                Err(_) => Err(HandlerError::from(StepGone)),
            }
        })
        .name(name);
    let step = match retry {
        Some(policy) => step.retry_policy(policy),
        None => step,
    };
    let result = step.await.map(Json::into_inner).map_err(|e| {
        if e.code() == STEP_FAILED {
            e
        } else {
            TerminalError::new_with_code(MODEL_FAILED, e.message().to_owned())
        }
    });
    let _ = reply.send(result);
}

/// The step's future was dropped before it answered (the run stopped).
#[derive(Debug, thiserror::Error)]
#[error("the step was dropped before it answered")]
struct StepGone;

/// A model call failed in a way the engine retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct StepRetryable(String);
