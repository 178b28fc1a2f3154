//! [`RunState`]: a paused, cancelled or finished run, as data. Approve or
//! reject its interruptions, add input, serialize it to JSON and back, and
//! hand it to [`Runner::run`](crate::Runner::run) (or any other entry point)
//! to continue the same run through the same agent loop.
//!
//! # JSON format
//!
//! [`RunState::to_json`] writes an object whose `"$schemaVersion"` is
//! [`RUN_STATE_SCHEMA_VERSION`]; [`RunState::from_json`] reads the versions
//! in [`SUPPORTED_RUN_STATE_SCHEMA_VERSIONS`] and rejects every other one.
//! Key names follow openai-agents-python's `RunState` where the concept is
//! the same (`current_turn`, `current_agent`, `original_input`,
//! `generated_items`, `model_responses`, `approvals`, `max_turns`, ...).
//! The changelog is in `docs/human_in_the_loop.md`.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use agents_core::agent::ToolCallResult;
use agents_core::guardrail::ToolGuardrailResult;
use agents_core::hosted::McpApprovalRequest;
use agents_core::{
    Agent, FinalOutput, FunctionCall, InputGuardrailResult, Item, ModelResponse,
    OutputGuardrailResult, RunItem, RunItemKind, ToolOutput, Usage,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::approvals::{Always, Approvals, ToolApprovalItem};
use crate::runner::RunInput;

/// The schema version [`RunState::to_json`] writes.
pub const RUN_STATE_SCHEMA_VERSION: &str = "1.1";

/// The schema versions [`RunState::from_json`] reads, oldest first.
pub const SUPPORTED_RUN_STATE_SCHEMA_VERSIONS: &[&str] = &["1.0", "1.1"];

/// Why a run state could not be loaded, saved or changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunStateError {
    /// The text is not JSON, or not a run state of the announced version.
    #[error("malformed run state: {0}")]
    Malformed(String),
    /// The JSON has no `"$schemaVersion"`.
    #[error("the run state has no \"$schemaVersion\"")]
    MissingSchemaVersion,
    /// The JSON has a `"$schemaVersion"` this SDK does not read.
    #[error(
        "unsupported run state schema version `{found}` (supported: {})",
        SUPPORTED_RUN_STATE_SCHEMA_VERSIONS.join(", ")
    )]
    UnsupportedSchemaVersion {
        /// The version found.
        found: String,
    },
    /// The state names an agent that the starting agent cannot reach
    /// through its handoffs.
    #[error("agent `{name}` is not reachable from the starting agent `{starting_agent}`")]
    UnknownAgent {
        /// The agent the state names.
        name: String,
        /// The starting agent given.
        starting_agent: String,
    },
    /// The interrupted turn calls a tool (or handoff) that the agent no
    /// longer has.
    #[error("agent `{agent}` has no tool `{tool}` any more")]
    UnknownTool {
        /// The agent.
        agent: String,
        /// The tool (or handoff tool) name.
        tool: String,
    },
    /// The state's parts contradict each other (an index out of range, an
    /// interruption without its call, ...): it was edited or corrupted.
    #[error("inconsistent run state: {0}")]
    Inconsistent(String),
    /// The user context could not be serialized or deserialized, or the state
    /// holds none (or one of another type).
    #[error("run state context: {0}")]
    Context(String),
    /// The state could not be written as JSON.
    #[error("cannot serialize the run state: {0}")]
    Serialize(String),
    /// The state cannot take this change (input added to a finished run, ...).
    #[error("{0}")]
    InvalidOperation(String),
}

impl From<RunStateError> for agents_core::Error {
    fn from(e: RunStateError) -> Self {
        agents_core::Error::UserError(e.to_string())
    }
}

/// The interrupted turn: the model answered, some of its calls are not
/// resolved yet.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PendingTurn {
    /// The turn's function tool calls, in order.
    pub(crate) tool_calls: Vec<FunctionCall>,
    /// The turn's handoff calls, in order.
    pub(crate) handoff_calls: Vec<FunctionCall>,
    /// Index (in the generated items) of the turn's last assistant message.
    pub(crate) last_message: Option<usize>,
    /// Index of the turn's first generated item.
    pub(crate) turn_start_items: usize,
    /// How many items at the end of the model input the session has not
    /// stored yet.
    pub(crate) unsaved: usize,
    /// Calls of the turn that had finished when the run was cancelled while
    /// the turn's other calls ran: a resumed turn does not run them again.
    pub(crate) completed: Vec<ToolCallResult>,
}

/// Trace identifiers of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) workflow_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, String>,
}

/// Everything of a run state but the user context.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StateData {
    pub(crate) current_turn: u32,
    pub(crate) max_turns: Option<u32>,
    pub(crate) current_agent: String,
    pub(crate) original_input: Vec<Item>,
    pub(crate) pending_input: Vec<Item>,
    pub(crate) generated_items: Vec<RunItem>,
    pub(crate) model_responses: Vec<ModelResponse>,
    pub(crate) usage: Usage,
    pub(crate) approvals: Approvals,
    pub(crate) tools_used: Vec<String>,
    pub(crate) previous_response_id: Option<String>,
    pub(crate) conversation_id: Option<String>,
    pub(crate) auto_previous_response_id: bool,
    /// What the model sees: the history plus the model-input generated items.
    pub(crate) transcript: Vec<Item>,
    /// How many transcript items a server-managed conversation has seen.
    pub(crate) server_sent: usize,
    pub(crate) pending: Option<PendingTurn>,
    pub(crate) interruptions: Vec<ToolApprovalItem>,
    pub(crate) final_output: Option<FinalOutput>,
    /// Paused agent-as-tool runs, by the outer call id.
    pub(crate) nested: BTreeMap<String, RunState>,
    pub(crate) input_guardrail_results: Vec<InputGuardrailResult>,
    pub(crate) output_guardrail_results: Vec<OutputGuardrailResult>,
    pub(crate) tool_input_guardrail_results: Vec<ToolGuardrailResult>,
    pub(crate) tool_output_guardrail_results: Vec<ToolGuardrailResult>,
    pub(crate) trace: TraceState,
}

