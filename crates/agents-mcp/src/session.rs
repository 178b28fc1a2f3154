//! [`McpSession`]: one open connection to an MCP server, its tool list, and
//! its prompts and resources.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use agents_core::{RunContext, Tool, Toolkit, ToolkitError, ToolkitSession};
use futures::future::BoxFuture;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig,
    GetPromptRequestParams, GetPromptResult, Implementation, JsonObject, JsonRpcMessage,
    PaginatedRequestParams, Prompt, ProtocolVersion, ReadResourceRequestParams, ReadResourceResult,
    Resource, ResourceTemplate, ServerNotification, ServerPeerInfo,
};
use rmcp::service::{
    ClientCacheConfig, Peer, RoleClient, RunningService, RxJsonRpcMessage, TxJsonRpcMessage,
};
use rmcp::transport::Transport;
use rmcp::{ClientHandler, ServiceExt};
use tokio_util::sync::CancellationToken;

use crate::convert::{exposed_name, prepare_schema};
use crate::error::McpError;
use crate::server::{BoxedTransport, McpServer, ServerKind};
use crate::tool::McpTool;
use crate::toolkit::Config;

/// How long closing may take: the stdio shutdown waits up to 3 s for the
/// child to exit after its stdin closes, then 3 s after `SIGTERM`, then
/// kills it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// A bound on pages of one listing, against servers whose cursors never end.
const MAX_PAGES: usize = 10_000;

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Tool-list staleness, shared by a session and its connections' transports.
///
/// `epoch` grows on every `notifications/tools/list_changed` (when the
/// toolkit refreshes on them) and on every explicit invalidation. A tool
/// list fetched at epoch `e` is stale once `epoch > e`. The transport bumps
/// the epoch when it *reads* the notification, before any later message is
/// handled, so a change announced before a call's result is seen when that
/// result arrives.
pub(crate) struct Signals {
    epoch: AtomicU64,
    changed: tokio::sync::Notify,
    track_list_changed: bool,
}

impl Signals {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
    }
}

/// The transport of one connection, watched: tool-list changes and the end
/// of the server's output are recorded as they are read.
struct Observed {
    inner: BoxedTransport,
    signals: Arc<Signals>,
    eof: Arc<AtomicBool>,
}

