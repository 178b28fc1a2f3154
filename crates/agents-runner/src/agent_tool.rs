//! Agents as tools: [`AgentToolExt::as_tool`] turns an agent into a function
//! tool that runs it as a nested run.
//!
//! The nested run is driven by the same agent loop as every other run
//! ([`Runner`]'s driver); there is no second loop. It inherits from the
//! outer run:
//! - the run configuration (`RunConfig`: model override, provider,
//!   settings, run-level guardrails, handoff filter, tool error policy, ...),
//!   unless [`AgentTool::run_config`] sets one;
//! - the user context (the same `Arc<C>`);
//! - the toolkit sessions: toolkits of the nested agent are opened lazily in
//!   the outer run's (or [`RunSession`](crate::RunSession)'s) toolkit
//!   sessions and closed with them;
//! - cancellation: cancelling the outer run cancels the nested one.
//!
//! Its usage is added to the outer run's usage (also when it fails). Its
//! failure (model error, max turns, agent guardrail tripwire, ...) is the
//! tool's failure, handled by the outer run's tool error policy: an error
//! output the model reads, or the end of the outer run. A tool guardrail
//! that raises inside the nested run is the exception: the outer run ends
//! with the same typed [`Error::ToolGuardrailTripwire`], as it would if the
//! guarded tool were the outer agent's own. Run-level hooks are not
//! inherited (set them with [`AgentTool::hooks`]); the nested agents' own
//! hooks fire as usual.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agents_core::guardrail::{ToolInputGuardrail, ToolOutputGuardrail};
use agents_core::tool::{default_tool_error_message, parameters_schema};
use agents_core::{
    Agent, BoxFuture, Error, FinalOutput, Hooks, RunContext, RunItemKind, Tool, ToolContext,
    ToolError, ToolOutput,
};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::config::{CancelHandle, RunConfig, RunOptions, DEFAULT_MAX_TURNS};
use crate::engine::{NestedRuns, NESTED_INTERRUPTED_OUTPUT};
use crate::result::{RunResult, RunStreamEvent};
use crate::runner::{RunInput, Runner};
use crate::toolkits::ToolkitSessions;

/// Run-scoped data the loop attaches to every [`ToolContext`] it builds
/// (see [`ToolContext::run_data`]): what a nested run inherits.
pub(crate) struct RunScope<C> {
    pub(crate) run_config: RunConfig<C>,
    pub(crate) toolkits: Arc<ToolkitSessions<C>>,
    /// Nested runs paused on approvals, and states to resume them from.
    pub(crate) nested: Arc<NestedRuns>,
    /// The outer run's usage per agent and per model.
    pub(crate) usage_by: Arc<crate::usage::UsageBreakdown>,
}

type InputBuilder = Arc<dyn Fn(Value) -> Result<RunInput, String> + Send + Sync>;
type OutputExtractor<C> = Arc<dyn Fn(&RunResult<C>) -> ToolOutput + Send + Sync>;
type StreamCallback = Arc<dyn Fn(AgentToolEvent) + Send + Sync>;
type ApprovalFn<C> = Arc<dyn Fn(&RunContext<C>, &Value) -> bool + Send + Sync>;
type EnabledFn<C> = Arc<dyn Fn(&RunContext<C>) -> bool + Send + Sync>;
type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;
type ErrorFormatter = Arc<dyn Fn(&str, &ToolError) -> String + Send + Sync>;

/// Whether a call of an agent tool needs human approval.
///
/// A call that needs approval pauses the outer run (see
/// [`RunState`](crate::RunState)); malformed arguments need approval unless
/// the setting is `Never` (fail closed). Independently, calls that need
/// approval *inside* the nested run surface on the outer run's result
/// (with [`parent_call_ids`](crate::ToolApprovalItem::parent_call_ids)) and
/// resuming the outer run resumes the nested one.
pub enum NeedsApproval<C = ()> {
    /// Never (the default).
    Never,
    /// Every call.
    Always,
    /// When the function returns true for the context and the arguments.
    When(ApprovalFn<C>),
}

