//! The Restate workflow that runs an agent: [`DurableWorker`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agents_core::Agent;
use agents_runner::steps::StepExecutor;
use agents_runner::{Always, RunInput, RunOptions, RunState, Runner, ToolApprovalItem};
use futures::future::BoxFuture;
use restate_sdk::prelude::*;
use tokio::net::TcpListener;

use crate::journal::{serve, JournalSteps, StepRetry};
use crate::replay::{run_trace_id, ReplayFilter, ReplayGate};
use crate::types::{ApprovalDecision, DurableRunInput, DurableRunOutput};

/// The name of the Restate workflow (service) a [`DurableWorker`] serves.
pub const WORKFLOW_NAME: &str = "AgentRun";

/// The state key under which a run lists the calls it waits on.
const PENDING_KEY: &str = "pending";

/// The durable-promise key of the decision on call `call_id`.
pub(crate) fn approval_key(call_id: &str) -> String {
    format!("approval:{call_id}")
}

/// The message a call gets when no decision came within the approval timeout.
pub const APPROVAL_TIMEOUT_MESSAGE: &str = "Tool execution was not approved in time.";

enum Driven {
    Finished(DurableRunOutput),
    Interrupted(Box<RunState>),
}

/// Runs the agent's loop once (until it finishes or pauses on approvals),
/// with the context type erased.
trait DriveRun: Send + Sync {
    fn drive<'a>(
        &'a self,
        run_id: &'a str,
        input: RunInput,
        max_turns: Option<u32>,
        steps: Arc<dyn StepExecutor>,
        gate: Arc<ReplayGate>,
    ) -> BoxFuture<'a, Result<Driven, String>>;
}

type OptionsFn<C> = dyn Fn(&str) -> RunOptions<C> + Send + Sync;

struct AgentDriver<C> {
    agent: Agent<C>,
    options: Arc<OptionsFn<C>>,
}

impl<C: Send + Sync + 'static> DriveRun for AgentDriver<C> {
    fn drive<'a>(
        &'a self,
        run_id: &'a str,
        input: RunInput,
        max_turns: Option<u32>,
        steps: Arc<dyn StepExecutor>,
        gate: Arc<ReplayGate>,
    ) -> BoxFuture<'a, Result<Driven, String>> {
        Box::pin(async move {
            let mut options = (self.options)(run_id);
            options.run_config.step_executor = Some(steps);
            trace_durably(&mut options.run_config, run_id, gate);
            if max_turns.is_some() {
                options = options.max_turns(max_turns);
            }
            let result = Runner::run(&self.agent, input, options)
                .await
                .map_err(|e| e.to_string())?;
            if result.is_interrupted() {
                return Ok(Driven::Interrupted(Box::new(result.to_state())));
            }
            Ok(Driven::Finished(DurableRunOutput {
                final_output: result.final_output,
                new_items: result.new_items,
                usage: result.usage,
                last_agent: result.last_agent.name().to_owned(),
                turns: result.turns,
            }))
        })
    }
}

/// Every attempt of run `run_id` traces into one trace (its id derived from
/// the run id unless the options set one), and what an attempt replays is
/// not traced again (`replay.rs`).
fn trace_durably<C>(config: &mut agents_runner::RunConfig<C>, run_id: &str, gate: Arc<ReplayGate>) {
    if config.tracing_disabled {
        return;
    }
    if config.trace_id.is_none() {
        config.trace_id = Some(run_trace_id(run_id));
    }
    let processors: agents_core::trace::Processors = match config.trace_processors.take() {
        Some(p) => Arc::from(p),
        None => agents_core::trace::trace_processors(),
    };
    config.trace_processors = Some(if processors.is_empty() {
        Vec::new()
    } else {
        vec![Arc::new(ReplayFilter::new(processors, gate))]
    });
}

