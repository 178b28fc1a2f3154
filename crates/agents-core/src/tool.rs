//! Tools: the [`Tool`] trait and [`FunctionTool`], a tool built from a typed
//! async closure.

use std::any::Any;
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
use crate::guardrail::{ToolInputGuardrail, ToolOutputGuardrail};
use crate::items::{Content, ContentPart};
use crate::schema::{strict_object_schema, SchemaError};

/// What a tool invocation sees besides its arguments.
///
/// Built by the runner for each call with [`ToolContext::new`]; besides the
/// public fields it can carry opaque run-scoped data
/// ([`ToolContext::run_data`]) that the runner attaches so that tools such as
/// agent-as-tool can start a nested run with the outer run's configuration.
pub struct ToolContext<C = ()> {
    /// The run's context.
    pub run: RunContext<C>,
    /// The tool's name.
    pub tool_name: String,
    /// The model's call id.
    pub call_id: String,
    /// Cancelled when the run is cancelled; long-running tools should watch it.
    pub cancel: CancellationToken,
    run_data: Option<Arc<dyn Any + Send + Sync>>,
}

impl<C> ToolContext<C> {
    /// A context for one call of `tool_name`, without run-scoped data.
    pub fn new(
        run: RunContext<C>,
        tool_name: impl Into<String>,
        call_id: impl Into<String>,
        cancel: CancellationToken,
    ) -> Self {
        ToolContext {
            run,
            tool_name: tool_name.into(),
            call_id: call_id.into(),
            cancel,
            run_data: None,
        }
    }

    /// Attaches run-scoped data. The runner attaches its own (the outer run's
    /// configuration and toolkit sessions); a test may attach anything.
    pub fn with_run_data(mut self, data: Arc<dyn Any + Send + Sync>) -> Self {
        self.run_data = Some(data);
        self
    }

    /// The run-scoped data, if it is a `T`.
    pub fn run_data<T: Any>(&self) -> Option<&T> {
        self.run_data.as_deref()?.downcast_ref::<T>()
    }

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
            run_data: self.run_data.clone(),
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
            ToolOutput::Image { url, detail } => Content::Parts(vec![ContentPart::input_image(
                Some(url.clone()),
                None,
                detail.clone(),
            )]),
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

    /// Whether this call needs a human's approval before it runs (`false` by
    /// default).
    ///
    /// `arguments` is the model's raw JSON; an implementation that cannot
    /// parse it must answer `true` (fail closed). When a call needs approval
    /// and no decision is recorded for it, the run pauses after running the
    /// turn's other calls and reports the call as an interruption; the caller
    /// approves or rejects it on the run state and resumes.
    fn needs_approval<'a>(
        &'a self,
        _ctx: &'a RunContext<C>,
        _arguments: &'a str,
        _call_id: &'a str,
    ) -> BoxFuture<'a, bool> {
        Box::pin(std::future::ready(false))
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

    /// Guardrails checked before each call, in order (none by default).
    fn input_guardrails(&self) -> &[ToolInputGuardrail<C>] {
        &[]
    }

    /// Guardrails checked on each successful output, in order (none by default).
    fn output_guardrails(&self) -> &[ToolOutputGuardrail<C>] {
        &[]
    }
}

/// The JSON schema of the arguments type `A` as schemars generates it, as
/// sent for a non-strict function tool (or handoff): untouched except that
/// the root's `$schema`, `title` and `description` annotations are dropped
/// (the tool has its own name and description).
pub fn raw_parameters_schema<A: JsonSchema>() -> Value {
    let mut parameters = schemars::SchemaGenerator::default()
        .into_root_schema_for::<A>()
        .to_value();
    if let Some(obj) = parameters.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
        obj.remove("description");
    }
    parameters
}

/// The strict JSON schema of the arguments type `A`, as sent for a function
/// tool's (or a handoff's) parameters: [`raw_parameters_schema`] made strict
/// by [`crate::schema::strict_schema`].
///
/// # Errors
///
/// A [`SchemaError`] naming the field strict mode cannot express (a map, a
/// `serde_json::Value`, a tuple of mixed types, ...), or
/// [`SchemaError::RootNotObject`] when `A` is not a struct-like type.
pub fn try_parameters_schema<A: JsonSchema>() -> Result<Value, SchemaError> {
    let mut parameters = raw_parameters_schema::<A>();
    strict_object_schema(&mut parameters)?;
    Ok(parameters)
}

