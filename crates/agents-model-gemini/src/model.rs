//! [`GeminiModel`]: one Gemini model behind the [`Model`] trait.

use std::fmt;
use std::sync::Arc;

use agents_core::{
    BoxFuture, BoxStream, Model, ModelError, ModelRequest, ModelResponse, ModelStreamEvent,
};
use agents_http::reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use agents_http::{encode_body, insert_extra_headers, map_reqwest_error, HttpClient};
use bytes::Bytes;

use crate::convert::request_body;
use crate::decode::{parse_response, StreamDecoder};
use crate::thinking::GeminiThinking;

/// The connection settings every model of a provider shares.
#[derive(Clone)]
pub(crate) struct Connection {
    pub(crate) http: HttpClient,
    pub(crate) base_url: String,
    pub(crate) api_key: Option<String>,
    /// A configuration problem every request reports (a key HTTP cannot send).
    pub(crate) config_error: Option<ModelError>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A Gemini model (`POST {base}/models/{model}:generateContent`, and
/// `:streamGenerateContent?alt=sse` for streams).
///
/// ```
/// use agents_core::{Item, ModelRequest, ModelSettings};
/// use agents_model_gemini::GeminiProvider;
///
/// let provider = GeminiProvider::builder().api_key("test-key").ignore_env().build();
/// let model = provider.model("gemini-2.5-flash");
/// let input = [Item::user("Hello")];
/// let settings = ModelSettings::new().temperature(0.2);
/// let request = ModelRequest::new(&input, &settings).instructions(Some("Be brief."));
/// assert_eq!(
///     model.request_body(&request)?,
///     serde_json::json!({
///         "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
///         "systemInstruction": {"parts": [{"text": "Be brief."}]},
///         "generationConfig": {"temperature": 0.2}
///     })
/// );
/// # Ok::<(), agents_core::ModelError>(())
/// ```
#[derive(Clone)]
pub struct GeminiModel {
    name: String,
    connection: Arc<Connection>,
    thinking: Option<GeminiThinking>,
}

impl fmt::Debug for GeminiModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiModel")
            .field("name", &self.name)
            .field("base_url", &self.connection.base_url)
            .field("thinking", &self.thinking)
            .finish_non_exhaustive()
    }
}

impl GeminiModel {
    pub(crate) fn new(
        name: impl Into<String>,
        connection: Arc<Connection>,
        thinking: Option<GeminiThinking>,
    ) -> Self {
        GeminiModel {
            name: name.into(),
            connection,
            thinking,
        }
    }

    /// The model name (`gemini-2.5-flash`).
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// Sets the thinking configuration, which wins over
    /// `ModelSettings::reasoning`.
    #[must_use]
    pub fn with_thinking(mut self, thinking: GeminiThinking) -> Self {
        self.thinking = Some(thinking);
        self
    }

    /// The JSON body this model sends for `request` (without `extra_body`,
    /// which is merged in last when sending).
    pub fn request_body(
        &self,
        request: &ModelRequest<'_>,
    ) -> Result<serde_json::Value, ModelError> {
        request_body(request, &self.name, self.thinking.as_ref())
    }

    fn url(&self, stream: bool) -> String {
        let base = self.connection.base_url.trim_end_matches('/');
        let model = self.name.strip_prefix("models/").unwrap_or(&self.name);
        if stream {
            format!("{base}/models/{model}:streamGenerateContent?alt=sse")
        } else {
            format!("{base}/models/{model}:generateContent")
        }
    }

    fn encode(&self, request: &ModelRequest<'_>) -> Result<Bytes, ModelError> {
        if let Some(error) = &self.connection.config_error {
            return Err(error.clone());
        }
        let body = self.request_body(request)?;
        encode_body(&body, request.settings.extra_body.as_ref())
    }

    /// One attempt's request.
    fn build(
        &self,
        url: &str,
        body: &Bytes,
        settings: &agents_core::ModelSettings,
    ) -> Result<agents_http::reqwest::Request, ModelError> {
        let http = self.connection.http.reqwest()?;
        let mut builder = http.post(url).body(body.clone());
        if let Some(query) = &settings.extra_query {
            builder = builder.query(&query.iter().collect::<Vec<_>>());
        }
        let mut request = builder.build().map_err(map_reqwest_error)?;
        let headers: &mut HeaderMap = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &self.connection.api_key {
            let mut value = HeaderValue::from_str(key).map_err(|_| ModelError::InvalidHeader {
                name: "x-goog-api-key".into(),
            })?;
            value.set_sensitive(true);
            headers.insert("x-goog-api-key", value);
        }
        insert_extra_headers(headers, settings)?;
        Ok(request)
    }
}

impl Model for GeminiModel {
    fn get_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxFuture<'a, Result<ModelResponse, ModelError>> {
        Box::pin(async move {
            let body = self.encode(&request)?;
            let url = self.url(false);
            let settings = request.settings;
            let (bytes, request_id) = self
                .connection
                .http
                .call_json(settings, || self.build(&url, &body, settings))
                .await?;
            parse_response(&bytes, &self.name, request_id)
        })
    }

    fn stream_response<'a>(
        &'a self,
        request: ModelRequest<'a>,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
        let body = match self.encode(&request) {
            Ok(body) => body,
            Err(error) => return Box::pin(futures::stream::once(async move { Err(error) })),
        };
        let url = self.url(true);
        let settings = request.settings;
        let name = self.name.clone();
        self.connection.http.stream(
            settings,
            move || self.build(&url, &body, settings),
            move |request_id| StreamDecoder::new(&name, request_id),
        )
    }
}
