//! Human-in-the-loop approvals: the calls a run paused on
//! ([`ToolApprovalItem`]) and the decisions recorded on a
//! [`RunState`](crate::RunState).
//!
//! A tool asks for approval through
//! [`Tool::needs_approval`](agents_core::Tool::needs_approval) (for a
//! function tool: [`FunctionTool::needs_approval`](agents_core::FunctionTool::needs_approval)
//! or [`needs_approval_fn`](agents_core::FunctionTool::needs_approval_fn)).
//! How a call is decided, in order:
//! 1. an exact decision for this call id (`approve`/`reject` with
//!    [`Always::No`], or the call a sticky decision was made on);
//! 2. a sticky decision for the tool ([`Always::Yes`]), which also covers
//!    later calls of the same tool;
//! 3. otherwise, if the tool says the call needs approval, the call is an
//!    interruption; else it runs.
//!
//! A hosted MCP server's `mcp_approval_request` (see
//! [`agents_core::hosted`]) is an interruption too, with
//! [`ToolApprovalItem::server_label`] set: the server already decided that
//! the call needs approval. It is decided the same way (step 1, then step 2,
//! where "the same tool" means the same tool of the same server), and the
//! decision is sent back to the model as an `mcp_approval_response` item.

use agents_core::hosted::{McpApprovalRequest, MCP_APPROVAL_REQUEST};
use agents_core::{FunctionCall, Item};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The output the model reads for a rejected call when the rejection gave no
/// message.
pub const DEFAULT_REJECTION_MESSAGE: &str = "Tool execution was not approved.";

/// Whether a decision also covers later calls of the same tool ("sticky").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Always {
    /// Only this call.
    #[default]
    No,
    /// This call and every later call of the same tool, until another sticky
    /// decision replaces it. An exact per-call decision still wins.
    Yes,
}

impl From<bool> for Always {
    fn from(always: bool) -> Self {
        if always {
            Always::Yes
        } else {
            Always::No
        }
    }
}

/// A tool call the run paused on, waiting for a human's decision.
///
/// Listed by [`RunResult::interruptions`](crate::RunResult::interruptions)
/// and [`RunState::interruptions`](crate::RunState::interruptions); decide it
/// with [`RunState::approve`](crate::RunState::approve) or
/// [`RunState::reject`](crate::RunState::reject).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolApprovalItem {
    /// The tool's name.
    pub tool_name: String,
    /// The model's call id.
    pub call_id: String,
    /// The model's raw JSON arguments (possibly malformed).
    pub arguments: String,
    /// The agent whose turn asked for the call.
    pub agent: String,
    /// When the call was made inside an agent-as-tool run: the call ids of
    /// the enclosing agent-tool calls, outermost first. Empty for the run's
    /// own calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_call_ids: Vec<String>,
    /// For a hosted MCP server's approval request: the server's label
    /// (`tool_name` is then the server's tool and `call_id` the request's
    /// id). `None` for function tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_label: Option<String>,
}

impl ToolApprovalItem {
    /// An approval item for `call`, made by `agent`.
    pub fn new(agent: impl Into<String>, call: &FunctionCall) -> Self {
        ToolApprovalItem {
            tool_name: call.name.clone(),
            call_id: call.call_id.clone(),
            arguments: call.arguments.clone(),
            agent: agent.into(),
            parent_call_ids: Vec::new(),
            server_label: None,
        }
    }

    /// An approval item for a hosted MCP server's approval request, made
    /// during `agent`'s turn.
    pub fn mcp(agent: impl Into<String>, request: &McpApprovalRequest) -> Self {
        ToolApprovalItem {
            tool_name: request.name.clone(),
            call_id: request.id.clone(),
            arguments: request.arguments.clone(),
            agent: agent.into(),
            parent_call_ids: Vec::new(),
            server_label: Some(request.server_label.clone()),
        }
    }

    /// Whether this is a hosted MCP server's approval request.
    pub fn is_hosted_mcp(&self) -> bool {
        self.server_label.is_some()
    }

    /// The name decisions are recorded under: the tool name, or
    /// `mcp:<server_label>:<tool>` for a hosted MCP tool (so it never
    /// shares a sticky decision with a function tool of the same name).
    pub(crate) fn approval_key(&self) -> std::borrow::Cow<'_, str> {
        match &self.server_label {
            Some(label) => mcp_key(label, &self.tool_name).into(),
            None => self.tool_name.as_str().into(),
        }
    }

    /// The item recorded as the `tool_approval_requested` run item: the
    /// call as a `function_call`, or the server's `mcp_approval_request`.
    pub fn to_item(&self) -> Item {
        match &self.server_label {
            None => Item::FunctionCall(self.to_function_call()),
            Some(label) => Item::Other(serde_json::json!({
                "type": MCP_APPROVAL_REQUEST,
                "id": self.call_id,
                "server_label": label,
                "name": self.tool_name,
                "arguments": self.arguments,
            })),
        }
    }

    /// The arguments parsed as JSON (an error for malformed arguments).
    pub fn arguments_json(&self) -> Result<Value, serde_json::Error> {
        if self.arguments.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(&self.arguments)
    }

    /// Whether the call was made inside a nested agent-as-tool run.
    pub fn is_nested(&self) -> bool {
        !self.parent_call_ids.is_empty()
    }

    /// The call as a `function_call` item.
    pub fn to_function_call(&self) -> FunctionCall {
        FunctionCall::new(
            self.call_id.clone(),
            self.tool_name.clone(),
            self.arguments.clone(),
        )
    }
}

