//! OpenAI's strict-mode rules for JSON schemas, and the other request rules the real service
//! enforces beyond the OpenAPI spec.
//!
//! The real service rejects a request whose strict schema (a function tool with
//! `strict: true`, a `json_schema` response format with `strict: true`) uses JSON Schema beyond
//! the subset its structured outputs support, with a `400` naming the rule and where it broke.
//! The mock does the same, so that a test of a provider cannot pass with a schema the service
//! would refuse. The rules, as documented in OpenAI's structured-outputs guide ("Supported
//! schemas"):
//!
//! | rule | what it says |
//! |------|--------------|
//! | `root-object` | the root is an object schema (`"type": "object"`), not `anyOf` |
//! | `schema-object` | every subschema is a JSON object (no `true` / `false` schemas) |
//! | `supported-keyword` | only `type`, `properties`, `required`, `additionalProperties`, `items`, `anyOf`, `enum`, `const`, `$ref`, `$defs`, `definitions`, `description`, `title`, and the constraints `pattern`, `format`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minItems`, `maxItems`; anything else (`default`, `oneOf`, `allOf`, `not`, `if`, `patternProperties`, `prefixItems`, `uniqueItems`, `minLength`, ...) is rejected |
//! | `format-supported` | `format` is one of `date-time`, `time`, `date`, `duration`, `email`, `hostname`, `ipv4`, `ipv6`, `uuid` |
//! | `type-known` | `type` is one of `string`, `number`, `integer`, `boolean`, `object`, `array`, `null`, or a list of them |
//! | `additional-properties-false` | every object sets `additionalProperties: false` |
//! | `required-all` | every object lists each of its properties in `required` (optional fields are nullable instead), and nothing else |
//! | `ref-no-siblings` | a `$ref` has no sibling keywords |
//! | `ref-resolves` | a `$ref` is a local JSON pointer (`#`, `#/$defs/Name`, ...) into the schema |
//! | `any-of-list` | `anyOf` is a non-empty list of schemas |
//! | `nesting-depth` | objects nest at most 10 levels (the root object is level 1; definitions start again at level 1, references are not followed) |
//! | `property-count` | at most 5,000 object properties in total |
//! | `string-length` | property names, definition names, `enum` and `const` values total at most 120,000 characters |
//! | `enum-count` | at most 1,000 `enum` values in total |
//! | `enum-string-length` | an `enum` of more than 250 strings totals at most 15,000 characters |
//!
//! Besides schemas, the mock enforces item rules of the Responses API:
//!
//! | rule | what it says |
//! |------|--------------|
//! | `no-placeholder-item-id` | no `input` item carries the id `__fake_id__`: SDKs store it as a placeholder for items the API gave no id, and the real API rejects input item ids it did not issue |

use std::fmt;

use serde_json::{Map, Value};

/// The placeholder item id openai-agents-python stores for items without one.
pub const PLACEHOLDER_ITEM_ID: &str = "__fake_id__";

/// Most levels of nested objects.
pub const MAX_NESTING: usize = 10;
/// Most object properties in one schema.
pub const MAX_PROPERTIES: usize = 5_000;
/// Most characters of property names, definition names, enum and const values.
pub const MAX_STRING_LENGTH: usize = 120_000;
/// Most enum values in one schema.
pub const MAX_ENUM_VALUES: usize = 1_000;
/// Above this many string values, one enum's values are limited in total length.
pub const LARGE_ENUM: usize = 250;
/// Most characters of the values of one large string enum.
pub const MAX_LARGE_ENUM_LENGTH: usize = 15_000;

/// The keywords a strict schema may use.
pub const SUPPORTED_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// The `format` values a strict schema may use.
pub const SUPPORTED_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// A broken strict-mode rule: which one, where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StrictViolation {
    /// The rule's name, e.g. `additional-properties-false` (see the module docs).
    pub rule: &'static str,
    /// Where in the schema: the keywords and names leading to the offending subschema, as the
    /// real service reports them (`['properties', 'extra']`); empty for the root.
    pub context: Vec<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for StrictViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let context: Vec<String> = self.context.iter().map(|c| format!("'{c}'")).collect();
        write!(
            f,
            "In context=({}), {} (strict-mode rule `{}`)",
            context.join(", "),
            self.message,
            self.rule
        )
    }
}

