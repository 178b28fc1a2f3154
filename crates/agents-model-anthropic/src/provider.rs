//! [`AnthropicProvider`], its builder, and [`AnthropicModel`].

use std::fmt;
use std::sync::Arc;

use agents_core::{
    BoxFuture, BoxStream, Model, ModelError, ModelProvider, ModelRequest, ModelResponse,
    ModelStreamEvent,
};
use agents_http::{encode_body, insert_extra_headers, map_reqwest_error, HttpClient};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret, SecretString};

use crate::request::build_request;
use crate::response::{parse_message, StreamDecoder};
use crate::settings::AnthropicSettings;

/// The official API base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent by default.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The model used when an agent names none.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

/// Makes [`AnthropicModel`]s from model names, sharing one connection pool.
///
/// ```
/// use agents_core::ModelProvider;
/// use agents_model_anthropic::AnthropicProvider;
///
/// let provider = AnthropicProvider::builder()
///     .api_key("sk-ant-test")
///     .base_url("http://127.0.0.1:8080")
///     .beta("prompt-caching-2024-07-31")
///     .build();
/// let model = provider.get_model(Some("claude-sonnet-4-5"))?;
/// assert!(format!("{model:?}").contains("claude-sonnet-4-5"));
/// assert!(!format!("{provider:?}").contains("sk-ant-test"));
/// # Ok::<(), agents_core::ModelError>(())
/// ```
#[derive(Clone)]
pub struct AnthropicProvider {
    client: AnthropicClient,
    default_model: String,
    settings: AnthropicSettings,
}

/// The connection, key and headers shared by the models of a provider.
#[derive(Clone)]
pub(crate) struct AnthropicClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: HttpClient,
    api_key: Option<SecretString>,
    base_url: String,
    version: String,
    betas: Vec<String>,
}

impl AnthropicProvider {
    /// A builder with nothing set (the environment is read by
    /// [`build`](AnthropicProviderBuilder::build) unless
    /// [`ignore_env`](AnthropicProviderBuilder::ignore_env) is called).
    pub fn builder() -> AnthropicProviderBuilder {
        AnthropicProviderBuilder::default()
    }

    /// A provider configured from `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`
    /// and `ANTHROPIC_MODEL`. Never fails: without a key, requests to the
    /// official API fail with a clear error.
    pub fn from_env() -> Self {
        Self::builder().build()
    }

    /// The model for `name`, with the provider's settings.
    pub fn model(&self, name: impl Into<String>) -> AnthropicModel {
        AnthropicModel {
            model: name.into(),
            client: self.client.clone(),
            settings: self.settings.clone(),
        }
    }

    /// The API base URL.
    pub fn base_url(&self) -> &str {
        &self.client.inner.base_url
    }
}

