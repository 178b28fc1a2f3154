//! Items and settings to a Gemini `generateContent` request body.

use std::collections::HashMap;

use agents_core::items::Reasoning;
use agents_core::{
    Content, ContentPart, FunctionCall, FunctionCallOutput, Item, Message, ModelError,
    ModelRequest, Role, ToolChoice, ToolSpec,
};
use serde_json::{json, Map, Value};

use crate::thinking::{thinking_config, GeminiThinking};

/// The key of the record this crate keeps on items it produced.
pub(crate) const PROVIDER_DATA: &str = "provider_data";
/// The value of `provider_data.provider` on items this crate produced.
pub(crate) const PROVIDER: &str = "gemini";
/// The thought signature Gemini documents for function calls it did not
/// produce (history from another model): it skips the signature check.
pub(crate) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The Gemini record of an item (`provider_data` with `provider: "gemini"`).
pub(crate) fn gemini_data(extra: &agents_core::Extra) -> Option<&Map<String, Value>> {
    extra
        .get(PROVIDER_DATA)
        .and_then(Value::as_object)
        .filter(|d| d.get("provider").and_then(Value::as_str) == Some(PROVIDER))
}

fn signature_of(extra: &agents_core::Extra) -> Option<&str> {
    gemini_data(extra)?
        .get("thought_signature")
        .and_then(Value::as_str)
}

/// Builds the request body (without `extra_body`, which the transport merges).
pub(crate) fn request_body(
    request: &ModelRequest<'_>,
    model: &str,
    thinking: Option<&GeminiThinking>,
) -> Result<Value, ModelError> {
    if request.previous_response_id.is_some() || request.conversation_id.is_some() {
        return Err(ModelError::Other(
            "Gemini keeps no conversation state on the server: previous_response_id and \
             conversation_id cannot be used with a Gemini model (use a session instead)"
                .into(),
        ));
    }
    if request.prompt.is_some() {
        return Err(ModelError::Other(
            "stored prompts (`prompt`) are an OpenAI Responses feature; a Gemini model cannot use them"
                .into(),
        ));
    }
    let mut body = Map::new();
    let mut system: Vec<Value> = Vec::new();
    if let Some(instructions) = request.instructions.filter(|i| !i.is_empty()) {
        system.push(json!({ "text": instructions }));
    }
    let contents = contents(request.input, &mut system)?;
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({ "parts": system }));
    }

    let declarations: Vec<Value> = request
        .tools
        .iter()
        .chain(request.handoffs.iter())
        .map(declaration)
        .collect();
    let has_tools = !declarations.is_empty();
    if has_tools {
        body.insert(
            "tools".into(),
            json!([{ "functionDeclarations": declarations }]),
        );
    }
    if let Some(choice) = &request.settings.tool_choice {
        if has_tools {
            body.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": tool_choice(choice)? }),
            );
        }
    }

    let settings = request.settings;
    let mut config = Map::new();
    if let Some(t) = settings.temperature {
        config.insert("temperature".into(), float(t));
    }
    if let Some(p) = settings.top_p {
        config.insert("topP".into(), float(p));
    }
    if let Some(n) = settings.max_tokens {
        config.insert("maxOutputTokens".into(), json!(n));
    }
    if let Some(p) = settings.presence_penalty {
        config.insert("presencePenalty".into(), float(p));
    }
    if let Some(p) = settings.frequency_penalty {
        config.insert("frequencyPenalty".into(), float(p));
    }
    if let Some(schema) = request.output_schema {
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert("responseJsonSchema".into(), schema.schema.clone());
    }
    if let Some(thinking) = thinking_config(model, settings.reasoning.as_ref(), thinking) {
        config.insert("thinkingConfig".into(), thinking);
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(body))
}

