//! The mock HTTP server.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use axum::Router;
use serde_json::Value;
use tokio::sync::{oneshot, Notify};

use crate::render::{self, BodyPlan, RequestInfo, Segment};
use crate::reply::Reply;
use crate::spec::{self, Schema};
use crate::strict;

/// Request bodies larger than this are refused (far above anything a test sends).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// Pause before a scripted disconnect, so that the data before it reaches the client.
const ABORT_FLUSH_DELAY: Duration = Duration::from_millis(10);
/// At most this many failure messages are kept; later ones are only counted.
const MAX_FAILURES: usize = 1000;

/// Which OpenAI API a request went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// `POST /v1/responses`, validated against `CreateResponse`.
    Responses,
    /// `POST /v1/chat/completions`, validated against `CreateChatCompletionRequest`.
    ChatCompletions,
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`, validated
    /// against the official `google-genai` types (see [`crate::gemini`]).
    Gemini,
    /// `POST /v1/messages` (Anthropic), validated against the official `anthropic` types (see
    /// [`crate::anthropic`]).
    Anthropic,
}

impl Api {
    /// The request path, e.g. `/v1/responses`.
    pub fn path(self) -> &'static str {
        match self {
            Api::Responses => "/v1/responses",
            Api::ChatCompletions => "/v1/chat/completions",
            Api::Gemini => "/v1beta/models/{model}:generateContent",
            Api::Anthropic => "/v1/messages",
        }
    }

    fn request_schema(self) -> Schema {
        match self {
            Api::Responses => Schema::CreateResponse,
            Api::ChatCompletions => Schema::CreateChatCompletionRequest,
            // Not used: Gemini bodies are validated by `crate::gemini`.
            Api::Gemini | Api::Anthropic => Schema::CreateResponse,
        }
    }

    fn rules(self) -> strict::Body {
        match self {
            Api::Responses => strict::Body::Responses,
            Api::ChatCompletions => strict::Body::Chat,
            // Not used: Gemini bodies are validated by `crate::gemini`.
            Api::Gemini | Api::Anthropic => strict::Body::Chat,
        }
    }

    fn schema_name(self) -> &'static str {
        match self {
            Api::Responses => "CreateResponse",
            Api::ChatCompletions => "CreateChatCompletionRequest",
            Api::Gemini => "official google-genai types",
            Api::Anthropic => "official anthropic MessageCreateParams",
        }
    }
}

/// A request the mock server received on one of its two endpoints.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CapturedRequest {
    /// 1-based number of the request on this server (also in its `x-request-id`, `req_mock_N`).
    pub number: u64,
    /// The HTTP method (always `POST` for captured requests).
    pub method: String,
    /// The request path, e.g. `/v1/responses`.
    pub path: String,
    /// The raw query string without the `?`, if any.
    pub query: Option<String>,
    /// Headers by lowercased name; repeated headers are joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Value::Null` if the body was not JSON; see `validation_errors`).
    pub body: Value,
    /// The API the request went to.
    pub api: Api,
    /// Why the body is refused (empty when valid): for the OpenAI APIs, where it does not match
    /// the OpenAPI schema (empty when the spec is not available outside CI), followed by the
    /// rules of the real service it breaks beyond the spec (strict-mode schemas, placeholder
    /// item ids; see [`crate::strict`]); for Anthropic and Gemini, what the official SDK's
    /// types and the service's rules refuse (see [`crate::anthropic`], [`crate::gemini`]).
    pub validation_errors: Vec<String>,
}

impl CapturedRequest {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether the body asked for a stream (`"stream": true`).
    pub fn is_stream(&self) -> bool {
        self.body.get("stream") == Some(&Value::Bool(true))
            || (self.api == Api::Gemini && crate::gemini::is_stream_path(&self.path))
    }

    /// Whether the body passed every check (see [`validation_errors`](Self::validation_errors)).
    pub fn is_valid(&self) -> bool {
        self.validation_errors.is_empty()
    }
}

/// State shared by the server task and every handle.
struct Shared {
    script: Mutex<Script>,
    captured: Mutex<VecDeque<CapturedRequest>>,
    max_captured: usize,
    failures: Mutex<Failures>,
    /// Numbers handed out to arriving requests.
    next_number: AtomicU64,
    /// Requests fully recorded (captured or counted), for `received_count`.
    received: AtomicU64,
    arrived: Notify,
    verified: AtomicBool,
    /// Whether Anthropic and Gemini bodies go through the Python validator.
    python_validation: bool,
    /// `POST /v1/traces/ingest`.
    traces: crate::traces::TraceIngest,
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Reply>,
    default: Option<Reply>,
}

