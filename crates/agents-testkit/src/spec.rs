//! Locating the official OpenAI OpenAPI spec and validating JSON against its schemas.
//!
//! The spec is never copied into the repository. It is found at run time (see [`spec_path`]),
//! parsed once per process, and each schema validator is compiled once, on first use, and then
//! shared by every server and every thread of the process.
//!
//! # Spec adjustments
//!
//! The spec is an OpenAPI 3.1 document, but a few of its constructs do not mean in JSON Schema
//! 2020-12 what they mean to the OpenAI service. They are rewritten narrowly before compiling,
//! never by switching validation off:
//!
//! - **`nullable: true`** (an OpenAPI 3.0 keyword, still used about a hundred times, e.g. for
//!   `finish_reason` of a chat completion chunk). JSON Schema ignores unknown keywords, so a
//!   `null` the real service sends would fail `"type": "string"`. Every schema object carrying
//!   `nullable: true` becomes `{"anyOf": [<the schema>, {"type": "null"}]}`.
//! - **`InputItem`'s `oneOf`** becomes `anyOf`. Its alternatives `EasyInputMessage` and
//!   `Item` → `InputMessage` overlap by design: a user message whose `content` is a list of
//!   parts (`{"role": "user", "content": [{"type": "input_text", ...}]}`, with or without
//!   `"type": "message"`) matches both, so `oneOf` rejects the most ordinary multimodal request
//!   the Python SDK sends. The discriminator (`type`) cannot separate them since both say
//!   `message`. Every other `oneOf` keeps its exclusive meaning.
//! - **`MCPApprovalResponse`'s `required`** lists `request_id`, which is not among its
//!   properties and which neither the service's documentation nor the official SDKs send (an
//!   approval response names its request with `approval_request_id`). It is dropped from
//!   `required`, there and in `MCPApprovalResponseResource`.
//!
//! Other spec strictness is kept on purpose. For example `OutputTextContent` requires
//! `annotations` and `logprobs`, also when an assistant message is sent back as input: an SDK
//! must echo the items it received unchanged.

use std::collections::HashSet;
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Map, Value};

/// The environment variable that names the spec file explicitly.
pub const SPEC_ENV: &str = "OPENAI_OPENAPI_SPEC";

/// Where the spec sits relative to a directory: `<dir>/shared/openai-openapi/openapi.json`.
const SPEC_RELATIVE: [&str; 3] = ["shared", "openai-openapi", "openapi.json"];

/// Maximum number of schema errors reported for one document.
const MAX_ERRORS: usize = 20;
/// Maximum length of one reported error message (the failing value is often echoed in it).
const MAX_ERROR_LEN: usize = 300;

