//! Conversation items: the wire format of the SDK.
//!
//! Items follow the shapes of the OpenAI Responses API input and output items
//! (`message`, `function_call`, `function_call_output`, `reasoning`). Item
//! types that the SDK does not model are kept losslessly as raw JSON in
//! [`Item::Other`], so sessions, run states and `to_input_list` all store the
//! same serde values.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Who authored a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// System instructions.
    System,
    /// Developer instructions.
    Developer,
}

/// One conversation item.
///
/// Serializes to (and deserializes from) the Responses API item JSON. An item
/// whose `type` is not modelled here is kept verbatim in [`Item::Other`].
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A `message` item (user input, assistant output, system or developer text).
    Message(Message),
    /// A `function_call` item: the model asks for a tool to run.
    FunctionCall(FunctionCall),
    /// A `function_call_output` item: the result of a tool call.
    FunctionCallOutput(FunctionCallOutput),
    /// A `reasoning` item produced by a reasoning model.
    Reasoning(Reasoning),
    /// Any other item, kept as raw JSON.
    Other(Value),
}

/// A `message` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Server-assigned id (`msg_...`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The author.
    pub role: Role,
    /// Plain text or a list of content parts.
    pub content: Content,
    /// Item status as reported by the server (`completed`, `in_progress`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Message content or a tool output: a plain string or a list of parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// A plain string.
    Text(String),
    /// Typed content parts.
    Parts(Vec<ContentPart>),
}

/// One part of a message's content.
#[derive(Clone, Debug, PartialEq)]
pub enum ContentPart {
    /// `input_text`: text sent to the model.
    InputText {
        /// The text.
        text: String,
    },
    /// `output_text`: text produced by the model.
    OutputText {
        /// The text.
        text: String,
        /// Annotations (citations and so on), kept as raw JSON.
        annotations: Vec<Value>,
        /// Token log probabilities, kept as raw JSON (empty when not requested).
        logprobs: Vec<Value>,
    },
    /// `refusal`: the model declined to answer.
    Refusal {
        /// The refusal text.
        refusal: String,
    },
    /// `input_image`: an image given to the model by URL (or data URL) or file id.
    InputImage {
        /// An image URL or a `data:` URL.
        image_url: Option<String>,
        /// An uploaded file id.
        file_id: Option<String>,
        /// `low`, `high` or `auto`.
        detail: Option<String>,
    },
    /// Any other part, kept as raw JSON.
    Other(Value),
}

/// A `function_call` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Server-assigned item id (`fc_...`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call id that the matching output refers to.
    pub call_id: String,
    /// The tool name.
    pub name: String,
    /// The arguments, as a JSON string produced by the model (may be malformed).
    pub arguments: String,
    /// Item status as reported by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `function_call_output` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutput {
    /// Server-assigned item id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call this output answers.
    pub call_id: String,
    /// The output: a string or content parts (text, images).
    pub output: Content,
    /// Item status, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `reasoning` item. It is replayed to the model as-is so that reasoning
/// models accept the tool results that follow it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reasoning {
    /// The item id (`rs_...`).
    pub id: String,
    /// Reasoning summary parts.
    #[serde(default)]
    pub summary: Vec<SummaryText>,
    /// Raw reasoning content, when the provider returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<Value>>,
    /// Encrypted reasoning, for stateless replays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// Item status, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `summary_text` part of a reasoning item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "summary_text")]
pub struct SummaryText {
    /// The summary text.
    pub text: String,
}

impl Item {
    /// A user message with plain text.
    pub fn user(text: impl Into<String>) -> Self {
        Item::Message(Message::new(Role::User, Content::Text(text.into())))
    }

    /// A system message with plain text.
    pub fn system(text: impl Into<String>) -> Self {
        Item::Message(Message::new(Role::System, Content::Text(text.into())))
    }

    /// A developer message with plain text.
    pub fn developer(text: impl Into<String>) -> Self {
        Item::Message(Message::new(Role::Developer, Content::Text(text.into())))
    }

