//! [`McpToolkit`]: an MCP server as a [`Toolkit`] of an agent.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agents_core::{RunContext, Toolkit, ToolkitError, ToolkitSession};
use futures::future::BoxFuture;
use serde_json::Value;

use crate::error::McpError;
use crate::server::McpServer;
use crate::session::McpSession;

/// The default limit of one `tools/call`.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// The default limit of connecting (spawn or HTTP session, then
/// `initialize`) and of the other requests (`tools/list`, `prompts/get`,
/// `resources/read`, ...).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

type ServerFn<C> = Arc<dyn Fn(&RunContext<C>) -> Result<McpServer, String> + Send + Sync>;
type FilterFn<C> = Arc<dyn Fn(&RunContext<C>, &rmcp::model::Tool) -> bool + Send + Sync>;
type ApprovalFn<C> = Arc<dyn Fn(&RunContext<C>, &str, &Value) -> bool + Send + Sync>;

pub(crate) enum ServerSource<C> {
    Fixed(McpServer),
    PerContext(ServerFn<C>),
}

/// Which tools of a server are offered: static allow and block lists (by
/// the server's tool names) and an optional predicate over the run context
/// and the tool's definition. A tool is offered when it passes all three.
pub(crate) struct ToolFilter<C> {
    allow: Option<HashSet<String>>,
    block: HashSet<String>,
    predicate: Option<FilterFn<C>>,
}

impl<C> ToolFilter<C> {
    pub(crate) fn accepts(&self, ctx: &RunContext<C>, tool: &rmcp::model::Tool) -> bool {
        let name = tool.name.as_ref();
        self.allow.as_ref().is_none_or(|a| a.contains(name))
            && !self.block.contains(name)
            && self.predicate.as_ref().is_none_or(|f| f(ctx, tool))
    }
}

/// Whether a call of an MCP tool needs a human's approval before it runs.
///
/// Tool names are the server's names (before prefixing).
///
/// ```
/// use agents_mcp::ApprovalPolicy;
///
/// let policy: ApprovalPolicy = ApprovalPolicy::per_tool([("write_file", true)]);
/// # let _ = policy;
/// ```
pub enum ApprovalPolicy<C = ()> {
    /// No call needs approval (the default).
    Never,
    /// Every call needs approval.
    Always,
    /// Per tool name; tools not listed use `default`.
    PerTool {
        /// Tool name → whether its calls need approval.
        tools: HashMap<String, bool>,
        /// For tools not in the map.
        default: bool,
    },
    /// Decided per call from the run context, the tool name and the
    /// arguments.
    Custom(ApprovalFn<C>),
}

impl<C> ApprovalPolicy<C> {
    /// Approval for the listed tools only.
    pub fn per_tool<I, S>(tools: I) -> Self
    where
        I: IntoIterator<Item = (S, bool)>,
        S: Into<String>,
    {
        ApprovalPolicy::PerTool {
            tools: tools.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            default: false,
        }
    }

    /// Decides per call: `f(run context, tool name, arguments)`.
    pub fn from_fn(
        f: impl Fn(&RunContext<C>, &str, &Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        ApprovalPolicy::Custom(Arc::new(f))
    }

    /// Whether a call of `tool` with `arguments` (the model's raw JSON) needs
    /// approval. Malformed arguments fail closed: they need approval unless
    /// the policy is [`Never`](Self::Never) or names the tool as `false`.
    pub fn needs_approval(&self, ctx: &RunContext<C>, tool: &str, arguments: &str) -> bool {
        match self {
            ApprovalPolicy::Never => false,
            ApprovalPolicy::Always => true,
            ApprovalPolicy::PerTool { tools, default } => {
                tools.get(tool).copied().unwrap_or(*default)
            }
            ApprovalPolicy::Custom(f) => {
                let raw = if arguments.trim().is_empty() {
                    "{}"
                } else {
                    arguments
                };
                match serde_json::from_str::<Value>(raw) {
                    Ok(args) => f(ctx, tool, &args),
                    Err(_) => true,
                }
            }
        }
    }
}

// A derive would require `C: Default`.
#[allow(clippy::derivable_impls)]
impl<C> Default for ApprovalPolicy<C> {
    fn default() -> Self {
        ApprovalPolicy::Never
    }
}

impl<C> Clone for ApprovalPolicy<C> {
    fn clone(&self) -> Self {
        match self {
            ApprovalPolicy::Never => ApprovalPolicy::Never,
            ApprovalPolicy::Always => ApprovalPolicy::Always,
            ApprovalPolicy::PerTool { tools, default } => ApprovalPolicy::PerTool {
                tools: tools.clone(),
                default: *default,
            },
            ApprovalPolicy::Custom(f) => ApprovalPolicy::Custom(Arc::clone(f)),
        }
    }
}

impl<C> fmt::Debug for ApprovalPolicy<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalPolicy::Never => f.write_str("Never"),
            ApprovalPolicy::Always => f.write_str("Always"),
            ApprovalPolicy::PerTool { tools, default } => f
                .debug_struct("PerTool")
                .field("tools", tools)
                .field("default", default)
                .finish(),
            ApprovalPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The configuration shared by a toolkit and its sessions.
pub(crate) struct Config<C> {
    pub(crate) name: String,
    pub(crate) source: ServerSource<C>,
    pub(crate) filter: ToolFilter<C>,
    pub(crate) cache_tools_list: bool,
    pub(crate) refresh_on_list_changed: bool,
    pub(crate) prefix: Option<String>,
    pub(crate) strict_schemas: bool,
    pub(crate) call_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) approval: ApprovalPolicy<C>,
    pub(crate) use_server_instructions: bool,
    pub(crate) prefer_structured_content: bool,
    pub(crate) client_name: String,
    pub(crate) client_version: String,
}

