//! Token usage accounting.

use serde::{Deserialize, Serialize};

/// Token usage of one model request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUsage {
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cached_input_tokens: u64,
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
    /// Input (prompt) tokens.
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cached_input_tokens: u64,
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
            output_tokens: 2,
            reasoning_tokens: 1,
            total_tokens: 3,
        });
        u.add(&nested);
        assert_eq!(u.requests, 2);
        assert_eq!(u.total_tokens, 18);
        assert_eq!(u.cached_input_tokens, 1);
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
}
