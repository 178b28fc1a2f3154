//! [`OpenAIClient`]: the configuration (async-openai's `Config`) and the
//! `reqwest::Client` shared by every model of a provider, plus the one place
//! where HTTP requests are sent and HTTP errors are turned into
//! [`ModelError`]s.

use std::fmt;
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
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An OpenAI API client: an async-openai [`Config`] (API key, base URL,
/// organization, project, extra headers and query parameters) and the
/// `reqwest::Client` that sends the requests.
///
/// Cheap to clone; clones share the connection pool. The API key never
/// appears in its `Debug` output.
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
    config_error: Option<String>,
}

impl OpenAIClient {
    /// A client with the given async-openai configuration and a default
    /// `reqwest::Client`.
    pub fn new(config: OpenAIConfig) -> Self {
        if HeaderValue::from_str(config.org_id()).is_err() {
            return Self::with_config_error(
                config.with_org_id(""),
                "the OpenAI organization id is not a valid HTTP header value".to_owned(),
            );
        }
        Self::with_config(config)
    }

    /// A client with any async-openai [`Config`] (for example
    /// `AzureConfig`, or your own) and a default `reqwest::Client`.
    ///
    /// The configuration's `headers()` are called for every request, so a
    /// configuration may rotate credentials.
    pub fn with_config(config: impl Config + 'static) -> Self {
        let config: Arc<dyn Config> = Arc::new(config);
        let config_error = check_config(&*config);
        OpenAIClient {
            inner: Arc::new(Inner {
                http: default_http_client(),
                config,
                config_error,
            }),
        }
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

    pub(crate) fn with_config_error(config: OpenAIConfig, error: String) -> Self {
        let client = Self::with_config(config.with_api_key("").with_org_id("").with_project_id(""));
        OpenAIClient {
            inner: Arc::new(Inner {
                http: client.inner.http.clone(),
                config: client.inner.config.clone(),
                config_error: Some(error),
            }),
        }
    }

    /// Sends one attempt of a POST to `path` and returns the response once
    /// its status and headers have arrived. Non-2xx statuses become
    /// [`ModelError::Http`]. The per-attempt timeout, if any, covers this
    /// call; the caller applies the rest of it to reading the body.
    pub(crate) async fn send(
        &self,
        path: &str,
        body: &Bytes,
        settings: &ModelSettings,
        stream: bool,
    ) -> Result<reqwest::Response, ModelError> {
        let request = self.build_request(path, body, settings, stream)?;
        let response = request.send().await.map_err(map_reqwest_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(http_error(response).await)
    }

    fn build_request(
        &self,
        path: &str,
        body: &Bytes,
        settings: &ModelSettings,
        stream: bool,
    ) -> Result<reqwest::RequestBuilder, ModelError> {
        if let Some(error) = &self.inner.config_error {
            return Err(ModelError::Other(error.clone()));
        }
        let http = self
            .inner
            .http
            .as_ref()
            .map_err(|e| ModelError::Other(e.clone()))?;
        let config = &*self.inner.config;
        let mut headers = config.headers();
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
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    ModelError::Other(format!(
                        "extra header name `{name}` is not a valid HTTP header name"
                    ))
                })?;
                let value = HeaderValue::from_str(value).map_err(|_| {
                    ModelError::Other(format!(
                        "the value of extra header `{name}` is not a valid HTTP header value"
                    ))
                })?;
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
        Ok(request.body(body.clone()))
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

/// Problems async-openai would otherwise turn into a panic (it `unwrap`s
/// header values built from the key): found once, reported per request.
fn check_config(config: &dyn Config) -> Option<String> {
    let key = config.api_key().expose_secret();
    if HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
        return Some(
            "the OpenAI API key contains characters that are not allowed in an HTTP header \
             (a trailing newline?)"
                .to_owned(),
        );
    }
    None
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
    // parse JSON, so every reqwest error is a transport failure.
    ModelError::Connection(message)
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
    let parse = |name: &str| -> Option<f64> {
        let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (v.is_finite() && v >= 0.0).then_some(v)
    };
    if let Some(ms) = parse("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    parse("retry-after").map(Duration::from_secs_f64)
}

/// Reads an error response into [`ModelError::Http`].
async fn http_error(response: reqwest::Response) -> ModelError {
    let status = response.status();
    let headers = response.headers();
    let request_id = request_id(headers);
    let retry_after = retry_after(headers);
    let body = match response.bytes().await {
        Ok(bytes) => {
            let end = bytes.len().min(MAX_ERROR_BODY);
            Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
        }
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
            err.to_string().contains("not allowed in an HTTP header"),
            "{err}"
        );
        assert!(!err.to_string().contains("sk-abc"));
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
            .build()
            .expect("request");
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:1/v1/chat/completions"
        );
    }
}