/// Checks `schema` against OpenAI's strict-mode rules (see the module docs); the first
/// violation found is returned, as the real service reports one.
pub fn check_strict_schema(schema: &Value) -> Result<(), StrictViolation> {
    let mut checker = Checker {
        root: schema,
        properties: 0,
        string_length: 0,
        enum_values: 0,
    };
    let Value::Object(root) = schema else {
        return Err(violation(
            "root-object",
            &[],
            format!("the schema must be a JSON object with \"type\": \"object\", got {schema}"),
        ));
    };
    if root.contains_key("anyOf") {
        return Err(violation(
            "root-object",
            &[],
            "the root schema must be an object, not 'anyOf'".into(),
        ));
    }
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Err(violation(
            "root-object",
            &[],
            format!(
                "the root schema must have \"type\": \"object\", got {}",
                root.get("type").map_or("none".into(), Value::to_string)
            ),
        ));
    }
    let mut path = Vec::new();
    checker.schema(schema, &mut path, 0)
}

fn violation(rule: &'static str, path: &[String], message: String) -> StrictViolation {
    StrictViolation {
        rule,
        context: path.to_vec(),
        message,
    }
}

struct Checker<'a> {
    root: &'a Value,
    properties: usize,
    string_length: usize,
    enum_values: usize,
}