/// Like [`try_parameters_schema`], for types known to have a strict schema.
///
/// # Panics
///
/// Panics with the [`SchemaError`]'s message when `A` has no strict schema.
pub fn parameters_schema<A: JsonSchema>() -> Value {
    try_parameters_schema::<A>().unwrap_or_else(|e| {
        panic!(
            "the arguments type `{}` has no strict schema: {e}",
            A::schema_name()
        )
    })
}

type Handler<C, A> = Arc<
    dyn Fn(ToolContext<C>, A) -> BoxFuture<'static, Result<ToolOutput, ToolError>> + Send + Sync,
>;
type EnabledFn<C> = Arc<dyn Fn(&RunContext<C>) -> bool + Send + Sync>;
type ErrorFormatter = Arc<dyn Fn(&str, &ToolError) -> String + Send + Sync>;
type ApprovalFn<C, A> =
    Arc<dyn Fn(RunContext<C>, A, String) -> BoxFuture<'static, bool> + Send + Sync>;

/// Whether calls of a [`FunctionTool`] need human approval.
enum Approval<C, A> {
    Never,
    Always,
    When(ApprovalFn<C, A>),
}

/// A tool built from a typed async closure.
///
/// The argument type `A` is deserialized from the model's JSON and describes
/// the parameters through its [`JsonSchema`].
///
/// # Strict schemas
///
/// [`FunctionTool::new`] and [`FunctionTool::try_new`] send a strict schema
/// (see [`crate::schema`]): every field required, optional ones nullable, no
/// additional properties. Types strict mode cannot express fail there, with
/// the JSON path of the field: maps (`HashMap<String, T>`, `BTreeMap`),
/// `serde_json::Value`, tuples of mixed element types. For those, build the
/// tool with [`FunctionTool::new_non_strict`], which sends the schema as
/// schemars generates it and never fails (the provider then does not enforce
/// it).
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
    input_guardrails: Vec<ToolInputGuardrail<C>>,
    output_guardrails: Vec<ToolOutputGuardrail<C>>,
    approval: Approval<C, A>,
    handler: Handler<C, A>,
    /// The schema of `A` as generated, for [`FunctionTool::non_strict`]
    /// (`None` once a hand-written schema replaced it).
    raw_parameters: Option<fn() -> Value>,
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
    /// A tool named `name` that runs `f` with the parsed arguments, with a
    /// strict schema.
    ///
    /// # Panics
    ///
    /// Panics when `A` has no strict schema (a map, `serde_json::Value`, ...;
    /// see [`FunctionTool::try_new`]); the message names the field and the
    /// non-strict option. Use [`FunctionTool::new_non_strict`] for such types.
    pub fn new<F, Fut, O, E>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        F: Fn(ToolContext<C>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: IntoToolOutput,
        E: fmt::Display,
    {
        let name = name.into();
        Self::try_new(name.clone(), description, f)
            .unwrap_or_else(|e| panic!("function tool `{name}`: {e}"))
    }

    /// Like [`FunctionTool::new`], returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// A [`SchemaError`] naming the field of `A` that strict mode cannot
    /// express, or [`SchemaError::RootNotObject`] when `A` is not a struct.
    pub fn try_new<F, Fut, O, E>(
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
    ) -> Result<Self, SchemaError>
    where
        F: Fn(ToolContext<C>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: IntoToolOutput,
        E: fmt::Display,
    {
        let parameters = try_parameters_schema::<A>()?;
        Ok(Self::build(
            name.into(),
            description.into(),
            parameters,
            true,
            f,
        ))
    }

    /// A tool with a non-strict schema: the schema of `A` as schemars
    /// generates it ([`raw_parameters_schema`]), sent with `strict: false`.
    /// Never fails; use it for arguments with maps or `serde_json::Value`.
    pub fn new_non_strict<F, Fut, O, E>(
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
    ) -> Self
    where
        F: Fn(ToolContext<C>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: IntoToolOutput,
        E: fmt::Display,
    {
        let parameters = raw_parameters_schema::<A>();
        Self::build(name.into(), description.into(), parameters, false, f)
    }

    fn build<F, Fut, O, E>(
        name: String,
        description: String,
        parameters: Value,
        strict: bool,
        f: F,
    ) -> Self
    where
        F: Fn(ToolContext<C>, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: IntoToolOutput,
        E: fmt::Display,
    {
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
            name,
            description,
            parameters,
            strict,
            timeout: None,
            enabled: None,
            formatter: None,
            input_guardrails: Vec::new(),
            output_guardrails: Vec::new(),
            approval: Approval::Never,
            handler,
            raw_parameters: Some(raw_parameters_schema::<A>),
            _args: PhantomData,
        }
    }
}

impl<C, A> FunctionTool<C, A> {
    /// Switches to the schema of `A` as schemars generates it
    /// ([`raw_parameters_schema`], untouched) and asks the provider not to
    /// enforce it (a schema set with [`FunctionTool::with_parameters`] is
    /// kept). Since [`FunctionTool::new`] already fails for types
    /// without a strict schema, build those with
    /// [`FunctionTool::new_non_strict`] instead.
    pub fn non_strict(mut self) -> Self {
        self.strict = false;
        if let Some(raw) = self.raw_parameters {
            self.parameters = raw();
        }
        self
    }

    /// Replaces the parameters schema with a hand-written one, sent as given.
    /// The tool stays strict unless [`FunctionTool::non_strict`] was called
    /// before, so a strict tool's schema must follow strict mode's rules
    /// (see [`crate::schema`]); [`crate::schema::strict_schema`] can make it
    /// so.
    pub fn with_parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self.raw_parameters = None;
        self
    }

    /// Requires a human's approval before every call (`true`), or never
    /// (`false`, the default). See [`Tool::needs_approval`].
    pub fn needs_approval(mut self, needs: bool) -> Self {
        self.approval = if needs {
            Approval::Always
        } else {
            Approval::Never
        };
        self
    }

    /// Requires a human's approval for the calls for which `f` answers
    /// `true`. `f` receives the run context, the parsed arguments and the
    /// call id. Arguments that do not parse need approval without asking `f`
    /// (fail closed).
    ///
    /// ```
    /// use agents_core::tool::{FunctionTool, ToolContext};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Transfer { amount: u64 }
    ///
    /// let transfer = FunctionTool::new("transfer", "Moves money.", |_ctx: ToolContext, t: Transfer| async move {
    ///     Ok::<_, String>(format!("moved {}", t.amount))
    /// })
    /// .needs_approval_fn(|_ctx, t: Transfer, _call_id| async move { t.amount > 100 });
    /// # let _ = transfer;
    /// ```
    pub fn needs_approval_fn<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RunContext<C>, A, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.approval = Approval::When(Arc::new(move |ctx, args, call_id| {
            Box::pin(f(ctx, args, call_id))
        }));
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

    /// Adds a guardrail checked before each call (after `on_tool_start`).
    /// Guardrails run in the order they were added; the first one that does
    /// not allow the call decides.
    pub fn input_guardrail(mut self, guardrail: ToolInputGuardrail<C>) -> Self {
        self.input_guardrails.push(guardrail);
        self
    }

    /// Adds a guardrail checked on each successful output (before
    /// `on_tool_end`). Guardrails run in the order they were added; the first
    /// one that does not allow the output decides.
    pub fn output_guardrail(mut self, guardrail: ToolOutputGuardrail<C>) -> Self {
        self.output_guardrails.push(guardrail);
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

    fn needs_approval<'a>(
        &'a self,
        ctx: &'a RunContext<C>,
        arguments: &'a str,
        call_id: &'a str,
    ) -> BoxFuture<'a, bool> {
        match &self.approval {
            Approval::Never => Box::pin(std::future::ready(false)),
            Approval::Always => Box::pin(std::future::ready(true)),
            Approval::When(f) => {
                let raw = if arguments.trim().is_empty() {
                    "{}"
                } else {
                    arguments
                };
                match serde_json::from_str::<A>(raw) {
                    Ok(args) => f(ctx.clone(), args, call_id.to_owned()),
                    // Fail closed: arguments nobody can check need a human.
                    Err(_) => Box::pin(std::future::ready(true)),
                }
            }
        }
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

    fn input_guardrails(&self) -> &[ToolInputGuardrail<C>] {
        &self.input_guardrails
    }

    fn output_guardrails(&self) -> &[ToolOutputGuardrail<C>] {
        &self.output_guardrails
    }
}

/// Arguments of a tool that takes none.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
pub struct NoArgs {}
