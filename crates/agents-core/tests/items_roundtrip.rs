//! Items are the wire format: whatever an item holds survives a JSON round
//! trip, including the fields the SDK does not model (kept in `extra`) and
//! the item and part types it does not model (kept as raw JSON).

use agents_core::items::{Reasoning, SummaryText};
use agents_core::{
    Content, ContentPart, Extra, FunctionCall, FunctionCallOutput, Item, Message, Role,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Quarters print and parse back exactly (serde_json's default float
        // parsing may differ in the last digit of arbitrary floats).
        (-4_000_000i32..4_000_000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Extra fields: names no known shape models (plus real-world ones such as
/// `phase` and `provider_data`), any values.
fn extra() -> impl Strategy<Value = Extra> {
    let key = prop_oneof![
        Just("phase".to_owned()),
        Just("provider_data".to_owned()),
        Just("namespace".to_owned()),
        "x_[a-z0-9_]{1,8}",
    ];
    prop::collection::vec((key, json_value()), 0..3).prop_map(|kv| kv.into_iter().collect())
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(".{0,16}")
}

/// A JSON object whose `type` is not one this SDK models.
fn unknown_object(known: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        "[a-z_]{1,12}".prop_filter("an unmodelled type", move |t| !known.contains(&t.as_str())),
        prop::collection::vec(("[a-z_]{1,8}", json_value()), 0..3),
    )
        .prop_map(|(t, kv)| {
            let mut map: Map<String, Value> = kv.into_iter().collect();
            map.insert("type".into(), Value::String(t));
            Value::Object(map)
        })
}

const PART_TYPES: &[&str] = &["input_text", "output_text", "refusal", "input_image"];
const ITEM_TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
];

fn part() -> impl Strategy<Value = ContentPart> {
    prop_oneof![
        (".{0,16}", extra()).prop_map(|(text, extra)| ContentPart::InputText { text, extra }),
        (
            ".{0,16}",
            prop::collection::vec(json_value(), 0..2),
            prop::collection::vec(json_value(), 0..2),
            extra()
        )
            .prop_map(
                |(text, annotations, logprobs, extra)| ContentPart::OutputText {
                    text,
                    annotations,
                    logprobs,
                    extra
                }
            ),
        (".{0,16}", extra()).prop_map(|(refusal, extra)| ContentPart::Refusal { refusal, extra }),
        (opt_string(), opt_string(), opt_string(), extra()).prop_map(
            |(image_url, file_id, detail, extra)| ContentPart::InputImage {
                image_url,
                file_id,
                detail,
                extra
            }
        ),
        unknown_object(PART_TYPES).prop_map(ContentPart::Other),
        ".{0,8}".prop_map(|s| ContentPart::Other(Value::String(s))),
    ]
}

fn content() -> impl Strategy<Value = Content> {
    prop_oneof![
        ".{0,24}".prop_map(Content::Text),
        prop::collection::vec(part(), 0..4).prop_map(Content::Parts),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::User),
        Just(Role::Assistant),
        Just(Role::System),
        Just(Role::Developer),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (opt_string(), role(), content(), opt_string(), extra()).prop_map(
            |(id, role, content, status, extra)| Item::Message(Message {
                id,
                role,
                content,
                status,
                extra
            })
        ),
        (
            opt_string(),
            ".{0,12}",
            ".{0,12}",
            ".{0,24}",
            opt_string(),
            extra()
        )
            .prop_map(|(id, call_id, name, arguments, status, extra)| {
                Item::FunctionCall(FunctionCall {
                    id,
                    call_id,
                    name,
                    arguments,
                    status,
                    extra,
                })
            }),
        (opt_string(), ".{0,12}", content(), opt_string(), extra()).prop_map(
            |(id, call_id, output, status, extra)| {
                Item::FunctionCallOutput(FunctionCallOutput {
                    id,
                    call_id,
                    output,
                    status,
                    extra,
                })
            }
        ),
        (
            ".{0,12}",
            prop::collection::vec(
                (".{0,12}", extra()).prop_map(|(text, extra)| SummaryText { text, extra }),
                0..3
            ),
            prop::option::of(prop::collection::vec(json_value(), 0..3)),
            opt_string(),
            opt_string(),
            extra()
        )
            .prop_map(|(id, summary, content, encrypted_content, status, extra)| {
                Item::Reasoning(Reasoning {
                    id,
                    summary,
                    content,
                    encrypted_content,
                    status,
                    extra,
                })
            }),
        unknown_object(ITEM_TYPES).prop_map(Item::Other),
    ]
}

/// Rebuilds a JSON object with its keys in reverse order, so that a parser
/// relying on `type` (or any key) coming first would fail.
fn reversed(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), reversed(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn items_survive_a_json_round_trip(item in item()) {
        let text = serde_json::to_string(&item).expect("serializes");
        let back: Item = serde_json::from_str(&text).expect("parses");
        prop_assert_eq!(&back, &item);
        // The same through `Value` (how sessions and run states hold items).
        let value = serde_json::to_value(&item).expect("to value");
        let back: Item = serde_json::from_value(value.clone()).expect("from value");
        prop_assert_eq!(serde_json::to_value(&back).expect("to value"), value);
    }

    #[test]
    fn stored_json_is_written_back_unchanged(item in item()) {
        // JSON as another program may have written it: any key order.
        let stored = reversed(&serde_json::to_value(&item).expect("to value"));
        let parsed: Item = serde_json::from_value(stored.clone()).expect("parses");
        prop_assert_eq!(serde_json::to_value(&parsed).expect("to value"), stored);
    }
}

#[test]
fn unmodelled_fields_of_every_known_shape_are_kept() {
    let cases = [
        json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
        "phase": "commentary", "provider_data": {"model": "m"},
        "content": [
            {"type": "output_text", "text": "a", "annotations": [], "logprobs": [], "x_new": 1},
            {"type": "refusal", "refusal": "no", "x_new": [2]}
        ]}),
        json!({"type": "message", "role": "user", "x_new": true, "content": [
            {"type": "input_text", "text": "q", "x_new": null},
            {"type": "input_image", "image_url": "data:x", "detail": "low", "x_new": "y"}
        ]}),
        json!({"type": "function_call", "id": "fc_1", "call_id": "c", "name": "f",
            "arguments": "{}", "status": "completed", "namespace": "ns", "caller": {"k": 1}}),
        json!({"type": "function_call_output", "call_id": "c", "output": "ok", "name": "f"}),
        json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "e", "x_new": 3,
            "summary": [{"type": "summary_text", "text": "t", "x_new": 4}]}),
    ];
    for stored in cases {
        let item: Item = serde_json::from_value(stored.clone()).expect("parses");
        assert!(
            !matches!(item, Item::Other(_)),
            "a known item is modelled: {stored}"
        );
        assert_eq!(serde_json::to_value(&item).expect("json"), stored);
    }
}

