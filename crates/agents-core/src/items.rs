//! Conversation items: the wire format of the SDK.
//!
//! Items follow the shapes of the OpenAI Responses API input and output items
//! (`message`, `function_call`, `function_call_output`, `reasoning`). Item
//! types that the SDK does not model are kept losslessly as raw JSON in
//! [`Item::Other`], and the fields of known items and content parts that the
//! SDK does not model (a message's `phase`, another SDK's `provider_data`,
//! fields the API adds later) are kept in their [`Extra`] map. So sessions,
//! run states and `to_input_list` all store the same serde values, and a JSON
//! round trip loses nothing.
//!
//! ```
//! use agents_core::Item;
//! use serde_json::json;
//!
//! let stored = json!({"type": "message", "id": "msg_1", "role": "assistant",
//!     "status": "completed", "phase": "final_answer",
//!     "content": [{"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []}]});
//! let item: Item = serde_json::from_value(stored.clone()).unwrap();
//! assert_eq!(item.as_message().unwrap().extra.get("phase"), Some(&json!("final_answer")));
//! assert_eq!(serde_json::to_value(&item).unwrap(), stored);
//! ```

use std::fmt;

use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The placeholder item id that openai-agents-python (and this SDK) store
/// for items whose API gave no id, such as Chat Completions replies.
///
/// It keeps stored assistant messages valid Responses output messages
/// (which need an `id`). The Responses API rejects ids it did not issue, so
/// the Responses model leaves placeholder ids out of its requests.
pub const PLACEHOLDER_ID: &str = "__fake_id__";

/// Whether `id` is the [`PLACEHOLDER_ID`].
pub fn is_placeholder_id(id: &str) -> bool {
    id == PLACEHOLDER_ID
}

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

/// The fields of a known item or content part that the SDK does not model
/// (a message's `phase`, another SDK's `provider_data`, fields the API adds
/// later), in their original order, so that a JSON round trip loses nothing.
///
/// Items are hot, so an empty `Extra` is one null pointer: the map is
/// allocated only when there is a field to keep. When an item is written,
/// its modelled fields win over an extra field of the same name.
#[derive(Clone, Default)]
pub struct Extra(Option<Box<Map<String, Value>>>);

impl Extra {
    /// No extra fields.
    pub const fn new() -> Self {
        Extra(None)
    }

    /// Whether there are no extra fields.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|m| m.is_empty())
    }

    /// The number of extra fields.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// The value of the extra field `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.as_ref()?.get(key)
    }

    /// Whether there is an extra field `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets the extra field `key`, returning its previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.0
            .get_or_insert_with(Default::default)
            .insert(key.into(), value)
    }

    /// Removes the extra field `key` (keeping the order of the others),
    /// returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.as_mut()?.shift_remove(key)
    }

    /// The extra fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.as_deref().into_iter().flat_map(|m| m.iter())
    }

    /// The extra fields as a JSON map, if there are any.
    pub fn as_map(&self) -> Option<&Map<String, Value>> {
        self.0.as_deref().filter(|m| !m.is_empty())
    }

    /// The extra fields as a JSON map.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|m| *m).unwrap_or_default()
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        Extra((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl FromIterator<(String, Value)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Extra::from(iter.into_iter().collect::<Map<String, Value>>())
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Extra::from)
    }
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
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Server-assigned id (`msg_...`), the [`PLACEHOLDER_ID`], or none.
    pub id: Option<String>,
    /// The author.
    pub role: Role,
    /// Plain text or a list of content parts.
    pub content: Content,
    /// Item status as reported by the server (`completed`, `in_progress`, ...).
    pub status: Option<String>,
    /// Fields the SDK does not model (for example `phase`).
    pub extra: Extra,
}

