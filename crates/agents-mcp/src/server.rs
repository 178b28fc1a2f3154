//! Where an MCP server runs and how to reach it: [`McpServer`], built from a
//! [`StdioServer`] (a child process), an [`HttpServer`] (streamable HTTP) or
//! any rmcp transport ([`McpServer::custom`]).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::service::{RoleClient, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::common::client_side_sse::ExponentialBackoff;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{IntoTransport, StreamableHttpClientTransport, TokioChildProcess, Transport};

use crate::error::McpError;

/// How to reach one MCP server.
///
/// Built from a [`StdioServer`], an [`HttpServer`] or
/// [`McpServer::custom`]. Cheap to clone.
#[derive(Clone)]
pub struct McpServer {
    pub(crate) kind: ServerKind,
}

#[derive(Clone)]
pub(crate) enum ServerKind {
    Stdio(StdioServer),
    Http(HttpServer),
    Custom(TransportFactory),
}

type TransportFactory = Arc<dyn Fn() -> std::io::Result<BoxedTransport> + Send + Sync>;

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ServerKind::Stdio(s) => f.debug_tuple("McpServer::Stdio").field(s).finish(),
            ServerKind::Http(h) => f.debug_tuple("McpServer::Http").field(h).finish(),
            ServerKind::Custom(_) => f.write_str("McpServer::Custom(..)"),
        }
    }
}

impl McpServer {
    /// A server started as a child process, spoken to over its stdin and
    /// stdout. Same as [`StdioServer::new`].
    pub fn stdio(command: impl Into<OsString>) -> StdioServer {
        StdioServer::new(command)
    }

    /// A server reached over streamable HTTP at `url`. Same as
    /// [`HttpServer::new`].
    pub fn http(url: impl Into<String>) -> HttpServer {
        HttpServer::new(url)
    }

    /// A server reached through any rmcp transport. `connect` is called for
    /// every connection (again on [`McpSession::reconnect`](crate::McpSession::reconnect)),
    /// from inside the Tokio runtime.
    ///
    /// This is how to plug transports this crate does not wrap (a Unix
    /// socket, an in-process server over `tokio::io::duplex`, ...).
    pub fn custom<F, T, E, A>(connect: F) -> McpServer
    where
        F: Fn() -> std::io::Result<T> + Send + Sync + 'static,
        T: IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        McpServer {
            kind: ServerKind::Custom(Arc::new(move || {
                connect().map(|t| BoxedTransport::new(t.into_transport()))
            })),
        }
    }

    /// The transport's kind, for logs: `stdio`, `streamable-http` or `custom`.
    pub fn transport_kind(&self) -> &'static str {
        match self.kind {
            ServerKind::Stdio(_) => "stdio",
            ServerKind::Http(_) => "streamable-http",
            ServerKind::Custom(_) => "custom",
        }
    }
}

/// What to do with a stdio server's standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stderr {
    /// Share the parent's standard error (the default): server logs and
    /// crash messages stay visible.
    #[default]
    Inherit,
    /// Discard it.
    Null,
}

/// A server started as a child process (`command args...`), spoken to over
/// stdin/stdout.
///
/// The child inherits the parent's environment plus the variables given
/// with [`env`](Self::env). Closing the session closes the child's stdin,
/// waits up to 3 s for it to exit, then sends `SIGTERM`, waits again and
/// kills it; the child is always reaped.
///
/// ```
/// use agents_mcp::StdioServer;
///
/// let server = StdioServer::new("npx")
///     .args(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"])
///     .env("NODE_ENV", "production");
/// assert_eq!(server.command(), "npx");
/// ```
///
/// `Debug` output shows the names of the [`env`](Self::env) variables but
/// never their values (they are often credentials): each prints as
/// `"<redacted>"`.
#[derive(Clone)]
pub struct StdioServer {
    command: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    stderr: Stderr,
}

