//! Token usage accounting.
//!
//! `input_tokens` counts every prompt token of a request, whatever the cache
//! did with it: for OpenAI it is the API's own count; for Anthropic, whose
//! `input_tokens` leaves out the cached part, it is `input_tokens +
//! cache_read_input_tokens + cache_creation_input_tokens`. The cache's share
//! is broken out in two counters *within* `input_tokens`:
//! `cached_input_tokens` (read from the cache) and `cache_write_input_tokens`
//! (written to it, which Anthropic bills at a higher rate). Uncached input is
//! `input_tokens - cached_input_tokens - cache_write_input_tokens`.

use serde::{Deserialize, Serialize};

// serde's `skip_serializing_if` passes a reference.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Token usage of one model request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUsage {
    /// Input (prompt) tokens, all of them (see the module docs).
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache (within `input_tokens`).
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache (within `input_tokens`;
    /// Anthropic's `cache_creation_input_tokens`, 0 for providers that do
    /// not report it). Left out of the JSON when 0, so saved run states
    /// keep their format; absent reads as 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
}

/// Usage summed over a run (or over several runs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Number of model requests.
    pub requests: u64,
    /// Input (prompt) tokens, all of them (see the module docs).
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache (within `input_tokens`).
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache (within `input_tokens`).
    /// Left out of the JSON when 0; absent reads as 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
    /// One entry per model request, in order.
    #[serde(default)]
    pub request_usage_entries: Vec<RequestUsage>,
}

impl Usage {
    /// Adds one model request. Counts saturate at `u64::MAX` (they come
    /// from servers and saved run states, so they may be anything).
    pub fn add_request(&mut self, r: RequestUsage) {
        self.requests = self.requests.saturating_add(1);
        self.input_tokens = self.input_tokens.saturating_add(r.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(r.cached_input_tokens);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(r.cache_write_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(r.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(r.reasoning_tokens);
        self.total_tokens = self.total_tokens.saturating_add(r.total_tokens);
        self.request_usage_entries.push(r);
    }

    /// Adds everything from `other` (a nested run, say). Counts saturate at
    /// `u64::MAX`.
    pub fn add(&mut self, other: &Usage) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.cache_write_input_tokens = self
            .cache_write_input_tokens
            .saturating_add(other.cache_write_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.request_usage_entries
            .extend_from_slice(&other.request_usage_entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_requests_and_nested_usage() {
        let mut u = Usage::default();
        u.add_request(RequestUsage {
            input_tokens: 10,
            output_tokens: 5,
            total_tokens: 15,
            ..Default::default()
        });
        let mut nested = Usage::default();
        nested.add_request(RequestUsage {
            input_tokens: 1,
            cached_input_tokens: 1,
            cache_write_input_tokens: 4,
            output_tokens: 2,
            reasoning_tokens: 1,
            total_tokens: 3,
        });
        u.add(&nested);
        assert_eq!(u.requests, 2);
        assert_eq!(u.total_tokens, 18);
        assert_eq!(u.cached_input_tokens, 1);
        assert_eq!(u.cache_write_input_tokens, 4);
        assert_eq!(u.reasoning_tokens, 1);
        assert_eq!(u.request_usage_entries.len(), 2);
    }

    #[test]
    fn huge_counts_saturate_instead_of_overflowing() {
        let mut u = Usage {
            requests: u64::MAX,
            total_tokens: u64::MAX - 1,
            ..Default::default()
        };
        u.add_request(RequestUsage {
            input_tokens: u64::MAX,
            total_tokens: 5,
            ..Default::default()
        });
        let other = u.clone();
        u.add(&other);
        assert_eq!(
            (u.requests, u.input_tokens, u.total_tokens),
            (u64::MAX, u64::MAX, u64::MAX)
        );
        assert_eq!(u.request_usage_entries.len(), 2);
    }

    #[test]
    fn cache_writes_are_left_out_of_the_json_when_zero_and_default_when_absent() {
        let old = r#"{"input_tokens":5,"cached_input_tokens":1,"output_tokens":2,
                      "reasoning_tokens":0,"total_tokens":7}"#;
        let r: RequestUsage = serde_json::from_str(old).expect("old JSON loads");
        assert_eq!(r.cache_write_input_tokens, 0);
        let written = serde_json::to_value(r).expect("json");
        assert!(
            written.get("cache_write_input_tokens").is_none(),
            "{written}"
        );
        let u: Usage = serde_json::from_str(
            r#"{"requests":1,"input_tokens":5,"cached_input_tokens":1,"output_tokens":2,
                "reasoning_tokens":0,"total_tokens":7}"#,
        )
        .expect("old usage JSON loads");
        assert_eq!(u.cache_write_input_tokens, 0);

        let r = RequestUsage {
            input_tokens: 10,
            cache_write_input_tokens: 6,
            ..Default::default()
        };
        let written = serde_json::to_value(r).expect("json");
        assert_eq!(written["cache_write_input_tokens"], 6);
        let back: RequestUsage = serde_json::from_value(written).expect("round trip");
        assert_eq!(back, r);
    }
}