/// Message content or a tool output: a plain string or a list of parts.
#[derive(Clone, Debug, PartialEq)]
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
        /// Fields the SDK does not model.
        extra: Extra,
    },
    /// `output_text`: text produced by the model.
    OutputText {
        /// The text.
        text: String,
        /// Annotations (citations and so on), kept as raw JSON.
        annotations: Vec<Value>,
        /// Token log probabilities, kept as raw JSON (empty when not requested).
        logprobs: Vec<Value>,
        /// Fields the SDK does not model.
        extra: Extra,
    },
    /// `refusal`: the model declined to answer.
    Refusal {
        /// The refusal text.
        refusal: String,
        /// Fields the SDK does not model.
        extra: Extra,
    },
    /// `input_image`: an image given to the model by URL (or data URL) or file id.
    InputImage {
        /// An image URL or a `data:` URL.
        image_url: Option<String>,
        /// An uploaded file id.
        file_id: Option<String>,
        /// `low`, `high` or `auto`.
        detail: Option<String>,
        /// Fields the SDK does not model.
        extra: Extra,
    },
    /// Any other part, kept as raw JSON.
    Other(Value),
}

/// A `function_call` item.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionCall {
    /// Server-assigned item id (`fc_...`), the [`PLACEHOLDER_ID`], or none.
    pub id: Option<String>,
    /// The call id that the matching output refers to.
    pub call_id: String,
    /// The tool name.
    pub name: String,
    /// The arguments, as a JSON string produced by the model (may be malformed).
    pub arguments: String,
    /// Item status as reported by the server.
    pub status: Option<String>,
    /// Fields the SDK does not model (for example `namespace`).
    pub extra: Extra,
}

/// A `function_call_output` item.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionCallOutput {
    /// Server-assigned item id, the [`PLACEHOLDER_ID`], or none.
    pub id: Option<String>,
    /// The call this output answers.
    pub call_id: String,
    /// The output: a string or content parts (text, images).
    pub output: Content,
    /// Item status, if any.
    pub status: Option<String>,
    /// Fields the SDK does not model.
    pub extra: Extra,
}

/// A `reasoning` item. It is replayed to the model as-is so that reasoning
/// models accept the tool results that follow it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reasoning {
    /// The item id (`rs_...`), or the [`PLACEHOLDER_ID`] when the API gave none.
    pub id: String,
    /// Reasoning summary parts.
    pub summary: Vec<SummaryText>,
    /// Raw reasoning content, when the provider returns it.
    pub content: Option<Vec<Value>>,
    /// Encrypted reasoning, for stateless replays.
    pub encrypted_content: Option<String>,
    /// Item status, if any.
    pub status: Option<String>,
    /// Fields the SDK does not model.
    pub extra: Extra,
}

/// A `summary_text` part of a reasoning item.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryText {
    /// The summary text.
    pub text: String,
    /// Fields the SDK does not model.
    pub extra: Extra,
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

    /// An assistant message holding one `output_text` part, without id or
    /// status. (The Responses model sends such a message as an easy input
    /// message with its text.)
    pub fn assistant(text: impl Into<String>) -> Self {
        Item::Message(Message::new(
            Role::Assistant,
            Content::Parts(vec![ContentPart::output_text(text)]),
        ))
    }

    /// A `function_call` item.
    pub fn function_call(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Item::FunctionCall(FunctionCall::new(call_id, name, arguments))
    }

    /// A `function_call_output` item with a text output.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Item::FunctionCallOutput(FunctionCallOutput::new(
            call_id,
            Content::Text(output.into()),
        ))
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

    /// The item's `id`, if it has one (possibly the [`PLACEHOLDER_ID`]).
    pub fn id(&self) -> Option<&str> {
        match self {
            Item::Message(m) => m.id.as_deref(),
            Item::FunctionCall(c) => c.id.as_deref(),
            Item::FunctionCallOutput(o) => o.id.as_deref(),
            Item::Reasoning(r) => Some(&r.id),
            Item::Other(v) => v.get("id").and_then(Value::as_str),
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
    /// A message without id, status or extra fields.
    pub fn new(role: Role, content: Content) -> Self {
        Message {
            id: None,
            role,
            content,
            status: None,
            extra: Extra::new(),
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
                ContentPart::Refusal { refusal, .. } => Some(refusal.as_str()),
                _ => None,
            }),
            Content::Text(_) => None,
        }
    }
}

