//! [`McpError`]: what can go wrong with an MCP server connection.

use std::time::Duration;

use agents_core::ToolkitError;

/// An MCP server could not be started, initialized or queried, or its
/// connection is gone.
///
/// Every variant names the server (the toolkit's name) it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The connection parameters are invalid (a bad header, a failed
    /// per-context lookup, ...).
    #[error("MCP server `{server}`: invalid configuration: {message}")]
    Config {
        /// The server's name.
        server: String,
        /// What is wrong.
        message: String,
    },
    /// The stdio server's process could not be started.
    #[error("MCP server `{server}`: could not start `{command}`: {source}")]
    Spawn {
        /// The server's name.
        server: String,
        /// The command that failed to start.
        command: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The `initialize` handshake failed (the server exited, answered with an
    /// error, or spoke no MCP).
    #[error("MCP server `{server}`: initialization failed: {source}")]
    Initialize {
        /// The server's name.
        server: String,
        /// rmcp's error.
        #[source]
        source: Box<rmcp::service::ClientInitializeError>,
    },
    /// A request failed: the server answered with a JSON-RPC error, or the
    /// transport failed while sending it.
    #[error("MCP server `{server}`: `{method}` failed: {source}")]
    Request {
        /// The server's name.
        server: String,
        /// The MCP method (`tools/list`, `prompts/get`, ...).
        method: &'static str,
        /// rmcp's error.
        #[source]
        source: Box<rmcp::ServiceError>,
    },
    /// The server answered in a way the client cannot use (for example a
    /// pagination cursor that repeats).
    #[error("MCP server `{server}`: protocol error in `{method}`: {message}")]
    Protocol {
        /// The server's name.
        server: String,
        /// The MCP method.
        method: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The server did not answer in time.
    #[error("MCP server `{server}`: `{method}` timed out after {timeout:?}")]
    Timeout {
        /// The server's name.
        server: String,
        /// The MCP method (or `connect` / `close`).
        method: &'static str,
        /// The limit that was exceeded.
        timeout: Duration,
    },
    /// The connection is gone: the server process exited or the HTTP
    /// connection was lost. The session does not reconnect by itself; call
    /// [`McpSession::reconnect`](crate::McpSession::reconnect).
    #[error(
        "MCP server `{server}` is disconnected (the server exited or the connection was lost)"
    )]
    Disconnected {
        /// The server's name.
        server: String,
    },
    /// The session was closed.
    #[error("MCP server `{server}`: the session is closed")]
    Closed {
        /// The server's name.
        server: String,
    },
}

impl McpError {
    /// The name of the server the error is about.
    pub fn server(&self) -> &str {
        match self {
            McpError::Config { server, .. }
            | McpError::Spawn { server, .. }
            | McpError::Initialize { server, .. }
            | McpError::Request { server, .. }
            | McpError::Protocol { server, .. }
            | McpError::Timeout { server, .. }
            | McpError::Disconnected { server }
            | McpError::Closed { server } => server,
        }
    }

    /// Whether the error means the connection is gone (the server exited,
    /// the transport closed, or the session was closed).
    pub fn is_disconnected(&self) -> bool {
        match self {
            McpError::Disconnected { .. } | McpError::Closed { .. } => true,
            McpError::Request { source, .. } => matches!(
                **source,
                rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)
            ),
            _ => false,
        }
    }

    pub(crate) fn request(server: &str, method: &'static str, source: rmcp::ServiceError) -> Self {
        match source {
            rmcp::ServiceError::TransportClosed => McpError::Disconnected {
                server: server.to_owned(),
            },
            rmcp::ServiceError::Timeout { timeout } => McpError::Timeout {
                server: server.to_owned(),
                method,
                timeout,
            },
            source => McpError::Request {
                server: server.to_owned(),
                method,
                source: Box::new(source),
            },
        }
    }
}

impl From<McpError> for ToolkitError {
    fn from(e: McpError) -> Self {
        ToolkitError::new(e.server().to_owned(), e.to_string())
    }
}