impl Transport<RoleClient> for Observed {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        let signals = &self.signals;
        let eof = &self.eof;
        let next = self.inner.receive();
        async move {
            let message = next.await;
            match &message {
                None => eof.store(true, Ordering::Release),
                Some(JsonRpcMessage::Notification(n))
                    if signals.track_list_changed
                        && matches!(
                            n.notification,
                            ServerNotification::ToolListChangedNotification(_)
                        ) =>
                {
                    signals.bump()
                }
                _ => {}
            }
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

/// The client side of the protocol: identifies the client and answers the
/// server's pings. Notifications are observed on the transport.
#[derive(Clone)]
struct Hooks {
    info: ClientConfig,
}

impl ClientHandler for Hooks {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

/// One live connection: the rmcp service and what the handshake told.
pub(crate) struct Connection {
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, Hooks>>>,
    pub(crate) peer: Peer<RoleClient>,
    info: Option<Arc<ServerPeerInfo>>,
    pid: Option<u32>,
    eof: Arc<AtomicBool>,
    /// The last request failed in the transport (an HTTP server that does
    /// not answer any more). Cleared by the next request that gets through.
    unreachable: AtomicBool,
}

impl Connection {
    async fn open(
        config: &Config<impl Sized>,
        server: &McpServer,
        signals: &Arc<Signals>,
    ) -> Result<Arc<Connection>, McpError> {
        let name = config.name.as_str();
        let (transport, pid) = match &server.kind {
            ServerKind::Stdio(s) => s.spawn(name)?,
            ServerKind::Http(h) => (h.connect(name)?, None),
            ServerKind::Custom(connect) => (
                connect().map_err(|e| McpError::Config {
                    server: name.to_owned(),
                    message: format!("the custom transport failed to connect: {e}"),
                })?,
                None,
            ),
        };
        let eof = Arc::new(AtomicBool::new(false));
        let observed = Observed {
            inner: transport,
            signals: Arc::clone(signals),
            eof: Arc::clone(&eof),
        };
        let hooks = Hooks {
            info: ClientConfig::new(
                ClientCapabilities::default(),
                Implementation::new(&config.client_name, &config.client_version),
            )
            .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE),
        };
        // Dropping the handshake on timeout drops the transport, which kills
        // a stdio child.
        let service =
            match tokio::time::timeout(config.request_timeout, hooks.serve(observed)).await {
                Err(_) => {
                    return Err(McpError::Timeout {
                        server: name.to_owned(),
                        method: "initialize",
                        timeout: config.request_timeout,
                    })
                }
                Ok(Err(source)) => {
                    return Err(McpError::Initialize {
                        server: name.to_owned(),
                        source: Box::new(source),
                    })
                }
                Ok(Ok(service)) => service,
            };
        let peer = service.peer().clone();
        // The session caches the tool list itself; rmcp's response cache
        // would answer explicit refreshes from memory.
        peer.set_response_cache_config(ClientCacheConfig::disabled())
            .await;
        let info = peer.peer_info();
        tracing::debug!(server = name, ?pid, "MCP server connected");
        Ok(Arc::new(Connection {
            service: tokio::sync::Mutex::new(Some(service)),
            peer,
            info,
            pid,
            eof,
            unreachable: AtomicBool::new(false),
        }))
    }

    fn is_alive(&self) -> bool {
        !self.eof.load(Ordering::Acquire) && !self.peer.is_transport_closed()
    }

    /// Records whether a request got through the transport.
    pub(crate) fn note<T>(&self, result: &Result<T, rmcp::ServiceError>) {
        let failed = matches!(
            result,
            Err(rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_))
        );
        self.unreachable.store(failed, Ordering::Release);
    }

    /// Cancels the service and waits for its task, which closes the
    /// transport (and waits for a stdio child to exit).
    async fn shutdown(&self, server: &str) -> Result<(), McpError> {
        let service = self.service.lock().await.take();
        let Some(mut service) = service else {
            return Ok(());
        };
        match service.close_with_timeout(CLOSE_TIMEOUT).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(McpError::Timeout {
                server: server.to_owned(),
                method: "close",
                timeout: CLOSE_TIMEOUT,
            }),
            Err(e) => Err(McpError::Protocol {
                server: server.to_owned(),
                method: "close",
                message: format!("the connection task failed: {e}"),
            }),
        }
    }
}

struct Snapshot<C> {
    tools: Vec<Arc<McpTool<C>>>,
    dyn_tools: Vec<Arc<dyn Tool<C>>>,
    epoch: u64,
}

/// One open connection to an MCP server.
///
/// A session is what [`McpToolkit`](crate::McpToolkit) opens for each run
/// session; [`McpToolkit::connect`](crate::McpToolkit::connect) opens one
/// directly. Besides the tools it offers to agents, it lists and gets
/// prompts, lists and reads resources, and makes raw calls.
///
/// **Failures.** A call to a server that crashed or hung gives the model an
/// error output for that call, never a panic or a hung run; the session's
/// [`status`](Self::status) then reports [`McpError::Disconnected`].
///
/// **Reconnection.** A session does not reconnect by itself: a server that
/// exited may have lost state the conversation relies on, so the choice is
/// left to the application, which calls [`reconnect`](Self::reconnect) (the
/// same server parameters, a fresh `initialize`, a fresh tool list).
pub struct McpSession<C = ()> {
    me: Weak<McpSession<C>>,
    config: Arc<Config<C>>,
    server: McpServer,
    ctx: RunContext<C>,
    signals: Arc<Signals>,
    conn: RwLock<Option<Arc<Connection>>>,
    tools: RwLock<Snapshot<C>>,
    refresh_lock: tokio::sync::Mutex<()>,
    background: AtomicBool,
    closed: CancellationToken,
    runtime: tokio::runtime::Handle,
}

