//! Shared setup of the examples: a real endpoint when `OPENAI_API_KEY` is
//! set, otherwise the scripted local server of `agents-testkit`.

use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::ModelProvider;
use agents_testkit::{MockServer, Reply};

/// Where an example's model runs.
pub struct Backend {
    /// The provider to put in `RunConfig::model_provider`.
    pub provider: Arc<dyn ModelProvider>,
    /// The model name to give the agent.
    pub model: String,
    /// Keeps the offline server alive.
    pub _server: Option<MockServer>,
}

/// A real endpoint from the environment, or an offline server replaying
/// `script` (the replies the model would give, in order).
pub async fn backend(api: OpenAIApi, script: Vec<Reply>) -> Backend {
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());
    if std::env::var_os("OPENAI_API_KEY").is_some() {
        let provider = OpenAIProvider::builder().api(api).build();
        println!("Using the endpoint from OPENAI_API_KEY / OPENAI_BASE_URL with model `{model}`.");
        return Backend {
            provider: Arc::new(provider),
            model,
            _server: None,
        };
    }
    println!(
        "OPENAI_API_KEY is not set: running offline against a scripted local model \
         (agents-testkit on 127.0.0.1). Set OPENAI_API_KEY to use a real endpoint."
    );
    let server = MockServer::start().await;
    server.push_all(script);
    let provider = OpenAIProvider::builder()
        .ignore_env()
        .api(api)
        .base_url(server.base_url())
        .api_key("offline")
        .build();
    Backend {
        provider: Arc::new(provider),
        model,
        _server: Some(server),
    }
}
