//! What `#[tool]` generates: names, descriptions, schemas, options, and
//! calls through the `Tool` trait with the model's raw JSON arguments.

use std::collections::HashMap;
use std::time::Duration;

use agents_core::tool::{Json, Tool, ToolContext, ToolError, ToolOutput};
use agents_core::RunContext;
use agents_macros::tool;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

struct Account {
    owner: String,
}

/// Looks up the weather.
///
/// Answers in one line.
#[tool]
async fn weather(#[arg("The city")] city: String, days: Option<u8>) -> String {
    format!("{city}: sunny for {} days", days.unwrap_or(1))
}

/// Divides two numbers.
#[tool(
    name = "divide",
    args(a = "The dividend", b = "The divisor"),
    timeout = "250ms"
)]
fn divide_numbers(a: f64, b: f64) -> Result<Json<Value>, String> {
    if b == 0.0 {
        return Err("division by zero".into());
    }
    Ok(Json(json!({ "quotient": a / b })))
}

/// Greets the account owner.
#[tool(needs_approval)]
async fn greet(
    ctx: ToolContext<Account>,
    #[arg(description = "A greeting word")] word: String,
) -> ToolOutput {
    ToolOutput::text(format!("{word}, {} ({})", ctx.context().owner, ctx.call_id))
}

/// Stores free-form settings.
#[tool(strict = false)]
fn store(settings: HashMap<String, Value>) -> String {
    format!("{} settings", settings.len())
}

/// Stores free-form settings, in strict mode.
#[tool]
fn store_strict(settings: HashMap<String, Value>) -> String {
    format!("{} settings", settings.len())
}

#[tool(description = "Counts to three.")]
fn count() -> String {
    "1 2 3".into()
}

fn ctx<C>(context: C, tool: &str) -> ToolContext<C> {
    ToolContext::new(
        RunContext::new(context),
        tool,
        "call_1",
        CancellationToken::new(),
    )
}

#[tokio::test]
async fn async_tool_with_descriptions() {
    let tool = weather::<()>();
    assert_eq!(tool.name(), "weather");
    assert_eq!(
        tool.description(),
        "Looks up the weather.\n\nAnswers in one line."
    );
    assert!(tool.strict());
    assert_eq!(tool.timeout(), None);
    let schema = tool.parameters();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["city", "days"]));
    assert_eq!(schema["properties"]["city"]["description"], "The city");
    assert!(schema["properties"]["days"].get("description").is_none());
    let out = tool
        .invoke(ctx((), "weather"), r#"{"city":"Oslo","days":3}"#)
        .await
        .expect("the tool runs");
    assert_eq!(out, ToolOutput::text("Oslo: sunny for 3 days"));
    let out = tool
        .invoke(ctx((), "weather"), r#"{"city":"Oslo","days":null}"#)
        .await
        .expect("null is None");
    assert_eq!(out, ToolOutput::text("Oslo: sunny for 1 days"));
}

#[tokio::test]
async fn sync_tool_returning_a_result() {
    let tool = divide_numbers::<()>();
    assert_eq!(tool.name(), "divide");
    assert_eq!(tool.timeout(), Some(Duration::from_millis(250)));
    assert_eq!(
        tool.parameters()["properties"]["b"]["description"],
        "The divisor"
    );
    let out = tool
        .invoke(ctx((), "divide"), r#"{"a":9,"b":2}"#)
        .await
        .expect("divides");
    assert_eq!(out, ToolOutput::Json(json!({"quotient": 4.5})));
    let err = tool
        .invoke(ctx((), "divide"), r#"{"a":1,"b":0}"#)
        .await
        .expect_err("the Err goes back as a failure");
    assert_eq!(err, ToolError::Failed("division by zero".into()));
}

#[tokio::test]
async fn malformed_arguments_are_a_tool_error_not_a_panic() {
    let tool = divide_numbers::<()>();
    for bad in [
        "",
        "{",
        "null",
        r#"{"a":"x","b":1}"#,
        r#"{"a":1}"#,
        r#"{"a":1,"b":"two"}"#,
    ] {
        let err = tool
            .invoke(ctx((), "divide"), bad)
            .await
            .expect_err("bad arguments fail");
        assert!(
            matches!(err, ToolError::InvalidArguments(_)),
            "{bad:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn context_parameter_and_approval() {
    let tool = greet();
    let run = RunContext::new(Account {
        owner: "Ada".into(),
    });
    assert!(Tool::needs_approval(&tool, &run, r#"{"word":"Hi"}"#, "call_1").await);
    assert_eq!(tool.parameters()["required"], json!(["word"]));
    let out = tool
        .invoke(
            ctx(
                Account {
                    owner: "Ada".into(),
                },
                "greet",
            ),
            r#"{"word":"Hi"}"#,
        )
        .await
        .expect("greets");
    assert_eq!(out, ToolOutput::text("Hi, Ada (call_1)"));
}

#[tokio::test]
async fn non_strict_tool_keeps_the_map_schema() {
    let tool = store::<()>();
    assert!(!tool.strict());
    let settings = &tool.parameters()["properties"]["settings"];
    assert_eq!(settings["type"], "object");
    assert_ne!(settings["additionalProperties"], json!(false));
    let out = tool
        .invoke(ctx((), "store"), r#"{"settings":{"a":1,"b":[true]}}"#)
        .await
        .expect("stores");
    assert_eq!(out, ToolOutput::text("2 settings"));
}

#[tokio::test]
async fn no_parameters_and_explicit_description() {
    let tool = count::<()>();
    assert_eq!(tool.description(), "Counts to three.");
    assert_eq!(tool.parameters()["properties"], json!({}));
    let out = tool.invoke(ctx((), "count"), "{}").await.expect("counts");
    assert_eq!(out, ToolOutput::text("1 2 3"));
}

#[test]
fn a_map_in_strict_mode_is_refused_with_the_way_out() {
    let panic =
        std::panic::catch_unwind(store_strict::<()>).expect_err("maps have no strict schema");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("settings"), "{message}");
    assert!(message.contains("#[tool(strict = false)]"), "{message}");
}

#[test]
fn compile_errors_point_at_the_offending_span() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
