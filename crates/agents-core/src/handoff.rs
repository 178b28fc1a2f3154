//! Handoffs: letting one agent hand the conversation to another.
//!
//! A [`Handoff`] is offered to the model as a function tool, by default
//! named `transfer_to_<snake_case_name>`. When the model calls it, the
//! handoff's `on_handoff` callback runs with the parsed arguments, the output
//! `{"assistant": "<name>"}` is recorded, and the next turn belongs to the
//! target agent. Only the first handoff of a turn runs.
//!
//! What the next agent sees can be edited:
//! - an input filter ([`Handoff::input_filter`], or the run-level default
//!   `RunConfig::handoff_input_filter`; the handoff's own filter wins), with a
//!   few ready-made ones in [`filters`];
//! - or, when no filter applies, nested history ([`Handoff::nest_history`],
//!   or `RunConfig::nest_handoff_history`): the whole prior transcript is
//!   collapsed into one summary message ([`default_history_mapper`], or a
//!   custom [`HistoryMapper`]).
//!
//! Neither applies to server-managed conversations (`previous_response_id`,
//! `conversation_id`): the server holds the history, so the next agent sees
//! it unchanged.
//!
//! ```
//! use agents_core::{Agent, Handoff};
//! use agents_core::handoff::filters;
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Escalation { reason: String }
//!
//! let billing: Agent = Agent::builder("Billing agent").handoff_description("Invoices and refunds.").build();
//! let handoff = Handoff::to(&billing)
//!     .on_handoff_typed(|_ctx, e: Escalation| async move {
//!         println!("escalated: {}", e.reason);
//!         Ok(())
//!     })
//!     .input_filter(filters::remove_all_tools);
//! assert_eq!(handoff.tool_name, "transfer_to_billing_agent");
//! assert_eq!(handoff.input_schema["required"], serde_json::json!(["reason"]));
//! let triage: Agent = Agent::builder("Triage").handoff(handoff).build();
//! assert_eq!(triage.handoffs().len(), 1);
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::agent::Agent;
use crate::context::RunContext;
use crate::items::{Content, Item, Message, Role};
use crate::run_item::RunItem;
use crate::schema::SchemaError;
use crate::tool::{raw_parameters_schema, try_parameters_schema};

/// What a handoff's input filter sees and returns.
///
/// The next agent's input is `input_history`, then the model-input items of
/// `pre_handoff_items` and `new_items`; the run reports `pre_handoff_items`
/// and `new_items` as its produced items.
#[derive(Clone, Debug, PartialEq)]
pub struct HandoffInputData {
    /// The run's input (session history plus the original input).
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
/// Builds the next agent's input from the whole prior transcript when
/// history is nested. [`default_history_mapper`] collapses it into one
/// summary message.
pub type HistoryMapper = Arc<dyn Fn(Vec<Item>) -> Vec<Item> + Send + Sync>;
type EnabledFn<C> = Arc<dyn Fn(&RunContext<C>) -> bool + Send + Sync>;
type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// A handoff to another agent, presented to the model as a function tool
/// named `transfer_to_<snake_case_name>`.
///
/// Build it with [`Handoff::to`] (or [`Agent::as_handoff`]) and customise
/// the tool name and description, the arguments ([`Handoff::input_type`]),
/// the callback ([`Handoff::on_handoff`], [`Handoff::on_handoff_typed`],
/// [`Handoff::on_handoff_sync`]), what the next agent sees
/// ([`Handoff::input_filter`], [`Handoff::nest_history`]) and when it is
/// offered ([`Handoff::enabled`], [`Handoff::enabled_when`]).
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
    validate: Option<Validator>,
    nest_history: Option<bool>,
    history_mapper: Option<HistoryMapper>,
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
            validate: self.validate.clone(),
            nest_history: self.nest_history,
            history_mapper: self.history_mapper.clone(),
        }
    }
}

