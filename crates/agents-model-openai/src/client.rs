//! [`OpenAIClient`]: the configuration (async-openai's `Config`) and the
//! `reqwest::Client` shared by every model of a provider, plus the one place
//! where HTTP requests are sent and HTTP errors are turned into
//! [`ModelError`]s.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use agents_core::{ModelError, ModelSettings};
use agents_http::{insert_extra_headers, map_reqwest_error, HttpClient, ResponseLimits};
use async_openai::config::{Config, OpenAIConfig};
use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::ExposeSecret;

/// The official API base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// An OpenAI API client: an async-openai [`Config`] (API key, base URL,
/// organization, project, extra headers and query parameters) and the
/// `reqwest::Client` that sends the requests.
///
/// Cheap to clone; clones share the connection pool. The API key never
/// appears in its `Debug` output.
///
/// Every header value of the configuration (API key, organization, project,
/// custom headers) is checked when the client is built: one that HTTP does
/// not allow (a trailing newline in `OPENAI_PROJECT_ID`, say) makes
/// [`try_new`](Self::try_new) fail, and every request of a client made with
/// [`new`](Self::new) fail, with
/// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader),
/// which names the header but never shows its value.
///
/// ```
/// use agents_model_openai::OpenAIClient;
/// use async_openai::config::OpenAIConfig;
///
/// let client = OpenAIClient::new(
///     OpenAIConfig::new().with_api_key("sk-test").with_api_base("http://127.0.0.1:8080/v1"),
/// );
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080/v1");
/// assert!(!format!("{client:?}").contains("sk-test"));
/// ```
#[derive(Clone)]
pub struct OpenAIClient {
    inner: Arc<Inner>,
}

struct Inner {
    /// The shared HTTP transport: `reqwest::Client`, limits, retries, errors.
    http: HttpClient,
    config: Arc<dyn Config>,
    /// A configuration problem found at construction, reported per request
    /// (so that building a provider never fails).
    config_error: Option<ModelError>,
}

impl OpenAIClient {
    /// A client with the given async-openai configuration and a default
    /// `reqwest::Client`.
    ///
    /// Never fails: a header value HTTP does not allow is reported by every
    /// request (and by [`config_error`](Self::config_error)); use
    /// [`try_new`](Self::try_new) to get it now.
    pub fn new(config: OpenAIConfig) -> Self {
        let error = check_key(config.api_key().expose_secret())
            .or_else(|| check_value("OpenAI-Organization", config.org_id()))
            .or_else(|| check_headers(&config, "OpenAI-Project"));
        match error {
            Some(error) => Self::with_config_error(config, error),
            None => Self::from_parts(Arc::new(config), None),
        }
    }

    /// Like [`new`](Self::new), but a configuration that cannot be sent (an
    /// API key, organization, project or custom header value with a newline
    /// or another character HTTP forbids) is an error now:
    /// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader),
    /// naming the header, never showing its value.
    ///
    /// ```
    /// use agents_core::ModelError;
    /// use agents_model_openai::OpenAIClient;
    /// use agents_model_openai::async_openai::config::OpenAIConfig;
    ///
    /// let config = OpenAIConfig::new().with_api_key("sk-x").with_project_id("proj_1\n");
    /// let err = OpenAIClient::try_new(config).unwrap_err();
    /// assert!(matches!(&err, ModelError::InvalidHeader { name } if name == "OpenAI-Project"));
    /// assert!(!format!("{err:?}").contains("proj_1"));
    /// ```
    pub fn try_new(config: OpenAIConfig) -> Result<Self, ModelError> {
        let client = Self::new(config);
        match client.config_error() {
            Some(error) => Err(error.clone()),
            None => Ok(client),
        }
    }

