//! Tools: the [`Tool`] trait and [`FunctionTool`], a tool built from a typed
//! async closure.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::context::RunContext;
use crate::items::{Content, ContentPart};
use crate::schema::strict_schema;

/// What a tool invocation sees besides its arguments.
pub struct ToolContext<C = ()> {
    /// The run's context.
    pub run: RunContext<C>,
    /// The tool's name.
    pub tool_name: String,
    /// The model's call id.
    pub call_id: String,
    /// Cancelled when the run is cancelled; long-running tools should watch it.
    pub cancel: CancellationToken,
}

impl<C> ToolContext<C> {
    /// The user's context value.
    pub fn context(&self) -> &C {
        self.run.context()
    }
}

impl<C> Clone for ToolContext<C> {
    fn clone(&self) -> Self {
        ToolContext {
            run: self.run.clone(),
            tool_name: self.tool_name.clone(),
            call_id: self.call_id.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<C> fmt::Debug for ToolContext<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolContext")
            .field("tool_name", &self.tool_name)
            .field("call_id", &self.call_id)
            .finish_non_exhaustive()
    }
}

/// The output of a tool: text, JSON or an image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ToolOutput {
    /// Plain text.
    Text(String),
    /// A JSON value (sent to the model as its JSON text).
    Json(Value),
    /// An image, by URL or `data:` URL.
    Image {
        /// The image URL or data URL.
        url: String,
        /// `low`, `high` or `auto`.
        detail: Option<String>,
    },
    /// Several content parts (text and images).
    Parts(Vec<ContentPart>),
}

impl ToolOutput {
    /// A text output.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput::Text(text.into())
    }

    /// A JSON output from any serializable value.
    pub fn json<T: Serialize>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_value(value).map(ToolOutput::Json)
    }

    /// An image output.
    pub fn image(url: impl Into<String>) -> Self {
        ToolOutput::Image {
            url: url.into(),
            detail: None,
        }
    }

    /// The output as `function_call_output` content.
    pub fn to_content(&self) -> Content {
        match self {
            ToolOutput::Text(t) => Content::Text(t.clone()),
            ToolOutput::Json(v) => Content::Text(v.to_string()),
            ToolOutput::Image { url, detail } => Content::Parts(vec![ContentPart::InputImage {
                image_url: Some(url.clone()),
                file_id: None,
                detail: detail.clone(),
            }]),
            ToolOutput::Parts(p) => Content::Parts(p.clone()),
        }
    }

    /// The output as text (JSON rendered, images as their URL).
    pub fn to_text(&self) -> String {
        match self {
            ToolOutput::Text(t) => t.clone(),
            ToolOutput::Json(v) => v.to_string(),
            ToolOutput::Image { url, .. } => url.clone(),
            ToolOutput::Parts(p) => Content::Parts(p.clone()).text(),
        }
    }
}

/// Values a [`FunctionTool`] closure may return.
pub trait IntoToolOutput {
    /// Converts into a tool output.
    fn into_tool_output(self) -> ToolOutput;
}

impl IntoToolOutput for ToolOutput {
    fn into_tool_output(self) -> ToolOutput {
        self
    }
}
impl IntoToolOutput for String {
    fn into_tool_output(self) -> ToolOutput {
        ToolOutput::Text(self)
    }
}
impl IntoToolOutput for &'static str {
    fn into_tool_output(self) -> ToolOutput {
        ToolOutput::Text(self.to_owned())
    }
}
impl IntoToolOutput for Value {
    fn into_tool_output(self) -> ToolOutput {
        ToolOutput::Json(self)
    }
}

/// Wraps any serializable value as a JSON tool output.
#[derive(Clone, Debug)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoToolOutput for Json<T> {
    fn into_tool_output(self) -> ToolOutput {
        match serde_json::to_value(&self.0) {
            Ok(v) => ToolOutput::Json(v),
            Err(e) => ToolOutput::Text(format!("tool output could not be serialized: {e}")),
        }
    }
}

/// Why a tool invocation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments were not valid JSON or did not match the schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool reported a failure.
    #[error("{0}")]
    Failed(String),
    /// The tool took longer than its timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The tool panicked.
    #[error("panicked: {0}")]
    Panicked(String),
    /// The model called a tool that does not exist.
    #[error("tool `{0}` not found")]
    NotFound(String),
    /// The run was cancelled while the tool ran.
    #[error("cancelled")]
    Cancelled,
}

impl ToolError {
    /// A failure with a message.
    pub fn failed(message: impl fmt::Display) -> Self {
        ToolError::Failed(message.to_string())
    }
}

/// The default text the model sees when a tool fails.
pub fn default_tool_error_message(tool: &str, error: &ToolError) -> String {
    format!("Error: tool `{tool}` failed: {error}. You may fix the arguments and try again.")
}

/// A tool the model can call. Object-safe: agents hold tools as
/// `Arc<dyn Tool<C>>`.
pub trait Tool<C = ()>: Send + Sync {
    /// The name the model calls.
    fn name(&self) -> &str;

    /// What the tool does, for the model.
    fn description(&self) -> &str;

    /// JSON schema of the arguments object.
    fn parameters(&self) -> &Value;