#[test]
fn extra_fields_are_reachable_and_editable() {
    let mut item: Item = serde_json::from_value(json!({"type": "message", "role": "assistant",
        "id": "msg_1", "status": "completed", "phase": "final_answer",
        "content": [{"type": "output_text", "text": "a", "annotations": [], "logprobs": []}]}))
    .expect("parses");
    let Item::Message(m) = &mut item else {
        panic!("a message")
    };
    assert_eq!(m.extra.get("phase"), Some(&json!("final_answer")));
    assert_eq!(m.extra.len(), 1);
    m.extra.insert("phase", json!("commentary"));
    // A field the item models is never duplicated by an extra of that name.
    m.extra.insert("role", json!("user"));
    let value = serde_json::to_value(&item).expect("json");
    assert_eq!(value["phase"], "commentary");
    assert_eq!(value["role"], "assistant");
}

#[test]
fn empty_extra_costs_one_pointer() {
    assert_eq!(std::mem::size_of::<Extra>(), std::mem::size_of::<usize>());
    let extra = Extra::new();
    assert!(extra.is_empty());
    assert_eq!(extra.as_map(), None);
    assert_eq!(Extra::from(Map::new()), extra);
}

#[test]
fn wrongly_typed_known_fields_are_errors_not_panics() {
    for bad in [
        json!({"type": "message", "role": "user", "content": "x", "id": 7}),
        json!({"type": "message", "role": "robot", "content": "x"}),
        json!({"type": "message", "role": "user", "content": 3}),
        json!({"type": "message", "role": "user"}),
        json!({"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}),
        json!({"type": "function_call_output", "call_id": "c"}),
        json!({"type": "reasoning", "summary": []}),
        json!({"type": "reasoning", "id": "rs", "summary": [{"type": "other", "text": "t"}]}),
        json!({"type": "message", "role": "user", "content": [{"type": "input_text"}]}),
        json!({"type": "message", "role": "user", "content": [{"type": "output_text", "text": "t", "annotations": 1}]}),
    ] {
        let err = serde_json::from_value::<Item>(bad.clone()).expect_err("rejected");
        assert!(!err.to_string().is_empty(), "{bad}");
    }
}
