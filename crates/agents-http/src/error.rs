//! Turning HTTP failures into typed [`ModelError`]s: transport errors,
//! error statuses (with request id, retry hint and a redacted body) and
//! retry hints.

use std::time::Duration;

use agents_core::ModelError;
use reqwest::header::HeaderMap;

use crate::redact::redact_text;

/// The longest error body kept in [`ModelError::Http`] (`body`), in bytes.
/// Reading stops there: the rest of an error body is never buffered.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The longest server `Retry-After` / `retry-after-ms` hint reported in
/// [`ModelError::Http`] (`retry_after`): one day. Longer, infinite or
/// unparsable-as-a-duration hints are clamped to it (never a panic).
pub const MAX_RETRY_AFTER_HINT: Duration = Duration::from_secs(24 * 60 * 60);

/// Maps a transport error (no HTTP status) to [`ModelError::Connection`].
/// The message names the URL but never a header, so the key cannot leak.
pub fn map_reqwest_error(error: reqwest::Error) -> ModelError {
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

/// The request id the server assigned: the value of the first header of
/// `names` present (OpenAI: `x-request-id`; Anthropic: `request-id`).
pub fn request_id(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// The server's retry hint: `retry-after-ms` (milliseconds), else
/// `retry-after` (seconds; an HTTP date is ignored).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok();
    value("retry-after-ms")
        .and_then(|v| parse_retry_after(v, 1e-3))
        .or_else(|| value("retry-after").and_then(|v| parse_retry_after(v, 1.0)))
}

/// Parses one retry hint, a decimal number of `unit` seconds, whatever the
/// server sent: `NaN`, negative numbers and text are ignored (`None`); huge
/// numbers and `inf` are clamped to [`MAX_RETRY_AFTER_HINT`]. Never panics.
pub fn parse_retry_after(value: &str, unit: f64) -> Option<Duration> {
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
pub(crate) async fn read_error_body(
    mut response: reqwest::Response,
) -> Result<Vec<u8>, reqwest::Error> {
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
/// message and the body. `message` picks the message out of the body
/// (see [`error_message`]); `request_id_headers` name the request id.
pub(crate) async fn http_error(
    response: reqwest::Response,
    secrets: &[String],
    request_id_headers: &[&str],
    message: fn(&str) -> Option<String>,
) -> ModelError {
    let error_message = message;
    let status = response.status();
    let headers = response.headers();
    let request_id = request_id(headers, request_id_headers);
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

/// The message of an error body shaped `{"error": {"message": .., "type": ..,
/// "code": ..}}`, with its type and code when present. OpenAI, Anthropic
/// (`{"type": "error", "error": {"type": "overloaded_error", "message":
/// "Overloaded"}}`) and Gemini (`{"error": {"code": 429, "message": ..,
/// "status": ..}}`) all answer so; the default of
/// [`HttpClient::with_error_message`](crate::HttpClient::with_error_message).
///
/// ```
/// let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
/// assert_eq!(agents_http::error_message(body).as_deref(), Some("Overloaded (overloaded_error)"));
/// assert_eq!(agents_http::error_message("<html>"), None);
/// ```
pub fn error_message(body: &str) -> Option<String> {
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
    use reqwest::header::HeaderValue;

    #[tokio::test]
    async fn connection_errors_redact_keys_in_the_url() {
        crate::install_default_tls_provider();
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
    }

    #[test]
    fn error_messages_from_api_bodies() {
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
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )
            .as_deref(),
            Some("Overloaded (overloaded_error)")
        );
        assert_eq!(
            error_message(
                r#"{"error":{"code":429,"message":"Quota","status":"RESOURCE_EXHAUSTED"}}"#
            )
            .as_deref(),
            Some("Quota (429)")
        );
    }
}