impl<C> Clone for NeedsApproval<C> {
    fn clone(&self) -> Self {
        match self {
            NeedsApproval::Never => NeedsApproval::Never,
            NeedsApproval::Always => NeedsApproval::Always,
            NeedsApproval::When(f) => NeedsApproval::When(Arc::clone(f)),
        }
    }
}

impl<C> fmt::Debug for NeedsApproval<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeedsApproval::Never => f.write_str("Never"),
            NeedsApproval::Always => f.write_str("Always"),
            NeedsApproval::When(_) => f.write_str("When(..)"),
        }
    }
}

/// One event of a nested run, handed to [`AgentTool::on_stream`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AgentToolEvent {
    /// The agent tool's name.
    pub tool_name: String,
    /// The outer call's id.
    pub call_id: String,
    /// The agent the tool runs (the nested run's starting agent).
    pub agent: String,
    /// The nested run's event.
    pub event: RunStreamEvent,
}

/// An agent exposed as a function tool; built by [`AgentToolExt::as_tool`].
///
/// By default the tool takes `{"input": string}`, runs the agent on that
/// text, and returns the nested run's final output (a JSON output for
/// structured outputs), or else the text of its last message.
///
/// ```
/// use agents_core::testing::{function_call, ScriptedModel};
/// use agents_core::{Agent, Tool};
/// use agents_runner::{AgentToolExt, RunOptions, Runner};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let model = ScriptedModel::new();
/// model.push_output(vec![function_call("translate_to_french", r#"{"input":"Good morning"}"#)]);
/// model.push_text("Bonjour"); // the nested run
/// model.push_text("In French: Bonjour.");
///
/// let translator: Agent = Agent::builder("French translator").model(model.clone()).build();
/// let tool = translator.as_tool("translate_to_french", "Translates text to French.");
/// assert_eq!(Tool::parameters(&tool)["required"], serde_json::json!(["input"]));
/// let orchestrator: Agent = Agent::builder("Orchestrator").model(model.clone()).tool(tool).build();
///
/// let result = Runner::run(&orchestrator, "Say good morning in French", RunOptions::default()).await.unwrap();
/// assert_eq!(result.final_output_text(), "In French: Bonjour.");
/// assert_eq!(result.usage.requests, 3); // the nested run's request counts too
/// # }
/// ```
pub struct AgentTool<C = ()> {
    agent: Agent<C>,
    name: String,
    description: String,
    parameters: Value,
    validate: Option<Validator>,
    custom_parameters: bool,
    input_builder: Option<InputBuilder>,
    output_extractor: Option<OutputExtractor<C>>,
    max_turns: Option<u32>,
    needs_approval: NeedsApproval<C>,
    on_stream: Option<StreamCallback>,
    run_config: Option<RunConfig<C>>,
    hooks: Option<Arc<dyn Hooks<C>>>,
    enabled: Option<EnabledFn<C>>,
    timeout: Option<Duration>,
    formatter: Option<ErrorFormatter>,
    input_guardrails: Vec<ToolInputGuardrail<C>>,
    output_guardrails: Vec<ToolOutputGuardrail<C>>,
}

impl<C> fmt::Debug for AgentTool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentTool")
            .field("name", &self.name)
            .field("agent", &self.agent.name())
            .field("max_turns", &self.max_turns)
            .field("needs_approval", &self.needs_approval)
            .finish_non_exhaustive()
    }
}

/// `agent.as_tool(name, description)`: an agent as a function tool of
/// another agent. Lives in `agents-runner` because the tool runs the agent
/// loop, which `agents-core` cannot reach.
pub trait AgentToolExt<C> {
    /// The agent as a tool named `name`, described to the model by
    /// `description`. Customise it with the [`AgentTool`] builder methods.
    fn as_tool(&self, name: impl Into<String>, description: impl Into<String>) -> AgentTool<C>;
}