#[derive(Default)]
struct Failures {
    messages: Vec<String>,
    dropped: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks cannot leave the data half-updated in a way that
    // matters to a test double; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn fail(&self, message: String) {
        let mut failures = lock(&self.failures);
        if failures.messages.len() < MAX_FAILURES {
            failures.messages.push(message);
        } else {
            failures.dropped += 1;
        }
    }
}

/// A scriptable mock of the OpenAI HTTP API on `127.0.0.1`.
///
/// It serves `POST /v1/responses` and `POST /v1/chat/completions` (JSON, or SSE when the body
/// has `"stream": true`) from a FIFO queue of [`Reply`]s shared by both endpoints, captures
/// every request, and validates every request body against the official OpenAPI spec (see
/// [`spec_path`](crate::spec_path)).
///
/// - A body that does not match the schema is recorded and answered with `400` and an
///   OpenAI-shaped error listing the schema errors; it does not consume a scripted reply.
/// - So is a body that breaks a rule the real service enforces beyond the spec
///   ([`crate::strict`]): a strict tool or output schema outside strict mode's subset, or a
///   placeholder input item id (`__fake_id__`). The message names the rule and where it broke.
/// - A request that finds the queue empty (and no [`default`](MockServer::set_default)) is
///   recorded as unexpected and answered with `500`.
/// - [`verify`](MockServer::verify) / [`assert_ok`](MockServer::assert_ok) report both kinds, as
///   well as requests to unknown paths.
///
/// Every response carries a `req_mock_N` request id: in `x-request-id`, or in `request-id` on
/// the Anthropic endpoint, as Anthropic names it.
///
/// The handle is cheap to clone; the server shuts down when the last clone is dropped.
#[derive(Clone)]
pub struct MockServer {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(tx) = lock(&self.shutdown).take() {
            let _ = tx.send(());
        }
        if !self.shared.verified.load(Ordering::Relaxed) && !std::thread::panicking() {
            if let Err(report) = verify_shared(&self.shared, &self.base_url) {
                eprintln!("{report}\n(the mock server was dropped without verify()/assert_ok())");
            }
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.handle.base_url)
            .field("received", &self.received_count())
            .finish_non_exhaustive()
    }
}

/// Configures a [`MockServer`] before starting it. Made by [`MockServer::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct MockServerBuilder {
    max_captured: Option<usize>,
    default: Option<Reply>,
    replies: Vec<Reply>,
    without_python_validation: bool,
}

impl MockServerBuilder {
    /// Keeps only the last `n` captured requests (older ones are dropped; the count returned by
    /// [`MockServer::received_count`] and the recorded failures are not affected). Meant for
    /// benchmarks that send many thousands of requests. Default: keep all.
    pub fn max_captured(mut self, n: usize) -> Self {
        self.max_captured = Some(n);
        self
    }

    /// Sets the reply used whenever the queue is empty (see [`MockServer::set_default`]).
    pub fn default_reply(mut self, reply: Reply) -> Self {
        self.default = Some(reply);
        self
    }

    /// Queues a reply before the server starts.
    pub fn reply(mut self, reply: Reply) -> Self {
        self.replies.push(reply);
        self
    }

