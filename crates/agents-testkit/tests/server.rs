//! Queueing, capture and lifecycle of the mock server.

mod common;

use std::time::Duration;

use agents_testkit::{Api, MockServer, Reply, Usage};
use common::{chat_body, client, parse_sse, post, responses_body};
use serde_json::{json, Value};

fn text_of_response(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn text_of_chat(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn base_url_is_loopback_with_v1() {
    let server = MockServer::start().await;
    assert!(server.addr().ip().is_loopback());
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}/v1", server.addr().port())
    );
}

#[tokio::test]
async fn replies_are_served_in_fifo_order_across_both_endpoints() {
    let server = MockServer::start().await;
    server.push(Reply::text("one"));
    server.push_all([Reply::text("two"), Reply::text("three")]);
    assert_eq!(server.pending_replies(), 3);

    let (_, _, a) = post(server.base_url(), "/responses", &responses_body(false)).await;
    let (_, _, b) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(false, false),
    )
    .await;
    let (_, _, c) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(
        [text_of_response(&a), text_of_chat(&b), text_of_response(&c)],
        ["one", "two", "three"]
    );
    assert_eq!(server.pending_replies(), 0);
    let apis: Vec<Api> = server.requests().iter().map(|r| r.api).collect();
    assert_eq!(apis, [Api::Responses, Api::ChatCompletions, Api::Responses]);
    server.assert_ok();
}

#[tokio::test]
async fn an_unscripted_request_gets_a_500_and_fails_verify() {
    let server = MockServer::start().await;
    let (status, headers, body) =
        post(server.base_url(), "/responses", &responses_body(true)).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/json");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "server_error");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no scripted reply left"));
    assert_eq!(server.received_count(), 1);
    let report = server.verify().unwrap_err();
    assert!(report.contains("request #1 POST /v1/responses"), "{report}");
    assert!(report.contains("no scripted reply left"), "{report}");
}

#[tokio::test]
async fn the_default_reply_repeats_when_the_queue_is_empty() {
    let server = MockServer::start().await;
    server.set_default(Reply::text("again"));
    server.push(Reply::text("queued first"));
    let mut texts = Vec::new();
    for _ in 0..3 {
        let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
        texts.push(text_of_response(&body));
    }
    assert_eq!(texts, ["queued first", "again", "again"]);
    server.assert_ok();

    server.clear_default();
    let (status, _, _) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(status, 500);
    assert!(server.verify().is_err());
}

#[tokio::test]
async fn every_reply_gets_fresh_ids_unless_one_is_set() {
    let server = MockServer::start().await;
    server.set_default(Reply::text("same").with_function_call("call_1", "f", "{}"));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
        for item in v["output"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");

    server.push(Reply::text("x").response_id("resp_fixed"));
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["id"],
        "resp_fixed"
    );
    server.assert_ok();
}

#[tokio::test]
async fn request_ids_count_requests() {
    let server = MockServer::start().await;
    server.set_default(Reply::text("x"));
    for n in 1..=3 {
        let (_, headers, _) = post(server.base_url(), "/responses", &responses_body(n == 2)).await;
        assert_eq!(headers["x-request-id"], format!("req_mock_{n}").as_str());
    }
    let numbers: Vec<u64> = server.requests().iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[tokio::test]
async fn requests_are_captured_with_headers_query_and_body() {
    let server = MockServer::start().await;
    server.push(Reply::text("x"));
    let body = json!({"model": "gpt-4o", "input": "capture me", "stream": true});
    let response = client()
        .post(format!(
            "{}/responses?api-version=2025-01-01&x=1",
            server.base_url()
        ))
        .header("Authorization", "Bearer sk-test")
        .header("OpenAI-Beta", "responses=v1")
        .header("X-Custom", "a")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = response.text().await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/responses");
    assert_eq!(request.query.as_deref(), Some("api-version=2025-01-01&x=1"));
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("OPENAI-BETA"), Some("responses=v1"));
    assert_eq!(
        request.headers.get("x-custom").map(String::as_str),
        Some("a")
    );
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(request.body, body);
    assert_eq!(request.api, Api::Responses);
    assert!(request.is_stream());
    assert!(request.is_valid());
    server.assert_ok();
}

#[tokio::test]
async fn include_usage_adds_a_final_usage_chunk_before_done() {
    let server = MockServer::start().await;
    server.push(Reply::text_deltas(["a", "b"]).usage(Usage::new(7, 3)));
    server.push(Reply::text_deltas(["a", "b"]).usage(Usage::new(7, 3)));

    let (_, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(true, true),
    )
    .await;
    let events = parse_sse(&body);
    let datas: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(*datas.last().unwrap(), "[DONE]");
    let usage_chunk = events[events.len() - 2].json();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        })
    );
    let finish = events[events.len() - 3].json();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(finish["usage"].is_null() && finish.get("usage").is_some());

    let (_, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(true, false),
    )
    .await;
    let events = parse_sse(&body);
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| e.json().get("usage").is_none()));
    let contents: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json()["choices"][0]["delta"]["content"].clone())
        .collect();
    assert_eq!(contents, [json!(""), json!("a"), json!("b"), Value::Null]);
    server.assert_ok();
}

