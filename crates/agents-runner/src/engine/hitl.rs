//! Human in the loop, inside the agent loop: the approval gate in front of
//! a turn's tool calls, interruptions, snapshots for run states, and
//! resuming a run from a [`RunState`].
//!
//! A child module of `engine`, so it reaches the loop's fields; the loop
//! itself only calls in at a few points:
//! - `prepare`: a resumed run keeps the model input of its state;
//! - the top of `step`: a resumed run first finishes the interrupted turn
//!   (no model call), else staged input is admitted before the model call;
//! - `resolve_turn`, the second half of a turn (where a resumed turn
//!   re-enters): the approval gate decides which calls run, and a turn with
//!   undecided calls ends the run as interrupted;
//! - `into_result` / `into_error`: a snapshot for `to_state`.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use agents_core::agent::{ToolCallResult, ToolUseBehavior};
use agents_core::guardrail::ToolGuardrailResult;
use agents_core::hosted::{self, McpApprovalRequest};
use agents_core::{
    Agent, Error, FunctionCall, Item, RunContext, RunItem, RunItemKind, Tool, ToolOutput, Usage,
};

use super::{RunLoop, TurnOutcome};
use crate::approvals::{mcp_key, Approvals, Decision, ToolApprovalItem};
use crate::config::{RunConfig, RunOptions};
use crate::result::{EventSink, RunStreamEvent};
use crate::state::{find_agent, PendingTurn, RunState, Snapshot, TraceState};
use crate::toolkits::ToolkitSessions;

/// The output an agent tool returns to the outer loop when its nested run
/// paused on approvals. The outer loop drops it: the call stays pending.
pub(crate) const NESTED_INTERRUPTED_OUTPUT: &str = "[paused: waiting for approval]";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Agent-as-tool runs that paused on approvals, and the states to resume
/// them from, by the outer call id. Shared between the loop and its tools
/// through the run scope.
#[derive(Default)]
pub(crate) struct NestedRuns {
    resume: Mutex<HashMap<String, RunState>>,
    interrupted: Mutex<HashMap<String, RunState>>,
    tripwires: Mutex<HashMap<String, (Box<ToolGuardrailResult>, bool)>>,
}

impl NestedRuns {
    /// The state the nested run of `call_id` continues from, if it paused.
    pub(crate) fn take_resume(&self, call_id: &str) -> Option<RunState> {
        lock(&self.resume).remove(call_id)
    }

    /// Records that the nested run of `call_id` paused. Its usage is already
    /// counted by the outer run, so the stored state starts from zero.
    pub(crate) fn store_interrupted(&self, call_id: &str, mut state: RunState) {
        state.data.usage = Usage::default();
        lock(&self.interrupted).insert(call_id.to_owned(), state);
    }

    fn put_resume(&self, call_id: String, state: RunState) {
        lock(&self.resume).insert(call_id, state);
    }

    fn take_interrupted(&self, call_id: &str) -> Option<RunState> {
        lock(&self.interrupted).remove(call_id)
    }

    fn is_interrupted(&self, call_id: &str) -> bool {
        lock(&self.interrupted).contains_key(call_id)
    }

    /// Records that the nested run of `call_id` ended on a tool guardrail
    /// tripwire (`input`: an input guardrail), for the outer loop to raise.
    pub(crate) fn store_tripwire(
        &self,
        call_id: &str,
        result: Box<ToolGuardrailResult>,
        input: bool,
    ) {
        lock(&self.tripwires).insert(call_id.to_owned(), (result, input));
    }

    /// The tool guardrail tripwire the nested run of `call_id` ended on.
    pub(crate) fn take_tripwire(&self, call_id: &str) -> Option<(Box<ToolGuardrailResult>, bool)> {
        lock(&self.tripwires).remove(call_id)
    }

    /// States a resumed run did not get to use (it stopped first).
    fn drain_resume(&self) -> Vec<(String, RunState)> {
        lock(&self.resume).drain().collect()
    }
}

/// A turn whose model response was accepted and whose calls are not all
/// resolved yet.
#[derive(Clone, Debug)]
struct ActiveTurn {
    tool_calls: Vec<FunctionCall>,
    handoff_calls: Vec<FunctionCall>,
    last_message: Option<usize>,
    turn_start_items: usize,
    turn_start_transcript: usize,
    /// Whether the session has the turn's items.
    saved: bool,
}

