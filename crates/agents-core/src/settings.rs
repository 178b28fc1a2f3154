//! Model settings and their resolution.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which tool the model must use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call tools.
    None,
    /// The model must call the named function.
    Function(String),
}

/// Reasoning options for reasoning models.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningSettings {
    /// `minimal`, `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto`, `concise` or `detailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl ReasoningSettings {
    /// Reasoning with the given effort.
    pub fn effort(effort: impl Into<String>) -> Self {
        ReasoningSettings {
            effort: Some(effort.into()),
            summary: None,
        }
    }

    /// Sets the summary mode.
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }
}

/// Retries of failed model requests (opt-in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetrySettings {
    /// How many times a failed request is retried (0 = never).
    pub max_retries: u32,
    /// Delay before the first retry; doubled each time, with jitter.
    pub initial_backoff: Duration,
    /// Upper bound on one delay.
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetrySettings {
    /// Retries up to `max_retries` times with the default backoff.
    pub fn new(max_retries: u32) -> Self {
        RetrySettings {
            max_retries,
            ..Default::default()
        }
    }

    /// Sets the initial and maximal backoff.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
}

/// Settings sent with each model request. Every field is optional; unset
/// fields are left to the provider's default.
///
/// Settings are layered with [`ModelSettings::resolve`]: the agent's settings,
/// then the run's override, where set fields win.
///
/// `Debug` output shows the names of `extra_headers` but never their values
/// (an `api-key` for a gateway, say): each prints as `"<redacted>"`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelSettings {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Frequency penalty (Chat Completions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    /// Presence penalty (Chat Completions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Truncation strategy (`auto` or `disabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    /// Maximum output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Reasoning options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningSettings>,
    /// Output verbosity (`low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    /// Request metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Whether the provider stores the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Whether streamed Chat Completions report usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Extra HTTP headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_headers: Option<BTreeMap<String, String>>,
    /// Extra query parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_query: Option<BTreeMap<String, String>>,
    /// Extra top-level body fields, merged into the request body last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_body: Option<Map<String, Value>>,
    /// Retry policy for failed requests (off when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySettings>,
    /// Timeout of one request attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident : $ty:ty),* $(,)?) => {
        impl ModelSettings {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: impl Into<$ty>) -> Self {
                    self.$name = Some(value.into());
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets `temperature`.
    temperature: f32,
    /// Sets `top_p`.
    top_p: f32,
    /// Sets `frequency_penalty`.
    frequency_penalty: f32,
    /// Sets `presence_penalty`.
    presence_penalty: f32,
    /// Sets `tool_choice`.
    tool_choice: ToolChoice,
    /// Sets `parallel_tool_calls`.
    parallel_tool_calls: bool,
    /// Sets `truncation`.
    truncation: String,
    /// Sets `max_tokens`.
    max_tokens: u32,
    /// Sets `reasoning`.
    reasoning: ReasoningSettings,
    /// Sets `verbosity`.
    verbosity: String,
    /// Sets `metadata`.
    metadata: BTreeMap<String, String>,
    /// Sets `store`.
    store: bool,
    /// Sets `include_usage`.
    include_usage: bool,
    /// Sets `extra_headers`.
    extra_headers: BTreeMap<String, String>,
    /// Sets `extra_query`.
    extra_query: BTreeMap<String, String>,
    /// Sets `extra_body`.
    extra_body: Map<String, Value>,
    /// Sets the retry policy.
    retry: RetrySettings,
    /// Sets the per-attempt timeout.
    timeout: Duration,
}

/// Header names, with every value printed as `"<redacted>"`.
struct RedactedValues<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, "<redacted>")))
            .finish()
    }
}

impl fmt::Debug for ModelSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured, so that a new field cannot be forgotten here.
        let ModelSettings {
            temperature,
            top_p,
            frequency_penalty,
            presence_penalty,
            tool_choice,
            parallel_tool_calls,
            truncation,
            max_tokens,
            reasoning,
            verbosity,
            metadata,
            store,
            include_usage,
            extra_headers,
            extra_query,
            extra_body,
            retry,
            timeout,
        } = self;
        f.debug_struct("ModelSettings")
            .field("temperature", temperature)
            .field("top_p", top_p)
            .field("frequency_penalty", frequency_penalty)
            .field("presence_penalty", presence_penalty)
            .field("tool_choice", tool_choice)
            .field("parallel_tool_calls", parallel_tool_calls)
            .field("truncation", truncation)
            .field("max_tokens", max_tokens)
            .field("reasoning", reasoning)
            .field("verbosity", verbosity)
            .field("metadata", metadata)
            .field("store", store)
            .field("include_usage", include_usage)
            .field("extra_headers", &extra_headers.as_ref().map(RedactedValues))
            .field("extra_query", extra_query)
            .field("extra_body", extra_body)
            .field("retry", retry)
            .field("timeout", timeout)
            .finish()
    }
}

impl ModelSettings {
    /// Empty settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Layers `over` on top of `self`: every field set in `over` wins.
    pub fn resolve(&self, over: &ModelSettings) -> ModelSettings {
        macro_rules! pick {
            ($($f:ident),*) => {
                ModelSettings { $($f: over.$f.clone().or_else(|| self.$f.clone()),)* }
            };
        }
        pick!(
            temperature,
            top_p,
            frequency_penalty,
            presence_penalty,
            tool_choice,
            parallel_tool_calls,
            truncation,
            max_tokens,
            reasoning,
            verbosity,
            metadata,
            store,
            include_usage,
            extra_headers,
            extra_query,
            extra_body,
            retry,
            timeout
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_prefers_set_fields_of_the_override() {
        let base = ModelSettings::new()
            .temperature(0.2)
            .tool_choice(ToolChoice::Required)
            .store(true);
        let over = ModelSettings::new().temperature(0.9).max_tokens(100u32);
        let r = base.resolve(&over);
        assert_eq!(r.temperature, Some(0.9));
        assert_eq!(r.max_tokens, Some(100));
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.store, Some(true));
        assert_eq!(
            ModelSettings::new().resolve(&ModelSettings::new()),
            ModelSettings::new()
        );
    }

    #[test]
    fn debug_output_hides_extra_header_values_but_keeps_names() {
        let settings = ModelSettings::new()
            .temperature(0.5)
            .extra_headers(BTreeMap::from([
                ("api-key".to_owned(), "gw-secret-7c1e".to_owned()),
                (
                    "Authorization".to_owned(),
                    "Bearer sk-secret-9f2a".to_owned(),
                ),
            ]));
        for shown in [
            format!("{settings:?}"),
            format!("{settings:#?}"),
            format!("{:?}", Some(&settings)),
            format!("{:#?}", settings.resolve(&ModelSettings::new())),
        ] {
            assert!(!shown.contains("gw-secret"), "{shown}");
            assert!(!shown.contains("sk-secret"), "{shown}");
            assert!(shown.contains("api-key"), "{shown}");
            assert!(shown.contains("Authorization"), "{shown}");
            assert!(shown.contains("\"<redacted>\""), "{shown}");
            assert!(shown.contains("temperature"), "{shown}");
            assert!(shown.contains("0.5"), "{shown}");
        }
        assert!(format!("{:?}", ModelSettings::new()).contains("extra_headers: None"));
    }
}
