//! [`OpenAIClient`]: the configuration (async-openai's `Config`) and the
//! `reqwest::Client` shared by every model of a provider, plus the one place
//! where HTTP requests are sent and HTTP errors are turned into
//! [`ModelError`]s.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use agents_core::{ModelError, ModelSettings};
use async_openai::config::{Config, OpenAIConfig};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;

/// The official API base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// The longest error body kept in [`ModelError::Http`] (`body`), in bytes.
/// Reading stops there: the rest of an error body is never buffered.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The longest server `Retry-After` / `retry-after-ms` hint reported in
/// [`ModelError::Http`] (`retry_after`): one day. Longer, infinite or
/// unparsable-as-a-duration hints are clamped to it (never a panic).
pub(crate) const MAX_RETRY_AFTER_HINT: Duration = Duration::from_secs(24 * 60 * 60);

/// What a value in place of a secret reads in errors and `Debug` output.
pub(crate) const REDACTED: &str = "<redacted>";

/// Size limits on what an [`OpenAIClient`] buffers from a server, so that a
/// broken or hostile server cannot make it buffer without bound.
///
/// Going over a limit ends the call with
/// [`ModelError::ResponseTooLarge`](agents_core::ModelError::ResponseTooLarge),
/// which names the limit; nothing more is read from the connection. The
/// defaults are generous: a single streamed event (`response.completed`)
/// carries the whole response, which may legitimately be several MB.
///
/// | limit | bounds | default |
/// |---|---|---|
/// | `max_sse_line_bytes` | one line of a `text/event-stream` body | 16 MiB |
/// | `max_sse_event_bytes` | the joined `data:` lines of one event | 16 MiB |
/// | `max_body_bytes` | a whole JSON response body | 16 MiB |
///
/// Error bodies (non-2xx statuses) are always cut at 64 KiB.
///
/// ```
/// use agents_model_openai::{OpenAIProvider, ResponseLimits};
///
/// let limits = ResponseLimits::default().with_max_body_bytes(64 << 20);
/// assert_eq!(limits.max_body_bytes, 64 << 20);
/// assert_eq!(limits.max_sse_line_bytes, ResponseLimits::DEFAULT_MAX_BYTES);
/// let provider = OpenAIProvider::builder().response_limits(limits).build();
/// assert_eq!(provider.client().response_limits(), limits);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ResponseLimits {
    /// The longest line of an SSE body, in bytes.
    pub max_sse_line_bytes: usize,
    /// The largest SSE event (its `data:` lines joined), in bytes.
    pub max_sse_event_bytes: usize,
    /// The largest JSON response body, in bytes.
    pub max_body_bytes: usize,
}

impl ResponseLimits {
    /// The default of every limit: 16 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

    /// Sets the longest SSE line, in bytes.
    #[must_use]
    pub fn with_max_sse_line_bytes(mut self, bytes: usize) -> Self {
        self.max_sse_line_bytes = bytes;
        self
    }

    /// Sets the largest SSE event, in bytes.
    #[must_use]
    pub fn with_max_sse_event_bytes(mut self, bytes: usize) -> Self {
        self.max_sse_event_bytes = bytes;
        self
    }

    /// Sets the largest JSON response body, in bytes.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits {
            max_sse_line_bytes: Self::DEFAULT_MAX_BYTES,
            max_sse_event_bytes: Self::DEFAULT_MAX_BYTES,
            max_body_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// An OpenAI API client: an async-openai [`Config`] (API key, base URL,
/// organization, project, extra headers and query parameters) and the
/// `reqwest::Client` that sends the requests.
///
/// Cheap to clone; clones share the connection pool. The API key never
/// appears in its `Debug` output.
///
/// Every header value of the configuration (API key, organization, project,
/// custom headers) is checked when the client is built: one that HTTP does
/// not allow (a trailing newline in `OPENAI_PROJECT_ID`, say) makes
/// [`try_new`](Self::try_new) fail, and every request of a client made with
/// [`new`](Self::new) fail, with
/// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader),
/// which names the header but never shows its value.
///
/// ```
/// use agents_model_openai::OpenAIClient;
/// use async_openai::config::OpenAIConfig;
///
/// let client = OpenAIClient::new(
///     OpenAIConfig::new().with_api_key("sk-test").with_api_base("http://127.0.0.1:8080/v1"),
/// );
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
/// assert!(!format!("{client:?}").contains("sk-test"));
/// ```
#[derive(Clone)]
pub struct OpenAIClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The HTTP client, or why it could not be built (reported per request).
    http: Result<reqwest::Client, String>,
    config: Arc<dyn Config>,
    /// A configuration problem found at construction, reported per request
    /// (so that building a provider never fails).
    config_error: Option<ModelError>,
    limits: ResponseLimits,
}

