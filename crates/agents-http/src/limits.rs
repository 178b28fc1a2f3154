//! [`ResponseLimits`]: how much of a server's answer is buffered.

/// Size limits on what an [`HttpClient`](crate::HttpClient) buffers from a server, so that a
/// broken or hostile server cannot make it buffer without bound.
///
/// Going over a limit ends the call with
/// [`ModelError::ResponseTooLarge`](agents_core::ModelError::ResponseTooLarge),
/// which names the limit; nothing more is read from the connection. The
/// defaults are generous: a single streamed event (`response.completed`)
/// carries the whole response, which may legitimately be several MB.
///
/// Providers re-export this type (`agents_model_openai::ResponseLimits` is
/// this type).
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
/// use agents_http::{HttpClient, ResponseLimits};
///
/// let limits = ResponseLimits::default().with_max_body_bytes(64 << 20);
/// assert_eq!(limits.max_body_bytes, 64 << 20);
/// assert_eq!(limits.max_sse_line_bytes, ResponseLimits::DEFAULT_MAX_BYTES);
/// let client = HttpClient::new().with_limits(limits);
/// assert_eq!(client.limits(), limits);
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
