//! Conversions between MCP and the SDK: tool results to [`ToolOutput`],
//! input schemas to function-tool parameters, tool names to names a model
//! accepts.

use agents_core::items::ContentPart;
use agents_core::schema::strict_schema;
use agents_core::{ToolError, ToolOutput};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ResourceContents};
use serde_json::{json, Map, Value};

/// Converts a `tools/call` result into what the model reads.
///
/// - `isError: true` becomes `Err(ToolError::Failed(text))`, the text being
///   the result's text content (or its structured content).
/// - With `prefer_structured` and a `structuredContent`, the output is that
///   JSON value.
/// - Otherwise the content blocks are mapped: text stays text; images
///   become `input_image` parts with a `data:` URL; embedded text resources
///   become their text; embedded binary resources become an image part
///   (for `image/*`) or an `input_file` part; resource links and audio
///   become a line of text describing them. An output of text only is
///   [`ToolOutput::Text`] (blocks joined by newlines), one image alone is
///   [`ToolOutput::Image`], anything else [`ToolOutput::Parts`]. An empty
///   content with a `structuredContent` gives that JSON value.
pub fn tool_output(
    result: CallToolResult,
    prefer_structured: bool,
) -> Result<ToolOutput, ToolError> {
    if result.is_error == Some(true) {
        let mut text = join_text(&result.content);
        if text.is_empty() {
            text = match &result.structured_content {
                Some(v) => v.to_string(),
                None => "the tool reported an error without details".to_owned(),
            };
        }
        return Err(ToolError::Failed(text));
    }
    if prefer_structured {
        if let Some(value) = result.structured_content {
            return Ok(ToolOutput::Json(value));
        }
    }
    let parts: Vec<ContentPart> = result.content.iter().map(content_part).collect();
    if parts.is_empty() {
        return Ok(match result.structured_content {
            Some(value) => ToolOutput::Json(value),
            None => ToolOutput::Text(String::new()),
        });
    }
    if parts
        .iter()
        .all(|p| matches!(p, ContentPart::InputText { .. }))
    {
        return Ok(ToolOutput::Text(join_text(&result.content)));
    }
    if let [ContentPart::InputImage {
        image_url: Some(url),
        detail,
        ..
    }] = parts.as_slice()
    {
        return Ok(ToolOutput::Image {
            url: url.clone(),
            detail: detail.clone(),
        });
    }
    Ok(ToolOutput::Parts(parts))
}

/// The text of the content blocks that read as text, joined by newlines.
fn join_text(content: &[ContentBlock]) -> String {
    let mut out = String::new();
    for block in content {
        if let ContentPart::InputText { text, .. } = content_part(block) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&text);
        }
    }
    out
}

fn data_url(mime: &str, base64: &str) -> String {
    format!("data:{mime};base64,{base64}")
}

/// One MCP content block as a content part the Responses API accepts in a
/// `function_call_output`.
fn content_part(block: &ContentBlock) -> ContentPart {
    match block {
        ContentBlock::Text(t) => ContentPart::input_text(t.text.clone()),
        ContentBlock::Image(i) => {
            ContentPart::input_image(Some(data_url(&i.mime_type, &i.data)), None, None)
        }
        ContentBlock::Audio(a) => ContentPart::input_text(format!(
            "[audio content ({}) omitted: the model cannot receive audio from a tool]",
            a.mime_type
        )),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { text, .. } => {
                ContentPart::input_text(text.clone())
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => {
                let mime = mime_type.as_deref().unwrap_or("application/octet-stream");
                if mime.starts_with("image/") {
                    ContentPart::input_image(Some(data_url(mime, blob)), None, None)
                } else {
                    let filename = uri
                        .rsplit('/')
                        .find(|s| !s.is_empty())
                        .unwrap_or("resource");
                    ContentPart::Other(json!({
                        "type": "input_file",
                        "filename": filename,
                        "file_data": data_url(mime, blob),
                    }))
                }
            }
            // A future kind of resource contents: keep what can be read.
            #[allow(unreachable_patterns)]
            other => ContentPart::input_text(serde_json::to_string(other).unwrap_or_default()),
        },
        ContentBlock::ResourceLink(link) => {
            let mut text = format!("Resource link: {} <{}>", link.name, link.uri);
            if let Some(mime) = &link.mime_type {
                text.push_str(&format!(" ({mime})"));
            }
            if let Some(description) = &link.description {
                text.push_str(": ");
                text.push_str(description);
            }
            ContentPart::input_text(text)
        }
        #[allow(unreachable_patterns)]
        other => ContentPart::input_text(serde_json::to_string(other).unwrap_or_default()),
    }
}

