//! Final outputs and structured output types.

use std::fmt;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::model::OutputSchema;
use crate::schema::{describe_root, strict_schema, SchemaError};

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
/// Types whose schema is not a plain object (enums, vectors, numbers, ...)
/// are wrapped in `{"response": ...}` on the wire, because providers need an
/// object at the root, and unwrapped again on parse.
///
/// # Strict schemas
///
/// [`OutputType::of`] and [`OutputType::try_of`] send a strict schema (see
/// [`crate::schema`]). Types strict mode cannot express fail there, naming
/// the field: maps (`HashMap<String, T>`, `BTreeMap`), `serde_json::Value`,
/// tuples of mixed element types. [`OutputType::of_non_strict`] sends the
/// schema as schemars generates it and never fails.
///
/// # Hand-written schemas
///
/// [`OutputType::from_json_schema`] takes a JSON Schema and a validator
/// closure instead of a Rust type, for outputs described elsewhere (a
/// schema file, another service's contract):
///
/// ```
/// use agents_core::OutputType;
/// use serde_json::json;
///
/// let schema = json!({"type": "object",
///     "properties": {"score": {"type": "integer"}}, "required": ["score"]});
/// let t = OutputType::from_json_schema("Score", schema, |v| match v["score"].as_i64() {
///     Some(0..=10) => Ok(()),
///     _ => Err("score must be an integer from 0 to 10".to_owned()),
/// })
/// .unwrap();
/// assert!(!t.is_plain_text());
/// assert_eq!(t.schema().schema["additionalProperties"], json!(false)); // made strict
/// assert_eq!(t.parse(r#"{"score": 7}"#).unwrap(), json!({"score": 7}));
/// assert!(t.parse(r#"{"score": 70}"#).unwrap_err().contains("from 0 to 10"));
/// assert!(OutputType::plain_text().is_plain_text());
/// ```
#[derive(Clone)]
pub struct OutputType {
    schema: OutputSchema,
    wrapped: bool,
    validate: Validator,
    plain_text: bool,
}

impl fmt::Debug for OutputType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputType")
            .field("schema", &self.schema)
            .field("wrapped", &self.wrapped)
            .field("plain_text", &self.plain_text)
            .finish_non_exhaustive()
    }
}

impl OutputType {
    /// The output type of `T`, with a strict schema.
    ///
    /// # Panics
    ///
    /// Panics when `T` has no strict schema (see [`OutputType::try_of`]);
    /// the message names the field and the non-strict option. Use
    /// [`OutputType::of_non_strict`] for such types.
    pub fn of<T: JsonSchema + DeserializeOwned + 'static>() -> Self {
        Self::try_of::<T>().unwrap_or_else(|e| {
            panic!(
                "the output type `{}` has no strict schema: {e}",
                T::schema_name()
            )
        })
    }

    /// The output type of `T`, with a strict schema.
    ///
    /// # Errors
    ///
    /// A [`SchemaError`] naming the field of `T` that strict mode cannot
    /// express (a map, a `serde_json::Value`, ...).
    pub fn try_of<T: JsonSchema + DeserializeOwned + 'static>() -> Result<Self, SchemaError> {
        let (name, raw) = generate::<T>();
        let mut schema = raw.clone();
        let mut wrapped = describe_root(&raw).is_some();
        if !wrapped {
            strict_schema(&mut schema)?;
            // A flattened enum turns an object into alternatives: wrap it.
            wrapped = describe_root(&schema).is_some();
        }
        if wrapped {
            schema = wrap(raw, &name);
            strict_schema(&mut schema)?;
        }
        Ok(Self::build::<T>(name, schema, wrapped, true))
    }

    /// The output type of `T` with a non-strict schema: the schema schemars
    /// generates, untouched (apart from the root's `$schema` and `title`, and
    /// the `{"response": ...}` wrapper of non-object types). Never fails.
    pub fn of_non_strict<T: JsonSchema + DeserializeOwned + 'static>() -> Self {
        let (name, raw) = generate::<T>();
        let wrapped = describe_root(&raw).is_some();
        let schema = if wrapped { wrap(raw, &name) } else { raw };
        Self::build::<T>(name, schema, wrapped, false)
    }

    fn build<T: DeserializeOwned + 'static>(
        name: String,
        schema: Value,
        wrapped: bool,
        strict: bool,
    ) -> Self {
        OutputType {
            schema: OutputSchema {
                name,
                schema,
                strict,
            },
            wrapped,
            validate: Arc::new(|v: &Value| {
                T::deserialize(v).map(|_| ()).map_err(|e| e.to_string())
            }),
            plain_text: false,
        }
    }

    /// An output type from a hand-written JSON Schema and a validator, with
    /// a strict schema: `schema` is made strict ([`crate::schema::strict_schema`]),
    /// and wrapped in `{"response": ...}` when its root is not an object.
    /// The model's JSON (unwrapped) must pass `validate` to be the final
    /// output; its `Err` message is the validation error.
    ///
    /// # Errors
    ///
    /// A [`SchemaError`] when strict mode cannot express the schema (use
    /// [`OutputType::from_json_schema_non_strict`]).
    pub fn from_json_schema<F>(name: &str, schema: Value, validate: F) -> Result<Self, SchemaError>
    where
        F: Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    {
        let name = sanitize_name(name);
        let wrapped = describe_root(&schema).is_some();
        let mut schema = if wrapped { wrap(schema, &name) } else { schema };
        strict_schema(&mut schema)?;
        Ok(Self::custom(name, schema, wrapped, true, validate))
    }

    /// Like [`OutputType::from_json_schema`], sending `schema` as given
    /// (wrapped when its root is not an object) with `strict: false`.
    /// Never fails.
    pub fn from_json_schema_non_strict<F>(name: &str, schema: Value, validate: F) -> Self
    where
        F: Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    {
        let name = sanitize_name(name);
        let wrapped = describe_root(&schema).is_some();
        let schema = if wrapped { wrap(schema, &name) } else { schema };
        Self::custom(name, schema, wrapped, false, validate)
    }

    fn custom<F>(name: String, schema: Value, wrapped: bool, strict: bool, validate: F) -> Self
    where
        F: Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    {
        OutputType {
            schema: OutputSchema {
                name,
                schema,
                strict,
            },
            wrapped,
            validate: Arc::new(validate),
            plain_text: false,
        }
    }

    /// The plain-text output type: no schema is sent and the final output is
    /// the message's text. An agent given this type behaves as an agent
    /// without an output type ([`Agent::output_type`](crate::Agent::output_type)
    /// is `None`).
    pub fn plain_text() -> Self {
        OutputType {
            schema: OutputSchema {
                name: "text".to_owned(),
                schema: json!({"type": "string"}),
                strict: false,
            },
            wrapped: false,
            validate: Arc::new(|_| Ok(())),
            plain_text: true,
        }
    }

    /// Whether the output is plain text ([`OutputType::plain_text`]) rather
    /// than JSON validated against a schema.
    pub fn is_plain_text(&self) -> bool {
        self.plain_text
    }

    /// Whether the value travels wrapped as `{"response": value}` (types
    /// whose schema is not a plain object).
    pub fn is_wrapped(&self) -> bool {
        self.wrapped
    }

    /// The schema sent to the model.
    pub fn schema(&self) -> &OutputSchema {
        &self.schema
    }

    /// Parses and validates the model's text output (for the plain-text
    /// type: the text as a JSON string).
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        if self.plain_text {
            return Ok(Value::String(text.to_owned()));
        }
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