/// Returns the path of the OpenAI OpenAPI spec, if one can be found.
///
/// The rule, in order:
/// 1. the environment variable `OPENAI_OPENAPI_SPEC`, if set and not empty (returned even if the
///    file does not exist, so that a wrong setting fails loudly instead of skipping validation);
/// 2. otherwise, for each ancestor `A` of this crate's manifest directory and then of the current
///    directory (nearest first), `A/shared/openai-openapi/openapi.json` and
///    `A/../shared/openai-openapi/openapi.json`; the first existing file wins.
///
/// The second form covers CI, which clones the repository into some directory `X` with the shared
/// folder at `X/../shared`.
pub fn spec_path() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(SPEC_ENV) {
        if !explicit.is_empty() {
            return Some(PathBuf::from(explicit));
        }
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let current_dir = std::env::current_dir().ok();
    let starts = std::iter::once(manifest_dir).chain(current_dir.as_deref());
    for start in starts {
        for ancestor in start.ancestors() {
            for base in [ancestor.to_path_buf(), ancestor.join("..")] {
                let candidate = SPEC_RELATIVE.iter().fold(base, |p, part| p.join(part));
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

/// True when the environment says we run under CI: `CI` is `true` or `1`,
/// in any case. Every test and xtask read `CI` this one way.
pub fn running_in_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

/// The one rule for reading the `CI` variable: `true` or `1`, in any case.
pub fn is_ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// The loaded and adjusted spec components, or `None` when the spec is absent (outside CI).
struct Spec {
    /// `components` of the spec with the adjustments described in the module docs applied.
    components: Value,
}

static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
static MISSING_NOTE: Once = Once::new();

/// Loads the spec once per process.
///
/// # Panics
///
/// Panics when the spec is missing under `CI=true`, or when a spec file was found (or named by
/// `OPENAI_OPENAPI_SPEC`) but cannot be read or parsed.
fn spec() -> Option<&'static Spec> {
    SPEC.get_or_init(|| {
        let Some(path) = spec_path() else {
            if running_in_ci() {
                panic!(
                    "agents-testkit: the OpenAI OpenAPI spec was not found and CI=true requires it; \
                     set {SPEC_ENV} or place it at ../shared/openai-openapi/openapi.json"
                );
            }
            MISSING_NOTE.call_once(|| {
                eprintln!(
                    "agents-testkit: OpenAPI spec not found, request validation skipped (set {SPEC_ENV})"
                );
            });
            return None;
        };
        Some(load_spec(&path))
    })
    .as_ref()
}

fn load_spec(path: &Path) -> Spec {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "agents-testkit: cannot read the OpenAPI spec at {}: {e}",
            path.display()
        )
    });
    let mut document: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "agents-testkit: the OpenAPI spec at {} is not JSON: {e}",
            path.display()
        )
    });
    let mut components = match document.get_mut("components") {
        Some(c) if c.get("schemas").is_some_and(Value::is_object) => c.take(),
        _ => panic!(
            "agents-testkit: the OpenAPI spec at {} has no components.schemas",
            path.display()
        ),
    };
    adjust_components(&mut components);
    Spec { components }
}

/// Applies the narrow OpenAPI → JSON Schema adjustments listed in the module docs.
fn adjust_components(components: &mut Value) {
    rewrite_nullable(components);
    // `MCPApprovalResponse` (and its resource) list `request_id` in `required`, but no such
    // property exists and the official SDKs never send one: drop it from `required`.
    for name in ["MCPApprovalResponse", "MCPApprovalResponseResource"] {
        if let Some(Value::Array(required)) =
            components.pointer_mut(&format!("/schemas/{name}/required"))
        {
            required.retain(|r| r != "request_id");
        }
    }
    if let Some(input_item) = components.pointer_mut("/schemas/InputItem") {
        if let Some(map) = input_item.as_object_mut() {
            if let Some(alternatives) = map.remove("oneOf") {
                map.insert("anyOf".to_owned(), alternatives);
            }
        }
    }
}

/// Turns every `{..., "nullable": true}` into `{"anyOf": [{...}, {"type": "null"}]}`.
fn rewrite_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite_nullable(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let schema = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".to_owned(),
                    Value::Array(vec![schema, json!({"type": "null"})]),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// The component schemas the testkit validates against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schema {
    CreateResponse,
    CreateChatCompletionRequest,
    Response,
    ResponseStreamEvent,
    CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
}

impl Schema {
    const ALL: [Schema; 6] = [
        Schema::CreateResponse,
        Schema::CreateChatCompletionRequest,
        Schema::Response,
        Schema::ResponseStreamEvent,
        Schema::CreateChatCompletionResponse,
        Schema::CreateChatCompletionStreamResponse,
    ];

    fn name(self) -> &'static str {
        match self {
            Schema::CreateResponse => "CreateResponse",
            Schema::CreateChatCompletionRequest => "CreateChatCompletionRequest",
            Schema::Response => "Response",
            Schema::ResponseStreamEvent => "ResponseStreamEvent",
            Schema::CreateChatCompletionResponse => "CreateChatCompletionResponse",
            Schema::CreateChatCompletionStreamResponse => "CreateChatCompletionStreamResponse",
        }
    }

    fn index(self) -> usize {
        Schema::ALL
            .iter()
            .position(|s| *s == self)
            .unwrap_or_default()
    }
}