impl<C> Config<C> {
    pub(crate) fn resolve_server(&self, ctx: &RunContext<C>) -> Result<McpServer, McpError> {
        match &self.source {
            ServerSource::Fixed(s) => Ok(s.clone()),
            ServerSource::PerContext(f) => f(ctx).map_err(|message| McpError::Config {
                server: self.name.clone(),
                message,
            }),
        }
    }
}

/// An MCP server as a toolkit: each session (one per `RunSession`, or per
/// one-off run) connects, initializes, lists the server's tools and offers
/// them to the agent; closing the session shuts the connection down (and
/// reaps a stdio server's process).
///
/// ```no_run
/// use agents_core::Agent;
/// use agents_mcp::{McpToolkit, StdioServer};
///
/// let files = McpToolkit::builder(
///     "files",
///     StdioServer::new("npx").args(["-y", "@modelcontextprotocol/server-filesystem", "."]),
/// )
/// .cache_tools_list(true)
/// .block_tools(["write_file", "edit_file", "move_file"])
/// .build();
/// let agent: Agent = Agent::builder("Librarian").toolkit(files).build();
/// # let _ = agent;
/// ```
///
/// The server may depend on the run's context (a per-tenant URL or
/// credential): see [`McpToolkit::builder_per_context`].
pub struct McpToolkit<C = ()> {
    config: Arc<Config<C>>,
}

impl<C> Clone for McpToolkit<C> {
    fn clone(&self) -> Self {
        McpToolkit {
            config: Arc::clone(&self.config),
        }
    }
}

impl<C> fmt::Debug for McpToolkit<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpToolkit")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> McpToolkit<C> {
    /// A toolkit with the default options for the server `server`, named
    /// `name` (in errors, logs and, with prefixing, tool names).
    pub fn new(name: impl Into<String>, server: impl Into<McpServer>) -> Self {
        Self::builder(name, server).build()
    }

    /// A builder for a toolkit of one fixed server.
    pub fn builder(name: impl Into<String>, server: impl Into<McpServer>) -> McpToolkitBuilder<C> {
        McpToolkitBuilder::new(name.into(), ServerSource::Fixed(server.into()))
    }

    /// A builder for a toolkit whose server is chosen per session from the
    /// run context (a per-tenant server, URL or credential). An `Err` from
    /// `server` fails the session's opening with [`McpError::Config`].
    ///
    /// ```
    /// use agents_mcp::{HttpServer, McpToolkit};
    ///
    /// struct Tenant { token: String }
    ///
    /// let crm = McpToolkit::<Tenant>::builder_per_context("crm", |ctx| {
    ///     Ok(HttpServer::new("https://crm.example.com/mcp")
    ///         .bearer_auth(ctx.context().token.clone())
    ///         .into())
    /// })
    /// .build();
    /// # let _ = crm;
    /// ```
    pub fn builder_per_context(
        name: impl Into<String>,
        server: impl Fn(&RunContext<C>) -> Result<McpServer, String> + Send + Sync + 'static,
    ) -> McpToolkitBuilder<C> {
        McpToolkitBuilder::new(name.into(), ServerSource::PerContext(Arc::new(server)))
    }

    /// The toolkit's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Opens a session outside a run: connects, initializes and lists the
    /// tools. The session gives access to prompts, resources and raw calls,
    /// and can be shared with agents through [`McpSession::as_toolkit`].
    pub async fn connect(&self, ctx: &RunContext<C>) -> Result<Arc<McpSession<C>>, McpError> {
        McpSession::open(Arc::clone(&self.config), ctx).await
    }
}

impl<C: Send + Sync + 'static> Toolkit<C> for McpToolkit<C> {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn create_session<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
    ) -> BoxFuture<'a, Result<Arc<dyn ToolkitSession<C>>, ToolkitError>> {
        Box::pin(async move {
            let session = self.connect(ctx).await?;
            Ok(session as Arc<dyn ToolkitSession<C>>)
        })
    }
}

