//! Items, tools and settings to a Messages API request body.

use std::borrow::Cow;

use agents_core::{
    Content, ContentPart, Item, ModelError, ModelRequest, Role, ToolChoice, ToolSpec,
};
use serde_json::{json, Map, Number, Value};

use crate::settings::{AnthropicSettings, StructuredOutput};

/// The name of the forced tool that carries structured output in
/// [`StructuredOutput::Tool`] mode.
pub const STRUCTURED_OUTPUT_TOOL: &str = "structured_output";

/// The key of the record an item keeps of the provider it came from.
pub(crate) const PROVIDER_DATA: &str = "provider_data";
/// `provider_data.provider` of the items this crate makes.
pub(crate) const PROVIDER: &str = "anthropic";

fn unsupported(feature: impl Into<String>, hint: &str) -> ModelError {
    ModelError::Unsupported {
        api: "Anthropic Messages".to_owned(),
        feature: feature.into(),
        hint: hint.to_owned(),
    }
}

/// The forced output tool's name, when the request has an output type and
/// the settings send it through a tool.
pub(crate) fn forced_output_tool(
    settings: &AnthropicSettings,
    request: &ModelRequest<'_>,
) -> Option<String> {
    (request.output_schema.is_some() && settings.structured_output == StructuredOutput::Tool)
        .then(|| STRUCTURED_OUTPUT_TOOL.to_owned())
}

/// The thinking budget of a request: the explicit setting, else one derived
/// from `ModelSettings::reasoning.effort`.
fn thinking_budget(settings: &AnthropicSettings, request: &ModelRequest<'_>) -> Option<u32> {
    settings.thinking_budget.or_else(|| {
        let effort = request.settings.reasoning.as_ref()?.effort.as_deref()?;
        match effort {
            "minimal" | "low" => Some(1024),
            "medium" => Some(4096),
            "high" => Some(16384),
            _ => None,
        }
    })
}

/// An `f32` setting as the JSON number it reads as (`0.9`, not
/// `0.8999999761581421`).
fn number(x: f32) -> Value {
    format!("{x}")
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A tool id the API accepts (`^[a-zA-Z0-9_-]+$`): other characters become
/// `_`, the same way for a call and its result, so pairs stay matched.
pub(crate) fn tool_id(id: &str) -> Cow<'_, str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Cow::Borrowed(id);
    }
    if id.is_empty() {
        return Cow::Borrowed("toolu_empty");
    }
    Cow::Owned(
        id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
    )
}