impl Checker<'_> {
    fn count_chars(&mut self, path: &[String], s: &str) -> Result<(), StrictViolation> {
        self.string_length += s.chars().count();
        if self.string_length > MAX_STRING_LENGTH {
            return Err(violation(
                "string-length",
                path,
                format!(
                    "the total length of property names, definition names, enum and const values \
                     exceeds {MAX_STRING_LENGTH} characters"
                ),
            ));
        }
        Ok(())
    }

    /// Checks one subschema; `depth` is the number of enclosing object schemas.
    fn schema(
        &mut self,
        schema: &Value,
        path: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), StrictViolation> {
        let Value::Object(obj) = schema else {
            return Err(violation(
                "schema-object",
                path,
                format!("a schema must be a JSON object, got {schema}"),
            ));
        };
        for key in obj.keys() {
            if !SUPPORTED_KEYWORDS.contains(&key.as_str()) {
                return Err(violation(
                    "supported-keyword",
                    path,
                    format!("'{key}' is not permitted"),
                ));
            }
        }
        if let Some(reference) = obj.get("$ref") {
            if obj.len() > 1 {
                let siblings: Vec<&str> = obj
                    .keys()
                    .map(String::as_str)
                    .filter(|k| *k != "$ref")
                    .collect();
                return Err(violation(
                    "ref-no-siblings",
                    path,
                    format!("$ref cannot have keywords {siblings:?}"),
                ));
            }
            return self.reference(reference, path);
        }
        if let Some(types) = obj.get("type") {
            check_type(types, path)?;
        }
        if let Some(format) = obj.get("format") {
            if !format
                .as_str()
                .is_some_and(|f| SUPPORTED_FORMATS.contains(&f))
            {
                return Err(violation(
                    "format-supported",
                    path,
                    format!("format {format} is not supported"),
                ));
            }
        }
        if let Some(values) = obj.get("enum") {
            self.enumeration(values, path)?;
        }
        if let Some(Value::String(value)) = obj.get("const") {
            self.count_chars(path, value)?;
        }

        let is_object = obj.contains_key("properties")
            || match obj.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
        let depth = if is_object { depth + 1 } else { depth };
        if is_object {
            self.object(obj, path, depth)?;
        }
        if let Some(items) = obj.get("items") {
            path.push("items".into());
            self.schema(items, path, depth)?;
            path.pop();
        }
        if let Some(alternatives) = obj.get("anyOf") {
            let list = match alternatives {
                Value::Array(list) if !list.is_empty() => list,
                _ => {
                    return Err(violation(
                        "any-of-list",
                        path,
                        "'anyOf' must be a non-empty list of schemas".into(),
                    ))
                }
            };
            for (i, alternative) in list.iter().enumerate() {
                path.push("anyOf".into());
                path.push(i.to_string());
                self.schema(alternative, path, depth)?;
                path.truncate(path.len() - 2);
            }
        }
        for key in ["$defs", "definitions"] {
            if let Some(defs) = obj.get(key) {
                let Value::Object(defs) = defs else {
                    return Err(violation(
                        "schema-object",
                        path,
                        format!("'{key}' must be an object of schemas"),
                    ));
                };
                for (name, def) in defs {
                    self.count_chars(path, name)?;
                    path.push(key.into());
                    path.push(name.clone());
                    self.schema(def, path, 0)?;
                    path.truncate(path.len() - 2);
                }
            }
        }
        Ok(())
    }

    fn object(
        &mut self,
        obj: &Map<String, Value>,
        path: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), StrictViolation> {
        if depth > MAX_NESTING {
            return Err(violation(
                "nesting-depth",
                path,
                format!("objects nest more than {MAX_NESTING} levels deep"),
            ));
        }
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(violation(
                "additional-properties-false",
                path,
                "'additionalProperties' is required to be supplied and to be false".into(),
            ));
        }
        let empty = Map::new();
        let properties = match obj.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(other) => {
                return Err(violation(
                    "schema-object",
                    path,
                    format!("'properties' must be an object of schemas, got {other}"),
                ))
            }
        };
        let required: Vec<&str> = match obj.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            Some(other) => {
                return Err(violation(
                    "required-all",
                    path,
                    format!("'required' must be an array of property names, got {other}"),
                ))
            }
        };
        if let Some(missing) = properties
            .keys()
            .find(|name| !required.contains(&name.as_str()))
        {
            return Err(violation(
                "required-all",
                path,
                format!(
                    "'required' is required to be supplied and to be an array including every \
                     key in properties. Missing '{missing}'"
                ),
            ));
        }
        if let Some(extra) = required
            .iter()
            .find(|name| !properties.contains_key(**name))
        {
            return Err(violation(
                "required-all",
                path,
                format!("'required' lists '{extra}', which is not in properties"),
            ));
        }
        self.properties += properties.len();
        if self.properties > MAX_PROPERTIES {
            return Err(violation(
                "property-count",
                path,
                format!("the schema has more than {MAX_PROPERTIES} object properties"),
            ));
        }
        for (name, property) in properties {
            self.count_chars(path, name)?;
            path.push("properties".into());
            path.push(name.clone());
            self.schema(property, path, depth)?;
            path.truncate(path.len() - 2);
        }
        Ok(())
    }

    fn enumeration(&mut self, values: &Value, path: &[String]) -> Result<(), StrictViolation> {
        let Value::Array(values) = values else {
            return Err(violation(
                "supported-keyword",
                path,
                "'enum' must be an array".into(),
            ));
        };
        self.enum_values += values.len();
        if self.enum_values > MAX_ENUM_VALUES {
            return Err(violation(
                "enum-count",
                path,
                format!("the schema has more than {MAX_ENUM_VALUES} enum values"),
            ));
        }
        let mut length = 0;
        let mut strings = 0;
        for value in values {
            if let Value::String(s) = value {
                strings += 1;
                length += s.chars().count();
                self.count_chars(path, s)?;
            }
        }
        if strings > LARGE_ENUM && length > MAX_LARGE_ENUM_LENGTH {
            return Err(violation(
                "enum-string-length",
                path,
                format!(
                    "an enum of more than {LARGE_ENUM} strings totals more than \
                     {MAX_LARGE_ENUM_LENGTH} characters ({length})"
                ),
            ));
        }
        Ok(())
    }

    fn reference(&self, reference: &Value, path: &[String]) -> Result<(), StrictViolation> {
        let target = reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| self.root.pointer(pointer));
        match target {
            Some(_) => Ok(()),
            None => Err(violation(
                "ref-resolves",
                path,
                format!("$ref {reference} does not point into the schema"),
            )),
        }
    }
}