impl OpenAIClient {
    /// A client with the given async-openai configuration and a default
    /// `reqwest::Client`.
    ///
    /// Never fails: a header value HTTP does not allow is reported by every
    /// request (and by [`config_error`](Self::config_error)); use
    /// [`try_new`](Self::try_new) to get it now.
    pub fn new(config: OpenAIConfig) -> Self {
        let error = check_key(config.api_key().expose_secret())
            .or_else(|| check_value("OpenAI-Organization", config.org_id()))
            .or_else(|| check_headers(&config, "OpenAI-Project"));
        match error {
            Some(error) => Self::with_config_error(config, error),
            None => Self::from_parts(Arc::new(config), None),
        }
    }

    /// Like [`new`](Self::new), but a configuration that cannot be sent (an
    /// API key, organization, project or custom header value with a newline
    /// or another character HTTP forbids) is an error now:
    /// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader),
    /// naming the header, never showing its value.
    ///
    /// ```
    /// use agents_core::ModelError;
    /// use agents_model_openai::OpenAIClient;
    /// use agents_model_openai::async_openai::config::OpenAIConfig;
    ///
    /// let config = OpenAIConfig::new().with_api_key("sk-x").with_project_id("proj_1\n");
    /// let err = OpenAIClient::try_new(config).unwrap_err();
    /// assert!(matches!(&err, ModelError::InvalidHeader { name } if name == "OpenAI-Project"));
    /// assert!(!format!("{err:?}").contains("proj_1"));
    /// ```
    pub fn try_new(config: OpenAIConfig) -> Result<Self, ModelError> {
        let client = Self::new(config);
        match client.config_error() {
            Some(error) => Err(error.clone()),
            None => Ok(client),
        }
    }

    /// A client with any async-openai [`Config`] (for example
    /// `AzureConfig`, or your own) and a default `reqwest::Client`.
    ///
    /// The configuration's `headers()` are called for every request, so a
    /// configuration may rotate credentials. They are called once here too:
    /// if they panic (async-openai's configurations do on a header value HTTP
    /// forbids), every request fails with
    /// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader)
    /// instead (see [`config_error`](Self::config_error)).
    pub fn with_config(config: impl Config + 'static) -> Self {
        let config: Arc<dyn Config> = Arc::new(config);
        let config_error = check_key(config.api_key().expose_secret())
            .or_else(|| check_headers(&*config, "(a header of the configuration)"));
        Self::from_parts(config, config_error)
    }

