//! [`OpenAIProvider`] and [`MultiProvider`]: resolving model names to models.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use agents_core::{Model, ModelError, ModelProvider};
use async_openai::config::OpenAIConfig;

use crate::chat::OpenAIChatCompletionsModel;
use crate::client::{check_value, OpenAIClient, OPENAI_BASE_URL};
use crate::responses::OpenAIResponsesModel;
use agents_http::ResponseLimits;

/// The model used when neither the caller nor `OPENAI_MODEL` names one.
///
/// `gpt-4.1` is the default of the reference SDK (openai-agents-python): a
/// current non-reasoning model that accepts every [`ModelSettings`]
/// field, including `temperature`.
///
/// [`ModelSettings`]: agents_core::ModelSettings
pub const DEFAULT_MODEL: &str = "gpt-4.1";

/// Which OpenAI API the models of an [`OpenAIProvider`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpenAIApi {
    /// `POST /responses` ([`OpenAIResponsesModel`]), the default.
    #[default]
    Responses,
    /// `POST /chat/completions` ([`OpenAIChatCompletionsModel`]), also
    /// spoken by OpenAI-compatible servers such as Ollama, vLLM and LM Studio.
    ChatCompletions,
}

impl OpenAIApi {
    /// The name used by `OPENAI_API`: `responses` or `chat_completions`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpenAIApi::Responses => "responses",
            OpenAIApi::ChatCompletions => "chat_completions",
        }
    }
}

impl std::str::FromStr for OpenAIApi {
    type Err = ModelError;

    /// Parses `responses` or `chat_completions` (case-insensitive; `-` for
    /// `_` and `chat` are accepted too).
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "responses" => Ok(OpenAIApi::Responses),
            "chat_completions" | "chat" => Ok(OpenAIApi::ChatCompletions),
            other => Err(ModelError::Other(format!(
                "unknown OpenAI API `{other}` (OPENAI_API): expected `responses` or \
                 `chat_completions`"
            ))),
        }
    }
}

/// The process-wide default API (0: unset, 1: Responses, 2: Chat Completions).
static DEFAULT_API: AtomicU8 = AtomicU8::new(0);

/// Sets the API that providers built from now on use when neither the
/// builder ([`OpenAIProviderBuilder::api`]) does not choose one; it wins
/// over the `OPENAI_API` environment variable. Like the reference SDK's
/// `set_default_openai_api`.
///
/// ```
/// use agents_model_openai::{default_openai_api, set_default_openai_api, OpenAIApi, OpenAIProvider};
///
/// set_default_openai_api(OpenAIApi::ChatCompletions);
/// assert_eq!(default_openai_api(), Some(OpenAIApi::ChatCompletions));
/// assert_eq!(OpenAIProvider::builder().ignore_env().build().api(), OpenAIApi::ChatCompletions);
/// // The builder still wins.
/// let p = OpenAIProvider::builder().api(OpenAIApi::Responses).ignore_env().build();
/// assert_eq!(p.api(), OpenAIApi::Responses);
/// ```
pub fn set_default_openai_api(api: OpenAIApi) {
    let code = match api {
        OpenAIApi::Responses => 1,
        OpenAIApi::ChatCompletions => 2,
    };
    DEFAULT_API.store(code, Ordering::Relaxed);
}

/// The API set with [`set_default_openai_api`], if any.
pub fn default_openai_api() -> Option<OpenAIApi> {
    match DEFAULT_API.load(Ordering::Relaxed) {
        1 => Some(OpenAIApi::Responses),
        2 => Some(OpenAIApi::ChatCompletions),
        _ => None,
    }
}