impl<C> fmt::Debug for Handoff<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handoff")
            .field("tool_name", &self.tool_name)
            .field("agent", &self.agent.name())
            .field("nest_history", &self.nest_history)
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
            validate: None,
            nest_history: None,
            history_mapper: None,
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

    /// Declares the arguments the model passes: `T`'s strict JSON schema
    /// becomes the tool's parameters, and arguments that do not deserialize
    /// into `T` are answered with an error output (the model may retry) and
    /// no handoff happens. `T` should be a struct.
    ///
    /// # Panics
    ///
    /// Panics when `T` has no strict schema (see
    /// [`Handoff::try_input_type`]); the message names the field and the
    /// non-strict option. Use [`Handoff::input_type_non_strict`] for such
    /// types.
    pub fn input_type<T: DeserializeOwned + JsonSchema + 'static>(self) -> Self {
        let name = self.tool_name.clone();
        self.try_input_type::<T>()
            .unwrap_or_else(|e| panic!("handoff `{name}`: {e}"))
    }

    /// Like [`Handoff::input_type`], returning the error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// A [`SchemaError`] naming the field of `T` that strict mode cannot
    /// express (a map, a `serde_json::Value`, ...), or
    /// [`SchemaError::RootNotObject`] when `T` is not a struct.
    pub fn try_input_type<T: DeserializeOwned + JsonSchema + 'static>(
        self,
    ) -> Result<Self, SchemaError> {
        let schema = try_parameters_schema::<T>()?;
        Ok(self.with_input::<T>(schema, true))
    }

    /// Like [`Handoff::input_type`], with `T`'s schema as schemars generates
    /// it, sent with `strict: false`. Never fails; use it for arguments with
    /// maps or `serde_json::Value`.
    pub fn input_type_non_strict<T: DeserializeOwned + JsonSchema + 'static>(self) -> Self {
        self.with_input::<T>(raw_parameters_schema::<T>(), false)
    }

    fn with_input<T: DeserializeOwned + 'static>(mut self, schema: Value, strict: bool) -> Self {
        self.input_schema = schema;
        self.strict = strict;
        self.validate = Some(Arc::new(|v: &Value| {
            T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
        }));
        self
    }

    /// Runs `f` with the context and the parsed arguments (JSON) when the
    /// handoff happens. An `Err` ends the run with a hook error.
    pub fn on_handoff<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RunContext<C>, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.on_handoff = Some(Arc::new(move |c, v| Box::pin(f(c, v))));
        self
    }

    /// Like [`Handoff::on_handoff`], with a synchronous callback.
    pub fn on_handoff_sync(
        mut self,
        f: impl Fn(&RunContext<C>, Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.on_handoff = Some(Arc::new(move |c, v| Box::pin(std::future::ready(f(&c, v)))));
        self
    }

    /// Sets the input type `T` (as [`Handoff::input_type`]) and runs `f` with
    /// the context and the arguments parsed into `T` when the handoff happens.
    /// An `Err` ends the run with a hook error.
    ///
    /// # Panics
    ///
    /// As [`Handoff::input_type`], when `T` has no strict schema.
    pub fn on_handoff_typed<T, F, Fut>(self, f: F) -> Self
    where
        T: DeserializeOwned + JsonSchema + 'static,
        F: Fn(RunContext<C>, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let mut this = self.input_type::<T>();
        this.on_handoff = Some(Arc::new(move |c, v| match T::deserialize(v) {
            Ok(typed) => Box::pin(f(c, typed)),
            Err(e) => Box::pin(std::future::ready(Err(format!(
                "handoff arguments do not match the input type: {e}"
            )))),
        }));
        this
    }

    /// Sets an input filter: it sees the input history, the pre-handoff items
    /// and the new items, and returns what the next agent sees. It wins over
    /// the run-level `RunConfig::handoff_input_filter` and over nested
    /// history. Skipped for server-managed conversations.
    pub fn input_filter(
        mut self,
        f: impl Fn(HandoffInputData) -> HandoffInputData + Send + Sync + 'static,
    ) -> Self {
        self.input_filter = Some(Arc::new(f));
        self
    }

    /// Nests the history for this handoff (`true`) or not (`false`),
    /// whatever `RunConfig::nest_handoff_history` says. Nesting collapses the
    /// whole prior transcript into one summary message for the next agent.
    /// An input filter, when one applies, wins over nesting.
    pub fn nest_history(mut self, nest: bool) -> Self {
        self.nest_history = Some(nest);
        self
    }

    /// Nests the history for this handoff with `mapper` building the next
    /// agent's input from the whole prior transcript.
    pub fn history_mapper(
        mut self,
        mapper: impl Fn(Vec<Item>) -> Vec<Item> + Send + Sync + 'static,
    ) -> Self {
        self.nest_history = Some(true);
        self.history_mapper = Some(Arc::new(mapper));
        self
    }

    /// Offers the handoff (`true`, the default) or hides it from the model.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.is_enabled = Some(Arc::new(move |_| enabled));
        self
    }

    /// Offers the handoff only when `f` returns true for the run's context
    /// (evaluated at every turn).
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

    /// Whether this handoff nests history: `Some` when set on the handoff,
    /// `None` to follow `RunConfig::nest_handoff_history`.
    pub fn nests_history(&self) -> Option<bool> {
        self.nest_history
    }

    /// The handoff's own history mapper, if any.
    pub fn mapper(&self) -> Option<&HistoryMapper> {
        self.history_mapper.as_ref()
    }

    /// Parses the model's raw arguments (empty means `{}`) and checks them
    /// against the input type, if one is set. The error text is meant for
    /// the model.
    pub fn parse_arguments(&self, raw: &str) -> Result<Value, String> {
        let raw = if raw.trim().is_empty() { "{}" } else { raw };
        let value: Value = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        if let Some(validate) = &self.validate {
            validate(&value)?;
        }
        Ok(value)
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

// ---- Nested history -------------------------------------------------------

/// The first line of a nested-history summary message.
pub const HISTORY_PREAMBLE: &str =
    "For context, here is the conversation so far between the user and the previous agent:";
/// The line that opens the transcript inside a summary message.
pub const HISTORY_START: &str = "<CONVERSATION HISTORY>";
/// The line that closes the transcript inside a summary message.
pub const HISTORY_END: &str = "</CONVERSATION HISTORY>";

const NO_TURNS: &str = "(no previous turns recorded)";

/// The default [`HistoryMapper`]: the whole transcript becomes one assistant
/// message made by [`summarize_history`].
pub fn default_history_mapper(transcript: Vec<Item>) -> Vec<Item> {
    vec![summarize_history(&transcript)]
}

/// One assistant message summarising `transcript`: [`HISTORY_PREAMBLE`],
/// then one numbered line per item between [`HISTORY_START`] and
/// [`HISTORY_END`]. A one-line text message reads `role: text`; any other
/// item is its JSON. The lines of an earlier summary are spliced in, so
/// handing off twice does not nest summaries inside summaries.
///
/// ```
/// use agents_core::handoff::summarize_history;
/// use agents_core::Item;
///
/// let summary = summarize_history(&[Item::user("Where is my parcel?"), Item::assistant("Let me check.")]);
/// let text = summary.as_message().unwrap().text();
/// assert!(text.contains("1. user: Where is my parcel?\n2. assistant: Let me check."));
/// // Summarising a summary keeps one flat list.
/// let again = summarize_history(&[summary, Item::user("Any news?")]);
/// assert!(again.as_message().unwrap().text().contains("2. assistant: Let me check.\n3. user: Any news?"));
/// ```
pub fn summarize_history(transcript: &[Item]) -> Item {
    let mut records: Vec<String> = Vec::with_capacity(transcript.len());
    for item in transcript {
        match earlier_summary(item) {
            Some(lines) => records.extend(lines),
            None => records.push(describe_item(item)),
        }
    }
    let mut text = String::new();
    text.push_str(HISTORY_PREAMBLE);
    text.push('\n');
    text.push_str(HISTORY_START);
    text.push('\n');
    if records.is_empty() {
        text.push_str(NO_TURNS);
        text.push('\n');
    }
    for (n, record) in records.iter().enumerate() {
        text.push_str(&format!("{}. {record}\n", n + 1));
    }
    text.push_str(HISTORY_END);
    Item::Message(Message::new(Role::Assistant, Content::Text(text)))
}

/// The records of an earlier summary message, without their numbers.
fn earlier_summary(item: &Item) -> Option<Vec<String>> {
    let message = item.as_message()?;
    if message.role != Role::Assistant {
        return None;
    }
    let text = message.text();
    let body = text
        .strip_prefix(HISTORY_PREAMBLE)?
        .strip_prefix('\n')?
        .strip_prefix(HISTORY_START)?
        .strip_suffix(HISTORY_END)?;
    Some(
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != NO_TURNS)
            .map(|l| match l.split_once(". ") {
                Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest.to_owned(),
                _ => l.to_owned(),
            })
            .collect(),
    )
}

