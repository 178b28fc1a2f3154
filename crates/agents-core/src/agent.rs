//! The [`Agent`] blueprint.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::context::RunContext;
use crate::guardrail::{InputGuardrail, OutputGuardrail};
use crate::handoff::Handoff;
use crate::hooks::Hooks;
use crate::hosted::HostedTool;
use crate::model::{Model, Prompt};
use crate::output::{FinalOutput, OutputType};
use crate::settings::ModelSettings;
use crate::tool::{Tool, ToolOutput};
use crate::toolkit::{Toolkit, ToolkitSession};

/// An agent's instructions: static text or a function of the run context,
/// evaluated at every turn.
pub enum Instructions<C = ()> {
    /// Fixed text.
    Static(String),
    /// Computed synchronously each turn.
    Fn(Arc<dyn Fn(&RunContext<C>, &Agent<C>) -> String + Send + Sync>),
    /// Computed asynchronously each turn.
    Async(Arc<dyn Fn(RunContext<C>, Agent<C>) -> BoxFuture<'static, String> + Send + Sync>),
}

impl<C> Clone for Instructions<C> {
    fn clone(&self) -> Self {
        match self {
            Instructions::Static(s) => Instructions::Static(s.clone()),
            Instructions::Fn(f) => Instructions::Fn(Arc::clone(f)),
            Instructions::Async(f) => Instructions::Async(Arc::clone(f)),
        }
    }
}

impl<C> fmt::Debug for Instructions<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Instructions::Static(s) => f.debug_tuple("Static").field(s).finish(),
            Instructions::Fn(_) => f.write_str("Fn(..)"),
            Instructions::Async(_) => f.write_str("Async(..)"),
        }
    }
}

/// A stored prompt, fixed or computed per turn.
pub enum PromptSource<C = ()> {
    /// A fixed prompt.
    Static(Prompt),
    /// Computed synchronously each turn.
    Fn(Arc<dyn Fn(&RunContext<C>, &Agent<C>) -> Prompt + Send + Sync>),
    /// Computed asynchronously each turn.
    Async(Arc<dyn Fn(RunContext<C>, Agent<C>) -> BoxFuture<'static, Prompt> + Send + Sync>),
}

impl<C> Clone for PromptSource<C> {
    fn clone(&self) -> Self {
        match self {
            PromptSource::Static(p) => PromptSource::Static(p.clone()),
            PromptSource::Fn(f) => PromptSource::Fn(Arc::clone(f)),
            PromptSource::Async(f) => PromptSource::Async(Arc::clone(f)),
        }
    }
}

/// Which model an agent uses.
#[derive(Clone)]
pub enum AgentModel {
    /// A model name, resolved through the run's model provider.
    Name(String),
    /// A model instance.
    Instance(Arc<dyn Model>),
}

impl fmt::Debug for AgentModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentModel::Name(n) => f.debug_tuple("Name").field(n).finish(),
            AgentModel::Instance(m) => f.debug_tuple("Instance").field(m).finish(),
        }
    }
}

impl From<&str> for AgentModel {
    fn from(s: &str) -> Self {
        AgentModel::Name(s.to_owned())
    }
}
impl From<String> for AgentModel {
    fn from(s: String) -> Self {
        AgentModel::Name(s)
    }
}
impl From<Arc<dyn Model>> for AgentModel {
    fn from(m: Arc<dyn Model>) -> Self {
        AgentModel::Instance(m)
    }
}
impl<M: Model + 'static> From<Arc<M>> for AgentModel {
    fn from(m: Arc<M>) -> Self {
        AgentModel::Instance(m)
    }
}

/// The result of one function tool call, as seen by `tool_use_behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCallResult {
    /// The tool name.
    pub tool_name: String,
    /// The call id.
    pub call_id: String,
    /// The output.
    pub output: ToolOutput,
    /// Whether the output reports a failure.
    pub is_error: bool,
}