/// Resolves model names to OpenAI models.
///
/// Configuration comes from the builder, else from the environment:
///
/// | setting | builder | environment | default |
/// |---|---|---|---|
/// | API key | [`api_key`](OpenAIProviderBuilder::api_key) | `OPENAI_API_KEY` | none |
/// | base URL | [`base_url`](OpenAIProviderBuilder::base_url) | `OPENAI_BASE_URL` | `https://api.openai.com/v1` |
/// | organization | [`organization`](OpenAIProviderBuilder::organization) | `OPENAI_ORG_ID` | none |
/// | project | [`project`](OpenAIProviderBuilder::project) | `OPENAI_PROJECT_ID` | none |
/// | default model | [`default_model`](OpenAIProviderBuilder::default_model) | `OPENAI_MODEL` (or `OPENAI_DEFAULT_MODEL`) | [`DEFAULT_MODEL`] |
/// | API | [`api`](OpenAIProviderBuilder::api) | [`set_default_openai_api`], then `OPENAI_API` (`responses` or `chat_completions`) | Responses |
///
/// An `OPENAI_API` value that is neither `responses` nor `chat_completions`
/// makes [`get_model`](ModelProvider::get_model) (and
/// [`try_build`](OpenAIProviderBuilder::try_build)) fail with a
/// [`ModelError::Other`] naming the value.
///
/// Building never fails. A missing API key only matters when a request is
/// sent: to the official API it fails with a clear [`ModelError::Other`]
/// before anything goes on the wire; to any other base URL (a local
/// OpenAI-compatible server) the request goes without an `Authorization`
/// header.
///
/// ```
/// use agents_core::ModelProvider;
/// use agents_model_openai::{OpenAIApi, OpenAIProvider};
///
/// let provider = OpenAIProvider::builder()
///     .api_key("sk-test")
///     .default_model("gpt-4.1-mini")
///     .api(OpenAIApi::ChatCompletions)
///     .build();
/// assert_eq!(provider.default_model(), "gpt-4.1-mini");
/// let model = provider.get_model(Some("gpt-4o")).unwrap();
/// assert!(format!("{model:?}").contains("OpenAIChatCompletionsModel"));
/// assert!(!format!("{provider:?}").contains("sk-test"));
/// ```
#[derive(Clone, Debug)]
pub struct OpenAIProvider {
    client: OpenAIClient,
    default_model: String,
    api: OpenAIApi,
    /// A bad `OPENAI_API` value, reported by `get_model`.
    api_error: Option<ModelError>,
}

impl OpenAIProvider {
    /// A provider configured from the environment (see the table above).
    /// Never fails, also without `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        Self::builder().build()
    }

    /// A builder; unset fields fall back to the environment.
    pub fn builder() -> OpenAIProviderBuilder {
        OpenAIProviderBuilder::default()
    }

    /// A Responses provider around an existing client, with the default model
    /// from `OPENAI_MODEL` or [`DEFAULT_MODEL`].
    pub fn new(client: OpenAIClient) -> Self {
        Self::builder().client(client).build()
    }

    /// The client every model of this provider shares.
    pub fn client(&self) -> &OpenAIClient {
        &self.client
    }

    /// The model used for `get_model(None)`.
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// The API the provider's models call.
    pub fn api(&self) -> OpenAIApi {
        self.api
    }

    /// A Responses API model named `name`, whatever [`api`](Self::api) says.
    pub fn responses_model(&self, name: impl Into<String>) -> OpenAIResponsesModel {
        OpenAIResponsesModel::new(name, self.client.clone())
    }

    /// A Chat Completions model named `name`, whatever [`api`](Self::api) says.
    pub fn chat_completions_model(&self, name: impl Into<String>) -> OpenAIChatCompletionsModel {
        OpenAIChatCompletionsModel::new(name, self.client.clone())
    }
}

impl ModelProvider for OpenAIProvider {
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError> {
        if let Some(error) = &self.api_error {
            return Err(error.clone());
        }
        let name = name
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.default_model);
        Ok(match self.api {
            OpenAIApi::Responses => Arc::new(self.responses_model(name)),
            OpenAIApi::ChatCompletions => Arc::new(self.chat_completions_model(name)),
        })
    }
}

/// Builds an [`OpenAIProvider`]. Every setting left unset falls back to its
/// environment variable, unless [`ignore_env`](Self::ignore_env) is called.
#[derive(Clone, Default)]
#[must_use]
pub struct OpenAIProviderBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    default_model: Option<String>,
    api: Option<OpenAIApi>,
    http_client: Option<reqwest::Client>,
    client: Option<OpenAIClient>,
    limits: Option<ResponseLimits>,
    ignore_env: bool,
}

