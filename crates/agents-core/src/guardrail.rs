//! Guardrails: checks on a run's input and final output, and on each call
//! of a function tool.
//!
//! - [`InputGuardrail`]: checks the run's input, for the starting agent on the
//!   first turn only; in parallel with the first model call by default, or
//!   before anything else runs when [`blocking`](InputGuardrail::blocking).
//! - [`OutputGuardrail`]: checks the final output of the agent that produced it.
//! - [`ToolInputGuardrail`] / [`ToolOutputGuardrail`]: check one tool call's
//!   arguments before it runs, and its output after; each answers allow,
//!   reject (the model reads a message instead), or raise (the run ends with
//!   [`Error::ToolGuardrailTripwire`](crate::Error::ToolGuardrailTripwire)).
//!
//! A tripped input or output guardrail ends the run with
//! [`Error::InputGuardrailTripwire`](crate::Error::InputGuardrailTripwire) or
//! [`Error::OutputGuardrailTripwire`](crate::Error::OutputGuardrailTripwire),
//! which carry the guardrail's name and result.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::Agent;
use crate::context::RunContext;
use crate::items::{FunctionCall, Item};
use crate::output::FinalOutput;
use crate::tool::{ToolContext, ToolOutput};

/// What a guardrail function returns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardrailOutput {
    /// Anything the guardrail wants to report.
    pub output_info: Value,
    /// When true, the run stops with a tripwire error.
    pub tripwire_triggered: bool,
}

impl GuardrailOutput {
    /// A passing result.
    pub fn pass(output_info: impl Into<Value>) -> Self {
        GuardrailOutput {
            output_info: output_info.into(),
            tripwire_triggered: false,
        }
    }

    /// A tripping result.
    pub fn trip(output_info: impl Into<Value>) -> Self {
        GuardrailOutput {
            output_info: output_info.into(),
            tripwire_triggered: true,
        }
    }
}

/// The result of one input guardrail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputGuardrailResult {
    /// The guardrail's name.
    pub guardrail: String,
    /// The agent it checked.
    pub agent: String,
    /// What it returned.
    pub output: GuardrailOutput,
}

/// The result of one output guardrail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputGuardrailResult {
    /// The guardrail's name.
    pub guardrail: String,
    /// The agent whose output it checked.
    pub agent: String,
    /// The output that was checked.
    pub agent_output: FinalOutput,
    /// What it returned.
    pub output: GuardrailOutput,
}

type InputFn<C> = Arc<
    dyn Fn(
            RunContext<C>,
            Agent<C>,
            Arc<[Item]>,
        ) -> BoxFuture<'static, Result<GuardrailOutput, String>>
        + Send
        + Sync,
>;
type OutputFn<C> = Arc<
    dyn Fn(
            RunContext<C>,
            Agent<C>,
            FinalOutput,
        ) -> BoxFuture<'static, Result<GuardrailOutput, String>>
        + Send
        + Sync,
>;

/// A check on the run's input. Runs only for the starting agent, on the
/// first turn: in parallel with the first model call by default (a tripwire
/// then ends the run, but the model may already have been called), or, when
/// [`blocking`](InputGuardrail::blocking), to completion before anything else
/// of the turn runs (no hook fires and the model is not called when it
/// trips). Set on an agent (`AgentBuilder::input_guardrail`) or for the whole
/// run (`RunConfig::input_guardrails`).
///
/// A guardrail may itself run an agent, for instance one with a structured
/// `output_type` that classifies the input (see the `guardrails` example).
pub struct InputGuardrail<C = ()> {
    /// The guardrail's name.
    pub name: String,
    /// Run alongside the first model call (true) or before it (false).
    pub run_in_parallel: bool,
    func: InputFn<C>,
}

impl<C> Clone for InputGuardrail<C> {
    fn clone(&self) -> Self {
        InputGuardrail {
            name: self.name.clone(),
            run_in_parallel: self.run_in_parallel,
            func: Arc::clone(&self.func),
        }
    }
}