/// What a custom `tool_use_behavior` decides.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolsToFinalOutput {
    /// Call the model again with the tool results.
    RunAgain,
    /// Stop with this final output.
    Final(FinalOutput),
}

/// What happens after function tools ran in a turn.
pub enum ToolUseBehavior<C = ()> {
    /// Call the model again with the results (the default).
    RunLlmAgain,
    /// The first tool's output is the final output.
    StopOnFirstTool,
    /// Stop when any of these tools was called; its output is the final output.
    StopAtTools(Vec<String>),
    /// A custom decision over the turn's results (see [`ToolUseBehavior::custom`]).
    Custom(Arc<dyn Fn(&RunContext<C>, &[ToolCallResult]) -> ToolsToFinalOutput + Send + Sync>),
    /// A custom asynchronous decision over the turn's results (see
    /// [`ToolUseBehavior::custom_async`]).
    CustomAsync(
        Arc<
            dyn Fn(RunContext<C>, Vec<ToolCallResult>) -> BoxFuture<'static, ToolsToFinalOutput>
                + Send
                + Sync,
        >,
    ),
}

impl<C> ToolUseBehavior<C> {
    /// A custom decision over the turn's function tool results.
    pub fn custom(
        f: impl Fn(&RunContext<C>, &[ToolCallResult]) -> ToolsToFinalOutput + Send + Sync + 'static,
    ) -> Self {
        ToolUseBehavior::Custom(Arc::new(f))
    }

    /// A custom asynchronous decision over the turn's function tool results
    /// (it may look things up, ask a guard model, ...).
    ///
    /// ```
    /// use agents_core::{FinalOutput, ToolUseBehavior, ToolsToFinalOutput};
    ///
    /// let stop_on_done: ToolUseBehavior = ToolUseBehavior::custom_async(|_ctx, results| async move {
    ///     match results.iter().find(|r| r.output.to_text() == "done") {
    ///         Some(_) => ToolsToFinalOutput::Final(FinalOutput::Text("finished".into())),
    ///         None => ToolsToFinalOutput::RunAgain,
    ///     }
    /// });
    /// # let _ = stop_on_done;
    /// ```
    pub fn custom_async<F, Fut>(f: F) -> Self
    where
        F: Fn(RunContext<C>, Vec<ToolCallResult>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolsToFinalOutput> + Send + 'static,
    {
        ToolUseBehavior::CustomAsync(Arc::new(move |c, r| Box::pin(f(c, r))))
    }

    /// What this behaviour decides after a turn's function tools ran
    /// (`results` non-empty, in call order): the loop calls this. A chosen
    /// tool's JSON output becomes a JSON final output, any other its text.
    pub async fn decide(
        &self,
        ctx: &RunContext<C>,
        results: &[ToolCallResult],
    ) -> ToolsToFinalOutput {
        let chosen = match self {
            ToolUseBehavior::RunLlmAgain => None,
            ToolUseBehavior::StopOnFirstTool => results.first(),
            ToolUseBehavior::StopAtTools(names) => {
                results.iter().find(|r| names.contains(&r.tool_name))
            }
            ToolUseBehavior::Custom(f) => return f(ctx, results),
            ToolUseBehavior::CustomAsync(f) => return f(ctx.clone(), results.to_vec()).await,
        };
        match chosen {
            Some(r) => ToolsToFinalOutput::Final(match &r.output {
                ToolOutput::Json(v) => FinalOutput::Json(v.clone()),
                other => FinalOutput::Text(other.to_text()),
            }),
            None => ToolsToFinalOutput::RunAgain,
        }
    }
}

impl<C> Clone for ToolUseBehavior<C> {
    fn clone(&self) -> Self {
        match self {
            ToolUseBehavior::RunLlmAgain => ToolUseBehavior::RunLlmAgain,
            ToolUseBehavior::StopOnFirstTool => ToolUseBehavior::StopOnFirstTool,
            ToolUseBehavior::StopAtTools(t) => ToolUseBehavior::StopAtTools(t.clone()),
            ToolUseBehavior::Custom(f) => ToolUseBehavior::Custom(Arc::clone(f)),
            ToolUseBehavior::CustomAsync(f) => ToolUseBehavior::CustomAsync(Arc::clone(f)),
        }
    }
}

impl<C> fmt::Debug for ToolUseBehavior<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolUseBehavior::RunLlmAgain => f.write_str("RunLlmAgain"),
            ToolUseBehavior::StopOnFirstTool => f.write_str("StopOnFirstTool"),
            ToolUseBehavior::StopAtTools(t) => f.debug_tuple("StopAtTools").field(t).finish(),
            ToolUseBehavior::Custom(_) => f.write_str("Custom(..)"),
            ToolUseBehavior::CustomAsync(_) => f.write_str("CustomAsync(..)"),
        }
    }
}