    /// An assistant message holding one `output_text` part.
    pub fn assistant(text: impl Into<String>) -> Self {
        Item::Message(Message::new(
            Role::Assistant,
            Content::Parts(vec![ContentPart::OutputText {
                text: text.into(),
                annotations: Vec::new(),
                logprobs: Vec::new(),
            }]),
        ))
    }

    /// A `function_call` item.
    pub fn function_call(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Item::FunctionCall(FunctionCall {
            id: None,
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
            status: None,
        })
    }

    /// A `function_call_output` item with a text output.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Item::FunctionCallOutput(FunctionCallOutput {
            id: None,
            call_id: call_id.into(),
            output: Content::Text(output.into()),
            status: None,
        })
    }

    /// The item's `type` string on the wire.
    pub fn kind(&self) -> &str {
        match self {
            Item::Message(_) => "message",
            Item::FunctionCall(_) => "function_call",
            Item::FunctionCallOutput(_) => "function_call_output",
            Item::Reasoning(_) => "reasoning",
            Item::Other(v) => v.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// The message, if this is one.
    pub fn as_message(&self) -> Option<&Message> {
        match self {
            Item::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The function call, if this is one.
    pub fn as_function_call(&self) -> Option<&FunctionCall> {
        match self {
            Item::FunctionCall(c) => Some(c),
            _ => None,
        }
    }

    /// The function call output, if this is one.
    pub fn as_function_call_output(&self) -> Option<&FunctionCallOutput> {
        match self {
            Item::FunctionCallOutput(o) => Some(o),
            _ => None,
        }
    }
}

impl Message {
    /// A message without id or status.
    pub fn new(role: Role, content: Content) -> Self {
        Message {
            id: None,
            role,
            content,
            status: None,
        }
    }

    /// All text of the message (input and output text parts) concatenated.
    pub fn text(&self) -> String {
        self.content.text()
    }

    /// The refusal text, if the model refused.
    pub fn refusal(&self) -> Option<&str> {
        match &self.content {
            Content::Parts(parts) => parts.iter().find_map(|p| match p {
                ContentPart::Refusal { refusal } => Some(refusal.as_str()),
                _ => None,
            }),
            Content::Text(_) => None,
        }
    }
}

impl Content {
    /// All text (plain, input text and output text parts) concatenated.
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => {
                            out.push_str(text)
                        }
                        _ => {}
                    }
                }
                out
            }
        }
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_owned())
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}

