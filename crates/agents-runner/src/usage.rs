//! Usage broken down per agent and per model, for cost tracking.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use agents_core::{RequestUsage, Usage};

/// The model name recorded when a run's model has no name (a model
/// instance rather than a name resolved through a provider).
pub const UNNAMED_MODEL: &str = "(unnamed model)";

/// A run's usage per agent and per model. Shared with the run's tools, so
/// nested agent-as-tool runs add theirs.
#[derive(Debug, Default)]
pub(crate) struct UsageBreakdown {
    inner: Mutex<(BTreeMap<String, Usage>, BTreeMap<String, Usage>)>,
}

impl UsageBreakdown {
    /// Adds one model request of `agent` on `model`.
    pub(crate) fn record(&self, agent: &str, model: Option<&str>, usage: RequestUsage) {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        g.0.entry(agent.to_owned()).or_default().add_request(usage);
        g.1.entry(model.unwrap_or(UNNAMED_MODEL).to_owned())
            .or_default()
            .add_request(usage);
    }

    /// Adds a nested run's breakdown.
    pub(crate) fn merge(
        &self,
        by_agent: &BTreeMap<String, Usage>,
        by_model: &BTreeMap<String, Usage>,
    ) {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (k, u) in by_agent {
            g.0.entry(k.clone()).or_default().add(u);
        }
        for (k, u) in by_model {
            g.1.entry(k.clone()).or_default().add(u);
        }
    }

    /// `(per agent, per model)`.
    pub(crate) fn snapshot(&self) -> (BTreeMap<String, Usage>, BTreeMap<String, Usage>) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