    /// Whether the provider should enforce the schema strictly.
    fn strict(&self) -> bool {
        true
    }

    /// Whether the tool is offered in this run.
    fn is_enabled(&self, _ctx: &RunContext<C>) -> bool {
        true
    }

    /// How long one invocation may take.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Runs the tool with the model's raw JSON arguments.
    fn invoke<'a>(
        &'a self,
        ctx: ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;

    /// The text the model sees when the tool fails.
    fn format_error(&self, error: &ToolError) -> String {
        default_tool_error_message(self.name(), error)
    }
}

type Handler<C, A> = Arc<
    dyn Fn(ToolContext<C>, A) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync,
>;
type EnabledFn<C> = Arc<dyn Fn(&RunContext<C>) -> bool + Send + Sync>;
type ErrorFormatter = Arc<dyn Fn(&str, &ToolError) -> String + Send + Sync>;

/// A tool built from a typed async closure.
///
/// The argument type `A` is deserialized from the model's JSON and describes
/// the parameters through its [`JsonSchema`]. The schema is strict (all
/// properties required, no additional properties) unless
/// [`FunctionTool::non_strict`] is called.
///
/// ```
/// use agents_core::tool::{FunctionTool, Tool, ToolContext};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Add { a: i64, b: i64 }
///
/// let add = FunctionTool::new("add", "Adds two numbers.", |_ctx: ToolContext, args: Add| async move {
///     Ok::<_, std::convert::Infallible>((args.a + args.b).to_string())
/// });
/// assert_eq!(add.name(), "add");
/// assert_eq!(add.parameters()["required"], serde_json::json!(["a", "b"]));
/// ```
pub struct FunctionTool<C = (), A = Value> {
    name: String,
    description: String,
    parameters: Value,
    strict: bool,
    timeout: Option<Duration>,
    enabled: Option<EnabledFn<C>>,
    formatter: Option<ErrorFormatter>,
    handler: Handler<C, A>,
    _args: PhantomData<fn(A)>,
}

impl<C, A> fmt::Debug for FunctionTool<C, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionTool")
            .field("name", &self.name)
            .field("strict", &self.strict)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<C, A> FunctionTool<C, A>
where
    C: Send + Sync + 'static,
    A: DeserializeOwned + JsonSchema + Send + 'static,
{
    /// A tool named `name` that runs `f` with the parsed arguments.
    pub fn new<F, Fut, O, E>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        F: Fn(ToolContext<C>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: IntoToolOutput,
        E: fmt::Display,
    {
        let mut parameters = schemars::SchemaGenerator::default()
            .into_root_schema_for::<A>()
            .to_value();
        if let Some(obj) = parameters.as_object_mut() {
            obj.remove("$schema");
            obj.remove("title");
            obj.remove("description");
        }
        strict_schema(&mut parameters);
        let f = Arc::new(f);
        let handler: Handler<C, A> = Arc::new(move |ctx, args| {
            let fut = f(ctx, args);
            Box::pin(async move {
                fut.await
                    .map(IntoToolOutput::into_tool_output)
                    .map_err(ToolError::failed)
            })
        });
        FunctionTool {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: true,
            timeout: None,
            enabled: None,
            formatter: None,
            handler,
            _args: PhantomData,
        }
    }
}

impl<C, A> FunctionTool<C, A> {
    /// Keeps the schema as generated and asks the provider not to enforce it.
    pub fn non_strict(mut self) -> Self {
        self.strict = false;
        self
    }

    /// Replaces the parameters schema (for hand-written schemas).
    pub fn with_parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self
    }

    /// Limits how long one invocation may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Offers the tool only when `f` returns true for the run's context.
    pub fn enabled_when(
        mut self,
        f: impl Fn(&RunContext<C>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.enabled = Some(Arc::new(f));
        self
    }

    /// Customises the text the model sees when the tool fails.
    pub fn with_failure_formatter(
        mut self,
        f: impl Fn(&str, &ToolError) -> String + Send + Sync + 'static,
    ) -> Self {
        self.formatter = Some(Arc::new(f));
        self
    }

    /// Wraps the tool in an `Arc<dyn Tool<C>>`.
    pub fn into_dyn(self) -> Arc<dyn Tool<C>>
    where
        Self: Tool<C> + 'static,
    {
        Arc::new(self)
    }
}

impl<C, A> Tool<C> for FunctionTool<C, A>
where
    C: Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> &Value {
        &self.parameters
    }

    fn strict(&self) -> bool {
        self.strict
    }

    fn is_enabled(&self, ctx: &RunContext<C>) -> bool {
        self.enabled.as_ref().is_none_or(|f| f(ctx))
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn invoke<'a>(
        &'a self,
        ctx: ToolContext<C>,
        arguments: &'a str,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        let raw = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        match serde_json::from_str::<A>(raw) {
            Ok(args) => (self.handler)(ctx, args),
            Err(e) => Box::pin(std::future::ready(Err(ToolError::InvalidArguments(
                e.to_string(),
            )))),
        }
    }

    fn format_error(&self, error: &ToolError) -> String {
        match &self.formatter {
            Some(f) => f(&self.name, error),
            None => default_tool_error_message(&self.name, error),
        }
    }
}

/// Arguments of a tool that takes none.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
pub struct NoArgs {}
