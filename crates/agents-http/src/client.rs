//! [`HttpClient`]: sending one model call over HTTP, with retries,
//! per-attempt timeouts, size limits, typed errors and redaction; and the
//! streaming driver that feeds SSE events to a provider's [`Decoder`].

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use agents_core::{BoxStream, ModelError, ModelSettings, ModelStreamEvent};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{http_error, map_reqwest_error, request_id};
use crate::redact::{printable_name, redact_error, secret_values};
use crate::retry::RetryState;
use crate::sse::{SseEvent, SseParser};
use crate::ResponseLimits;

/// The HTTP side of a model provider: a `reqwest::Client`, the
/// [`ResponseLimits`], and how the API names its request id and shapes its
/// error bodies.
///
/// A provider builds each attempt's `reqwest::Request` (URL, auth headers,
/// body) and hands a closure that does so to [`call_json`](Self::call_json)
/// (non-streamed) or [`stream`](Self::stream) (SSE). This client does the
/// rest, the same way for every provider:
///
/// - **retries** per `ModelSettings::retry` (off when `None`): 408, 409,
///   429, 5xx (Anthropic's 529 included), connection failures and timeouts,
///   with exponential backoff and jitter; a `retry-after-ms` /
///   `Retry-After` hint of at most 60 s replaces the backoff. A stream is
///   never retried once it has yielded an event;
/// - **per-attempt timeouts** (`ModelSettings::timeout`): the whole exchange
///   of a non-streamed call; for a stream, the wait for the headers and then
///   every wait for more bytes;
/// - **size limits** on bodies, SSE lines and SSE events
///   ([`ResponseLimits`]), error bodies cut at 64 KiB;
/// - **typed errors**: [`ModelError::Http`] `{ status, message, request_id,
///   body, retry_after }`, `Connection`, `Timeout`, `ResponseTooLarge`;
/// - **redaction** of the request's secret header values and of anything
///   that looks like a credential, in every error built from server text.
///
/// Cheap to clone (the connection pool is shared).
///
/// ```no_run
/// use agents_core::ModelSettings;
/// use agents_http::HttpClient;
///
/// # async fn demo() -> Result<(), agents_core::ModelError> {
/// let client = HttpClient::new().with_request_id_headers(&["request-id"]);
/// let settings = ModelSettings::new();
/// let body = agents_http::encode_body(&serde_json::json!({"model": "m"}), None)?;
/// let (bytes, request_id) = client
///     .call_json(&settings, || {
///         Ok(client
///             .reqwest()?
///             .post("http://127.0.0.1:8080/v1/messages")
///             .header("x-api-key", "secret")
///             .body(body.clone())
///             .build()
///             .map_err(agents_http::map_reqwest_error)?)
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    /// The HTTP client, or why it could not be built (reported per request).
    http: Result<reqwest::Client, String>,
    limits: ResponseLimits,
    request_id_headers: &'static [&'static str],
    error_message: fn(&str) -> Option<String>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("limits", &self.limits)
            .field("request_id_headers", &self.request_id_headers)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the process's shared default `reqwest::Client` (HTTPS
    /// through the TLS backend the crate features chose; built by the first
    /// call, cloned after), the default [`ResponseLimits`],
    /// request ids from `x-request-id`, and [`error_message`](crate::error_message)
    /// for error bodies. Never fails: a `reqwest::Client` that cannot be
    /// built is reported by every request.
    pub fn new() -> Self {
        HttpClient {
            http: default_reqwest_client(),
            limits: ResponseLimits::default(),
            request_id_headers: &["x-request-id"],
            error_message: crate::error::error_message,
        }
    }

    /// Sends with `http` (timeouts, proxies, TLS roots and pool settings are
    /// then the caller's choice).
    #[must_use]
    pub fn with_reqwest(mut self, http: reqwest::Client) -> Self {
        self.http = Ok(http);
        self
    }

    /// Uses these size limits on what is read from the server.
    #[must_use]
    pub fn with_limits(mut self, limits: ResponseLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Reads the request id from the first of these response headers that is
    /// present (default `["x-request-id"]`; Anthropic uses `request-id`).
    #[must_use]
    pub fn with_request_id_headers(mut self, names: &'static [&'static str]) -> Self {
        self.request_id_headers = names;
        self
    }

    /// Picks the message of an error body with `parse` (default
    /// [`error_message`](crate::error_message)); when it gives `None`, the
    /// first 500 characters of the body are the message.
    #[must_use]
    pub fn with_error_message(mut self, parse: fn(&str) -> Option<String>) -> Self {
        self.error_message = parse;
        self
    }

    /// The size limits on what is read from the server.
    pub fn limits(&self) -> ResponseLimits {
        self.limits
    }

    /// The `reqwest::Client` requests go through, to build requests with;
    /// [`ModelError::Other`] when it could not be built.
    pub fn reqwest(&self) -> Result<&reqwest::Client, ModelError> {
        self.http.as_ref().map_err(|e| ModelError::Other(e.clone()))
    }

    /// The request id of a response, from the configured headers.
    pub fn request_id(&self, headers: &HeaderMap) -> Option<String> {
        request_id(headers, self.request_id_headers)
    }

    /// Sends one attempt and returns the response once its status and
    /// headers have arrived, with the secret header values the request
    /// carried ([`secret_values`](crate::secret_values), to redact from what
    /// the server says later). A non-2xx status is [`ModelError::Http`] with
    /// a redacted body; a transport failure is [`ModelError::Connection`].
    /// No timeout or retry here: see [`call_json`](Self::call_json) and
    /// [`stream`](Self::stream).
    pub async fn send(
        &self,
        request: reqwest::Request,
    ) -> Result<(reqwest::Response, Vec<String>), ModelError> {
        let http = self.reqwest()?;
        let secrets = secret_values(request.headers());
        let response = http.execute(request).await.map_err(map_reqwest_error)?;
        if response.status().is_success() {
            return Ok((response, secrets));
        }
        Err(http_error(
            response,
            &secrets,
            self.request_id_headers,
            self.error_message,
        )
        .await)
    }

    /// A non-streamed call: sends the request `build` makes (called once per
    /// attempt), with retries and the per-attempt timeout of `settings`, and
    /// returns the whole body (at most `max_body_bytes`) and the request id.
    pub async fn call_json<B>(
        &self,
        settings: &ModelSettings,
        build: B,
    ) -> Result<(Bytes, Option<String>), ModelError>
    where
        B: Fn() -> Result<reqwest::Request, ModelError>,
    {
        let mut retry = RetryState::new(settings.retry.as_ref());
        loop {
            let attempt = with_timeout(settings.timeout, async {
                let (response, _) = self.send(build()?).await?;
                let request_id = self.request_id(response.headers());
                let bytes = read_body(response, self.limits.max_body_bytes).await?;
                Ok((bytes, request_id))
            })
            .await;
            match attempt {
                Ok(ok) => return Ok(ok),
                Err(error) => match retry.next_delay(&error) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(error),
                },
            }
        }
    }
}