    /// For benchmarks only: Anthropic and Gemini request bodies skip the Python validator (the
    /// official SDKs' types and service rules), which costs a round trip to another process per
    /// request. The checks made in Rust stay: the Anthropic headers, Gemini's thought-signature
    /// rule, and the OpenAI endpoints' OpenAPI and strict-mode validation. Tests must not use
    /// it: without the validator the mock accepts bodies the real services refuse.
    pub fn without_python_validation(mut self) -> Self {
        self.without_python_validation = true;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving in a background task of the current tokio
    /// runtime.
    ///
    /// Before returning, the OpenAPI spec is loaded and the request validators compiled (once per
    /// process), so that no request pays for it.
    ///
    /// # Panics
    ///
    /// Panics outside a tokio runtime, if no loopback port can be bound, and — when `CI=true` —
    /// if the OpenAPI spec cannot be found. A spec that is found but unreadable always panics.
    pub async fn start(self) -> MockServer {
        match tokio::task::spawn_blocking(spec::warm_request_validators).await {
            Ok(()) => {}
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("agents-testkit: loading the OpenAPI spec failed: {e}"),
        }

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("agents-testkit: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("agents-testkit: no local address: {e}"));
        let listener = listener.tap_io(|tcp| {
            // Small SSE writes must not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        });

        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                queue: self.replies.into(),
                default: self.default,
            }),
            captured: Mutex::new(VecDeque::new()),
            max_captured: self.max_captured.unwrap_or(usize::MAX),
            failures: Mutex::new(Failures::default()),
            next_number: AtomicU64::new(0),
            received: AtomicU64::new(0),
            arrived: Notify::new(),
            verified: AtomicBool::new(false),
            python_validation: !self.without_python_validation,
            traces: crate::traces::TraceIngest::default(),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (tx, rx) = oneshot::channel::<()>();
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        tokio::spawn(async move {
            if let Err(e) = serve.await {
                eprintln!("agents-testkit: mock server stopped with an error: {e}");
            }
        });

        MockServer {
            handle: Arc::new(Handle {
                shared,
                addr,
                base_url: format!("http://{addr}/v1"),
                shutdown: Mutex::new(Some(tx)),
            }),
        }
    }
}

impl MockServer {
    /// Starts a server with the default configuration. See [`MockServerBuilder::start`].
    ///
    /// # Panics
    ///
    /// As [`MockServerBuilder::start`].
    pub async fn start() -> MockServer {
        MockServerBuilder::default().start().await
    }

    /// A builder for a server with a custom configuration.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The base URL to give an OpenAI client: `http://127.0.0.1:PORT/v1` (clients append
    /// `/responses` or `/chat/completions`).
    pub fn base_url(&self) -> &str {
        &self.handle.base_url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr
    }

    /// Queues one reply (FIFO, shared by both endpoints).
    pub fn push(&self, reply: Reply) {
        lock(&self.handle.shared.script).queue.push_back(reply);
    }

    /// Queues several replies in order.
    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.handle.shared.script).queue.extend(replies);
    }

    /// Sets the reply used whenever the queue is empty ("repeat" mode, for benchmarks). A
    /// request served by the default is not a failure. Queued replies still go first.
    pub fn set_default(&self, reply: Reply) {
        lock(&self.handle.shared.script).default = Some(reply);
    }

    /// Removes the default reply: requests that find the queue empty are failures again.
    pub fn clear_default(&self) {
        lock(&self.handle.shared.script).default = None;
    }

    /// Number of queued replies not yet used.
    pub fn pending_replies(&self) -> usize {
        lock(&self.handle.shared.script).queue.len()
    }

    /// The captured requests to `/v1/responses` and `/v1/chat/completions`, oldest first
    /// (bounded by [`MockServerBuilder::max_captured`]).
    pub fn requests(&self) -> Vec<CapturedRequest> {
        lock(&self.handle.shared.captured).iter().cloned().collect()
    }

    /// The most recent captured request.
    pub fn last_request(&self) -> Option<CapturedRequest> {
        lock(&self.handle.shared.captured).back().cloned()
    }

    /// Forgets the captured requests (not the failures nor the count).
    pub fn clear_requests(&self) {
        lock(&self.handle.shared.captured).clear();
    }

    /// How many requests to the two endpoints have been received and recorded so far (valid or
    /// not).
    pub fn received_count(&self) -> u64 {
        self.handle.shared.received.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests have been received, then returns the captured
    /// requests. Returns an error naming the count reached if `timeout` passes first.
    pub async fn wait_for_requests(
        &self,
        n: u64,
        timeout: Duration,
    ) -> Result<Vec<CapturedRequest>, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.handle.shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.received_count() >= n {
                return Ok(self.requests());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "agents-testkit: waited {timeout:?} for {n} request(s), got {}",
                    self.received_count()
                ));
            }
        }
    }

    /// What `POST /v1/traces/ingest` (the OpenAI traces backend) received, validated strictly
    /// (see [`crate::traces`]); separate from [`requests`](MockServer::requests).
    pub fn trace_ingest(&self) -> &crate::traces::TraceIngest {
        &self.handle.shared.traces
    }

    /// Checks that every request so far was valid and expected.
    ///
    /// Returns an error listing every body that failed schema validation, every request that
    /// found no scripted reply, and every request to an unknown path.
    pub fn verify(&self) -> Result<(), String> {
        self.handle.shared.verified.store(true, Ordering::Relaxed);
        verify_shared(&self.handle.shared, &self.handle.base_url)
    }

    /// Panics with the report of [`verify`](MockServer::verify) if it fails.
    #[track_caller]
    pub fn assert_ok(&self) {
        if let Err(report) = self.verify() {
            panic!("{report}");
        }
    }
}

