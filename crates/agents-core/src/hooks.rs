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

/// Callbacks on run events. Used at run level (all agents) and at agent level
/// (events of that agent only). When both are set, the run-level hook fires
/// first, then the agent-level hook. A hook error ends the run.
///
/// Every method has a default that does nothing.
#[allow(unused_variables)]
pub trait Hooks<C = ()>: Send + Sync {
    /// An agent starts a turn sequence (run start, or after a handoff).
    fn on_agent_start<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// An agent produced the final output.
    fn on_agent_end<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        output: &'a FinalOutput,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// A model call is about to start.
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

    /// A tool finished.
    fn on_tool_end<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        agent: &'a Agent<C>,
        call: &'a FunctionCall,
        output: &'a ToolOutput,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }

    /// Control moves from `from` to `to`.
    fn on_handoff<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        from: &'a Agent<C>,
        to: &'a Agent<C>,
    ) -> BoxFuture<'a, HookResult> {
        ok()
    }
}
