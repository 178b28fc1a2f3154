//! JSON schema helpers.

use serde_json::Value;

/// Makes a JSON schema strict, as OpenAI's strict mode requires: every
/// object lists all its properties as required and forbids additional ones.
/// Optional fields stay optional by allowing `null` (schemars already emits
/// `["T", "null"]` for `Option<T>`).
pub fn strict_schema(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            let is_object = obj.get("type").and_then(Value::as_str) == Some("object")
                || obj.contains_key("properties");
            if is_object {
                obj.insert("additionalProperties".into(), Value::Bool(false));
                let keys: Vec<Value> = obj
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().map(Value::String).collect())
                    .unwrap_or_default();
                obj.insert("required".into(), Value::Array(keys));
                obj.entry("properties")
                    .or_insert_with(|| Value::Object(Default::default()));
            }
            // Defaults are not allowed in strict mode.
            obj.remove("default");
            for (_, v) in obj.iter_mut() {
                strict_schema(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_become_strict() {
        let mut s = json!({"type":"object","properties":{
            "a":{"type":"object","properties":{"b":{"type":"integer","default":1}}},
            "c":{"type":["string","null"]}},
            "required":["a"]});
        strict_schema(&mut s);
        assert_eq!(s["required"], json!(["a", "c"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["a"]["required"], json!(["b"]));
        assert!(s["properties"]["a"]["properties"]["b"]
            .get("default")
            .is_none());
    }
}
