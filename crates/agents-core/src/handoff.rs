//! Handoffs: letting one agent hand the conversation to another.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::agent::Agent;
use crate::context::RunContext;
use crate::items::Item;
use crate::run_item::RunItem;

/// What a handoff's input filter sees and returns.
#[derive(Clone, Debug, PartialEq)]
pub struct HandoffInputData {
    /// The run's input (history plus the original input).
    pub input_history: Vec<Item>,
    /// Items produced before the turn that handed off.
    pub pre_handoff_items: Vec<RunItem>,
    /// Items of the turn that handed off (including the handoff call and output).
    pub new_items: Vec<RunItem>,
}

type OnHandoff<C> =
    Arc<dyn Fn(RunContext<C>, Value) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;
/// An input filter: edits what the next agent sees.
pub type InputFilter = Arc<dyn Fn(HandoffInputData) -> HandoffInputData + Send + Sync>;
type EnabledFn<C> = Arc<dyn Fn(&RunContext<C>) -> bool + Send + Sync>;

/// A handoff to another agent, presented to the model as a function tool
/// named `transfer_to_<snake_case_name>`.
pub struct Handoff<C = ()> {
    /// The tool name the model calls.
    pub tool_name: String,
    /// The tool description the model sees.
    pub tool_description: String,
    /// JSON schema of the arguments.
    pub input_schema: Value,
    /// Whether the schema is strict.
    pub strict: bool,
    agent: Agent<C>,
    on_handoff: Option<OnHandoff<C>>,
    input_filter: Option<InputFilter>,
    is_enabled: Option<EnabledFn<C>>,
}

impl<C> Clone for Handoff<C> {
    fn clone(&self) -> Self {
        Handoff {
            tool_name: self.tool_name.clone(),
            tool_description: self.tool_description.clone(),
            input_schema: self.input_schema.clone(),
            strict: self.strict,
            agent: self.agent.clone(),
            on_handoff: self.on_handoff.clone(),
            input_filter: self.input_filter.clone(),
            is_enabled: self.is_enabled.clone(),
        }
    }
}

impl<C> fmt::Debug for Handoff<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handoff")
            .field("tool_name", &self.tool_name)
            .field("agent", &self.agent.name())
            .finish_non_exhaustive()
    }
}

/// `Triage Agent` → `triage_agent`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

impl<C: Send + Sync + 'static> Handoff<C> {
    /// A handoff to `agent` with the default tool name and description.
    pub fn to(agent: &Agent<C>) -> Self {
        let mut description = format!(
            "Handoff to the {} agent to handle the request.",
            agent.name()
        );
        if let Some(d) = agent.handoff_description() {
            description.push(' ');
            description.push_str(d);
        }
        Handoff {
            tool_name: format!("transfer_to_{}", snake_case(agent.name())),
            tool_description: description,
            input_schema: json!({"type":"object","properties":{},"required":[],"additionalProperties":false}),
            strict: true,
            agent: agent.clone(),
            on_handoff: None,
            input_filter: None,
            is_enabled: None,
        }
    }

    /// Overrides the tool name.
    pub fn tool_name(mut self, name: impl Into<String>) -> Self {
        self.tool_name = name.into();
        self
    }

    /// Overrides the tool description.
    pub fn tool_description(mut self, description: impl Into<String>) -> Self {
        self.tool_description = description.into();
        self
    }

    /// Runs `f` with the context and the parsed arguments when the handoff happens.
    pub fn on_handoff<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RunContext<C>, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.on_handoff = Some(Arc::new(move |c, v| Box::pin(f(c, v))));
        self
    }

    /// Sets an input filter.
    pub fn input_filter(
        mut self,
        f: impl Fn(HandoffInputData) -> HandoffInputData + Send + Sync + 'static,
    ) -> Self {
        self.input_filter = Some(Arc::new(f));
        self
    }

    /// Offers the handoff only when `f` returns true.
    pub fn enabled_when(
        mut self,
        f: impl Fn(&RunContext<C>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.is_enabled = Some(Arc::new(f));
        self
    }
}

impl<C> Handoff<C> {
    /// The agent control moves to.
    pub fn agent(&self) -> &Agent<C> {
        &self.agent
    }

    /// The input filter, if any.
    pub fn filter(&self) -> Option<&InputFilter> {
        self.input_filter.as_ref()
    }

    /// Whether the handoff is offered in this run.
    pub fn is_enabled(&self, ctx: &RunContext<C>) -> bool {
        self.is_enabled.as_ref().is_none_or(|f| f(ctx))
    }

    /// Runs the `on_handoff` callback, if any.
    pub fn invoke_callback(
        &self,
        ctx: RunContext<C>,
        args: Value,
    ) -> Option<BoxFuture<'static, Result<(), String>>> {
        self.on_handoff.as_ref().map(|f| f(ctx, args))
    }

    /// The handoff's output item text: `{"assistant": "<name>"}`.
    pub fn output_text(&self) -> String {
        json!({ "assistant": self.agent.name() }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_cases_names() {
        for (i, o) in [
            ("Triage Agent", "triage_agent"),
            ("billingAgent", "billing_agent"),
            ("FAQ bot 2", "faq_bot_2"),
            ("  spaced--name ", "spaced_name"),
        ] {
            assert_eq!(snake_case(i), o);
        }
    }
}
