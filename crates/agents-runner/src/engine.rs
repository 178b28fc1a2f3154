//! The agent loop: one state machine, stepped one turn at a time, driving
//! both the plain and the streamed run.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use agents_core::agent::{ToolCallResult, ToolsToFinalOutput};
use agents_core::guardrail::{
    ToolGuardrailBehavior, ToolGuardrailOutput, ToolGuardrailResult, ToolInputGuardrailData,
    ToolOutputGuardrailData,
};
use agents_core::handoff::{default_history_mapper, HistoryMapper, InputFilter};
use agents_core::model::Prompt;
use agents_core::{
    Agent, AgentModel, Error, FinalOutput, FunctionCall, GuardrailOutput, HandoffInputData, Hooks,
    InputGuardrailResult, Item, Model, ModelError, ModelProvider, ModelRequest, ModelResponse,
    ModelSettings, ModelStreamEvent, OutputGuardrailResult, OutputType, Role, RunContext, RunItem,
    RunItemKind, Tool, ToolContext, ToolError, ToolOutput, ToolSpec,
};
use futures::future::{join_all, BoxFuture};
use futures::{FutureExt, StreamExt};
use serde_json::Value;

use crate::agent_tool::RunScope;
use crate::config::{
    CallModelData, CancelHandle, InvalidFinalOutputData, MaxTurnsData, ModelInputData,
    ModelRefusalData, RunOptions, ToolErrorPolicy,
};
use crate::error::{RunError, RunErrorDetails};
use crate::result::{EventSink, RunResult, RunStreamEvent};
use crate::toolkits::ToolkitSessions;
use crate::trace::{
    generation_end, guardrail_end, guardrail_span, CurrentSpan, GuardrailKind, RunTracer,
};
use crate::usage::UsageBreakdown;

mod hitl;
mod spans;
pub(crate) use hitl::{NestedRuns, NESTED_INTERRUPTED_OUTPUT};

/// The output sent to every handoff call after the first one in a turn.
pub const MULTIPLE_HANDOFFS_MESSAGE: &str = "Multiple handoffs detected, ignoring this one.";

static DEFAULT_PROVIDER: RwLock<Option<Arc<dyn ModelProvider>>> = RwLock::new(None);

/// Sets the model provider used when a run configures none.
pub fn set_default_model_provider(provider: Arc<dyn ModelProvider>) {
    *DEFAULT_PROVIDER
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(provider);
}

