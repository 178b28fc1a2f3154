//! MCP (Model Context Protocol) servers as agent tools, on
//! [rmcp](https://docs.rs/rmcp), the official MCP Rust SDK.
//!
//! An [`McpToolkit`] is a [`Toolkit`](agents_core::Toolkit): give it to an
//! agent and every run session connects to the server, lists its tools and
//! offers them to the model. Servers run as a child process over stdio
//! ([`StdioServer`]), over streamable HTTP ([`HttpServer`]), or through any
//! rmcp transport ([`McpServer::custom`]).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use agents_core::{Agent, RunContext};
//! use agents_mcp::{McpToolkit, StdioServer};
//! use agents_runner::RunSession;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let files = McpToolkit::builder(
//!     "files",
//!     StdioServer::new("npx").args(["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"]),
//! )
//! .cache_tools_list(true)
//! .allow_tools(["list_directory", "read_text_file", "search_files"])
//! .build();
//!
//! // Outside a run: prompts, resources and raw calls on a session.
//! let session = files.connect(&RunContext::new(())).await?;
//! println!("tools: {:?}", session.tool_names());
//! session.close().await?;
//!
//! // Inside runs: the run session opens the toolkit once, closes it on close().
//! let agent: Agent = Agent::builder("Librarian")
//!     .instructions("Answer questions about the documents in /srv/docs.")
//!     .model("gpt-4.1-mini")
//!     .toolkit(files)
//!     .build();
//! let runs = RunSession::open(&agent, Arc::new(())).await?;
//! let result = runs.run("Which files mention invoices?", Default::default()).await?;
//! println!("{}", result.final_output_text());
//! runs.close().await?;
//! # Ok(()) }
//! ```
//!
//! What the toolkit offers:
//!
//! - **Tools**: every page of `tools/list`, filtered by allow/block lists or
//!   a predicate of the run context and the tool; names optionally prefixed
//!   by the server's name; input schemas optionally made strict. The list
//!   is re-fetched every turn in the background, or cached until invalidated
//!   ([`McpSession::invalidate_tools_cache`]) or changed by the server
//!   (`notifications/tools/list_changed`, effective from the next turn).
//! - **Results**: text, structured content, images and resources become
//!   [`ToolOutput`](agents_core::ToolOutput)s the model can read (see
//!   [`convert::tool_output`]); `isError` results, timeouts, a crashed or
//!   hung server and a cancelled run become error outputs for the model.
//! - **Sessions**: [`McpSession`] lists and gets prompts, lists and reads
//!   resources, reports a lost connection as a typed error
//!   ([`McpError::Disconnected`]), reconnects on request, and on close shuts
//!   the connection down and reaps a stdio server's process.
//! - **Per-context servers**: [`McpToolkit::builder_per_context`] chooses
//!   the server (URL, credentials) from the run context.
//! - **Approvals**: an [`ApprovalPolicy`] per toolkit (always, never, per
//!   tool name, or a function of the context and the arguments), answered
//!   through [`Tool::needs_approval`](agents_core::Tool::needs_approval), so
//!   the runner pauses the run on those calls.
//!
//! The guide is `docs/mcp.md` in the repository.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod convert;
mod error;
mod server;
mod session;
mod tool;
mod toolkit;

pub use error::McpError;
pub use server::{HttpServer, McpServer, Stderr, StdioServer};
pub use session::{McpSession, SharedMcpSession};
pub use tool::McpTool;
pub use toolkit::{
    ApprovalPolicy, McpToolkit, McpToolkitBuilder, DEFAULT_CALL_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};

/// The rmcp crate this toolkit is built on, for its model types (`Tool`,
/// `Prompt`, `CallToolResult`, ...) and transports.
pub use rmcp;