/// A run, paused (interruptions waiting for approval), cancelled, or
/// finished, as data.
///
/// Get one from [`RunResult::to_state`](crate::RunResult::to_state) or
/// [`RunError::to_state`](crate::RunError::to_state) (a cancelled run), or
/// load one with [`RunState::from_json`]. Decide its interruptions with
/// [`approve`](RunState::approve) and [`reject`](RunState::reject), then
/// pass it as the input of [`Runner::run`](crate::Runner::run),
/// [`Runner::run_streamed`](crate::Runner::run_streamed) or
/// [`RunSession::run`](crate::RunSession::run) with the same starting agent:
/// the run continues where it stopped, through the same agent loop.
/// Resuming an interrupted turn runs the approved calls, answers the
/// rejected ones with the rejection message, and does not call the model
/// again for that turn; undecided calls come back as interruptions.
///
/// The state holds the user context of the run it came from (not
/// serialized, except through [`to_json_with_context`](RunState::to_json_with_context));
/// a resumed run uses [`RunOptions::context`](crate::RunOptions::context)
/// if set, else that context. The turn limit of the original run applies
/// (see [`set_max_turns`](RunState::set_max_turns)).
///
/// ```
/// use agents_core::testing::{function_call_with_id, ScriptedModel};
/// use agents_core::{Agent, FunctionTool, ToolContext};
/// use agents_runner::{Always, RunOptions, RunState, Runner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let model = ScriptedModel::new();
/// model.push_output(vec![function_call_with_id("call_1", "delete_file", r#"{"path":"a.txt"}"#)]);
/// model.push_text("Deleted a.txt.");
///
/// let delete = FunctionTool::new("delete_file", "Deletes a file.", |_ctx: ToolContext, _args: agents_core::NoArgs| async move {
///     Ok::<_, String>("deleted".to_owned())
/// })
/// .needs_approval(true);
/// let agent: Agent = Agent::builder("Files").model(model.clone()).tool(delete).build();
///
/// let result = Runner::run(&agent, "Delete a.txt", RunOptions::default()).await?;
/// assert!(result.final_output.is_none());
/// let item = result.interruptions()[0].clone();
/// assert_eq!(item.tool_name, "delete_file");
///
/// // Persist, ask a human, load again.
/// let json = result.to_state().to_json()?;
/// let mut state = RunState::from_json(&agent, &json)?;
/// state.approve(&item, Always::No);
///
/// let result = Runner::run(&agent, state, RunOptions::default()).await?;
/// assert_eq!(result.final_output_text(), "Deleted a.txt.");
/// model.assert_complete();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RunState {
    pub(crate) data: StateData,
    pub(crate) context: Option<Arc<dyn Any + Send + Sync>>,
}

impl PartialEq for RunState {
    /// Compares everything but the user context.
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl fmt::Debug for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunState")
            .field("current_turn", &self.data.current_turn)
            .field("current_agent", &self.data.current_agent)
            .field("interruptions", &self.data.interruptions)
            .field("generated_items", &self.data.generated_items.len())
            .field("has_context", &self.context.is_some())
            .finish_non_exhaustive()
    }
}

impl RunState {
    /// The tool calls the run paused on (those of nested agent-as-tool runs
    /// included, with their [`parent_call_ids`](ToolApprovalItem::parent_call_ids)).
    pub fn interruptions(&self) -> &[ToolApprovalItem] {
        &self.data.interruptions
    }

    /// Whether the run paused on approvals.
    pub fn is_interrupted(&self) -> bool {
        !self.data.interruptions.is_empty()
    }

    /// Whether the run had finished with a final output. A finished state
    /// cannot be resumed; start a new run with its input list instead.
    pub fn is_finished(&self) -> bool {
        self.data.final_output.is_some()
    }

    /// Approves a call (and, with [`Always::Yes`], every later call of the
    /// same tool). A call of a nested agent-as-tool run is decided in that
    /// run's state.
    pub fn approve(&mut self, item: &ToolApprovalItem, always: Always) {
        let key = item.approval_key();
        self.target(&item.parent_call_ids)
            .data
            .approvals
            .approve(&key, &item.call_id, always);
    }

    /// Rejects a call (and, with [`Always::Yes`], every later call of the
    /// same tool). The model reads `message`, or
    /// [`DEFAULT_REJECTION_MESSAGE`](crate::DEFAULT_REJECTION_MESSAGE), as
    /// the call's output.
    pub fn reject(&mut self, item: &ToolApprovalItem, message: Option<String>, always: Always) {
        let key = item.approval_key();
        self.target(&item.parent_call_ids).data.approvals.reject(
            &key,
            &item.call_id,
            message,
            always,
        );
    }

    /// The recorded decision on a call: `Some(true)` approved, `Some(false)`
    /// rejected, `None` undecided.
    pub fn approval_status(&self, item: &ToolApprovalItem) -> Option<bool> {
        let mut state = self;
        for parent in &item.parent_call_ids {
            match state.data.nested.get(parent) {
                Some(s) => state = s,
                None => break,
            }
        }
        state
            .data
            .approvals
            .decision(&item.approval_key(), &item.call_id)
            .map(|d| d == crate::approvals::Decision::Approved)
    }

    /// The state deciding calls under `parents` (the deepest one that exists).
    fn target(&mut self, parents: &[String]) -> &mut RunState {
        match parents.split_first() {
            Some((first, rest)) if self.data.nested.contains_key(first) => self
                .data
                .nested
                .get_mut(first)
                .map(|s| s.target(rest))
                .unwrap_or_else(|| unreachable!("checked above")),
            _ => self,
        }
    }