    /// A client with any async-openai [`Config`] (for example
    /// `AzureConfig`, or your own) and a default `reqwest::Client`.
    ///
    /// The configuration's `headers()` are called for every request, so a
    /// configuration may rotate credentials. They are called once here too:
    /// if they panic (async-openai's configurations do on a header value HTTP
    /// forbids), every request fails with
    /// [`ModelError::InvalidHeader`](agents_core::ModelError::InvalidHeader)
    /// instead (see [`config_error`](Self::config_error)).
    pub fn with_config(config: impl Config + 'static) -> Self {
        let config: Arc<dyn Config> = Arc::new(config);
        let config_error = check_key(config.api_key().expose_secret())
            .or_else(|| check_headers(&*config, "(a header of the configuration)"));
        Self::from_parts(config, config_error)
    }

    fn from_parts(config: Arc<dyn Config>, config_error: Option<ModelError>) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: HttpClient::new(),
                config,
                config_error,
            }),
        }
    }

    /// The configuration problem every request of this client reports, if
    /// any (a header value HTTP forbids). The error never shows the value.
    pub fn config_error(&self) -> Option<&ModelError> {
        self.inner.config_error.as_ref()
    }

    /// Uses these size limits on what is read from the server (see
    /// [`ResponseLimits`] for the defaults).
    pub fn with_response_limits(self, limits: ResponseLimits) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: self.inner.http.clone().with_limits(limits),
                config: self.inner.config.clone(),
                config_error: self.inner.config_error.clone(),
            }),
        }
    }

    /// The size limits on what is read from the server.
    pub fn response_limits(&self) -> ResponseLimits {
        self.inner.http.limits()
    }

    /// A client configured from the environment like async-openai's
    /// `OpenAIConfig::default()`: `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`. Never fails; see
    /// [`OpenAIProvider`](crate::OpenAIProvider) for what a missing key means.
    pub fn from_env() -> Self {
        crate::provider::OpenAIProvider::from_env().client().clone()
    }

    /// Uses `http` to send requests (timeouts, proxies, TLS roots, connection
    /// pool settings are then the caller's choice).
    pub fn with_http_client(self, http: reqwest::Client) -> Self {
        OpenAIClient {
            inner: Arc::new(Inner {
                http: self.inner.http.clone().with_reqwest(http),
                config: self.inner.config.clone(),
                config_error: self.inner.config_error.clone(),
            }),
        }
    }

    /// The API base URL (for example `https://api.openai.com/v1`).
    pub fn base_url(&self) -> &str {
        self.inner.config.api_base()
    }

    /// The async-openai configuration.
    pub fn config(&self) -> &dyn Config {
        &*self.inner.config
    }

    /// The `reqwest::Client` used to send requests, if it could be built.
    pub fn http_client(&self) -> Option<&reqwest::Client> {
        self.inner.http.reqwest().ok()
    }

    /// The shared HTTP transport (retries, timeouts, limits, typed errors).
    pub(crate) fn transport(&self) -> &HttpClient {
        &self.inner.http
    }

    /// Whether an API key is configured.
    pub fn has_api_key(&self) -> bool {
        !self.inner.config.api_key().expose_secret().is_empty()
    }

    /// A client whose every request fails with `error`. The configuration's
    /// key, organization and project are cleared, so that nothing secret is
    /// kept and its `headers()` cannot panic.
    pub(crate) fn with_config_error(config: OpenAIConfig, error: ModelError) -> Self {
        let config = config.with_api_key("").with_org_id("").with_project_id("");
        Self::from_parts(Arc::new(config), Some(error))
    }

    /// The request of one attempt, with every header it carries.
    pub(crate) fn build_request(
        &self,
        path: &str,
        body: &Bytes,
        settings: &ModelSettings,
        stream: bool,
    ) -> Result<(&reqwest::Client, reqwest::Request), ModelError> {
        if let Some(error) = &self.inner.config_error {
            return Err(error.clone());
        }
        let http = self.inner.http.reqwest()?;
        let config = &*self.inner.config;
        let mut headers = catch_unwind(AssertUnwindSafe(|| config.headers())).map_err(|_| {
            ModelError::InvalidHeader {
                name: "(a header of the configuration)".to_owned(),
            }
        })?;
        if !self.has_api_key() {
            if is_official(config.api_base()) {
                return Err(ModelError::Other(
                    "no OpenAI API key is configured: set OPENAI_API_KEY or pass one with \
                     OpenAIProvider::builder().api_key(..)"
                        .to_owned(),
                ));
            }
            // A local OpenAI-compatible server: send no `Authorization: Bearer ` with an empty key.
            if headers
                .get(AUTHORIZATION)
                .is_some_and(|v| v.as_bytes().trim_ascii() == b"Bearer")
            {
                headers.remove(AUTHORIZATION);
            }
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        insert_extra_headers(&mut headers, settings)?;
        let mut request = http.post(config.url(path)).headers(headers);
        let query = config.query();
        if !query.is_empty() {
            request = request.query(&query);
        }
        if let Some(extra) = &settings.extra_query {
            request = request.query(extra);
        }
        let request = request
            .body(body.clone())
            .build()
            .map_err(map_reqwest_error)?;
        Ok((http, request))
    }
}

