//! [`McpTool`]: one tool of an MCP server, as an agent tool.

use std::fmt;
use std::sync::{Arc, Weak};

use agents_core::{RunContext, Tool, ToolContext, ToolError, ToolOutput};
use futures::future::BoxFuture;
use rmcp::model::CallToolRequestParams;
use serde_json::Value;

use crate::convert::{call_arguments, tool_output, PreparedSchema};
use crate::session::McpSession;
use crate::toolkit::Config;

/// One tool of an MCP server, offered to the model.
///
/// Invoking it sends `tools/call` on the session's connection:
///
/// - the call is bounded by the toolkit's call timeout
///   ([`ToolError::Timeout`] on expiry);
/// - a cancelled run ([`ToolContext::cancel`]) abandons it
///   ([`ToolError::Cancelled`]);
/// - in both cases the request is dropped, which sends the server
///   `notifications/cancelled`;
/// - an `isError` result, a JSON-RPC error or a lost connection give
///   [`ToolError::Failed`] with a message for the model;
/// - a result that announced a tool-list change (the server sent
///   `notifications/tools/list_changed` before it) waits for the new list,
///   so the next turn offers it.
pub struct McpTool<C = ()> {
    session: Weak<McpSession<C>>,
    config: Arc<Config<C>>,
    definition: rmcp::model::Tool,
    name: String,
    description: String,
    schema: PreparedSchema,
}

impl<C> fmt::Debug for McpTool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpTool")
            .field("server", &self.config.name)
            .field("name", &self.name)
            .field("mcp_name", &self.definition.name)
            .field("strict", &self.schema.strict)
            .finish_non_exhaustive()
    }
}

impl<C> McpTool<C> {
    pub(crate) fn new(
        session: Weak<McpSession<C>>,
        config: Arc<Config<C>>,
        definition: rmcp::model::Tool,
        name: String,
        schema: PreparedSchema,
    ) -> Self {
        let description = definition
            .description
            .as_deref()
            .or(definition.title.as_deref())
            .unwrap_or_default()
            .to_owned();
        McpTool {
            session,
            config,
            definition,
            name,
            description,
            schema,
        }
    }

    /// The tool's name on the server (the model sees
    /// [`Tool::name`], which may be prefixed and sanitized).
    pub fn mcp_name(&self) -> &str {
        &self.definition.name
    }

    /// The name of the toolkit (server) the tool belongs to.
    pub fn server_name(&self) -> &str {
        &self.config.name
    }

    /// The tool's definition as the server listed it (input and output
    /// schemas, annotations such as `readOnlyHint`, ...).
    pub fn definition(&self) -> &rmcp::model::Tool {
        &self.definition
    }

    /// Whether a call with these arguments (the model's raw JSON) needs a
    /// human's approval, under the toolkit's
    /// [`ApprovalPolicy`](crate::ApprovalPolicy). The runner asks through
    /// [`Tool::needs_approval`], which answers the same.
    pub fn approval_required(&self, ctx: &RunContext<C>, arguments: &str) -> bool {
        self.config
            .approval
            .needs_approval(ctx, self.mcp_name(), arguments)
    }

    fn failed(&self, what: impl fmt::Display) -> ToolError {
        ToolError::Failed(format!("MCP server `{}`: {what}", self.config.name))
    }

    fn call_error(&self, error: rmcp::ServiceError) -> ToolError {
        match error {
            rmcp::ServiceError::TransportClosed => self.failed(format_args!(
                "disconnected while `{}` was running (the server exited or the connection was \
                 lost)",
                self.mcp_name()
            )),
            rmcp::ServiceError::McpError(data) => self.failed(format_args!(
                "`{}` was rejected: {} (error {})",
                self.mcp_name(),
                data.message,
                data.code.0
            )),
            rmcp::ServiceError::TransportSend(e) => self.failed(format_args!(
                "`{}` could not be sent: the server is unreachable ({e})",
                self.mcp_name()
            )),
            rmcp::ServiceError::Timeout { timeout } => ToolError::Timeout(timeout),
            other => self.failed(format_args!("`{}` failed: {other}", self.mcp_name())),
        }
    }
}

impl<C: Send + Sync + 'static> Tool<C> for McpTool<C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> &Value {
        &self.schema.parameters
    }

    fn strict(&self) -> bool {
        self.schema.strict
    }

    fn needs_approval<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        arguments: &'a str,
        _call_id: &'a str,
    ) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(self.approval_required(ctx, arguments)))
    }

    fn invoke<'a>(
        &'a self,
        ctx: ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args = call_arguments(arguments, &self.schema.nullable_optional)?;
            let session = self
                .session
                .upgrade()
                .ok_or_else(|| self.failed("the session is closed"))?;
            let conn = session
                .connection()
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            let params =
                CallToolRequestParams::new(self.definition.name.clone()).with_arguments(args);
            let timeout = self.config.call_timeout;
            // Dropping the request future (cancel or timeout) makes rmcp send
            // `notifications/cancelled` for it.
            let outcome = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
                outcome = tokio::time::timeout(timeout, conn.peer.call_tool(params)) => outcome,
            };
            let result = match outcome {
                Err(_) => return Err(ToolError::Timeout(timeout)),
                Ok(result) => {
                    conn.note(&result);
                    result.map_err(|e| self.call_error(e))?
                }
            };
            if session.is_stale() {
                let refresh =
                    tokio::time::timeout(self.config.request_timeout, session.refresh_if_stale());
                match refresh.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "refreshing the MCP tool list failed"),
                    Err(_) => tracing::warn!("refreshing the MCP tool list timed out"),
                }
            }
            tool_output(result, self.config.prefer_structured_content)
        })
    }
}