static VALIDATORS: [OnceLock<Option<Validator>>; 6] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

/// The compiled validator for `schema`, or `None` when the spec is absent (outside CI).
///
/// Compiled once per process on first use.
pub(crate) fn validator(schema: Schema) -> Option<&'static Validator> {
    VALIDATORS[schema.index()]
        .get_or_init(|| {
            let spec = spec()?;
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/components/schemas/{}", schema.name()),
                "components": spec.components,
            });
            let compiled = jsonschema::draft202012::options()
                .build(&root)
                .unwrap_or_else(|e| {
                    panic!(
                        "agents-testkit: cannot compile schema {} from the OpenAPI spec: {e}",
                        schema.name()
                    )
                });
            Some(compiled)
        })
        .as_ref()
}

/// Validates `instance` against `schema`: a fast boolean check first, error details only on
/// failure.
pub(crate) fn validate(schema: Schema, instance: &Value) -> Result<(), Vec<String>> {
    let Some(validator) = validator(schema) else {
        return Ok(());
    };
    if is_valid_fast(schema, validator, instance) {
        return Ok(());
    }
    let mut messages = Vec::new();
    for error in validator.iter_errors(instance) {
        describe(&error, 0, &mut messages);
        if messages.len() >= MAX_ERRORS {
            break;
        }
    }
    if messages.is_empty() {
        messages.push(format!("body does not match {}", schema.name()));
    }
    messages.truncate(MAX_ERRORS);
    Err(messages)
}

// ----- Item-wise validation of request arrays ---------------------------------------------------
//
// Agents re-send the whole conversation every turn, so the same `input` items (or `messages`)
// are validated again and again; a 200-item history costs a few hundred microseconds per
// request. When (and only when) the spec's shape makes it exactly equivalent, a request is
// validated as: the body with the array cut down to its first item, plus every other item
// against the array's item schema, where items already known to be valid (by a 128-bit hash)
// are skipped. The shape check below falls back to whole-body validation for anything it does
// not recognise, and error reports always come from whole-body validation.

/// How a request schema's big array can be validated item by item.
struct ItemSplit {
    /// The top-level property holding the array (`input`, `messages`).
    property: &'static str,
    /// The validator of one array item.
    item_validator: Validator,
}

static ITEM_SPLITS: [OnceLock<Option<ItemSplit>>; 2] = [OnceLock::new(), OnceLock::new()];

/// Hashes (128-bit) of request array items known to be valid, each keyed by the schema it was
/// found valid against (an item valid as a Chat message is not a valid Responses input item),
/// shared by the whole process.
static VALID_ITEMS: OnceLock<Mutex<ItemCache>> = OnceLock::new();
/// The cache is emptied when it holds this many hashes.
const MAX_CACHED_ITEMS: usize = 1 << 20;

struct ItemCache {
    hashers: (RandomState, RandomState),
    known: HashSet<(u64, u64)>,
}

impl ItemCache {
    /// A 128-bit hash of `item` as an item of `schema`'s array: two independently keyed SipHash
    /// states fed in one walk, the schema first.
    fn key(&self, schema: Schema, item: &Value) -> (u64, u64) {
        let mut pair = HasherPair(self.hashers.0.build_hasher(), self.hashers.1.build_hasher());
        pair.write_usize(schema.index());
        feed(item, &mut pair);
        (pair.0.finish(), pair.1.finish())
    }
}

/// Feeds a JSON value into a hasher without allocating. Object keys are fed in their stored
/// order, so the same object with another key order only misses the cache.
fn feed(value: &Value, h: &mut HasherPair) {
    match value {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => h.write_u8(if *b { 2 } else { 1 }),
        Value::Number(n) => {
            h.write_u8(3);
            n.hash(h);
        }
        Value::String(s) => {
            h.write_u8(4);
            s.hash(h);
        }
        Value::Array(items) => {
            h.write_u8(5);
            h.write_usize(items.len());
            items.iter().for_each(|item| feed(item, h));
        }
        Value::Object(map) => {
            h.write_u8(6);
            h.write_usize(map.len());
            for (key, item) in map {
                key.hash(h);
                feed(item, h);
            }
        }
    }
}