/// An `f32` setting as the JSON number it reads as (`0.2`, not the
/// `0.20000000298023224` of its `f64` widening).
fn float(value: f32) -> Value {
    format!("{value}")
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn declaration(tool: &ToolSpec<'_>) -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!(tool.name));
    if !tool.description.is_empty() {
        d.insert("description".into(), json!(tool.description));
    }
    d.insert(
        "parametersJsonSchema".into(),
        tool.parameters.as_ref().clone(),
    );
    Value::Object(d)
}

fn tool_choice(choice: &ToolChoice) -> Result<Value, ModelError> {
    #[allow(unreachable_patterns)] // ToolChoice may grow hosted-tool choices.
    Ok(match choice {
        ToolChoice::Auto => json!({ "mode": "AUTO" }),
        ToolChoice::Required => json!({ "mode": "ANY" }),
        ToolChoice::None => json!({ "mode": "NONE" }),
        ToolChoice::Function(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
        other => {
            return Err(ModelError::Other(format!(
                "the Gemini API has no tool choice {other:?}; use auto, required, none or a function name"
            )))
        }
    })
}

/// One content under construction.
struct Turn {
    role: &'static str,
    /// Whether the turn holds function responses (kept apart from text).
    responses: bool,
    parts: Vec<Value>,
}

/// Converts items to contents; system and developer messages go to `system`.
fn contents(input: &[Item], system: &mut Vec<Value>) -> Result<Vec<Value>, ModelError> {
    // Function names by call id, for function responses (Gemini wants the name).
    let mut names: HashMap<&str, (&str, Option<&str>)> = HashMap::new();
    for item in input {
        if let Item::FunctionCall(c) = item {
            names.insert(c.call_id.as_str(), (c.name.as_str(), server_id(c)));
        }
    }
    let mut turns: Vec<Turn> = Vec::new();
    let push = |turns: &mut Vec<Turn>, role: &'static str, responses: bool, part: Value| match turns
        .last_mut()
    {
        Some(t) if t.role == role && t.responses == responses => t.parts.push(part),
        _ => turns.push(Turn {
            role,
            responses,
            parts: vec![part],
        }),
    };
    for item in input {
        match item {
            Item::Message(m) => match m.role {
                Role::System | Role::Developer => system.extend(text_parts(&m.content)),
                Role::User => {
                    for part in user_parts(&m.content) {
                        push(&mut turns, "user", false, part);
                    }
                }
                Role::Assistant => {
                    for part in assistant_parts(m) {
                        push(&mut turns, "model", false, part);
                    }
                }
            },
            Item::FunctionCall(c) => {
                let starts_turn = !matches!(turns.last(), Some(t) if t.role == "model");
                push(&mut turns, "model", false, call_part(c, starts_turn));
            }
            Item::FunctionCallOutput(o) => {
                let (name, id) = names
                    .get(o.call_id.as_str())
                    .copied()
                    .unwrap_or(("unknown_function", None));
                for part in response_parts(o, name, id) {
                    push(&mut turns, "user", true, part);
                }
            }
            Item::Reasoning(r) => {
                for part in thought_parts(r) {
                    push(&mut turns, "model", false, part);
                }
            }
            // Items of other APIs (hosted tool calls, compaction...) have no
            // Gemini form and are left out.
            Item::Other(_) => {}
        }
    }
    // A model turn with function calls needs a signature on its first call.
    for turn in &mut turns {
        if turn.role == "model" {
            if let Some(first) = turn
                .parts
                .iter_mut()
                .find(|p| p.get("functionCall").is_some())
            {
                if first.get("thoughtSignature").is_none() {
                    if let Some(obj) = first.as_object_mut() {
                        obj.insert("thoughtSignature".into(), json!(SKIP_SIGNATURE));
                    }
                }
            }
        }
    }
    Ok(turns
        .into_iter()
        .map(|t| json!({ "role": t.role, "parts": t.parts }))
        .collect())
}

/// The call id Gemini gave the call, if it gave one.
fn server_id(c: &FunctionCall) -> Option<&str> {
    let data = gemini_data(&c.extra)?;
    (data.get("server_id") == Some(&Value::Bool(true))).then_some(c.call_id.as_str())
}

fn text_parts(content: &Content) -> Vec<Value> {
    let text = content.text();
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({ "text": text })]
    }
}

fn user_parts(content: &Content) -> Vec<Value> {
    match content {
        Content::Text(t) => vec![json!({ "text": t })],
        Content::Parts(parts) => parts.iter().filter_map(input_part).collect(),
    }
}

fn input_part(part: &ContentPart) -> Option<Value> {
    match part {
        ContentPart::InputText { text, .. } | ContentPart::OutputText { text, .. } => {
            Some(json!({ "text": text }))
        }
        ContentPart::Refusal { refusal, .. } => Some(json!({ "text": refusal })),
        ContentPart::InputImage {
            image_url, file_id, ..
        } => Some(match (image_url, file_id) {
            (Some(url), _) => image_part(url),
            (None, Some(id)) => {
                json!({ "text": format!("[image file {id} (an OpenAI file id; Gemini cannot read it)]") })
            }
            (None, None) => return None,
        }),
        ContentPart::Other(v) => match v.get("type").and_then(Value::as_str) {
            Some("input_file") => v
                .get("file_data")
                .and_then(Value::as_str)
                .map(image_part)
                .or_else(|| {
                    v.get("file_url").and_then(Value::as_str).map(
                        |u| json!({ "fileData": { "fileUri": u, "mimeType": mime_of_url(u) } }),
                    )
                }),
            _ => None,
        },
    }
}