    /// Stages input for the resumed run. It is admitted (added to the
    /// conversation and to the run's items) just before the next model call.
    /// Fails for a finished state, and for a [`RunInput::State`].
    ///
    /// Resuming fails if the interrupted turn's tool results may end the run
    /// before another model call (a `tool_use_behavior` other than
    /// `run_llm_again`), because the input could then never be admitted.
    pub fn add_input(&mut self, input: impl Into<RunInput>) -> Result<(), RunStateError> {
        if self.is_finished() {
            return Err(RunStateError::InvalidOperation(
                "cannot add input to a finished run state".into(),
            ));
        }
        match input.into() {
            RunInput::Text(t) => self.data.pending_input.push(Item::user(t)),
            RunInput::Items(items) => self.data.pending_input.extend(items),
            RunInput::State(_) => {
                return Err(RunStateError::InvalidOperation(
                    "a run state is not input for another run state".into(),
                ))
            }
        }
        Ok(())
    }

    /// Input staged with [`add_input`](RunState::add_input) and not admitted yet.
    pub fn pending_input(&self) -> &[Item] {
        &self.data.pending_input
    }

    /// Model calls made so far (turns).
    pub fn current_turn(&self) -> u32 {
        self.data.current_turn
    }

    /// The turn limit the resumed run keeps (`None`: unlimited).
    pub fn max_turns(&self) -> Option<u32> {
        self.data.max_turns
    }

    /// Changes the turn limit of the resumed run.
    pub fn set_max_turns(&mut self, max_turns: Option<u32>) {
        self.data.max_turns = max_turns;
    }

    /// The name of the agent that was running.
    pub fn current_agent(&self) -> &str {
        &self.data.current_agent
    }

    /// The run's original input.
    pub fn original_input(&self) -> &[Item] {
        &self.data.original_input
    }

    /// Items produced so far.
    pub fn generated_items(&self) -> &[RunItem] {
        &self.data.generated_items
    }

    /// Model responses so far.
    pub fn model_responses(&self) -> &[ModelResponse] {
        &self.data.model_responses
    }

    /// Usage so far.
    pub fn usage(&self) -> &Usage {
        &self.data.usage
    }

    /// The server-side response the next model call continues from.
    pub fn previous_response_id(&self) -> Option<&str> {
        self.data.previous_response_id.as_deref()
    }

    /// The server-side conversation, if any.
    pub fn conversation_id(&self) -> Option<&str> {
        self.data.conversation_id.as_deref()
    }

    /// The run's trace id, if one was configured.
    pub fn trace_id(&self) -> Option<&str> {
        self.data.trace.trace_id.as_deref()
    }

    /// The final output of a finished run.
    pub fn final_output(&self) -> Option<&FinalOutput> {
        self.data.final_output.as_ref()
    }

