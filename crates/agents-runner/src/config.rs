//! Run options and run-level configuration.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use agents_core::handoff::{HistoryMapper, InputFilter};
use agents_core::trace::TraceProcessor;
use std::future::Future;

use agents_core::{
    Agent, AgentModel, BoxFuture, FinalOutput, Hooks, InputGuardrail, Item, ModelProvider,
    ModelSettings, OutputGuardrail, RunContext, RunItem, Session,
};
use tokio_util::sync::CancellationToken;

/// What happens when a tool fails (error, panic, timeout, bad arguments,
/// unknown tool).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolErrorPolicy {
    /// The failure becomes the tool's output, which the model reads (default).
    #[default]
    ReturnToModel,
    /// The run ends with an error.
    Raise,
}

/// What the model is about to receive; `call_model_input_filter` may edit it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInputData {
    /// The system instructions.
    pub instructions: Option<String>,
    /// The input items.
    pub input: Vec<Item>,
}

/// What `call_model_input_filter` receives: the model input, the agent
/// about to be called and the run context (the reference SDK's
/// `CallModelData`).
#[non_exhaustive]
pub struct CallModelData<C = ()> {
    /// The instructions and input the model would receive.
    pub model_data: ModelInputData,
    /// The agent about to be called.
    pub agent: Agent<C>,
    /// The run's context.
    pub context: RunContext<C>,
}

impl<C> fmt::Debug for CallModelData<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallModelData")
            .field("model_data", &self.model_data)
            .field("agent", &self.agent.name())
            .finish_non_exhaustive()
    }
}

/// Edits instructions and input just before each model call (may be
/// async). Build one with [`call_model_input_filter`] or
/// [`call_model_input_filter_async`].
pub type CallModelInputFilter<C> = Arc<
    dyn Fn(CallModelData<C>) -> BoxFuture<'static, Result<ModelInputData, String>> + Send + Sync,
>;

/// A [`CallModelInputFilter`] from a synchronous function.
///
/// ```
/// use agents_runner::{call_model_input_filter, RunConfig};
///
/// let config: RunConfig = RunConfig {
///     call_model_input_filter: Some(call_model_input_filter(|data| {
///         let mut input = data.model_data;
///         input.instructions = Some(format!("You are {}.", data.agent.name()));
///         Ok(input)
///     })),
///     ..Default::default()
/// };
/// # let _ = config;
/// ```
pub fn call_model_input_filter<C, F>(f: F) -> CallModelInputFilter<C>
where
    F: Fn(CallModelData<C>) -> Result<ModelInputData, String> + Send + Sync + 'static,
{
    Arc::new(move |data| Box::pin(std::future::ready(f(data))))
}