impl OpenAIProviderBuilder {
    /// The API key (sent as `Authorization: Bearer <key>`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API base URL, for example `http://127.0.0.1:11434/v1` for Ollama.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The organization (`OpenAI-Organization` header).
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// The project (`OpenAI-Project` header).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The model used when an agent names none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Which API the models call. Unset: [`set_default_openai_api`]'s
    /// choice, else `OPENAI_API`, else Responses.
    pub fn api(mut self, api: OpenAIApi) -> Self {
        self.api = Some(api);
        self
    }

    /// Shorthand for `.api(OpenAIApi::ChatCompletions)`.
    pub fn chat_completions(self) -> Self {
        self.api(OpenAIApi::ChatCompletions)
    }

    /// The `reqwest::Client` that sends requests (connection pool, proxies,
    /// TLS roots, HTTP timeouts).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http_client = Some(http);
        self
    }

    /// A ready client. Its configuration replaces the key, base URL,
    /// organization and project settings of this builder; an
    /// [`http_client`](Self::http_client) set here still replaces its HTTP client.
    pub fn client(mut self, client: OpenAIClient) -> Self {
        self.client = Some(client);
        self
    }

    /// Size limits on what the models read from the server: SSE line, SSE
    /// event and JSON body sizes, 16 MiB each by default (see
    /// [`ResponseLimits`]). Going over one is
    /// [`ModelError::ResponseTooLarge`], naming the limit. Also applies to a
    /// [`client`](Self::client) set here.
    pub fn response_limits(mut self, limits: ResponseLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Reads no environment variable: unset settings take their defaults.
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// Builds the provider. Never fails; configuration problems (a key,
    /// organization or project with a newline, say: a value HTTP does not
    /// allow in a header) are reported by each request as
    /// [`ModelError::InvalidHeader`], which names the header and never shows
    /// the value. [`try_build`](Self::try_build) reports them now.
    pub fn build(self) -> OpenAIProvider {
        if self.ignore_env {
            self.build_with_env(|_| None)
        } else {
            self.build_with_env(|name| std::env::var(name).ok())
        }
    }

    /// Builds the provider, or returns the configuration problem every
    /// request would report ([`ModelError::InvalidHeader`] for a key,
    /// organization, project or header value HTTP does not allow).
    ///
    /// ```
    /// use agents_core::ModelError;
    /// use agents_model_openai::OpenAIProvider;
    ///
    /// let err = OpenAIProvider::builder()
    ///     .api_key("sk-test")
    ///     .project("proj_123\nX-Injected: 1")
    ///     .ignore_env()
    ///     .try_build()
    ///     .unwrap_err();
    /// assert!(matches!(&err, ModelError::InvalidHeader { name } if name == "OpenAI-Project"));
    /// assert!(!err.to_string().contains("proj_123"));
    /// ```
    pub fn try_build(self) -> Result<OpenAIProvider, ModelError> {
        let provider = self.build();
        if let Some(error) = &provider.api_error {
            return Err(error.clone());
        }
        match provider.client.config_error() {
            Some(error) => Err(error.clone()),
            None => Ok(provider),
        }
    }

    pub(crate) fn build_with_env(self, env: impl Fn(&str) -> Option<String>) -> OpenAIProvider {
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let pick = |set: Option<String>, name: &str| set.or_else(|| env(name));
        let default_model = pick(self.default_model, "OPENAI_MODEL")
            .or_else(|| env("OPENAI_DEFAULT_MODEL"))
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
        let client = match self.client {
            Some(client) => client,
            None => {
                let key = pick(self.api_key, "OPENAI_API_KEY").unwrap_or_default();
                let base_url = pick(self.base_url, "OPENAI_BASE_URL")
                    .unwrap_or_else(|| OPENAI_BASE_URL.to_owned());
                let organization = pick(self.organization, "OPENAI_ORG_ID").unwrap_or_default();
                let project = pick(self.project, "OPENAI_PROJECT_ID").unwrap_or_default();
                let config = OpenAIConfig::new()
                    .with_api_key(key.trim())
                    .with_api_base(base_url.trim().trim_end_matches('/'))
                    .with_org_id(organization.trim())
                    .with_project_id(project.trim());
                let bad = check_value("OpenAI-Organization", organization.trim())
                    .or_else(|| check_value("OpenAI-Project", project.trim()));
                match bad {
                    Some(error) => OpenAIClient::with_config_error(config, error),
                    None => OpenAIClient::new(config),
                }
            }
        };
        let client = match self.http_client {
            Some(http) => client.with_http_client(http),
            None => client,
        };
        let client = match self.limits {
            Some(limits) => client.with_response_limits(limits),
            None => client,
        };
        let (api, api_error) = match self.api.or_else(default_openai_api) {
            Some(api) => (api, None),
            None => match env("OPENAI_API").map(|v| v.parse::<OpenAIApi>()) {
                Some(Ok(api)) => (api, None),
                Some(Err(e)) => (OpenAIApi::Responses, Some(e)),
                None => (OpenAIApi::Responses, None),
            },
        };
        OpenAIProvider {
            client,
            default_model,
            api,
            api_error,
        }
    }
}