/// Installs *ring* as the process's default rustls crypto provider, unless
/// one is installed already; returns whether a provider is installed now.
///
/// With the `rustls` feature, reqwest is built without its own provider
/// (aws-lc-rs, whose C build is slow), and **every** `reqwest::Client` built
/// in the process needs a process default: [`HttpClient::new`] (so every
/// provider) calls this first. Call it yourself before building a
/// `reqwest::Client` of your own in a process that has not built a provider
/// yet (reqwest panics otherwise). Without the `rustls` feature it does
/// nothing and returns `false`.
///
/// ```
/// // Safe to call any number of times, from any thread.
/// agents_http::install_default_tls_provider();
/// let http = agents_http::reqwest::Client::builder().build()?;
/// # Ok::<(), agents_http::reqwest::Error>(())
/// ```
pub fn install_default_tls_provider() -> bool {
    #[cfg(feature = "rustls")]
    {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Another thread may install one at the same time: either wins.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        true
    }
    #[cfg(not(feature = "rustls"))]
    {
        false
    }
}

/// The process's default `reqwest::Client`, with the TLS backend the
/// features chose, built once and shared: building one loads the platform's
/// root certificates (tens of milliseconds with OpenSSL), and its clones
/// share one connection pool.
fn default_reqwest_client() -> Result<reqwest::Client, String> {
    static SHARED: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            install_default_tls_provider();
            reqwest::Client::builder()
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        })
        .clone()
}

/// Inserts `ModelSettings::extra_headers` into `headers` (replacing
/// same-named ones). A name or value HTTP does not allow is
/// [`ModelError::InvalidHeader`] naming the header, never showing the value.
pub fn insert_extra_headers(
    headers: &mut HeaderMap,
    settings: &ModelSettings,
) -> Result<(), ModelError> {
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
    Ok(())
}

/// Serializes a request body and merges `extra_body` into it last (its
/// fields win). Without `extra_body` the borrowed request is written
/// straight to bytes, with no intermediate `Value`.
pub fn encode_body<T: Serialize>(
    body: &T,
    extra: Option<&Map<String, Value>>,
) -> Result<Bytes, ModelError> {
    let encode_error =
        |e: serde_json::Error| ModelError::Other(format!("cannot encode the request body: {e}"));
    match extra.filter(|m| !m.is_empty()) {
        None => serde_json::to_vec(body)
            .map(Bytes::from)
            .map_err(encode_error),
        Some(extra) => {
            // Through bytes, not `to_value`: `to_value` widens `f32` settings
            // to `f64` digits (0.9 would become 0.8999999761581421).
            let bytes = serde_json::to_vec(body).map_err(encode_error)?;
            let mut value: Value = serde_json::from_slice(&bytes).map_err(encode_error)?;
            if let Value::Object(map) = &mut value {
                for (k, v) in extra {
                    map.insert(k.clone(), v.clone());
                }
            }
            serde_json::to_vec(&value)
                .map(Bytes::from)
                .map_err(encode_error)
        }
    }
}