impl fmt::Debug for OpenAIClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAIClient")
            .field("base_url", &self.base_url())
            .field(
                "api_key",
                &if self.has_api_key() {
                    "<redacted>"
                } else {
                    "<unset>"
                },
            )
            .finish_non_exhaustive()
    }
}

/// Whether `base_url` points at the official OpenAI API (which needs a key).
pub(crate) fn is_official(base_url: &str) -> bool {
    let rest = base_url
        .strip_prefix("https://")
        .or_else(|| base_url.strip_prefix("http://"))
        .unwrap_or(base_url);
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    host.eq_ignore_ascii_case("api.openai.com")
}

/// A key that cannot be sent as `Authorization: Bearer <key>` (async-openai
/// would `unwrap` the header value and panic).
fn check_key(key: &str) -> Option<ModelError> {
    HeaderValue::from_str(&format!("Bearer {key}"))
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: "Authorization".to_owned(),
        })
}

/// A header value HTTP does not allow, reported under `name`.
pub(crate) fn check_value(name: &str, value: &str) -> Option<ModelError> {
    HeaderValue::from_str(value)
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: name.to_owned(),
        })
}

/// Calls the configuration's `headers()` once: async-openai's configurations
/// panic on a value HTTP forbids (the project id has no getter, so this is the
/// only way to check it). The panic is caught and reported under `culprit`.
fn check_headers(config: &dyn Config, culprit: &str) -> Option<ModelError> {
    catch_unwind(AssertUnwindSafe(|| config.headers()))
        .is_err()
        .then(|| ModelError::InvalidHeader {
            name: culprit.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_hosts_are_recognized() {
        assert!(is_official("https://api.openai.com/v1"));
        assert!(is_official("https://API.openai.com"));
        assert!(!is_official("http://127.0.0.1:11434/v1"));
        assert!(!is_official("https://api.openai.com.evil.example/v1"));
        assert!(!is_official("https://my-proxy.example/api.openai.com/v1"));
    }

    #[test]
    fn a_key_that_is_not_a_header_value_is_reported_not_panicking() {
        let client = OpenAIClient::new(OpenAIConfig::new().with_api_key("sk-abc\n"));
        let err = client
            .build_request("/responses", &Bytes::new(), &ModelSettings::new(), false)
            .expect_err("invalid key");
        assert!(
            matches!(&err, ModelError::InvalidHeader { name } if name == "Authorization"),
            "{err:?}"
        );
        assert!(err.to_string().contains("HTTP does not allow"), "{err}");
        assert!(!err.to_string().contains("sk-abc"));
        assert!(!format!("{err:?}").contains("sk-abc"));
    }

    /// Builds a client from `config` and checks the typed error, at build
    /// time and per request, never showing `secret`.
    fn check_invalid(config: OpenAIConfig, header: &str, secret: &str) {
        let client = OpenAIClient::new(config.clone());
        for err in [
            client.config_error().cloned().expect("found at build time"),
            client
                .build_request("/responses", &Bytes::new(), &ModelSettings::new(), true)
                .expect_err("every request fails"),
            OpenAIClient::try_new(config).expect_err("try_new fails"),
        ] {
            assert!(
                matches!(&err, ModelError::InvalidHeader { name } if name == header),
                "{header}: {err:?}"
            );
            for shown in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    }

    #[test]
    fn every_configured_header_value_is_checked_when_the_client_is_built() {
        let base = || OpenAIConfig::new().with_api_base("http://127.0.0.1:1/v1");
        check_invalid(
            base().with_api_key("sk-secret-1\n"),
            "Authorization",
            "secret-1",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_org_id("org-secret-2\r\nX: y"),
            "OpenAI-Organization",
            "secret-2",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_project_id("proj-secret-3\n"),
            "OpenAI-Project",
            "secret-3",
        );
        check_invalid(
            base()
                .with_api_key("sk-k")
                .with_project_id("proj-secret-4\u{7f}"),
            "OpenAI-Project",
            "secret-4",
        );
        // The configuration kept by a broken client holds no secret and
        // cannot panic.
        let client = OpenAIClient::new(base().with_api_key("sk-k").with_project_id("p\n"));
        assert!(!client.has_api_key());
        assert!(client.config().headers().get("openai-project").is_none());
        // A sound configuration is accepted, tabs and UTF-8 included.
        let ok = OpenAIClient::try_new(
            base()
                .with_api_key("sk-k")
                .with_org_id("org\tx")
                .with_project_id("projé"),
        )
        .expect("valid");
        assert!(ok.config_error().is_none());
    }

    #[test]
    fn extra_header_names_and_values_are_checked_per_request() {
        let client = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("sk-k")
                .with_api_base("http://127.0.0.1:1/v1"),
        );
        let check = |name: &str, value: &str, shown_name: &str| {
            let settings = ModelSettings::new().extra_headers(
                [(name.to_owned(), value.to_owned())]
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
            );
            let err = client
                .build_request("/responses", &Bytes::new(), &settings, false)
                .expect_err("invalid header");
            assert!(
                matches!(&err, ModelError::InvalidHeader { name } if name == shown_name),
                "{err:?}"
            );
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        };
        check("api-key", "hunter2-gateway\n", "api-key");
        check("x-api-key", "hunter2\r", "x-api-key");
        check("bad name", "v", "bad name");
        check("x-a\nb", "v", "x-a\\nb");
        check(
            "Authorization: Bearer sk-hunter2hunter2",
            "v",
            "Authorization: <redacted>",
        );
        let settings = ModelSettings::new().extra_headers(
            [("api-key".to_owned(), "hunter2-ok".to_owned())]
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        );
        let (_, request) = client
            .build_request("/responses", &Bytes::new(), &settings, false)
            .expect("valid header");
        assert_eq!(request.headers()["api-key"], "hunter2-ok");
    }

    #[test]
    fn official_api_without_key_is_a_clear_error_local_server_is_not() {
        let official = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("")
                .with_api_base(OPENAI_BASE_URL),
        );
        let err = official
            .build_request("/responses", &Bytes::new(), &ModelSettings::new(), false)
            .expect_err("no key");
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");

        let local = OpenAIClient::new(
            OpenAIConfig::new()
                .with_api_key("")
                .with_api_base("http://127.0.0.1:1/v1"),
        );
        let request = local
            .build_request(
                "/chat/completions",
                &Bytes::new(),
                &ModelSettings::new(),
                false,
            )
            .expect("local servers need no key")
            .1;
        assert!(request.headers().get(AUTHORIZATION).is_none());
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:1/v1/chat/completions"
        );
    }
}