struct AgentInner<C> {
    name: String,
    handoff_description: Option<String>,
    instructions: Option<Instructions<C>>,
    prompt: Option<PromptSource<C>>,
    model: Option<AgentModel>,
    model_settings: ModelSettings,
    tools: Vec<Arc<dyn Tool<C>>>,
    hosted_tools: Vec<HostedTool>,
    toolkits: Vec<Arc<dyn Toolkit<C>>>,
    handoffs: Vec<Handoff<C>>,
    input_guardrails: Vec<InputGuardrail<C>>,
    output_guardrails: Vec<OutputGuardrail<C>>,
    output_type: Option<OutputType>,
    hooks: Option<Arc<dyn Hooks<C>>>,
    tool_use_behavior: ToolUseBehavior<C>,
    reset_tool_choice: bool,
}

impl<C> Clone for AgentInner<C> {
    fn clone(&self) -> Self {
        AgentInner {
            name: self.name.clone(),
            handoff_description: self.handoff_description.clone(),
            instructions: self.instructions.clone(),
            prompt: self.prompt.clone(),
            model: self.model.clone(),
            model_settings: self.model_settings.clone(),
            tools: self.tools.clone(),
            hosted_tools: self.hosted_tools.clone(),
            toolkits: self.toolkits.clone(),
            handoffs: self.handoffs.clone(),
            input_guardrails: self.input_guardrails.clone(),
            output_guardrails: self.output_guardrails.clone(),
            output_type: self.output_type.clone(),
            hooks: self.hooks.clone(),
            tool_use_behavior: self.tool_use_behavior.clone(),
            reset_tool_choice: self.reset_tool_choice,
        }
    }
}

/// A stateless, shareable agent blueprint: name, instructions, model,
/// settings, tools, toolkits, handoffs, guardrails and output type.
///
/// Cloning is cheap (one `Arc`); an agent is `Send + Sync` and can serve
/// many users at once. Per-request state lives in the run, never here.
///
/// ```
/// use agents_core::Agent;
///
/// let agent: Agent = Agent::builder("Assistant")
///     .instructions("You are helpful.")
///     .model("gpt-4.1-mini")
///     .build();
/// let pirate = agent.clone_with(|b| b.name("Pirate").instructions("Talk like a pirate."));
/// assert_eq!(pirate.name(), "Pirate");
/// assert_eq!(agent.name(), "Assistant");
/// ```
pub struct Agent<C = ()> {
    inner: Arc<AgentInner<C>>,
}