impl<C> fmt::Debug for McpSession<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpSession")
            .field("name", &self.config.name)
            .field("server", &self.server)
            .field("closed", &self.closed.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl<C> Drop for McpSession<C> {
    fn drop(&mut self) {
        // Stops the background tasks. The connection's own drop guard stops
        // its service, which closes the transport (and reaps a stdio child).
        self.closed.cancel();
    }
}

impl<C: Send + Sync + 'static> McpSession<C> {
    pub(crate) async fn open(
        config: Arc<Config<C>>,
        ctx: &RunContext<C>,
    ) -> Result<Arc<Self>, McpError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| McpError::Config {
            server: config.name.clone(),
            message: "MCP sessions need a Tokio runtime".to_owned(),
        })?;
        let server = config.resolve_server(ctx)?;
        let signals = Arc::new(Signals {
            epoch: AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
            track_list_changed: config.refresh_on_list_changed,
        });
        let conn = Connection::open(&config, &server, &signals).await?;
        let session = Arc::new_cyclic(|me| McpSession {
            me: me.clone(),
            config,
            server,
            ctx: ctx.clone(),
            signals,
            conn: RwLock::new(Some(conn)),
            tools: RwLock::new(Snapshot {
                tools: Vec::new(),
                dyn_tools: Vec::new(),
                epoch: 0,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            background: AtomicBool::new(false),
            closed: CancellationToken::new(),
            runtime,
        });
        if let Err(e) = session.refresh_tools().await {
            if let Err(close_err) = session.close().await {
                tracing::warn!(error = %close_err, "closing a half-open MCP session failed");
            }
            return Err(e);
        }
        session.spawn_list_changed_watcher();
        Ok(session)
    }

    /// The toolkit's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The run context the session was opened with (tool filters and
    /// approval policies see it).
    pub fn context(&self) -> &RunContext<C> {
        &self.ctx
    }

    /// What the server said about itself in its initialize result (name,
    /// version, capabilities, instructions, protocol version).
    pub fn server_info(&self) -> Option<Arc<ServerPeerInfo>> {
        read(&self.conn).as_ref().and_then(|c| c.info.clone())
    }

    /// The server's `instructions`, if it gave any.
    pub fn instructions(&self) -> Option<String> {
        self.server_info().and_then(|i| i.instructions.clone())
    }

    /// The process id of a stdio server.
    pub fn process_id(&self) -> Option<u32> {
        read(&self.conn).as_ref().and_then(|c| c.pid)
    }

    /// Whether the connection is usable: `Err(Closed)` after
    /// [`close`](Self::close); `Err(Disconnected)` once a stdio server
    /// exited or a connection was lost, and while the last request could
    /// not reach an HTTP server (a later request that gets through clears
    /// that).
    pub fn status(&self) -> Result<(), McpError> {
        let conn = self.connection()?;
        if conn.unreachable.load(Ordering::Acquire) {
            return Err(McpError::Disconnected {
                server: self.name().to_owned(),
            });
        }
        Ok(())
    }

    /// The tools offered now (after filtering), with their MCP definitions.
    pub fn mcp_tools(&self) -> Vec<Arc<McpTool<C>>> {
        read(&self.tools).tools.clone()
    }

    /// The names offered to the model now.
    pub fn tool_names(&self) -> Vec<String> {
        read(&self.tools)
            .tools
            .iter()
            .map(|t| t.name().to_owned())
            .collect()
    }

    /// Lists the server's tools now (every page) and replaces the offered
    /// tools. Returns how many are offered after filtering.
    pub async fn refresh_tools(&self) -> Result<usize, McpError> {
        let _guard = self.refresh_lock.lock().await;
        self.refresh_locked().await
    }

    /// Marks the cached tool list stale and re-lists the tools in the
    /// background; the first turn after the new list arrives offers it.
    /// Await [`refresh_tools`](Self::refresh_tools) instead to wait for it.
    pub fn invalidate_tools_cache(&self) {
        self.signals.epoch.fetch_add(1, Ordering::AcqRel);
        self.spawn_refresh(false);
    }

    /// Every prompt of the server (every page of `prompts/list`).
    pub async fn list_prompts(&self) -> Result<Vec<Prompt>, McpError> {
        let peer = self.connection()?.peer.clone();
        self.timed(
            "prompts/list",
            all_pages(self.name(), "prompts/list", |cursor| {
                let peer = peer.clone();
                async move {
                    let page = peer
                        .list_prompts(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                        .await?;
                    Ok((page.prompts, page.next_cursor))
                }
            }),
        )
        .await
    }

    /// Gets prompt `name`, filled with `arguments`.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<GetPromptResult, McpError> {
        let peer = self.connection()?.peer.clone();
        let mut params = GetPromptRequestParams::new(name);
        if let Some(arguments) = arguments {
            params = params.with_arguments(arguments);
        }
        self.timed("prompts/get", async move {
            peer.get_prompt(params)
                .await
                .map_err(|e| McpError::request(self.name(), "prompts/get", e))
        })
        .await
    }

    /// Every resource of the server (every page of `resources/list`).
    pub async fn list_resources(&self) -> Result<Vec<Resource>, McpError> {
        let peer = self.connection()?.peer.clone();
        self.timed(
            "resources/list",
            all_pages(self.name(), "resources/list", |cursor| {
                let peer = peer.clone();
                async move {
                    let page = peer
                        .list_resources(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                        .await?;
                    Ok((page.resources, page.next_cursor))
                }
            }),
        )
        .await
    }

    /// Every resource template of the server (every page of
    /// `resources/templates/list`).
    pub async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, McpError> {
        let peer = self.connection()?.peer.clone();
        self.timed(
            "resources/templates/list",
            all_pages(self.name(), "resources/templates/list", |cursor| {
                let peer = peer.clone();
                async move {
                    let page = peer
                        .list_resource_templates(Some(
                            PaginatedRequestParams::default().with_cursor(cursor),
                        ))
                        .await?;
                    Ok((page.resource_templates, page.next_cursor))
                }
            }),
        )
        .await
    }

    /// Reads the resource at `uri`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, McpError> {
        let peer = self.connection()?.peer.clone();
        let params = ReadResourceRequestParams::new(uri);
        self.timed("resources/read", async move {
            peer.read_resource(params)
                .await
                .map_err(|e| McpError::request(self.name(), "resources/read", e))
        })
        .await
    }

    /// Calls tool `name` (the server's name) with `arguments`, outside any
    /// run, bounded by the call timeout. The raw result is returned;
    /// [`convert::tool_output`](crate::convert::tool_output) maps it to a
    /// tool output.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: JsonObject,
    ) -> Result<CallToolResult, McpError> {
        let conn = self.connection()?;
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        match tokio::time::timeout(self.config.call_timeout, conn.peer.call_tool(params)).await {
            Ok(result) => {
                conn.note(&result);
                result.map_err(|e| McpError::request(self.name(), "tools/call", e))
            }
            Err(_) => Err(McpError::Timeout {
                server: self.name().to_owned(),
                method: "tools/call",
                timeout: self.config.call_timeout,
            }),
        }
    }

    /// The rmcp peer, for requests this type does not wrap (completion,
    /// subscriptions, logging level, ...).
    pub fn peer(&self) -> Result<Peer<RoleClient>, McpError> {
        Ok(self.connection()?.peer.clone())
    }

    /// Connects again with the same server parameters (a new process for a
    /// stdio server), re-initializes and re-lists the tools. The old
    /// connection, if any, is shut down. Fails with [`McpError::Closed`]
    /// after [`close`](Self::close).
    pub async fn reconnect(&self) -> Result<(), McpError> {
        if self.closed.is_cancelled() {
            return Err(self.closed_error());
        }
        let fresh = Connection::open(&self.config, &self.server, &self.signals).await?;
        let old = write(&self.conn).replace(fresh);
        if let Some(old) = old {
            if let Err(e) = old.shutdown(self.name()).await {
                tracing::warn!(error = %e, "shutting the old MCP connection down failed");
            }
        }
        self.refresh_tools().await.map(drop)
    }

    /// Shuts the connection down: a stdio server's stdin is closed and the
    /// process is waited for (terminated, then killed, if it lingers), so it
    /// is reaped when this returns. Closing twice is fine.
    pub async fn close(&self) -> Result<(), McpError> {
        self.closed.cancel();
        let conn = write(&self.conn).take();
        match conn {
            Some(conn) => conn.shutdown(self.name()).await,
            None => Ok(()),
        }
    }

    /// Shares this session with agents: the returned toolkit hands out this
    /// session (its context is the one it was opened with) and never closes
    /// it; the owner calls [`close`](Self::close).
    pub fn as_toolkit(self: &Arc<Self>) -> SharedMcpSession<C> {
        SharedMcpSession {
            session: Arc::clone(self),
        }
    }

    // ---- internals ------------------------------------------------------

    fn closed_error(&self) -> McpError {
        McpError::Closed {
            server: self.name().to_owned(),
        }
    }

    pub(crate) fn connection(&self) -> Result<Arc<Connection>, McpError> {
        if self.closed.is_cancelled() {
            return Err(self.closed_error());
        }
        let conn = read(&self.conn)
            .clone()
            .ok_or_else(|| self.closed_error())?;
        if conn.is_alive() {
            Ok(conn)
        } else {
            Err(McpError::Disconnected {
                server: self.name().to_owned(),
            })
        }
    }

    async fn timed<T>(
        &self,
        method: &'static str,
        fut: impl Future<Output = Result<T, McpError>>,
    ) -> Result<T, McpError> {
        match tokio::time::timeout(self.config.request_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(McpError::Timeout {
                server: self.name().to_owned(),
                method,
                timeout: self.config.request_timeout,
            }),
        }
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.signals.epoch() > read(&self.tools).epoch
    }

    /// Re-lists the tools if a change was announced (or the cache
    /// invalidated) since the last listing.
    pub(crate) async fn refresh_if_stale(&self) -> Result<(), McpError> {
        if !self.is_stale() {
            return Ok(());
        }
        let _guard = self.refresh_lock.lock().await;
        if !self.is_stale() {
            return Ok(());
        }
        self.refresh_locked().await.map(drop)
    }

    async fn refresh_locked(&self) -> Result<usize, McpError> {
        let conn = self.connection()?;
        let epoch = self.signals.epoch();
        let listed = self
            .timed(
                "tools/list",
                all_pages(self.name(), "tools/list", |cursor| {
                    let conn = Arc::clone(&conn);
                    async move {
                        let peer = &conn.peer;
                        let page = peer
                            .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                            .await;
                        conn.note(&page);
                        let page = page?;
                        Ok((page.tools, page.next_cursor))
                    }
                }),
            )
            .await?;
        let tools = self.build_tools(listed);
        let count = tools.len();
        let dyn_tools = tools
            .iter()
            .map(|t| Arc::clone(t) as Arc<dyn Tool<C>>)
            .collect();
        *write(&self.tools) = Snapshot {
            tools,
            dyn_tools,
            epoch,
        };
        tracing::debug!(server = self.name(), count, "MCP tools listed");
        Ok(count)
    }

    fn build_tools(&self, listed: Vec<rmcp::model::Tool>) -> Vec<Arc<McpTool<C>>> {
        let config = &self.config;
        let mut seen = HashSet::new();
        let mut tools = Vec::with_capacity(listed.len());
        for definition in listed {
            if !config.filter.accepts(&self.ctx, &definition) {
                continue;
            }
            let name = exposed_name(config.prefix.as_deref(), &definition.name);
            if !seen.insert(name.clone()) {
                tracing::warn!(
                    server = self.name(),
                    tool = %definition.name,
                    exposed = %name,
                    "MCP tool skipped: another tool of the server has the same name"
                );
                continue;
            }
            match prepare_schema(&definition.input_schema, config.strict_schemas) {
                Ok(schema) => tools.push(Arc::new(McpTool::new(
                    self.me.clone(),
                    Arc::clone(config),
                    definition,
                    name,
                    schema,
                ))),
                Err(reason) => tracing::warn!(
                    server = self.name(),
                    tool = %definition.name,
                    %reason,
                    "MCP tool skipped: its input schema cannot describe function arguments"
                ),
            }
        }
        tools
    }

    /// Starts a background refresh unless one is already running.
    fn spawn_refresh(&self, force: bool) {
        if self.closed.is_cancelled() || self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.me.clone();
        let closed = self.closed.clone();
        self.runtime.spawn(async move {
            let Some(session) = me.upgrade() else { return };
            let work = async {
                if force {
                    session.refresh_tools().await.map(drop)
                } else {
                    session.refresh_if_stale().await
                }
            };
            tokio::select! {
                _ = closed.cancelled() => {}
                result = work => if let Err(e) = result {
                    tracing::warn!(error = %e, "refreshing the MCP tool list failed");
                }
            }
            session.background.store(false, Ordering::Release);
        });
    }

    /// Re-lists the tools when the server announces a change that no call
    /// is waiting for.
    fn spawn_list_changed_watcher(&self) {
        if !self.config.refresh_on_list_changed {
            return;
        }
        let me = self.me.clone();
        let signals = Arc::clone(&self.signals);
        let closed = self.closed.clone();
        self.runtime.spawn(async move {
            loop {
                tokio::select! {
                    _ = closed.cancelled() => break,
                    _ = signals.changed.notified() => {}
                }
                let Some(session) = me.upgrade() else { break };
                tokio::select! {
                    _ = closed.cancelled() => break,
                    result = session.refresh_if_stale() => if let Err(e) = result {
                        tracing::warn!(error = %e, "refreshing the MCP tool list failed");
                    }
                }
            }
        });
    }
}

