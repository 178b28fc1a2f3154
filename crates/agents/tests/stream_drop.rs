//! Dropping a streamed run stops its in-flight HTTP request: a bare TCP
//! server on 127.0.0.1 reads the request, never answers, and sees the
//! client close the connection once the stream is dropped.

use std::sync::Arc;
use std::time::Duration;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use tokio::net::{TcpListener, TcpStream};

fn options(base_url: String, api: OpenAIApi) -> RunOptions {
    let provider = OpenAIProvider::builder()
        .ignore_env()
        .api(api)
        .base_url(base_url)
        .api_key("sk-test")
        .build();
    RunOptions::default().run_config(RunConfig {
        model_provider: Some(Arc::new(provider)),
        ..Default::default()
    })
}

/// Reads from `sock` until `done` says the bytes so far are enough, or the
/// peer closes (returns what was read and whether the peer closed).
async fn read_until(sock: &TcpStream, done: impl Fn(&[u8]) -> bool) -> (Vec<u8>, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if done(&seen) {
            return (seen, false);
        }
        sock.readable().await.expect("readable");
        match sock.try_read(&mut buf) {
            Ok(0) => return (seen, true),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            // A reset is a close too.
            Err(_) => return (seen, true),
        }
    }
}

fn has_headers(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

async fn dropping_the_stream_closes_the_connection(api: OpenAIApi) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let agent: Agent = Agent::builder("A").model("gpt-4.1-mini").build();
    let mut run = Runner::run_streamed(&agent, "hi", options(base_url, api));

    // Poll the run until the server has the request's head.
    let server = async {
        let (sock, _) = listener.accept().await.expect("accept");
        let (head, closed) = read_until(&sock, has_headers).await;
        assert!(!closed, "the client closed before sending its request");
        (sock, head)
    };
    tokio::pin!(server);
    let (sock, head) = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tokio::select! {
                got = &mut server => break got,
                event = run.next() => assert!(event.is_some(), "the run ended without an answer"),
            }
        }
    })
    .await
    .expect("the request reached the server");
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("POST /v1/"), "{head}");

    // The request is in flight and the server never answers.
    drop(run);
    let (_, closed) = tokio::time::timeout(Duration::from_secs(10), read_until(&sock, |_| false))
        .await
        .expect("the client closed the connection after the stream was dropped");
    assert!(closed);
}

#[tokio::test]
async fn dropping_a_streamed_responses_run_closes_its_http_connection() {
    dropping_the_stream_closes_the_connection(OpenAIApi::Responses).await;
}

#[tokio::test]
async fn dropping_a_streamed_chat_completions_run_closes_its_http_connection() {
    dropping_the_stream_closes_the_connection(OpenAIApi::ChatCompletions).await;
}