impl<C> fmt::Debug for InputGuardrail<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputGuardrail")
            .field("name", &self.name)
            .field("run_in_parallel", &self.run_in_parallel)
            .finish()
    }
}

impl<C: Send + Sync + 'static> InputGuardrail<C> {
    /// A guardrail from an async function of (context, agent, input items).
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(RunContext<C>, Agent<C>, Arc<[Item]>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GuardrailOutput, String>> + Send + 'static,
    {
        InputGuardrail {
            name: name.into(),
            run_in_parallel: true,
            func: Arc::new(move |c, a, i| Box::pin(f(c, a, i))),
        }
    }

    /// Runs the guardrail to completion before anything else of the first
    /// turn (hooks, toolkits, the model call).
    pub fn blocking(mut self) -> Self {
        self.run_in_parallel = false;
        self
    }

    /// Runs the guardrail.
    pub fn run(
        &self,
        ctx: RunContext<C>,
        agent: Agent<C>,
        input: Arc<[Item]>,
    ) -> BoxFuture<'static, Result<GuardrailOutput, String>> {
        (self.func)(ctx, agent, input)
    }
}

/// A check on the final output, run only for the agent that produced it (its
/// own guardrails plus `RunConfig::output_guardrails`), before
/// `on_agent_end`.
pub struct OutputGuardrail<C = ()> {
    /// The guardrail's name.
    pub name: String,
    func: OutputFn<C>,
}

impl<C> Clone for OutputGuardrail<C> {
    fn clone(&self) -> Self {
        OutputGuardrail {
            name: self.name.clone(),
            func: Arc::clone(&self.func),
        }
    }
}

impl<C> fmt::Debug for OutputGuardrail<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputGuardrail")
            .field("name", &self.name)
            .finish()
    }
}

impl<C: Send + Sync + 'static> OutputGuardrail<C> {
    /// A guardrail from an async function of (context, agent, final output).
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(RunContext<C>, Agent<C>, FinalOutput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GuardrailOutput, String>> + Send + 'static,
    {
        OutputGuardrail {
            name: name.into(),
            func: Arc::new(move |c, a, o| Box::pin(f(c, a, o))),
        }
    }

    /// Runs the guardrail.
    pub fn run(
        &self,
        ctx: RunContext<C>,
        agent: Agent<C>,
        output: FinalOutput,
    ) -> BoxFuture<'static, Result<GuardrailOutput, String>> {
        (self.func)(ctx, agent, output)
    }
}

// ---- Tool guardrails --------------------------------------------------------

/// What a tool guardrail decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolGuardrailBehavior {
    /// Let the call (or its output) through.
    #[default]
    Allow,
    /// Do not run the call (input guardrail) or discard its output (output
    /// guardrail); the model reads `message` as the tool's output instead and
    /// the run goes on.
    RejectContent {
        /// What the model reads instead of the tool's output.
        message: String,
    },
    /// End the run with
    /// [`Error::ToolGuardrailTripwire`](crate::Error::ToolGuardrailTripwire).
    RaiseException {
        /// Why; carried by the error.
        message: String,
    },
}

/// What a tool guardrail function returns.
///
/// ```
/// use agents_core::guardrail::{ToolGuardrailBehavior, ToolGuardrailOutput};
///
/// let out = ToolGuardrailOutput::reject("Refused: no deletions.").with_info(serde_json::json!({"rule": 7}));
/// assert_eq!(
///     out.behavior,
///     ToolGuardrailBehavior::RejectContent { message: "Refused: no deletions.".into() }
/// );
/// assert!(ToolGuardrailOutput::allow().is_allow());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolGuardrailOutput {
    /// Anything the guardrail wants to report.
    pub output_info: Value,
    /// What happens to the call.
    pub behavior: ToolGuardrailBehavior,
}

impl ToolGuardrailOutput {
    /// Lets the call or output through.
    pub fn allow() -> Self {
        ToolGuardrailOutput::default()
    }