/// A tool's input schema, ready to offer to a model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PreparedSchema {
    /// The parameters schema.
    pub(crate) parameters: Value,
    /// Whether the schema was made strict.
    pub(crate) strict: bool,
    /// Top-level properties that were optional and became required and
    /// nullable in strict mode: a `null` for them is dropped before the
    /// call, so the server sees the property as absent.
    pub(crate) nullable_optional: Vec<String>,
}

/// Checks and cleans an MCP input schema. Returns `Err(reason)` when the
/// schema cannot describe function arguments (its root is not an object
/// schema, or `properties` / `required` are malformed).
///
/// With `strict`, every object gets `additionalProperties: false` and lists
/// all its properties as required; optional top-level properties become
/// nullable. A schema that strict mode cannot express (an object allowing
/// additional properties) stays non-strict.
pub(crate) fn prepare_schema(input: &JsonObject, strict: bool) -> Result<PreparedSchema, String> {
    let mut schema = input.clone();
    schema.remove("$schema");
    match schema.get("type") {
        None => {
            schema.insert("type".into(), json!("object"));
        }
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => return Err(format!("the root schema has type {other}, not \"object\"")),
    }
    match schema.get("properties") {
        None => {
            schema.insert("properties".into(), Value::Object(Map::new()));
        }
        Some(Value::Object(_)) => {}
        Some(other) => return Err(format!("`properties` is {other}, not an object")),
    }
    let required: Vec<String> = match schema.get("required") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => names.push(s.clone()),
                    other => return Err(format!("`required` holds {other}, not a string")),
                }
            }
            names
        }
        Some(other) => return Err(format!("`required` is {other}, not an array")),
    };
    let plain = PreparedSchema {
        parameters: Value::Object(schema.clone()),
        strict: false,
        nullable_optional: Vec::new(),
    };
    if !strict {
        return Ok(plain);
    }
    let mut nullable_optional = Vec::new();
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if !required.contains(name) {
                make_nullable(prop);
                nullable_optional.push(name.clone());
            }
        }
    }
    let mut parameters = Value::Object(schema);
    if let Err(e) = strict_schema(&mut parameters) {
        // Maps, any-value fields, unsupported keywords: strict mode cannot
        // express the schema, so it is sent as the server gave it.
        tracing::debug!(reason = %e, "the schema cannot be made strict; it stays non-strict");
        return Ok(plain);
    }
    Ok(PreparedSchema {
        parameters,
        strict: true,
        nullable_optional,
    })
}

fn make_nullable(prop: &mut Value) {
    let Value::Object(obj) = prop else { return };
    match obj.get_mut("type") {
        Some(Value::String(t)) => {
            if t != "null" {
                let t = std::mem::take(t);
                obj.insert("type".into(), json!([t, "null"]));
            }
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(obj);
            obj.insert(
                "anyOf".into(),
                json!([Value::Object(inner), {"type": "null"}]),
            );
        }
    }
    // A default is not allowed in strict mode; the server applies it when the
    // property is absent.
    obj.remove("default");
}

/// Parses the model's arguments into the object sent to the server,
/// dropping `null` for properties that were optional before strict
/// conversion.
pub(crate) fn call_arguments(
    raw: &str,
    nullable_optional: &[String],
) -> Result<JsonObject, ToolError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(JsonObject::new());
    }
    let value: Value =
        serde_json::from_str(raw).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
    let Value::Object(mut args) = value else {
        return Err(ToolError::InvalidArguments(
            "the arguments must be a JSON object".to_owned(),
        ));
    };
    for name in nullable_optional {
        if args.get(name).is_some_and(Value::is_null) {
            args.remove(name);
        }
    }
    Ok(args)
}