    fn from_parts(config: Arc<dyn Config>, config_error: Option<ModelError>) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: default_http_client(),
                config,
                config_error,
                limits: ResponseLimits::default(),
            }),
        }
    }

    /// The configuration problem every request of this client reports, if
    /// any (a header value HTTP forbids). The error never shows the value.
    pub fn config_error(&self) -> Option<&ModelError> {
        self.inner.config_error.as_ref()
    }

    /// Uses these size limits on what is read from the server (see
    /// [`ResponseLimits`] for the defaults).
    pub fn with_response_limits(self, limits: ResponseLimits) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                config: self.inner.config.clone(),
                config_error: self.inner.config_error.clone(),
                limits,
            }),
        }
    }

    /// The size limits on what is read from the server.
    pub fn response_limits(&self) -> ResponseLimits {
        self.inner.limits
    }

    /// A client configured from the environment like async-openai's
    /// `OpenAIConfig::default()`: `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`. Never fails; see
    /// [`OpenAIProvider`](crate::OpenAIProvider) for what a missing key means.
    pub fn from_env() -> Self {
        crate::provider::OpenAIProvider::from_env().client().clone()
    }

    /// Uses `http` to send requests (timeouts, proxies, TLS roots, connection
    /// pool settings are then the caller's choice).
    pub fn with_http_client(self, http: reqwest::Client) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: Ok(http),
                config: self.inner.config.clone(),
                config_error: self.inner.config_error.clone(),
                limits: self.inner.limits,
            }),
        }
    }

    /// The API base URL (for example `https://api.openai.com/v1`).
    pub fn base_url(&self) -> &str {
        self.inner.config.api_base()
    }

    /// The async-openai configuration.
    pub fn config(&self) -> &dyn Config {
        &*self.inner.config
    }

    /// The `reqwest::Client` used to send requests, if it could be built.
    pub fn http_client(&self) -> Option<&reqwest::Client> {
        self.inner.http.as_ref().ok()
    }

    /// Whether an API key is configured.
    pub fn has_api_key(&self) -> bool {
        !self.inner.config.api_key().expose_secret().is_empty()
    }

    /// A client whose every request fails with `error`. The configuration's
    /// key, organization and project are cleared, so that nothing secret is
    /// kept and its `headers()` cannot panic.
    pub(crate) fn with_config_error(config: OpenAIConfig, error: ModelError) -> Self {
        let config = config.with_api_key("").with_org_id("").with_project_id("");
        Self::from_parts(Arc::new(config), Some(error))
    }

    /// Sends one attempt of a POST to `path` and returns the response once
    /// its status and headers have arrived, with the secret header values
    /// the request carried (to redact from what the server says later).
    /// Non-2xx statuses become [`ModelError::Http`]. The per-attempt
    /// timeout, if any, covers this call; the caller applies the rest of it
    /// to reading the body.
    pub(crate) async fn send(
        &self,
        path: &str,
        body: &Bytes,
        settings: &ModelSettings,
        stream: bool,
    ) -> Result<(reqwest::Response, Vec<String>), ModelError> {
        let (http, request) = self.build_request(path, body, settings, stream)?;
        let secrets = secret_values(request.headers());
        let response = http.execute(request).await.map_err(map_reqwest_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok((response, secrets));
        }
        Err(http_error(response, &secrets).await)
    }

    /// The request of one attempt, with every header it carries.
    fn build_request(
        &self,
        path: &str,
        body: &Bytes,
        settings: &ModelSettings,
        stream: bool,
    ) -> Result<(&reqwest::Client, reqwest::Request), ModelError> {
        if let Some(error) = &self.inner.config_error {
            return Err(error.clone());
        }
        let http = self
            .inner
            .http
            .as_ref()
            .map_err(|e| ModelError::Other(e.clone()))?;
        let config = &*self.inner.config;
        let mut headers = catch_unwind(AssertUnwindSafe(|| config.headers())).map_err(|_| {
            ModelError::InvalidHeader {
                name: "(a header of the configuration)".to_owned(),
            }
        })?;
        if !self.has_api_key() {
            if is_official(config.api_base()) {
                return Err(ModelError::Other(
                    "no OpenAI API key is configured: set OPENAI_API_KEY or pass one with \
                     OpenAIProvider::builder().api_key(..)"
                        .to_owned(),
                ));
            }
            // A local OpenAI-compatible server: send no `Authorization: Bearer ` with an empty key.
            if headers
                .get(AUTHORIZATION)
                .is_some_and(|v| v.as_bytes().trim_ascii() == b"Bearer")
            {
                headers.remove(AUTHORIZATION);
            }
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        if let Some(extra) = &settings.extra_headers {
            for (name, value) in extra {
                let invalid = || ModelError::InvalidHeader {
                    name: printable_name(name),
                };
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
                let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
                headers.insert(name, value);
            }
        }
        let mut request = http.post(config.url(path)).headers(headers);
        let query = config.query();
        if !query.is_empty() {
            request = request.query(&query);
        }
        if let Some(extra) = &settings.extra_query {
            request = request.query(extra);
        }
        let request = request
            .body(body.clone())
            .build()
            .map_err(map_reqwest_error)?;
        Ok((http, request))
    }
}

impl fmt::Debug for OpenAIClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAIClient")
            .field("base_url", &self.base_url())
            .field(
                "api_key",
                &if self.has_api_key() {
                    "<redacted>"
                } else {
                    "<unset>"
                },
            )
            .finish_non_exhaustive()
    }
}