impl fmt::Debug for OpenAIProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAIProviderBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("default_model", &self.default_model)
            .field("api", &self.api)
            .field("client", &self.client)
            .field("limits", &self.limits)
            .field("ignore_env", &self.ignore_env)
            .finish_non_exhaustive()
    }
}

/// Routes model names to providers by prefix.
///
/// - `None`, `"gpt-4o"` (no `/`) and `"openai/gpt-4o"` go to the OpenAI provider;
/// - `"<prefix>/<model>"` goes to the provider registered for `<prefix>` with
///   [`with_provider`](Self::with_provider), which receives `<model>`;
/// - any other prefix is [`ModelError::UnknownModel`].
///
/// Only the first `/` separates the prefix, so `"openai/meta-llama/Llama-3"`
/// asks the OpenAI provider for `meta-llama/Llama-3`.
///
/// ```
/// use std::sync::Arc;
/// use agents_core::{ModelError, ModelProvider};
/// use agents_model_openai::{MultiProvider, OpenAIProvider};
///
/// let ollama = OpenAIProvider::builder()
///     .base_url("http://127.0.0.1:11434/v1")
///     .chat_completions()
///     .build();
/// let provider = MultiProvider::from_env().with_provider("ollama", Arc::new(ollama));
/// assert!(provider.get_model(Some("ollama/llama3.2")).is_ok());
/// assert!(provider.get_model(Some("gpt-4o")).is_ok());
/// assert!(matches!(provider.get_model(Some("acme/x")), Err(ModelError::UnknownModel(_))));
/// ```
#[derive(Clone, Debug)]
pub struct MultiProvider {
    openai: OpenAIProvider,
    providers: BTreeMap<String, Arc<dyn ModelProvider>>,
}

impl MultiProvider {
    /// Routes unprefixed and `openai/` names to `openai`.
    pub fn new(openai: OpenAIProvider) -> Self {
        MultiProvider {
            openai,
            providers: BTreeMap::new(),
        }
    }

    /// [`MultiProvider::new`] with [`OpenAIProvider::from_env`]. Never fails,
    /// also without `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        Self::new(OpenAIProvider::from_env())
    }

    /// Registers `provider` for names starting with `<prefix>/`. Registering
    /// `openai` replaces the built-in OpenAI route for prefixed names.
    pub fn with_provider(
        mut self,
        prefix: impl Into<String>,
        provider: Arc<dyn ModelProvider>,
    ) -> Self {
        self.providers.insert(prefix.into(), provider);
        self
    }

    /// The OpenAI provider.
    pub fn openai(&self) -> &OpenAIProvider {
        &self.openai
    }
}

impl Default for MultiProvider {
    fn default() -> Self {
        Self::from_env()
    }
}