/// Writes every input to two hashers.
struct HasherPair(DefaultHasher, DefaultHasher);

impl Hasher for HasherPair {
    fn finish(&self) -> u64 {
        self.0.finish()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
        self.1.write(bytes);
    }
}

fn item_cache() -> MutexGuard<'static, ItemCache> {
    VALID_ITEMS
        .get_or_init(|| {
            Mutex::new(ItemCache {
                hashers: (RandomState::new(), RandomState::new()),
                known: HashSet::new(),
            })
        })
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn item_split(schema: Schema) -> Option<&'static ItemSplit> {
    let (slot, property) = match schema {
        Schema::CreateResponse => (&ITEM_SPLITS[0], "input"),
        Schema::CreateChatCompletionRequest => (&ITEM_SPLITS[1], "messages"),
        _ => return None,
    };
    slot.get_or_init(|| {
        let spec = spec()?;
        let schemas = spec.components.get("schemas")?.as_object()?;
        let item = split_item_schema(schemas, schema.name(), property)?;
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/components/schemas/{item}"),
            "components": spec.components,
        });
        let item_validator = jsonschema::draft202012::options().build(&root).ok()?;
        Some(ItemSplit {
            property,
            item_validator,
        })
    })
    .as_ref()
}

/// Keys that never constrain anything.
fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "title"
            | "deprecated"
            | "example"
            | "examples"
            | "default"
            | "discriminator"
    ) || key.starts_with("x-")
}

fn resolve<'a>(schemas: &'a Map<String, Value>, reference: &Value) -> Option<&'a Value> {
    let name = reference.as_str()?.strip_prefix("#/components/schemas/")?;
    schemas.get(name)
}

/// The component name of the item schema of `root`'s array property `property`, if the
/// item-wise validation is exactly equivalent to whole-body validation: `property` is declared
/// once in the `allOf`/`$ref` closure of `root`, no keyword there relates properties to each
/// other, and the array schema has no keyword that looks at more than one item.
fn split_item_schema(schemas: &Map<String, Value>, root: &str, property: &str) -> Option<String> {
    let mut declarations = Vec::new();
    let mut stack = vec![schemas.get(root)?];
    let mut visited = 0;
    while let Some(node) = stack.pop() {
        visited += 1;
        if visited > 64 {
            return None;
        }
        for (key, value) in node.as_object()? {
            match key.as_str() {
                "$ref" => stack.push(resolve(schemas, value)?),
                "allOf" => stack.extend(value.as_array()?),
                "properties" => declarations.extend(value.get(property)),
                "type" | "required" => {}
                k if is_annotation(k) => {}
                _ => return None,
            }
        }
    }
    match declarations.as_slice() {
        [single] => array_item_ref(schemas, single, 0),
        _ => None,
    }
}

fn array_item_ref(schemas: &Map<String, Value>, schema: &Value, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let map = schema.as_object()?;
    let constraining: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !is_annotation(k))
        .collect();
    if let Some(reference) = map.get("$ref") {
        if constraining != ["$ref"] {
            return None;
        }
        return array_item_ref(schemas, resolve(schemas, reference)?, depth + 1);
    }
    if let Some(alternatives) = map.get("oneOf").or_else(|| map.get("anyOf")) {
        if constraining.len() != 1 {
            return None;
        }
        // For an array value, every non-array alternative must fail, so that the keyword
        // reduces to its one array alternative.
        let mut array_alternative = None;
        for alternative in alternatives.as_array()? {
            match alternative.get("type").and_then(Value::as_str) {
                Some("array") if array_alternative.is_none() => {
                    array_alternative = Some(alternative)
                }
                Some("string" | "number" | "integer" | "boolean" | "object" | "null") => {}
                _ => return None,
            }
        }
        return array_item_ref(schemas, array_alternative?, depth + 1);
    }
    if map.get("type").and_then(Value::as_str) != Some("array") {
        return None;
    }
    for key in constraining {
        match key {
            "type" | "items" => {}
            // At most one item required: checked on the cut-down body, which keeps one item.
            "minItems"
                if map
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n <= 1) => {}
            _ => return None,
        }
    }
    let items = map.get("items")?.as_object()?;
    if items.len() != 1 {
        return None;
    }
    let name = items
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")?;
    Some(name.to_owned())
}

