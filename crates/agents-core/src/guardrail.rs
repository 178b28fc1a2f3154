//! Input and output guardrails.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::Agent;
use crate::context::RunContext;
use crate::items::Item;
use crate::output::FinalOutput;

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
/// first turn: in parallel with the first model call by default, or before
/// it when `run_in_parallel` is false.
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

    /// Runs the guardrail to completion before the first model call.
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

/// A check on the final output of the agent that produced it.
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