impl FunctionCall {
    /// A function call without id, status or extra fields.
    pub fn new(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        FunctionCall {
            id: None,
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
            status: None,
            extra: Extra::new(),
        }
    }
}

impl FunctionCallOutput {
    /// A function call output without id, status or extra fields.
    pub fn new(call_id: impl Into<String>, output: impl Into<Content>) -> Self {
        FunctionCallOutput {
            id: None,
            call_id: call_id.into(),
            output: output.into(),
            status: None,
            extra: Extra::new(),
        }
    }
}

impl Reasoning {
    /// A reasoning item with an id and summary texts, nothing else.
    pub fn new(id: impl Into<String>, summary: Vec<SummaryText>) -> Self {
        Reasoning {
            id: id.into(),
            summary,
            content: None,
            encrypted_content: None,
            status: None,
            extra: Extra::new(),
        }
    }
}

impl SummaryText {
    /// A summary part with `text`.
    pub fn new(text: impl Into<String>) -> Self {
        SummaryText {
            text: text.into(),
            extra: Extra::new(),
        }
    }
}

impl ContentPart {
    /// An `input_text` part.
    pub fn input_text(text: impl Into<String>) -> Self {
        ContentPart::InputText {
            text: text.into(),
            extra: Extra::new(),
        }
    }

    /// An `output_text` part without annotations or log probabilities.
    pub fn output_text(text: impl Into<String>) -> Self {
        ContentPart::OutputText {
            text: text.into(),
            annotations: Vec::new(),
            logprobs: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// A `refusal` part.
    pub fn refusal(refusal: impl Into<String>) -> Self {
        ContentPart::Refusal {
            refusal: refusal.into(),
            extra: Extra::new(),
        }
    }

    /// An `input_image` part.
    pub fn input_image(
        image_url: Option<String>,
        file_id: Option<String>,
        detail: Option<String>,
    ) -> Self {
        ContentPart::InputImage {
            image_url,
            file_id,
            detail,
            extra: Extra::new(),
        }
    }

    /// The part's `type` string on the wire.
    pub fn kind(&self) -> &str {
        match self {
            ContentPart::InputText { .. } => "input_text",
            ContentPart::OutputText { .. } => "output_text",
            ContentPart::Refusal { .. } => "refusal",
            ContentPart::InputImage { .. } => "input_image",
            ContentPart::Other(v) => v.get("type").and_then(Value::as_str).unwrap_or("unknown"),
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
                        ContentPart::InputText { text, .. }
                        | ContentPart::OutputText { text, .. } => out.push_str(text),
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

impl From<Vec<ContentPart>> for Content {
    fn from(parts: Vec<ContentPart>) -> Self {
        Content::Parts(parts)
    }
}

// ---- serialization ----------------------------------------------------------
//
// Hand-written: each known item writes its modelled fields, then its extra
// fields (minus any that shadow a modelled one), into one JSON object.

/// The keys each known shape models; extra fields never repeat them.
const MESSAGE_KEYS: &[&str] = &["type", "id", "role", "content", "status"];
const CALL_KEYS: &[&str] = &["type", "id", "call_id", "name", "arguments", "status"];
const OUTPUT_KEYS: &[&str] = &["type", "id", "call_id", "output", "status"];
const REASONING_KEYS: &[&str] = &[
    "type",
    "id",
    "summary",
    "content",
    "encrypted_content",
    "status",
];
const SUMMARY_KEYS: &[&str] = &["type", "text"];
const INPUT_TEXT_KEYS: &[&str] = &["type", "text"];
const OUTPUT_TEXT_KEYS: &[&str] = &["type", "text", "annotations", "logprobs"];
const REFUSAL_KEYS: &[&str] = &["type", "refusal"];
const INPUT_IMAGE_KEYS: &[&str] = &["type", "image_url", "file_id", "detail"];

/// Writes the extra fields that do not shadow a key in `known`.
fn write_extra<M: SerializeMap>(m: &mut M, extra: &Extra, known: &[&str]) -> Result<(), M::Error> {
    for (k, v) in extra.iter() {
        if !known.contains(&k.as_str()) {
            m.serialize_entry(k, v)?;
        }
    }
    Ok(())
}

fn write_opt<M: SerializeMap>(m: &mut M, key: &str, v: &Option<String>) -> Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

impl Message {
    /// Writes the fields (all but `type`) into `m`.
    fn write_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        write_opt(m, "id", &self.id)?;
        m.serialize_entry("role", &self.role)?;
        m.serialize_entry("content", &self.content)?;
        write_opt(m, "status", &self.status)?;
        write_extra(m, &self.extra, MESSAGE_KEYS)
    }
}

impl FunctionCall {
    fn write_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        write_opt(m, "id", &self.id)?;
        m.serialize_entry("call_id", &self.call_id)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("arguments", &self.arguments)?;
        write_opt(m, "status", &self.status)?;
        write_extra(m, &self.extra, CALL_KEYS)
    }
}

impl FunctionCallOutput {
    fn write_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        write_opt(m, "id", &self.id)?;
        m.serialize_entry("call_id", &self.call_id)?;
        m.serialize_entry("output", &self.output)?;
        write_opt(m, "status", &self.status)?;
        write_extra(m, &self.extra, OUTPUT_KEYS)
    }
}

impl Reasoning {
    fn write_fields<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("summary", &self.summary)?;
        if let Some(content) = &self.content {
            m.serialize_entry("content", content)?;
        }
        write_opt(m, "encrypted_content", &self.encrypted_content)?;
        write_opt(m, "status", &self.status)?;
        write_extra(m, &self.extra, REASONING_KEYS)
    }
}

/// Implements `Serialize` for an item struct: its fields without `type`.
macro_rules! serialize_fields {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                self.write_fields(&mut m)?;
                m.end()
            }
        }
    )*};
}
serialize_fields!(Message, FunctionCall, FunctionCallOutput, Reasoning);

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Item::Other(v) = self {
            return v.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.kind())?;
        match self {
            Item::Message(x) => x.write_fields(&mut m)?,
            Item::FunctionCall(x) => x.write_fields(&mut m)?,
            Item::FunctionCallOutput(x) => x.write_fields(&mut m)?,
            Item::Reasoning(x) => x.write_fields(&mut m)?,
            Item::Other(_) => {}
        }
        m.end()
    }
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Content::Text(t) => s.serialize_str(t),
            Content::Parts(parts) => s.collect_seq(parts),
        }
    }
}