impl ModelProvider for MultiProvider {
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError> {
        let Some((prefix, rest)) = name.and_then(|n| n.split_once('/')) else {
            return self.openai.get_model(name);
        };
        let rest = (!rest.is_empty()).then_some(rest);
        if let Some(provider) = self.providers.get(prefix) {
            return provider.get_model(rest);
        }
        if prefix == "openai" {
            return self.openai.get_model(rest);
        }
        let mut known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        if !known.contains(&"openai") {
            known.insert(0, "openai");
        }
        Err(ModelError::UnknownModel(format!(
            "{} (no provider is registered for the prefix \"{prefix}\"; known prefixes: {}; \
             register one with MultiProvider::with_provider)",
            name.unwrap_or_default(),
            known.join(", ")
        )))
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
        let p = OpenAIProviderBuilder::default().build_with_env(env(&[
            ("OPENAI_API_KEY", " sk-env\n"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/"),
            ("OPENAI_ORG_ID", "org-env"),
            ("OPENAI_PROJECT_ID", "proj-env"),
            ("OPENAI_MODEL", "gpt-env"),
        ]));
        assert_eq!(p.default_model(), "gpt-env");
        assert_eq!(p.client().base_url(), "http://127.0.0.1:1234/v1");
        assert!(p.client().has_api_key());
        let headers = p.client().config().headers();
        assert_eq!(headers["authorization"], "Bearer sk-env", "trimmed");
        assert_eq!(headers["openai-organization"], "org-env");
        assert_eq!(headers["openai-project"], "proj-env");
    }

    #[test]
    fn builder_arguments_win_over_the_environment() {
        let p = OpenAIProvider::builder()
            .api_key("sk-arg")
            .base_url("http://127.0.0.1:1/v1")
            .default_model("gpt-arg")
            .build_with_env(env(&[
                ("OPENAI_API_KEY", "sk-env"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:2/v1"),
                ("OPENAI_MODEL", "gpt-env"),
            ]));
        assert_eq!(p.default_model(), "gpt-arg");
        assert_eq!(p.client().base_url(), "http://127.0.0.1:1/v1");
        assert_eq!(
            p.client().config().headers()["authorization"],
            "Bearer sk-arg"
        );
    }

    #[test]
    fn defaults_without_environment() {
        let p = OpenAIProviderBuilder::default()
            .build_with_env(env(&[("OPENAI_DEFAULT_MODEL", "gpt-fallback")]));
        assert_eq!(p.default_model(), "gpt-fallback");
        let p = OpenAIProviderBuilder::default().build_with_env(env(&[("OPENAI_API_KEY", "  ")]));
        assert_eq!(p.default_model(), DEFAULT_MODEL);
        assert_eq!(p.client().base_url(), OPENAI_BASE_URL);
        assert!(!p.client().has_api_key(), "a blank key is no key");
        assert_eq!(p.api(), OpenAIApi::Responses);
    }

    #[test]
    fn client_replaces_connection_settings() {
        let client = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("sk-c")
                .with_api_base("http://127.0.0.1:3/v1"),
        );
        let p = OpenAIProvider::builder()
            .client(client)
            .base_url("http://ignored")
            .chat_completions()
            .build_with_env(env(&[]));
        assert_eq!(p.client().base_url(), "http://127.0.0.1:3/v1");
        assert_eq!(p.api(), OpenAIApi::ChatCompletions);
    }

    #[test]
    fn openai_api_chooses_the_api() {
        // (The process default is left unset by this crate's unit tests.)
        let p = OpenAIProviderBuilder::default()
            .build_with_env(env(&[("OPENAI_API", "chat_completions")]));
        assert_eq!(p.api(), OpenAIApi::ChatCompletions);
        let model = p.get_model(Some("m")).expect("model");
        assert!(format!("{model:?}").contains("OpenAIChatCompletionsModel"));
        let p =
            OpenAIProviderBuilder::default().build_with_env(env(&[("OPENAI_API", " Responses ")]));
        assert_eq!(p.api(), OpenAIApi::Responses);
        // The builder wins over the environment.
        let p = OpenAIProvider::builder()
            .api(OpenAIApi::Responses)
            .build_with_env(env(&[("OPENAI_API", "chat_completions")]));
        assert_eq!(p.api(), OpenAIApi::Responses);
        // A typo is a clear error when a model is asked for, never a silent fallback.
        let p = OpenAIProviderBuilder::default()
            .build_with_env(env(&[("OPENAI_API", "chat_completion")]));
        let err = p.get_model(None).expect_err("bad value");
        assert!(err.to_string().contains("chat_completion`"), "{err}");
        assert!(err.to_string().contains("expected `responses`"), "{err}");
        assert_eq!(
            "chat".parse::<OpenAIApi>().ok(),
            Some(OpenAIApi::ChatCompletions)
        );
        assert_eq!(OpenAIApi::ChatCompletions.as_str(), "chat_completions");
    }
}