/// The sanitized name and the schema of `T`, without the root's `$schema`
/// and `title`.
fn generate<T: JsonSchema>() -> (String, Value) {
    let name = sanitize_name(&T::schema_name());
    let mut schema = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
    }
    (name, schema)
}

/// `{"type": "object", "properties": {"response": schema}, ...}`, with the
/// definitions moved to the wrapper. A recursive root (`"$ref": "#"`) becomes
/// a definition named `name`, so that its references keep their target.
fn wrap(mut schema: Value, name: &str) -> Value {
    let mut defs_key = "$defs";
    let mut defs = Map::new();
    if let Some(obj) = schema.as_object_mut() {
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(d)) = obj.remove(key) {
                defs_key = key;
                defs.extend(d);
            }
        }
    }
    let mut inner = schema;
    let mut def_name = name.to_owned();
    while defs.contains_key(&def_name) {
        def_name.push_str("_root");
    }
    let target = format!("#/{defs_key}/{def_name}");
    if retarget_root_refs(&mut inner, &target) {
        defs.insert(def_name, inner);
        inner = json!({ "$ref": target });
    }
    let mut wrapper = json!({
        "type": "object",
        "properties": { "response": inner },
        "required": ["response"],
        "additionalProperties": false
    });
    if !defs.is_empty() {
        if let Some(obj) = wrapper.as_object_mut() {
            obj.insert(defs_key.to_owned(), Value::Object(defs));
        }
    }
    wrapper
}

/// Rewrites every `"$ref": "#"` to `target`; true when there was one. The
/// schema is walked by keyword position: names of properties and values
/// (`enum`, `const`, `default`) are never taken for keywords.
fn retarget_root_refs(schema: &mut Value, target: &str) -> bool {
    let Value::Object(obj) = schema else {
        return false;
    };
    let mut found = false;
    for (key, value) in obj.iter_mut() {
        match key.as_str() {
            "$ref" if value == "#" => {
                *value = Value::String(target.to_owned());
                found = true;
            }
            "properties" | "$defs" | "definitions" | "patternProperties" | "dependentSchemas" => {
                if let Value::Object(map) = value {
                    for sub in map.values_mut() {
                        found |= retarget_root_refs(sub, target);
                    }
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(list) = value {
                    for sub in list {
                        found |= retarget_root_refs(sub, target);
                    }
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties" => {
                found |= retarget_root_refs(value, target);
            }
            _ => {}
        }
    }
    found
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
    fn hand_written_schemas_validate_with_their_closure() {
        let t = OutputType::from_json_schema(
            "tags list!",
            json!({"type": "array", "items": {"type": "string"}}),
            |v| match v.as_array() {
                Some(a) if a.iter().all(Value::is_string) => Ok(()),
                _ => Err("not a list of strings".to_owned()),
            },
        )
        .expect("strict");
        assert_eq!(t.schema().name, "tags_list_");
        assert!(t.is_wrapped() && t.schema().strict);
        assert_eq!(t.schema().schema["required"], json!(["response"]));
        assert_eq!(
            t.parse(r#"{"response":["a"]}"#).expect("valid"),
            json!(["a"])
        );
        assert!(t
            .parse(r#"{"response":[1]}"#)
            .expect_err("invalid")
            .contains("not a list of strings"));
        // A map cannot be strict: a typed error, and the non-strict form sends it as is.
        let map = json!({"type": "object", "additionalProperties": {"type": "integer"}});
        assert!(OutputType::from_json_schema("m", map.clone(), |_| Ok(())).is_err());
        let t = OutputType::from_json_schema_non_strict("m", map.clone(), |_| Ok(()));
        assert_eq!(t.schema().schema, map);
        assert!(!t.schema().strict && !t.is_plain_text());
        let text = OutputType::plain_text();
        assert!(text.is_plain_text());
        assert_eq!(text.parse("not json").expect("text"), json!("not json"));
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