impl<C> Clone for Agent<C> {
    fn clone(&self) -> Self {
        Agent {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> fmt::Debug for Agent<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.inner.name)
            .field("model", &self.inner.model)
            .field("tools", &self.inner.tools.len())
            .field("handoffs", &self.inner.handoffs.len())
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> Agent<C> {
    /// Starts building an agent.
    pub fn builder(name: impl Into<String>) -> AgentBuilder<C> {
        AgentBuilder {
            inner: AgentInner {
                name: name.into(),
                handoff_description: None,
                instructions: None,
                prompt: None,
                model: None,
                model_settings: ModelSettings::default(),
                tools: Vec::new(),
                hosted_tools: Vec::new(),
                toolkits: Vec::new(),
                handoffs: Vec::new(),
                input_guardrails: Vec::new(),
                output_guardrails: Vec::new(),
                output_type: None,
                hooks: None,
                tool_use_behavior: ToolUseBehavior::RunLlmAgain,
                reset_tool_choice: true,
            },
        }
    }

    /// A builder pre-filled with this agent's configuration.
    pub fn to_builder(&self) -> AgentBuilder<C> {
        AgentBuilder {
            inner: (*self.inner).clone(),
        }
    }

    /// A copy with some fields changed (like Python's `agent.clone(**kwargs)`).
    pub fn clone_with(&self, f: impl FnOnce(AgentBuilder<C>) -> AgentBuilder<C>) -> Self {
        f(self.to_builder()).build()
    }

    /// A handoff to this agent with the defaults.
    pub fn as_handoff(&self) -> Handoff<C> {
        Handoff::to(self)
    }

    /// Resolves the instructions for this turn.
    pub async fn resolve_instructions(&self, ctx: &RunContext<C>) -> Option<String> {
        match self.inner.instructions.as_ref()? {
            Instructions::Static(s) => Some(s.clone()),
            Instructions::Fn(f) => Some(f(ctx, self)),
            Instructions::Async(f) => Some(f(ctx.clone(), self.clone()).await),
        }
    }

    /// Every tool the model is offered this turn: the enabled static tools,
    /// then the enabled tools of the agent's open toolkit sessions, in
    /// order. The loop builds each turn's roster with this function.
    ///
    /// `sessions` are the agent's toolkit sessions (the runner opens them,
    /// one per toolkit; pass `&[]` for an agent without toolkits).
    /// Hosted tools are listed apart ([`Agent::hosted_tools`]).
    ///
    /// ```
    /// use agents_core::{Agent, FunctionTool, NoArgs, RunContext, ToolContext};
    ///
    /// let ping = FunctionTool::new("ping", "Pings.", |_c: ToolContext, _a: NoArgs| async {
    ///     Ok::<_, String>("pong")
    /// });
    /// let hidden = FunctionTool::new("hidden", "Off.", |_c: ToolContext, _a: NoArgs| async {
    ///     Ok::<_, String>("")
    /// })
    /// .enabled_when(|_ctx| false);
    /// let agent: Agent = Agent::builder("a").tool(ping).tool(hidden).build();
    /// let names: Vec<String> = agent
    ///     .all_tools(&RunContext::new(()), &[])
    ///     .iter()
    ///     .map(|t| t.name().to_owned())
    ///     .collect();
    /// assert_eq!(names, ["ping"]);
    /// ```
    pub fn all_tools(
        &self,
        ctx: &RunContext<C>,
        sessions: &[Arc<dyn ToolkitSession<C>>],
    ) -> Vec<Arc<dyn Tool<C>>> {
        let mut tools: Vec<Arc<dyn Tool<C>>> = self
            .inner
            .tools
            .iter()
            .filter(|t| t.is_enabled(ctx))
            .cloned()
            .collect();
        for s in sessions {
            tools.extend(s.tools().into_iter().filter(|t| t.is_enabled(ctx)));
        }
        tools
    }

    /// The system prompt of this turn: the resolved instructions, followed
    /// by the prompt of each toolkit session (separated by a blank line).
    /// `None` when there is neither. The loop sends this text.
    pub async fn system_prompt(
        &self,
        ctx: &RunContext<C>,
        sessions: &[Arc<dyn ToolkitSession<C>>],
    ) -> Option<String> {
        let mut instructions = self.resolve_instructions(ctx).await;
        for s in sessions {
            if let Some(p) = s.system_prompt() {
                let text = instructions.get_or_insert_with(String::new);
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&p);
            }
        }
        instructions
    }

    /// Resolves the stored prompt for this turn (the loop sends this one).
    pub async fn resolve_prompt(&self, ctx: &RunContext<C>) -> Option<Prompt> {
        match self.inner.prompt.as_ref()? {
            PromptSource::Static(p) => Some(p.clone()),
            PromptSource::Fn(f) => Some(f(ctx, self)),
            PromptSource::Async(f) => Some(f(ctx.clone(), self.clone()).await),
        }
    }
}

impl<C> Agent<C> {
    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The description used when other agents hand off to this one.
    pub fn handoff_description(&self) -> Option<&str> {
        self.inner.handoff_description.as_deref()
    }