impl<C: Send + Sync + 'static> AgentToolExt<C> for Agent<C> {
    fn as_tool(&self, name: impl Into<String>, description: impl Into<String>) -> AgentTool<C> {
        AgentTool {
            agent: self.clone(),
            name: name.into(),
            description: description.into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "input": { "type": "string", "description": "The input for the agent." }
                },
                "required": ["input"],
                "additionalProperties": false
            }),
            validate: None,
            custom_parameters: false,
            input_builder: None,
            output_extractor: None,
            max_turns: Some(DEFAULT_MAX_TURNS),
            needs_approval: NeedsApproval::Never,
            on_stream: None,
            run_config: None,
            hooks: None,
            enabled: None,
            timeout: None,
            formatter: None,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
        }
    }
}

impl<C: Send + Sync + 'static> AgentTool<C> {
    /// Takes arguments of type `P` instead of `{"input": string}`: `P`'s
    /// strict schema is sent, and arguments that do not deserialize into `P`
    /// fail the call as invalid arguments. Unless an
    /// [`input_builder`](AgentTool::input_builder) is set, the nested agent
    /// receives the arguments' JSON text as its user message.
    pub fn input_type<P: DeserializeOwned + JsonSchema + 'static>(mut self) -> Self {
        self.parameters = parameters_schema::<P>();
        self.validate = Some(Arc::new(|v: &Value| {
            P::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
        }));
        self.custom_parameters = true;
        self
    }

    /// Builds the nested run's input from the (validated) JSON arguments.
    /// An `Err` fails the call as invalid arguments.
    pub fn input_builder(
        mut self,
        f: impl Fn(Value) -> Result<RunInput, String> + Send + Sync + 'static,
    ) -> Self {
        self.input_builder = Some(Arc::new(f));
        self
    }

    /// Builds the tool's output from the nested run's result (instead of its
    /// final output).
    pub fn output_extractor(
        mut self,
        f: impl Fn(&RunResult<C>) -> ToolOutput + Send + Sync + 'static,
    ) -> Self {
        self.output_extractor = Some(Arc::new(f));
        self
    }

    /// The nested run's turn limit (default 10; `None` is unlimited).
    pub fn max_turns(mut self, max_turns: Option<u32>) -> Self {
        self.max_turns = max_turns;
        self
    }

    /// Marks every call as needing approval (see [`NeedsApproval`]).
    pub fn needs_approval(mut self, needs: bool) -> Self {
        self.needs_approval = if needs {
            NeedsApproval::Always
        } else {
            NeedsApproval::Never
        };
        self
    }

    /// Marks calls for which `f` returns true as needing approval (see
    /// [`NeedsApproval`]).
    pub fn needs_approval_when(
        mut self,
        f: impl Fn(&RunContext<C>, &Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.needs_approval = NeedsApproval::When(Arc::new(f));
        self
    }

    /// Streams the nested run and hands each of its events to `f`, in order.
    /// The tool's result is the same as without streaming.
    pub fn on_stream(mut self, f: impl Fn(AgentToolEvent) + Send + Sync + 'static) -> Self {
        self.on_stream = Some(Arc::new(f));
        self
    }

    /// Runs the nested run with this configuration instead of the outer
    /// run's.
    pub fn run_config(mut self, config: RunConfig<C>) -> Self {
        self.run_config = Some(config);
        self
    }

    /// Run-level hooks of the nested run (the outer run's are not inherited).
    pub fn hooks(mut self, hooks: impl Hooks<C> + 'static) -> Self {
        self.hooks = Some(Arc::new(hooks));
        self
    }

    /// Offers the tool only when `f` returns true for the run's context.
    pub fn enabled_when(
        mut self,
        f: impl Fn(&RunContext<C>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.enabled = Some(Arc::new(f));
        self
    }

    /// Limits how long one nested run may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Customises the text the model sees when the nested run fails.
    pub fn with_failure_formatter(
        mut self,
        f: impl Fn(&str, &ToolError) -> String + Send + Sync + 'static,
    ) -> Self {
        self.formatter = Some(Arc::new(f));
        self
    }

    /// Adds a guardrail checked before each call.
    pub fn input_guardrail(mut self, guardrail: ToolInputGuardrail<C>) -> Self {
        self.input_guardrails.push(guardrail);
        self
    }

    /// Adds a guardrail checked on each successful output.
    pub fn output_guardrail(mut self, guardrail: ToolOutputGuardrail<C>) -> Self {
        self.output_guardrails.push(guardrail);
        self
    }
}

impl<C> AgentTool<C> {
    /// The agent the tool runs.
    pub fn agent(&self) -> &Agent<C> {
        &self.agent
    }

    /// The approval setting (see [`NeedsApproval`]).
    pub fn approval(&self) -> &NeedsApproval<C> {
        &self.needs_approval
    }

    /// Whether a call with these arguments needs approval under the stored
    /// setting (what [`Tool::needs_approval`] answers for parsed arguments).
    pub fn requires_approval(&self, ctx: &RunContext<C>, arguments: &Value) -> bool {
        match &self.needs_approval {
            NeedsApproval::Never => false,
            NeedsApproval::Always => true,
            NeedsApproval::When(f) => f(ctx, arguments),
        }
    }

    fn build_input(&self, arguments: Value) -> Result<RunInput, String> {
        if let Some(validate) = &self.validate {
            validate(&arguments)?;
        }
        if let Some(build) = &self.input_builder {
            return build(arguments);
        }
        if self.custom_parameters {
            return Ok(RunInput::Text(arguments.to_string()));
        }
        match arguments.get("input") {
            Some(Value::String(s)) => Ok(RunInput::Text(s.clone())),
            _ => Err("expected an object with a string field `input`".to_owned()),
        }
    }
}

/// The default output of an agent tool: the final output if it is JSON or
/// non-empty text, else the text of the last non-empty message or tool output.
fn default_output<C>(result: &RunResult<C>) -> ToolOutput {
    match &result.final_output {
        Some(FinalOutput::Json(v)) => return ToolOutput::Json(v.clone()),
        Some(FinalOutput::Text(t)) if !t.is_empty() => return ToolOutput::Text(t.clone()),
        _ => {}
    }
    for item in result.new_items.iter().rev() {
        match &item.kind {
            RunItemKind::MessageOutput => {
                if let Some(text) = item.item.as_message().map(|m| m.text()) {
                    if !text.is_empty() {
                        return ToolOutput::Text(text);
                    }
                }
            }
            RunItemKind::ToolCallOutput { output, .. } if !output.to_text().is_empty() => {
                return output.clone();
            }
            _ => {}
        }
    }
    ToolOutput::Text(result.final_output_text())
}

impl<C: Send + Sync + 'static> AgentTool<C> {
    async fn run_nested(
        &self,
        ctx: ToolContext<C>,
        input: RunInput,
    ) -> Result<ToolOutput, ToolError> {
        let scope = ctx.run_data::<RunScope<C>>();
        // A nested run that paused on approvals continues from its state.
        let input = match scope.and_then(|s| s.nested.take_resume(&ctx.call_id)) {
            Some(state) => RunInput::State(Box::new(state)),
            None => input,
        };
        let mut options = RunOptions::<C> {
            max_turns: self.max_turns,
            hooks: self.hooks.clone(),
            run_config: match (&self.run_config, scope) {
                (Some(config), _) => config.clone(),
                (None, Some(scope)) => scope.run_config.clone(),
                (None, None) => RunConfig::default(),
            },
            cancel: Some(CancelHandle::child_of(&ctx.cancel)),
            ..RunOptions::default()
        };
        let session = match scope {
            Some(scope) => Some((
                Arc::clone(ctx.run.context_arc()),
                Arc::clone(&scope.toolkits),
            )),
            None => {
                options.context = Some(Arc::clone(ctx.run.context_arc()));
                None
            }
        };
        let outcome = match &self.on_stream {
            None => match Runner::driver(self.agent.clone(), input, options, session, None) {
                Ok(driver) => driver.await,
                Err(e) => Err(e),
            },
            Some(callback) => {
                let mut run = Runner::streamed(self.agent.clone(), input, options, session);
                while let Some(event) = run.next().await {
                    callback(AgentToolEvent {
                        tool_name: ctx.tool_name.clone(),
                        call_id: ctx.call_id.clone(),
                        agent: self.agent.name().to_owned(),
                        event,
                    });
                }
                run.result().await
            }
        };
        match outcome {
            Ok(result) => {
                ctx.run.add_usage(|u| u.add(&result.usage));
                if let Some(scope) = scope {
                    scope
                        .usage_by
                        .merge(&result.usage_by_agent, &result.usage_by_model);
                }
                if result.is_interrupted() {
                    // The outer loop reports the nested interruptions and
                    // keeps this call pending; the output is dropped.
                    return match scope {
                        Some(scope) => {
                            scope
                                .nested
                                .store_interrupted(&ctx.call_id, result.to_state());
                            Ok(ToolOutput::text(NESTED_INTERRUPTED_OUTPUT))
                        }
                        None => Err(ToolError::Failed(format!(
                            "agent `{}` paused for approval outside an agent run",
                            self.agent.name()
                        ))),
                    };
                }
                Ok(match &self.output_extractor {
                    Some(extract) => extract(&result),
                    None => default_output(&result),
                })
            }
            Err(e) => {
                ctx.run.add_usage(|u| u.add(&e.details.usage));
                let failed =
                    ToolError::Failed(format!("agent `{}` failed: {e}", self.agent.name()));
                match e.error {
                    Error::Cancelled => Err(ToolError::Cancelled),
                    // The outer loop raises a nested tool guardrail tripwire
                    // as its own, whatever its tool error policy.
                    Error::ToolGuardrailTripwire(result) => {
                        if let Some(scope) = scope {
                            let input = e.details.tool_input_guardrail_results.iter().any(|r| {
                                r.guardrail == result.guardrail && r.call_id == result.call_id
                            });
                            scope.nested.store_tripwire(&ctx.call_id, result, input);
                        }
                        Err(failed)
                    }
                    _ => Err(failed),
                }
            }
        }
    }
}