/// Collects every page of a paginated listing.
async fn all_pages<T, F, Fut>(
    server: &str,
    method: &'static str,
    mut page: F,
) -> Result<Vec<T>, McpError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), rmcp::ServiceError>>,
{
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let (batch, next) = page(cursor.take())
            .await
            .map_err(|e| McpError::request(server, method, e))?;
        items.extend(batch);
        match next {
            None => return Ok(items),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    return Err(McpError::Protocol {
                        server: server.to_owned(),
                        method,
                        message: format!("the cursor `{next}` came back twice"),
                    });
                }
                cursor = Some(next);
            }
        }
    }
    Err(McpError::Protocol {
        server: server.to_owned(),
        method,
        message: format!("more than {MAX_PAGES} pages"),
    })
}

impl<C: Send + Sync + 'static> ToolkitSession<C> for McpSession<C> {
    fn system_prompt(&self) -> Option<String> {
        if self.config.use_server_instructions {
            self.instructions().filter(|i| !i.trim().is_empty())
        } else {
            None
        }
    }

    fn tools(&self) -> Vec<Arc<dyn Tool<C>>> {
        if !self.config.cache_tools_list {
            self.spawn_refresh(true);
        } else if self.is_stale() {
            self.spawn_refresh(false);
        }
        read(&self.tools).dyn_tools.clone()
    }

    fn close(&self) -> BoxFuture<'_, Result<(), ToolkitError>> {
        Box::pin(async move { McpSession::close(self).await.map_err(ToolkitError::from) })
    }
}