fn describe_item(item: &Item) -> String {
    if let Some(m) = item.as_message() {
        let plain = match &m.content {
            Content::Text(_) => true,
            Content::Parts(parts) => parts.iter().all(|p| {
                matches!(
                    p,
                    crate::items::ContentPart::InputText { .. }
                        | crate::items::ContentPart::OutputText { .. }
                )
            }),
        };
        let text = m.text();
        if plain && !text.contains(['\n', '\r']) {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::System => "system",
                Role::Developer => "developer",
            };
            return format!("{role}: {text}");
        }
    }
    serde_json::to_string(item).unwrap_or_else(|_| item.kind().to_owned())
}

/// Ready-made input filters for [`Handoff::input_filter`] and
/// `RunConfig::handoff_input_filter`.
///
/// ```
/// use agents_core::handoff::{filters, HandoffInputData};
/// use agents_core::Item;
///
/// let data = HandoffInputData {
///     input_history: vec![
///         Item::user("hi"),
///         Item::function_call("c1", "lookup", "{}"),
///         Item::function_call_output("c1", "found"),
///         Item::assistant("done"),
///     ],
///     pre_handoff_items: vec![],
///     new_items: vec![],
/// };
/// let without_tools = filters::remove_all_tools(data.clone());
/// assert_eq!(without_tools.input_history, vec![Item::user("hi"), Item::assistant("done")]);
/// let last_two = filters::keep_last_n(2)(data);
/// // The output whose call was cut is dropped too.
/// assert_eq!(last_two.input_history, vec![Item::assistant("done")]);
/// ```
pub mod filters {
    use std::collections::HashSet;