impl Serialize for SummaryText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "summary_text")?;
        m.serialize_entry("text", &self.text)?;
        write_extra(&mut m, &self.extra, SUMMARY_KEYS)?;
        m.end()
    }
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let ContentPart::Other(v) = self {
            return v.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.kind())?;
        match self {
            ContentPart::InputText { text, extra } => {
                m.serialize_entry("text", text)?;
                write_extra(&mut m, extra, INPUT_TEXT_KEYS)?;
            }
            ContentPart::OutputText {
                text,
                annotations,
                logprobs,
                extra,
            } => {
                m.serialize_entry("text", text)?;
                m.serialize_entry("annotations", annotations)?;
                m.serialize_entry("logprobs", logprobs)?;
                write_extra(&mut m, extra, OUTPUT_TEXT_KEYS)?;
            }
            ContentPart::Refusal { refusal, extra } => {
                m.serialize_entry("refusal", refusal)?;
                write_extra(&mut m, extra, REFUSAL_KEYS)?;
            }
            ContentPart::InputImage {
                image_url,
                file_id,
                detail,
                extra,
            } => {
                write_opt(&mut m, "image_url", image_url)?;
                write_opt(&mut m, "file_id", file_id)?;
                write_opt(&mut m, "detail", detail)?;
                write_extra(&mut m, extra, INPUT_IMAGE_KEYS)?;
            }
            ContentPart::Other(_) => {}
        }
        m.end()
    }
}

// ---- deserialization --------------------------------------------------------
//
// One pass over the object's fields: modelled fields are moved into place,
// everything else into `extra` (allocated only then).

/// Accumulates unknown fields.
fn keep(extra: &mut Extra, key: String, value: Value) {
    extra
        .0
        .get_or_insert_with(Default::default)
        .insert(key, value);
}