    /// Replaces the tool's output by `message`, which the model reads; the run goes on.
    pub fn reject(message: impl Into<String>) -> Self {
        ToolGuardrailOutput {
            output_info: Value::Null,
            behavior: ToolGuardrailBehavior::RejectContent {
                message: message.into(),
            },
        }
    }

    /// Ends the run with a tool guardrail tripwire error carrying `message`.
    pub fn raise(message: impl Into<String>) -> Self {
        ToolGuardrailOutput {
            output_info: Value::Null,
            behavior: ToolGuardrailBehavior::RaiseException {
                message: message.into(),
            },
        }
    }

    /// Sets the reported information.
    pub fn with_info(mut self, output_info: impl Into<Value>) -> Self {
        self.output_info = output_info.into();
        self
    }

    /// Whether the call or output is let through.
    pub fn is_allow(&self) -> bool {
        self.behavior == ToolGuardrailBehavior::Allow
    }

    /// The message of a rejection or a raise.
    pub fn message(&self) -> Option<&str> {
        match &self.behavior {
            ToolGuardrailBehavior::Allow => None,
            ToolGuardrailBehavior::RejectContent { message }
            | ToolGuardrailBehavior::RaiseException { message } => Some(message),
        }
    }
}

/// The result of one tool guardrail on one call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolGuardrailResult {
    /// The guardrail's name.
    pub guardrail: String,
    /// The tool it checked.
    pub tool: String,
    /// The call it checked.
    pub call_id: String,
    /// What it returned.
    pub output: ToolGuardrailOutput,
}

/// What a [`ToolInputGuardrail`] sees: the call before it runs.
#[non_exhaustive]
pub struct ToolInputGuardrailData<C = ()> {
    /// The context the tool would run with (run context, tool name, call id).
    pub context: ToolContext<C>,
    /// The agent whose turn asked for the call.
    pub agent: Agent<C>,
    /// The call as the model made it (raw arguments included).
    pub call: FunctionCall,
    /// The arguments, parsed as JSON (`{}` when the model sent none).
    pub arguments: Value,
}

impl<C> ToolInputGuardrailData<C> {
    /// The data of one call.
    pub fn new(
        context: ToolContext<C>,
        agent: Agent<C>,
        call: FunctionCall,
        arguments: Value,
    ) -> Self {
        ToolInputGuardrailData {
            context,
            agent,
            call,
            arguments,
        }
    }
}

impl<C> Clone for ToolInputGuardrailData<C> {
    fn clone(&self) -> Self {
        ToolInputGuardrailData {
            context: self.context.clone(),
            agent: self.agent.clone(),
            call: self.call.clone(),
            arguments: self.arguments.clone(),
        }
    }
}

impl<C> fmt::Debug for ToolInputGuardrailData<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolInputGuardrailData")
            .field("agent", &self.agent.name())
            .field("call", &self.call)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

/// What a [`ToolOutputGuardrail`] sees: the call and the output it produced.
#[non_exhaustive]
pub struct ToolOutputGuardrailData<C = ()> {
    /// The context the tool ran with.
    pub context: ToolContext<C>,
    /// The agent whose turn asked for the call.
    pub agent: Agent<C>,
    /// The call as the model made it.
    pub call: FunctionCall,
    /// The arguments, parsed as JSON.
    pub arguments: Value,
    /// The tool's output.
    pub output: ToolOutput,
}

impl<C> ToolOutputGuardrailData<C> {
    /// The data of one call's output.
    pub fn new(input: ToolInputGuardrailData<C>, output: ToolOutput) -> Self {
        ToolOutputGuardrailData {
            context: input.context,
            agent: input.agent,
            call: input.call,
            arguments: input.arguments,
            output,
        }
    }
}

impl<C> Clone for ToolOutputGuardrailData<C> {
    fn clone(&self) -> Self {
        ToolOutputGuardrailData {
            context: self.context.clone(),
            agent: self.agent.clone(),
            call: self.call.clone(),
            arguments: self.arguments.clone(),
            output: self.output.clone(),
        }
    }
}