/// Serves an agent as the Restate workflow `AgentRun`: each workflow id is
/// one durable run of the agent.
///
/// The run's model calls and tool calls are journaled (see the crate docs);
/// approvals wait on durable promises that [`DurableClient::approve`]
/// (or any HTTP client of the Restate ingress) resolves.
///
/// [`DurableClient::approve`]: crate::DurableClient::approve
#[derive(Clone)]
pub struct DurableWorker {
    inner: Arc<Inner>,
}

struct Inner {
    driver: Arc<dyn DriveRun>,
    non_idempotent: Arc<HashSet<String>>,
    model_retry: StepRetry,
    approval_timeout: Option<Duration>,
}

impl std::fmt::Debug for DurableWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableWorker")
            .field("non_idempotent", &self.inner.non_idempotent)
            .field("model_retry", &self.inner.model_retry)
            .field("approval_timeout", &self.inner.approval_timeout)
            .finish_non_exhaustive()
    }
}

impl DurableWorker {
    /// A worker running `agent` with default options for every run.
    pub fn new<C: Default + Send + Sync + 'static>(agent: Agent<C>) -> Self {
        Self::with_options(agent, |_| RunOptions::default())
    }

    /// A worker running `agent` with the options `options` builds for each
    /// run id (a context, hooks, a model provider, a run configuration).
    /// The run's step executor is set by the worker.
    pub fn with_options<C: Send + Sync + 'static>(
        agent: Agent<C>,
        options: impl Fn(&str) -> RunOptions<C> + Send + Sync + 'static,
    ) -> Self {
        DurableWorker {
            inner: Arc::new(Inner {
                driver: Arc::new(AgentDriver {
                    agent,
                    options: Arc::new(options),
                }),
                non_idempotent: Arc::new(HashSet::new()),
                model_retry: StepRetry::default(),
                approval_timeout: None,
            }),
        }
    }

    fn update(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                driver: Arc::clone(&shared.driver),
                non_idempotent: Arc::clone(&shared.non_idempotent),
                model_retry: shared.model_retry.clone(),
                approval_timeout: shared.approval_timeout,
            },
        };
        f(&mut inner);
        DurableWorker {
            inner: Arc::new(inner),
        }
    }

    /// Tools that must not run twice: a call of one of them that was in
    /// flight when its worker stopped is not made again; the model reads
    /// [`INTERRUPTED_CALL_MESSAGE`](crate::INTERRUPTED_CALL_MESSAGE)
    /// instead. Other tools are treated as idempotent (run again).
    pub fn non_idempotent_tools<S: Into<String>>(self, tools: impl IntoIterator<Item = S>) -> Self {
        let tools: HashSet<String> = tools.into_iter().map(Into::into).collect();
        self.update(|inner| inner.non_idempotent = Arc::new(tools))
    }

    /// How the engine retries a failed model call.
    pub fn model_retry(self, retry: StepRetry) -> Self {
        self.update(|inner| inner.model_retry = retry)
    }

    /// Rejects a call that waits longer than `timeout` for its approval
    /// (with [`APPROVAL_TIMEOUT_MESSAGE`]); the timer is the engine's.
    pub fn approval_timeout(self, timeout: Duration) -> Self {
        self.update(|inner| inner.approval_timeout = Some(timeout))
    }

    /// The Restate endpoint serving the workflow.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::builder()
            .bind(AgentRun(Arc::clone(&self.inner)))
            .build()
    }

    /// Serves the workflow over HTTP on `listener` until the process gets
    /// Ctrl-C. Register the address with Restate once
    /// ([`DurableClient::register`](crate::DurableClient::register)).
    pub async fn serve(&self, listener: TcpListener) {
        HttpServer::new(self.endpoint()).serve(listener).await;
    }

    /// Serves the workflow over HTTP on `addr` until the process gets Ctrl-C.
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener).await;
        Ok(())
    }
}

/// The workflow; its name is the service name Restate knows.
struct AgentRun(Arc<Inner>);