fn default_http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Whether `base_url` points at the official OpenAI API (which needs a key).
pub(crate) fn is_official(base_url: &str) -> bool {
    let rest = base_url
        .strip_prefix("https://")
        .or_else(|| base_url.strip_prefix("http://"))
        .unwrap_or(base_url);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host.eq_ignore_ascii_case("api.openai.com")
}

/// A key that cannot be sent as `Authorization: Bearer <key>` (async-openai
/// would `unwrap` the header value and panic).
fn check_key(key: &str) -> Option<ModelError> {
    HeaderValue::from_str(&format!("Bearer {key}"))
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: "Authorization".to_owned(),
        })
}

/// A header value HTTP does not allow, reported under `name`.
pub(crate) fn check_value(name: &str, value: &str) -> Option<ModelError> {
    HeaderValue::from_str(value)
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: name.to_owned(),
        })
}

/// Calls the configuration's `headers()` once: async-openai's configurations
/// panic on a value HTTP forbids (the project id has no getter, so this is the
/// only way to check it). The panic is caught and reported under `culprit`.
fn check_headers(config: &dyn Config, culprit: &str) -> Option<ModelError> {
    catch_unwind(AssertUnwindSafe(|| config.headers()))
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: culprit.to_owned(),
        })
}

/// A header name for an error message: at most 64 characters, control
/// characters escaped, anything that looks like a credential redacted (a whole
/// `Authorization: Bearer sk-..` line passed as a name, say).
fn printable_name(name: &str) -> String {
    let short: String = name.chars().take(64).collect();
    redact_text(&short.escape_debug().to_string(), &[])
}