// ---- serde for Item -------------------------------------------------------

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ItemRef<'a> {
    Message(&'a Message),
    FunctionCall(&'a FunctionCall),
    FunctionCallOutput(&'a FunctionCallOutput),
    Reasoning(&'a Reasoning),
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Item::Message(m) => ItemRef::Message(m).serialize(s),
            Item::FunctionCall(c) => ItemRef::FunctionCall(c).serialize(s),
            Item::FunctionCallOutput(o) => ItemRef::FunctionCallOutput(o).serialize(s),
            Item::Reasoning(r) => ItemRef::Reasoning(r).serialize(s),
            Item::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let kind = match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(D::Error::custom("item `type` must be a string")),
            // Easy input messages (`{"role": .., "content": ..}`) carry no type.
            None if map.contains_key("role") => "message".to_owned(),
            None => return Err(D::Error::custom("item has neither `type` nor `role`")),
        };
        let known = matches!(
            kind.as_str(),
            "message" | "function_call" | "function_call_output" | "reasoning"
        );
        if !known {
            return Ok(Item::Other(Value::Object(map)));
        }
        map.remove("type");
        let value = Value::Object(map);
        let item = match kind.as_str() {
            "message" => Item::Message(serde_json::from_value(value).map_err(D::Error::custom)?),
            "function_call" => {
                Item::FunctionCall(serde_json::from_value(value).map_err(D::Error::custom)?)
            }
            "function_call_output" => {
                Item::FunctionCallOutput(serde_json::from_value(value).map_err(D::Error::custom)?)
            }
            _ => Item::Reasoning(serde_json::from_value(value).map_err(D::Error::custom)?),
        };
        Ok(item)
    }
}

// ---- serde for ContentPart ------------------------------------------------

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PartRepr {
    InputText {
        text: String,
    },
    OutputText {
        text: String,
        #[serde(default)]
        annotations: Vec<Value>,
        #[serde(default)]
        logprobs: Vec<Value>,
    },
    Refusal {
        refusal: String,
    },
    InputImage {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PartRef<'a> {
    InputText {
        text: &'a str,
    },
    OutputText {
        text: &'a str,
        annotations: &'a [Value],
        logprobs: &'a [Value],
    },
    Refusal {
        refusal: &'a str,
    },
    InputImage {
        #[serde(skip_serializing_if = "Option::is_none")]
        image_url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
    },
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ContentPart::InputText { text } => PartRef::InputText { text }.serialize(s),
            ContentPart::OutputText {
                text,
                annotations,
                logprobs,
            } => PartRef::OutputText {
                text,
                annotations,
                logprobs,
            }
            .serialize(s),
            ContentPart::Refusal { refusal } => PartRef::Refusal { refusal }.serialize(s),
            ContentPart::InputImage {
                image_url,
                file_id,
                detail,
            } => PartRef::InputImage {
                image_url: image_url.as_deref(),
                file_id: file_id.as_deref(),
                detail: detail.as_deref(),
            }
            .serialize(s),
            ContentPart::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let known = matches!(
            value.get("type").and_then(Value::as_str),
            Some("input_text" | "output_text" | "refusal" | "input_image")
        );
        if !known {
            return Ok(ContentPart::Other(value));
        }
        let repr: PartRepr = serde_json::from_value(value).map_err(D::Error::custom)?;
        Ok(match repr {
            PartRepr::InputText { text } => ContentPart::InputText { text },
            PartRepr::OutputText {
                text,
                annotations,
                logprobs,
            } => ContentPart::OutputText {
                text,
                annotations,
                logprobs,
            },
            PartRepr::Refusal { refusal } => ContentPart::Refusal { refusal },
            PartRepr::InputImage {
                image_url,
                file_id,
                detail,
            } => ContentPart::InputImage {
                image_url,
                file_id,
                detail,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(v: Value) -> Item {
        let item: Item = serde_json::from_value(v.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&item).expect("serializes"), v);
        item
    }

    #[test]
    fn known_items_round_trip() {
        let m = round_trip(
            json!({"type":"message","id":"msg_1","role":"assistant","status":"completed",
            "content":[{"type":"output_text","text":"hi","annotations":[],"logprobs":[]}]}),
        );
        assert_eq!(m.as_message().map(Message::text).as_deref(), Some("hi"));
        round_trip(json!({"type":"function_call","call_id":"c1","name":"f","arguments":"{}"}));
        round_trip(json!({"type":"function_call_output","call_id":"c1","output":"ok"}));
        round_trip(json!({"type":"function_call_output","call_id":"c1",
            "output":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}));
        round_trip(
            json!({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"t"}],
            "encrypted_content":"xyz"}),
        );
    }

    #[test]
    fn unknown_items_and_parts_are_kept_verbatim() {
        let v = json!({"type":"web_search_call","id":"ws_1","status":"completed","action":{"query":"q"}});
        assert!(matches!(round_trip(v), Item::Other(_)));
        let v =
            json!({"type":"message","role":"user","content":[{"type":"input_audio","data":"x"}]});
        let item = round_trip(v);
        let Item::Message(m) = item else {
            panic!("expected message")
        };
        assert!(matches!(&m.content, Content::Parts(p) if matches!(p[0], ContentPart::Other(_))));
    }

    #[test]
    fn easy_input_message_without_type_parses() {
        let item: Item =
            serde_json::from_value(json!({"role":"user","content":"hello"})).expect("parses");
        assert_eq!(item, Item::user("hello"));
    }

    #[test]
    fn malformed_items_are_errors() {
        for bad in [
            json!({"type":"function_call","name":"f"}),
            json!({"type": 3}),
            json!({"content":"no role"}),
            json!([1, 2]),
        ] {
            assert!(
                serde_json::from_value::<Item>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