/// `validator.is_valid(instance)`, computed item-wise when that is equivalent and worthwhile.
fn is_valid_fast(schema: Schema, validator: &Validator, instance: &Value) -> bool {
    let Some(object) = instance.as_object() else {
        return validator.is_valid(instance);
    };
    let Some(split) = item_split(schema) else {
        return validator.is_valid(instance);
    };
    let Some(items) = object.get(split.property).and_then(Value::as_array) else {
        return validator.is_valid(instance);
    };
    if items.len() < 2 {
        return validator.is_valid(instance);
    }

    let (keys, unknown): (Vec<(u64, u64)>, Vec<usize>) = {
        let cache = item_cache();
        let keys: Vec<(u64, u64)> = items[1..]
            .iter()
            .map(|item| cache.key(schema, item))
            .collect();
        let unknown = keys
            .iter()
            .enumerate()
            .filter(|(_, key)| !cache.known.contains(key))
            .map(|(i, _)| i)
            .collect();
        (keys, unknown)
    };
    for &i in &unknown {
        if !split.item_validator.is_valid(&items[i + 1]) {
            return false;
        }
    }
    if !unknown.is_empty() {
        let mut cache = item_cache();
        if cache.known.len() + unknown.len() > MAX_CACHED_ITEMS {
            cache.known.clear();
        }
        cache.known.extend(unknown.iter().map(|&i| keys[i]));
    }

    let mut reduced = Map::with_capacity(object.len());
    for (key, value) in object {
        let value = if key == split.property {
            Value::Array(vec![items[0].clone()])
        } else {
            value.clone()
        };
        reduced.insert(key.clone(), value);
    }
    validator.is_valid(&Value::Object(reduced))
}

/// Renders one error. For a failed `oneOf`/`anyOf` it also explains the most plausible
/// alternative, since "not valid under any of the schemas" alone rarely says what is wrong: the
/// alternative whose discriminator (`type` or `role`) matched, then the one that got furthest
/// into the value, then the one with the fewest errors.
fn describe(error: &ValidationError<'_>, depth: usize, out: &mut Vec<String>) {
    let indent = "  ".repeat(depth);
    let lead = if depth == 0 {
        ""
    } else {
        "closest alternative: "
    };
    out.push(format!("{indent}{lead}{}", format_error(error)));
    let context = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            context
        }
        _ => return,
    };
    let best = context
        .iter()
        .filter(|errors| !errors.is_empty())
        .max_by_key(|errors| {
            let discriminator_matched = !errors.iter().any(is_discriminator_mismatch);
            let reach = errors
                .iter()
                .map(|e| e.instance_path().as_str().len())
                .max()
                .unwrap_or(0);
            (
                discriminator_matched,
                reach,
                std::cmp::Reverse(errors.len()),
            )
        });
    for nested in best.into_iter().flatten() {
        if out.len() >= MAX_ERRORS {
            return;
        }
        describe(nested, depth + 1, out);
    }
}

/// Whether `error` says that the value's `type` or `role` is not the one an alternative wants.
fn is_discriminator_mismatch(error: &ValidationError<'_>) -> bool {
    let path = error.instance_path().as_str();
    matches!(
        error.kind(),
        ValidationErrorKind::Enum { .. }
            | ValidationErrorKind::Constant { .. }
            | ValidationErrorKind::AnyOf { .. }
            | ValidationErrorKind::OneOfNotValid { .. }
    ) && (path.ends_with("/type") || path.ends_with("/role"))
}