    use super::HandoffInputData;
    use crate::items::Item;
    use crate::run_item::{RunItem, RunItemKind};

    /// Item types that are tool calls, tool outputs or reasoning.
    const TOOL_ITEM_TYPES: &[&str] = &[
        "function_call",
        "function_call_output",
        "computer_call",
        "computer_call_output",
        "file_search_call",
        "web_search_call",
        "tool_search_call",
        "tool_search_output",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "reasoning",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
    ];

    fn is_tool_item(item: &Item) -> bool {
        TOOL_ITEM_TYPES.contains(&item.kind())
    }

    fn is_tool_run_item(item: &RunItem) -> bool {
        // Listed explicitly, so that kinds added later (user input, say)
        // are kept unless their wire item is a tool item.
        match item.kind {
            RunItemKind::ToolCall
            | RunItemKind::ToolCallOutput { .. }
            | RunItemKind::HandoffCall
            | RunItemKind::HandoffOutput { .. }
            | RunItemKind::Reasoning
            | RunItemKind::ToolApproval => true,
            _ => is_tool_item(&item.item),
        }
    }

    /// Drops every tool call and tool output (function tools, handoffs,
    /// hosted tools) and every reasoning item, from the history and from the
    /// run's items: the next agent sees the conversation's messages only.
    pub fn remove_all_tools(mut data: HandoffInputData) -> HandoffInputData {
        data.input_history.retain(|i| !is_tool_item(i));
        data.pre_handoff_items.retain(|i| !is_tool_run_item(i));
        data.new_items.retain(|i| !is_tool_run_item(i));
        data
    }

