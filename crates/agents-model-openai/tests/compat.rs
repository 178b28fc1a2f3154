//! OpenAI-compatible servers that differ from the official service in small
//! ways, played by a tiny raw HTTP server on 127.0.0.1 (the mock server only
//! speaks the official formats).

mod common;

use agents_core::{Item, ModelRequest, ModelSettings, ModelStreamEvent};
use agents_model_openai::OpenAIApi;
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one canned HTTP response to one request and returns the request
/// head and body it received.
async fn one_shot(
    content_type: &'static str,
    chunks: Vec<String>,
) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.expect("read");
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nx-request-id: req_compat\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
        socket.write_all(head.as_bytes()).await.expect("write");
        for chunk in chunks {
            let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
            socket.write_all(framed.as_bytes()).await.expect("write");
            socket.flush().await.expect("flush");
        }
        socket.write_all(b"0\r\n\r\n").await.expect("write");
        String::from_utf8_lossy(&request).to_string()
    });
    (base_url, task)
}

fn model_at(base_url: &str, api: OpenAIApi) -> std::sync::Arc<dyn agents_core::Model> {
    let provider = agents_model_openai::OpenAIProvider::builder()
        .base_url(base_url)
        .api(api)
        .ignore_env()
        .build();
    agents_core::ModelProvider::get_model(&provider, Some("local-model")).expect("model")
}

#[tokio::test]
async fn a_stream_request_answered_with_json_yields_the_whole_response() {
    let response = json!({
        "id": "resp_plain", "object": "response", "status": "completed",
        "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "not streamed", "annotations": []}]}],
        "usage": {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}
    });
    let (base_url, server) = one_shot("application/json", vec![response.to_string()]).await;
    let model = model_at(&base_url, OpenAIApi::Responses);
    let input = [Item::user("Hi")];
    let settings = ModelSettings::new();
    let (events, result) =
        drain_ok(model.stream_response(ModelRequest::new(&input, &settings))).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        &events[0],
        ModelStreamEvent::OutputItemDone {
            output_index: 0,
            ..
        }
    ));
    assert_eq!(message_text(&result.output), "not streamed");
    assert_eq!(result.response_id.as_deref(), Some("resp_plain"));
    assert_eq!(result.request_id.as_deref(), Some("req_compat"));
    assert_eq!(result.usage.total_tokens, 5);
    let request = server.await.expect("server");
    assert!(
        request.starts_with("POST /v1/responses HTTP/1.1"),
        "{request}"
    );
    assert!(
        !request.to_ascii_lowercase().contains("authorization"),
        "no key, no auth header"
    );
}

#[tokio::test]
async fn chat_streams_with_crlf_comments_and_calls_without_index() {
    let data = |v: serde_json::Value| format!("data: {v}\r\n\r\n");
    let body = [
        ": keep-alive\r\n\r\n".to_owned(),
        data(json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})),
        data(json!({"choices": [{"index": 0, "delta": {"content": "Let me "}}]})),
        data(json!({"choices": [{"index": 0, "delta": {"content": "look."}}]})),
        data(json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "search", "arguments": "{\"q\""}}]}}]})),
        data(json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": ":\"rust\"}"}}]}}]})),
        data(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})),
        "data: [DONE]\r\n\r\n".to_owned(),
    ]
    .concat();
    // Split the body at awkward places: inside a CRLF and inside JSON.
    let chunks: Vec<String> = vec![
        body[..7].to_owned(),
        body[7..130].to_owned(),
        body[130..].to_owned(),
    ];
    let (base_url, server) = one_shot("text/event-stream", chunks).await;
    let model = model_at(&base_url, OpenAIApi::ChatCompletions);
    let input = [Item::user("Search rust")];
    let settings = ModelSettings::new();
    let (events, response) =
        drain_ok(model.stream_response(ModelRequest::new(&input, &settings))).await;
    assert_eq!(text_deltas(&events), ["Let me ", "look."]);
    assert_eq!(message_text(&response.output), "Let me look.");
    assert_eq!(
        calls(&response.output),
        [(
            "call_9".to_owned(),
            "search".to_owned(),
            "{\"q\":\"rust\"}".to_owned()
        )]
    );
    assert_eq!(response.request_id.as_deref(), Some("req_compat"));
    let request = server.await.expect("server");
    assert!(
        request.starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{request}"
    );
}