/// A [`CallModelInputFilter`] from an async function.
pub fn call_model_input_filter_async<C, F, Fut>(f: F) -> CallModelInputFilter<C>
where
    F: Fn(CallModelData<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ModelInputData, String>> + Send + 'static,
{
    Arc::new(move |data| Box::pin(f(data)))
}

/// Merges session history with the new input: `(history, new_input) ->
/// input` (may be async). Build one with [`session_input_callback`] or
/// [`session_input_callback_async`].
pub type SessionInputCallback =
    Arc<dyn Fn(Vec<Item>, Vec<Item>) -> BoxFuture<'static, Vec<Item>> + Send + Sync>;

/// A [`SessionInputCallback`] from a synchronous function.
pub fn session_input_callback<F>(f: F) -> SessionInputCallback
where
    F: Fn(Vec<Item>, Vec<Item>) -> Vec<Item> + Send + Sync + 'static,
{
    Arc::new(move |history, input| Box::pin(std::future::ready(f(history, input))))
}

/// A [`SessionInputCallback`] from an async function.
pub fn session_input_callback_async<F, Fut>(f: F) -> SessionInputCallback
where
    F: Fn(Vec<Item>, Vec<Item>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<Item>> + Send + 'static,
{
    Arc::new(move |history, input| Box::pin(f(history, input)))
}

/// What a max-turns handler sees.
#[derive(Debug)]
pub struct MaxTurnsData<'a> {
    /// The limit that was hit.
    pub max_turns: u32,
    /// The agent that was running.
    pub agent: &'a str,
    /// Items produced so far.
    pub new_items: &'a [RunItem],
}

/// Turns `MaxTurnsExceeded` into a final output by returning `Some`.
pub type MaxTurnsHandler = Arc<dyn Fn(&MaxTurnsData<'_>) -> Option<FinalOutput> + Send + Sync>;

/// What a model-refusal handler sees: the model's message would have been
/// the final output, but it holds a refusal content part.
#[derive(Debug)]
#[non_exhaustive]
pub struct ModelRefusalData<'a> {
    /// The refusal text.
    pub refusal: &'a str,
    /// The agent that was running.
    pub agent: &'a str,
    /// Items produced so far (the refusing message included).
    pub new_items: &'a [RunItem],
}

/// Turns [`Error::ModelRefusal`](agents_core::Error::ModelRefusal) into a
/// final output by returning `Some`.
pub type ModelRefusalHandler =
    Arc<dyn Fn(&ModelRefusalData<'_>) -> Option<FinalOutput> + Send + Sync>;

/// What an invalid-final-output handler sees: the model's message would
/// have been the final output, but it fails the agent's output type.
#[derive(Debug)]
#[non_exhaustive]
pub struct InvalidFinalOutputData<'a> {
    /// The text of the message that failed validation.
    pub output: &'a str,
    /// Why it failed.
    pub error: &'a str,
    /// The agent that was running.
    pub agent: &'a str,
    /// Items produced so far (the offending message included).
    pub new_items: &'a [RunItem],
}

/// Turns the model-behaviour error of an output that fails the output type
/// into a final output by returning `Some`.
pub type InvalidFinalOutputHandler =
    Arc<dyn Fn(&InvalidFinalOutputData<'_>) -> Option<FinalOutput> + Send + Sync>;

/// Configuration of a whole run, shared by every agent in it.
pub struct RunConfig<C = ()> {
    /// Use this model for every agent.
    pub model: Option<AgentModel>,
    /// Resolves model names; falls back to the process default
    /// ([`set_default_model_provider`](crate::set_default_model_provider)).
    pub model_provider: Option<Arc<dyn ModelProvider>>,
    /// Settings layered over each agent's settings.
    pub model_settings: Option<ModelSettings>,
    /// Input guardrails for the starting agent, besides its own.
    pub input_guardrails: Vec<InputGuardrail<C>>,
    /// Output guardrails for the final agent, besides its own.
    pub output_guardrails: Vec<OutputGuardrail<C>>,
    /// Default input filter for handoffs that have none. A handoff's own
    /// filter wins; skipped for server-managed conversations.
    pub handoff_input_filter: Option<InputFilter>,
    /// Nest the history on handoffs that do not say otherwise
    /// (`Handoff::nest_history`): the next agent sees the prior transcript
    /// collapsed into one summary message. Only when no input filter applies;
    /// skipped for server-managed conversations. Default false.
    pub nest_handoff_history: bool,
    /// Builds the nested history for handoffs without a mapper of their own
    /// (default: `agents_core::handoff::default_history_mapper`).
    pub handoff_history_mapper: Option<HistoryMapper>,
    /// Name of the workflow: the name of the run's trace.
    pub workflow_name: String,
    /// Trace id; when unset, a new `trace_<32 hex>` id is generated as the
    /// run starts (and kept in its [`RunState`](crate::RunState), so a
    /// resumed run continues the same trace id). A run started inside a
    /// trace (a tool call's span, or [`agents_core::trace::trace`]) takes
    /// that trace's id.
    pub trace_id: Option<String>,
    /// Groups traces of one conversation.
    pub group_id: Option<String>,
    /// Extra trace metadata.
    pub trace_metadata: Vec<(String, String)>,
    /// Records no trace and no span for this run (and its nested runs).
    /// Default: the `AGENTS_DISABLE_TRACING` environment switch (or the
    /// reference SDK's `OPENAI_AGENTS_DISABLE_TRACING`), else false.
    pub tracing_disabled: bool,
    /// Records inputs and outputs in spans: model input and output items,
    /// tool arguments, outputs and error texts. Default: the OpenTelemetry
    /// GenAI switch `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`
    /// (else the reference SDK's `OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA`),
    /// else **false**. The reference SDK records content by default; this
    /// SDK follows the OpenTelemetry convention and does not.
    pub trace_include_sensitive_data: bool,
    /// Sends this run's trace to these processors instead of the
    /// process-wide ones ([`agents_core::trace::add_trace_processor`]).
    /// Ignored by a run that joins an enclosing trace.
    pub trace_processors: Option<Vec<Arc<dyn TraceProcessor>>>,
    /// What happens when a tool fails.
    pub tool_error_policy: ToolErrorPolicy,
    /// At most this many tool calls of one turn run at once (unlimited when unset).
    pub max_tool_concurrency: Option<usize>,
    /// Edits instructions and input just before each model call.
    pub call_model_input_filter: Option<CallModelInputFilter<C>>,
    /// Merges session history with the new input.
    pub session_input_callback: Option<SessionInputCallback>,
    /// How many session items to load (all when unset).
    pub session_limit: Option<usize>,
    /// Runs the model calls and tool calls (see [`crate::steps`]); a durable
    /// executor journals them in a workflow engine. Unset: they run in
    /// process.
    pub step_executor: Option<Arc<dyn crate::steps::StepExecutor>>,
}

impl<C> Default for RunConfig<C> {
    fn default() -> Self {
        RunConfig {
            model: None,
            model_provider: None,
            model_settings: None,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
            handoff_input_filter: None,
            nest_handoff_history: false,
            handoff_history_mapper: None,
            workflow_name: "Agent workflow".to_owned(),
            trace_id: None,
            group_id: None,
            trace_metadata: Vec::new(),
            tracing_disabled: crate::trace::env_defaults().0,
            trace_include_sensitive_data: crate::trace::env_defaults().1,
            trace_processors: None,
            tool_error_policy: ToolErrorPolicy::default(),
            max_tool_concurrency: None,
            call_model_input_filter: None,
            session_input_callback: None,
            session_limit: None,
            step_executor: None,
        }
    }
}

impl<C> Clone for RunConfig<C> {
    fn clone(&self) -> Self {
        RunConfig {
            model: self.model.clone(),
            model_provider: self.model_provider.clone(),
            model_settings: self.model_settings.clone(),
            input_guardrails: self.input_guardrails.clone(),
            output_guardrails: self.output_guardrails.clone(),
            handoff_input_filter: self.handoff_input_filter.clone(),
            nest_handoff_history: self.nest_handoff_history,
            handoff_history_mapper: self.handoff_history_mapper.clone(),
            workflow_name: self.workflow_name.clone(),
            trace_id: self.trace_id.clone(),
            group_id: self.group_id.clone(),
            trace_metadata: self.trace_metadata.clone(),
            tracing_disabled: self.tracing_disabled,
            trace_include_sensitive_data: self.trace_include_sensitive_data,
            trace_processors: self.trace_processors.clone(),
            tool_error_policy: self.tool_error_policy,
            max_tool_concurrency: self.max_tool_concurrency,
            call_model_input_filter: self.call_model_input_filter.clone(),
            session_input_callback: self.session_input_callback.clone(),
            session_limit: self.session_limit,
            step_executor: self.step_executor.clone(),
        }
    }
}

impl<C> fmt::Debug for RunConfig<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunConfig")
            .field("model", &self.model)
            .field("model_settings", &self.model_settings)
            .field("workflow_name", &self.workflow_name)
            .field("tracing_disabled", &self.tracing_disabled)
            .field(
                "trace_include_sensitive_data",
                &self.trace_include_sensitive_data,
            )
            .field("tool_error_policy", &self.tool_error_policy)
            .field("max_tool_concurrency", &self.max_tool_concurrency)
            .finish_non_exhaustive()
    }
}