/// Runs `f` under the per-attempt timeout, if one is set.
pub async fn with_timeout<T>(
    timeout: Option<Duration>,
    f: impl Future<Output = Result<T, ModelError>>,
) -> Result<T, ModelError> {
    match timeout {
        None => f.await,
        Some(t) => tokio::time::timeout(t, f)
            .await
            .unwrap_or(Err(ModelError::Timeout(t))),
    }
}

/// Reads a whole response body, failing with
/// [`ModelError::ResponseTooLarge`] (`max_body_bytes`) as soon as it is
/// longer than `max` bytes (at once when its `Content-Length` says so):
/// at most `max` bytes plus one chunk are ever buffered.
pub async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Bytes, ModelError> {
    let too_large = || ModelError::ResponseTooLarge {
        limit: "max_body_bytes".to_owned(),
        max_bytes: max,
    };
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(too_large());
    }
    // The chunks are kept as they come and joined once at the end: no
    // buffer is ever copied while it grows.
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest_error)? {
        len += chunk.len();
        if len > max {
            return Err(too_large());
        }
        chunks.push(chunk);
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => {
            let mut body = Vec::with_capacity(len);
            for chunk in chunks {
                body.extend_from_slice(&chunk);
            }
            Bytes::from(body)
        }
    })
}

/// Turns the SSE events of one API into model stream events: what a
/// provider implements for [`HttpClient::stream`]. A fresh decoder is made
/// for every attempt.
pub trait Decoder: Send {
    /// Handles one event, pushing model events to `out`. Returns `true` when
    /// the response is complete (a `Completed` event was pushed).
    fn on_event(
        &mut self,
        event: SseEvent,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<bool, ModelError>;

    /// The server answered a stream request with a plain JSON body (some
    /// OpenAI-compatible servers ignore `"stream": true`): parse it as a
    /// complete response and push its items and `Completed`.
    fn on_json_body(
        &mut self,
        body: &[u8],
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError>;

    /// The body ended before `on_event` returned `true`. `partial` tells
    /// whether the body stopped in the middle of an event.
    fn on_eof(
        &mut self,
        partial: bool,
        out: &mut VecDeque<ModelStreamEvent>,
    ) -> Result<(), ModelError>;
}

impl HttpClient {
    /// A streamed call: sends the request `build` makes (once per attempt),
    /// parses the `text/event-stream` body within the SSE limits, and feeds
    /// each event to a decoder made by `decoder` (with the attempt's request
    /// id). Retries (when `settings.retry` is set) only before the first
    /// event has been yielded; the per-attempt timeout bounds the wait for
    /// the response headers and then every wait for more body bytes (an idle
    /// timeout). A response with a JSON content type goes to
    /// [`Decoder::on_json_body`]. Errors a decoder builds from what the
    /// server sent are redacted.
    pub fn stream<'a, D, B, F>(
        &'a self,
        settings: &'a ModelSettings,
        build: B,
        decoder: F,
    ) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>>
    where
        D: Decoder + 'a,
        B: Fn() -> Result<reqwest::Request, ModelError> + Send + 'a,
        F: Fn(Option<String>) -> D + Send + 'a,
    {
        let driver = Driver::<D, B, F> {
            client: self,
            build,
            make_decoder: decoder,
            settings,
            retry: RetryState::new(settings.retry.as_ref()),
            phase: Phase::Connect,
            queue: VecDeque::new(),
            error: None,
            yielded: false,
            secrets: Vec::new(),
        };
        Box::pin(futures::stream::unfold(driver, |mut driver| async move {
            let next = driver.next().await?;
            Some((next, driver))
        }))
    }
}

struct Driver<'a, D, B, F> {
    client: &'a HttpClient,
    build: B,
    make_decoder: F,
    settings: &'a ModelSettings,
    retry: RetryState<'a>,
    phase: Phase<D>,
    queue: VecDeque<ModelStreamEvent>,
    /// An error to yield once the queued events are out.
    error: Option<ModelError>,
    /// Whether any event reached the consumer (no retry after that).
    yielded: bool,
    /// The secret header values of the current attempt, redacted from the
    /// errors the decoder builds out of what the server sent.
    secrets: Vec<String>,
}

enum Phase<D> {
    Connect,
    Read {
        response: reqwest::Response,
        parser: SseParser,
        decoder: D,
    },
    Finished,
}