impl<C: Send + Sync + 'static> Tool<C> for AgentTool<C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> &Value {
        &self.parameters
    }

    fn is_enabled(&self, ctx: &RunContext<C>) -> bool {
        self.enabled.as_ref().is_none_or(|f| f(ctx))
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn needs_approval<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        arguments: &'a str,
        _call_id: &'a str,
    ) -> BoxFuture<'a, bool> {
        let needs = match &self.needs_approval {
            NeedsApproval::Never => false,
            _ => {
                let raw = if arguments.trim().is_empty() {
                    "{}"
                } else {
                    arguments
                };
                match serde_json::from_str::<Value>(raw) {
                    Ok(arguments) => self.requires_approval(ctx, &arguments),
                    // Fail closed.
                    Err(_) => true,
                }
            }
        };
        Box::pin(std::future::ready(needs))
    }

    fn invoke<'a>(
        &'a self,
        ctx: ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let raw = if arguments.trim().is_empty() {
                "{}"
            } else {
                arguments
            };
            let arguments: Value = serde_json::from_str(raw)
                .map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
            let input = self
                .build_input(arguments)
                .map_err(ToolError::InvalidArguments)?;
            self.run_nested(ctx, input).await
        })
    }

    fn format_error(&self, error: &ToolError) -> String {
        match &self.formatter {
            Some(f) => f(&self.name, error),
            None => default_tool_error_message(&self.name, error),
        }
    }

    fn input_guardrails(&self) -> &[ToolInputGuardrail<C>] {
        &self.input_guardrails
    }

    fn output_guardrails(&self) -> &[ToolOutputGuardrail<C>] {
        &self.output_guardrails
    }
}