/// A string field; `null` counts as absent.
fn opt_string<E: serde::de::Error>(key: &str, v: Value) -> Result<Option<String>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(E::custom(format!(
            "`{key}` must be a string, found {}",
            json_kind(&other)
        ))),
    }
}

/// A field of type `T`.
fn field<T: serde::de::DeserializeOwned, E: serde::de::Error>(key: &str, v: Value) -> Result<T, E> {
    T::deserialize(v).map_err(|e| E::custom(format!("`{key}`: {e}")))
}

/// A required field that was absent (or `null`).
fn required<T, E: serde::de::Error>(v: Option<T>, what: &str, key: &str) -> Result<T, E> {
    v.ok_or_else(|| E::custom(format!("{what} is missing `{key}`")))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Message {
    fn from_map<E: serde::de::Error>(map: Map<String, Value>) -> Result<Self, E> {
        let (mut id, mut role, mut content, mut status) = (None, None, None, None);
        let mut extra = Extra::new();
        for (k, v) in map {
            match k.as_str() {
                "type" => {}
                "id" => id = opt_string("id", v)?,
                "role" => role = Some(field::<Role, E>("role", v)?),
                "content" => content = Some(field::<Content, E>("content", v)?),
                "status" => status = opt_string("status", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(Message {
            id,
            role: required(role, "a message", "role")?,
            content: required(content, "a message", "content")?,
            status,
            extra,
        })
    }
}

impl FunctionCall {
    fn from_map<E: serde::de::Error>(map: Map<String, Value>) -> Result<Self, E> {
        let (mut id, mut call_id, mut name, mut arguments, mut status) =
            (None, None, None, None, None);
        let mut extra = Extra::new();
        for (k, v) in map {
            match k.as_str() {
                "type" => {}
                "id" => id = opt_string("id", v)?,
                "call_id" => call_id = opt_string("call_id", v)?,
                "name" => name = opt_string("name", v)?,
                "arguments" => arguments = opt_string("arguments", v)?,
                "status" => status = opt_string("status", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(FunctionCall {
            id,
            call_id: required(call_id, "a function call", "call_id")?,
            name: required(name, "a function call", "name")?,
            arguments: required(arguments, "a function call", "arguments")?,
            status,
            extra,
        })
    }
}

impl FunctionCallOutput {
    fn from_map<E: serde::de::Error>(map: Map<String, Value>) -> Result<Self, E> {
        let (mut id, mut call_id, mut output, mut status) = (None, None, None, None);
        let mut extra = Extra::new();
        for (k, v) in map {
            match k.as_str() {
                "type" => {}
                "id" => id = opt_string("id", v)?,
                "call_id" => call_id = opt_string("call_id", v)?,
                "output" => output = Some(field::<Content, E>("output", v)?),
                "status" => status = opt_string("status", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(FunctionCallOutput {
            id,
            call_id: required(call_id, "a function call output", "call_id")?,
            output: required(output, "a function call output", "output")?,
            status,
            extra,
        })
    }
}

impl Reasoning {
    fn from_map<E: serde::de::Error>(map: Map<String, Value>) -> Result<Self, E> {
        let (mut id, mut summary, mut content, mut encrypted_content, mut status) =
            (None, Vec::new(), None, None, None);
        let mut extra = Extra::new();
        for (k, v) in map {
            match k.as_str() {
                "type" => {}
                "id" => id = opt_string("id", v)?,
                "summary" => {
                    summary =
                        field::<Option<Vec<SummaryText>>, E>("summary", v)?.unwrap_or_default()
                }
                "content" => content = field::<Option<Vec<Value>>, E>("content", v)?,
                "encrypted_content" => encrypted_content = opt_string("encrypted_content", v)?,
                "status" => status = opt_string("status", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(Reasoning {
            id: required(id, "a reasoning item", "id")?,
            summary,
            content,
            encrypted_content,
            status,
            extra,
        })
    }
}

/// Implements `Deserialize` for an item struct (with or without `type`).
macro_rules! deserialize_fields {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$ty>::from_map(Map::deserialize(d)?)
            }
        }
    )*};
}
deserialize_fields!(Message, FunctionCall, FunctionCallOutput, Reasoning);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let kind = match map.get("type") {
            Some(Value::String(t)) => match t.as_str() {
                "message" => 0,
                "function_call" => 1,
                "function_call_output" => 2,
                "reasoning" => 3,
                _ => return Ok(Item::Other(Value::Object(map))),
            },
            Some(_) => return Err(D::Error::custom("item `type` must be a string")),
            // Easy input messages (`{"role": .., "content": ..}`) carry no type.
            None if map.contains_key("role") => 0,
            None => return Err(D::Error::custom("item has neither `type` nor `role`")),
        };
        Ok(match kind {
            0 => Item::Message(Message::from_map(map)?),
            1 => Item::FunctionCall(FunctionCall::from_map(map)?),
            2 => Item::FunctionCallOutput(FunctionCallOutput::from_map(map)?),
            _ => Item::Reasoning(Reasoning::from_map(map)?),
        })
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of content parts")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content::Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(part) = seq.next_element::<ContentPart>()? {
                    parts.push(part);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(ContentVisitor)
    }
}

impl<'de> Deserialize<'de> for SummaryText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let mut text = None;
        let mut extra = Extra::new();
        for (k, v) in map {
            match k.as_str() {
                "type" => match v.as_str() {
                    Some("summary_text") => {}
                    _ => {
                        return Err(D::Error::custom(
                            "a reasoning summary part must have `type` \"summary_text\"",
                        ))
                    }
                },
                "text" => text = opt_string("text", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(SummaryText {
            text: required(text, "a summary part", "text")?,
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = match Value::deserialize(d)? {
            Value::Object(map) => map,
            // Not an object: not a part this SDK models; keep it verbatim.
            other => return Ok(ContentPart::Other(other)),
        };
        let kind = match map.get("type").and_then(Value::as_str) {
            Some("input_text") => 0,
            Some("output_text") => 1,
            Some("refusal") => 2,
            Some("input_image") => 3,
            _ => return Ok(ContentPart::Other(Value::Object(map))),
        };
        let mut extra = Extra::new();
        let mut text = None;
        let (mut annotations, mut logprobs) = (Vec::new(), Vec::new());
        let (mut image_url, mut file_id, mut detail) = (None, None, None);
        for (k, v) in map {
            match (kind, k.as_str()) {
                (_, "type") => {}
                (0 | 1, "text") | (2, "refusal") => text = opt_string(&k, v)?,
                (1, "annotations") => {
                    annotations =
                        field::<Option<Vec<Value>>, D::Error>("annotations", v)?.unwrap_or_default()
                }
                (1, "logprobs") => {
                    logprobs =
                        field::<Option<Vec<Value>>, D::Error>("logprobs", v)?.unwrap_or_default()
                }
                (3, "image_url") => image_url = opt_string("image_url", v)?,
                (3, "file_id") => file_id = opt_string("file_id", v)?,
                (3, "detail") => detail = opt_string("detail", v)?,
                _ => keep(&mut extra, k, v),
            }
        }
        Ok(match kind {
            0 => ContentPart::InputText {
                text: required(text, "an input_text part", "text")?,
                extra,
            },
            1 => ContentPart::OutputText {
                text: required(text, "an output_text part", "text")?,
                annotations,
                logprobs,
                extra,
            },
            2 => ContentPart::Refusal {
                refusal: required(text, "a refusal part", "refusal")?,
                extra,
            },
            _ => ContentPart::InputImage {
                image_url,
                file_id,
                detail,
                extra,
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
    fn placeholder_ids_are_recognised_and_kept() {
        let stored = json!({"type": "function_call", "id": "__fake_id__", "call_id": "c",
            "name": "f", "arguments": "{}"});
        let item = round_trip(stored);
        assert_eq!(item.id(), Some(PLACEHOLDER_ID));
        assert!(item.id().is_some_and(is_placeholder_id));
        assert!(!is_placeholder_id("fc_1"));
        assert_eq!(Item::user("x").id(), None);
        let other = round_trip(json!({"type": "custom_call", "id": "cc_1"}));
        assert_eq!(other.id(), Some("cc_1"));
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