impl<D, B, F> Driver<'_, D, B, F>
where
    D: Decoder,
    B: Fn() -> Result<reqwest::Request, ModelError>,
    F: Fn(Option<String>) -> D,
{
    async fn next(&mut self) -> Option<Result<ModelStreamEvent, ModelError>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.yielded = true;
                return Some(Ok(event));
            }
            if let Some(error) = self.error.take() {
                self.phase = Phase::Finished;
                return Some(Err(error));
            }
            match std::mem::replace(&mut self.phase, Phase::Finished) {
                Phase::Finished => return None,
                Phase::Connect => {
                    let request = (self.build)();
                    let sent = match request {
                        Ok(request) => {
                            with_timeout(self.settings.timeout, self.client.send(request)).await
                        }
                        Err(error) => Err(error),
                    };
                    match sent {
                        Ok((response, secrets)) if is_json(&response) => {
                            self.secrets = secrets;
                            let mut decoder =
                                (self.make_decoder)(self.client.request_id(response.headers()));
                            let max = self.client.limits.max_body_bytes;
                            let body =
                                with_timeout(self.settings.timeout, read_body(response, max)).await;
                            match body {
                                Ok(body) => {
                                    tracing::debug!("a stream request was answered with JSON");
                                    if let Err(error) = decoder.on_json_body(&body, &mut self.queue)
                                    {
                                        self.error = Some(redact_error(error, &self.secrets));
                                    }
                                }
                                Err(error) => self.retry_or_fail(error).await,
                            }
                        }
                        Ok((response, secrets)) => {
                            self.secrets = secrets;
                            let decoder =
                                (self.make_decoder)(self.client.request_id(response.headers()));
                            self.phase = Phase::Read {
                                response,
                                parser: SseParser::new(&self.client.limits),
                                decoder,
                            };
                        }
                        Err(error) => self.retry_or_fail(error).await,
                    }
                }
                Phase::Read {
                    mut response,
                    mut parser,
                    mut decoder,
                } => {
                    let yielded = self.yielded;
                    let chunk = with_timeout(self.settings.timeout, async {
                        response.chunk().await.map_err(|e| {
                            let error = map_reqwest_error(e);
                            match error {
                                ModelError::Connection(m) if yielded => {
                                    ModelError::Stream(format!(
                                        "the connection broke in the middle of the stream: {m}"
                                    ))
                                }
                                other => other,
                            }
                        })
                    })
                    .await;
                    match chunk {
                        Ok(Some(bytes)) => {
                            parser.feed(&bytes);
                            let mut finished = false;
                            loop {
                                let event = match parser.next_event() {
                                    Ok(Some(event)) => event,
                                    Ok(None) => break,
                                    Err(error) => {
                                        self.error = Some(error);
                                        finished = true;
                                        break;
                                    }
                                };
                                match decoder.on_event(event, &mut self.queue) {
                                    Ok(false) => {}
                                    Ok(true) => {
                                        finished = true;
                                        break;
                                    }
                                    Err(error) => {
                                        self.error = Some(redact_error(error, &self.secrets));
                                        finished = true;
                                        break;
                                    }
                                }
                            }
                            if !finished {
                                self.phase = Phase::Read {
                                    response,
                                    parser,
                                    decoder,
                                };
                            }
                        }
                        Ok(None) => {
                            if let Err(error) =
                                decoder.on_eof(parser.has_partial_event(), &mut self.queue)
                            {
                                self.error = Some(error);
                            }
                        }
                        Err(error) => {
                            if self.yielded || !self.queue.is_empty() {
                                self.error = Some(error);
                            } else {
                                self.retry_or_fail(error).await;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sleeps and goes back to connecting when the policy allows another
    /// attempt; records the error otherwise.
    async fn retry_or_fail(&mut self, error: ModelError) {
        match self.retry.next_delay(&error) {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                self.phase = Phase::Connect;
            }
            None => self.error = Some(error),
        }
    }
}

/// Whether a response says its body is JSON (not an event stream).
fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_body_is_merged_last() {
        #[derive(Serialize)]
        struct Body {
            model: &'static str,
            temperature: f32,
            top_p: f32,
        }
        let body = Body {
            model: "m",
            temperature: 0.5,
            top_p: 0.9,
        };
        let plain = encode_body(&body, None).expect("encodes");
        assert_eq!(
            &plain[..],
            br#"{"model":"m","temperature":0.5,"top_p":0.9}"#
        );
        let mut extra = Map::new();
        extra.insert("temperature".into(), json!(1));
        extra.insert("seed".into(), json!(7));
        let merged = encode_body(&body, Some(&extra)).expect("encodes");
        assert_eq!(
            &merged[..],
            br#"{"model":"m","temperature":1,"top_p":0.9,"seed":7}"#,
            "f32 digits stay short, extra fields win in place or come last"
        );
    }
}
