//! Builder methods of `RunOptions` that stand in for a hand-built `RunConfig`.

use std::sync::{Arc, Mutex};

use agents_core::testing::ScriptedModel;
use agents_core::{Agent, Model, ModelError, ModelProvider};
use agents_runner::{RunOptions, Runner};

/// Resolves every name to one scripted model and records the names asked for.
#[derive(Debug)]
struct Recording {
    model: Arc<ScriptedModel>,
    asked: Mutex<Vec<Option<String>>>,
}

impl ModelProvider for Recording {
    fn get_model(&self, name: Option<&str>) -> Result<Arc<dyn Model>, ModelError> {
        self.asked
            .lock()
            .expect("lock")
            .push(name.map(str::to_owned));
        match name {
            Some("known-model") => Ok(self.model.clone()),
            other => Err(ModelError::UnknownModel(
                other.unwrap_or("default").to_owned(),
            )),
        }
    }
}

#[tokio::test]
async fn model_provider_resolves_the_agents_model_names() {
    let model = ScriptedModel::new();
    model.push_text("resolved");
    let provider = Arc::new(Recording {
        model: model.clone(),
        asked: Mutex::new(Vec::new()),
    });
    let agent: Agent = Agent::builder("Named").model("known-model").build();
    let result = Runner::run(
        &agent,
        "hi",
        RunOptions::default().model_provider(provider.clone()),
    )
    .await
    .expect("the provider resolves the name");
    assert_eq!(result.final_output_text(), "resolved");
    assert_eq!(
        *provider.asked.lock().expect("lock"),
        [Some("known-model".to_owned())]
    );
    model.assert_complete();

    let unknown: Agent = Agent::builder("Unknown").model("other-model").build();
    let error = Runner::run(
        &unknown,
        "hi",
        RunOptions::default().model_provider(provider.clone()),
    )
    .await
    .expect_err("the provider does not know this name");
    assert!(
        error.to_string().contains("unknown model `other-model`"),
        "{error}"
    );
}