/// Options of an [`McpToolkit`].
pub struct McpToolkitBuilder<C = ()> {
    config: Config<C>,
}

impl<C> fmt::Debug for McpToolkitBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpToolkitBuilder")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl<C: Send + Sync + 'static> McpToolkitBuilder<C> {
    fn new(name: String, source: ServerSource<C>) -> Self {
        McpToolkitBuilder {
            config: Config {
                name,
                source,
                filter: ToolFilter {
                    allow: None,
                    block: HashSet::new(),
                    predicate: None,
                },
                cache_tools_list: false,
                refresh_on_list_changed: true,
                prefix: None,
                strict_schemas: false,
                call_timeout: DEFAULT_CALL_TIMEOUT,
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                approval: ApprovalPolicy::Never,
                use_server_instructions: false,
                prefer_structured_content: false,
                client_name: "agents-mcp".to_owned(),
                client_version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        }
    }

    /// Offers only these tools (the server's names). Calling it again adds
    /// to the list.
    pub fn allow_tools<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config
            .filter
            .allow
            .get_or_insert_with(HashSet::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Never offers these tools (the server's names).
    pub fn block_tools<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config
            .filter
            .block
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Offers a tool only when `f(session's run context, tool definition)`
    /// is true. Applied when the tool list is fetched, after the allow and
    /// block lists.
    pub fn filter_tools(
        mut self,
        f: impl Fn(&RunContext<C>, &rmcp::model::Tool) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config.filter.predicate = Some(Arc::new(f));
        self
    }

    /// Keeps the tool list fetched when the session opened until it is
    /// invalidated ([`McpSession::invalidate_tools_cache`]), refreshed
    /// ([`McpSession::refresh_tools`]) or changed by the server
    /// (`notifications/tools/list_changed`).
    ///
    /// Off by default: then every turn starts a background `tools/list`
    /// whose result the following turn uses. (Turns read tools
    /// synchronously, so a turn never waits for the server.)
    pub fn cache_tools_list(mut self, cache: bool) -> Self {
        self.config.cache_tools_list = cache;
        self
    }

    /// Re-lists the tools when the server sends
    /// `notifications/tools/list_changed` (on by default). A change that a
    /// tool call causes is fetched before that call returns, so the next
    /// turn offers the new list; other changes are fetched in the
    /// background.
    pub fn refresh_on_list_changed(mut self, refresh: bool) -> Self {
        self.config.refresh_on_list_changed = refresh;
        self
    }

    /// Names the tools `{toolkit name}__{tool name}`, so that servers with
    /// tools of the same name do not collide.
    pub fn prefix_tool_names(mut self, prefix: bool) -> Self {
        self.config.prefix = prefix.then(|| self.config.name.clone());
        self
    }

    /// Names the tools `{prefix}__{tool name}`.
    pub fn tool_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.prefix = Some(prefix.into());
        self
    }

    /// Converts the input schemas to strict JSON schemas (every property
    /// required, optional ones nullable, no additional properties) and asks
    /// the provider to enforce them. A `null` for a property that was
    /// optional is removed before the call. Schemas strict mode cannot
    /// express stay non-strict. Off by default.
    pub fn strict_schemas(mut self, strict: bool) -> Self {
        self.config.strict_schemas = strict;
        self
    }

    /// Limits one `tools/call` ([`DEFAULT_CALL_TIMEOUT`] by default). On
    /// timeout the model gets an error output and the server a
    /// `notifications/cancelled`.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = timeout;
        self
    }

    /// Limits connecting and every other request
    /// ([`DEFAULT_REQUEST_TIMEOUT`] by default).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Which calls need a human's approval (none by default). The runner
    /// pauses the run on such calls; see
    /// [`McpTool::approval_required`](crate::McpTool::approval_required).
    pub fn needs_approval(mut self, policy: ApprovalPolicy<C>) -> Self {
        self.config.approval = policy;
        self
    }

    /// Appends the server's `instructions` (from its initialize result) to
    /// the agent's instructions. Off by default.
    pub fn use_server_instructions(mut self, use_them: bool) -> Self {
        self.config.use_server_instructions = use_them;
        self
    }

    /// Gives the model a result's `structuredContent` (as JSON) instead of
    /// its content blocks, when the result has one. Off by default.
    pub fn prefer_structured_content(mut self, prefer: bool) -> Self {
        self.config.prefer_structured_content = prefer;
        self
    }

    /// The client name and version sent in `initialize` (default:
    /// `agents-mcp` and this crate's version).
    pub fn client_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.client_name = name.into();
        self.config.client_version = version.into();
        self
    }

    /// Builds the toolkit.
    pub fn build(self) -> McpToolkit<C> {
        McpToolkit {
            config: Arc::new(self.config),
        }
    }
}