/// A data URL becomes inline data; any other URL a file reference.
fn image_part(url: &str) -> Value {
    if let Some(rest) = url.strip_prefix("data:") {
        if let Some((meta, data)) = rest.split_once(',') {
            let mime = meta.strip_suffix(";base64").unwrap_or(meta);
            let mime = if mime.is_empty() {
                "application/octet-stream"
            } else {
                mime
            };
            return json!({ "inlineData": { "mimeType": mime, "data": data } });
        }
    }
    json!({ "fileData": { "fileUri": url, "mimeType": mime_of_url(url) } })
}

fn mime_of_url(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("heic") => "image/heic",
        Some("pdf") => "application/pdf",
        _ => "image/jpeg",
    }
}

fn assistant_parts(m: &Message) -> Vec<Value> {
    let mut text = String::new();
    match &m.content {
        Content::Text(t) => text.push_str(t),
        Content::Parts(parts) => {
            for p in parts {
                match p {
                    ContentPart::OutputText { text: t, .. }
                    | ContentPart::InputText { text: t, .. } => text.push_str(t),
                    ContentPart::Refusal { refusal, .. } => text.push_str(refusal),
                    _ => {}
                }
            }
        }
    }
    let signature = signature_of(&m.extra);
    if text.is_empty() && signature.is_none() {
        return Vec::new();
    }
    let mut part = Map::new();
    part.insert("text".into(), json!(text));
    if let Some(sig) = signature {
        part.insert("thoughtSignature".into(), json!(sig));
    }
    vec![Value::Object(part)]
}

fn call_part(c: &FunctionCall, _starts_turn: bool) -> Value {
    let args = match serde_json::from_str::<Value>(&c.arguments) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(Value::Null) => json!({}),
        _ if c.arguments.trim().is_empty() => json!({}),
        _ => json!({ "arguments": c.arguments }),
    };
    let mut call = Map::new();
    if let Some(id) = server_id(c) {
        call.insert("id".into(), json!(id));
    }
    call.insert("name".into(), json!(c.name));
    call.insert("args".into(), args);
    let mut part = Map::new();
    part.insert("functionCall".into(), Value::Object(call));
    if let Some(sig) = signature_of(&c.extra) {
        part.insert("thoughtSignature".into(), json!(sig));
    }
    Value::Object(part)
}

fn response_parts(o: &FunctionCallOutput, name: &str, id: Option<&str>) -> Vec<Value> {
    let mut images = Vec::new();
    let text = match &o.output {
        Content::Text(t) => t.clone(),
        Content::Parts(parts) => {
            let mut text = String::new();
            for p in parts {
                match p {
                    ContentPart::InputText { text: t, .. }
                    | ContentPart::OutputText { text: t, .. } => text.push_str(t),
                    ContentPart::InputImage { .. } | ContentPart::Other(_) => {
                        if let Some(part) = input_part(p) {
                            images.push(part);
                        }
                    }
                    ContentPart::Refusal { refusal, .. } => text.push_str(refusal),
                }
            }
            text
        }
    };
    let mut response = Map::new();
    if let Some(id) = id {
        response.insert("id".into(), json!(id));
    }
    response.insert("name".into(), json!(name));
    response.insert("response".into(), json!({ "output": text }));
    let mut out = vec![json!({ "functionResponse": Value::Object(response) })];
    out.extend(images);
    out
}

/// A Gemini reasoning item replays as its thought parts, signatures
/// included; another provider's reasoning is never sent.
fn thought_parts(r: &Reasoning) -> Vec<Value> {
    let Some(data) = gemini_data(&r.extra) else {
        return Vec::new();
    };
    let signature = data.get("thought_signature").and_then(Value::as_str);
    let mut parts: Vec<Value> = r
        .summary
        .iter()
        .filter(|s| !s.text.is_empty())
        .map(|s| json!({ "text": s.text, "thought": true }))
        .collect();
    if let Some(sig) = signature {
        match parts.last_mut().and_then(Value::as_object_mut) {
            Some(last) => {
                last.insert("thoughtSignature".into(), json!(sig));
            }
            None => parts.push(json!({ "text": "", "thought": true, "thoughtSignature": sig })),
        }
    }
    parts
}
