//! Hosted tool and MCP output items scripted with the `Reply` helpers match the
//! official schemas (`Response`, `ResponseStreamEvent`), stream as added/done pairs that
//! agree with the JSON reply, and are left out of Chat Completions replies.

mod common;

use agents_testkit::{
    validate_chat_completion_response, validate_response_object, validate_response_stream_event,
    MockServer, Reply,
};
use common::{chat_body, parse_sse, post, responses_body, spec_available};
use serde_json::{json, Value};

fn reply() -> Reply {
    Reply::new()
        .with_web_search_call("rust agents")
        .with_file_search_call(["agents"], &[("file-1", "Agents are loops.")])
        .with_code_interpreter_call("print(6 * 7)", "42\n")
        .with_image_generation_call("iVBORw0KGgo=")
        .with_mcp_list_tools("wiki", ["ask"])
        .with_mcp_call("wiki", "ask", r#"{"q":"x"}"#, "42")
        .with_mcp_approval_request("mcpr_fixed", "wiki", "ask", r#"{"q":"y"}"#)
        .with_output_item(json!({"type": "web_search_call", "id": "ws_given",
            "status": "completed", "action": {"type": "search", "query": "given"}}))
        .with_text("Done.")
}

const TYPES: [&str; 9] = [
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "web_search_call",
    "message",
];

fn types(output: &Value) -> Vec<&str> {
    output
        .as_array()
        .expect("output")
        .iter()
        .map(|i| i["type"].as_str().expect("type"))
        .collect()
}

fn check(what: &str, result: Result<(), Vec<String>>, value: &Value) {
    if let Err(errors) = result {
        panic!(
            "{what} does not match the schema:\n{}\n{value}",
            errors.join("\n")
        );
    }
}

#[tokio::test]
async fn hosted_items_in_json_replies_match_the_response_schema() {
    if !spec_available("hosted_items_in_json_replies_match_the_response_schema") {
        return;
    }
    let server = MockServer::start().await;
    server.push(reply());
    let (status, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(status, 200, "{body}");
    let response: Value = serde_json::from_str(&body).expect("json");
    check("Response", validate_response_object(&response), &response);
    let output = &response["output"];
    assert_eq!(types(output), TYPES);
    // Fresh ids with a per-type prefix, or the given one.
    assert!(output[0]["id"].as_str().expect("id").starts_with("ws_"));
    assert!(output[2]["id"].as_str().expect("id").starts_with("ci_"));
    assert_eq!(output[6]["id"], "mcpr_fixed");
    assert_eq!(output[7]["id"], "ws_given");
    assert_eq!(output[1]["results"][0]["text"], "Agents are loops.");
    server.assert_ok();
}

#[tokio::test]
async fn hosted_items_stream_as_valid_added_and_done_events() {
    if !spec_available("hosted_items_stream_as_valid_added_and_done_events") {
        return;
    }
    let server = MockServer::start().await;
    server.push(reply());
    let (status, _, body) = post(server.base_url(), "/responses", &responses_body(true)).await;
    assert_eq!(status, 200, "{body}");
    let events: Vec<Value> = parse_sse(&body).iter().map(|e| e.json()).collect();
    for (n, e) in events.iter().enumerate() {
        check(&format!("event #{n}"), validate_response_stream_event(e), e);
    }
    let of = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .map(|e| &e["item"])
            .collect()
    };
    let added = of("response.output_item.added");
    let done = of("response.output_item.done");
    assert_eq!(added.len(), TYPES.len());
    for (a, d) in added.iter().zip(&done).take(7) {
        assert_eq!(a["id"], d["id"]);
        if d.get("status").is_some() {
            assert_eq!(a["status"], "in_progress");
            assert_eq!(d["status"], "completed");
        }
    }
    let completed = events.last().expect("events");
    assert_eq!(completed["type"], "response.completed");
    let output = &completed["response"]["output"];
    assert_eq!(types(output), TYPES);
    let done: Vec<Value> = done.into_iter().cloned().collect();
    assert_eq!(output, &Value::Array(done));
    server.assert_ok();
}

#[tokio::test]
async fn hosted_items_are_left_out_of_chat_completions() {
    if !spec_available("hosted_items_are_left_out_of_chat_completions") {
        return;
    }
    let server = MockServer::start().await;
    server.push(reply());
    let (status, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(false, false),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let completion: Value = serde_json::from_str(&body).expect("json");
    check(
        "ChatCompletion",
        validate_chat_completion_response(&completion),
        &completion,
    );
    assert_eq!(completion["choices"][0]["message"]["content"], "Done.");
    assert!(completion["choices"][0]["message"]
        .get("tool_calls")
        .is_none());
    server.assert_ok();
}
