//! Run items: items annotated with the agent that produced them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::hosted;
use crate::items::Item;
use crate::tool::ToolOutput;

/// What a run item is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunItemKind {
    /// An assistant message.
    MessageOutput,
    /// A call of a function tool.
    ToolCall,
    /// The output of a function tool.
    ToolCallOutput {
        /// The tool's output as produced (before conversion to content).
        output: ToolOutput,
        /// Whether the output reports a failure.
        is_error: bool,
    },
    /// A call of a handoff tool.
    HandoffCall,
    /// The output of a handoff: control moved from `source` to `target`.
    HandoffOutput {
        /// The agent that handed off.
        source: String,
        /// The agent that took over.
        target: String,
    },
    /// A reasoning item.
    Reasoning,
    /// A tool call waiting for human approval. Never sent to the model.
    ToolApproval,
    /// A call of a hosted tool, run by the provider within the response
    /// (`web_search_call`, `file_search_call`, `code_interpreter_call`,
    /// `image_generation_call`, `mcp_call`). The item holds its result.
    HostedToolCall,
    /// The tool list of a hosted MCP server (`mcp_list_tools`).
    McpListTools,
    /// A hosted MCP server asks for approval (`mcp_approval_request`). The
    /// run pauses on it like on a function tool that needs approval.
    McpApprovalRequest,
    /// The answer to an `mcp_approval_request` (`mcp_approval_response`).
    McpApprovalResponse,
    /// Input added while resuming a paused run (`RunState::add_input` of
    /// `agents-runner`), admitted just before the next model call.
    Input,
    /// An item of a type the SDK does not model.
    Other,
}

/// An item produced during a run, with the agent that produced it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunItem {
    /// The producing agent's name.
    pub agent: Arc<str>,
    /// What the item is.
    pub kind: RunItemKind,
    /// The item in wire format.
    pub item: Item,
}

impl RunItemKind {
    /// The kind of a model output item that is not a message, function
    /// call or reasoning item: hosted tool calls and MCP items by their
    /// `type`, anything else [`RunItemKind::Other`].
    pub fn of_output(item: &Item) -> RunItemKind {
        match item.kind() {
            hosted::MCP_LIST_TOOLS => RunItemKind::McpListTools,
            hosted::MCP_APPROVAL_REQUEST => RunItemKind::McpApprovalRequest,
            hosted::MCP_APPROVAL_RESPONSE => RunItemKind::McpApprovalResponse,
            k if hosted::HOSTED_CALL_TYPES.contains(&k) => RunItemKind::HostedToolCall,
            _ => RunItemKind::Other,
        }
    }
}

impl RunItem {
    /// A run item.
    pub fn new(agent: Arc<str>, kind: RunItemKind, item: Item) -> Self {
        RunItem { agent, kind, item }
    }

    /// Whether the item is sent back to the model as input.
    pub fn is_model_input(&self) -> bool {
        !matches!(self.kind, RunItemKind::ToolApproval)
    }

    /// The event name used for this item in the run's event stream.
    pub fn event_name(&self) -> &'static str {
        match self.kind {
            RunItemKind::MessageOutput => "message_output_created",
            RunItemKind::ToolCall => "tool_called",
            RunItemKind::ToolCallOutput { .. } => "tool_output",
            RunItemKind::HandoffCall => "handoff_requested",
            RunItemKind::HandoffOutput { .. } => "handoff_occurred",
            RunItemKind::Reasoning => "reasoning_item_created",
            RunItemKind::ToolApproval => "tool_approval_requested",
            RunItemKind::HostedToolCall => "tool_called",
            RunItemKind::McpListTools => "mcp_list_tools",
            RunItemKind::McpApprovalRequest => "mcp_approval_requested",
            RunItemKind::McpApprovalResponse => "mcp_approval_response",
            RunItemKind::Input => "input_added",
            RunItemKind::Other => "item_created",
        }
    }
}