/// A toolkit that hands out one already open [`McpSession`] (see
/// [`McpSession::as_toolkit`]). Run sessions do not close it.
pub struct SharedMcpSession<C = ()> {
    session: Arc<McpSession<C>>,
}

impl<C> fmt::Debug for SharedMcpSession<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedMcpSession")
            .field(&self.session)
            .finish()
    }
}

impl<C> Clone for SharedMcpSession<C> {
    fn clone(&self) -> Self {
        SharedMcpSession {
            session: Arc::clone(&self.session),
        }
    }
}

impl<C: Send + Sync + 'static> SharedMcpSession<C> {
    /// The shared session.
    pub fn session(&self) -> &Arc<McpSession<C>> {
        &self.session
    }
}

struct SessionView<C>(Arc<McpSession<C>>);

impl<C: Send + Sync + 'static> ToolkitSession<C> for SessionView<C> {
    fn system_prompt(&self) -> Option<String> {
        ToolkitSession::system_prompt(&*self.0)
    }

    fn tools(&self) -> Vec<Arc<dyn Tool<C>>> {
        ToolkitSession::tools(&*self.0)
    }

    fn close(&self) -> BoxFuture<'_, Result<(), ToolkitError>> {
        Box::pin(async { Ok(()) })
    }
}

impl<C: Send + Sync + 'static> Toolkit<C> for SharedMcpSession<C> {
    fn name(&self) -> &str {
        self.session.name()
    }

    fn create_session<'a>(
        &'a self,
        _ctx: &'a RunContext<C>,
    ) -> BoxFuture<'a, Result<Arc<dyn ToolkitSession<C>>, ToolkitError>> {
        let view: Arc<dyn ToolkitSession<C>> = Arc::new(SessionView(Arc::clone(&self.session)));
        Box::pin(async move { Ok(view) })
    }
}