impl fmt::Debug for StdioServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Variable names, with every value printed as `"<redacted>"`.
        struct Names<'a>(&'a [(OsString, OsString)]);
        impl fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, _)| (k, "<redacted>")))
                    .finish()
            }
        }
        f.debug_struct("StdioServer")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &Names(&self.env))
            .field("cwd", &self.cwd)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl StdioServer {
    /// Runs `command` (looked up in `PATH` unless it is a path).
    pub fn new(command: impl Into<OsString>) -> Self {
        StdioServer {
            command: command.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            stderr: Stderr::Inherit,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Runs the child in this working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// What to do with the child's standard error.
    pub fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// The command, lossily converted for display.
    pub fn command(&self) -> String {
        self.command.to_string_lossy().into_owned()
    }

    pub(crate) fn spawn(&self, server: &str) -> Result<(BoxedTransport, Option<u32>), McpError> {
        let mut cmd = tokio::process::Command::new(&self.command);
        cmd.args(&self.args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let stderr = match self.stderr {
            Stderr::Inherit => std::process::Stdio::inherit(),
            Stderr::Null => std::process::Stdio::null(),
        };
        let (child, _) = TokioChildProcess::builder(cmd)
            .stderr(stderr)
            .spawn()
            .map_err(|source| McpError::Spawn {
                server: server.to_owned(),
                command: self.command(),
                source,
            })?;
        let pid = child.id();
        Ok((BoxedTransport::new(child), pid))
    }
}

impl From<StdioServer> for McpServer {
    fn from(s: StdioServer) -> Self {
        McpServer {
            kind: ServerKind::Stdio(s),
        }
    }
}

/// A server reached over streamable HTTP (the MCP transport of
/// `POST`/`GET` on one endpoint, with server-sent events).
///
/// ```
/// use agents_mcp::HttpServer;
///
/// let server = HttpServer::new("https://mcp.example.com/mcp")
///     .bearer_auth("secret-token")
///     .header("x-tenant", "acme");
/// assert_eq!(server.url(), "https://mcp.example.com/mcp");
/// ```
///
/// `https://` URLs need the `rustls` feature (on by default: rustls with
/// the *ring* crypto provider, installed as the process default when no
/// provider is installed yet). The legacy
/// HTTP+SSE transport of protocol version 2024-11-05 is not offered: rmcp
/// 3.x has no client for it.
#[derive(Clone)]
pub struct HttpServer {
    url: String,
    bearer: Option<String>,
    headers: Vec<(String, String)>,
    stream_retries: usize,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and tokens may be credentials: only names are shown.
        f.debug_struct("HttpServer")
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("stream_retries", &self.stream_retries)
            .finish()
    }
}

impl HttpServer {
    /// The server's endpoint, for example `http://127.0.0.1:3001/mcp`.
    pub fn new(url: impl Into<String>) -> Self {
        HttpServer {
            url: url.into(),
            bearer: None,
            headers: Vec::new(),
            stream_retries: 3,
        }
    }

    /// How many times a broken server-sent-event stream is resumed (after
    /// 0.2 s, 0.4 s, 0.8 s, ... at most 2 s apart) before the requests
    /// waiting on it fail as disconnected. 3 by default; 0 fails them at
    /// once.
    pub fn stream_retries(mut self, retries: usize) -> Self {
        self.stream_retries = retries;
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn bearer_auth(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// Sends this header with every request. Invalid names or values are
    /// reported when the session connects.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn connect(&self, server: &str) -> Result<BoxedTransport, McpError> {
        let config_error = |message: String| McpError::Config {
            server: server.to_owned(),
            message,
        };
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(config_error(format!(
                "`{}` is not an http:// or https:// URL",
                self.url
            )));
        }
        let mut headers = HashMap::new();
        for (name, value) in &self.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| config_error(format!("invalid header name `{name}`: {e}")))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|e| config_error(format!("invalid value for header `{name}`: {e}")))?;
            headers.insert(name, value);
        }
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
            .custom_headers(headers);
        if let Some(token) = &self.bearer {
            config = config.auth_header(token.clone());
        }
        // rmcp resumes a broken stream forever by default, so a request on a
        // dead server would wait for the call timeout.
        let mut backoff = ExponentialBackoff::default();
        backoff.max_times = Some(self.stream_retries);
        backoff.base_duration = Duration::from_millis(200);
        backoff.max_delay = Some(Duration::from_secs(2));
        config.retry_config = Arc::new(backoff);
        // rmcp's reqwest client has no crypto provider of its own: it takes
        // the process default, which must exist before the client is built.
        #[cfg(feature = "rustls")]
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may install one at the same time: either wins.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        Ok(BoxedTransport::new(
            StreamableHttpClientTransport::from_config(config),
        ))
    }
}

