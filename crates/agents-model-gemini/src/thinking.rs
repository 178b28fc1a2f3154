//! The thinking configuration (`generationConfig.thinkingConfig`).

use agents_core::ReasoningSettings;
use serde_json::{json, Map, Value};

/// How much a Gemini model thinks, and whether it shows its thoughts.
///
/// Set it on a model ([`GeminiModel::with_thinking`](crate::GeminiModel::with_thinking))
/// or a provider ([`GeminiProviderBuilder::thinking`](crate::GeminiProviderBuilder::thinking)).
/// Without it, `ModelSettings::reasoning` is mapped: `effort` becomes a
/// `thinkingLevel` for Gemini 3 models (`minimal`, `low`, `medium`, `high`)
/// and a `thinkingBudget` for earlier ones (`minimal` 0 on Flash, `low` 1024,
/// `medium` 8192, `high` 24576 tokens), and a `summary` turns on
/// `includeThoughts`.
///
/// ```
/// use agents_model_gemini::GeminiThinking;
///
/// let thinking = GeminiThinking::budget(2048).include_thoughts(true);
/// assert_eq!(
///     thinking.to_json(),
///     serde_json::json!({"thinkingBudget": 2048, "includeThoughts": true})
/// );
/// assert_eq!(GeminiThinking::level("low").to_json(), serde_json::json!({"thinkingLevel": "LOW"}));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeminiThinking {
    /// Thinking tokens (`thinkingBudget`): 0 turns thinking off where the
    /// model allows it, -1 lets the model decide.
    pub budget: Option<i64>,
    /// `thinkingLevel` (Gemini 3): `MINIMAL`, `LOW`, `MEDIUM` or `HIGH`.
    pub level: Option<String>,
    /// Whether thought summaries come back (as reasoning items).
    pub include_thoughts: Option<bool>,
}

impl GeminiThinking {
    /// A thinking budget in tokens.
    pub fn budget(tokens: i64) -> Self {
        GeminiThinking {
            budget: Some(tokens),
            ..Default::default()
        }
    }

    /// A thinking level (Gemini 3 models); sent upper-case.
    pub fn level(level: impl Into<String>) -> Self {
        GeminiThinking {
            level: Some(level.into().to_ascii_uppercase()),
            ..Default::default()
        }
    }

    /// Whether thought summaries come back.
    #[must_use]
    pub fn include_thoughts(mut self, include: bool) -> Self {
        self.include_thoughts = Some(include);
        self
    }

    /// The `thinkingConfig` JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(b) = self.budget {
            m.insert("thinkingBudget".into(), json!(b));
        }
        if let Some(l) = &self.level {
            m.insert("thinkingLevel".into(), json!(l.to_ascii_uppercase()));
        }
        if let Some(i) = self.include_thoughts {
            m.insert("includeThoughts".into(), json!(i));
        }
        Value::Object(m)
    }
}

/// Whether `model` is a Gemini 3 model (thinking levels, not budgets).
fn is_gemini_3(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model);
    name.starts_with("gemini-3")
}

/// The `thinkingConfig` to send, if any: the explicit configuration wins,
/// else `reasoning` is mapped.
pub(crate) fn thinking_config(
    model: &str,
    reasoning: Option<&ReasoningSettings>,
    explicit: Option<&GeminiThinking>,
) -> Option<Value> {
    if let Some(t) = explicit {
        let v = t.to_json();
        return v.as_object().is_some_and(|m| !m.is_empty()).then_some(v);
    }
    let reasoning = reasoning?;
    let mut t = GeminiThinking::default();
    if let Some(effort) = reasoning.effort.as_deref() {
        let effort = effort.to_ascii_lowercase();
        if is_gemini_3(model) {
            if matches!(effort.as_str(), "minimal" | "low" | "medium" | "high") {
                t.level = Some(effort.to_ascii_uppercase());
            }
        } else {
            t.budget = match effort.as_str() {
                "none" | "minimal" => Some(if model.contains("pro") { 128 } else { 0 }),
                "low" => Some(1024),
                "medium" => Some(8192),
                "high" => Some(24576),
                _ => None,
            };
        }
    }
    if reasoning.summary.is_some() {
        t.include_thoughts = Some(true);
    }
    let v = t.to_json();
    v.as_object().is_some_and(|m| !m.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_maps_to_level_or_budget() {
        let r = ReasoningSettings::effort("low").with_summary("auto");
        assert_eq!(
            thinking_config("gemini-3-pro-preview", Some(&r), None),
            Some(json!({"thinkingLevel": "LOW", "includeThoughts": true}))
        );
        assert_eq!(
            thinking_config("gemini-2.5-flash", Some(&r), None),
            Some(json!({"thinkingBudget": 1024, "includeThoughts": true}))
        );
        assert_eq!(thinking_config("gemini-2.5-flash", None, None), None);
        let explicit = GeminiThinking::budget(-1);
        assert_eq!(
            thinking_config("gemini-2.5-flash", Some(&r), Some(&explicit)),
            Some(json!({"thinkingBudget": -1}))
        );
    }
}