    /// The instructions.
    pub fn instructions(&self) -> Option<&Instructions<C>> {
        self.inner.instructions.as_ref()
    }

    /// The model.
    pub fn model(&self) -> Option<&AgentModel> {
        self.inner.model.as_ref()
    }

    /// The model settings.
    pub fn model_settings(&self) -> &ModelSettings {
        &self.inner.model_settings
    }

    /// The static tools.
    pub fn tools(&self) -> &[Arc<dyn Tool<C>>] {
        &self.inner.tools
    }

    /// The hosted tools (run by the provider; Responses API only).
    pub fn hosted_tools(&self) -> &[HostedTool] {
        &self.inner.hosted_tools
    }

    /// The toolkits.
    pub fn toolkits(&self) -> &[Arc<dyn Toolkit<C>>] {
        &self.inner.toolkits
    }

    /// The handoffs.
    pub fn handoffs(&self) -> &[Handoff<C>] {
        &self.inner.handoffs
    }

    /// The input guardrails.
    pub fn input_guardrails(&self) -> &[InputGuardrail<C>] {
        &self.inner.input_guardrails
    }

    /// The output guardrails.
    pub fn output_guardrails(&self) -> &[OutputGuardrail<C>] {
        &self.inner.output_guardrails
    }

    /// The output type.
    pub fn output_type(&self) -> Option<&OutputType> {
        self.inner.output_type.as_ref()
    }

    /// The agent-level hooks.
    pub fn hooks(&self) -> Option<&Arc<dyn Hooks<C>>> {
        self.inner.hooks.as_ref()
    }

    /// What happens after function tools ran.
    pub fn tool_use_behavior(&self) -> &ToolUseBehavior<C> {
        &self.inner.tool_use_behavior
    }

    /// Whether a forced `tool_choice` is reset after the agent used a tool.
    pub fn reset_tool_choice(&self) -> bool {
        self.inner.reset_tool_choice
    }

    /// Whether two handles point at the same agent.
    pub fn ptr_eq(&self, other: &Agent<C>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// Builds an [`Agent`].
pub struct AgentBuilder<C = ()> {
    inner: AgentInner<C>,
}

impl<C> fmt::Debug for AgentBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentBuilder")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> AgentBuilder<C> {
    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// Sets the description other agents see when handing off to this one.
    pub fn handoff_description(mut self, d: impl Into<String>) -> Self {
        self.inner.handoff_description = Some(d.into());
        self
    }

    /// Sets static instructions.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.inner.instructions = Some(Instructions::Static(text.into()));
        self
    }

    /// Sets instructions computed from the context at every turn.
    pub fn instructions_fn(
        mut self,
        f: impl Fn(&RunContext<C>, &Agent<C>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.inner.instructions = Some(Instructions::Fn(Arc::new(f)));
        self
    }

    /// Sets instructions computed asynchronously at every turn.
    pub fn instructions_async<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RunContext<C>, Agent<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        self.inner.instructions =
            Some(Instructions::Async(Arc::new(move |c, a| Box::pin(f(c, a)))));
        self
    }

    /// Sets a stored prompt.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.inner.prompt = Some(PromptSource::Static(prompt));
        self
    }

    /// Sets a stored prompt computed at every turn.
    pub fn prompt_fn(
        mut self,
        f: impl Fn(&RunContext<C>, &Agent<C>) -> Prompt + Send + Sync + 'static,
    ) -> Self {
        self.inner.prompt = Some(PromptSource::Fn(Arc::new(f)));
        self
    }

