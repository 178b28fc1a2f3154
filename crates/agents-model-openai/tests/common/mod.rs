//! Helpers shared by the integration tests: a mock server and models pointed at it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    BoxStream, Item, Model, ModelError, ModelProvider, ModelResponse, ModelStreamEvent,
    RetrySettings,
};
use agents_model_openai::{OpenAIApi, OpenAIProvider};
use agents_testkit::MockServer;
use futures::StreamExt;

/// The API key every test sends; it must never show up in Debug output or errors.
pub const KEY: &str = "sk-test-key-4f1b8c2d9e7a-DO-NOT-LEAK";

/// Both APIs, for tests that run against each.
pub const APIS: [OpenAIApi; 2] = [OpenAIApi::Responses, OpenAIApi::ChatCompletions];

pub fn provider(server: &MockServer, api: OpenAIApi) -> OpenAIProvider {
    OpenAIProvider::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .api(api)
        .default_model("gpt-4o")
        .ignore_env()
        .build()
}

pub fn model(server: &MockServer, api: OpenAIApi) -> Arc<dyn Model> {
    provider(server, api)
        .get_model(None)
        .expect("the OpenAI provider always has a model")
}

/// A fast retry policy: `n` retries, 10 ms backoff.
pub fn fast_retry(n: u32) -> RetrySettings {
    RetrySettings::new(n).with_backoff(Duration::from_millis(10), Duration::from_millis(10))
}

/// Drains a stream: the events before the end or the first error, and that error.
pub async fn drain(
    mut stream: BoxStream<'_, Result<ModelStreamEvent, ModelError>>,
) -> (Vec<ModelStreamEvent>, Option<ModelError>) {
    let mut events = Vec::new();
    while let Some(next) = stream.next().await {
        match next {
            Ok(event) => events.push(event),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "a stream must end after its error"
                );
                return (events, Some(error));
            }
        }
    }
    (events, None)
}

/// Drains a stream that must succeed: its events, and the response of its last
/// (`Completed`) event.
pub async fn drain_ok(
    stream: BoxStream<'_, Result<ModelStreamEvent, ModelError>>,
) -> (Vec<ModelStreamEvent>, ModelResponse) {
    let (events, error) = drain(stream).await;
    if let Some(error) = error {
        panic!("stream failed: {error:?}");
    }
    match events.last() {
        Some(ModelStreamEvent::Completed(response)) => {
            let response = response.clone();
            let completed = events
                .iter()
                .filter(|e| matches!(e, ModelStreamEvent::Completed(_)))
                .count();
            assert_eq!(completed, 1, "exactly one Completed event");
            (events, response)
        }
        other => panic!("the last event must be Completed, got {other:?}"),
    }
}

/// The concatenated text deltas of a stream.
pub fn text_deltas(events: &[ModelStreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ModelStreamEvent::OutputTextDelta { delta, .. } => Some(delta.clone()),
            _ => None,
        })
        .collect()
}

/// The items of the `OutputItemDone` events, in order.
pub fn done_items(events: &[ModelStreamEvent]) -> Vec<Item> {
    events
        .iter()
        .filter_map(|e| match e {
            ModelStreamEvent::OutputItemDone { item, .. } => Some(item.clone()),
            _ => None,
        })
        .collect()
}

/// The text of the single assistant message among `items`.
pub fn message_text(items: &[Item]) -> String {
    let messages: Vec<_> = items.iter().filter_map(Item::as_message).collect();
    assert_eq!(messages.len(), 1, "one message expected in {items:?}");
    messages[0].text()
}

/// `(call_id, name, arguments)` of the function calls among `items`.
pub fn calls(items: &[Item]) -> Vec<(String, String, String)> {
    items
        .iter()
        .filter_map(Item::as_function_call)
        .map(|c| (c.call_id.clone(), c.name.clone(), c.arguments.clone()))
        .collect()
}