    /// Keeps only the last `n` items of the whole conversation (history, then
    /// pre-handoff items, then new items), then drops any tool output whose
    /// call was cut, because a model rejects an output without its call.
    pub fn keep_last_n(
        n: usize,
    ) -> impl Fn(HandoffInputData) -> HandoffInputData + Clone + Send + Sync + 'static {
        move |mut data: HandoffInputData| {
            let mut budget = n;
            let keep = budget.min(data.new_items.len());
            data.new_items.drain(..data.new_items.len() - keep);
            budget -= keep;
            let keep = budget.min(data.pre_handoff_items.len());
            data.pre_handoff_items
                .drain(..data.pre_handoff_items.len() - keep);
            budget -= keep;
            let keep = budget.min(data.input_history.len());
            data.input_history.drain(..data.input_history.len() - keep);
            drop_orphan_outputs(&mut data);
            data
        }
    }

    fn drop_orphan_outputs(data: &mut HandoffInputData) {
        let calls: HashSet<String> = data
            .input_history
            .iter()
            .chain(
                data.pre_handoff_items
                    .iter()
                    .chain(&data.new_items)
                    .map(|i| &i.item),
            )
            .filter_map(|i| i.as_function_call().map(|c| c.call_id.clone()))
            .collect();
        let orphan = |item: &Item| {
            item.as_function_call_output()
                .is_some_and(|o| !calls.contains(&o.call_id))
        };
        data.input_history.retain(|i| !orphan(i));
        data.pre_handoff_items.retain(|i| !orphan(&i.item));
        data.new_items.retain(|i| !orphan(&i.item));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::run_item::RunItemKind;

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

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)] // only the schema matters
    struct Escalation {
        /// Why, documented: a `$ref` with a description when it is a struct.
        reason: Reason,
        /// Free-form details: a map.
        details: std::collections::HashMap<String, String>,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Reason {
        code: u32,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Plain {
        /// Why.
        reason: Reason,
    }

    #[test]
    fn input_types_are_strict_or_fail_clearly_and_non_strict_never_fails() {
        let agent: Agent = Agent::builder("Billing").build();
        let handoff = Handoff::to(&agent)
            .try_input_type::<Plain>()
            .expect("a struct has a strict schema");
        assert!(handoff.strict);
        assert_eq!(
            handoff.input_schema["properties"]["reason"],
            json!({"type": "object", "properties": {"code": {"type": "integer", "minimum": 0}},
                   "required": ["code"], "additionalProperties": false, "description": "Why."})
        );

        let error = Handoff::to(&agent)
            .try_input_type::<Escalation>()
            .expect_err("a map has no strict schema");
        assert_eq!(error.path(), "details");
        assert!(
            error.to_string().contains("input_type_non_strict"),
            "{error}"
        );
        let unbuilt = Handoff::to(&agent);
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            unbuilt.input_type::<Escalation>()
        }))
        .expect_err("input_type panics");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("transfer_to_billing"), "{message}");
        assert!(message.contains("details"), "{message}");

        let handoff = Handoff::to(&agent).input_type_non_strict::<Escalation>();
        assert!(!handoff.strict);
        assert_eq!(
            handoff.input_schema,
            crate::tool::raw_parameters_schema::<Escalation>()
        );
        assert_eq!(
            handoff.input_schema["properties"]["details"]["additionalProperties"],
            json!({"type": "string"})
        );
    }

    fn run_item(kind: RunItemKind, item: Item) -> RunItem {
        RunItem::new(Arc::from("A"), kind, item)
    }

    /// history: user, call c0, output c0; pre: message, call c1, output c1,
    /// reasoning; new: message, handoff call h1, handoff output h1.
    fn sample() -> HandoffInputData {
        HandoffInputData {
            input_history: vec![
                Item::user("hi"),
                Item::function_call("c0", "old_tool", "{}"),
                Item::function_call_output("c0", "old"),
            ],
            pre_handoff_items: vec![
                run_item(RunItemKind::MessageOutput, Item::assistant("looking")),
                run_item(
                    RunItemKind::ToolCall,
                    Item::function_call("c1", "lookup", "{}"),
                ),
                run_item(
                    RunItemKind::ToolCallOutput {
                        output: crate::ToolOutput::text("found"),
                        is_error: false,
                    },
                    Item::function_call_output("c1", "found"),
                ),
                run_item(
                    RunItemKind::Reasoning,
                    serde_json::from_value(json!({"type":"reasoning","id":"rs_1","summary":[]}))
                        .expect("reasoning item"),
                ),
            ],
            new_items: vec![
                run_item(RunItemKind::MessageOutput, Item::assistant("passing on")),
                run_item(
                    RunItemKind::HandoffCall,
                    Item::function_call("h1", "transfer_to_b", "{}"),
                ),
                run_item(
                    RunItemKind::HandoffOutput {
                        source: "A".into(),
                        target: "B".into(),
                    },
                    Item::function_call_output("h1", r#"{"assistant":"B"}"#),
                ),
            ],
        }
    }

    fn wire(items: &[RunItem]) -> Vec<Item> {
        items.iter().map(|i| i.item.clone()).collect()
    }

    #[test]
    fn remove_all_tools_keeps_only_messages() {
        let out = filters::remove_all_tools(sample());
        assert_eq!(out.input_history, vec![Item::user("hi")]);
        assert_eq!(
            wire(&out.pre_handoff_items),
            vec![Item::assistant("looking")]
        );
        assert_eq!(wire(&out.new_items), vec![Item::assistant("passing on")]);
        // Unknown hosted tool items in the history go too; other items stay.
        let data = HandoffInputData {
            input_history: vec![
                Item::Other(json!({"type":"web_search_call","id":"ws_1","status":"completed"})),
                Item::Other(json!({"type":"item_reference","id":"msg_1"})),
            ],
            pre_handoff_items: vec![],
            new_items: vec![],
        };
        assert_eq!(
            filters::remove_all_tools(data).input_history,
            vec![Item::Other(json!({"type":"item_reference","id":"msg_1"}))]
        );
    }

    #[test]
    fn keep_last_n_counts_from_the_end_and_drops_orphan_outputs() {
        let check = |n: usize, history: Vec<Item>, pre: Vec<Item>, new: Vec<Item>| {
            let out = filters::keep_last_n(n)(sample());
            assert_eq!(out.input_history, history, "n={n}: history");
            assert_eq!(wire(&out.pre_handoff_items), pre, "n={n}: pre");
            assert_eq!(wire(&out.new_items), new, "n={n}: new");
        };
        let s = sample();
        let (h, p, nw) = (
            s.input_history.clone(),
            wire(&s.pre_handoff_items),
            wire(&s.new_items),
        );
        check(100, h.clone(), p.clone(), nw.clone());
        check(10, h.clone(), p.clone(), nw.clone());
        check(3, vec![], vec![], nw.clone());
        // The handoff output's call was cut: the output goes too.
        check(1, vec![], vec![], vec![]);
        check(2, vec![], vec![], nw[1..].to_vec());
        // 5 = 3 new + the last 2 pre (output c1 loses its call c1, reasoning stays).
        check(5, vec![], vec![p[3].clone()], nw.clone());
        // 9 = everything but the user message: output c0 still has its call.
        check(9, h[1..].to_vec(), p.clone(), nw.clone());
        check(0, vec![], vec![], vec![]);
    }

    #[test]
    fn summaries_list_every_item_and_flatten_earlier_summaries() {
        let summary = summarize_history(&[
            Item::user("hi"),
            Item::function_call("c1", "lookup", r#"{"q":"x"}"#),
            Item::function_call_output("c1", "found"),
            Item::assistant("two\nlines"),
        ]);
        let msg = summary.as_message().expect("a message");
        assert_eq!(msg.role, Role::Assistant);
        let text = msg.text();
        let expected_lines = [
            HISTORY_PREAMBLE.to_owned(),
            HISTORY_START.to_owned(),
            "1. user: hi".to_owned(),
            format!(
                "2. {}",
                serde_json::to_string(&Item::function_call("c1", "lookup", r#"{"q":"x"}"#))
                    .expect("json")
            ),
            format!(
                "3. {}",
                serde_json::to_string(&Item::function_call_output("c1", "found")).expect("json")
            ),
            format!(
                "4. {}",
                serde_json::to_string(&Item::assistant("two\nlines")).expect("json")
            ),
            HISTORY_END.to_owned(),
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected_lines);
        let again = summarize_history(&[summary, Item::user("more")]);
        let lines: Vec<String> = again
            .as_message()
            .expect("a message")
            .text()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(lines.len(), 2 + 5 + 1);
        assert_eq!(lines[2], "1. user: hi");
        assert_eq!(lines[6], "5. user: more");
        assert_eq!(
            summarize_history(&[]).as_message().expect("msg").text(),
            format!("{HISTORY_PREAMBLE}\n{HISTORY_START}\n{NO_TURNS}\n{HISTORY_END}")
        );
        assert_eq!(default_history_mapper(vec![Item::user("x")]).len(), 1);
    }

    #[test]
    fn arguments_are_checked_against_the_input_type() {
        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Escalation {
            reason: String,
            urgent: bool,
        }
        let target: Agent = Agent::builder("B").build();
        let plain = Handoff::to(&target);
        assert_eq!(plain.parse_arguments("").expect("empty is {}"), json!({}));
        assert_eq!(
            plain.parse_arguments(r#"{"x":1}"#).expect("any JSON"),
            json!({"x":1})
        );
        assert!(plain.parse_arguments("{not json").is_err());
        let typed = Handoff::to(&target).input_type::<Escalation>();
        assert_eq!(typed.input_schema["required"], json!(["reason", "urgent"]));
        assert_eq!(typed.input_schema["additionalProperties"], json!(false));
        assert!(typed.strict);
        assert!(typed
            .parse_arguments(r#"{"reason":"refund","urgent":true}"#)
            .is_ok());
        assert!(typed.parse_arguments(r#"{"reason":"refund"}"#).is_err());
        assert!(typed.parse_arguments("").is_err());
    }
}