/// The loop's human-in-the-loop state.
#[derive(Default)]
pub(crate) struct Hitl {
    approvals: Approvals,
    active: Option<ActiveTurn>,
    /// Set while the current turn's model call has not answered.
    turn_open: bool,
    /// The interrupted turn a resumed run finishes first.
    resume: Option<ActiveTurn>,
    resumed: bool,
    staged_input: Vec<Item>,
    /// Undecided calls found while resolving the current turn.
    pending: Vec<ToolApprovalItem>,
    interruptions: Vec<ToolApprovalItem>,
    /// Paused nested runs of the interrupted turn, by call id.
    nested_states: BTreeMap<String, RunState>,
    pub(crate) nested: Arc<NestedRuns>,
    /// Calls of the current turn that finished while the turn's other calls
    /// still ran: kept (for a cancelled turn's state) until the turn's
    /// outputs become items, so a resumed turn does not run them again.
    finished: Mutex<Vec<ToolCallResult>>,
}

/// The second half of a turn, ready to run: what the model asked for.
pub(super) struct TurnPlan<C> {
    pub(super) agent: Agent<C>,
    pub(super) roster: Vec<Arc<dyn Tool<C>>>,
    pub(super) tool_calls: Vec<FunctionCall>,
    /// Handoff calls with the index of their handoff in `agent.handoffs()`.
    pub(super) handoff_calls: Vec<(FunctionCall, usize)>,
    pub(super) last_message: Option<usize>,
    pub(super) turn_start_transcript: usize,
    pub(super) turn_start_items: usize,
}

/// What the approval gate decided for one call.
enum Slot {
    /// Resolved before (a resumed turn): its output is already an item.
    Done(ToolCallResult),
    /// Finished before a cancel (a resumed turn): its output becomes an
    /// item now, without running the call again.
    Finished(ToolCallResult),
    /// Runs now.
    Run,
    /// Rejected: answered with the rejection message.
    Rejected(ToolCallResult),
    /// Waits for a decision.
    Pending(ToolApprovalItem),
}

/// The calls of a turn, sorted by the approval gate.
pub(super) struct Gate {
    /// The calls to run now, in call order.
    pub(super) run: Vec<FunctionCall>,
    slots: Vec<Slot>,
    /// The agent whose turn it is and where the turn's items start, for its
    /// hosted MCP approval requests.
    agent: String,
    turn_start_items: usize,
}

