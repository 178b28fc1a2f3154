//! Lifecycle hooks.

use futures::future::BoxFuture;

use crate::agent::Agent;
use crate::context::RunContext;
use crate::items::{FunctionCall, Item};
use crate::model::ModelResponse;
use crate::output::FinalOutput;
use crate::tool::ToolOutput;

/// A hook failed; the run ends with this message.
pub type HookResult = Result<(), String>;

fn ok<'a>() -> BoxFuture<'a, HookResult> {
    Box::pin(std::future::ready(Ok(())))
}

/// Callbacks on run events. Used at run level (`RunOptions::hooks`: every
/// agent of the run) and at agent level (`AgentBuilder::hooks`: that agent's
/// events only). For each event the run-level hook fires first, then the
/// agent-level hook. A hook that returns `Err` ends the run with
/// [`Error::Hook`](crate::Error::Hook); nothing fires after it.
///
/// Every method has a default that does nothing.
///
/// # Order
///
/// Each turn fires, in this order:
///
/// 1. `on_agent_start`, on the first turn of each agent (at the start of the
///    run and after each handoff). On the run's first turn, blocking input
///    guardrails finish before it, so a tripped one fires no hook at all.
/// 2. `on_llm_start`, with the instructions and input actually sent (after
///    `call_model_input_filter`); parallel input guardrails run alongside
///    the model call that follows.
/// 3. `on_llm_end`, with the model's response.
/// 4. For each function tool call: `on_tool_start`, then the tool's input
///    guardrails, the tool, its output guardrails, then `on_tool_end` with the
///    output the model will read (an error text or a guardrail's rejection
///    included). Calls run concurrently, so events of different calls may
///    interleave; each call's own events keep this order. A call that ends
///    the run (raise policy, a guardrail that raises) fires no `on_tool_end`.
/// 5. If the model handed off: the handoff's `on_handoff` callback, the input
///    filter (or nested history), then `on_handoff(from, to)`. The
///    agent-level hook fired is the one of the agent *receiving* control.
///    The next turn starts again at 1 with the new agent.
/// 6. When the turn produced the final output: the output guardrails of the
///    agent that produced it, then `on_agent_end` (only once they passed).
///
/// The nested run of an agent used as a tool fires its agents' own hooks;
/// run-level hooks are not inherited by it.
#[allow(unused_variables)]
pub trait Hooks<C = ()>: Send + Sync {
    /// An agent takes its first turn (at the run's start, or after a handoff).
    fn on_agent_start<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// An agent produced the final output and it passed the output guardrails.
    fn on_agent_end<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        output: &'a FinalOutput,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// A model call is about to start: `system_prompt` and `input` are
    /// exactly what the model receives.
    fn on_llm_start<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        system_prompt: Option<&'a str>,
        input: &'a [Item],
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// A model call returned.
    fn on_llm_end<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        response: &'a ModelResponse,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// A tool is about to run.
    fn on_tool_start<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        call: &'a FunctionCall,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// A tool finished; `output` is what the model reads.
    fn on_tool_end<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        call: &'a FunctionCall,
        output: &'a ToolOutput,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// Control moves from `from` to `to` (after the handoff's callback and
    /// input filter). The agent-level hook fired is `to`'s.
    fn on_handoff<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        from: &'a Agent<C>,
        to: &'a Agent<C>,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }
}