#[restate_sdk::workflow]
impl AgentRun {
    /// Runs the agent to its end, waiting on approvals as durable promises.
    #[handler]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        input: Json<DurableRunInput>,
    ) -> Result<Json<DurableRunOutput>, HandlerError> {
        let DurableRunInput { input, max_turns } = input.into_inner();
        let inner = &self.0;
        let run_id = ctx.key().to_owned();
        // The journal's first entry: recorded on the first attempt, replayed
        // on any later one (after a crash, or a resume after an approval).
        let fresh = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let first = Arc::clone(&fresh);
        ctx.run(move || async move {
            first.store(true, std::sync::atomic::Ordering::Release);
            Ok::<_, HandlerError>(Json(true))
        })
        .name("attempt")
        .await?;
        let gate = ReplayGate::new(!fresh.load(std::sync::atomic::Ordering::Acquire));
        let (steps, requests) = JournalSteps::new(
            Arc::clone(&gate),
            Arc::clone(&inner.non_idempotent),
            inner.model_retry.clone(),
        );
        let steps: Arc<dyn StepExecutor> = Arc::new(steps);
        let ctx = &ctx;
        let driver = async move {
            let mut next = RunInput::Items(input);
            loop {
                let driven = inner
                    .driver
                    .drive(
                        &run_id,
                        next,
                        max_turns,
                        Arc::clone(&steps),
                        Arc::clone(&gate),
                    )
                    .await
                    .map_err(TerminalError::new)?;
                let mut state = match driven {
                    Driven::Finished(output) => return Ok::<_, HandlerError>(output),
                    Driven::Interrupted(state) => state,
                };
                let items: Vec<ToolApprovalItem> = state.interruptions().to_vec();
                ctx.set(PENDING_KEY, Json(items.clone()));
                for item in &items {
                    if state.approval_status(item).is_some() {
                        // A sticky decision given for an earlier call covers it.
                        continue;
                    }
                    let decision = wait_for_decision(ctx, item, inner.approval_timeout).await?;
                    apply(&mut state, item, decision);
                }
                ctx.clear(PENDING_KEY);
                next = RunInput::State(state);
            }
        };
        tokio::select! {
            biased;
            output = driver => output.map(Json),
            () = serve(ctx, requests) => Err(TerminalError::new("the step journal closed before the run ended").into()),
        }
    }

    /// Records a decision on a call the run waits on (or will wait on).
    #[handler]
    async fn approve(
        &self,
        ctx: SharedWorkflowContext<'_>,
        decision: Json<ApprovalDecision>,
    ) -> Result<(), HandlerError> {
        let decision = decision.into_inner();
        let key = approval_key(&decision.call_id);
        ctx.resolve_promise::<Json<ApprovalDecision>>(&key, Json(decision));
        Ok(())
    }

    /// The calls the run waits on, if any.
    #[handler]
    async fn pending(
        &self,
        ctx: SharedWorkflowContext<'_>,
    ) -> Result<Json<Vec<ToolApprovalItem>>, HandlerError> {
        let pending: Option<Json<Vec<ToolApprovalItem>>> = ctx.get(PENDING_KEY).await?;
        Ok(pending.unwrap_or_else(|| Json(Vec::new())))
    }
}

async fn wait_for_decision(
    ctx: &WorkflowContext<'_>,
    item: &ToolApprovalItem,
    timeout: Option<Duration>,
) -> Result<ApprovalDecision, HandlerError> {
    let key = approval_key(&item.call_id);
    let promise = ctx.promise::<Json<ApprovalDecision>>(&key);
    let Some(timeout) = timeout else {
        return Ok(promise.await?.into_inner());
    };
    restate_sdk::select! {
        decision = promise => Ok(decision?.into_inner()),
        timer = ctx.sleep(timeout) => {
            timer?;
            Ok(ApprovalDecision::reject(&item.call_id, Some(APPROVAL_TIMEOUT_MESSAGE.to_owned())))
        }
    }
}

fn apply(state: &mut RunState, item: &ToolApprovalItem, decision: ApprovalDecision) {
    let always = Always::from(decision.always);
    if decision.approved {
        state.approve(item, always);
    } else {
        state.reject(item, decision.message, always);
    }
}