/// Whether a header of this name carries a credential, so that its value is
/// redacted wherever a server echoes it.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "auth",
        "key",
        "token",
        "secret",
        "cookie",
        "password",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The values of the secret headers of a request (and the token of an
/// `Authorization: <scheme> <token>` value), longest first, to be redacted from
/// what the server answers.
fn secret_values(headers: &HeaderMap) -> Vec<String> {
    let mut secrets = Vec::new();
    for (name, value) in headers {
        if !is_secret_header(name.as_str()) {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        let value = value.trim();
        if let Some((_, token)) = value.split_once(' ') {
            secrets.push(token.trim().to_owned());
        }
        secrets.push(value.to_owned());
    }
    // Short values ("1", "yes") would redact ordinary words.
    secrets.retain(|s| s.len() >= 6);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}

/// Redacts credentials from text a server sent back (an error body that
/// echoes the request headers, say):
///
/// - every occurrence of a value in `secrets` (the request's own secret header
///   values);
/// - the value after a credential name (`authorization`, `api-key`,
///   `x-api-key`, `x-goog-api-key`, `api_key`, and any name ending so)
///   followed by `:` or `=`, quoted or not;
/// - the token after `Bearer`;
/// - `sk-` tokens (OpenAI keys) of 8 or more characters after the prefix.
pub(crate) fn redact_text(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    redact_patterns(&text)
}

/// [`redact_text`] over the texts of an error built from what the server
/// sent (a stream's `error` event, say).
pub(crate) fn redact_error(error: ModelError, secrets: &[String]) -> ModelError {
    let r = |text: String| redact_text(&text, secrets);
    match error {
        ModelError::Http {
            status,
            message,
            request_id,
            body,
            retry_after,
        } => ModelError::Http {
            status,
            message: r(message),
            request_id,
            body: body.map(r),
            retry_after,
        },
        ModelError::Stream(m) => ModelError::Stream(r(m)),
        ModelError::InvalidResponse(m) => ModelError::InvalidResponse(r(m)),
        ModelError::Connection(m) => ModelError::Connection(r(m)),
        ModelError::Other(m) => ModelError::Other(r(m)),
        other => other,
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Whether a name found in text names a credential.
fn is_credential_name(ident: &str) -> bool {
    let ident = ident.to_ascii_lowercase();
    [
        "authorization",
        "api-key",
        "api_key",
        "apikey",
        "subscription-key",
    ]
    .iter()
    .any(|suffix| ident.ends_with(suffix))
}

fn redact_patterns(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end < b.len() && is_ident(b[end]) {
            end += 1;
        }
        let ident = &text[start..end];
        // The span of a secret value to replace, if any.
        let span = if is_credential_name(ident) {
            value_after_name(b, end)
        } else if ident.eq_ignore_ascii_case("bearer") {
            // In `Bearer Bearer <token>`, the second `Bearer` takes the token.
            token_after(b, end)
                .filter(|(from, to)| !text[*from..*to].eq_ignore_ascii_case("bearer"))
        } else if ident.len() >= 11 && ident.starts_with("sk-") {
            Some((start + 3, end))
        } else {
            None
        };
        match span {
            Some((from, to)) if to > from => {
                out.push_str(&text[copied..from]);
                out.push_str(REDACTED);
                copied = to;
                i = to;
            }
            _ => i = end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// After a credential name at `at`: an optional closing quote (possibly
/// backslash-escaped), spaces, `:` or `=`, spaces, then the value: up to its
/// closing quote when quoted, else up to the end of the line or a delimiter.
fn value_after_name(b: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let skip_quote = |at: &mut usize| {
        if b.get(*at) == Some(&b'\\') && matches!(b.get(*at + 1), Some(b'"' | b'\'')) {
            *at += 2;
            true
        } else if matches!(b.get(*at), Some(b'"' | b'\'')) {
            *at += 1;
            true
        } else {
            false
        }
    };
    let skip_spaces = |at: &mut usize| {
        while matches!(b.get(*at), Some(b' ' | b'\t')) {
            *at += 1;
        }
    };
    skip_quote(&mut at);
    skip_spaces(&mut at);
    if !matches!(b.get(at), Some(b':' | b'=')) {
        return None;
    }
    at += 1;
    skip_spaces(&mut at);
    let quoted = skip_quote(&mut at);
    let from = at;
    let stops: &[u8] = if quoted {
        b"\"'\\\r\n"
    } else {
        b"\"'\\\r\n,;&}]"
    };
    let to = b[from..]
        .iter()
        .position(|c| stops.contains(c))
        .map_or(b.len(), |p| from + p);
    // Keep trailing spaces outside the redaction.
    let mut to = to;
    while to > from && b[to - 1] == b' ' {
        to -= 1;
    }
    Some((from, to))
}

/// The token after `Bearer` at `at` (one or more spaces, then token characters).
fn token_after(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut from = at;
    while matches!(b.get(from), Some(b' ' | b'\t')) {
        from += 1;
    }
    if from == at {
        return None;
    }
    let to = b[from..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || b"-._~+/=".contains(c)))
        .map_or(b.len(), |p| from + p);
    Some((from, to))
}

/// Maps a transport error (no HTTP status) to [`ModelError::Connection`].
/// The message names the URL but never a header, so the key cannot leak.
pub(crate) fn map_reqwest_error(error: reqwest::Error) -> ModelError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    // Body read failures are "decode" errors to reqwest; we never let reqwest
    // parse JSON, so every reqwest error is a transport failure. A URL with
    // an `api_key=` query parameter is redacted like a server's text.
    ModelError::Connection(redact_text(&message, &[]))
}

/// The request id the server assigned (`x-request-id`).
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The server's retry hint: `retry-after-ms` (milliseconds), else
/// `retry-after` (seconds; an HTTP date is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok();
    value("retry-after-ms")
        .and_then(|v| parse_retry_after(v, 1e-3))
        .or_else(|| value("retry-after").and_then(|v| parse_retry_after(v, 1.0)))
}

/// Parses one retry hint, a decimal number of `unit` seconds, whatever the
/// server sent: `NaN`, negative numbers and text are ignored (`None`); huge
/// numbers and `inf` are clamped to [`MAX_RETRY_AFTER_HINT`]. Never panics.
pub(crate) fn parse_retry_after(value: &str, unit: f64) -> Option<Duration> {
    let number: f64 = value.trim().parse().ok()?;
    let seconds = number * unit;
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    let max = MAX_RETRY_AFTER_HINT.as_secs_f64();
    Some(Duration::try_from_secs_f64(seconds.min(max)).unwrap_or(MAX_RETRY_AFTER_HINT))
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error body; the rest is never
/// read (the connection is dropped with the response).
async fn read_error_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await? {
            Some(chunk) => {
                let room = MAX_ERROR_BODY - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(body)
}

/// Reads an error response into [`ModelError::Http`]. Credentials the server
/// echoes (the request's own secret header values, `Authorization` or
/// `api-key` values, `Bearer` tokens, `sk-` keys) are redacted from the
/// message and the body.
async fn http_error(response: reqwest::Response, secrets: &[String]) -> ModelError {
    let status = response.status();
    let headers = response.headers();
    let request_id = request_id(headers);
    let retry_after = retry_after(headers);
    let body = match read_error_body(response).await {
        Ok(bytes) => Some(redact_text(&String::from_utf8_lossy(&bytes), secrets)),
        Err(e) => {
            tracing::debug!(error = %e, "could not read the error body");
            None
        }
    };
    let message = body
        .as_deref()
        .and_then(error_message)
        .or_else(|| {
            body.as_deref()
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(|b| b.chars().take(500).collect())
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    tracing::debug!(status = status.as_u16(), ?request_id, %message, "model request failed");
    ModelError::Http {
        status: status.as_u16(),
        message,
        request_id,
        body,
        retry_after,
    }
}

/// The message of an OpenAI error body (`{"error": {"message": ..}}`), with
/// its type and code when present.
fn error_message(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        error: ErrorObject,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
    }
    let wrapped: Wrapped = serde_json::from_str(body).ok()?;
    let e = wrapped.error;
    let mut message = e.message.filter(|m| !m.is_empty())?;
    let code = match e.code {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match (e.kind, code) {
        (Some(kind), Some(code)) => message.push_str(&format!(" ({kind}, {code})")),
        (Some(x), None) | (None, Some(x)) => message.push_str(&format!(" ({x})")),
        (None, None) => {}
    }
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connection_errors_redact_keys_in_the_url() {
        let error = reqwest::Client::new()
            .get("http://127.0.0.1:1/v1/models?api_key=sk-query-secret-123456&x=1")
            .send()
            .await
            .expect_err("nothing listens on port 1");
        let error = map_reqwest_error(error);
        let shown = format!("{error} {error:?}");
        assert!(matches!(error, ModelError::Connection(_)), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");
        assert!(!shown.contains("query-secret"), "{shown}");
    }

    #[test]
    fn official_hosts_are_recognized() {
        assert!(is_official("https://api.openai.com/v1"));
        assert!(is_official("https://API.openai.com"));
        assert!(!is_official("http://127.0.0.1:11434/v1"));
        assert!(!is_official("https://api.openai.com.evil.example/v1"));
        assert!(!is_official("https://my-proxy.example/api.openai.com/v1"));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_micros(150_500)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn hostile_retry_after_values_are_clamped_or_ignored() {
        let max = Some(MAX_RETRY_AFTER_HINT);
        let cases: [(&str, &str, Option<Duration>); 12] = [
            ("retry-after", "1e20", max),
            ("retry-after", "inf", max),
            ("retry-after", "+Infinity", max),
            ("retry-after", "18446744073709551616", max),
            ("retry-after", "NaN", None),
            ("retry-after", "-inf", None),
            ("retry-after", "-0.5", None),
            ("retry-after", "1e-400", Some(Duration::ZERO)),
            ("retry-after-ms", "1e30", max),
            ("retry-after-ms", "-1", None),
            ("retry-after-ms", "nan", None),
            ("retry-after-ms", "86400001", max),
        ];
        for (name, value, expected) in cases {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(retry_after(&h), expected, "{name}: {value}");
        }
        // A broken `retry-after-ms` falls back to `retry-after`.
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("NaN"));
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics_and_stays_bounded(value in "\\PC{0,40}", unit in proptest::prop_oneof![proptest::strategy::Just(1.0), proptest::strategy::Just(1e-3)]) {
            if let Some(d) = parse_retry_after(&value, unit) {
                proptest::prop_assert!(d <= MAX_RETRY_AFTER_HINT);
            }
        }

        #[test]
        fn retry_after_of_any_number_is_bounded(x in proptest::num::f64::ANY) {
            for text in [x.to_string(), format!("{x:e}"), format!("{x:?}")] {
                match parse_retry_after(&text, 1.0) {
                    Some(d) => {
                        proptest::prop_assert!(d <= MAX_RETRY_AFTER_HINT);
                        proptest::prop_assert!(x >= 0.0);
                        if x <= MAX_RETRY_AFTER_HINT.as_secs_f64() {
                            let error = (d.as_secs_f64() - x).abs();
                            proptest::prop_assert!(error < 1e-6, "{} vs {}", d.as_secs_f64(), x);
                        }
                    }
                    None => proptest::prop_assert!(x.is_nan() || x < 0.0, "{text}"),
                }
            }
        }

        #[test]
        fn redaction_never_panics_and_removes_bearer_tokens(prefix in "\\PC{0,30}", token in "[A-Za-z0-9]{12,30}", suffix in "\\PC{0,30}") {
            let text = format!("{prefix} Bearer {token} {suffix}");
            let out = redact_text(&text, &[]);
            proptest::prop_assert!(!out.contains(&format!("Bearer {token}")), "{out}");
            proptest::prop_assert!(!out.contains(&token), "{out}");
            let _ = redact_text(&prefix, std::slice::from_ref(&suffix));
        }
    }

    #[test]
    fn error_messages_from_openai_bodies() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#)
                .as_deref(),
            Some("Rate limit (requests, rate_limit_exceeded)")
        );
        assert_eq!(
            error_message(r#"{"error":{"message":"bad","type":null,"code":null,"param":"x"}}"#)
                .as_deref(),
            Some("bad")
        );
        assert_eq!(error_message("not json"), None);
        assert_eq!(error_message(r#"{"error":"flat"}"#), None);
    }

    #[test]
    fn a_key_that_is_not_a_header_value_is_reported_not_panicking() {
        let client = OpenAIClient::new(OpenAIConfig::new().with_api_key("sk-abc\n"));
        let err = client
            .build_request("/responses", &Bytes::new(), &ModelSettings::new(), false)
            .expect_err("invalid key");
        assert!(
            matches!(&err, ModelError::InvalidHeader { name } if name == "Authorization"),
            "{err:?}"
        );
        assert!(err.to_string().contains("HTTP does not allow"), "{err}");
        assert!(!err.to_string().contains("sk-abc"));
        assert!(!format!("{err:?}").contains("sk-abc"));
    }

    /// Builds a client from `config` and checks the typed error, at build
    /// time and per request, never showing `secret`.
    fn check_invalid(config: OpenAIConfig, header: &str, secret: &str) {
        let client = OpenAIClient::new(config.clone());
        for err in [
            client.config_error().cloned().expect("found at build time"),
            client
                .build_request("/responses", &Bytes::new(), &ModelSettings::new(), true)
                .expect_err("every request fails"),
            OpenAIClient::try_new(config).expect_err("try_new fails"),
        ] {
            assert!(
                matches!(&err, ModelError::InvalidHeader { name } if name == header),
                "{header}: {err:?}"
            );
            for shown in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }

    #[test]
    fn every_configured_header_value_is_checked_when_the_client_is_built() {
        let base = || OpenAIConfig::new().with_api_base("http://127.0.0.1:1/v1");
        check_invalid(
            base().with_api_key("sk-secret-1\n"),
            "Authorization",
            "secret-1",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_org_id("org-secret-2\r\nX: y"),
            "OpenAI-Organization",
            "secret-2",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_project_id("proj-secret-3\n"),
            "OpenAI-Project",
            "secret-3",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_project_id("proj-secret-4\u{7f}"),
            "OpenAI-Project",
            "secret-4",
        );
        // The configuration kept by a broken client holds no secret and
        // cannot panic.
        let client = OpenAIClient::new(base().with_api_key("sk-k").with_project_id("p\n"));
        assert!(!client.has_api_key());
        assert!(client.config().headers().get("openai-project").is_none());
        // A sound configuration is accepted, tabs and UTF-8 included.
        let ok = OpenAIClient::try_new(
            base()
                .with_api_key("sk-k")
                .with_org_id("org\tx")
                .with_project_id("projé"),
        )
        .expect("valid");
        assert!(ok.config_error().is_none());
    }

    #[test]
    fn extra_header_names_and_values_are_checked_per_request() {
        let client = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("sk-k")
                .with_api_base("http://127.0.0.1:1/v1"),
        );
        let check = |name: &str, value: &str, shown_name: &str| {
            let settings = ModelSettings::new().extra_headers(
                [(name.to_owned(), value.to_owned())]
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            );
            let err = client
                .build_request("/responses", &Bytes::new(), &settings, false)
                .expect_err("invalid header");
            assert!(
                matches!(&err, ModelError::InvalidHeader { name } if name == shown_name),
                "{err:?}"
            );
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        };
        check("api-key", "hunter2-gateway\n", "api-key");
        check("x-api-key", "hunter2\r", "x-api-key");
        check("bad name", "v", "bad name");
        check("x-a\nb", "v", "x-a\\nb");
        check(
            "Authorization: Bearer sk-hunter2hunter2",
            "v",
            "Authorization: <redacted>",
        );
        let settings = ModelSettings::new().extra_headers(
            [("api-key".to_owned(), "hunter2-ok".to_owned())]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        );
        let (_, request) = client
            .build_request("/responses", &Bytes::new(), &settings, false)
            .expect("valid header");
        assert_eq!(request.headers()["api-key"], "hunter2-ok");
    }

    fn redacted(text: &str) -> String {
        redact_text(text, &[])
    }

    #[test]
    fn credentials_in_server_text_are_redacted() {
        let cases = [
            (
                "Authorization: Bearer sk-abcdefgh12345678",
                "Authorization: <redacted>",
            ),
            (
                r#"{"headers":{"authorization":"Bearer tok.en/x=","x-api-key":"k3y-v4lue"}}"#,
                r#"{"headers":{"authorization":"<redacted>","x-api-key":"<redacted>"}}"#,
            ),
            ("api-key=abc123&other=1", "api-key=<redacted>&other=1"),
            (
                "x-goog-api-key: AIzaXYZ\r\nHost: a",
                "x-goog-api-key: <redacted>\r\nHost: a",
            ),
            ("'api_key': 'sk-proj-123456789'", "'api_key': '<redacted>'"),
            ("sent bearer   abc.def", "sent bearer   <redacted>"),
            ("Bearer Bearer abcdef", "Bearer Bearer <redacted>"),
            (
                "Incorrect API key provided: sk-proj-AbCdEfGh1234.",
                "Incorrect API key provided: sk-<redacted>.",
            ),
            (
                r#"{\"authorization\": \"Bearer xyz\"}"#,
                r#"{\"authorization\": \"<redacted>\"}"#,
            ),
            // Nothing to redact.
            (
                "max_tokens: 5, task-abcdefghijkl, sk-short",
                "max_tokens: 5, task-abcdefghijkl, sk-short",
            ),
            ("authorization", "authorization"),
            ("Bearer", "Bearer"),
            ("é api-key: ü", "é api-key: <redacted>"),
        ];
        for (input, expected) in cases {
            assert_eq!(redacted(input), expected, "{input}");
        }
        let secrets = secret_values(&{
            let mut h = HeaderMap::new();
            h.insert(
                AUTHORIZATION,
                HeaderValue::from_static("Bearer my-Secret-Key"),
            );
            h.insert(
                "ocp-apim-subscription-key",
                HeaderValue::from_static("apim-value-1"),
            );
            h.insert("x-trace", HeaderValue::from_static("not-a-secret"));
            h
        });
        assert_eq!(
            redact_text("echo my-Secret-Key apim-value-1 not-a-secret", &secrets),
            "echo <redacted> <redacted> not-a-secret"
        );
    }

    #[test]
    fn official_api_without_key_is_a_clear_error_local_server_is_not() {
        let official = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("")
                .with_api_base(OPENAI_BASE_URL),
        );
        let err = official
            .build_request("/responses", &Bytes::new(), &ModelSettings::new(), false)
            .expect_err("no key");
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");

        let local = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("")
                .with_api_base("http://127.0.0.1:1/v1"),
        );
        let request = local
            .build_request(
                "/chat/completions",
                &Bytes::new(),
                &ModelSettings::new(),
                false,
            )
            .expect("local servers need no key")
            .1;
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:1/v1/chat/completions"
        );
    }
}