fn format_error(error: &ValidationError<'_>) -> String {
    let path = error.instance_path().as_str();
    let path = if path.is_empty() { "/" } else { path };
    let mut message = format!("{path}: {error}");
    if message.len() > MAX_ERROR_LEN {
        let mut cut = MAX_ERROR_LEN;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Validates a request body for `POST /v1/responses` against the spec's `CreateResponse`.
///
/// Returns `Ok(())` when the spec is not available (after printing a one-time note), except under
/// `CI=true`, where a missing spec panics.
pub fn validate_create_response(body: &Value) -> Result<(), Vec<String>> {
    validate(Schema::CreateResponse, body)
}

/// Validates a request body for `POST /v1/chat/completions` against the spec's
/// `CreateChatCompletionRequest`. Spec availability is handled as in
/// [`validate_create_response`].
pub fn validate_chat_request(body: &Value) -> Result<(), Vec<String>> {
    validate(Schema::CreateChatCompletionRequest, body)
}

/// Validates a Responses API response object against the spec's `Response`. Spec availability is
/// handled as in [`validate_create_response`].
pub fn validate_response_object(response: &Value) -> Result<(), Vec<String>> {
    validate(Schema::Response, response)
}

/// Validates one Responses API stream event (the JSON of one SSE `data:` line) against the
/// spec's `ResponseStreamEvent`. Spec availability is handled as in
/// [`validate_create_response`].
pub fn validate_response_stream_event(event: &Value) -> Result<(), Vec<String>> {
    validate(Schema::ResponseStreamEvent, event)
}

/// Validates a non-streamed chat completion against the spec's `CreateChatCompletionResponse`.
/// Spec availability is handled as in [`validate_create_response`].
pub fn validate_chat_completion_response(completion: &Value) -> Result<(), Vec<String>> {
    validate(Schema::CreateChatCompletionResponse, completion)
}

/// Validates one streamed chat completion chunk against the spec's
/// `CreateChatCompletionStreamResponse`. Spec availability is handled as in
/// [`validate_create_response`].
pub fn validate_chat_completion_chunk(chunk: &Value) -> Result<(), Vec<String>> {
    validate(Schema::CreateChatCompletionStreamResponse, chunk)
}

/// Makes sure the spec is loaded and the request validators are compiled (or that the spec is
/// known to be absent), so that no request pays for it.
pub(crate) fn warm_request_validators() {
    for schema in [Schema::CreateResponse, Schema::CreateChatCompletionRequest] {
        let _ = validator(schema);
        let _ = item_split(schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_request_schemas_can_be_validated_item_wise() {
        if spec_path().is_none() {
            eprintln!("skipped: OpenAPI spec not found");
            return;
        }
        let input = item_split(Schema::CreateResponse).expect("CreateResponse splits on input");
        assert_eq!(input.property, "input");
        let messages = item_split(Schema::CreateChatCompletionRequest)
            .expect("CreateChatCompletionRequest splits on messages");
        assert_eq!(messages.property, "messages");
    }

    #[test]
    fn item_wise_validation_agrees_with_whole_body_validation() {
        let Some(whole) = validator(Schema::CreateResponse) else {
            eprintln!("skipped: OpenAPI spec not found");
            return;
        };
        let good = json!({"role": "user", "content": "hi"});
        let call = json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
        let bad = json!({"role": "robot", "content": "hi"});
        let bodies = [
            json!({"model": "m", "input": [good, call, good]}),
            json!({"model": "m", "input": [good, call, bad]}),
            json!({"model": "m", "input": [bad, good]}),
            json!({"model": "m", "input": [good, good], "temperature": 9}),
            json!({"model": "m", "input": [good, call], "tool_choice": "sometimes"}),
            json!({"model": "m", "input": [call, good, call]}),
        ];
        // Twice, so that the second round runs with every valid item cached.
        for _ in 0..2 {
            for body in &bodies {
                assert_eq!(
                    is_valid_fast(Schema::CreateResponse, whole, body),
                    whole.is_valid(body),
                    "{body}"
                );
            }
        }
        let chat = validator(Schema::CreateChatCompletionRequest).expect("compiled");
        let user = json!({"role": "user", "content": "hi"});
        let chat_bodies = [
            json!({"model": "m", "messages": [user, user]}),
            json!({"model": "m", "messages": [user, {"role": "tool", "content": "x"}]}),
            json!({"messages": [user, user]}),
        ];
        for body in &chat_bodies {
            assert_eq!(
                is_valid_fast(Schema::CreateChatCompletionRequest, chat, body),
                chat.is_valid(body),
                "{body}"
            );
        }
    }

    #[test]
    fn an_item_valid_for_one_api_is_checked_again_for_the_other() {
        let (Some(responses), Some(chat)) = (
            validator(Schema::CreateResponse),
            validator(Schema::CreateChatCompletionRequest),
        ) else {
            eprintln!("skipped: OpenAPI spec not found");
            return;
        };
        let user = json!({"role": "user", "content": "hi"});
        // A Chat tool message is no Responses input item.
        let tool_message = json!({"role": "tool", "tool_call_id": "call_1", "content": "42"});
        let chat_body = json!({"model": "m", "messages": [user, tool_message]});
        assert!(is_valid_fast(
            Schema::CreateChatCompletionRequest,
            chat,
            &chat_body
        ));
        let responses_body = json!({"model": "m", "input": [user, tool_message]});
        assert!(!responses.is_valid(&responses_body));
        assert!(!is_valid_fast(
            Schema::CreateResponse,
            responses,
            &responses_body
        ));
        assert!(validate(Schema::CreateResponse, &responses_body).is_err());
        // And a Responses function call is no Chat message.
        let call = json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"});
        let responses_body = json!({"model": "m", "input": [user, call]});
        assert!(is_valid_fast(
            Schema::CreateResponse,
            responses,
            &responses_body
        ));
        let chat_body = json!({"model": "m", "messages": [user, call]});
        assert!(!chat.is_valid(&chat_body));
        assert!(!is_valid_fast(
            Schema::CreateChatCompletionRequest,
            chat,
            &chat_body
        ));
    }

    #[test]
    fn the_shape_check_refuses_what_it_does_not_know() {
        let schemas = json!({
            "Root": {"allOf": [{"$ref": "#/components/schemas/Part"}, {"type": "object", "properties": {"list": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}]},
            "Part": {"type": "object", "properties": {"other": {"type": "string"}}},
            "Coupled": {"type": "object", "properties": {"list": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}, "additionalProperties": false},
            "Unique": {"type": "object", "properties": {"list": {"type": "array", "uniqueItems": true, "items": {"$ref": "#/components/schemas/Item"}}}},
            "Twice": {"allOf": [{"$ref": "#/components/schemas/Root"}, {"properties": {"list": {"maxItems": 3}}}]},
            "Item": {"type": "string"},
        });
        let schemas = schemas.as_object().unwrap();
        assert_eq!(
            split_item_schema(schemas, "Root", "list").as_deref(),
            Some("Item")
        );
        assert_eq!(split_item_schema(schemas, "Coupled", "list"), None);
        assert_eq!(split_item_schema(schemas, "Unique", "list"), None);
        assert_eq!(split_item_schema(schemas, "Twice", "list"), None);
    }

    #[test]
    fn nullable_becomes_any_of_with_null() {
        let mut v = json!({"a": {"type": "string", "enum": ["x"], "nullable": true}, "b": {"nullable": false}});
        rewrite_nullable(&mut v);
        assert_eq!(
            v,
            json!({"a": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "null"}]}, "b": {"nullable": false}})
        );
    }

    #[test]
    fn nested_nullable_is_rewritten_too() {
        let mut v = json!({"type": "object", "nullable": true, "properties": {"c": {"type": "array", "nullable": true}}});
        rewrite_nullable(&mut v);
        assert_eq!(
            v,
            json!({"anyOf": [
                {"type": "object", "properties": {"c": {"anyOf": [{"type": "array"}, {"type": "null"}]}}},
                {"type": "null"}
            ]})
        );
    }
}