fn check_type(types: &Value, path: &[String]) -> Result<(), StrictViolation> {
    let known = |t: &Value| t.as_str().is_some_and(|t| TYPES.contains(&t));
    let ok = match types {
        Value::String(_) => known(types),
        Value::Array(list) => !list.is_empty() && list.iter().all(known),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(violation(
            "type-known",
            path,
            format!("type {types} is not supported"),
        ))
    }
}

/// Which API a request body is for, as far as [`check_request`] cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    Responses,
    Chat,
}

/// Every rule violation of a request body: the strict schemas it carries (function tools with
/// `strict: true`, a strict `json_schema` output format) and, for the Responses API, the item
/// rules. Each message names the rule and where in the body it broke.
pub(crate) fn check_request(api: Body, body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut schema = |location: String, schema: Option<&Value>| {
        let Some(schema) = schema else { return };
        if let Err(v) = check_strict_schema(schema) {
            errors.push(format!("{location}: invalid strict schema: {v}"));
        }
    };
    let strict = |v: Option<&Value>| v == Some(&Value::Bool(true));
    let tools = body.get("tools").and_then(Value::as_array);
    match api {
        Body::Responses => {
            for (i, tool) in tools.into_iter().flatten().enumerate() {
                if tool.get("type").and_then(Value::as_str) == Some("function")
                    && strict(tool.get("strict"))
                {
                    schema(format!("tools[{i}].parameters"), tool.get("parameters"));
                }
            }
            if let Some(format) = body.pointer("/text/format") {
                if format.get("type").and_then(Value::as_str) == Some("json_schema")
                    && strict(format.get("strict"))
                {
                    schema("text.format.schema".into(), format.get("schema"));
                }
            }
        }
        Body::Chat => {
            for (i, tool) in tools.into_iter().flatten().enumerate() {
                if let Some(function) = tool.get("function") {
                    if strict(function.get("strict")) {
                        schema(
                            format!("tools[{i}].function.parameters"),
                            function.get("parameters"),
                        );
                    }
                }
            }
            if let Some(format) = body.get("response_format") {
                if format.get("type").and_then(Value::as_str) == Some("json_schema")
                    && strict(format.pointer("/json_schema/strict"))
                {
                    schema(
                        "response_format.json_schema.schema".into(),
                        format.pointer("/json_schema/schema"),
                    );
                }
            }
        }
    }
    if api == Body::Responses {
        if let Some(items) = body.get("input").and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                if item.get("id").and_then(Value::as_str) == Some(PLACEHOLDER_ITEM_ID) {
                    errors.push(format!(
                        "input[{i}].id: the id `{PLACEHOLDER_ITEM_ID}` is a placeholder an SDK \
                         stores for items the API gave no id; the real API rejects input item \
                         ids it did not issue (rule `no-placeholder-item-id`: strip it before \
                         sending)"
                    ));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(properties: Value) -> Value {
        let required: Vec<Value> = properties
            .as_object()
            .map(|p| p.keys().cloned().map(Value::String).collect())
            .unwrap_or_default();
        json!({"type": "object", "properties": properties, "required": required,
               "additionalProperties": false})
    }

    /// Asserts that `schema` breaks `rule` at `context`.
    fn rejects(schema: Value, rule: &str, context: &[&str]) {
        let v = check_strict_schema(&schema).expect_err(&format!("{schema} should break {rule}"));
        assert_eq!(v.rule, rule, "{v}");
        assert_eq!(v.context, context, "{v}");
        assert!(v.to_string().contains(rule), "{v}");
    }

    #[test]
    fn a_valid_schema_passes() {
        let node = json!({"type": "object", "properties": {
            "value": {"type": "integer", "minimum": 0},
            "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}},
            "required": ["value", "next"], "additionalProperties": false});
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^a", "format": "email", "description": "d"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
                "unit": {"type": ["string", "null"], "enum": ["C", "F", null]},
                "kind": {"const": "k"},
                "head": {"$ref": "#/$defs/Node"},
                "self": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
                "default": {"type": "number", "exclusiveMaximum": 1, "multipleOf": 0.5},
            },
            "required": ["name", "tags", "unit", "kind", "head", "self", "default"],
            "additionalProperties": false,
            "$defs": {"Node": node},
        });
        assert_eq!(check_strict_schema(&schema), Ok(()));
    }

    #[test]
    fn root_object() {
        rejects(json!({"anyOf": [object(json!({}))]}), "root-object", &[]);
        rejects(json!({"type": "string"}), "root-object", &[]);
        rejects(json!(true), "root-object", &[]);
    }

    #[test]
    fn schema_object() {
        rejects(
            object(json!({"v": true})),
            "schema-object",
            &["properties", "v"],
        );
    }

    #[test]
    fn supported_keyword() {
        for keyword in [
            "default",
            "oneOf",
            "allOf",
            "not",
            "if",
            "patternProperties",
            "prefixItems",
            "uniqueItems",
            "minLength",
        ] {
            let mut field = json!({"type": "string"});
            field[keyword] = json!([]);
            rejects(
                object(json!({"f": field})),
                "supported-keyword",
                &["properties", "f"],
            );
        }
    }

    #[test]
    fn format_supported() {
        rejects(
            object(json!({"n": {"type": "integer", "format": "int64"}})),
            "format-supported",
            &["properties", "n"],
        );
    }

    #[test]
    fn type_known() {
        rejects(
            object(json!({"n": {"type": "decimal"}})),
            "type-known",
            &["properties", "n"],
        );
    }

    #[test]
    fn additional_properties_false() {
        let mut inner = object(json!({"a": {"type": "string"}}));
        inner
            .as_object_mut()
            .unwrap()
            .remove("additionalProperties");
        rejects(
            object(json!({"settings": inner})),
            "additional-properties-false",
            &["properties", "settings"],
        );
        rejects(
            object(json!({"map": {"type": "object", "additionalProperties": {"type": "string"}}})),
            "additional-properties-false",
            &["properties", "map"],
        );
    }

    #[test]
    fn required_all() {
        let mut schema = object(json!({"a": {"type": "string"}, "b": {"type": "string"}}));
        schema["required"] = json!(["a"]);
        rejects(schema.clone(), "required-all", &[]);
        schema["required"] = json!(["a", "b", "c"]);
        rejects(schema, "required-all", &[]);
    }

    #[test]
    fn property_names_are_not_keywords() {
        // Fields named like keywords are fine, and checked as fields.
        let schema =
            object(json!({"default": {"type": "string"}, "properties": {"type": "integer"}}));
        assert_eq!(check_strict_schema(&schema), Ok(()));
    }

    #[test]
    fn ref_no_siblings() {
        rejects(
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/A", "description": "d"}},
                   "required": ["a"], "additionalProperties": false,
                   "$defs": {"A": {"type": "string"}}}),
            "ref-no-siblings",
            &["properties", "a"],
        );
    }

    #[test]
    fn ref_resolves() {
        rejects(
            object(json!({"a": {"$ref": "#/$defs/Missing"}})),
            "ref-resolves",
            &["properties", "a"],
        );
        rejects(
            object(json!({"a": {"$ref": "https://example.com/a.json"}})),
            "ref-resolves",
            &["properties", "a"],
        );
    }

    #[test]
    fn any_of_list() {
        rejects(
            object(json!({"a": {"anyOf": []}})),
            "any-of-list",
            &["properties", "a"],
        );
    }

    #[test]
    fn nesting_depth() {
        let mut schema = object(json!({"leaf": {"type": "string"}}));
        for _ in 0..9 {
            schema = object(json!({"n": schema}));
        }
        assert_eq!(check_strict_schema(&schema), Ok(()), "10 levels are fine");
        let schema = object(json!({"n": schema}));
        let v = check_strict_schema(&schema).expect_err("11 levels");
        assert_eq!(v.rule, "nesting-depth");
        assert_eq!(v.context.len(), 20);
    }

    #[test]
    fn property_count() {
        let wide = |n: usize| {
            let fields: Map<String, Value> = (0..n)
                .map(|i| (format!("f{i}"), json!({"type": "string"})))
                .collect();
            object(Value::Object(fields))
        };
        assert_eq!(check_strict_schema(&wide(MAX_PROPERTIES)), Ok(()));
        rejects(wide(MAX_PROPERTIES + 1), "property-count", &[]);
    }

    #[test]
    fn string_length() {
        let long = "x".repeat(MAX_STRING_LENGTH + 1);
        rejects(
            object(json!({"a": {"const": long}})),
            "string-length",
            &["properties", "a"],
        );
    }

    #[test]
    fn enum_count() {
        let values: Vec<Value> = (0..=MAX_ENUM_VALUES).map(Value::from).collect();
        rejects(
            object(json!({"a": {"type": "integer", "enum": values}})),
            "enum-count",
            &["properties", "a"],
        );
    }

    #[test]
    fn enum_string_length() {
        let values: Vec<Value> = (0..=LARGE_ENUM)
            .map(|i| Value::String(format!("{i:0>60}")))
            .collect();
        rejects(
            object(json!({"a": {"type": "string", "enum": values}})),
            "enum-string-length",
            &["properties", "a"],
        );
        let short: Vec<Value> = (0..=LARGE_ENUM)
            .map(|i| Value::String(i.to_string()))
            .collect();
        assert_eq!(
            check_strict_schema(&object(json!({"a": {"type": "string", "enum": short}}))),
            Ok(())
        );
    }

    #[test]
    fn requests_are_checked_where_strict_schemas_sit() {
        let bad = json!({"type": "object", "properties": {}});
        let good = object(json!({}));
        let responses = json!({"model": "m", "input": "hi",
            "tools": [{"type": "function", "name": "a", "strict": true, "parameters": good},
                      {"type": "function", "name": "b", "strict": false, "parameters": bad},
                      {"type": "function", "name": "c", "strict": true, "parameters": bad}],
            "text": {"format": {"type": "json_schema", "name": "o", "strict": true, "schema": bad}}});
        let errors = check_request(Body::Responses, &responses);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("tools[2].parameters:"), "{errors:?}");
        assert!(errors[1].starts_with("text.format.schema:"), "{errors:?}");
        assert!(
            errors[0].contains("additional-properties-false"),
            "{errors:?}"
        );

        let chat = json!({"model": "m", "messages": [],
            "tools": [{"type": "function", "function": {"name": "c", "strict": true, "parameters": bad}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "o", "strict": true, "schema": bad}}});
        let errors = check_request(Body::Chat, &chat);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("tools[0].function.parameters:"));
        assert!(errors[1].starts_with("response_format.json_schema.schema:"));
    }

    #[test]
    fn no_placeholder_item_id() {
        let body = json!({"model": "m", "input": [
            {"role": "user", "content": "hi"},
            {"type": "message", "id": PLACEHOLDER_ITEM_ID, "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "x", "annotations": []}]}]});
        let errors = check_request(Body::Responses, &body);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("input[1].id:"), "{errors:?}");
        assert!(errors[0].contains("no-placeholder-item-id"), "{errors:?}");
        let mut fine = body.clone();
        fine["input"][1]["id"] = json!("msg_123");
        assert!(check_request(Body::Responses, &fine).is_empty());
    }
}