impl<C> fmt::Debug for ToolOutputGuardrailData<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolOutputGuardrailData")
            .field("agent", &self.agent.name())
            .field("call", &self.call)
            .field("output", &self.output)
            .finish_non_exhaustive()
    }
}

type ToolGuardrailFn<D> =
    Arc<dyn Fn(D) -> BoxFuture<'static, Result<ToolGuardrailOutput, String>> + Send + Sync>;

/// A check on a function tool's call, before it runs. Attach it with
/// [`FunctionTool::input_guardrail`](crate::FunctionTool::input_guardrail).
///
/// It runs after `on_tool_start` and sees the context, the agent, the call
/// and the parsed arguments. A tool with guardrails is never invoked with
/// arguments that are not JSON: such a call gets an error output without
/// running the tool or its guardrails. A guardrail function that fails
/// (`Err`) ends the run with a user error.
///
/// ```
/// use agents_core::guardrail::{ToolGuardrailOutput, ToolInputGuardrail, ToolInputGuardrailData};
///
/// let no_root: ToolInputGuardrail = ToolInputGuardrail::new("no_root", |data: ToolInputGuardrailData| async move {
///     Ok(if data.arguments["path"] == "/" {
///         ToolGuardrailOutput::reject("Refused: the root directory is off limits.")
///     } else {
///         ToolGuardrailOutput::allow()
///     })
/// });
/// assert_eq!(no_root.name, "no_root");
/// ```
pub struct ToolInputGuardrail<C = ()> {
    /// The guardrail's name.
    pub name: String,
    func: ToolGuardrailFn<ToolInputGuardrailData<C>>,
}

impl<C> Clone for ToolInputGuardrail<C> {
    fn clone(&self) -> Self {
        ToolInputGuardrail {
            name: self.name.clone(),
            func: Arc::clone(&self.func),
        }
    }
}

impl<C> fmt::Debug for ToolInputGuardrail<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolInputGuardrail")
            .field("name", &self.name)
            .finish()
    }
}

impl<C: Send + Sync + 'static> ToolInputGuardrail<C> {
    /// A guardrail from an async function of the call's data.
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(ToolInputGuardrailData<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolGuardrailOutput, String>> + Send + 'static,
    {
        ToolInputGuardrail {
            name: name.into(),
            func: Arc::new(move |d| Box::pin(f(d))),
        }
    }

    /// Runs the guardrail.
    pub fn run(
        &self,
        data: ToolInputGuardrailData<C>,
    ) -> BoxFuture<'static, Result<ToolGuardrailOutput, String>> {
        (self.func)(data)
    }
}

/// A check on a function tool's successful output, before the model reads
/// it. Attach it with
/// [`FunctionTool::output_guardrail`](crate::FunctionTool::output_guardrail).
///
/// It runs before `on_tool_end` and only on outputs of calls that succeeded
/// (failures already reach the model as error text). A guardrail function
/// that fails (`Err`) ends the run with a user error.
pub struct ToolOutputGuardrail<C = ()> {
    /// The guardrail's name.
    pub name: String,
    func: ToolGuardrailFn<ToolOutputGuardrailData<C>>,
}

impl<C> Clone for ToolOutputGuardrail<C> {
    fn clone(&self) -> Self {
        ToolOutputGuardrail {
            name: self.name.clone(),
            func: Arc::clone(&self.func),
        }
    }
}

impl<C> fmt::Debug for ToolOutputGuardrail<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolOutputGuardrail")
            .field("name", &self.name)
            .finish()
    }
}

impl<C: Send + Sync + 'static> ToolOutputGuardrail<C> {
    /// A guardrail from an async function of the call's output data.
    pub fn new<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(ToolOutputGuardrailData<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolGuardrailOutput, String>> + Send + 'static,
    {
        ToolOutputGuardrail {
            name: name.into(),
            func: Arc::new(move |d| Box::pin(f(d))),
        }
    }

    /// Runs the guardrail.
    pub fn run(
        &self,
        data: ToolOutputGuardrailData<C>,
    ) -> BoxFuture<'static, Result<ToolGuardrailOutput, String>> {
        (self.func)(data)
    }
}