/// The conversation being built: messages of alternating roles, each a list
/// of content blocks.
struct Conversation {
    system: Vec<String>,
    messages: Vec<(&'static str, Vec<Value>)>,
}

impl Conversation {
    fn push(&mut self, role: &'static str, block: Value) {
        match self.messages.last_mut() {
            Some((last, blocks)) if *last == role => blocks.push(block),
            _ => self.messages.push((role, vec![block])),
        }
    }
}

fn text_block(text: &str) -> Option<Value> {
    // The API rejects empty text blocks.
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

/// An `input_image` part as an image block: a `data:` URL becomes a base64
/// source, any other URL a URL source. File ids are Files-API references of
/// OpenAI: refused.
fn image_block(image_url: Option<&str>, file_id: Option<&str>) -> Result<Value, ModelError> {
    if let Some(url) = image_url {
        if let Some(rest) = url.strip_prefix("data:") {
            let (meta, data) = rest
                .split_once(',')
                .ok_or_else(|| ModelError::Other("an image data URL without a comma".to_owned()))?;
            let media_type = meta.strip_suffix(";base64").ok_or_else(|| {
                unsupported(
                    "image data URLs that are not base64",
                    "encode the image as base64",
                )
            })?;
            return Ok(json!({"type": "image", "source": {
                "type": "base64", "media_type": media_type, "data": data}}));
        }
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    if file_id.is_some() {
        return Err(unsupported(
            "images given by an OpenAI file id",
            "pass the image as a URL or a base64 data URL",
        ));
    }
    Err(ModelError::Other(
        "an input_image part has neither image_url nor file_id".to_owned(),
    ))
}

/// The blocks of user (or tool-result) content.
fn content_blocks(content: &Content, out: &mut Vec<Value>) -> Result<(), ModelError> {
    match content {
        Content::Text(text) => out.extend(text_block(text)),
        Content::Parts(parts) => {
            for part in parts {
                match part {
                    ContentPart::InputText { text, .. } | ContentPart::OutputText { text, .. } => {
                        out.extend(text_block(text));
                    }
                    ContentPart::Refusal { refusal, .. } => out.extend(text_block(refusal)),
                    ContentPart::InputImage {
                        image_url, file_id, ..
                    } => out.push(image_block(image_url.as_deref(), file_id.as_deref())?),
                    ContentPart::Other(value) => {
                        let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
                        return Err(unsupported(
                            format!("the content part type `{kind}`"),
                            "send text or images",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether a request with thinking on is valid for this conversation: the
/// Messages API requires the last assistant turn, when it called tools and
/// the conversation goes on after it, to start with a thinking block.
fn continues_with_thinking(messages: &[(&'static str, Vec<Value>)]) -> bool {
    let Some(last) = messages.iter().rposition(|(role, _)| *role == "assistant") else {
        return true;
    };
    let blocks = &messages[last].1;
    let calls = blocks
        .iter()
        .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"));
    let starts_with_thinking = matches!(
        blocks
            .first()
            .and_then(|b| b.get("type"))
            .and_then(Value::as_str),
        Some("thinking" | "redacted_thinking")
    );
    !calls || starts_with_thinking || last + 1 == messages.len()
}

/// The thinking block an Anthropic reasoning item replays, or `None` for
/// another provider's reasoning (never sent).
fn thinking_block(reasoning: &agents_core::items::Reasoning) -> Option<Value> {
    let data = reasoning.extra.get(PROVIDER_DATA)?;
    if data.get("provider").and_then(Value::as_str) != Some(PROVIDER) {
        return None;
    }
    match data.get("type").and_then(Value::as_str)? {
        "thinking" => {
            let signature = data.get("signature").and_then(Value::as_str)?;
            let text = reasoning
                .content
                .as_ref()?
                .iter()
                .find_map(|c| c.get("text").and_then(Value::as_str))?;
            Some(json!({"type": "thinking", "thinking": text, "signature": signature}))
        }
        "redacted_thinking" => {
            let data = reasoning.encrypted_content.as_deref()?;
            Some(json!({"type": "redacted_thinking", "data": data}))
        }
        _ => None,
    }
}

fn conversation(input: &[Item]) -> Result<Conversation, ModelError> {
    let mut c = Conversation {
        system: Vec::new(),
        messages: Vec::new(),
    };
    for item in input {
        match item {
            Item::Message(m) => match m.role {
                Role::System | Role::Developer => c.system.push(m.text()),
                Role::User => {
                    let mut blocks = Vec::new();
                    content_blocks(&m.content, &mut blocks)?;
                    for b in blocks {
                        c.push("user", b);
                    }
                }
                Role::Assistant => {
                    let mut blocks = Vec::new();
                    content_blocks(&m.content, &mut blocks)?;
                    for b in blocks {
                        c.push("assistant", b);
                    }
                }
            },
            Item::FunctionCall(call) => {
                let input = match serde_json::from_str::<Value>(&call.arguments) {
                    Ok(Value::Object(map)) => Value::Object(map),
                    // The runner answered malformed arguments with an error
                    // output; the API needs an object here.
                    _ => Value::Object(Map::new()),
                };
                c.push(
                    "assistant",
                    json!({"type": "tool_use", "id": tool_id(&call.call_id), "name": call.name, "input": input}),
                );
            }
            Item::FunctionCallOutput(output) => {
                let content = match &output.output {
                    Content::Text(text) => Value::String(text.clone()),
                    parts => {
                        let mut blocks = Vec::new();
                        content_blocks(parts, &mut blocks)?;
                        Value::Array(blocks)
                    }
                };
                c.push(
                    "user",
                    json!({"type": "tool_result", "tool_use_id": tool_id(&output.call_id), "content": content}),
                );
            }
            Item::Reasoning(reasoning) => match thinking_block(reasoning) {
                Some(block) => c.push("assistant", block),
                None => tracing::debug!("another provider's reasoning item is not sent"),
            },
            Item::Other(value) => {
                let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
                tracing::debug!(
                    kind,
                    "an item type the Messages API does not have is not sent"
                );
            }
        }
    }
    Ok(c)
}

fn tool_json(tool: &ToolSpec<'_>) -> Value {
    json!({
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.parameters,
    })
}

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// The request body.
pub(crate) fn build_request(
    model: &str,
    settings: &AnthropicSettings,
    request: &ModelRequest<'_>,
    stream: bool,
) -> Result<Value, ModelError> {
    if request.previous_response_id.is_some() || request.conversation_id.is_some() {
        return Err(unsupported(
            "server-managed conversation state (previous_response_id, conversation_id)",
            "send the history (the default) or use a session",
        ));
    }
    if request.prompt.is_some() {
        return Err(unsupported("stored prompts", "pass instructions instead"));
    }
    if let Some(tool) = request.hosted_tools.first() {
        return Err(unsupported(
            format!("hosted tools (the agent has `{}`)", tool.name()),
            "use function tools",
        ));
    }
    let s = request.settings;
    let mut conv = conversation(request.input)?;
    let mut body = Map::new();
    body.insert("model".into(), json!(model));

    let mut budget = thinking_budget(settings, request);
    if budget.is_some() && !continues_with_thinking(&conv.messages) {
        // The Messages API refuses thinking when the conversation continues
        // from an assistant tool-use turn that has no thinking block (another
        // provider's turn after a handoff, say). That turn's results go
        // without thinking; the next turn thinks again.
        tracing::debug!(
            "thinking is not sent for this call: the last assistant turn called tools \
             without a thinking block (another model's turn)"
        );
        budget = None;
    }
    let max_tokens = match s.max_tokens {
        Some(n) => n,
        None => match budget {
            Some(b) if settings.max_tokens <= b => b.saturating_add(4096),
            _ => settings.max_tokens,
        },
    };
    body.insert("max_tokens".into(), json!(max_tokens));

    // System prompt: the instructions, then system and developer messages.
    let mut system: Vec<String> = request
        .instructions
        .filter(|i| !i.is_empty())
        .map(str::to_owned)
        .into_iter()
        .collect();
    system.append(&mut conv.system);
    system.retain(|s| !s.is_empty());
    if !system.is_empty() {
        if settings.cache_system {
            let mut blocks: Vec<Value> = system
                .iter()
                .map(|t| json!({"type": "text", "text": t}))
                .collect();
            if let Some(Value::Object(last)) = blocks.last_mut() {
                last.insert("cache_control".into(), ephemeral());
            }
            body.insert("system".into(), Value::Array(blocks));
        } else {
            body.insert("system".into(), json!(system.join("\n\n")));
        }
    }

    if settings.cache_conversation {
        if let Some((_, blocks)) = conv.messages.last_mut() {
            let target = blocks.iter_mut().rev().find(|b| {
                !matches!(
                    b.get("type").and_then(Value::as_str),
                    Some("thinking" | "redacted_thinking")
                )
            });
            if let Some(Value::Object(block)) = target {
                block.insert("cache_control".into(), ephemeral());
            }
        }
    }
    let messages: Vec<Value> = conv
        .messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));

    // Tools: function tools, handoffs, and the output tool in tool mode.
    let forced = forced_output_tool(settings, request);
    let mut tools: Vec<Value> = request
        .tools
        .iter()
        .chain(request.handoffs)
        .map(tool_json)
        .collect();
    if let (Some(name), Some(schema)) = (&forced, request.output_schema) {
        tools.push(json!({
            "name": name,
            "description": "Give the final answer by calling this tool with it as the input.",
            "input_schema": schema.schema,
        }));
    }
    if settings.cache_tools {
        if let Some(Value::Object(last)) = tools.last_mut() {
            last.insert("cache_control".into(), ephemeral());
        }
    }
    if !tools.is_empty() {
        let mut choice = match (&s.tool_choice, &forced) {
            (_, Some(name)) if budget.is_none() => json!({"type": "tool", "name": name}),
            (None, _) => json!({"type": "auto"}),
            (Some(ToolChoice::Auto), _) => json!({"type": "auto"}),
            (Some(ToolChoice::Required), _) => json!({"type": "any"}),
            (Some(ToolChoice::None), _) => json!({"type": "none"}),
            (Some(ToolChoice::Function(name)), _) => json!({"type": "tool", "name": name}),
            (Some(other), _) => {
                return Err(unsupported(
                    format!("the hosted tool choice {other:?}"),
                    "use auto, required, none or a function name",
                ))
            }
        };
        let explicit = s.tool_choice.is_some() || (forced.is_some() && budget.is_none());
        let no_parallel = s.parallel_tool_calls == Some(false);
        if no_parallel && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = json!(true);
        }
        body.insert("tools".into(), Value::Array(tools));
        if explicit || no_parallel {
            body.insert("tool_choice".into(), choice);
        }
    }

    if settings.sampling_parameters {
        if let Some(t) = s.temperature {
            body.insert("temperature".into(), number(t));
        }
        if let Some(p) = s.top_p {
            body.insert("top_p".into(), number(p));
        }
        if let Some(k) = settings.top_k {
            body.insert("top_k".into(), json!(k));
        }
    } else if s.temperature.is_some() || s.top_p.is_some() || settings.top_k.is_some() {
        tracing::debug!(
            "temperature, top_p and top_k are not sent: the Messages API has no sampling \
             parameters (AnthropicSettings::sampling_parameters turns them on)"
        );
    }
    if !settings.stop_sequences.is_empty() {
        body.insert("stop_sequences".into(), json!(settings.stop_sequences));
    }
    if let Some(user) = s.metadata.as_ref().and_then(|m| m.get("user_id")) {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    if let Some(b) = budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": b}),
        );
    }
    if let (Some(schema), None) = (request.output_schema, &forced) {
        body.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": schema.schema}}),
        );
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_ids_are_made_acceptable_consistently() {
        assert_eq!(tool_id("toolu_01A-b"), "toolu_01A-b");
        assert_eq!(tool_id("call.1/x"), "call_1_x");
        assert_eq!(tool_id(""), "toolu_empty");
    }

    #[test]
    fn f32_settings_keep_their_short_digits() {
        assert_eq!(number(0.9).to_string(), "0.9");
        assert_eq!(number(1.0).to_string(), "1.0");
    }
}
