//! Key redaction: credentials never reach errors, `Debug` output or logs.
//!
//! A server may echo a request's headers in an error body (proxies and
//! gateways do). Everything a provider builds out of server text goes
//! through [`redact_text`] (or [`redact_error`]) with the secret header
//! values of the request ([`secret_values`]) before it is shown.

use agents_core::ModelError;
use reqwest::header::HeaderMap;

/// What a value in place of a secret reads in errors and `Debug` output.
pub const REDACTED: &str = "<redacted>";

/// A header name fit for an error message: at most 64 characters, control
/// characters escaped, anything that looks like a credential redacted (a whole
/// `Authorization: Bearer sk-..` line passed as a name, say).
pub fn printable_name(name: &str) -> String {
    let short: String = name.chars().take(64).collect();
    redact_text(&short.escape_debug().to_string(), &[])
}

/// Whether a header of this name carries a credential, so that its value is
/// redacted wherever a server echoes it.
pub fn is_secret_header(name: &str) -> bool {
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
pub fn secret_values(headers: &HeaderMap) -> Vec<String> {
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
pub fn redact_text(text: &str, secrets: &[String]) -> String {
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
pub fn redact_error(error: ModelError, secrets: &[String]) -> ModelError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, AUTHORIZATION};

    proptest::proptest! {
        #[test]
        fn redaction_never_panics_and_removes_bearer_tokens(prefix in "\\PC{0,30}", token in "[A-Za-z0-9]{12,30}", suffix in "\\PC{0,30}") {
            let text = format!("{prefix} Bearer {token} {suffix}");
            let out = redact_text(&text, &[]);
            proptest::prop_assert!(!out.contains(&format!("Bearer {token}")), "{out}");
            proptest::prop_assert!(!out.contains(&token), "{out}");
            let _ = redact_text(&prefix, std::slice::from_ref(&suffix));
        }
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
}