    /// Sets a stored prompt computed asynchronously at every turn.
    pub fn prompt_async<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RunContext<C>, Agent<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Prompt> + Send + 'static,
    {
        self.inner.prompt = Some(PromptSource::Async(Arc::new(move |c, a| Box::pin(f(c, a)))));
        self
    }

    /// Sets the model: a name (resolved by the run's provider) or an instance.
    pub fn model(mut self, model: impl Into<AgentModel>) -> Self {
        self.inner.model = Some(model.into());
        self
    }

    /// Sets the model settings.
    pub fn model_settings(mut self, settings: ModelSettings) -> Self {
        self.inner.model_settings = settings;
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: impl Tool<C> + 'static) -> Self {
        self.inner.tools.push(Arc::new(tool));
        self
    }

    /// Adds a shared tool.
    pub fn tool_arc(mut self, tool: Arc<dyn Tool<C>>) -> Self {
        self.inner.tools.push(tool);
        self
    }

    /// Replaces all tools.
    pub fn tools(mut self, tools: Vec<Arc<dyn Tool<C>>>) -> Self {
        self.inner.tools = tools;
        self
    }

    /// Adds a hosted tool: web search, file search, code interpreter, image
    /// generation or a hosted MCP server (see [`crate::hosted`]). Only the
    /// Responses API runs them.
    pub fn hosted_tool(mut self, tool: impl Into<HostedTool>) -> Self {
        self.inner.hosted_tools.push(tool.into());
        self
    }

    /// Adds a toolkit.
    pub fn toolkit(mut self, toolkit: impl Toolkit<C> + 'static) -> Self {
        self.inner.toolkits.push(Arc::new(toolkit));
        self
    }

    /// Adds a shared toolkit.
    pub fn toolkit_arc(mut self, toolkit: Arc<dyn Toolkit<C>>) -> Self {
        self.inner.toolkits.push(toolkit);
        self
    }

    /// Adds a handoff to `agent` with the defaults.
    pub fn handoff_to(mut self, agent: &Agent<C>) -> Self {
        self.inner.handoffs.push(Handoff::to(agent));
        self
    }

    /// Adds a customised handoff.
    pub fn handoff(mut self, handoff: Handoff<C>) -> Self {
        self.inner.handoffs.push(handoff);
        self
    }

    /// Adds an input guardrail.
    pub fn input_guardrail(mut self, g: InputGuardrail<C>) -> Self {
        self.inner.input_guardrails.push(g);
        self
    }

    /// Adds an output guardrail.
    pub fn output_guardrail(mut self, g: OutputGuardrail<C>) -> Self {
        self.inner.output_guardrails.push(g);
        self
    }

    /// Requires the final output to be a `T` (structured output).
    pub fn output_type<T: JsonSchema + DeserializeOwned + 'static>(mut self) -> Self {
        self.inner.output_type = Some(OutputType::of::<T>());
        self
    }

    /// Sets a prepared output type (non-strict, or built from a JSON Schema
    /// with [`OutputType::from_json_schema`]). The plain-text type
    /// ([`OutputType::plain_text`]) means no output type.
    pub fn output_type_with(mut self, t: OutputType) -> Self {
        self.inner.output_type = (!t.is_plain_text()).then_some(t);
        self
    }

    /// Sets agent-level hooks.
    pub fn hooks(mut self, hooks: impl Hooks<C> + 'static) -> Self {
        self.inner.hooks = Some(Arc::new(hooks));
        self
    }

    /// Sets what happens after function tools ran.
    pub fn tool_use_behavior(mut self, b: ToolUseBehavior<C>) -> Self {
        self.inner.tool_use_behavior = b;
        self
    }

    /// Sets whether a forced `tool_choice` is reset after a tool call (default true).
    pub fn reset_tool_choice(mut self, reset: bool) -> Self {
        self.inner.reset_tool_choice = reset;
        self
    }

    /// Builds the agent.
    pub fn build(self) -> Agent<C> {
        Agent {
            inner: Arc::new(self.inner),
        }
    }
}