#[tokio::test]
async fn tool_call_chunks_carry_index_id_name_and_argument_pieces() {
    let server = MockServer::start().await;
    server.push(
        Reply::function_call("call_a", "first", r#"{"x":1}"#).with_function_call(
            "call_b",
            "second",
            r#"{"y":2}"#,
        ),
    );
    let (_, _, body) = post(
        server.base_url(),
        "/chat/completions",
        &chat_body(true, false),
    )
    .await;
    let events = parse_sse(&body);
    let calls: Vec<Value> = events[..events.len() - 1]
        .iter()
        .filter_map(|e| e.json()["choices"][0]["delta"].get("tool_calls").cloned())
        .collect();
    assert_eq!(
        calls,
        [
            json!([{"index": 0, "id": "call_a", "type": "function", "function": {"name": "first", "arguments": ""}}]),
            json!([{"index": 0, "function": {"arguments": "{\"x\""}}]),
            json!([{"index": 0, "function": {"arguments": ":1}"}}]),
            json!([{"index": 1, "id": "call_b", "type": "function", "function": {"name": "second", "arguments": ""}}]),
            json!([{"index": 1, "function": {"arguments": "{\"y\""}}]),
            json!([{"index": 1, "function": {"arguments": ":2}"}}]),
        ]
    );
    let finish = events[events.len() - 2].json();
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    server.assert_ok();
}

#[tokio::test]
async fn unknown_paths_are_404_and_fail_verify() {
    let server = MockServer::start().await;
    let response = client()
        .get(format!("{}/models", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(server.received_count(), 0);
    let report = server.verify().unwrap_err();
    assert!(report.contains("GET /v1/models"), "{report}");
}

#[tokio::test]
async fn wait_for_requests_returns_once_enough_arrived_or_times_out() {
    let server = MockServer::start().await;
    server.push(Reply::text("x"));
    let base = server.base_url().to_owned();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        post(&base, "/responses", &responses_body(false)).await
    });
    let requests = server
        .wait_for_requests(1, Duration::from_secs(10))
        .await
        .expect("the request arrives");
    assert_eq!(requests.len(), 1);
    sender.await.unwrap();

    let error = server
        .wait_for_requests(2, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(error.contains("got 1"), "{error}");
    server.assert_ok();
}

#[tokio::test]
async fn max_captured_keeps_only_the_latest_requests() {
    let server = MockServer::builder()
        .max_captured(2)
        .default_reply(Reply::text("x"))
        .start()
        .await;
    for _ in 0..5 {
        post(server.base_url(), "/responses", &responses_body(false)).await;
    }
    assert_eq!(server.received_count(), 5);
    let numbers: Vec<u64> = server.requests().iter().map(|r| r.number).collect();
    assert_eq!(numbers, [4, 5]);
    server.clear_requests();
    assert!(server.requests().is_empty());
    assert!(server.last_request().is_none());
    server.assert_ok();
}

#[tokio::test]
async fn builder_replies_are_queued() {
    let server = MockServer::builder()
        .reply(Reply::text("from builder"))
        .start()
        .await;
    let (_, _, body) = post(server.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(text_of_response(&body), "from builder");
    server.assert_ok();
}

#[tokio::test]
async fn clones_share_the_server_which_stops_when_the_last_one_drops() {
    let server = MockServer::start().await;
    let clone = server.clone();
    clone.push(Reply::text("shared"));
    let addr = server.addr();
    drop(server);
    let (_, _, body) = post(clone.base_url(), "/responses", &responses_body(false)).await;
    assert_eq!(text_of_response(&body), "shared");
    clone.assert_ok();
    drop(clone);

    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the listener closes after the last handle is dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_one_reply() {
    let server = MockServer::start().await;
    server.push_all((0..50).map(|i| Reply::text(format!("r{i}"))));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let base = server.base_url().to_owned();
        tasks.push(tokio::spawn(async move {
            let (_, _, body) = post(&base, "/responses", &responses_body(false)).await;
            text_of_response(&body)
        }));
    }
    let mut texts = Vec::new();
    for task in tasks {
        texts.push(task.await.unwrap());
    }
    texts.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    expected.sort();
    assert_eq!(texts, expected);
    server.assert_ok();
}
