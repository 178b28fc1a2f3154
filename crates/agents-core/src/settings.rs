//! Model settings and their resolution.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which tool the model must use.
///
/// The hosted-tool choices (`WebSearch`, `FileSearch`, `CodeInterpreter`,
/// `ImageGeneration`, `Mcp`) exist only on the Responses API; the Chat
/// Completions model refuses them with
/// [`ModelError::Unsupported`](crate::ModelError::Unsupported).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call tools.
    None,
    /// The model must call the named function.
    Function(String),
    /// The model must search the web (sent as `{"type": "web_search_preview"}`,
    /// the name the API's tool choice uses for web search).
    WebSearch,
    /// The model must search files.
    FileSearch,
    /// The model must run code.
    CodeInterpreter,
    /// The model must generate an image.
    ImageGeneration,
    /// The model must call a tool of this hosted MCP server (`name`: that tool).
    Mcp {
        /// The server's label.
        server_label: String,
        /// The tool to call (any of the server's tools when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
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
    /// Extra output data the response should include (Responses
    /// `include`: `reasoning.encrypted_content`, `file_search_call.results`,
    /// `message.output_text.logprobs`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// How many most likely tokens to return, with log probabilities, at
    /// each position (0 to 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// How long the provider keeps the prompt cache (`in_memory` or `24h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_retention: Option<String>,
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
    /// Sets `include`.
    include: Vec<String>,
    /// Sets `top_logprobs`.
    top_logprobs: u32,
    /// Sets `prompt_cache_retention`.
    prompt_cache_retention: String,
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

/// What stands for a secret value in `Debug` output and traces.
const REDACTED: &str = "<redacted>";

/// Header names, with every value printed as `"<redacted>"`.
struct RedactedValues<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for RedactedValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, REDACTED)))
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
            include,
            top_logprobs,
            prompt_cache_retention,
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
            .field("include", include)
            .field("top_logprobs", top_logprobs)
            .field("prompt_cache_retention", prompt_cache_retention)
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

    /// The settings as a trace records them: the values of `extra_headers`,
    /// `extra_query` and `extra_body` each replaced by `"<redacted>"` (a
    /// gateway's `api-key` header or query parameter, say), their names
    /// kept; every other field as set.
    ///
    /// ```
    /// use agents_core::ModelSettings;
    /// use std::collections::BTreeMap;
    ///
    /// let s = ModelSettings::new()
    ///     .temperature(0.5)
    ///     .extra_headers(BTreeMap::from([("api-key".to_owned(), "sk-secret".to_owned())]));
    /// let t = s.for_trace();
    /// assert_eq!(t.temperature, Some(0.5));
    /// assert_eq!(t.extra_headers.unwrap()["api-key"], "<redacted>");
    /// ```
    pub fn for_trace(&self) -> ModelSettings {
        // Destructured, so that a new field is a decision here too.
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
            include,
            top_logprobs,
            prompt_cache_retention,
            extra_headers,
            extra_query,
            extra_body,
            retry,
            timeout,
        } = self;
        let names = |m: &BTreeMap<String, String>| {
            m.keys()
                .map(|k| (k.clone(), REDACTED.to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        ModelSettings {
            temperature: *temperature,
            top_p: *top_p,
            frequency_penalty: *frequency_penalty,
            presence_penalty: *presence_penalty,
            tool_choice: tool_choice.clone(),
            parallel_tool_calls: *parallel_tool_calls,
            truncation: truncation.clone(),
            max_tokens: *max_tokens,
            reasoning: reasoning.clone(),
            verbosity: verbosity.clone(),
            metadata: metadata.clone(),
            store: *store,
            include_usage: *include_usage,
            include: include.clone(),
            top_logprobs: *top_logprobs,
            prompt_cache_retention: prompt_cache_retention.clone(),
            extra_headers: extra_headers.as_ref().map(names),
            extra_query: extra_query.as_ref().map(names),
            extra_body: extra_body.as_ref().map(|m| {
                m.keys()
                    .map(|k| (k.clone(), Value::String(REDACTED.to_owned())))
                    .collect()
            }),
            retry: retry.clone(),
            timeout: *timeout,
        }
    }

    /// Layers `over` on top of `self`: every field set in `over` wins,
    /// except `extra_headers`, `extra_query` and `extra_body`, which are
    /// merged key by key (a key of `over` wins over the same key of `self`).
    ///
    /// ```
    /// use agents_core::ModelSettings;
    /// use std::collections::BTreeMap;
    ///
    /// let h = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    /// let agent = ModelSettings::new().temperature(0.2).extra_headers(h("x-team", "a"));
    /// let run = ModelSettings::new().extra_headers(h("x-run", "r"));
    /// let merged = agent.resolve(&run);
    /// assert_eq!(merged.temperature, Some(0.2));
    /// assert_eq!(merged.extra_headers.unwrap().len(), 2);
    /// ```
    pub fn resolve(&self, over: &ModelSettings) -> ModelSettings {
        fn merge<K: Ord + Clone, V: Clone>(
            base: &Option<BTreeMap<K, V>>,
            over: &Option<BTreeMap<K, V>>,
        ) -> Option<BTreeMap<K, V>> {
            match (base, over) {
                (Some(b), Some(o)) => {
                    let mut m = b.clone();
                    m.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(m)
                }
                (b, o) => o.clone().or_else(|| b.clone()),
            }
        }
        let extra_body = match (&self.extra_body, &over.extra_body) {
            (Some(b), Some(o)) => {
                let mut m = b.clone();
                m.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(m)
            }
            (b, o) => o.clone().or_else(|| b.clone()),
        };
        macro_rules! pick {
            ($($f:ident),*) => {
                ModelSettings {
                    extra_headers: merge(&self.extra_headers, &over.extra_headers),
                    extra_query: merge(&self.extra_query, &over.extra_query),
                    extra_body,
                    $($f: over.$f.clone().or_else(|| self.$f.clone()),)*
                }
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
            include,
            top_logprobs,
            prompt_cache_retention,
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
    fn resolve_merges_extra_maps_key_by_key() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let body = |v: serde_json::Value| v.as_object().cloned().expect("object");
        let base = ModelSettings::new()
            .extra_headers(map(&[("x-a", "1"), ("x-b", "1")]))
            .extra_query(map(&[("q", "base")]))
            .extra_body(body(serde_json::json!({"a": 1, "b": 1})))
            .include(vec!["reasoning.encrypted_content".to_owned()]);
        let over = ModelSettings::new()
            .extra_headers(map(&[("x-b", "2"), ("x-c", "2")]))
            .extra_body(body(serde_json::json!({"b": 2})))
            .top_logprobs(3u32)
            .prompt_cache_retention("24h");
        let r = base.resolve(&over);
        assert_eq!(
            r.extra_headers,
            Some(map(&[("x-a", "1"), ("x-b", "2"), ("x-c", "2")]))
        );
        assert_eq!(r.extra_query, Some(map(&[("q", "base")])));
        assert_eq!(
            r.extra_body,
            Some(body(serde_json::json!({"a": 1, "b": 2})))
        );
        assert_eq!(
            r.include.as_deref(),
            Some(&["reasoning.encrypted_content".to_owned()][..])
        );
        assert_eq!(r.top_logprobs, Some(3));
        assert_eq!(r.prompt_cache_retention.as_deref(), Some("24h"));
        // Only one side set: taken as is.
        let r = ModelSettings::new().resolve(&over);
        assert_eq!(r.extra_headers, over.extra_headers);
        assert_eq!(
            base.resolve(&ModelSettings::new()).extra_query,
            base.extra_query
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