impl<C: Send + Sync + 'static> RunLoop<C> {
    /// A loop that continues the run of `state`.
    pub(crate) fn resume(
        starting_agent: Agent<C>,
        state: RunState,
        mut opts: RunOptions<C>,
        ctx: RunContext<C>,
        toolkits: Arc<ToolkitSessions<C>>,
        sink: Option<EventSink>,
    ) -> Result<Self, Error> {
        if state.is_finished() {
            return Err(Error::UserError(
                "this run state is of a run that finished; start a new run with its \
                 input list (RunState::to_input_list) instead"
                    .into(),
            ));
        }
        state.validate_against(&starting_agent)?;
        let d = state.data;
        let agent = find_agent(&starting_agent, &d.current_agent).ok_or_else(|| {
            Error::UserError(format!("agent `{}` is not reachable", d.current_agent))
        })?;
        if !d.pending_input.is_empty()
            && d.pending.is_some()
            && !matches!(agent.tool_use_behavior(), ToolUseBehavior::RunLlmAgain)
        {
            return Err(Error::UserError(format!(
                "input was added to the run state, but the interrupted turn's tool results \
                 may end the run before another model call (agent `{}` has a \
                 tool_use_behavior other than run_llm_again)",
                agent.name()
            )));
        }
        opts.max_turns = d.max_turns;
        if opts.previous_response_id.is_none() {
            opts.previous_response_id = d.previous_response_id;
        }
        if opts.conversation_id.is_none() {
            opts.conversation_id = d.conversation_id;
        }
        opts.auto_previous_response_id |= d.auto_previous_response_id;
        let rc = &mut opts.run_config;
        if rc.trace_id.is_none() {
            rc.trace_id = d.trace.trace_id;
        }
        if rc.group_id.is_none() {
            rc.group_id = d.trace.group_id;
        }
        if rc.trace_metadata.is_empty() {
            rc.trace_metadata = d.trace.metadata.into_iter().collect();
        }
        if let Some(name) = d.trace.workflow_name {
            if rc.workflow_name == RunConfig::<C>::default().workflow_name {
                rc.workflow_name = name;
            }
        }
        ctx.add_usage(|u| u.add(&d.usage));

        let mut run = Self::new(starting_agent, d.original_input, opts, ctx, toolkits, sink);
        run.agent = agent;
        run.turn = d.current_turn;
        run.new_items = d.generated_items;
        run.raw_responses = d.model_responses;
        run.transcript = d.transcript;
        run.sent_upto = d.server_sent.min(run.transcript.len());
        run.tools_used = d.tools_used.into_iter().collect();
        // Before the first turn's model call answered, the input guardrails
        // run again; their earlier results would be duplicates.
        if d.current_turn > 0 {
            run.input_guardrail_results = d.input_guardrail_results;
        }
        run.output_guardrail_results = d.output_guardrail_results;
        run.tool_input_guardrail_results = d.tool_input_guardrail_results;
        run.tool_output_guardrail_results = d.tool_output_guardrail_results;
        let transcript_len = run.transcript.len();
        let hitl = &mut run.hitl;
        hitl.resumed = true;
        hitl.approvals = d.approvals;
        hitl.staged_input = d.pending_input;
        if let Some(p) = &d.pending {
            *lock(&hitl.finished) = p.completed.clone();
        }
        hitl.resume = d.pending.map(|p| ActiveTurn {
            tool_calls: p.tool_calls,
            handoff_calls: p.handoff_calls,
            last_message: p.last_message,
            turn_start_items: p.turn_start_items,
            turn_start_transcript: transcript_len.saturating_sub(p.unsaved),
            saved: false,
        });
        for (call_id, nested) in d.nested {
            hitl.nested.put_resume(call_id, nested);
        }
        Ok(run)
    }

    /// `prepare` of a resumed run: the model input comes from the state (the
    /// session already has what was saved). Returns false for a new run.
    pub(super) fn prepare_resumed(&mut self) -> Result<bool, Error> {
        if !self.hitl.resumed {
            return Ok(false);
        }
        if self.opts.session.is_some() && self.server_managed {
            return Err(Error::UserError(
                "a session cannot be combined with previous_response_id, \
                 auto_previous_response_id or conversation_id"
                    .into(),
            ));
        }
        self.emit(RunStreamEvent::AgentUpdated {
            agent: self.agent.name().to_owned(),
        });
        Ok(true)
    }

    /// Called at the top of every turn. A resumed run first finishes the
    /// interrupted turn: its plan is returned and no model is called.
    /// Otherwise staged input is admitted, and the model call begins.
    pub(super) async fn before_model_turn(&mut self) -> Result<Option<TurnPlan<C>>, Error> {
        if let Some(turn) = self.hitl.resume.take() {
            return self.resumed_plan(turn).await.map(Some);
        }
        if !self.hitl.staged_input.is_empty() {
            if let Some(session) = &self.opts.session {
                session.add_items(&self.hitl.staged_input).await?;
            }
            let agent: Arc<str> = Arc::from(self.agent.name());
            for item in std::mem::take(&mut self.hitl.staged_input) {
                self.transcript.push(item.clone());
                self.new_items
                    .push(RunItem::new(Arc::clone(&agent), RunItemKind::Input, item));
            }
        }
        self.hitl.turn_open = true;
        Ok(None)
    }

    async fn resumed_plan(&mut self, turn: ActiveTurn) -> Result<TurnPlan<C>, Error> {
        // Keep the turn pending while the roster is built, for a cancel.
        self.hitl.resume = Some(turn.clone());
        let agent = self.agent.clone();
        let ctx = self.ctx.clone();
        let sessions = self.toolkits.for_agent(&agent, &ctx).await?;
        self.hitl.resume = None;
        ctx.set_position(Arc::from(agent.name()), self.turn);
        // The same roster the turn's model call saw (`Agent::all_tools`).
        let roster = agent.all_tools(&ctx, &sessions);
        let mut handoff_calls = Vec::with_capacity(turn.handoff_calls.len());
        for call in &turn.handoff_calls {
            let idx = agent
                .handoffs()
                .iter()
                .position(|h| h.tool_name == call.name)
                .ok_or_else(|| {
                    Error::UserError(format!(
                        "the interrupted turn calls handoff `{}`, which agent `{}` no longer has",
                        call.name,
                        agent.name()
                    ))
                })?;
            handoff_calls.push((call.clone(), idx));
        }
        // The turn's approval requests are answered now or asked again.
        let start = turn.turn_start_items.min(self.new_items.len());
        let mut turn_items = self.new_items.split_off(start);
        turn_items.retain(|i| i.kind != RunItemKind::ToolApproval);
        self.new_items.extend(turn_items);
        Ok(TurnPlan {
            agent,
            roster,
            tool_calls: turn.tool_calls,
            handoff_calls,
            last_message: turn.last_message,
            turn_start_transcript: turn.turn_start_transcript,
            turn_start_items: turn.turn_start_items,
        })
    }

    /// The model answered: the turn's calls are pending until resolved.
    /// Decisions recorded on the run context so far are applied.
    pub(super) fn begin_turn(&mut self, plan: &TurnPlan<C>) {
        self.apply_context_decisions();
        self.hitl.turn_open = false;
        self.hitl.active = Some(ActiveTurn {
            tool_calls: plan.tool_calls.clone(),
            handoff_calls: plan.handoff_calls.iter().map(|(c, _)| c.clone()).collect(),
            last_message: plan.last_message,
            turn_start_items: plan.turn_start_items,
            turn_start_transcript: plan.turn_start_transcript,
            saved: false,
        });
    }

    /// The session has the turn's items.
    pub(super) fn turn_saved(&mut self) {
        if let Some(turn) = &mut self.hitl.active {
            turn.saved = true;
        }
    }

    /// The turn is over (another turn follows, or the run ends).
    pub(super) fn end_turn(&mut self) {
        self.hitl.active = None;
        self.hitl.turn_open = false;
        self.clear_finished();
    }

    /// Notes a call of the current turn that finished (while others may
    /// still run). The output of a nested run that paused is not an output.
    pub(super) fn record_finished(&self, result: &ToolCallResult) {
        if self.hitl.nested.is_interrupted(&result.call_id) {
            return;
        }
        lock(&self.hitl.finished).push(result.clone());
    }

    /// The turn's outputs are items now (or the turn is over).
    pub(super) fn clear_finished(&self) {
        lock(&self.hitl.finished).clear();
    }

    /// Sorts a turn's calls: already resolved (a resumed turn), to run,
    /// rejected, or waiting for a decision. Recorded decisions come first
    /// (exact, then sticky); then the tool's `needs_approval`.
    pub(super) async fn approval_gate(
        &self,
        roster: &[Arc<dyn Tool<C>>],
        calls: &[FunctionCall],
        agent: &Agent<C>,
        turn_start_items: usize,
    ) -> Gate {
        let mut done: HashMap<&str, (&ToolOutput, bool)> = HashMap::new();
        for item in self.new_items.get(turn_start_items..).unwrap_or_default() {
            if let RunItemKind::ToolCallOutput { output, is_error } = &item.kind {
                if let Some(o) = item.item.as_function_call_output() {
                    done.insert(o.call_id.as_str(), (output, *is_error));
                }
            }
        }
        let finished = lock(&self.hitl.finished).clone();
        let mut run = Vec::with_capacity(calls.len());
        let mut slots = Vec::with_capacity(calls.len());
        for call in calls {
            if let Some(r) = finished.iter().find(|r| r.call_id == call.call_id) {
                slots.push(Slot::Finished(r.clone()));
                continue;
            }
            if let Some((output, is_error)) = done.get(call.call_id.as_str()) {
                slots.push(Slot::Done(ToolCallResult {
                    tool_name: call.name.clone(),
                    call_id: call.call_id.clone(),
                    output: (*output).clone(),
                    is_error: *is_error,
                }));
                continue;
            }
            let decision = if self.hitl.approvals.is_empty() {
                None
            } else {
                self.hitl.approvals.decision(&call.name, &call.call_id)
            };
            let slot = match decision {
                Some(Decision::Approved) => Slot::Run,
                Some(Decision::Rejected(message)) => Slot::Rejected(ToolCallResult {
                    tool_name: call.name.clone(),
                    call_id: call.call_id.clone(),
                    output: ToolOutput::Text(message),
                    is_error: false,
                }),
                None => match roster.iter().find(|t| t.name() == call.name) {
                    Some(tool)
                        if tool
                            .needs_approval(&self.ctx, &call.arguments, &call.call_id)
                            .await =>
                    {
                        Slot::Pending(ToolApprovalItem::new(agent.name(), call))
                    }
                    _ => Slot::Run,
                },
            };
            if matches!(slot, Slot::Run) {
                run.push(call.clone());
            }
            slots.push(slot);
        }
        Gate {
            run,
            slots,
            agent: agent.name().to_owned(),
            turn_start_items,
        }
    }

    /// Merges the gate with the outputs of the calls that ran (in the order
    /// of `gate.run`). Returns the results to add as items now, and all the
    /// turn's results (for `tool_use_behavior`). A call whose nested
    /// agent-as-tool run paused stays pending, with the nested run's
    /// interruptions.
    pub(super) fn settle_approvals(
        &mut self,
        gate: Gate,
        executed: Vec<ToolCallResult>,
    ) -> (Vec<ToolCallResult>, Vec<ToolCallResult>) {
        let mut executed = executed.into_iter();
        let mut fresh = Vec::with_capacity(gate.slots.len());
        let mut all = Vec::with_capacity(gate.slots.len());
        let Gate {
            slots,
            agent,
            turn_start_items,
            ..
        } = gate;
        for slot in slots {
            match slot {
                Slot::Done(r) => all.push(r),
                Slot::Rejected(r) | Slot::Finished(r) => {
                    fresh.push(r.clone());
                    all.push(r);
                }
                Slot::Pending(item) => self.hitl.pending.push(item),
                Slot::Run => {
                    let Some(r) = executed.next() else { continue };
                    match self.hitl.nested.take_interrupted(&r.call_id) {
                        Some(state) => {
                            self.hitl
                                .pending
                                .extend(state.data.interruptions.iter().map(|i| {
                                    let mut item = i.clone();
                                    item.parent_call_ids.insert(0, r.call_id.clone());
                                    item
                                }));
                            self.hitl.nested_states.insert(r.call_id, state);
                        }
                        None => {
                            fresh.push(r.clone());
                            all.push(r);
                        }
                    }
                }
            }
        }
        // Hosted MCP approval requests: answered now, or interruptions.
        let mcp = self.mcp_gate(&agent, turn_start_items);
        self.hitl.pending.extend(mcp);
        (fresh, all)
    }

    /// Ends the turn as interrupted if calls wait for a decision: each one
    /// becomes a `tool_approval_requested` item.
    pub(super) fn interrupt_if_pending(&mut self) -> Option<TurnOutcome> {
        if self.hitl.pending.is_empty() {
            return None;
        }
        let pending = std::mem::take(&mut self.hitl.pending);
        for item in &pending {
            let agent: Arc<str> = Arc::from(item.agent.as_str());
            self.push_item(RunItemKind::ToolApproval, item.to_item(), &agent);
        }
        self.hitl.interruptions = pending;
        Some(TurnOutcome::Interrupted)
    }

    /// Moves the decisions recorded with `RunContext::approve` / `reject`
    /// into the run's approvals.
    fn apply_context_decisions(&mut self) {
        for d in self.ctx.take_decisions() {
            self.hitl.approvals.apply(d);
        }
    }

    /// Whether the turn that started at `turn_start_items` holds hosted MCP
    /// approval requests (all answered once the turn gets past the gate).
    pub(super) fn turn_has_mcp_requests(&self, turn_start_items: usize) -> bool {
        self.new_items
            .get(turn_start_items..)
            .unwrap_or_default()
            .iter()
            .any(|i| i.kind == RunItemKind::McpApprovalRequest)
    }

    /// Answers the turn's hosted MCP approval requests that have a
    /// decision (an `mcp_approval_response` item each) and returns the
    /// undecided ones as interruptions. Requests answered earlier in the
    /// turn (before a pause) are skipped.
    fn mcp_gate(&mut self, agent: &str, turn_start_items: usize) -> Vec<ToolApprovalItem> {
        let turn = self.new_items.get(turn_start_items..).unwrap_or_default();
        let answered: Vec<&str> = turn
            .iter()
            .filter_map(|i| hosted::answered_request_id(&i.item))
            .collect();
        let requests: Vec<McpApprovalRequest> = turn
            .iter()
            .filter(|i| i.kind == RunItemKind::McpApprovalRequest)
            .filter_map(|i| McpApprovalRequest::from_item(&i.item))
            .filter(|r| !answered.contains(&r.id.as_str()))
            .collect();
        let agent_name: Arc<str> = Arc::from(agent);
        let mut pending = Vec::new();
        for request in requests {
            let key = mcp_key(&request.server_label, &request.name);
            let (approve, reason) = match self.hitl.approvals.decision(&key, &request.id) {
                Some(Decision::Approved) => (true, None),
                Some(Decision::Rejected(message)) => (false, Some(message)),
                None => {
                    pending.push(ToolApprovalItem::mcp(agent, &request));
                    continue;
                }
            };
            let item = hosted::mcp_approval_response(&request.id, approve, reason.as_deref());
            self.push_item(RunItemKind::McpApprovalResponse, item, &agent_name);
        }
        pending
    }

    /// What `to_state` needs, taken as the loop ends.
    pub(super) fn take_snapshot(&mut self) -> Box<Snapshot> {
        self.apply_context_decisions();
        let transcript = std::mem::take(&mut self.transcript);
        let pending = self
            .hitl
            .active
            .take()
            .or_else(|| self.hitl.resume.take())
            .map(|t| PendingTurn {
                completed: lock(&self.hitl.finished)
                    .iter()
                    .filter(|r| t.tool_calls.iter().any(|c| c.call_id == r.call_id))
                    .cloned()
                    .collect(),
                unsaved: if t.saved {
                    0
                } else {
                    transcript.len().saturating_sub(t.turn_start_transcript)
                },
                tool_calls: t.tool_calls,
                handoff_calls: t.handoff_calls,
                last_message: t.last_message,
                turn_start_items: t.turn_start_items,
            });
        // A model call that did not answer is made again on resume.
        let current_turn = if self.hitl.turn_open {
            self.turn.saturating_sub(1)
        } else {
            self.turn
        };
        let mut nested = std::mem::take(&mut self.hitl.nested_states);
        if pending.is_some() {
            // Nested runs the turn did not resume yet keep their state.
            for (call_id, state) in self.hitl.nested.drain_resume() {
                nested.entry(call_id).or_insert(state);
            }
        }
        let mut tools_used: Vec<String> = self.tools_used.iter().cloned().collect();
        tools_used.sort();
        let rc = &self.opts.run_config;
        let context: Arc<dyn Any + Send + Sync> = self.ctx.context_arc().clone();
        Box::new(Snapshot {
            current_turn,
            max_turns: self.opts.max_turns,
            server_sent: self.sent_upto.min(transcript.len()),
            transcript,
            pending,
            interruptions: std::mem::take(&mut self.hitl.interruptions),
            approvals: std::mem::take(&mut self.hitl.approvals),
            tools_used,
            previous_response_id: self.previous_response_id.clone(),
            conversation_id: self.opts.conversation_id.clone(),
            auto_previous_response_id: self.opts.auto_previous_response_id,
            pending_input: std::mem::take(&mut self.hitl.staged_input),
            nested,
            trace: TraceState {
                trace_id: rc.trace_id.clone(),
                workflow_name: Some(rc.workflow_name.clone()),
                group_id: rc.group_id.clone(),
                metadata: rc.trace_metadata.iter().cloned().collect(),
            },
            context: Some(context),
        })
    }
}
