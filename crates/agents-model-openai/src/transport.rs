//! Sending a model call: the OpenAI side of the shared transport
//! (`agents-http`), which does retries, timeouts, limits and errors.

use agents_core::{BoxStream, ModelError, ModelSettings, ModelStreamEvent};
use agents_http::Decoder;
use bytes::Bytes;

use crate::client::OpenAIClient;

pub(crate) use agents_http::encode_body;

/// A non-streaming call: POSTs `body` to `path` (with retries, when the
/// settings ask for them) and returns the response body and request id.
pub(crate) async fn call_json(
    client: &OpenAIClient,
    path: &str,
    body: &Bytes,
    settings: &ModelSettings,
) -> Result<(Bytes, Option<String>), ModelError> {
    client
        .transport()
        .call_json(settings, || {
            client
                .build_request(path, body, settings, false)
                .map(|(_, request)| request)
        })
        .await
}

/// A streaming call. Retries (when enabled) only before the first event has
/// been yielded; a per-attempt timeout bounds the wait for the response
/// headers and then every wait for more body bytes (an idle timeout).
pub(crate) fn stream_events<'a, D: Decoder + 'a>(
    client: &'a OpenAIClient,
    path: &'static str,
    body: Result<Bytes, ModelError>,
    settings: &'a ModelSettings,
    decoder: fn(Option<String>) -> D,
) -> BoxStream<'a, Result<ModelStreamEvent, ModelError>> {
    client.transport().stream(
        settings,
        move || {
            let body = body.as_ref().map_err(Clone::clone)?;
            client
                .build_request(path, body, settings, true)
                .map(|(_, request)| request)
        },
        decoder,
    )
}
