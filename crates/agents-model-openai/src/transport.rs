//! Sending a model call: request bodies, per-attempt timeouts, the retry
//! loop, and the streaming driver shared by both APIs.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use agents_core::{BoxStream, ModelError, ModelSettings, ModelStreamEvent};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{map_reqwest_error, redact_error, request_id, OpenAIClient};
use crate::retry::RetryState;
use crate::sse::{SseEvent, SseParser};

/// Serializes a request body and merges `extra_body` into it last (its
/// fields win). Without `extra_body` the borrowed request is written
/// straight to bytes, with no intermediate `Value`.
pub(crate) fn encode_body<T: Serialize>(
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
pub(crate) async fn with_timeout<T>(
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

/// A non-streaming call: POSTs `body` to `path` (with retries, when the
/// settings ask for them) and returns the response body and request id.
pub(crate) async fn call_json(
    client: &OpenAIClient,
    path: &str,
    body: &Bytes,
    settings: &ModelSettings,
) -> Result<(Bytes, Option<String>), ModelError> {
    let mut retry = RetryState::new(settings.retry.as_ref());
    loop {
        let attempt = with_timeout(settings.timeout, async {
            let (response, _) = client.send(path, body, settings, false).await?;
            let request_id = request_id(response.headers());
            let bytes = read_body(response, client.response_limits().max_body_bytes).await?;
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

/// Reads a whole response body, failing with
/// [`ModelError::ResponseTooLarge`] (`max_body_bytes`) as soon as it is
/// longer than `max` bytes (at once when its `Content-Length` says so):
/// at most `max` bytes plus one chunk are ever buffered.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Bytes, ModelError> {
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

/// Turns the SSE events of one API into model stream events.
pub(crate) trait Decoder: Send + Sized {
    /// A decoder for one attempt, knowing the attempt's request id.
    fn new(request_id: Option<String>) -> Self;

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

/// A streaming call. Retries (when enabled) only before the first event has
/// been yielded; a per-attempt timeout bounds the wait for the response
/// headers and then every wait for more body bytes (an idle timeout).
pub(crate) fn stream_events<'a, D: Decoder + 'a>(
    client: &'a OpenAIClient,
    path: &'static str,
    body: Result<Bytes, ModelError>,
    settings: &'a ModelSettings,
) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
    let (body, error, phase) = match body {
        Ok(body) => (body, None, Phase::Connect),
        Err(e) => (Bytes::new(), Some(e), Phase::Finished),
    };
    let driver = Driver::<D> {
        client,
        path,
        body,
        settings,
        retry: RetryState::new(settings.retry.as_ref()),
        phase,
        queue: VecDeque::new(),
        error,
        yielded: false,
        secrets: Vec::new(),
    };
    Box::pin(futures::stream::unfold(driver, |mut driver| async move {
        let next = driver.next().await?;
        Some((next, driver))
    }))
}

struct Driver<'a, D> {
    client: &'a OpenAIClient,
    path: &'static str,
    body: Bytes,
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

impl<D: Decoder> Driver<'_, D> {
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
                    let sent = with_timeout(
                        self.settings.timeout,
                        self.client.send(self.path, &self.body, self.settings, true),
                    )
                    .await;
                    match sent {
                        Ok((response, secrets)) if is_json(&response) => {
                            self.secrets = secrets;
                            let mut decoder = D::new(request_id(response.headers()));
                            let max = self.client.response_limits().max_body_bytes;
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
                            let decoder = D::new(request_id(response.headers()));
                            self.phase = Phase::Read {
                                response,
                                parser: SseParser::new(&self.client.response_limits()),
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