    /// The user context the state holds, if it is a `C`.
    pub fn context<C: Send + Sync + 'static>(&self) -> Option<Arc<C>> {
        Arc::clone(self.context.as_ref()?).downcast::<C>().ok()
    }

    /// Replaces the user context the resumed run gets (when
    /// [`RunOptions::context`](crate::RunOptions::context) is not set).
    pub fn set_context<C: Send + Sync + 'static>(&mut self, context: Arc<C>) {
        self.context = Some(context);
    }

    /// The input plus every produced item, as the model would see them next.
    pub fn to_input_list(&self) -> Vec<Item> {
        let mut out = self.data.original_input.clone();
        out.extend(
            self.data
                .generated_items
                .iter()
                .filter(|i| i.is_model_input())
                .map(|i| i.item.clone()),
        );
        out
    }

    /// The state as JSON, without the user context.
    pub fn to_json(&self) -> Result<String, RunStateError> {
        let json = self.to_json_value(None)?;
        serde_json::to_string(&json).map_err(|e| RunStateError::Serialize(e.to_string()))
    }

    /// The state as JSON, with the user context written by `serialize`.
    /// Fails if the state holds no context of type `C`.
    pub fn to_json_with_context<C, E>(
        &self,
        serialize: impl FnOnce(&C) -> Result<Value, E>,
    ) -> Result<String, RunStateError>
    where
        C: Send + Sync + 'static,
        E: fmt::Display,
    {
        let context = self.context::<C>().ok_or_else(|| {
            RunStateError::Context(format!(
                "the state holds no context of type `{}`",
                std::any::type_name::<C>()
            ))
        })?;
        let value = serialize(&context)
            .map_err(|e| RunStateError::Context(format!("serializer failed: {e}")))?;
        let json = self.to_json_value(Some(value))?;
        serde_json::to_string(&json).map_err(|e| RunStateError::Serialize(e.to_string()))
    }

    /// Loads a state written by [`to_json`](RunState::to_json), checking it
    /// against `starting_agent` (the agent the run started with): the current
    /// agent must be reachable through its handoffs, and the interrupted
    /// turn's tools must still exist. A serialized context is ignored.
    pub fn from_json<C>(starting_agent: &Agent<C>, json: &str) -> Result<RunState, RunStateError> {
        let (state, _) = parse(json)?;
        state.validate_against(starting_agent)?;
        Ok(state)
    }

    /// Like [`from_json`](RunState::from_json), also reading the user context
    /// with `deserialize`. Fails if the JSON holds no context.
    pub fn from_json_with_context<C, E>(
        starting_agent: &Agent<C>,
        json: &str,
        deserialize: impl FnOnce(&Value) -> Result<C, E>,
    ) -> Result<RunState, RunStateError>
    where
        C: Send + Sync + 'static,
        E: fmt::Display,
    {
        let (mut state, context) = parse(json)?;
        state.validate_against(starting_agent)?;
        let context = context
            .ok_or_else(|| RunStateError::Context("the JSON holds no serialized context".into()))?;
        let context = deserialize(&context)
            .map_err(|e| RunStateError::Context(format!("deserializer failed: {e}")))?;
        state.context = Some(Arc::new(context));
        Ok(state)
    }

    /// Checks the state against the agents reachable from `starting_agent`.
    pub(crate) fn validate_against<C>(
        &self,
        starting_agent: &Agent<C>,
    ) -> Result<(), RunStateError> {
        let agent = find_agent(starting_agent, &self.data.current_agent).ok_or_else(|| {
            RunStateError::UnknownAgent {
                name: self.data.current_agent.clone(),
                starting_agent: starting_agent.name().to_owned(),
            }
        })?;
        if let Some(turn) = &self.data.pending {
            let open_tools = !agent.toolkits().is_empty();
            for call in &turn.tool_calls {
                if !open_tools && !agent.tools().iter().any(|t| t.name() == call.name) {
                    return Err(RunStateError::UnknownTool {
                        agent: agent.name().to_owned(),
                        tool: call.name.clone(),
                    });
                }
            }
            for call in &turn.handoff_calls {
                if !agent.handoffs().iter().any(|h| h.tool_name == call.name) {
                    return Err(RunStateError::UnknownTool {
                        agent: agent.name().to_owned(),
                        tool: call.name.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// What a run result or run error keeps so that it can become a
/// [`RunState`]: the loop's state that results and errors do not show.
#[derive(Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) current_turn: u32,
    pub(crate) max_turns: Option<u32>,
    pub(crate) transcript: Vec<Item>,
    pub(crate) server_sent: usize,
    pub(crate) pending: Option<PendingTurn>,
    pub(crate) interruptions: Vec<ToolApprovalItem>,
    pub(crate) approvals: Approvals,
    pub(crate) tools_used: Vec<String>,
    pub(crate) previous_response_id: Option<String>,
    pub(crate) conversation_id: Option<String>,
    pub(crate) auto_previous_response_id: bool,
    pub(crate) pending_input: Vec<Item>,
    pub(crate) nested: BTreeMap<String, RunState>,
    pub(crate) trace: TraceState,
    pub(crate) context: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("current_turn", &self.current_turn)
            .field("interruptions", &self.interruptions)
            .finish_non_exhaustive()
    }
}

/// The parts of a run state that results and errors show publicly.
pub(crate) struct Shown<'a> {
    pub(crate) agent: &'a str,
    pub(crate) input: &'a [Item],
    pub(crate) new_items: &'a [RunItem],
    pub(crate) raw_responses: &'a [ModelResponse],
    pub(crate) usage: &'a Usage,
    pub(crate) input_guardrail_results: &'a [InputGuardrailResult],
    pub(crate) output_guardrail_results: &'a [OutputGuardrailResult],
    pub(crate) tool_input_guardrail_results: &'a [ToolGuardrailResult],
    pub(crate) tool_output_guardrail_results: &'a [ToolGuardrailResult],
    pub(crate) final_output: Option<&'a FinalOutput>,
}

impl RunState {
    /// Puts a state together from a result's (or an error's) parts.
    pub(crate) fn assemble(s: &Snapshot, shown: Shown<'_>) -> RunState {
        RunState {
            data: StateData {
                current_turn: s.current_turn,
                max_turns: s.max_turns,
                current_agent: shown.agent.to_owned(),
                original_input: shown.input.to_vec(),
                pending_input: s.pending_input.clone(),
                generated_items: shown.new_items.to_vec(),
                model_responses: shown.raw_responses.to_vec(),
                usage: shown.usage.clone(),
                approvals: s.approvals.clone(),
                tools_used: s.tools_used.clone(),
                previous_response_id: s.previous_response_id.clone(),
                conversation_id: s.conversation_id.clone(),
                auto_previous_response_id: s.auto_previous_response_id,
                transcript: s.transcript.clone(),
                server_sent: s.server_sent,
                pending: s.pending.clone(),
                interruptions: s.interruptions.clone(),
                final_output: shown.final_output.cloned(),
                nested: s.nested.clone(),
                input_guardrail_results: shown.input_guardrail_results.to_vec(),
                output_guardrail_results: shown.output_guardrail_results.to_vec(),
                tool_input_guardrail_results: shown.tool_input_guardrail_results.to_vec(),
                tool_output_guardrail_results: shown.tool_output_guardrail_results.to_vec(),
                trace: s.trace.clone(),
            },
            context: s.context.clone(),
        }
    }
}

/// The agent named `name`: the starting agent or one reachable through
/// handoffs (breadth first; the first agent of that name wins).
pub(crate) fn find_agent<C>(start: &Agent<C>, name: &str) -> Option<Agent<C>> {
    let mut seen: Vec<Agent<C>> = vec![start.clone()];
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(agent) = queue.pop_front() {
        if agent.name() == name {
            return Some(agent);
        }
        for h in agent.handoffs() {
            let next = h.agent();
            if !seen.iter().any(|a| a.ptr_eq(next)) {
                seen.push(next.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

// ---- JSON --------------------------------------------------------------------

/// A field that must be present, `null` allowed.
fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentRef {
    name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateJson {
    #[serde(rename = "$schemaVersion")]
    schema_version: String,
    current_turn: u32,
    #[serde(deserialize_with = "required")]
    max_turns: Option<u32>,
    current_agent: AgentRef,
    original_input: Vec<Item>,
    #[serde(default)]
    pending_input: Vec<Item>,
    generated_items: Vec<ItemJson>,
    model_responses: Vec<ModelResponse>,
    usage: Usage,
    #[serde(default)]
    approvals: Approvals,
    #[serde(default)]
    tool_use_tracker: Vec<String>,
    #[serde(default)]
    previous_response_id: Option<String>,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    auto_previous_response_id: bool,
    /// `null`: the model input is the original input plus the generated items.
    #[serde(default)]
    model_input_history: Option<HistoryJson>,
    #[serde(default)]
    server_sent_items: usize,
    current_step: StepJson,
    #[serde(default)]
    last_processed_response: Option<PendingJson>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    nested_agent_tool_runs: BTreeMap<String, Value>,
    #[serde(default)]
    input_guardrail_results: Vec<InputGuardrailResult>,
    #[serde(default)]
    output_guardrail_results: Vec<OutputGuardrailResult>,
    #[serde(default)]
    tool_input_guardrail_results: Vec<ToolGuardrailResult>,
    #[serde(default)]
    tool_output_guardrail_results: Vec<ToolGuardrailResult>,
    #[serde(default)]
    trace: Option<TraceState>,
    #[serde(default)]
    context: Option<Value>,
}

/// The model input, when it is not simply the original input plus the
/// generated items (a session's history, a handoff input filter): `items`,
/// then the model-input generated items from index `generated_items_from` on.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryJson {
    items: Vec<Item>,
    generated_items_from: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum StepJson {
    /// The next thing the run does is a model call.
    #[serde(rename = "next_step_run_again")]
    RunAgain,
    /// The run was cancelled while the turn's tools ran: they run again.
    #[serde(rename = "next_step_run_tools")]
    RunTools,
    /// The run paused on approvals.
    #[serde(rename = "next_step_interruption")]
    Interruption {
        interruptions: Vec<ToolApprovalItem>,
    },
    /// The run had finished.
    #[serde(rename = "next_step_final_output")]
    FinalOutput { final_output: FinalOutput },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingJson {
    agent: AgentRef,
    tool_calls: Vec<Item>,
    #[serde(default)]
    handoff_calls: Vec<Item>,
    #[serde(default)]
    last_message_index: Option<usize>,
    turn_items_start: usize,
    #[serde(default)]
    unsaved_session_items: usize,
    /// Since 1.1: outputs of the turn's calls that finished before a cancel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    completed_tool_outputs: Vec<CompletedJson>,
}

/// The output of a call that finished before the run was cancelled.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompletedJson {
    call_id: String,
    tool_name: String,
    output: ToolOutput,
    is_error: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemJson {
    #[serde(rename = "type")]
    kind: String,
    agent: AgentRef,
    raw_item: Item,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<ToolOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_agent: Option<AgentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_agent: Option<AgentRef>,
    /// Kinds this version has no name for, in their own serde form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_item_kind: Option<RunItemKind>,
}

fn item_to_json(item: &RunItem) -> ItemJson {
    let mut out = ItemJson {
        kind: String::new(),
        agent: AgentRef {
            name: item.agent.to_string(),
        },
        raw_item: item.item.clone(),
        output: None,
        is_error: None,
        source_agent: None,
        target_agent: None,
        run_item_kind: None,
    };
    out.kind = match &item.kind {
        RunItemKind::MessageOutput => "message_output_item",
        RunItemKind::ToolCall | RunItemKind::HostedToolCall => "tool_call_item",
        RunItemKind::McpListTools => "mcp_list_tools_item",
        RunItemKind::McpApprovalRequest => "mcp_approval_request_item",
        RunItemKind::McpApprovalResponse => "mcp_approval_response_item",
        RunItemKind::ToolCallOutput { output, is_error } => {
            out.output = Some(output.clone());
            out.is_error = Some(*is_error);
            "tool_call_output_item"
        }
        RunItemKind::HandoffCall => "handoff_call_item",
        RunItemKind::HandoffOutput { source, target } => {
            out.source_agent = Some(AgentRef {
                name: source.clone(),
            });
            out.target_agent = Some(AgentRef {
                name: target.clone(),
            });
            "handoff_output_item"
        }
        RunItemKind::Reasoning => "reasoning_item",
        RunItemKind::ToolApproval => "tool_approval_item",
        RunItemKind::Input => "input_item",
        RunItemKind::Other => "other_item",
        other => {
            out.run_item_kind = Some(other.clone());
            "run_item"
        }
    }
    .to_owned();
    out
}

fn item_from_json(index: usize, j: ItemJson) -> Result<RunItem, RunStateError> {
    let bad = |what: &str| {
        RunStateError::Malformed(format!("generated_items[{index}] ({}): {what}", j.kind))
    };
    let kind = match j.kind.as_str() {
        "message_output_item" => RunItemKind::MessageOutput,
        // Function calls and hosted tool calls share the name, as in
        // openai-agents-python's run states; the raw item tells them apart.
        "tool_call_item" => match &j.raw_item {
            Item::FunctionCall(_) => RunItemKind::ToolCall,
            other => match RunItemKind::of_output(other) {
                RunItemKind::HostedToolCall => RunItemKind::HostedToolCall,
                _ => return Err(bad(&format!("`raw_item` is a `{}` item", other.kind()))),
            },
        },
        "mcp_list_tools_item" => RunItemKind::McpListTools,
        "mcp_approval_request_item" => RunItemKind::McpApprovalRequest,
        "mcp_approval_response_item" => RunItemKind::McpApprovalResponse,
        "tool_call_output_item" => RunItemKind::ToolCallOutput {
            output: j.output.clone().ok_or_else(|| bad("missing `output`"))?,
            is_error: j.is_error.ok_or_else(|| bad("missing `is_error`"))?,
        },
        "handoff_call_item" => RunItemKind::HandoffCall,
        "handoff_output_item" => RunItemKind::HandoffOutput {
            source: j
                .source_agent
                .as_ref()
                .ok_or_else(|| bad("missing `source_agent`"))?
                .name
                .clone(),
            target: j
                .target_agent
                .as_ref()
                .ok_or_else(|| bad("missing `target_agent`"))?
                .name
                .clone(),
        },
        "reasoning_item" => RunItemKind::Reasoning,
        "tool_approval_item" => RunItemKind::ToolApproval,
        "input_item" => RunItemKind::Input,
        "other_item" => RunItemKind::Other,
        "run_item" => j
            .run_item_kind
            .clone()
            .ok_or_else(|| bad("missing `run_item_kind`"))?,
        other => {
            return Err(RunStateError::Malformed(format!(
                "generated_items[{index}]: unknown item type `{other}`"
            )))
        }
    };
    let wire_ok = match &kind {
        RunItemKind::ToolCall | RunItemKind::HandoffCall => {
            matches!(j.raw_item, Item::FunctionCall(_))
        }
        RunItemKind::ToolApproval => {
            matches!(j.raw_item, Item::FunctionCall(_))
                || j.raw_item.kind() == agents_core::hosted::MCP_APPROVAL_REQUEST
        }
        RunItemKind::HostedToolCall
        | RunItemKind::McpListTools
        | RunItemKind::McpApprovalRequest
        | RunItemKind::McpApprovalResponse => RunItemKind::of_output(&j.raw_item) == kind,
        RunItemKind::ToolCallOutput { .. } | RunItemKind::HandoffOutput { .. } => {
            matches!(j.raw_item, Item::FunctionCallOutput(_))
        }
        RunItemKind::MessageOutput | RunItemKind::Input => matches!(j.raw_item, Item::Message(_)),
        RunItemKind::Reasoning => matches!(j.raw_item, Item::Reasoning(_)),
        _ => true,
    };
    if !wire_ok {
        return Err(bad(&format!(
            "`raw_item` is a `{}` item",
            j.raw_item.kind()
        )));
    }
    Ok(RunItem::new(
        Arc::from(j.agent.name.as_str()),
        kind,
        j.raw_item,
    ))
}

fn calls_from_json(what: &str, items: Vec<Item>) -> Result<Vec<FunctionCall>, RunStateError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Item::FunctionCall(c) => Ok(c),
            other => Err(RunStateError::Malformed(format!(
                "last_processed_response.{what}[{i}] is a `{}` item, not a function call",
                other.kind()
            ))),
        })
        .collect()
}

/// Reads `value` as `T`. The error names the JSON path where reading
/// failed (`generated_items[3].raw_item`, say).
fn read_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, RunStateError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        RunStateError::Malformed(if path.is_empty() || path == "." {
            inner.to_string()
        } else {
            format!("at `{path}`: {inner}")
        })
    })
}

/// Parses and checks a state (not against agents); returns the serialized
/// context too.
fn parse(json: &str) -> Result<(RunState, Option<Value>), RunStateError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| RunStateError::Malformed(e.to_string()))?;
    from_value(value)
}

fn from_value(value: Value) -> Result<(RunState, Option<Value>), RunStateError> {
    let Value::Object(map) = &value else {
        return Err(RunStateError::Malformed(
            "a run state is a JSON object".into(),
        ));
    };
    let version = match map.get("$schemaVersion") {
        None => return Err(RunStateError::MissingSchemaVersion),
        Some(Value::String(v)) if SUPPORTED_RUN_STATE_SCHEMA_VERSIONS.contains(&v.as_str()) => {
            v.clone()
        }
        Some(Value::String(v)) => {
            return Err(RunStateError::UnsupportedSchemaVersion { found: v.clone() })
        }
        Some(other) => {
            return Err(RunStateError::UnsupportedSchemaVersion {
                found: other.to_string(),
            })
        }
    };
    let j: StateJson = read_json(value)?;
    let generated_items = j
        .generated_items
        .into_iter()
        .enumerate()
        .map(|(i, item)| item_from_json(i, item))
        .collect::<Result<Vec<_>, _>>()?;
    let inconsistent = |m: String| Err(RunStateError::Inconsistent(m));

    // The model input.
    let transcript = match j.model_input_history {
        None => rebuild_transcript(&j.original_input, &generated_items, 0),
        Some(h) => {
            if h.generated_items_from > generated_items.len() {
                return inconsistent(format!(
                    "model_input_history.generated_items_from ({}) is past the {} generated items",
                    h.generated_items_from,
                    generated_items.len()
                ));
            }
            rebuild_transcript(&h.items, &generated_items, h.generated_items_from)
        }
    };
    if j.server_sent_items > transcript.len() {
        return inconsistent(format!(
            "server_sent_items ({}) is past the {} model input items",
            j.server_sent_items,
            transcript.len()
        ));
    }

    // The pending turn.
    let pending = match j.last_processed_response {
        None => None,
        Some(p) => {
            if p.agent.name != j.current_agent.name {
                return inconsistent(format!(
                    "the interrupted turn belongs to `{}`, but the current agent is `{}`",
                    p.agent.name, j.current_agent.name
                ));
            }
            let tool_calls = calls_from_json("tool_calls", p.tool_calls)?;
            let handoff_calls = calls_from_json("handoff_calls", p.handoff_calls)?;
            if p.turn_items_start > generated_items.len() {
                return inconsistent(format!(
                    "turn_items_start ({}) is past the {} generated items",
                    p.turn_items_start,
                    generated_items.len()
                ));
            }
            let turn_items = &generated_items[p.turn_items_start..];
            for call in tool_calls.iter().chain(&handoff_calls) {
                let found = turn_items.iter().any(|i| {
                    matches!(i.kind, RunItemKind::ToolCall | RunItemKind::HandoffCall)
                        && i.item.as_function_call() == Some(call)
                });
                if !found {
                    return inconsistent(format!(
                        "call `{}` of the interrupted turn is not among the turn's items",
                        call.call_id
                    ));
                }
            }
            if let Some(m) = p.last_message_index {
                let ok = m >= p.turn_items_start
                    && generated_items.get(m).is_some_and(|i| {
                        i.kind == RunItemKind::MessageOutput && i.item.as_message().is_some()
                    });
                if !ok {
                    return inconsistent(format!(
                        "last_message_index ({m}) is not a message of the interrupted turn"
                    ));
                }
            }
            if version == "1.0" && !p.completed_tool_outputs.is_empty() {
                return Err(RunStateError::Malformed(
                    "last_processed_response.completed_tool_outputs is not part of \
                     schema version 1.0"
                        .into(),
                ));
            }
            let mut completed: Vec<ToolCallResult> =
                Vec::with_capacity(p.completed_tool_outputs.len());
            for c in p.completed_tool_outputs {
                if !tool_calls
                    .iter()
                    .any(|t| t.call_id == c.call_id && t.name == c.tool_name)
                {
                    return inconsistent(format!(
                        "completed output of call `{}` has no call in the interrupted turn",
                        c.call_id
                    ));
                }
                let answered = turn_items.iter().any(|i| {
                    i.item
                        .as_function_call_output()
                        .is_some_and(|o| o.call_id == c.call_id)
                });
                if answered || completed.iter().any(|r| r.call_id == c.call_id) {
                    return inconsistent(format!("call `{}` has more than one output", c.call_id));
                }
                completed.push(ToolCallResult {
                    tool_name: c.tool_name,
                    call_id: c.call_id,
                    output: c.output,
                    is_error: c.is_error,
                });
            }
            if p.unsaved_session_items > transcript.len() {
                return inconsistent(format!(
                    "unsaved_session_items ({}) is past the {} model input items",
                    p.unsaved_session_items,
                    transcript.len()
                ));
            }
            Some(PendingTurn {
                tool_calls,
                handoff_calls,
                last_message: p.last_message_index,
                turn_start_items: p.turn_items_start,
                unsaved: p.unsaved_session_items,
                completed,
            })
        }
    };

    let mut nested = BTreeMap::new();
    for (call_id, v) in j.nested_agent_tool_runs {
        let (state, _) = from_value(v).map_err(|e| match e {
            RunStateError::Malformed(m) => {
                RunStateError::Malformed(format!("nested run of call `{call_id}`: {m}"))
            }
            RunStateError::Inconsistent(m) => {
                RunStateError::Inconsistent(format!("nested run of call `{call_id}`: {m}"))
            }
            other => other,
        })?;
        nested.insert(call_id, state);
    }

    let (interruptions, final_output) = match (j.current_step, &pending) {
        (StepJson::RunAgain, None) => (Vec::new(), None),
        (StepJson::FinalOutput { final_output }, None) => (Vec::new(), Some(final_output)),
        (StepJson::RunTools, Some(_)) => (Vec::new(), None),
        (StepJson::Interruption { interruptions }, Some(turn)) => {
            if interruptions.is_empty() {
                return inconsistent("an interruption step without interruptions".into());
            }
            for item in &interruptions {
                if item.is_hosted_mcp() && item.parent_call_ids.is_empty() {
                    // A hosted MCP approval request of the interrupted turn.
                    let asked = generated_items
                        .get(turn.turn_start_items..)
                        .unwrap_or_default()
                        .iter()
                        .filter(|i| i.kind == RunItemKind::McpApprovalRequest)
                        .filter_map(|i| McpApprovalRequest::from_item(&i.item))
                        .any(|r| {
                            r.id == item.call_id
                                && r.name == item.tool_name
                                && item.server_label.as_deref() == Some(r.server_label.as_str())
                        });
                    if !asked {
                        return inconsistent(format!(
                            "interruption `{}` has no MCP approval request in the interrupted turn",
                            item.call_id
                        ));
                    }
                    continue;
                }
                let owner = item.parent_call_ids.first().unwrap_or(&item.call_id);
                if !turn.tool_calls.iter().any(|c| &c.call_id == owner) {
                    return inconsistent(format!(
                        "interruption `{}` has no call in the interrupted turn",
                        item.call_id
                    ));
                }
                match item.parent_call_ids.first() {
                    None => {
                        if !turn
                            .tool_calls
                            .iter()
                            .any(|c| c.call_id == item.call_id && c.name == item.tool_name)
                        {
                            return inconsistent(format!(
                                "interruption `{}` does not match its call",
                                item.call_id
                            ));
                        }
                    }
                    Some(parent) if !nested.contains_key(parent) => {
                        return inconsistent(format!(
                            "interruption `{}` names nested run `{parent}`, which the state lacks",
                            item.call_id
                        ));
                    }
                    Some(_) => {}
                }
            }
            (interruptions, None)
        }
        (step, _) => {
            let name = match step {
                StepJson::RunAgain => "next_step_run_again",
                StepJson::RunTools => "next_step_run_tools",
                StepJson::Interruption { .. } => "next_step_interruption",
                StepJson::FinalOutput { .. } => "next_step_final_output",
            };
            return inconsistent(format!(
                "current_step `{name}` {} a last_processed_response",
                if pending.is_some() {
                    "does not take"
                } else {
                    "needs"
                }
            ));
        }
    };

    let data = StateData {
        current_turn: j.current_turn,
        max_turns: j.max_turns,
        current_agent: j.current_agent.name,
        original_input: j.original_input,
        pending_input: j.pending_input,
        generated_items,
        model_responses: j.model_responses,
        usage: j.usage,
        approvals: j.approvals,
        tools_used: j.tool_use_tracker,
        previous_response_id: j.previous_response_id,
        conversation_id: j.conversation_id,
        auto_previous_response_id: j.auto_previous_response_id,
        transcript,
        server_sent: j.server_sent_items,
        pending,
        interruptions,
        final_output,
        nested,
        input_guardrail_results: j.input_guardrail_results,
        output_guardrail_results: j.output_guardrail_results,
        tool_input_guardrail_results: j.tool_input_guardrail_results,
        tool_output_guardrail_results: j.tool_output_guardrail_results,
        trace: j.trace.unwrap_or_default(),
    };
    Ok((
        RunState {
            data,
            context: None,
        },
        j.context.filter(|c| !c.is_null()),
    ))
}

/// `base`, then the model-input items of `items[from..]`.
pub(crate) fn rebuild_transcript(base: &[Item], items: &[RunItem], from: usize) -> Vec<Item> {
    let mut out = base.to_vec();
    out.extend(
        items[from.min(items.len())..]
            .iter()
            .filter(|i| i.is_model_input())
            .map(|i| i.item.clone()),
    );
    out
}

/// Splits the transcript into a base and the generated items it ends with.
fn split_transcript<'a>(transcript: &'a [Item], items: &[RunItem]) -> (&'a [Item], usize) {
    let mut end = transcript.len();
    let mut from = items.len();
    for (idx, it) in items.iter().enumerate().rev() {
        if !it.is_model_input() {
            from = idx;
            continue;
        }
        if end > 0 && transcript[end - 1] == it.item {
            end -= 1;
            from = idx;
        } else {
            break;
        }
    }
    // A skipped non-model item at the boundary changes nothing; keep the
    // boundary at the first matched model-input item's position.
    (&transcript[..end], from)
}

impl RunState {
    fn to_json_value(&self, context: Option<Value>) -> Result<Value, RunStateError> {
        let d = &self.data;
        let (base, from) = split_transcript(&d.transcript, &d.generated_items);
        let model_input_history = if from == 0 && base == d.original_input.as_slice() {
            None
        } else {
            Some(HistoryJson {
                items: base.to_vec(),
                generated_items_from: from,
            })
        };
        let current_step = match (&d.final_output, &d.pending) {
            (Some(o), _) => StepJson::FinalOutput {
                final_output: o.clone(),
            },
            (None, Some(_)) if !d.interruptions.is_empty() => StepJson::Interruption {
                interruptions: d.interruptions.clone(),
            },
            (None, Some(_)) => StepJson::RunTools,
            (None, None) => StepJson::RunAgain,
        };
        let last_processed_response = match (&d.final_output, &d.pending) {
            (None, Some(p)) => Some(PendingJson {
                agent: AgentRef {
                    name: d.current_agent.clone(),
                },
                tool_calls: p
                    .tool_calls
                    .iter()
                    .cloned()
                    .map(Item::FunctionCall)
                    .collect(),
                handoff_calls: p
                    .handoff_calls
                    .iter()
                    .cloned()
                    .map(Item::FunctionCall)
                    .collect(),
                last_message_index: p.last_message,
                turn_items_start: p.turn_start_items,
                unsaved_session_items: p.unsaved,
                completed_tool_outputs: p
                    .completed
                    .iter()
                    .map(|r| CompletedJson {
                        call_id: r.call_id.clone(),
                        tool_name: r.tool_name.clone(),
                        output: r.output.clone(),
                        is_error: r.is_error,
                    })
                    .collect(),
            }),
            _ => None,
        };
        let mut nested = BTreeMap::new();
        for (call_id, state) in &d.nested {
            nested.insert(call_id.clone(), state.to_json_value(None)?);
        }
        let j = StateJson {
            schema_version: RUN_STATE_SCHEMA_VERSION.to_owned(),
            current_turn: d.current_turn,
            max_turns: d.max_turns,
            current_agent: AgentRef {
                name: d.current_agent.clone(),
            },
            original_input: d.original_input.clone(),
            pending_input: d.pending_input.clone(),
            generated_items: d.generated_items.iter().map(item_to_json).collect(),
            model_responses: d.model_responses.clone(),
            usage: d.usage.clone(),
            approvals: d.approvals.clone(),
            tool_use_tracker: d.tools_used.clone(),
            previous_response_id: d.previous_response_id.clone(),
            conversation_id: d.conversation_id.clone(),
            auto_previous_response_id: d.auto_previous_response_id,
            model_input_history,
            server_sent_items: d.server_sent,
            current_step,
            last_processed_response,
            nested_agent_tool_runs: nested,
            input_guardrail_results: d.input_guardrail_results.clone(),
            output_guardrail_results: d.output_guardrail_results.clone(),
            tool_input_guardrail_results: d.tool_input_guardrail_results.clone(),
            tool_output_guardrail_results: d.tool_output_guardrail_results.clone(),
            trace: (d.trace != TraceState::default()).then(|| d.trace.clone()),
            context,
        };
        serde_json::to_value(&j).map_err(|e| RunStateError::Serialize(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_item(kind: RunItemKind, item: Item) -> RunItem {
        RunItem::new(Arc::from("A"), kind, item)
    }

    #[test]
    fn the_transcript_splits_into_history_and_generated_items() {
        let items = vec![
            run_item(RunItemKind::MessageOutput, Item::assistant("a")),
            run_item(RunItemKind::ToolCall, Item::function_call("c1", "t", "{}")),
            run_item(
                RunItemKind::ToolApproval,
                Item::function_call("c1", "t", "{}"),
            ),
        ];
        let input = vec![Item::user("hi")];
        let plain = rebuild_transcript(&input, &items, 0);
        let (base, from) = split_transcript(&plain, &items);
        assert_eq!((base, from), (input.as_slice(), 0));

        // History the generated items do not explain stays in the base.
        let mut nested = vec![Item::system("summary")];
        nested.extend(rebuild_transcript(&[], &items, 1));
        let (base, from) = split_transcript(&nested, &items);
        assert_eq!(base, &[Item::system("summary")]);
        assert_eq!(rebuild_transcript(base, &items, from), nested);
    }
}