/// How to cancel a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelMode {
    /// Stop now: the model request and running tools are dropped.
    Immediate,
    /// Finish the current turn (model call and tools), then stop.
    AfterTurn,
}

/// Cancels a run from elsewhere. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    token: CancellationToken,
    after_turn: Arc<AtomicBool>,
}

impl CancelHandle {
    /// A new handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self, mode: CancelMode) {
        match mode {
            CancelMode::Immediate => self.token.cancel(),
            CancelMode::AfterTurn => self.after_turn.store(true, Ordering::SeqCst),
        }
    }

    /// The token tools see (cancelled on immediate cancellation).
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// A handle cancelled (immediately) whenever `parent` is: a nested run's
    /// handle, tied to the outer tool call's token.
    pub(crate) fn child_of(parent: &CancellationToken) -> Self {
        CancelHandle {
            token: parent.child_token(),
            after_turn: Arc::default(),
        }
    }

    pub(crate) fn after_turn_requested(&self) -> bool {
        self.after_turn.load(Ordering::SeqCst)
    }
}

/// Options of one run.
pub struct RunOptions<C = ()> {
    /// The user context. Required unless `C` is `()`.
    pub context: Option<Arc<C>>,
    /// The turn limit; `None` means unlimited. Default 10.
    pub max_turns: Option<u32>,
    /// Turns `MaxTurnsExceeded` into a final output.
    pub max_turns_handler: Option<MaxTurnsHandler>,
    /// Turns a model refusal into a final output.
    pub model_refusal_handler: Option<ModelRefusalHandler>,
    /// Turns an output that fails the output type into a final output.
    pub invalid_final_output_handler: Option<InvalidFinalOutputHandler>,
    /// Run-level hooks.
    pub hooks: Option<Arc<dyn Hooks<C>>>,
    /// Run configuration.
    pub run_config: RunConfig<C>,
    /// Continue from this server-side response.
    pub previous_response_id: Option<String>,
    /// Chain responses server-side from the first turn on.
    pub auto_previous_response_id: bool,
    /// Server-side conversation.
    pub conversation_id: Option<String>,
    /// Conversation memory.
    pub session: Option<Arc<dyn Session>>,
    /// Cancels the run.
    pub cancel: Option<CancelHandle>,
}

