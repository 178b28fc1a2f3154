//! The opt-in retry policy: exponential backoff with jitter, honouring the
//! server's `Retry-After` / `retry-after-ms` hints.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use agents_core::{ModelError, RetrySettings};

/// The longest server `Retry-After` hint that is honoured as is; longer hints
/// fall back to the computed backoff (the OpenAI Python client does the same).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retry bookkeeping of one model call: how many retries were made and
/// what the policy allows.
///
/// [`HttpClient::call_json`](crate::HttpClient::call_json) and
/// [`HttpClient::stream`](crate::HttpClient::stream) use one per call; a
/// provider with its own loop can too.
///
/// ```
/// use std::time::Duration;
/// use agents_core::{ModelError, RetrySettings};
/// use agents_http::RetryState;
///
/// let policy = RetrySettings::new(1).with_backoff(Duration::from_millis(10), Duration::from_secs(1));
/// let mut state = RetryState::new(Some(&policy));
/// let overloaded = ModelError::Http {
///     status: 529, message: "Overloaded".into(), request_id: None, body: None,
///     retry_after: Some(Duration::from_millis(250)),
/// };
/// // The server's hint (at most 60 s) wins over the computed backoff.
/// assert_eq!(state.next_delay(&overloaded), Some(Duration::from_millis(250)));
/// assert_eq!(state.next_delay(&overloaded), None, "one retry only");
/// ```
#[derive(Debug)]
pub struct RetryState<'a> {
    policy: Option<&'a RetrySettings>,
    retries: u32,
}

impl<'a> RetryState<'a> {
    /// Bookkeeping for a call under `policy` (`None`: never retry).
    pub fn new(policy: Option<&'a RetrySettings>) -> Self {
        RetryState { policy, retries: 0 }
    }

    /// The delay before the next attempt, or `None` when `error` must be
    /// returned to the caller (policy off, retries exhausted or error not
    /// retryable). Counts the retry.
    pub fn next_delay(&mut self, error: &ModelError) -> Option<Duration> {
        let policy = self.policy?;
        if self.retries >= policy.max_retries || !error.is_retryable() {
            return None;
        }
        let hint = match error {
            ModelError::Http { retry_after, .. } => *retry_after,
            _ => None,
        };
        let delay = match hint {
            Some(hint) if hint <= MAX_RETRY_AFTER => hint,
            _ => backoff(policy, self.retries, jitter_fraction()),
        };
        self.retries += 1;
        tracing::debug!(
            retry = self.retries,
            max_retries = policy.max_retries,
            ?delay,
            error = %error,
            "retrying model request"
        );
        Some(delay)
    }
}

/// The computed backoff before retry number `retry` (counting from 0):
/// `initial * 2^retry`, capped at `max`, scaled by a jitter factor in
/// `[0.75, 1.0]` (`jitter` is a fraction in `[0, 1)`). Never panics, also
/// for backoffs near `Duration::MAX`.
pub fn backoff(policy: &RetrySettings, retry: u32, jitter: f64) -> Duration {
    let factor = 2f64.powi(retry.min(30) as i32);
    let base =
        (policy.initial_backoff.as_secs_f64() * factor).min(policy.max_backoff.as_secs_f64());
    let scaled = base * (1.0 - 0.25 * jitter.clamp(0.0, 1.0));
    Duration::try_from_secs_f64(scaled.max(0.0))
        .unwrap_or(policy.max_backoff)
        .min(policy.max_backoff)
}

/// A random fraction in `[0, 1)` without a random-number dependency: every
/// `RandomState` is seeded freshly.
fn jitter_fraction() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<Duration>) -> ModelError {
        ModelError::Http {
            status,
            message: "x".into(),
            request_id: None,
            body: None,
            retry_after,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p =
            RetrySettings::new(5).with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 3, 0.0), Duration::from_millis(800));
        assert_eq!(backoff(&p, 4, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 40, 0.0), Duration::from_secs(1));
        // Jitter takes off at most a quarter.
        let jittered = backoff(&p, 1, 0.999_999);
        assert!(jittered > Duration::from_millis(149) && jittered < Duration::from_millis(151));
    }

    #[test]
    fn extreme_backoffs_do_not_panic() {
        let p = RetrySettings::new(5).with_backoff(Duration::MAX, Duration::MAX);
        for retry in [0, 1, 30, u32::MAX] {
            assert_eq!(backoff(&p, retry, 0.0), Duration::MAX);
            assert!(backoff(&p, retry, 0.5) <= Duration::MAX);
        }
        let p = RetrySettings::new(5).with_backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff(&p, 3, 0.3), Duration::ZERO);
        let mut s = RetryState::new(Some(&p));
        assert_eq!(
            s.next_delay(&http(429, Some(Duration::MAX))),
            Some(Duration::ZERO),
            "a hint over the maximum falls back to the (zero) backoff"
        );
    }

    #[test]
    fn jitter_is_a_fraction() {
        for _ in 0..100 {
            let j = jitter_fraction();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn off_by_default_and_counts_retries() {
        assert_eq!(RetryState::new(None).next_delay(&http(500, None)), None);
        let p =
            RetrySettings::new(2).with_backoff(Duration::from_millis(8), Duration::from_millis(8));
        let mut s = RetryState::new(Some(&p));
        assert!(s.next_delay(&http(500, None)).is_some());
        assert!(s
            .next_delay(&ModelError::Connection("reset".into()))
            .is_some());
        assert_eq!(s.next_delay(&http(500, None)), None, "retries exhausted");
    }

    #[test]
    fn only_retryable_errors_are_retried() {
        let p = RetrySettings::new(9);
        for e in [
            http(400, None),
            http(401, None),
            http(404, None),
            ModelError::InvalidResponse("x".into()),
            ModelError::Stream("x".into()),
        ] {
            assert_eq!(RetryState::new(Some(&p)).next_delay(&e), None, "{e}");
        }
        for e in [
            http(408, None),
            http(409, None),
            http(429, None),
            http(503, None),
            ModelError::Timeout(Duration::from_secs(1)),
        ] {
            assert!(RetryState::new(Some(&p)).next_delay(&e).is_some(), "{e}");
        }
    }

    #[test]
    fn retry_after_hint_wins_unless_too_long() {
        let p = RetrySettings::new(3)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(10));
        let mut s = RetryState::new(Some(&p));
        assert_eq!(
            s.next_delay(&http(429, Some(Duration::from_millis(1234)))),
            Some(Duration::from_millis(1234))
        );
        assert_eq!(
            s.next_delay(&http(429, Some(Duration::ZERO))),
            Some(Duration::ZERO)
        );
        let d = s
            .next_delay(&http(429, Some(Duration::from_secs(3600))))
            .expect("retried");
        assert!(d <= Duration::from_millis(10));
    }
}