/// The process-wide default model provider, if one was set.
pub fn default_model_provider() -> Option<Arc<dyn ModelProvider>> {
    DEFAULT_PROVIDER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

#[derive(Clone, Copy)]
enum HookEvent<'a, C> {
    AgentStart(&'a Agent<C>),
    AgentEnd(&'a Agent<C>, &'a FinalOutput),
    LlmStart(&'a Agent<C>, Option<&'a str>, &'a [Item]),
    LlmEnd(&'a Agent<C>, &'a ModelResponse),
    ToolStart(&'a Agent<C>, &'a FunctionCall),
    ToolEnd(&'a Agent<C>, &'a FunctionCall, &'a ToolOutput),
    Handoff(&'a Agent<C>, &'a Agent<C>),
}

enum TurnOutcome {
    Continue,
    Final(FinalOutput),
    /// Calls wait for approval: the run pauses (see `hitl`).
    Interrupted,
}

/// How the next agent's input is edited after a handoff.
enum HistoryEdit {
    /// An input filter (the handoff's own, else the run's default).
    Filter(InputFilter),
    /// Nested history, with the handoff's or the run's mapper (else the default).
    Nest(Option<HistoryMapper>),
}

/// What the model sees this turn, resolved before the call.
struct TurnSetup<C> {
    agent: Agent<C>,
    roster: Vec<Arc<dyn Tool<C>>>,
    /// The enabled handoffs, as positions in `agent.handoffs()`.
    handoffs: Vec<usize>,
    instructions: Option<String>,
    settings: ModelSettings,
    prompt: Option<Prompt>,
    model: Arc<dyn Model>,
    /// Input guardrails that run alongside the model call (first turn).
    parallel_guardrails: Vec<agents_core::InputGuardrail<C>>,
    /// What the input guardrails check.
    guard_input: Arc<[Item]>,
}

/// Tool guardrail results of one turn's calls, in call order.
#[derive(Default)]
struct ToolGuardrailRecords {
    input: Vec<ToolGuardrailResult>,
    output: Vec<ToolGuardrailResult>,
}

/// The run's state machine. [`RunLoop::step`] runs one turn.
pub(crate) struct RunLoop<C> {
    opts: RunOptions<C>,
    ctx: RunContext<C>,
    toolkits: Arc<ToolkitSessions<C>>,
    sink: Option<EventSink>,
    cancel: CancelHandle,
    starting_agent: Agent<C>,
    agent: Agent<C>,
    agent_started: bool,
    turn: u32,
    input: Vec<Item>,
    transcript: Vec<Item>,
    sent_upto: usize,
    server_managed: bool,
    previous_response_id: Option<String>,
    new_items: Vec<RunItem>,
    raw_responses: Vec<ModelResponse>,
    tools_used: HashSet<String>,
    input_guardrail_results: Vec<InputGuardrailResult>,
    output_guardrail_results: Vec<OutputGuardrailResult>,
    tool_input_guardrail_results: Vec<ToolGuardrailResult>,
    tool_output_guardrail_results: Vec<ToolGuardrailResult>,
    /// What tools see as [`ToolContext::run_data`]: a [`RunScope`], built
    /// when the first tool runs.
    run_data: OnceLock<Arc<dyn Any + Send + Sync>>,
    /// Approvals, interruptions and resumption (see `hitl`).
    hitl: hitl::Hitl,
    /// The run's trace and open agent span (see `crate::trace`).
    tracer: RunTracer,
    /// Usage per agent and per model (nested runs add theirs).
    usage_by: Arc<UsageBreakdown>,
}

impl<C: Send + Sync + 'static> RunLoop<C> {
    pub(crate) fn new(
        agent: Agent<C>,
        input: Vec<Item>,
        mut opts: RunOptions<C>,
        ctx: RunContext<C>,
        toolkits: Arc<ToolkitSessions<C>>,
        sink: Option<EventSink>,
    ) -> Self {
        let cancel = opts.cancel.take().unwrap_or_default();
        let server_managed = opts.previous_response_id.is_some()
            || opts.conversation_id.is_some()
            || opts.auto_previous_response_id;
        RunLoop {
            previous_response_id: opts.previous_response_id.clone(),
            opts,
            ctx,
            toolkits,
            sink,
            cancel,
            starting_agent: agent.clone(),
            agent,
            agent_started: false,
            turn: 0,
            input,
            transcript: Vec::new(),
            sent_upto: 0,
            server_managed,
            new_items: Vec::new(),
            raw_responses: Vec::new(),
            tools_used: HashSet::new(),
            input_guardrail_results: Vec::new(),
            output_guardrail_results: Vec::new(),
            tool_input_guardrail_results: Vec::new(),
            tool_output_guardrail_results: Vec::new(),
            run_data: OnceLock::new(),
            hitl: hitl::Hitl::default(),
            tracer: RunTracer::default(),
            usage_by: Arc::default(),
        }
    }

    /// Runs to the end and settles the result.
    pub(crate) async fn drive(mut self) -> Result<RunResult<C>, RunError> {
        let token = self.cancel.token().clone();
        self.tracer = RunTracer::start(&mut self.opts.run_config);
        let outcome = tokio::select! {
            biased;
            _ = token.cancelled() => Err(Error::Cancelled),
            r = self.drive_inner() => r,
        };
        self.tracer.finish(outcome.as_ref().err());
        match outcome {
            Ok(output) => Ok(self.into_result(output)),
            Err(error) => Err(self.into_error(error)),
        }
    }

    /// Runs to a final output, or to `None` when the run pauses on approvals.
    async fn drive_inner(&mut self) -> Result<Option<FinalOutput>, Error> {
        self.prepare().await?;
        loop {
            if self.turn > 0 && self.cancel.after_turn_requested() {
                return Err(Error::Cancelled);
            }
            let span = tracing::debug_span!(
                "turn",
                turn = self.turn + 1,
                agent = %self.agent.name()
            );
            match tracing::Instrument::instrument(self.step(), span).await? {
                TurnOutcome::Final(output) => {
                    self.end_turn();
                    self.finish(&output).await?;
                    return Ok(Some(output));
                }
                TurnOutcome::Interrupted => return Ok(None),
                TurnOutcome::Continue => self.end_turn(),
            }
        }
    }

    async fn prepare(&mut self) -> Result<(), Error> {
        if self.prepare_resumed()? {
            return Ok(());
        }
        if let Some(session) = &self.opts.session {
            if self.server_managed {
                return Err(Error::UserError(
                    "a session cannot be combined with previous_response_id, \
                     auto_previous_response_id or conversation_id"
                        .into(),
                ));
            }
            let history = session
                .get_items(self.opts.run_config.session_limit)
                .await?;
            crate::state_store::save_to_session(&**session, &self.input).await?;
            self.transcript = match &self.opts.run_config.session_input_callback {
                Some(merge) => merge(history, self.input.clone()).await,
                None => {
                    let mut t = history;
                    t.extend_from_slice(&self.input);
                    t
                }
            };
        } else {
            self.transcript = self.input.clone();
        }
        self.emit(RunStreamEvent::AgentUpdated {
            agent: self.agent.name().to_owned(),
        });
        Ok(())
    }

    fn emit(&self, event: RunStreamEvent) {
        if let Some(sink) = &self.sink {
            sink.push(event);
        }
    }

    fn push_item(&mut self, kind: RunItemKind, item: Item, agent: &Arc<str>) {
        let run_item = RunItem::new(Arc::clone(agent), kind, item);
        if run_item.is_model_input() {
            self.transcript.push(run_item.item.clone());
        }
        if let Some(sink) = &self.sink {
            sink.push(RunStreamEvent::RunItem {
                name: run_item.event_name(),
                item: run_item.clone(),
            });
        }
        self.new_items.push(run_item);
    }

    fn resolve_model(&self, agent: &Agent<C>) -> Result<Arc<dyn Model>, Error> {
        let chosen = self.opts.run_config.model.as_ref().or(agent.model());
        if let Some(AgentModel::Instance(m)) = chosen {
            return Ok(Arc::clone(m));
        }
        let provider = self
            .opts
            .run_config
            .model_provider
            .clone()
            .or_else(default_model_provider)
            .ok_or_else(|| {
                Error::UserError(format!(
                    "agent `{}` names its model but no model provider is configured: \
                     set RunConfig::model_provider, or use the `agents` crate with the \
                     `openai` feature",
                    agent.name()
                ))
            })?;
        let name = match chosen {
            Some(AgentModel::Name(n)) => Some(n.as_str()),
            _ => None,
        };
        Ok(provider.get_model(name)?)
    }

    async fn fire(
        run: Option<&Arc<dyn Hooks<C>>>,
        agent: Option<&Arc<dyn Hooks<C>>>,
        ctx: &RunContext<C>,
        event: HookEvent<'_, C>,
    ) -> Result<(), Error> {
        for h in [run, agent].into_iter().flatten() {
            let fut = match event {
                HookEvent::AgentStart(a) => h.on_agent_start(ctx, a),
                HookEvent::AgentEnd(a, o) => h.on_agent_end(ctx, a, o),
                HookEvent::LlmStart(a, s, i) => h.on_llm_start(ctx, a, s, i),
                HookEvent::LlmEnd(a, r) => h.on_llm_end(ctx, a, r),
                HookEvent::ToolStart(a, c) => h.on_tool_start(ctx, a, c),
                HookEvent::ToolEnd(a, c, o) => h.on_tool_end(ctx, a, c, o),
                HookEvent::Handoff(from, to) => h.on_handoff(ctx, from, to),
            };
            fut.await.map_err(Error::Hook)?;
        }
        Ok(())
    }

    /// Runs one turn: one model call, then the tools and handoffs it asked
    /// for. The phases, in order: [`count_turn`](Self::count_turn),
    /// [`prepare_turn`](Self::prepare_turn), [`call_model`](Self::call_model),
    /// [`process_response`](Self::process_response), then
    /// [`resolve_turn`](Self::resolve_turn).
    async fn step(&mut self) -> Result<TurnOutcome, Error> {
        if let Some(plan) = self.before_model_turn().await? {
            // A resumed run finishes its interrupted turn without a model call.
            return self.resolve_turn(plan).await;
        }
        if let Some(outcome) = self.count_turn()? {
            return Ok(outcome);
        }
        let turn = self.prepare_turn().await?;
        let response = self.call_model(&turn).await?;
        let plan = self.process_response(turn, response);
        self.resolve_turn(plan).await
    }

    /// Counts the turn against `max_turns`. Past the limit the run fails,
    /// unless the max-turns handler gives a final output.
    fn count_turn(&mut self) -> Result<Option<TurnOutcome>, Error> {
        self.turn += 1;
        let Some(max) = self.opts.max_turns else {
            return Ok(None);
        };
        if self.turn <= max {
            return Ok(None);
        }
        self.turn -= 1;
        if let Some(handler) = &self.opts.max_turns_handler {
            let data = MaxTurnsData {
                max_turns: max,
                agent: self.agent.name(),
                new_items: &self.new_items,
            };
            if let Some(output) = handler(&data) {
                return Ok(Some(TurnOutcome::Final(output)));
            }
        }
        Err(Error::MaxTurnsExceeded { max_turns: max })
    }

    /// Everything before the model call: blocking input guardrails (first
    /// turn), `on_agent_start`, then what the model sees this turn (tools,
    /// instructions, handoffs, settings, prompt, model).
    async fn prepare_turn(&mut self) -> Result<TurnSetup<C>, Error> {
        let agent = self.agent.clone();
        let ctx = self.ctx.clone();
        ctx.set_position(Arc::from(agent.name()), self.turn);
        self.tracer.enter_agent(&agent);

        // Input guardrails: starting agent, first turn only. Blocking ones
        // finish before anything else of the turn runs (hooks included);
        // parallel ones run alongside the model call.
        let (blocking, parallel): (Vec<_>, Vec<_>) =
            if self.turn == 1 && agent.ptr_eq(&self.starting_agent) {
                let all: Vec<_> = agent
                    .input_guardrails()
                    .iter()
                    .chain(&self.opts.run_config.input_guardrails)
                    .cloned()
                    .collect();
                all.into_iter().partition(|g| !g.run_in_parallel)
            } else {
                (Vec::new(), Vec::new())
            };
        let guard_input: Arc<[Item]> = if blocking.is_empty() && parallel.is_empty() {
            Arc::from(Vec::new())
        } else {
            Arc::from(self.input.clone())
        };
        // Results go straight onto the run, so a tripwire or a failed model
        // call still reports the guardrails that ran.
        if !blocking.is_empty() {
            let results = Self::run_input_guardrails(
                blocking,
                &ctx,
                &agent,
                &guard_input,
                self.tracer.agent_scope(),
            )
            .await;
            check_input_guardrails(agent.name(), results, &mut self.input_guardrail_results)?;
        }

        self.start_agent(&agent).await?;

        // Everything the model sees this turn, through the agent's own
        // introspection (`Agent::all_tools`, `system_prompt`, `resolve_prompt`).
        let toolkit_sessions = self.toolkits.for_agent(&agent, &ctx).await?;
        let roster = agent.all_tools(&ctx, &toolkit_sessions);
        self.trace_tool_listing(&agent, &toolkit_sessions, &roster);
        let instructions = agent.system_prompt(&ctx, &toolkit_sessions).await;
        let handoffs: Vec<usize> = agent
            .handoffs()
            .iter()
            .enumerate()
            .filter(|(_, h)| h.is_enabled(&ctx))
            .map(|(i, _)| i)
            .collect();
        let mut settings = match &self.opts.run_config.model_settings {
            Some(over) => agent.model_settings().resolve(over),
            None => agent.model_settings().clone(),
        };
        if agent.reset_tool_choice() && self.tools_used.contains(agent.name()) {
            settings.tool_choice = None;
        }
        let prompt = agent.resolve_prompt(&ctx).await;
        let model = self.resolve_model(&agent)?;
        Ok(TurnSetup {
            agent,
            roster,
            handoffs,
            instructions,
            settings,
            prompt,
            model,
            parallel_guardrails: parallel,
            guard_input,
        })
    }

    /// `on_agent_start`, once per agent that takes control.
    async fn start_agent(&mut self, agent: &Agent<C>) -> Result<(), Error> {
        if self.agent_started {
            return Ok(());
        }
        self.agent_started = true;
        Self::fire(
            self.opts.hooks.as_ref(),
            agent.hooks(),
            &self.ctx,
            HookEvent::AgentStart(agent),
        )
        .await
    }

    /// Runs `guards` concurrently; results in guardrail order.
    fn run_input_guardrails(
        guards: Vec<agents_core::InputGuardrail<C>>,
        ctx: &RunContext<C>,
        agent: &Agent<C>,
        input: &Arc<[Item]>,
        span_parent: Option<CurrentSpan>,
    ) -> impl std::future::Future<Output = Vec<(String, Result<GuardrailOutput, String>)>> + 'static
    {
        let (ctx, agent, input) = (ctx.clone(), agent.clone(), Arc::clone(input));
        async move {
            let runs: Vec<BoxFuture<'static, (String, Result<GuardrailOutput, String>)>> = guards
                .iter()
                .map(|g| {
                    let span = guardrail_span(span_parent.as_ref(), &g.name, GuardrailKind::Input);
                    let fut = span.scope(g.run(ctx.clone(), agent.clone(), Arc::clone(&input)));
                    let name = g.name.clone();
                    async move {
                        let out = fut.await;
                        guardrail_end(span, out.as_ref().map(|o| o.tripwire_triggered));
                        (name, out)
                    }
                    .boxed()
                })
                .collect();
            join_all(runs).await
        }
    }

    /// The model call: `call_model_input_filter`, `on_llm_start`, the call
    /// itself (with the parallel input guardrails alongside), the usage,
    /// `on_llm_end`.
    async fn call_model(&mut self, turn: &TurnSetup<C>) -> Result<ModelResponse, Error> {
        let agent = &turn.agent;
        let ctx = self.ctx.clone();
        let tool_specs: Vec<ToolSpec<'_>> = turn
            .roster
            .iter()
            .map(|t| ToolSpec {
                name: Cow::Borrowed(t.name()),
                description: Cow::Borrowed(t.description()),
                parameters: Cow::Borrowed(t.parameters()),
                strict: t.strict(),
            })
            .collect();
        let handoff_specs: Vec<ToolSpec<'_>> = turn
            .handoffs
            .iter()
            .filter_map(|&i| agent.handoffs().get(i))
            .map(|h| ToolSpec {
                name: Cow::Borrowed(h.tool_name.as_str()),
                description: Cow::Borrowed(h.tool_description.as_str()),
                parameters: Cow::Borrowed(&h.input_schema),
                strict: h.strict,
            })
            .collect();
        let output_schema = agent.output_type().map(|t| t.schema());

        let pending: &[Item] = if self.server_managed {
            &self.transcript[self.sent_upto..]
        } else {
            &self.transcript
        };
        let filtered;
        let (instructions_ref, input_ref) = match &self.opts.run_config.call_model_input_filter {
            Some(filter) => {
                let data = CallModelData {
                    model_data: ModelInputData {
                        instructions: turn.instructions.clone(),
                        input: pending.to_vec(),
                    },
                    agent: agent.clone(),
                    context: ctx.clone(),
                };
                filtered = filter(data).await.map_err(|e| {
                    Error::UserError(format!("call_model_input_filter failed: {e}"))
                })?;
                (filtered.instructions.as_deref(), filtered.input.as_slice())
            }
            None => (turn.instructions.as_deref(), pending),
        };

        Self::fire(
            self.opts.hooks.as_ref(),
            agent.hooks(),
            &ctx,
            HookEvent::LlmStart(agent, instructions_ref, input_ref),
        )
        .await?;

        let request = ModelRequest::new(input_ref, &turn.settings)
            .instructions(instructions_ref)
            .tools(&tool_specs)
            .handoffs(&handoff_specs)
            .hosted_tools(agent.hosted_tools())
            .output_schema(output_schema)
            .server_state(
                self.previous_response_id.as_deref(),
                self.opts.conversation_id.as_deref(),
            )
            .prompt(turn.prompt.as_ref());
        let model_name = self.model_name(agent);
        let sensitive = self.tracer.sensitive();
        let mut span = self.tracer.generation(
            model_name.as_deref(),
            &turn.settings,
            input_ref,
            self.sink.is_some(),
        );
        // A durable step when the run has a step executor (see `steps`).
        let model_call = crate::steps::model_step(
            &self.opts.run_config,
            self.turn,
            agent.name(),
            request_response(turn.model.as_ref(), request, self.sink.as_ref()),
        );
        let model_call = async move {
            let response = model_call.await;
            generation_end(sensitive, &mut span, &response);
            response
        };
        let response = if turn.parallel_guardrails.is_empty() {
            model_call.await?
        } else {
            let guards = Self::run_input_guardrails(
                turn.parallel_guardrails.clone(),
                &ctx,
                agent,
                &turn.guard_input,
                self.tracer.agent_scope(),
            );
            tokio::pin!(model_call);
            tokio::pin!(guards);
            tokio::select! {
                results = &mut guards => {
                    check_input_guardrails(agent.name(), results, &mut self.input_guardrail_results)?;
                    model_call.await?
                }
                response = &mut model_call => {
                    let results = guards.await;
                    check_input_guardrails(agent.name(), results, &mut self.input_guardrail_results)?;
                    response?
                }
            }
        };
        drop(tool_specs);
        drop(handoff_specs);

        self.ctx.add_usage(|u| u.add_request(response.usage));
        self.usage_by
            .record(agent.name(), model_name.as_deref(), response.usage);
        Self::fire(
            self.opts.hooks.as_ref(),
            agent.hooks(),
            &ctx,
            HookEvent::LlmEnd(agent, &response),
        )
        .await?;
        Ok(response)
    }

    /// Takes the model's response into the run: server-managed state, then
    /// each output item classified (message, tool call, handoff call,
    /// reasoning) and recorded. Returns the plan for the rest of the turn.
    fn process_response(
        &mut self,
        turn: TurnSetup<C>,
        response: ModelResponse,
    ) -> hitl::TurnPlan<C> {
        let TurnSetup {
            agent,
            roster,
            handoffs,
            ..
        } = turn;
        let agent_name: Arc<str> = Arc::from(agent.name());
        if self.server_managed {
            self.sent_upto = self.transcript.len();
            if self.opts.previous_response_id.is_some() || self.opts.auto_previous_response_id {
                if let Some(id) = &response.response_id {
                    self.previous_response_id = Some(id.clone());
                }
            }
        }
        let turn_start_transcript = self.transcript.len();
        let turn_start_items = self.new_items.len();

        let mut tool_calls: Vec<FunctionCall> = Vec::new();
        let mut handoff_calls: Vec<(FunctionCall, usize)> = Vec::new();
        let mut last_message: Option<usize> = None;
        for item in response.output.iter().cloned() {
            let kind = match &item {
                Item::Message(m) if m.role == Role::Assistant => {
                    last_message = Some(self.new_items.len());
                    RunItemKind::MessageOutput
                }
                Item::FunctionCall(call) => {
                    let handoff = handoffs.iter().copied().find(|&i| {
                        agent
                            .handoffs()
                            .get(i)
                            .is_some_and(|h| h.tool_name == call.name)
                    });
                    if let Some(i) = handoff {
                        handoff_calls.push((call.clone(), i));
                        RunItemKind::HandoffCall
                    } else {
                        tool_calls.push(call.clone());
                        RunItemKind::ToolCall
                    }
                }
                Item::Reasoning(_) => RunItemKind::Reasoning,
                // Hosted tool calls, MCP items, or items the SDK does not model.
                other => RunItemKind::of_output(other),
            };
            self.push_item(kind, item, &agent_name);
        }
        self.raw_responses.push(response);
        if self.server_managed {
            self.sent_upto = self.transcript.len();
        }
        hitl::TurnPlan {
            agent,
            roster,
            tool_calls,
            handoff_calls,
            last_message,
            turn_start_transcript,
            turn_start_items,
        }
    }

    /// The second half of a turn: the tools and handoffs the model asked
    /// for, then the next step. A resumed run re-enters an interrupted turn
    /// here. (`handoff_calls` index into `agent.handoffs()`.) The phases, in
    /// order: [`run_turn_tools`](Self::run_turn_tools),
    /// [`run_handoffs`](Self::run_handoffs), [`save_turn`](Self::save_turn),
    /// then [`switch_agent`](Self::switch_agent) or
    /// [`next_step`](Self::next_step).
    async fn resolve_turn(&mut self, plan: hitl::TurnPlan<C>) -> Result<TurnOutcome, Error> {
        self.begin_turn(&plan);
        self.tracer.enter_agent(&plan.agent);
        let hitl::TurnPlan {
            agent,
            roster,
            tool_calls,
            handoff_calls,
            last_message,
            turn_start_transcript,
            turn_start_items,
        } = plan;

        let results = match self
            .run_turn_tools(&agent, &roster, &tool_calls, turn_start_items)
            .await?
        {
            ControlFlow::Continue(results) => results,
            ControlFlow::Break(interrupted) => return Ok(interrupted),
        };
        let next_agent = self.run_handoffs(&agent, &handoff_calls).await?;

        self.save_turn(turn_start_transcript).await?;
        self.turn_saved();

        if let Some((target, edit)) = next_agent {
            self.switch_agent(&agent, target, edit, turn_start_items)
                .await?;
            return Ok(TurnOutcome::Continue);
        }
        // Answered MCP approval requests need the model again, as calls do.
        let has_calls = !tool_calls.is_empty()
            || !handoff_calls.is_empty()
            || self.turn_has_mcp_requests(turn_start_items);
        self.next_step(&agent, &results, has_calls, last_message)
            .await
    }

    /// The turn's function tool calls: the approval gate decides which run
    /// now; they run concurrently and their outputs become items in call
    /// order. Breaks with `Interrupted` when calls wait for approval; else
    /// continues with all the turn's results (for `tool_use_behavior`).
    async fn run_turn_tools(
        &mut self,
        agent: &Agent<C>,
        roster: &[Arc<dyn Tool<C>>],
        tool_calls: &[FunctionCall],
        turn_start_items: usize,
    ) -> Result<ControlFlow<TurnOutcome, Vec<ToolCallResult>>, Error> {
        let agent_name: Arc<str> = Arc::from(agent.name());
        // Approvals decide which calls run now (see `hitl`).
        let gate = self
            .approval_gate(roster, tool_calls, agent, turn_start_items)
            .await;
        // Function tools run concurrently; results keep the call order.
        let results = if gate.run.is_empty() {
            Vec::new()
        } else {
            let (outcome, records) = self.run_tools(agent, roster, &gate.run).await;
            self.tool_input_guardrail_results.extend(records.input);
            self.tool_output_guardrail_results.extend(records.output);
            outcome?
        };
        let (results, all_results) = self.settle_approvals(gate, results);
        self.clear_finished();
        for r in &results {
            let item = Item::FunctionCallOutput(agents_core::FunctionCallOutput::new(
                r.call_id.clone(),
                r.output.to_content(),
            ));
            self.push_item(
                RunItemKind::ToolCallOutput {
                    output: r.output.clone(),
                    is_error: r.is_error,
                },
                item,
                &agent_name,
            );
        }
        if let Some(interrupted) = self.interrupt_if_pending() {
            return Ok(ControlFlow::Break(interrupted));
        }
        if !all_results.is_empty() && agent.reset_tool_choice() {
            self.tools_used.insert(agent.name().to_owned());
        }
        Ok(ControlFlow::Continue(all_results))
    }

    /// The turn's handoff calls: only the first one runs (its `on_handoff`
    /// callback, its output item); the others get an error output. Returns
    /// the agent to hand off to, and how its input is edited.
    async fn run_handoffs(
        &mut self,
        agent: &Agent<C>,
        handoff_calls: &[(FunctionCall, usize)],
    ) -> Result<Option<(Agent<C>, Option<HistoryEdit>)>, Error> {
        let agent_name: Arc<str> = Arc::from(agent.name());
        let handoffs = agent.handoffs();
        let mut next_agent: Option<(Agent<C>, Option<HistoryEdit>)> = None;
        for (n, (call, idx)) in handoff_calls.iter().enumerate() {
            if n > 0 {
                self.push_item(
                    RunItemKind::ToolCallOutput {
                        output: ToolOutput::text(MULTIPLE_HANDOFFS_MESSAGE),
                        is_error: true,
                    },
                    Item::function_call_output(call.call_id.clone(), MULTIPLE_HANDOFFS_MESSAGE),
                    &agent_name,
                );
                continue;
            }
            let handoff = &handoffs[*idx];
            let args = match handoff.parse_arguments(&call.arguments) {
                Ok(v) => v,
                Err(e) => {
                    let msg = format!("Error: invalid arguments for `{}`: {e}", call.name);
                    self.push_item(
                        RunItemKind::ToolCallOutput {
                            output: ToolOutput::text(msg.clone()),
                            is_error: true,
                        },
                        Item::function_call_output(call.call_id.clone(), msg),
                        &agent_name,
                    );
                    continue;
                }
            };
            let span = self.tracer.handoff(agent.name(), handoff.agent().name());
            if let Some(fut) = handoff.invoke_callback(self.ctx.clone(), args) {
                fut.await.map_err(|e| {
                    Error::Hook(format!("on_handoff of `{}` failed: {e}", handoff.tool_name))
                })?;
            }
            span.end();
            let target = handoff.agent().clone();
            self.push_item(
                RunItemKind::HandoffOutput {
                    source: agent.name().to_owned(),
                    target: target.name().to_owned(),
                },
                Item::function_call_output(call.call_id.clone(), handoff.output_text()),
                &agent_name,
            );
            let config = &self.opts.run_config;
            let edit = match handoff.filter().or(config.handoff_input_filter.as_ref()) {
                Some(filter) => Some(HistoryEdit::Filter(Arc::clone(filter))),
                None if handoff
                    .nests_history()
                    .unwrap_or(config.nest_handoff_history) =>
                {
                    Some(HistoryEdit::Nest(
                        handoff
                            .mapper()
                            .or(config.handoff_history_mapper.as_ref())
                            .cloned(),
                    ))
                }
                None => None,
            };
            next_agent = Some((target, edit));
        }
        Ok(next_agent)
    }

    /// Hands control to `target`: its input edited (filter or nested
    /// history), `on_handoff`, the agent-updated event.
    async fn switch_agent(
        &mut self,
        from: &Agent<C>,
        target: Agent<C>,
        edit: Option<HistoryEdit>,
        turn_start_items: usize,
    ) -> Result<(), Error> {
        // A server-managed conversation keeps its history on the server:
        // neither filters nor nesting can change what the next agent sees.
        match (edit, self.server_managed) {
            (Some(HistoryEdit::Filter(filter)), false) => {
                self.apply_handoff_filter(&filter, turn_start_items)
            }
            (Some(HistoryEdit::Nest(mapper)), false) => {
                let transcript = std::mem::take(&mut self.transcript);
                self.transcript = match mapper {
                    Some(map) => map(transcript),
                    None => default_history_mapper(transcript),
                };
            }
            _ => {}
        }
        let ctx = self.ctx.clone();
        Self::fire(
            self.opts.hooks.as_ref(),
            target.hooks(),
            &ctx,
            HookEvent::Handoff(from, &target),
        )
        .await?;
        self.emit(RunStreamEvent::AgentUpdated {
            agent: target.name().to_owned(),
        });
        self.tracer.exit_agent(None);
        self.agent = target;
        self.agent_started = false;
        Ok(())
    }

    /// Decides what follows a turn without a handoff: a tool-derived final
    /// output (`tool_use_behavior`), another turn, or the message's final
    /// output.
    async fn next_step(
        &self,
        agent: &Agent<C>,
        results: &[ToolCallResult],
        has_calls: bool,
        last_message: Option<usize>,
    ) -> Result<TurnOutcome, Error> {
        if !results.is_empty() {
            return Ok(
                match agent.tool_use_behavior().decide(&self.ctx, results).await {
                    ToolsToFinalOutput::RunAgain => TurnOutcome::Continue,
                    ToolsToFinalOutput::Final(o) => TurnOutcome::Final(o),
                },
            );
        }
        if has_calls {
            return Ok(TurnOutcome::Continue);
        }
        self.message_output(agent, last_message)
    }

    /// The final output of a turn that ended with a message (or nothing):
    /// plain text, a refusal (handler or error), or structured output
    /// checked against the output type (handler or error).
    fn message_output(
        &self,
        agent: &Agent<C>,
        last_message: Option<usize>,
    ) -> Result<TurnOutcome, Error> {
        let message = last_message
            .and_then(|i| self.new_items.get(i))
            .and_then(|i| i.item.as_message());
        let Some(message) = message else {
            // No message and no tool calls: a plain-text agent ends with an
            // empty output; an agent with an output type runs again.
            return Ok(match agent.output_type() {
                Some(_) => TurnOutcome::Continue,
                None => TurnOutcome::Final(FinalOutput::Text(String::new())),
            });
        };
        if let Some(refusal) = message.refusal() {
            if let Some(handler) = &self.opts.model_refusal_handler {
                let data = ModelRefusalData {
                    refusal,
                    agent: agent.name(),
                    new_items: &self.new_items,
                };
                if let Some(output) = handler(&data) {
                    return match agent.output_type() {
                        Some(t) => handler_output_for_type("model_refusal", t, output)
                            .map(TurnOutcome::Final),
                        None => Ok(TurnOutcome::Final(output)),
                    };
                }
            }
            return Err(Error::ModelRefusal {
                refusal: refusal.to_owned(),
            });
        }
        let text = message.text();
        let Some(output_type) = agent.output_type() else {
            return Ok(TurnOutcome::Final(FinalOutput::Text(text)));
        };
        let error = match output_type.parse(&text) {
            Ok(v) => return Ok(TurnOutcome::Final(FinalOutput::Json(v))),
            Err(e) => e,
        };
        if let Some(handler) = &self.opts.invalid_final_output_handler {
            let data = InvalidFinalOutputData {
                output: &text,
                error: &error,
                agent: agent.name(),
                new_items: &self.new_items,
            };
            if let Some(output) = handler(&data) {
                return handler_output_for_type("invalid_final_output", output_type, output)
                    .map(TurnOutcome::Final);
            }
        }
        Err(Error::ModelBehavior(format!(
            "agent `{}` produced invalid structured output: {error}",
            agent.name()
        )))
    }

    /// Saves the turn's model-input items (from transcript index `from`) to
    /// the session.
    async fn save_turn(&mut self, from: usize) -> Result<(), Error> {
        if let Some(session) = &self.opts.session {
            let items = &self.transcript[from..];
            if !items.is_empty() {
                crate::state_store::save_to_session(&**session, items).await?;
            }
        }
        Ok(())
    }

    fn apply_handoff_filter(&mut self, filter: &InputFilter, turn_start_items: usize) {
        let turn_items = self.new_items.split_off(turn_start_items);
        let pre = std::mem::take(&mut self.new_items);
        let history_len = self.transcript.len()
            - pre
                .iter()
                .chain(&turn_items)
                .filter(|i| i.is_model_input())
                .count();
        let mut history = std::mem::take(&mut self.transcript);
        history.truncate(history_len);
        let data = filter(HandoffInputData {
            input_history: history,
            pre_handoff_items: pre,
            new_items: turn_items,
        });
        let mut transcript = data.input_history;
        transcript.extend(
            data.pre_handoff_items
                .iter()
                .chain(&data.new_items)
                .filter(|i| i.is_model_input())
                .map(|i| i.item.clone()),
        );
        self.transcript = transcript;
        self.new_items = data.pre_handoff_items;
        self.new_items.extend(data.new_items);
    }

    /// The run-scoped data tools see (built on first use).
    fn run_data(&self) -> Arc<dyn Any + Send + Sync> {
        Arc::clone(self.run_data.get_or_init(|| {
            Arc::new(RunScope {
                run_config: self.opts.run_config.clone(),
                toolkits: Arc::clone(&self.toolkits),
                nested: Arc::clone(&self.hitl.nested),
                usage_by: Arc::clone(&self.usage_by),
            })
        }))
    }

    /// Runs one turn's function tool calls concurrently (with the optional
    /// cap); results keep the call order. The guardrail results are returned
    /// also when a call ends the run.
    async fn run_tools(
        &self,
        agent: &Agent<C>,
        roster: &[Arc<dyn Tool<C>>],
        calls: &[FunctionCall],
    ) -> (Result<Vec<ToolCallResult>, Error>, ToolGuardrailRecords) {
        let run_data = self.run_data();
        let available = OnceLock::new();
        let available = &available;
        let futs: Vec<BoxFuture<'_, (Result<ToolCallResult, Error>, ToolGuardrailRecords)>> = calls
            .iter()
            .map(|call| {
                let tool = roster.iter().find(|t| t.name() == call.name);
                let run_data = Arc::clone(&run_data);
                let mut span = self
                    .tracer
                    .function(&call.name, &call.call_id, &call.arguments);
                async move {
                    let mut records = ToolGuardrailRecords::default();
                    // Runs and spans the tool starts nest under its span.
                    let result = span
                        .scope(async {
                            match tool {
                                Some(tool) => {
                                    self.run_tool(agent, tool, call, run_data, &mut records)
                                        .await
                                }
                                None => {
                                    let names = available
                                        .get_or_init(|| self.available_tools(agent, roster));
                                    self.unknown_tool(agent, call, names).await
                                }
                            }
                        })
                        .await;
                    self.tracer.function_end(&mut span, &result, tool.is_none());
                    if let Ok(r) = &result {
                        self.record_finished(r);
                    }
                    (result, records)
                }
                .boxed()
            })
            .collect();
        let cap = self
            .opts
            .run_config
            .max_tool_concurrency
            .unwrap_or(calls.len())
            .max(1);
        let outcomes: Vec<(Result<ToolCallResult, Error>, ToolGuardrailRecords)> =
            futures::stream::iter(futs).buffered(cap).collect().await;
        let mut records = ToolGuardrailRecords::default();
        let mut results = Vec::with_capacity(outcomes.len());
        let mut first_error = None;
        for (result, r) in outcomes {
            records.input.extend(r.input);
            records.output.extend(r.output);
            match result {
                Ok(v) => results.push(v),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => (Err(e), records),
            None => (Ok(results), records),
        }
    }

    /// The names the model may call this turn: the roster's tools, then the
    /// agent's enabled handoffs, as a list for an error message.
    fn available_tools(&self, agent: &Agent<C>, roster: &[Arc<dyn Tool<C>>]) -> String {
        let names: Vec<String> = roster
            .iter()
            .map(|t| format!("`{}`", t.name()))
            .chain(
                agent
                    .handoffs()
                    .iter()
                    .filter(|h| h.is_enabled(&self.ctx))
                    .map(|h| format!("`{}`", h.tool_name)),
            )
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// A call of a tool the agent does not have: `on_tool_start`, then an
    /// error output naming the tools that exist (or, under the raise
    /// policy, the end of the run), then `on_tool_end`.
    async fn unknown_tool(
        &self,
        agent: &Agent<C>,
        call: &FunctionCall,
        available: &str,
    ) -> Result<ToolCallResult, Error> {
        let run_hooks = self.opts.hooks.as_ref();
        let ctx = &self.ctx;
        Self::fire(
            run_hooks,
            agent.hooks(),
            ctx,
            HookEvent::ToolStart(agent, call),
        )
        .await?;
        if self.opts.run_config.tool_error_policy == ToolErrorPolicy::Raise {
            return Err(Error::ModelBehavior(format!(
                "model called unknown tool `{}` (available tools: {available})",
                call.name
            )));
        }
        let output = ToolOutput::Text(unknown_tool_message(&call.name, available));
        // Every on_tool_start has its on_tool_end.
        Self::fire(
            run_hooks,
            agent.hooks(),
            ctx,
            HookEvent::ToolEnd(agent, call, &output),
        )
        .await?;
        Ok(ToolCallResult {
            tool_name: call.name.clone(),
            call_id: call.call_id.clone(),
            output,
            is_error: true,
        })
    }

    /// One call: `on_tool_start`, input guardrails, the tool, output
    /// guardrails, `on_tool_end`.
    async fn run_tool(
        &self,
        agent: &Agent<C>,
        tool: &Arc<dyn Tool<C>>,
        call: &FunctionCall,
        run_data: Arc<dyn Any + Send + Sync>,
        records: &mut ToolGuardrailRecords,
    ) -> Result<ToolCallResult, Error> {
        let policy = self.opts.run_config.tool_error_policy;
        let run_hooks = self.opts.hooks.as_ref();
        let ctx = &self.ctx;
        Self::fire(
            run_hooks,
            agent.hooks(),
            ctx,
            HookEvent::ToolStart(agent, call),
        )
        .await?;
        let tool_ctx = ToolContext::new(
            ctx.clone(),
            call.name.clone(),
            call.call_id.clone(),
            self.cancel.token().clone(),
        )
        .with_run_data(run_data);

        // Input guardrails. A guarded tool only ever runs with JSON arguments
        // its guardrails have checked; the first guardrail that does not
        // allow the call decides.
        let guarded = !tool.input_guardrails().is_empty() || !tool.output_guardrails().is_empty();
        let mut guard_data = None;
        let mut skipped: Option<Result<ToolOutput, ToolError>> = None;
        if guarded {
            let raw = if call.arguments.trim().is_empty() {
                "{}"
            } else {
                call.arguments.as_str()
            };
            match serde_json::from_str::<Value>(raw) {
                Ok(arguments) => {
                    guard_data = Some(ToolInputGuardrailData::new(
                        tool_ctx.clone(),
                        agent.clone(),
                        call.clone(),
                        arguments,
                    ))
                }
                Err(e) => skipped = Some(Err(ToolError::InvalidArguments(e.to_string()))),
            }
        }
        if let Some(data) = &guard_data {
            for g in tool.input_guardrails() {
                let out = g.run(data.clone()).await.map_err(|e| {
                    Error::UserError(format!(
                        "tool input guardrail `{}` on `{}` failed: {e}",
                        g.name, call.name
                    ))
                })?;
                match check_tool_guardrail(&g.name, call, out, &mut records.input)? {
                    Some(message) => {
                        skipped = Some(Ok(ToolOutput::Text(message)));
                        break;
                    }
                    None => continue,
                }
            }
        }
        let rejected = matches!(skipped, Some(Ok(_)));

        let outcome = match skipped {
            Some(outcome) => outcome,
            None => {
                // `invoke` runs inside the guarded future, so a panic while
                // the tool builds its future is caught too.
                let invocation =
                    AssertUnwindSafe(async move { tool.invoke(tool_ctx, &call.arguments).await })
                        .catch_unwind();
                let limit = tool.timeout();
                let invocation = async move {
                    let outcome = match limit {
                        Some(limit) => match tokio::time::timeout(limit, invocation).await {
                            Ok(r) => r,
                            Err(_) => Ok(Err(ToolError::Timeout(limit))),
                        },
                        None => invocation.await,
                    };
                    outcome.unwrap_or_else(|panic| {
                        Err(ToolError::Panicked(panic_message(panic.as_ref())))
                    })
                };
                // A durable step when the run has a step executor (see `steps`).
                crate::steps::tool_step(&self.opts.run_config, self.turn, call, invocation).await
            }
        };
        let (mut output, is_error) = match outcome {
            Ok(output) => (output, false),
            Err(err) => {
                // A tool guardrail tripped inside an agent-as-tool run: the
                // outer run ends as it would at the top level.
                if let Some((result, input)) = self.hitl.nested.take_tripwire(&call.call_id) {
                    let list = if input {
                        &mut records.input
                    } else {
                        &mut records.output
                    };
                    list.push((*result).clone());
                    return Err(Error::ToolGuardrailTripwire(result));
                }
                if policy == ToolErrorPolicy::Raise {
                    return Err(match err {
                        ToolError::Timeout(timeout) => Error::ToolTimeout {
                            tool: call.name.clone(),
                            timeout,
                        },
                        other => Error::Tool {
                            tool: call.name.clone(),
                            message: other.to_string(),
                        },
                    });
                }
                (ToolOutput::Text(tool.format_error(&err)), true)
            }
        };

        // Output guardrails, on successful outputs only.
        if let (Some(data), false, false) = (guard_data, is_error, rejected) {
            for g in tool.output_guardrails() {
                let out = g
                    .run(ToolOutputGuardrailData::new(data.clone(), output.clone()))
                    .await
                    .map_err(|e| {
                        Error::UserError(format!(
                            "tool output guardrail `{}` on `{}` failed: {e}",
                            g.name, call.name
                        ))
                    })?;
                if let Some(message) =
                    check_tool_guardrail(&g.name, call, out, &mut records.output)?
                {
                    output = ToolOutput::Text(message);
                    break;
                }
            }
        }

        Self::fire(
            run_hooks,
            agent.hooks(),
            ctx,
            HookEvent::ToolEnd(agent, call, &output),
        )
        .await?;
        Ok(ToolCallResult {
            tool_name: call.name.clone(),
            call_id: call.call_id.clone(),
            output,
            is_error,
        })
    }

    async fn finish(&mut self, output: &FinalOutput) -> Result<(), Error> {
        let agent = self.agent.clone();
        let guards: Vec<_> = agent
            .output_guardrails()
            .iter()
            .chain(&self.opts.run_config.output_guardrails)
            .cloned()
            .collect();
        if !guards.is_empty() {
            let runs: Vec<BoxFuture<'static, (String, Result<GuardrailOutput, String>)>> = guards
                .iter()
                .map(|g| {
                    let span = self.tracer.guardrail(&g.name, GuardrailKind::Output);
                    let fut = span.scope(g.run(self.ctx.clone(), agent.clone(), output.clone()));
                    let name = g.name.clone();
                    async move {
                        let out = fut.await;
                        guardrail_end(span, out.as_ref().map(|o| o.tripwire_triggered));
                        (name, out)
                    }
                    .boxed()
                })
                .collect();
            for (name, result) in join_all(runs).await {
                let out = result.map_err(|e| {
                    Error::UserError(format!("output guardrail `{name}` failed: {e}"))
                })?;
                let result = OutputGuardrailResult {
                    guardrail: name,
                    agent: agent.name().to_owned(),
                    agent_output: output.clone(),
                    output: out,
                };
                let tripped = result.output.tripwire_triggered;
                self.output_guardrail_results.push(result.clone());
                if tripped {
                    return Err(Error::OutputGuardrailTripwire(Box::new(result)));
                }
            }
        }
        let ctx = self.ctx.clone();
        Self::fire(
            self.opts.hooks.as_ref(),
            agent.hooks(),
            &ctx,
            HookEvent::AgentEnd(&agent, output),
        )
        .await
    }

    fn into_result(mut self, output: Option<FinalOutput>) -> RunResult<C> {
        let snapshot = self.take_snapshot();
        let (usage_by_agent, usage_by_model) = self.usage_by.snapshot();
        RunResult {
            usage_by_agent,
            usage_by_model,
            snapshot,
            input: self.input,
            new_items: self.new_items,
            raw_responses: self.raw_responses,
            final_output: output,
            last_agent: self.agent,
            usage: self.ctx.usage(),
            input_guardrail_results: self.input_guardrail_results,
            output_guardrail_results: self.output_guardrail_results,
            tool_input_guardrail_results: self.tool_input_guardrail_results,
            tool_output_guardrail_results: self.tool_output_guardrail_results,
            turns: self.turn,
        }
    }

    fn into_error(mut self, error: Error) -> RunError {
        let snapshot = Some(self.take_snapshot());
        RunError {
            error,
            details: Box::new(RunErrorDetails {
                snapshot,
                input: self.input,
                new_items: self.new_items,
                raw_responses: self.raw_responses,
                usage: self.ctx.usage(),
                last_agent: self.agent.name().to_owned(),
                input_guardrail_results: self.input_guardrail_results,
                output_guardrail_results: self.output_guardrail_results,
                tool_input_guardrail_results: self.tool_input_guardrail_results,
                tool_output_guardrail_results: self.tool_output_guardrail_results,
                turns: self.turn,
            }),
        }
    }
}

/// A final output the error handler `handler` gave for an agent with an
/// output type: it must pass the type (JSON text, or a JSON value, wrapped
/// in `{"response": ..}` or not for non-object types).
fn handler_output_for_type(
    handler: &str,
    t: &OutputType,
    output: FinalOutput,
) -> Result<FinalOutput, Error> {
    let parsed = match &output {
        FinalOutput::Json(v) => t
            .parse(&v.to_string())
            .or_else(|_| t.parse(&serde_json::json!({ "response": v }).to_string())),
        other => t.parse(&other.to_text()),
    };
    parsed.map(FinalOutput::Json).map_err(|e| {
        Error::UserError(format!(
            "the {handler} handler gave a final output that fails the output type: {e}"
        ))
    })
}

fn check_input_guardrails(
    agent: &str,
    results: Vec<(String, Result<GuardrailOutput, String>)>,
    out: &mut Vec<InputGuardrailResult>,
) -> Result<(), Error> {
    for (name, result) in results {
        let output = result
            .map_err(|e| Error::UserError(format!("input guardrail `{name}` failed: {e}")))?;
        let result = InputGuardrailResult {
            guardrail: name,
            agent: agent.to_owned(),
            output,
        };
        let tripped = result.output.tripwire_triggered;
        out.push(result.clone());
        if tripped {
            return Err(Error::InputGuardrailTripwire(Box::new(result)));
        }
    }
    Ok(())
}

/// Records a tool guardrail's result and applies its decision: `Ok(None)`
/// lets the call through, `Ok(Some(message))` replaces the output, `Err`
/// ends the run.
fn check_tool_guardrail(
    guardrail: &str,
    call: &FunctionCall,
    output: ToolGuardrailOutput,
    records: &mut Vec<ToolGuardrailResult>,
) -> Result<Option<String>, Error> {
    let result = ToolGuardrailResult {
        guardrail: guardrail.to_owned(),
        tool: call.name.clone(),
        call_id: call.call_id.clone(),
        output,
    };
    let decision = match &result.output.behavior {
        ToolGuardrailBehavior::Allow => Ok(None),
        ToolGuardrailBehavior::RejectContent { message } => Ok(Some(message.clone())),
        ToolGuardrailBehavior::RaiseException { .. } => {
            Err(Error::ToolGuardrailTripwire(Box::new(result.clone())))
        }
    };
    records.push(result);
    decision
}

/// One model call: `get_response`, or `stream_response` with the raw
/// events pushed to `sink` in streaming mode.
async fn request_response(
    model: &dyn Model,
    request: ModelRequest<'_>,
    sink: Option<&EventSink>,
) -> Result<ModelResponse, Error> {
    let Some(sink) = sink else {
        return Ok(model.get_response(request).await?);
    };
    let mut stream = model.stream_response(request);
    while let Some(event) = stream.next().await {
        match event? {
            ModelStreamEvent::Completed(response) => return Ok(response),
            other => sink.push(RunStreamEvent::RawModel(other)),
        }
    }
    Err(Error::Model(ModelError::Stream(
        "the model stream ended without a completed response".into(),
    )))
}

/// The output a call of an unknown tool gets: the tool does not exist, and
/// these do.
pub(crate) fn unknown_tool_message(name: &str, available: &str) -> String {
    format!(
        "Error: tool `{name}` does not exist. Available tools: {available}. \
         Call one of the available tools instead."
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