fn verify_shared(shared: &Shared, base_url: &str) -> Result<(), String> {
    let failures = lock(&shared.failures);
    if failures.messages.is_empty() {
        return Ok(());
    }
    let total = failures.messages.len() + failures.dropped;
    let mut report = format!(
        "agents-testkit: {total} problem(s) with requests to the mock server at {base_url}:"
    );
    for (i, message) in failures.messages.iter().enumerate() {
        let _ = write!(
            report,
            "\n  {}. {}",
            i + 1,
            message.replace('\n', "\n     ")
        );
    }
    if failures.dropped > 0 {
        let _ = write!(report, "\n  … and {} more", failures.dropped);
    }
    Err(report)
}

/// Handles every request: routes, validates, captures, pops a reply and renders it.
async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if parts.method == Method::POST && path == crate::traces::TRACES_INGEST_PATH {
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .unwrap_or_default();
        let (status, reply) = shared.traces.handle(&parts.headers, &bytes);
        let mut response = Response::new(Body::from(reply.to_string()));
        *response.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return response;
    }
    let api = match (&parts.method, path) {
        (&Method::POST, "/v1/responses") => Api::Responses,
        (&Method::POST, "/v1/chat/completions") => Api::ChatCompletions,
        (&Method::POST, p) if crate::gemini::is_gemini_path(p) => Api::Gemini,
        (&Method::POST, p) if crate::anthropic::is_anthropic_path(p) => Api::Anthropic,
        _ => {
            let message = format!(
                "unexpected request {} {} (the mock serves POST /v1/responses, /v1/chat/completions, \
                 /v1/messages and /v1beta/models/{{model}}:generateContent)",
                parts.method,
                parts.uri
            );
            shared.fail(message.clone());
            return error_response(
                None,
                404,
                None,
                &message,
                "invalid_request_error",
                Some("mock_unknown_path"),
            );
        }
    };
    let number = shared.next_number.fetch_add(1, Ordering::SeqCst) + 1;
    let request_id = format!("req_mock_{number}");

    // True when an OpenAI body matches the OpenAPI schema but breaks a rule the service
    // enforces beyond it (strict schemas, item ids).
    let mut rule_violation = false;
    let (body, validation_errors) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => {
                let (mut errors, rule_errors) = if api == Api::Anthropic {
                    (
                        crate::anthropic::validate_request(
                            &value,
                            &parts.headers,
                            shared.python_validation,
                        ),
                        Vec::new(),
                    )
                } else if api == Api::Gemini {
                    (
                        crate::gemini::validate_request(&value, shared.python_validation),
                        Vec::new(),
                    )
                } else {
                    let errors = spec::validate(api.request_schema(), &value)
                        .err()
                        .unwrap_or_default();
                    (errors, strict::check_request(api.rules(), &value))
                };
                rule_violation = errors.is_empty() && !rule_errors.is_empty();
                errors.extend(rule_errors);
                (value, errors)
            }
            Err(e) => (Value::Null, vec![format!("the body is not JSON: {e}")]),
        },
        Err(e) => (
            Value::Null,
            vec![format!("the body could not be read: {e}")],
        ),
    };

    let headers = capture_headers(&parts.headers);
    let query = parts.uri.query().map(str::to_owned);
    let path = path.to_owned();
    let method = parts.method.to_string();

    // Decide and render before capturing, so that the body can be moved into the capture.
    let outcome = if validation_errors.is_empty() {
        let reply = {
            let mut script = lock(&shared.script);
            script.queue.pop_front().or_else(|| script.default.clone())
        };
        match reply {
            Some(reply) => {
                let info = RequestInfo {
                    api,
                    body: &body,
                    stream: body.get("stream") == Some(&Value::Bool(true))
                        || (api == Api::Gemini && crate::gemini::is_stream_path(&path)),
                    include_usage: body.pointer("/stream_options/include_usage")
                        == Some(&Value::Bool(true)),
                    path: &path,
                };
                let rendered = render::render(&reply.spec, &info);
                Outcome::Reply(reply, rendered)
            }
            None => {
                let message = format!(
                    "request #{number} POST {path}: the mock has no scripted reply left \
                     (unexpected request; push a Reply or set a default)"
                );
                shared.fail(message.clone());
                Outcome::Error(error_response(
                    Some(api),
                    500,
                    Some(&request_id),
                    &message,
                    "server_error",
                    Some("mock_no_scripted_reply"),
                ))
            }
        }
    } else {
        let (mut message, code) = if rule_violation {
            (
                format!(
                    "request #{number} POST {path}: the body breaks a rule the real service \
                     enforces:"
                ),
                "mock_rule_violated",
            )
        } else if matches!(api, Api::Anthropic | Api::Gemini) {
            // No OpenAPI document here: the official Python SDK's types and the service's
            // rules are what refused it.
            (
                format!(
                    "request #{number} POST {path}: the body does not validate against the {} \
                     and the service's rules:",
                    api.schema_name()
                ),
                "mock_schema_validation_failed",
            )
        } else {
            (
                format!(
                    "request #{number} POST {path}: the body does not match the OpenAPI schema {}:",
                    api.schema_name()
                ),
                "mock_schema_validation_failed",
            )
        };
        for error in &validation_errors {
            let _ = write!(message, "\n- {error}");
        }
        shared.fail(message.clone());
        Outcome::Error(error_response(
            Some(api),
            400,
            Some(&request_id),
            &message,
            "invalid_request_error",
            Some(code),
        ))
    };

    {
        let mut captured = lock(&shared.captured);
        if shared.max_captured > 0 {
            if captured.len() >= shared.max_captured {
                captured.pop_front();
            }
            captured.push_back(CapturedRequest {
                number,
                method,
                path,
                query,
                headers,
                body,
                api,
                validation_errors,
            });
        }
    }
    shared.received.fetch_add(1, Ordering::SeqCst);
    shared.arrived.notify_waiters();

    let (reply, rendered) = match outcome {
        Outcome::Reply(reply, rendered) => (reply, rendered),
        Outcome::Error(response) => return response,
    };
    if let Some(delay) = reply.spec.stall_before_headers() {
        tokio::time::sleep(delay).await;
    }
    build_response(&shared, api, number, &request_id, &reply, rendered)
}