/// The longest function name the OpenAI API accepts.
const MAX_NAME_LEN: usize = 64;

/// The name offered to the model for MCP tool `tool`: characters other than
/// ASCII letters, digits, `_` and `-` become `_`; with a prefix, the name is
/// `{prefix}__{tool}`; names over 64 characters are cut and end with a hash
/// of the full name, so they stay distinct.
pub(crate) fn exposed_name(prefix: Option<&str>, tool: &str) -> String {
    let mut name = String::new();
    if let Some(prefix) = prefix {
        name.push_str(&sanitize(prefix));
        name.push_str("__");
    }
    name.push_str(&sanitize(tool));
    if name.len() > MAX_NAME_LEN {
        let hash = fnv1a(name.as_bytes());
        name.truncate(MAX_NAME_LEN - 9);
        name.push_str(&format!("_{hash:08x}"));
    }
    name
}

fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "_".to_owned()
    } else {
        out
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{EmbeddedResource, Resource};

    fn object(v: Value) -> JsonObject {
        match v {
            Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    fn result(content: Vec<ContentBlock>) -> CallToolResult {
        CallToolResult::success(content)
    }

    #[test]
    fn text_blocks_become_text() {
        let out = tool_output(
            result(vec![ContentBlock::text("a"), ContentBlock::text("b")]),
            false,
        );
        assert_eq!(out, Ok(ToolOutput::Text("a\nb".into())));
    }

    #[test]
    fn error_results_become_failures() {
        let out = tool_output(
            CallToolResult::error(vec![ContentBlock::text("boom")]),
            false,
        );
        assert_eq!(out, Err(ToolError::Failed("boom".into())));
        let empty = tool_output(CallToolResult::error(vec![]), false);
        assert_eq!(
            empty,
            Err(ToolError::Failed(
                "the tool reported an error without details".into()
            ))
        );
    }

    #[test]
    fn structured_content_when_preferred() {
        let mut r = result(vec![ContentBlock::text("{\"t\":1}")]);
        r.structured_content = Some(json!({"t": 1}));
        assert_eq!(
            tool_output(r.clone(), true),
            Ok(ToolOutput::Json(json!({"t": 1})))
        );
        assert_eq!(
            tool_output(r, false),
            Ok(ToolOutput::Text("{\"t\":1}".into()))
        );
        let mut only = result(vec![]);
        only.structured_content = Some(json!([1]));
        assert_eq!(tool_output(only, false), Ok(ToolOutput::Json(json!([1]))));
    }

    #[test]
    fn images_become_data_urls() {
        let one = tool_output(
            result(vec![ContentBlock::image("QUJD", "image/png")]),
            false,
        );
        assert_eq!(
            one,
            Ok(ToolOutput::Image {
                url: "data:image/png;base64,QUJD".into(),
                detail: None
            })
        );
        let mixed = tool_output(
            result(vec![
                ContentBlock::text("look"),
                ContentBlock::image("QUJD", "image/gif"),
            ]),
            false,
        );
        assert_eq!(
            mixed,
            Ok(ToolOutput::Parts(vec![
                ContentPart::input_text("look"),
                ContentPart::input_image(Some("data:image/gif;base64,QUJD".into()), None, None),
            ]))
        );
    }

    #[test]
    fn resources_are_readable() {
        let text = ContentBlock::Resource(EmbeddedResource::new(ResourceContents::text(
            "file body",
            "file:///a.txt",
        )));
        let link = ContentBlock::resource_link(
            Resource::new("file:///b.txt", "b.txt")
                .with_mime_type("text/plain")
                .with_description("B"),
        );
        assert_eq!(
            tool_output(result(vec![text, link]), false),
            Ok(ToolOutput::Text(
                "file body\nResource link: b.txt <file:///b.txt> (text/plain): B".into()
            ))
        );
        let blob = ContentBlock::Resource(EmbeddedResource::new(
            ResourceContents::blob("UEsD", "file:///dir/data.zip")
                .with_mime_type("application/zip"),
        ));
        assert_eq!(
            tool_output(result(vec![blob]), false),
            Ok(ToolOutput::Parts(vec![ContentPart::Other(json!({
                "type": "input_file",
                "filename": "data.zip",
                "file_data": "data:application/zip;base64,UEsD",
            }))]))
        );
    }

    #[test]
    fn schemas_are_checked_and_cleaned() {
        let p = prepare_schema(&object(json!({"$schema": "x"})), false).unwrap();
        assert_eq!(p.parameters, json!({"type": "object", "properties": {}}));
        assert!(!p.strict);
        for bad in [
            json!({"type": "string"}),
            json!({"type": "object", "properties": 3}),
            json!({"type": "object", "required": "a"}),
            json!({"type": "object", "required": [1]}),
        ] {
            assert!(
                prepare_schema(&object(bad.clone()), false).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn strict_schemas_make_optional_properties_nullable() {
        let input = object(json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "depth": {"type": "integer", "default": 1},
                "mode": {"enum": ["a", "b"]},
            },
            "required": ["path"],
        }));
        let p = prepare_schema(&input, true).unwrap();
        assert!(p.strict);
        assert_eq!(
            p.nullable_optional,
            vec!["depth".to_owned(), "mode".to_owned()]
        );
        assert_eq!(
            p.parameters,
            json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "depth": {"type": ["integer", "null"]},
                    "mode": {"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}]},
                },
                "required": ["path", "depth", "mode"],
                "additionalProperties": false,
            })
        );
    }

    #[test]
    fn strict_falls_back_when_additional_properties_are_allowed() {
        let input = object(json!({
            "type": "object",
            "properties": {"tags": {"type": "object", "additionalProperties": {"type": "string"}}},
        }));
        let p = prepare_schema(&input, true).unwrap();
        assert!(!p.strict);
        assert_eq!(p.parameters, Value::Object(input));
    }

    #[test]
    fn strict_schemas_keep_keyword_named_fields_and_unravel_described_refs() {
        let input = object(json!({
            "type": "object",
            "properties": {
                "default": {"type": "string"},
                "target": {"$ref": "#/$defs/Target", "description": "Where."},
            },
            "required": ["default", "target"],
            "$defs": {"Target": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}},
        }));
        let p = prepare_schema(&input, true).unwrap();
        assert!(p.strict);
        assert_eq!(
            p.parameters["properties"]["default"],
            json!({"type": "string"})
        );
        assert_eq!(
            p.parameters["properties"]["target"],
            json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"],
                   "additionalProperties": false, "description": "Where."})
        );
        // A keyword strict mode lacks: sent as given, not strict.
        let input = object(json!({
            "type": "object",
            "properties": {"tags": {"type": "object", "properties": {}, "minProperties": 1}},
        }));
        let p = prepare_schema(&input, true).unwrap();
        assert!(!p.strict);
        assert_eq!(p.parameters, Value::Object(input));
    }

    #[test]
    fn arguments_drop_nulls_of_optional_properties() {
        let args = call_arguments(
            r#"{"path":"a","depth":null,"other":null}"#,
            &["depth".into()],
        )
        .unwrap();
        assert_eq!(Value::Object(args), json!({"path": "a", "other": null}));
        assert_eq!(call_arguments("  ", &[]).unwrap(), JsonObject::new());
        assert!(matches!(
            call_arguments("[1]", &[]),
            Err(ToolError::InvalidArguments(_))
        ));
        assert!(matches!(
            call_arguments("{", &[]),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn names_are_sanitized_prefixed_and_bounded() {
        assert_eq!(exposed_name(None, "get-sum"), "get-sum");
        assert_eq!(exposed_name(None, "fs.read file"), "fs_read_file");
        assert_eq!(exposed_name(Some("my server"), "echo"), "my_server__echo");
        let long = "x".repeat(80);
        let a = exposed_name(None, &long);
        let b = exposed_name(None, &format!("{long}y"));
        assert_eq!(a.len(), 64);
        assert_eq!(b.len(), 64);
        assert_ne!(a, b);
    }
}