impl agents_core::PendingApproval for ToolApprovalItem {
    fn approval_key(&self) -> std::borrow::Cow<'_, str> {
        ToolApprovalItem::approval_key(self)
    }

    fn call_id(&self) -> &str {
        &self.call_id
    }
}

/// The name decisions on a hosted MCP tool are recorded under.
pub(crate) fn mcp_key(server_label: &str, tool: &str) -> String {
    format!("mcp:{server_label}:{tool}")
}

/// A decision on one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Approved,
    /// Rejected; the model reads this message.
    Rejected(String),
}

/// The sticky decision on a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Sticky {
    Approved,
    Rejected,
}

/// The decisions on one tool's calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalRecord {
    /// Call ids approved exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approved: Vec<String>,
    /// Call ids rejected exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rejected: Vec<String>,
    /// Messages of exact rejections, by call id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    rejection_messages: BTreeMap<String, String>,
    /// The sticky decision, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sticky: Option<Sticky>,
    /// The message of a sticky rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sticky_rejection_message: Option<String>,
}

impl ApprovalRecord {
    fn forget_call(&mut self, call_id: &str) {
        self.approved.retain(|c| c != call_id);
        self.rejected.retain(|c| c != call_id);
        self.rejection_messages.remove(call_id);
    }
}

/// Every decision of a run, by tool name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Approvals {
    records: BTreeMap<String, ApprovalRecord>,
}

impl Approvals {
    /// Records an approval of `call_id` (and of later calls with `Always::Yes`).
    pub(crate) fn approve(&mut self, tool: &str, call_id: &str, always: Always) {
        let record = self.records.entry(tool.to_owned()).or_default();
        record.forget_call(call_id);
        record.approved.push(call_id.to_owned());
        if always == Always::Yes {
            record.sticky = Some(Sticky::Approved);
            record.sticky_rejection_message = None;
        }
    }

    /// Records a rejection of `call_id` (and of later calls with `Always::Yes`).
    pub(crate) fn reject(
        &mut self,
        tool: &str,
        call_id: &str,
        message: Option<String>,
        always: Always,
    ) {
        let record = self.records.entry(tool.to_owned()).or_default();
        record.forget_call(call_id);
        record.rejected.push(call_id.to_owned());
        if let Some(m) = &message {
            record
                .rejection_messages
                .insert(call_id.to_owned(), m.clone());
        }
        if always == Always::Yes {
            record.sticky = Some(Sticky::Rejected);
            record.sticky_rejection_message = message;
        }
    }

    /// The decision on a call: exact first, then sticky; `None` if undecided.
    pub(crate) fn decision(&self, tool: &str, call_id: &str) -> Option<Decision> {
        let record = self.records.get(tool)?;
        let rejected = |exact: Option<&String>| {
            let message = exact
                .or(match record.sticky {
                    Some(Sticky::Rejected) => record.sticky_rejection_message.as_ref(),
                    _ => None,
                })
                .cloned()
                .unwrap_or_else(|| DEFAULT_REJECTION_MESSAGE.to_owned());
            Decision::Rejected(message)
        };
        if record.approved.iter().any(|c| c == call_id) {
            return Some(Decision::Approved);
        }
        if record.rejected.iter().any(|c| c == call_id) {
            return Some(rejected(record.rejection_messages.get(call_id)));
        }
        match record.sticky? {
            Sticky::Approved => Some(Decision::Approved),
            Sticky::Rejected => Some(rejected(None)),
        }
    }

    /// Applies a decision recorded on the run context.
    pub(crate) fn apply(&mut self, d: agents_core::ApprovalDecision) {
        let always = Always::from(d.always);
        if d.approve {
            self.approve(&d.key, &d.call_id, always);
        } else {
            self.reject(&d.key, &d.call_id, d.message, always);
        }
    }

    /// Whether no decision was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decisions_beat_sticky_ones() {
        let mut a = Approvals::default();
        a.reject("rm", "c1", Some("never".into()), Always::Yes);
        a.approve("rm", "c2", Always::No);
        assert_eq!(a.decision("rm", "c2"), Some(Decision::Approved));
        assert_eq!(
            a.decision("rm", "c1"),
            Some(Decision::Rejected("never".into()))
        );
        // A later call falls under the sticky rejection and its message.
        assert_eq!(
            a.decision("rm", "c3"),
            Some(Decision::Rejected("never".into()))
        );
        assert_eq!(a.decision("ls", "c3"), None);
    }

    #[test]
    fn a_new_decision_on_a_call_replaces_the_old_one() {
        let mut a = Approvals::default();
        a.reject("rm", "c1", None, Always::No);
        assert_eq!(
            a.decision("rm", "c1"),
            Some(Decision::Rejected(DEFAULT_REJECTION_MESSAGE.into()))
        );
        a.approve("rm", "c1", Always::No);
        assert_eq!(a.decision("rm", "c1"), Some(Decision::Approved));
        assert_eq!(a.decision("rm", "c2"), None);
        a.approve("rm", "c2", Always::Yes);
        a.reject("rm", "c9", None, Always::Yes);
        // The exact approval of c2 outlives the newer sticky rejection.
        assert_eq!(a.decision("rm", "c2"), Some(Decision::Approved));
        assert_eq!(
            a.decision("rm", "c5"),
            Some(Decision::Rejected(DEFAULT_REJECTION_MESSAGE.into()))
        );
    }
}
