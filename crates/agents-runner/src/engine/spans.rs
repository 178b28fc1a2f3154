//! The loop's tracing helpers that need its fields (see `crate::trace` for
//! the spans themselves).

use std::sync::Arc;

use agents_core::{Agent, AgentModel, Tool, ToolkitSession};

use super::RunLoop;

impl<C: Send + Sync + 'static> RunLoop<C> {
    /// The model's name, when the run or the agent names it.
    pub(super) fn model_name(&self, agent: &Agent<C>) -> Option<String> {
        match self.opts.run_config.model.as_ref().or(agent.model()) {
            Some(AgentModel::Name(n)) => Some(n.clone()),
            _ => None,
        }
    }

    /// One `mcp_tools` span per toolkit session, and the agent span's tool
    /// list (only when tracing is on).
    pub(super) fn trace_tool_listing(
        &mut self,
        agent: &Agent<C>,
        sessions: &[Arc<dyn ToolkitSession<C>>],
        roster: &[Arc<dyn Tool<C>>],
    ) {
        if !self.tracer.is_on() {
            return;
        }
        for (toolkit, session) in agent.toolkits().iter().zip(sessions) {
            self.tracer.mcp_tools(toolkit.name(), || {
                session
                    .tools()
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect()
            });
        }
        self.tracer
            .agent_tools(|| roster.iter().map(|t| t.name().to_owned()).collect());
    }
}
