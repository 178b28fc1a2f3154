//! [`GeminiProvider`]: model names to Gemini models.

use std::fmt;
use std::sync::Arc;

use agents_core::{Model, ModelError, ModelProvider};
use agents_http::{HttpClient, ResponseLimits};

use crate::model::{Connection, GeminiModel};
use crate::thinking::GeminiThinking;

/// The Gemini API's base URL.
pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// The model used when neither the caller nor `GEMINI_MODEL` names one.
pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.5-flash";

/// Resolves model names to [`GeminiModel`]s.
///
/// | setting | builder | environment | default |
/// |---|---|---|---|
/// | API key (`x-goog-api-key`) | [`api_key`](GeminiProviderBuilder::api_key) | `GEMINI_API_KEY`, else `GOOGLE_API_KEY` | none |
/// | base URL | [`base_url`](GeminiProviderBuilder::base_url) | `GEMINI_BASE_URL` | [`GEMINI_BASE_URL`] |
/// | default model | [`default_model`](GeminiProviderBuilder::default_model) | `GEMINI_MODEL` | [`DEFAULT_GEMINI_MODEL`] |
///
/// Building never fails; without a key, requests to the official API fail
/// with a clear error before anything is sent. The key never appears in
/// `Debug` output or errors.
///
/// ```
/// use agents_core::ModelProvider;
/// use agents_model_gemini::GeminiProvider;
///
/// let provider = GeminiProvider::builder().api_key("secret-key").ignore_env().build();
/// let model = provider.get_model(Some("gemini-2.5-pro"))?;
/// assert!(format!("{model:?}").contains("gemini-2.5-pro"));
/// assert!(!format!("{provider:?}").contains("secret-key"));
/// # Ok::<(), agents_core::ModelError>(())
/// ```
#[derive(Clone)]
pub struct GeminiProvider {
    connection: Arc<Connection>,
    default_model: String,
    thinking: Option<GeminiThinking>,
}

impl fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("base_url", &self.connection.base_url)
            .field("has_api_key", &self.connection.api_key.is_some())
            .field("default_model", &self.default_model)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// A provider configured from the environment. Never fails.
    pub fn from_env() -> Self {
        Self::builder().build()
    }

    /// A builder; unset settings fall back to the environment.
    pub fn builder() -> GeminiProviderBuilder {
        GeminiProviderBuilder::default()
    }

    /// The model for `get_model(None)`.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.connection.base_url
    }

    /// A model named `name`.
    pub fn model(&self, name: impl Into<String>) -> GeminiModel {
        GeminiModel::new(name, self.connection.clone(), self.thinking.clone())
    }
}

impl ModelProvider for GeminiProvider {
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError> {
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.default_model);
        Ok(Arc::new(self.model(name)))
    }
}

/// Builds a [`GeminiProvider`].
#[derive(Clone, Default)]
#[must_use]
pub struct GeminiProviderBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    default_model: Option<String>,
    thinking: Option<GeminiThinking>,
    http: Option<HttpClient>,
    limits: Option<ResponseLimits>,
    ignore_env: bool,
}

impl fmt::Debug for GeminiProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProviderBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("default_model", &self.default_model)
            .field("thinking", &self.thinking)
            .field("ignore_env", &self.ignore_env)
            .finish_non_exhaustive()
    }
}

impl GeminiProviderBuilder {
    /// The API key (sent as `x-goog-api-key`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL (`https://generativelanguage.googleapis.com/v1beta` by
    /// default); requests go to `{base}/models/{model}:generateContent`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The model used when an agent names none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// The thinking configuration of every model (see [`GeminiThinking`]).
    pub fn thinking(mut self, thinking: GeminiThinking) -> Self {
        self.thinking = Some(thinking);
        self
    }

    /// The HTTP client (connection pool, proxies, TLS).
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Size limits on what is read from the server (16 MiB each by default).
    pub fn response_limits(mut self, limits: ResponseLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Reads no environment variable.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// Builds the provider. Never fails: a key HTTP cannot send (a newline
    /// in it) is reported by every request as [`ModelError::InvalidHeader`].
    pub fn build(self) -> GeminiProvider {
        if self.ignore_env {
            self.build_with_env(|_| None)
        } else {
            self.build_with_env(|name| std::env::var(name).ok())
        }
    }

    pub(crate) fn build_with_env(self, env: impl Fn(&str) -> Option<String>) -> GeminiProvider {
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let api_key = self
            .api_key
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .or_else(|| env("GEMINI_API_KEY"))
            .or_else(|| env("GOOGLE_API_KEY"));
        let base_url = self
            .base_url
            .or_else(|| env("GEMINI_BASE_URL"))
            .unwrap_or_else(|| GEMINI_BASE_URL.to_owned())
            .trim()
            .trim_end_matches('/')
            .to_owned();
        let default_model = self
            .default_model
            .or_else(|| env("GEMINI_MODEL"))
            .unwrap_or_else(|| DEFAULT_GEMINI_MODEL.to_owned());
        let mut http = self.http.unwrap_or_default();
        if let Some(limits) = self.limits {
            http = http.with_limits(limits);
        }
        let config_error = match &api_key {
            Some(key) if agents_http::reqwest::header::HeaderValue::from_str(key).is_err() => {
                Some(ModelError::InvalidHeader {
                    name: "x-goog-api-key".into(),
                })
            }
            None if base_url == GEMINI_BASE_URL => Some(ModelError::Other(
                "no Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY), or pass one to \
                 GeminiProvider::builder().api_key(..)"
                    .into(),
            )),
            _ => None,
        };
        GeminiProvider {
            connection: Arc::new(Connection {
                http,
                base_url,
                api_key,
                config_error,
            }),
            default_model,
            thinking: self.thinking,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn environment_fills_unset_settings() {
        let p = GeminiProviderBuilder::default().build_with_env(env(&[
            ("GOOGLE_API_KEY", "g-key"),
            ("GEMINI_BASE_URL", "http://127.0.0.1:9/v1beta/"),
            ("GEMINI_MODEL", "gemini-env"),
        ]));
        assert_eq!(p.base_url(), "http://127.0.0.1:9/v1beta");
        assert_eq!(p.default_model(), "gemini-env");
        assert_eq!(p.connection.api_key.as_deref(), Some("g-key"));
        let p = GeminiProviderBuilder::default()
            .build_with_env(env(&[("GOOGLE_API_KEY", "g"), ("GEMINI_API_KEY", "first")]));
        assert_eq!(
            p.connection.api_key.as_deref(),
            Some("first"),
            "GEMINI_API_KEY wins"
        );
    }

    #[test]
    fn missing_or_bad_keys_are_reported_per_request() {
        let p = GeminiProviderBuilder::default().build_with_env(env(&[]));
        assert!(matches!(
            p.connection.config_error,
            Some(ModelError::Other(_))
        ));
        let p = GeminiProvider::builder()
            .api_key("bad\nkey")
            .build_with_env(env(&[]));
        assert!(
            matches!(&p.connection.config_error, Some(ModelError::InvalidHeader { name }) if name == "x-goog-api-key")
        );
        let p = GeminiProvider::builder()
            .base_url("http://127.0.0.1:1/v1beta")
            .build_with_env(env(&[]));
        assert!(
            p.connection.config_error.is_none(),
            "local servers need no key"
        );
    }
}