/// The default turn limit.
pub const DEFAULT_MAX_TURNS: u32 = 10;

impl<C> Default for RunOptions<C> {
    fn default() -> Self {
        RunOptions {
            context: None,
            max_turns: Some(DEFAULT_MAX_TURNS),
            max_turns_handler: None,
            model_refusal_handler: None,
            invalid_final_output_handler: None,
            hooks: None,
            run_config: RunConfig::default(),
            previous_response_id: None,
            auto_previous_response_id: false,
            conversation_id: None,
            session: None,
            cancel: None,
        }
    }
}

impl<C> fmt::Debug for RunOptions<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("max_turns", &self.max_turns)
            .field("run_config", &self.run_config)
            .field("previous_response_id", &self.previous_response_id)
            .field("conversation_id", &self.conversation_id)
            .field("session", &self.session.as_ref().map(|s| s.session_id()))
            .finish_non_exhaustive()
    }
}

impl<C> RunOptions<C> {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the user context.
    pub fn context(mut self, context: C) -> Self {
        self.context = Some(Arc::new(context));
        self
    }

    /// Sets a shared user context.
    pub fn context_arc(mut self, context: Arc<C>) -> Self {
        self.context = Some(context);
        self
    }

    /// Resolves the agents' model names through `provider` in this run
    /// (sets [`RunConfig::model_provider`]), without spelling out a whole
    /// `RunConfig`.
    pub fn model_provider(mut self, provider: Arc<dyn ModelProvider>) -> Self {
        self.run_config.model_provider = Some(provider);
        self
    }

    /// Sets the turn limit (`None` = unlimited).
    pub fn max_turns(mut self, max_turns: Option<u32>) -> Self {
        self.max_turns = max_turns;
        self
    }

    /// Turns `MaxTurnsExceeded` into a final output when `f` returns `Some`.
    pub fn on_max_turns(
        mut self,
        f: impl Fn(&MaxTurnsData<'_>) -> Option<FinalOutput> + Send + Sync + 'static,
    ) -> Self {
        self.max_turns_handler = Some(Arc::new(f));
        self
    }

    /// Error handler for refusals. When the message that would be the final
    /// output has a refusal content part, the run fails with
    /// [`Error::ModelRefusal`](agents_core::Error::ModelRefusal) (carrying
    /// the refusal text and, as every run error, the items produced so far)
    /// unless `f` returns `Some` final output. That output is the run's
    /// final output (output guardrails and `on_agent_end` still run); no
    /// item is added. For an agent with an output type it must pass the
    /// output type, as for [`on_invalid_final_output`](Self::on_invalid_final_output).
    pub fn on_model_refusal(
        mut self,
        f: impl Fn(&ModelRefusalData<'_>) -> Option<FinalOutput> + Send + Sync + 'static,
    ) -> Self {
        self.model_refusal_handler = Some(Arc::new(f));
        self
    }

    /// Error handler for final outputs that fail the agent's output type.
    /// Such an output ends the run with
    /// [`Error::ModelBehavior`](agents_core::Error::ModelBehavior) unless `f`
    /// returns `Some` final output. A [`FinalOutput::Json`] returned for an
    /// agent with an output type must itself pass the output type, else the
    /// run fails with a user error. Output guardrails and `on_agent_end`
    /// still run; no item is added.
    pub fn on_invalid_final_output(
        mut self,
        f: impl Fn(&InvalidFinalOutputData<'_>) -> Option<FinalOutput> + Send + Sync + 'static,
    ) -> Self {
        self.invalid_final_output_handler = Some(Arc::new(f));
        self
    }

    /// Sets run-level hooks.
    pub fn hooks(mut self, hooks: impl Hooks<C> + 'static) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Sets the run configuration.
    pub fn run_config(mut self, config: RunConfig<C>) -> Self {
        self.run_config = config;
        self
    }

    /// Continues from a server-side response.
    pub fn previous_response_id(mut self, id: impl Into<String>) -> Self {
        self.previous_response_id = Some(id.into());
        self
    }

    /// Chains responses server-side from the first turn on.
    pub fn auto_previous_response_id(mut self, on: bool) -> Self {
        self.auto_previous_response_id = on;
        self
    }

    /// Uses a server-side conversation.
    pub fn conversation_id(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }

    /// Uses conversation memory.
    pub fn session(mut self, session: Arc<dyn Session>) -> Self {
        self.session = Some(session);
        self
    }

    /// Lets `handle` cancel the run.
    pub fn cancel_handle(mut self, handle: CancelHandle) -> Self {
        self.cancel = Some(handle);
        self
    }
}