impl From<HttpServer> for McpServer {
    fn from(h: HttpServer) -> Self {
        McpServer {
            kind: ServerKind::Http(h),
        }
    }
}

// ---- a type-erased transport ------------------------------------------------

type Error = std::io::Error;

trait ErasedTransport: Send {
    fn send(&mut self, item: TxJsonRpcMessage<RoleClient>)
        -> BoxFuture<'static, Result<(), Error>>;
    fn receive(&mut self) -> BoxFuture<'_, Option<RxJsonRpcMessage<RoleClient>>>;
    fn close(&mut self) -> BoxFuture<'_, Result<(), Error>>;
}

impl<T: Transport<RoleClient> + 'static> ErasedTransport for T {
    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        let fut = Transport::send(self, item);
        Box::pin(async move { fut.await.map_err(Error::other) })
    }

    fn receive(&mut self) -> BoxFuture<'_, Option<RxJsonRpcMessage<RoleClient>>> {
        Box::pin(Transport::receive(self))
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), Error>> {
        let fut = Transport::close(self);
        Box::pin(async move { fut.await.map_err(Error::other) })
    }
}

/// Any client transport behind one type, so that every server kind goes
/// through the same connection code.
pub(crate) struct BoxedTransport(Box<dyn ErasedTransport>);

impl BoxedTransport {
    pub(crate) fn new<T: Transport<RoleClient> + 'static>(transport: T) -> Self {
        BoxedTransport(Box::new(transport))
    }

    pub(crate) fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> BoxFuture<'static, Result<(), Error>> {
        self.0.send(item)
    }

    pub(crate) fn receive(&mut self) -> BoxFuture<'_, Option<RxJsonRpcMessage<RoleClient>>> {
        self.0.receive()
    }

    pub(crate) fn close(&mut self) -> BoxFuture<'_, Result<(), Error>> {
        self.0.close()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn stdio_server_debug_hides_env_values_but_keeps_names() {
        let server = StdioServer::new("npx")
            .arg("-y")
            .env("GITHUB_TOKEN", "ghp-secret-5d1f")
            .envs([("API_KEY", "key-secret-8a2b")]);
        for shown in [format!("{server:?}"), format!("{server:#?}")] {
            assert!(!shown.contains("ghp-secret"), "{shown}");
            assert!(!shown.contains("key-secret"), "{shown}");
            assert!(shown.contains("GITHUB_TOKEN"), "{shown}");
            assert!(shown.contains("API_KEY"), "{shown}");
            assert!(shown.contains("\"<redacted>\""), "{shown}");
            assert!(shown.contains("npx") && shown.contains("-y"), "{shown}");
        }
    }

    /// rmcp's reqwest client has no crypto provider of its own (no aws-lc): building
    /// the transport installs ring's as the process default first, instead of panicking.
    #[cfg(feature = "rustls")]
    #[tokio::test]
    async fn an_https_transport_builds_with_a_crypto_provider_installed() {
        let transport = HttpServer::new("https://127.0.0.1:1/mcp").connect("remote");
        assert!(transport.is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    #[test]
    fn http_server_debug_hides_header_values_and_bearer() {
        let server = HttpServer::new("http://127.0.0.1:1/mcp")
            .bearer_auth("tok-secret-3c9e")
            .header("x-api-key", "hdr-secret-6b0d");
        for shown in [format!("{server:?}"), format!("{server:#?}")] {
            assert!(!shown.contains("tok-secret"), "{shown}");
            assert!(!shown.contains("hdr-secret"), "{shown}");
            assert!(shown.contains("x-api-key"), "{shown}");
        }
    }
}
