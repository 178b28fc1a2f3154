//! What a failed run prints: one line with a hint for `Display`, and a
//! compact `Debug` that shows the cause and the size of the work done rather
//! than the whole transcript.

use std::time::Duration;

use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::{Agent, Error, FunctionTool, ModelError, NoArgs, ToolContext};
use agents_runner::{RunError, RunOptions, Runner};

const SECRET_TRANSCRIPT: &str = "the user's long private question";

async fn failing_run(error: ModelError) -> RunError {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("call_1", "echo", "{}")]);
    model.push_error(error);
    let echo = FunctionTool::new("echo", "Echoes.", |_: ToolContext, _: NoArgs| async {
        Ok::<_, String>("echoed")
    });
    let agent: Agent = Agent::builder("Helper").model(model).tool(echo).build();
    Runner::run(&agent, SECRET_TRANSCRIPT, RunOptions::default())
        .await
        .expect_err("the second model call fails")
}

fn http(status: u16, message: &str) -> ModelError {
    ModelError::Http {
        status,
        message: message.to_owned(),
        request_id: Some("req_1".into()),
        body: None,
        retry_after: None,
    }
}

#[tokio::test]
async fn unauthorized_prints_one_line_with_the_key_hint() {
    let error = failing_run(http(401, "Incorrect API key provided.\nSee the docs.")).await;
    let line = error.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.contains("HTTP 401"), "{line}");
    assert!(
        line.contains("Incorrect API key provided. See the docs."),
        "{line}"
    );
    assert!(line.contains("agent `Helper`, after 2 turn(s)"), "{line}");
    assert!(
        line.ends_with("; hint: check the API key (OPENAI_API_KEY for OpenAI)"),
        "{line}"
    );
}

#[tokio::test]
async fn hints_follow_the_cause() {
    let cases = [
        (http(404, "no such model"), Some("check the model name")),
        (http(429, "slow down"), Some("rate limited")),
        (
            ModelError::Connection("refused".into()),
            Some("check the base URL"),
        ),
        (ModelError::Timeout(Duration::from_secs(1)), None),
        (http(500, "oops"), None),
    ];
    for (cause, expected) in cases {
        let error = failing_run(cause).await;
        match expected {
            Some(text) => assert!(error.hint().is_some_and(|h| h.contains(text)), "{error}"),
            None => assert_eq!(error.hint(), None, "{error}"),
        }
        assert_eq!(
            error.to_string().contains("; hint: "),
            expected.is_some(),
            "{error}"
        );
    }
}

#[tokio::test]
async fn debug_is_compact_and_keeps_the_cause() {
    let error = failing_run(http(401, "Incorrect API key provided.")).await;
    assert!(matches!(
        error.error,
        Error::Model(ModelError::Http { status: 401, .. })
    ));
    assert_eq!(
        error.details.new_items.len(),
        2,
        "the tool call and its output are kept"
    );
    let output = serde_json::to_string(&error.details.new_items[1].item).expect("json");
    assert!(output.contains("echoed"), "the tool ran: {output}");
    let debug = format!("{error:?}");
    assert!(debug.starts_with("RunError {"), "{debug}");
    assert!(debug.contains("status: 401"), "{debug}");
    assert!(debug.contains("new_items: 2"), "{debug}");
    assert!(!debug.contains(SECRET_TRANSCRIPT), "{debug}");
    assert!(!debug.contains("echoed"), "{debug}");
    // The whole work stays reachable.
    assert!(error
        .to_input_list()
        .iter()
        .any(|item| serde_json::to_string(item).is_ok_and(|s| s.contains(SECRET_TRANSCRIPT))));
}