impl ModelProvider for AnthropicProvider {
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError> {
        let name = name.unwrap_or(&self.default_model);
        Ok(Arc::new(self.model(name)))
    }
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("base_url", &self.client.inner.base_url)
            .field("default_model", &self.default_model)
            .field("api_key", &self.client.key_state())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AnthropicProvider`]. Arguments win over the environment.
#[derive(Default)]
pub struct AnthropicProviderBuilder {
    api_key: Option<SecretString>,
    base_url: Option<String>,
    default_model: Option<String>,
    version: Option<String>,
    betas: Vec<String>,
    http: Option<reqwest::Client>,
    limits: Option<agents_http::ResponseLimits>,
    settings: AnthropicSettings,
    ignore_env: bool,
}

impl fmt::Debug for AnthropicProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProviderBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl AnthropicProviderBuilder {
    /// The API key, sent as `x-api-key` (else `ANTHROPIC_API_KEY`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// The base URL, without `/v1` (else `ANTHROPIC_BASE_URL`, else
    /// [`ANTHROPIC_BASE_URL`]). A trailing `/v1` is accepted too.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The model of agents that name none (else `ANTHROPIC_MODEL`, else
    /// [`DEFAULT_MODEL`]).
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// The `anthropic-version` header (default [`ANTHROPIC_VERSION`]).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Adds a beta to the `anthropic-beta` header (joined with commas).
    pub fn beta(mut self, beta: impl Into<String>) -> Self {
        self.betas.push(beta.into());
        self
    }

    /// Sends with this `reqwest::Client`.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Size limits on what is read from the server.
    pub fn response_limits(mut self, limits: agents_http::ResponseLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The Anthropic-specific settings of every model of the provider.
    pub fn settings(mut self, settings: AnthropicSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Reads nothing from the environment.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// The provider. Never fails; a key HTTP cannot carry is reported by
    /// every request as [`ModelError::InvalidHeader`].
    pub fn build(self) -> AnthropicProvider {
        let env = |name: &str| {
            if self.ignore_env {
                None
            } else {
                std::env::var(name).ok().filter(|v| !v.trim().is_empty())
            }
        };
        let api_key = self
            .api_key
            .clone()
            .or_else(|| env("ANTHROPIC_API_KEY").map(SecretString::from));
        let base_url = self
            .base_url
            .clone()
            .or_else(|| env("ANTHROPIC_BASE_URL"))
            .unwrap_or_else(|| ANTHROPIC_BASE_URL.to_owned());
        let base_url = base_url.trim_end_matches('/');
        let base_url = base_url.strip_suffix("/v1").unwrap_or(base_url).to_owned();
        let default_model = self
            .default_model
            .clone()
            .or_else(|| env("ANTHROPIC_MODEL"))
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let mut http = HttpClient::new().with_request_id_headers(&["request-id", "x-request-id"]);
        if let Some(client) = self.http {
            http = http.with_reqwest(client);
        }
        if let Some(limits) = self.limits {
            http = http.with_limits(limits);
        }
        AnthropicProvider {
            client: AnthropicClient {
                inner: Arc::new(ClientInner {
                    http,
                    api_key,
                    base_url,
                    version: self.version.unwrap_or_else(|| ANTHROPIC_VERSION.to_owned()),
                    betas: self.betas,
                }),
            },
            default_model,
            settings: self.settings,
        }
    }
}

impl AnthropicClient {
    fn key_state(&self) -> &'static str {
        match &self.inner.api_key {
            Some(_) => "<redacted>",
            None => "<unset>",
        }
    }

    fn is_official(&self) -> bool {
        let rest = self.inner.base_url.split("://").nth(1).unwrap_or_default();
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        host.eq_ignore_ascii_case("api.anthropic.com")
    }

    /// The request of one attempt.
    pub(crate) fn request(
        &self,
        body: &Bytes,
        settings: &agents_core::ModelSettings,
        stream: bool,
    ) -> Result<reqwest::Request, ModelError> {
        let inner = &self.inner;
        let mut headers = HeaderMap::new();
        match &inner.api_key {
            Some(key) => {
                let value = HeaderValue::from_str(key.expose_secret()).map_err(|_| {
                    ModelError::InvalidHeader {
                        name: "x-api-key".to_owned(),
                    }
                })?;
                headers.insert(HeaderName::from_static("x-api-key"), value);
            }
            None if self.is_official() => {
                return Err(ModelError::Other(
                    "no Anthropic API key is configured: set ANTHROPIC_API_KEY or pass one with \
                     AnthropicProvider::builder().api_key(..)"
                        .to_owned(),
                ))
            }
            None => {}
        }
        let version =
            HeaderValue::from_str(&inner.version).map_err(|_| ModelError::InvalidHeader {
                name: "anthropic-version".to_owned(),
            })?;
        headers.insert(HeaderName::from_static("anthropic-version"), version);
        if !inner.betas.is_empty() {
            let betas = HeaderValue::from_str(&inner.betas.join(",")).map_err(|_| {
                ModelError::InvalidHeader {
                    name: "anthropic-beta".to_owned(),
                }
            })?;
            headers.insert(HeaderName::from_static("anthropic-beta"), betas);
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
        insert_extra_headers(&mut headers, settings)?;
        let mut request = inner
            .http
            .reqwest()?
            .post(format!("{}/v1/messages", inner.base_url))
            .headers(headers);
        if let Some(extra) = &settings.extra_query {
            request = request.query(extra);
        }
        request
            .body(body.clone())
            .build()
            .map_err(map_reqwest_error)
    }
}

/// A model served through Anthropic's Messages API.
///
/// See the [crate documentation](crate) for how items, tools and settings
/// are mapped.
#[derive(Clone)]
pub struct AnthropicModel {
    model: String,
    client: AnthropicClient,
    settings: AnthropicSettings,
}

impl fmt::Debug for AnthropicModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicModel")
            .field("model", &self.model)
            .field("base_url", &self.client.inner.base_url)
            .finish_non_exhaustive()
    }
}

impl AnthropicModel {
    /// The model name sent as `model`.
    pub fn model_name(&self) -> &str {
        &self.model
    }

    /// The Anthropic-specific settings.
    pub fn settings(&self) -> &AnthropicSettings {
        &self.settings
    }

    /// The same model with other Anthropic-specific settings.
    #[must_use]
    pub fn with_settings(mut self, settings: AnthropicSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The JSON body this model sends for `request` (`stream` selects the
    /// streaming variant), with `extra_body` merged in.
    pub fn request_body(
        &self,
        request: &ModelRequest<'_>,
        stream: bool,
    ) -> Result<serde_json::Value, ModelError> {
        let bytes = self.encode(request, stream)?;
        serde_json::from_slice(&bytes).map_err(|e| ModelError::Other(e.to_string()))
    }

    fn encode(&self, request: &ModelRequest<'_>, stream: bool) -> Result<Bytes, ModelError> {
        let body = build_request(&self.model, &self.settings, request, stream)?;
        encode_body(&body, request.settings.extra_body.as_ref())
    }

    fn forced_tool(&self, request: &ModelRequest<'_>) -> Option<String> {
        crate::request::forced_output_tool(&self.settings, request)
    }
}

impl Model for AnthropicModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            tracing::debug!(model = %self.model, items = request.input.len(), "anthropic messages request");
            let body = self.encode(&request, false)?;
            let settings = request.settings;
            let (bytes, request_id) = self
                .client
                .inner
                .http
                .call_json(settings, || self.client.request(&body, settings, false))
                .await?;
            parse_message(&bytes, request_id, self.forced_tool(&request).as_deref())
        })
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        tracing::debug!(model = %self.model, items = request.input.len(), "anthropic messages stream request");
        let body = self.encode(&request, true);
        let settings = request.settings;
        let forced = self.forced_tool(&request);
        let client = &self.client;
        client.inner.http.stream(
            settings,
            move || {
                let body = body.as_ref().map_err(Clone::clone)?;
                client.request(body, settings, true)
            },
            move |request_id| StreamDecoder::new(request_id, forced.clone()),
        )
    }
}