/// What a request is answered with.
enum Outcome {
    /// A scripted reply, rendered.
    Reply(Reply, render::Rendered),
    /// An error of the mock itself (invalid body, no reply left).
    Error(Response),
}

/// The header carrying the request id: Anthropic's `request-id`, else `x-request-id`.
fn request_id_header(api: Option<Api>) -> HeaderName {
    if api == Some(Api::Anthropic) {
        HeaderName::from_static("request-id")
    } else {
        HeaderName::from_static("x-request-id")
    }
}

fn build_response(
    shared: &Shared,
    api: Api,
    number: u64,
    request_id: &str,
    reply: &Reply,
    rendered: render::Rendered,
) -> Response {
    let body = match rendered.body {
        BodyPlan::Full(bytes) => Body::from(bytes),
        BodyPlan::Segments(segments) => Body::from_stream(segments_stream(segments)),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    if rendered.content_type.starts_with("text/event-stream") {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(request_id_header(Some(api)), value);
    }
    if let Some(delay) = reply.spec.retry_after {
        let millis = delay.as_millis();
        let seconds = millis.div_ceil(1000);
        headers.insert(
            HeaderName::from_static("retry-after"),
            HeaderValue::from(seconds as u64),
        );
        headers.insert(
            HeaderName::from_static("retry-after-ms"),
            HeaderValue::from(millis as u64),
        );
    }
    for (name, value) in &reply.spec.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                let message = format!(
                    "request #{number}: the scripted reply has an invalid header {name:?}: {value:?}"
                );
                shared.fail(message.clone());
                return error_response(
                    Some(api),
                    500,
                    Some(request_id),
                    &message,
                    "server_error",
                    Some("mock_invalid_header"),
                );
            }
        }
    }
    response
}

/// Turns planned segments into a body stream: data is sent, sleeps pause, an abort makes the
/// body fail so that the connection is closed without a proper end.
fn segments_stream(
    segments: Vec<Segment>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures::stream::unfold(segments.into_iter(), |mut rest| async move {
        loop {
            match rest.next()? {
                Segment::Data(bytes) => return Some((Ok(bytes), rest)),
                Segment::Sleep(delay) => tokio::time::sleep(delay).await,
                Segment::Abort => {
                    // Let hyper flush what was sent so far; an error polled right after the data
                    // would close the connection before the head is even written.
                    tokio::time::sleep(ABORT_FLUSH_DELAY).await;
                    let error = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "agents-testkit: scripted disconnect",
                    );
                    return Some((Err(error), rest));
                }
            }
        }
    })
}

/// An error of the mock itself, shaped as `api`'s errors are (OpenAI's shape when unknown).
fn error_response(
    api: Option<Api>,
    status: u16,
    request_id: Option<&str>,
    message: &str,
    kind: &str,
    code: Option<&str>,
) -> Response {
    let message = format!("agents-testkit: {message}");
    let body = match api {
        Some(Api::Anthropic) => crate::anthropic::error_body(status, &message, request_id),
        Some(Api::Gemini) => crate::gemini::error_body(status, &message),
        _ => render::error_body(&message, kind, code, None),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(request_id_header(api), id);
    }
    response
}

fn capture_headers(headers: &axum::http::HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        out.entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}
