//! Final outputs and structured output types.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::OutputSchema;
use crate::schema::strict_schema;

/// The final output of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FinalOutput {
    /// Plain text (agents without an output type).
    Text(String),
    /// Structured output, validated against the agent's output type.
    Json(Value),
}

impl FinalOutput {
    /// The output as text (JSON is rendered compactly).
    pub fn to_text(&self) -> String {
        match self {
            FinalOutput::Text(t) => t.clone(),
            FinalOutput::Json(v) => v.to_string(),
        }
    }

    /// Deserializes the output into `T` (a text output is read as a JSON string).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self {
            FinalOutput::Text(t) => T::deserialize(serde::de::value::StrDeserializer::<
                serde_json::Error,
            >::new(t)),
            FinalOutput::Json(v) => T::deserialize(v),
        }
    }
}

impl fmt::Display for FinalOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinalOutput::Text(t) => f.write_str(t),
            FinalOutput::Json(v) => write!(f, "{v}"),
        }
    }
}

type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// The type an agent's final output must have.
///
/// Built from a Rust type with [`OutputType::of`]; the schema is sent to the
/// model and the model's JSON is validated by deserializing it into the type.
/// Non-object types are wrapped in `{"response": ...}` on the wire, because
/// providers need an object at the root, and unwrapped again on parse.
#[derive(Clone)]
pub struct OutputType {
    schema: OutputSchema,
    wrapped: bool,
    validate: Validator,
}

impl fmt::Debug for OutputType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputType")
            .field("schema", &self.schema)
            .field("wrapped", &self.wrapped)
            .finish_non_exhaustive()
    }
}

impl OutputType {
    /// The output type of `T`, with a strict schema.
    pub fn of<T: JsonSchema + DeserializeOwned + 'static>() -> Self {
        Self::build::<T>(true)
    }

    /// The output type of `T` with a non-strict schema.
    pub fn of_non_strict<T: JsonSchema + DeserializeOwned + 'static>() -> Self {
        Self::build::<T>(false)
    }

    fn build<T: JsonSchema + DeserializeOwned + 'static>(strict: bool) -> Self {
        let name = T::schema_name().to_string();
        let mut schema = schemars::SchemaGenerator::default()
            .into_root_schema_for::<T>()
            .to_value();
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("$schema");
            obj.remove("title");
        }
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        let mut schema = if is_object {
            schema
        } else {
            let defs = schema.as_object_mut().and_then(|o| o.remove("$defs"));
            let mut wrapper = json!({
                "type": "object",
                "properties": { "response": schema },
                "required": ["response"],
                "additionalProperties": false
            });
            if let (Some(defs), Some(obj)) = (defs, wrapper.as_object_mut()) {
                obj.insert("$defs".into(), defs);
            }
            wrapper
        };
        if strict {
            strict_schema(&mut schema);
        }
        OutputType {
            schema: OutputSchema {
                name: sanitize_name(&name),
                schema,
                strict,
            },
            wrapped: !is_object,
            validate: Arc::new(|v: &Value| {
                T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
            }),
        }
    }

    /// The schema sent to the model.
    pub fn schema(&self) -> &OutputSchema {
        &self.schema
    }

    /// Parses and validates the model's text output.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("output is not valid JSON: {e}"))?;
        let value = if self.wrapped {
            match value {
                Value::Object(mut o) => o
                    .remove("response")
                    .ok_or_else(|| "output lacks the `response` field".to_owned())?,
                _ => return Err("output is not a JSON object".into()),
            }
        } else {
            value
        };
        (self.validate)(&value)
            .map_err(|e| format!("output does not match the output type: {e}"))?;
        Ok(value)
    }
}

fn sanitize_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "output".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    struct Weather {
        city: String,
        celsius: f64,
        note: Option<String>,
    }

    #[test]
    fn object_types_parse_and_validate() {
        let t = OutputType::of::<Weather>();
        assert_eq!(t.schema().name, "Weather");
        assert_eq!(t.schema().schema["additionalProperties"], json!(false));
        assert_eq!(
            t.schema().schema["required"],
            json!(["city", "celsius", "note"])
        );
        let v = t
            .parse(r#"{"city":"Oslo","celsius":3.5,"note":null}"#)
            .expect("valid");
        let w: Weather = FinalOutput::Json(v).parse().expect("deserializes");
        assert_eq!(w.city, "Oslo");
        assert!(t.parse(r#"{"city":"Oslo"}"#).is_err());
        assert!(t.parse("not json").is_err());
    }

    #[test]
    fn non_object_types_are_wrapped() {
        let t = OutputType::of::<Vec<String>>();
        assert_eq!(t.schema().schema["required"], json!(["response"]));
        assert_eq!(
            t.parse(r#"{"response":["a","b"]}"#).expect("valid"),
            json!(["a", "b"])
        );
        assert!(t.parse(r#"["a"]"#).is_err());
        assert!(t.parse(r#"{"response":[1]}"#).is_err());
    }
}
