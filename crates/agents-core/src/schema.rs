//! JSON schema helpers: the conversion to OpenAI's strict mode.
//!
//! OpenAI's strict mode (function tools with `strict: true`, structured
//! outputs with a strict `json_schema`) accepts a subset of JSON Schema:
//!
//! - every object lists all of its properties in `required` and sets
//!   `additionalProperties: false`, so optional fields are expressed as
//!   nullable (`["string", "null"]`, `anyOf [..., {"type": "null"}]`);
//! - a `$ref` has no sibling keywords;
//! - only `type`, `properties`, `required`, `additionalProperties`, `items`,
//!   `anyOf`, `enum`, `const`, `$ref`, `$defs`/`definitions`, `description`,
//!   `title`, and the constraints `pattern`, `format` (`date-time`, `time`,
//!   `date`, `duration`, `email`, `hostname`, `ipv4`, `ipv6`, `uuid`),
//!   `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`,
//!   `multipleOf`, `minItems` and `maxItems` are understood.
//!
//! [`strict_schema`] rewrites a schema (as schemars produces it) into that
//! subset without changing which values it accepts, or fails with a
//! [`SchemaError`] naming the JSON path of the field that strict mode cannot
//! express. It walks the schema by keyword position: the *keys* of
//! `properties` are field names (a field may well be named `default` or
//! `properties`), never keywords.
//!
//! What the conversion does:
//!
//! - objects get `additionalProperties: false` and a `required` list of all
//!   their properties (an object without `properties`, such as an empty
//!   struct, gets an empty one);
//! - a `$ref` with siblings (schemars emits `{"$ref": ..., "description": ...}`
//!   for a documented field whose type is a struct or an enum) is unravelled:
//!   the definition is inlined and the siblings are kept. A plain `$ref`
//!   stays a reference, so recursive types keep working; a `$ref` with
//!   siblings that points back into its own definition becomes
//!   `{"anyOf": [{"$ref": ...}], <siblings>}`;
//! - `oneOf` becomes `anyOf` (serde picks the first alternative that fits,
//!   which is what `anyOf` says), `allOf` is merged into its parent, and an
//!   object with both `properties` and alternatives (a `#[serde(flatten)]`
//!   enum) becomes one alternative per variant with the common properties;
//! - `minLength`/`maxLength` (schemars emits them for `char`) become the
//!   equivalent `pattern`;
//! - a tuple whose elements share one schema (`(f64, f64)`) becomes an array
//!   with `items` and exact `minItems`/`maxItems`;
//! - annotations strict mode rejects are dropped: `default`, `examples`,
//!   `deprecated`, `readOnly`, `writeOnly`, `$comment`, `$schema`, `$id`,
//!   `format` values outside the list above (schemars' `int64`, `uint8`,
//!   `double`, ...) and `uniqueItems` (serde's set types accept duplicates).
//!
//! What fails, with the JSON path of the field:
//!
//! - free-form objects: maps (`HashMap<String, T>`, `BTreeMap`,
//!   `serde_json::Map`: `additionalProperties` other than `false`, or
//!   `patternProperties`) and any-value schemas (`serde_json::Value`: `true`
//!   or `{}`). Strict mode would only ever let the model send `{}` there;
//! - tuples of different element types (`prefixItems`), and keywords strict
//!   mode has no counterpart for (`not`, `if`, `minProperties`, ...).
//!
//! The non-strict constructors (`FunctionTool::new_non_strict`,
//! `OutputType::of_non_strict`, `Handoff::input_type_non_strict`) send the
//! generated schema untouched and never fail.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

/// Why a schema cannot be made strict.
///
/// Every variant names the JSON path of the offending field: field names
/// joined with `.`, `[]` for the items of an array, and `$defs.Name` for a
/// definition that is not reached from the root. The empty path is the root.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A map or other free-form object: its property names are not known in
    /// advance, which strict mode cannot express.
    #[error(
        "field `{path}` is a free-form object (a map or `serde_json::Map`); strict mode only \
         allows objects with known properties. Use a struct, or the non-strict option \
         (`FunctionTool::new_non_strict`, `OutputType::of_non_strict`, \
         `Handoff::input_type_non_strict`)"
    )]
    FreeFormObject {
        /// JSON path of the field.
        path: String,
    },
    /// A schema that accepts any value (`serde_json::Value`).
    #[error(
        "field `{path}` accepts any JSON value (e.g. `serde_json::Value`); strict mode needs a \
         typed schema. Use a concrete type, or the non-strict option \
         (`FunctionTool::new_non_strict`, `OutputType::of_non_strict`, \
         `Handoff::input_type_non_strict`)"
    )]
    AnyValue {
        /// JSON path of the field.
        path: String,
    },
    /// A keyword strict mode does not support and that cannot be rewritten
    /// without changing what the schema accepts.
    #[error(
        "field `{path}` uses `{keyword}`, which strict mode does not support ({reason}); \
         change the type, or use the non-strict option (`FunctionTool::new_non_strict`, \
         `OutputType::of_non_strict`, `Handoff::input_type_non_strict`)"
    )]
    Unsupported {
        /// JSON path of the field.
        path: String,
        /// The JSON Schema keyword.
        keyword: String,
        /// Why it cannot be rewritten.
        reason: String,
    },
    /// The root of a tool's or handoff's parameters is not an object.
    #[error(
        "the arguments schema is {found}, not an object; strict mode (and function calling) \
         needs a struct at the root"
    )]
    RootNotObject {
        /// What the root is (e.g. `anyOf`, `type "string"`).
        found: String,
    },
    /// A `$ref` that does not point into the schema's own definitions.
    #[error("field `{path}` refers to `{reference}`, which the schema does not define")]
    UnresolvedRef {
        /// JSON path of the field.
        path: String,
        /// The reference.
        reference: String,
    },
}

impl SchemaError {
    /// The JSON path of the offending field (empty for the root).
    pub fn path(&self) -> &str {
        match self {
            SchemaError::FreeFormObject { path }
            | SchemaError::AnyValue { path }
            | SchemaError::Unsupported { path, .. }
            | SchemaError::UnresolvedRef { path, .. } => path,
            SchemaError::RootNotObject { .. } => "",
        }
    }
}

/// The `format` values strict mode supports (on strings).
pub const STRICT_FORMATS: &[&str] = &[
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

/// Keywords a strict schema may use.
const ALLOWED: &[&str] = &[
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

/// Annotations without effect on validation that strict mode rejects: dropped.
const DROPPED: &[&str] = &[
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "$schema",
    "$id",
    "contentEncoding",
    "contentMediaType",
    "uniqueItems",
];

/// Keywords that carry no constraint (kept outside when alternatives are
/// distributed).
const ANNOTATIONS: &[&str] = &["description", "title"];

/// How many times one node may be rewritten (refs to refs, merges).
const MAX_REWRITES: usize = 64;

/// Makes `schema` strict, as OpenAI's strict mode requires (see the module
/// docs for what is rewritten and what fails).
///
/// The root keeps its shape: an object root stays an object. Definitions
/// (`$defs` or `definitions`) stay at the root, converted too.
///
/// # Errors
///
/// A [`SchemaError`] naming the field strict mode cannot express: a map, a
/// `serde_json::Value`, a tuple of mixed element types, an unsupported
/// keyword, or a dangling `$ref`.
pub fn strict_schema(schema: &mut Value) -> Result<(), SchemaError> {
    let mut defs_key = None;
    let mut defs = Map::new();
    if let Value::Object(root) = schema {
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(d)) = root.remove(key) {
                defs_key.get_or_insert(key);
                defs.extend(d);
            }
        }
    }
    let prefix = defs_key.unwrap_or("$defs");
    let mut s = Strict {
        originals: defs.clone(),
        defs,
        state: HashMap::new(),
        merge_depth: Cell::new(0),
        budget: Cell::new(BUDGET),
    };
    s.node(schema, &Path::root())?;
    let names: Vec<String> = s.originals.keys().cloned().collect();
    for name in names {
        s.convert_def(&name, &Path::def(&name))?;
    }
    prune_unreachable(schema, &mut s.defs);
    if !s.defs.is_empty() {
        if let Value::Object(root) = schema {
            root.insert(
                prefix.to_owned(),
                Value::Object(std::mem::take(&mut s.defs)),
            );
        }
    }
    Ok(())
}

/// The strict schema of a tool's (or handoff's) arguments: the root must be
/// an object. See [`strict_schema`].
///
/// # Errors
///
/// As [`strict_schema`], plus [`SchemaError::RootNotObject`].
pub fn strict_object_schema(schema: &mut Value) -> Result<(), SchemaError> {
    strict_schema(schema)?;
    match describe_root(schema) {
        None => Ok(()),
        Some(found) => Err(SchemaError::RootNotObject { found }),
    }
}

/// `None` when `schema` is a plain object schema (`"type": "object"`, no
/// alternatives at the root); otherwise a short description of what it is.
pub(crate) fn describe_root(schema: &Value) -> Option<String> {
    let Value::Object(obj) = schema else {
        return Some(format!("`{schema}`"));
    };
    for key in ["anyOf", "oneOf", "allOf", "$ref"] {
        if obj.contains_key(key) {
            return Some(format!("`{key}`"));
        }
    }
    match obj.get("type") {
        Some(Value::String(t)) if t == "object" => None,
        Some(t) => Some(format!("of type {t}")),
        None => Some("untyped".into()),
    }
}

/// A JSON path for error messages.
#[derive(Clone, Debug)]
struct Path(String);

impl Path {
    fn root() -> Self {
        Path(String::new())
    }

    fn def(name: &str) -> Self {
        Path(format!("$defs.{name}"))
    }

    fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Path(name.to_owned())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }

    fn items(&self) -> Self {
        Path(format!("{}[]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(root)")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DefState {
    InProgress,
    Done,
}

struct Strict {
    /// The definitions as generated, for inlining.
    originals: Map<String, Value>,
    /// The definitions, converted in place as they are reached.
    defs: Map<String, Value>,
    state: HashMap<String, DefState>,
    /// Nesting of [`Strict::conjoin`] calls, bounded.
    merge_depth: Cell<usize>,
    /// Inlined definitions and merges left, so that a hostile schema cannot
    /// grow without bound.
    budget: Cell<usize>,
}

/// How many definitions may be inlined and schemas merged in one conversion.
const BUDGET: usize = 10_000;

/// Definitions marked in progress while an inlined copy is walked, with
/// their prior state.
type Marks = Vec<(String, Option<DefState>)>;

/// What a `$ref` points at.
enum Target {
    Root,
    Def(String),
}

impl Strict {
    fn target(&self, reference: &Value, path: &Path) -> Result<Target, SchemaError> {
        let unresolved = || SchemaError::UnresolvedRef {
            path: path.to_string(),
            reference: reference.to_string(),
        };
        let r = reference.as_str().ok_or_else(unresolved)?;
        if r == "#" {
            return Ok(Target::Root);
        }
        let name = r
            .strip_prefix("#/$defs/")
            .or_else(|| r.strip_prefix("#/definitions/"))
            .ok_or_else(unresolved)?;
        if self.originals.contains_key(name) {
            Ok(Target::Def(name.to_owned()))
        } else {
            Err(unresolved())
        }
    }

    fn convert_def(&mut self, name: &str, path: &Path) -> Result<(), SchemaError> {
        if self.state.contains_key(name) {
            return Ok(());
        }
        let Some(mut def) = self.defs.remove(name) else {
            return Ok(());
        };
        self.state.insert(name.to_owned(), DefState::InProgress);
        let result = self.node(&mut def, path);
        self.defs.insert(name.to_owned(), def);
        self.state.insert(name.to_owned(), DefState::Done);
        result
    }

    /// Converts one schema node at `path`.
    fn node(&mut self, schema: &mut Value, path: &Path) -> Result<(), SchemaError> {
        let mut marks = Vec::new();
        let result = self.node_inner(schema, path, &mut marks);
        for (name, prior) in marks.into_iter().rev() {
            match prior {
                Some(state) => self.state.insert(name, state),
                None => self.state.remove(&name),
            };
        }
        result
    }

    fn node_inner(
        &mut self,
        schema: &mut Value,
        path: &Path,
        marks: &mut Marks,
    ) -> Result<(), SchemaError> {
        let obj = match schema {
            Value::Object(obj) if !obj.is_empty() => obj,
            Value::Bool(false) => {
                return Err(SchemaError::Unsupported {
                    path: path.to_string(),
                    keyword: "false".into(),
                    reason: "a schema that accepts nothing".into(),
                })
            }
            _ => {
                return Err(SchemaError::AnyValue {
                    path: path.to_string(),
                })
            }
        };
        drop_annotations(obj);
        self.rewrite(obj, path, marks)?;
        drop_annotations(obj);
        if obj.is_empty() {
            return Err(SchemaError::AnyValue {
                path: path.to_string(),
            });
        }

        if let Some(reference) = obj.get("$ref") {
            // A plain reference (siblings were unravelled by `rewrite`).
            if let Target::Def(name) = self.target(reference, path)? {
                self.convert_def(&name, path)?;
            }
            return Ok(());
        }

        let is_object = obj.contains_key("properties")
            || match obj.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
        if is_object {
            match obj.get("additionalProperties") {
                None | Some(Value::Bool(false)) => {}
                Some(_) => {
                    return Err(SchemaError::FreeFormObject {
                        path: path.to_string(),
                    })
                }
            }
            if obj.contains_key("patternProperties") || obj.contains_key("propertyNames") {
                return Err(SchemaError::FreeFormObject {
                    path: path.to_string(),
                });
            }
            let props = obj
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(props) = props else {
                return Err(SchemaError::Unsupported {
                    path: path.to_string(),
                    keyword: "properties".into(),
                    reason: "it is not an object".into(),
                });
            };
            let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
            for (name, prop) in props.iter_mut() {
                self.node(prop, &path.field(name))?;
            }
            obj.insert("required".into(), Value::Array(names));
            obj.insert("additionalProperties".into(), Value::Bool(false));
            obj.entry("type")
                .or_insert_with(|| Value::String("object".into()));
        }

        if let Some(items) = obj.get_mut("items") {
            self.node(items, &path.items())?;
        }
        if let Some(Value::Array(alternatives)) = obj.get_mut("anyOf") {
            for alternative in alternatives {
                self.node(alternative, path)?;
            }
        }

        for key in obj.keys() {
            if !ALLOWED.contains(&key.as_str()) || key == "$defs" || key == "definitions" {
                return Err(SchemaError::Unsupported {
                    path: path.to_string(),
                    keyword: key.clone(),
                    reason: "strict mode has no counterpart for it".into(),
                });
            }
        }
        Ok(())
    }

    /// Rewrites the keywords strict mode lacks into ones it has, until the
    /// node holds none of them: `$ref` with siblings, `allOf`, `oneOf`,
    /// properties beside alternatives, `prefixItems`.
    fn rewrite(
        &mut self,
        obj: &mut Map<String, Value>,
        path: &Path,
        marks: &mut Marks,
    ) -> Result<(), SchemaError> {
        for _ in 0..MAX_REWRITES {
            if let Some(alternatives) = obj.remove("oneOf") {
                if obj.contains_key("anyOf") {
                    let existing = obj.remove("anyOf").unwrap_or(Value::Null);
                    let all = vec![
                        object_of("anyOf", existing),
                        object_of("anyOf", alternatives),
                    ];
                    obj.insert("allOf".into(), Value::Array(all));
                } else {
                    obj.insert("anyOf".into(), alternatives);
                }
                continue;
            }
            if let Some(parts) = obj.remove("allOf") {
                let Value::Array(parts) = parts else {
                    return Err(malformed(path, "allOf"));
                };
                let mut merged = Value::Object(std::mem::take(obj));
                for part in parts {
                    merged = self.conjoin(merged, part, path)?;
                }
                *obj = into_object(merged);
                continue;
            }
            if obj.contains_key("$ref") && obj.len() > 1 {
                self.unravel(obj, path, marks)?;
                continue;
            }
            if obj.contains_key("anyOf")
                && (obj.contains_key("properties") || obj.contains_key("type"))
            {
                self.distribute(obj, path)?;
                continue;
            }
            if obj.contains_key("minLength") || obj.contains_key("maxLength") {
                length_to_pattern(obj, path)?;
                continue;
            }
            if let Some(prefix) = obj.remove("prefixItems") {
                tuple_to_items(obj, prefix, path)?;
                continue;
            }
            return Ok(());
        }
        Err(SchemaError::Unsupported {
            path: path.to_string(),
            keyword: "$ref".into(),
            reason: "the references do not resolve to a finite schema".into(),
        })
    }

    /// Replaces `{"$ref": r, siblings...}` by the definition merged with the
    /// siblings; a reference back into a definition being converted becomes
    /// `{"anyOf": [{"$ref": r}], siblings...}`.
    fn unravel(
        &mut self,
        obj: &mut Map<String, Value>,
        path: &Path,
        marks: &mut Marks,
    ) -> Result<(), SchemaError> {
        let reference = obj.remove("$ref").unwrap_or(Value::Null);
        let target = self.target(&reference, path)?;
        let cyclic = match &target {
            Target::Root => true,
            Target::Def(name) => self.state.get(name) == Some(&DefState::InProgress),
        };
        if cyclic {
            if obj.contains_key("anyOf") {
                let existing = obj.remove("anyOf").unwrap_or(Value::Null);
                let all = vec![
                    object_of("anyOf", existing),
                    object_of("anyOf", Value::Array(vec![object_of("$ref", reference)])),
                ];
                obj.insert("allOf".into(), Value::Array(all));
            } else {
                obj.insert(
                    "anyOf".into(),
                    Value::Array(vec![object_of("$ref", reference)]),
                );
            }
            return Ok(());
        }
        let Target::Def(name) = target else {
            return Ok(());
        };
        self.spend(path)?;
        let definition = self.originals.get(&name).cloned().unwrap_or(Value::Null);
        let siblings = Value::Object(std::mem::take(obj));
        *obj = into_object(self.conjoin(definition, siblings, path)?);
        // While the inlined copy is walked, a reference back into it is a cycle.
        let prior = self.state.insert(name.clone(), DefState::InProgress);
        marks.push((name, prior));
        Ok(())
    }

    /// `{"type": "object", "properties": P, "anyOf": [A, B]}` becomes
    /// `{"anyOf": [P ∧ A, P ∧ B]}` (annotations stay outside).
    fn distribute(&mut self, obj: &mut Map<String, Value>, path: &Path) -> Result<(), SchemaError> {
        let Some(Value::Array(alternatives)) = obj.remove("anyOf") else {
            return Err(malformed(path, "anyOf"));
        };
        let mut base = Map::new();
        let mut outer = Map::new();
        for (key, value) in std::mem::take(obj) {
            if ANNOTATIONS.contains(&key.as_str()) {
                outer.insert(key, value);
            } else {
                base.insert(key, value);
            }
        }
        let base = Value::Object(base);
        let mut merged = Vec::with_capacity(alternatives.len());
        for alternative in alternatives {
            let alternative = self.resolve_for_merge(alternative, path)?;
            // Alternatives of another type (`null` beside an object) keep
            // their own shape when the base only says the type.
            merged.push(self.conjoin(base.clone(), alternative, path)?);
        }
        outer.insert("anyOf".into(), Value::Array(merged));
        *obj = outer;
        Ok(())
    }

    /// Counts one inlining or merge against [`BUDGET`].
    fn spend(&self, path: &Path) -> Result<(), SchemaError> {
        let left = self.budget.get();
        if left == 0 {
            return Err(SchemaError::Unsupported {
                path: path.to_string(),
                keyword: "$ref".into(),
                reason: format!(
                    "more than {BUDGET} references to inline or schemas to merge; the schema \
                     grows too large"
                ),
            });
        }
        self.budget.set(left - 1);
        Ok(())
    }

    /// Resolves a `$ref` (non-cyclic) so that its content can be merged.
    fn resolve_for_merge(&self, schema: Value, path: &Path) -> Result<Value, SchemaError> {
        let mut schema = schema;
        for _ in 0..MAX_REWRITES {
            let Value::Object(obj) = &schema else {
                return Ok(schema);
            };
            let Some(reference) = obj.get("$ref") else {
                return Ok(schema);
            };
            let name = match self.target(reference, path)? {
                Target::Def(name) if self.state.get(&name) != Some(&DefState::InProgress) => name,
                _ => {
                    return Err(SchemaError::Unsupported {
                        path: path.to_string(),
                        keyword: "$ref".into(),
                        reason: "a recursive type cannot be merged into its parent".into(),
                    })
                }
            };
            let mut rest = obj.clone();
            rest.remove("$ref");
            let definition = self.originals.get(&name).cloned().unwrap_or(Value::Null);
            schema = if rest.is_empty() {
                definition
            } else {
                self.conjoin(definition, Value::Object(rest), path)?
            };
        }
        Ok(schema)
    }

    /// The conjunction of two schemas (what `allOf: [a, b]` accepts) as one
    /// schema, when it can be written without `allOf`: properties are
    /// merged, `required` joined, alternatives distributed; for any other
    /// keyword both sides must agree, except annotations (`b` wins).
    fn conjoin(&self, a: Value, b: Value, path: &Path) -> Result<Value, SchemaError> {
        self.spend(path)?;
        let depth = self.merge_depth.get();
        if depth > MAX_REWRITES {
            return Err(not_mergeable(path));
        }
        self.merge_depth.set(depth + 1);
        let result = self.conjoin_inner(a, b, path);
        self.merge_depth.set(depth);
        result
    }

    fn conjoin_inner(&self, a: Value, b: Value, path: &Path) -> Result<Value, SchemaError> {
        let a = self.resolve_for_merge(a, path)?;
        let b = self.resolve_for_merge(b, path)?;
        let (Value::Object(mut a), Value::Object(b)) = (a, b) else {
            return Err(not_mergeable(path));
        };
        if let (Some(Value::Array(x)), Some(Value::Array(y))) = (a.get("anyOf"), b.get("anyOf")) {
            // Both sides have alternatives: every pair.
            let (x, y) = (x.clone(), y.clone());
            let mut pairs = Vec::new();
            for i in &x {
                for j in &y {
                    pairs.push(self.conjoin(i.clone(), j.clone(), path)?);
                }
            }
            a.remove("anyOf");
            let mut b = b;
            b.remove("anyOf");
            let mut rest = into_object(self.conjoin(Value::Object(a), Value::Object(b), path)?);
            rest.insert("anyOf".into(), Value::Array(pairs));
            return Ok(Value::Object(rest));
        }
        for (key, value) in b {
            match key.as_str() {
                "properties" => {
                    let Value::Object(incoming) = value else {
                        return Err(malformed(path, "properties"));
                    };
                    let slot = a
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(existing) = slot else {
                        return Err(malformed(path, "properties"));
                    };
                    for (name, schema) in incoming {
                        match existing.get(&name) {
                            Some(prior) if *prior != schema => {
                                return Err(not_mergeable(&path.field(&name)))
                            }
                            _ => {
                                existing.insert(name, schema);
                            }
                        }
                    }
                }
                "required" => {
                    let mut names: Vec<Value> = match a.remove("required") {
                        Some(Value::Array(names)) => names,
                        _ => Vec::new(),
                    };
                    if let Value::Array(more) = value {
                        for name in more {
                            if !names.contains(&name) {
                                names.push(name);
                            }
                        }
                    }
                    a.insert("required".into(), Value::Array(names));
                }
                k if ANNOTATIONS.contains(&k) || DROPPED.contains(&k) || k == "format" => {
                    a.insert(key, value);
                }
                _ => match a.get(&key) {
                    Some(prior) if *prior != value => {
                        return Err(not_mergeable(path));
                    }
                    _ => {
                        a.insert(key, value);
                    }
                },
            }
        }
        Ok(Value::Object(a))
    }
}

/// Removes the definitions no reference reaches from the root any more (those
/// only used by unravelled references, which were inlined).
fn prune_unreachable(root: &Value, defs: &mut Map<String, Value>) {
    let mut reached: Vec<String> = Vec::new();
    let mut pending = Vec::new();
    collect_refs(root, &mut pending);
    while let Some(reference) = pending.pop() {
        let Some(name) = reference
            .strip_prefix("#/$defs/")
            .or_else(|| reference.strip_prefix("#/definitions/"))
        else {
            continue;
        };
        if reached.iter().any(|r| r == name) {
            continue;
        }
        reached.push(name.to_owned());
        if let Some(def) = defs.get(name) {
            collect_refs(def, &mut pending);
        }
    }
    defs.retain(|name, _| reached.contains(name));
}

/// The `$ref`s of a strict schema, walked by keyword position.
fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    let Value::Object(obj) = schema else { return };
    if let Some(Value::String(reference)) = obj.get("$ref") {
        out.push(reference.clone());
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        props.values().for_each(|p| collect_refs(p, out));
    }
    if let Some(items) = obj.get("items") {
        collect_refs(items, out);
    }
    if let Some(Value::Array(alternatives)) = obj.get("anyOf") {
        alternatives.iter().for_each(|a| collect_refs(a, out));
    }
}

/// Drops the annotations strict mode rejects, and `format` values it lacks.
fn drop_annotations(obj: &mut Map<String, Value>) {
    for key in DROPPED {
        obj.remove(*key);
    }
    if let Some(Value::String(format)) = obj.get("format") {
        if !STRICT_FORMATS.contains(&format.as_str()) {
            obj.remove("format");
        }
    }
}

fn object_of(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Value::Object(m)
}

fn into_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn malformed(path: &Path, keyword: &str) -> SchemaError {
    SchemaError::Unsupported {
        path: path.to_string(),
        keyword: keyword.to_owned(),
        reason: "its value is malformed".into(),
    }
}

fn not_mergeable(path: &Path) -> SchemaError {
    SchemaError::Unsupported {
        path: path.to_string(),
        keyword: "allOf".into(),
        reason: "the combined schemas contradict each other or cannot be merged into one".into(),
    }
}

/// `minLength`/`maxLength` (schemars emits them for `char`) become the
/// equivalent `pattern`, which strict mode supports.
fn length_to_pattern(obj: &mut Map<String, Value>, path: &Path) -> Result<(), SchemaError> {
    let bound = |v: Option<Value>| -> Result<Option<u64>, SchemaError> {
        match v {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| malformed(path, "minLength")),
        }
    };
    let min = bound(obj.remove("minLength"))?;
    let max = bound(obj.remove("maxLength"))?;
    if obj.contains_key("pattern") {
        return Err(SchemaError::Unsupported {
            path: path.to_string(),
            keyword: "minLength".into(),
            reason: "a length bound beside a `pattern` cannot be expressed".into(),
        });
    }
    let min = min.unwrap_or(0);
    let max = max.map(|m| m.to_string()).unwrap_or_default();
    obj.insert(
        "pattern".into(),
        Value::String(format!("^[\\s\\S]{{{min},{max}}}$")),
    );
    Ok(())
}

/// `prefixItems` of one repeated schema becomes `items` with an exact length.
fn tuple_to_items(
    obj: &mut Map<String, Value>,
    prefix: Value,
    path: &Path,
) -> Result<(), SchemaError> {
    let Value::Array(elements) = prefix else {
        return Err(malformed(path, "prefixItems"));
    };
    let extra_items = !matches!(obj.get("items"), None | Some(Value::Bool(false)));
    let uniform = elements.windows(2).all(|w| w[0] == w[1]);
    match elements.first() {
        Some(first) if uniform && !extra_items => {
            let n = Value::from(elements.len());
            obj.insert("items".into(), first.clone());
            obj.insert("minItems".into(), n.clone());
            obj.insert("maxItems".into(), n);
            Ok(())
        }
        _ => Err(SchemaError::Unsupported {
            path: path.to_string(),
            keyword: "prefixItems".into(),
            reason: "a tuple of different element types; use a struct".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(mut s: Value) -> Result<Value, SchemaError> {
        strict_schema(&mut s).map(|()| s)
    }

    #[test]
    fn nested_objects_become_strict() {
        let s = strict(json!({"type":"object","properties":{
            "a":{"type":"object","properties":{"b":{"type":"integer","default":1}}},
            "c":{"type":["string","null"]}},
            "required":["a"]}))
        .expect("strict");
        assert_eq!(s["required"], json!(["a", "c"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["a"]["required"], json!(["b"]));
        assert!(s["properties"]["a"]["properties"]["b"]
            .get("default")
            .is_none());
    }

    #[test]
    fn property_names_are_never_keywords() {
        let s = strict(json!({"type":"object","properties":{
            "default":{"type":"string"},
            "properties":{"type":"integer"},
            "required":{"type":"boolean"}}}))
        .expect("strict");
        assert_eq!(
            s,
            json!({"type":"object","properties":{
                "default":{"type":"string"},
                "properties":{"type":"integer"},
                "required":{"type":"boolean"}},
                "required":["default","properties","required"],
                "additionalProperties":false})
        );
    }

    #[test]
    fn refs_with_siblings_are_unravelled_and_plain_refs_kept() {
        let s = strict(json!({"type":"object","properties":{
            "a":{"$ref":"#/$defs/In","description":"doc"},
            "b":{"$ref":"#/$defs/In"}},
            "$defs":{"In":{"type":"object","properties":{"x":{"type":"string"}}}}}))
        .expect("strict");
        assert_eq!(
            s["properties"]["a"],
            json!({"type":"object","properties":{"x":{"type":"string"}},"description":"doc",
                   "required":["x"],"additionalProperties":false})
        );
        assert_eq!(s["properties"]["b"], json!({"$ref":"#/$defs/In"}));
        assert_eq!(s["$defs"]["In"]["additionalProperties"], json!(false));
        // A definition only used by unravelled references is dropped.
        let s = strict(json!({"type":"object","properties":{
            "a":{"$ref":"#/$defs/In","description":"doc"}},
            "$defs":{"In":{"type":"object","properties":{"x":{"$ref":"#/$defs/X"}}},
                     "X":{"type":"string"}}}))
        .expect("strict");
        assert_eq!(s["$defs"], json!({"X":{"type":"string"}}));
    }

    #[test]
    fn recursive_refs_with_siblings_become_single_alternatives() {
        let s = strict(json!({"type":"object","properties":{
            "next":{"$ref":"#","description":"doc"}}}))
        .expect("strict");
        assert_eq!(
            s["properties"]["next"],
            json!({"anyOf":[{"$ref":"#"}],"description":"doc"})
        );
    }

    #[test]
    fn maps_and_values_fail_with_their_path() {
        let e = strict(
            json!({"type":"object","properties":{"settings":{"type":"object",
            "properties":{"extra":{"type":"object","additionalProperties":{"type":"string"}}}}}}),
        )
        .expect_err("map");
        assert_eq!(
            e,
            SchemaError::FreeFormObject {
                path: "settings.extra".into()
            }
        );
        assert!(e.to_string().contains("non_strict"), "{e}");
        let e = strict(json!({"type":"object","properties":{"v":{"type":"array","items":true}}}))
            .expect_err("value");
        assert_eq!(e, SchemaError::AnyValue { path: "v[]".into() });
    }

    #[test]
    fn one_of_all_of_and_flattened_alternatives_are_rewritten() {
        let s = strict(json!({"type":"object","properties":{"a":{"type":"string"}},
            "oneOf":[{"type":"object","properties":{"b":{"type":"integer"}},"required":["b"]},
                     {"type":"object","properties":{"c":{"type":"integer"}}}]}))
        .expect("strict");
        assert_eq!(
            s,
            json!({"anyOf":[
                {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},
                 "required":["a","b"],"additionalProperties":false},
                {"type":"object","properties":{"a":{"type":"string"},"c":{"type":"integer"}},
                 "required":["a","c"],"additionalProperties":false}]})
        );
        let s = strict(
            json!({"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},
            {"properties":{"b":{"type":"string"}}}]}),
        )
        .expect("strict");
        assert_eq!(s["required"], json!(["a", "b"]));
        assert!(strict(json!({"allOf":[{"type":"string"},{"type":"integer"}]})).is_err());
    }

    #[test]
    fn tuples_of_one_type_become_arrays_and_mixed_ones_fail() {
        let s = strict(
            json!({"type":"array","prefixItems":[{"type":"number"},{"type":"number"}],
            "minItems":2,"maxItems":2}),
        )
        .expect("strict");
        assert_eq!(
            s,
            json!({"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2})
        );
        let e = strict(json!({"type":"array","prefixItems":[{"type":"number"},{"type":"string"}]}))
            .expect_err("mixed");
        assert!(
            matches!(e, SchemaError::Unsupported { ref keyword, .. } if keyword == "prefixItems")
        );
    }

    #[test]
    fn schemas_that_grow_without_bound_fail() {
        // Each definition uses the next one twice with a description: inlining
        // doubles at every level.
        let mut defs = serde_json::Map::new();
        for i in 0..40 {
            let next = format!("#/$defs/D{}", i + 1);
            defs.insert(
                format!("D{i}"),
                json!({"type":"object","properties":{
                    "a":{"$ref": next, "description":"a"},
                    "b":{"$ref": next, "description":"b"}}}),
            );
        }
        defs.insert("D40".into(), json!({"type":"string"}));
        let schema = json!({"type":"object","properties":{"root":{"$ref":"#/$defs/D0","description":"r"}},
            "$defs": defs});
        let e = strict(schema).expect_err("too large");
        assert!(matches!(e, SchemaError::Unsupported { .. }), "{e}");
    }

    #[test]
    fn unknown_keywords_and_dangling_refs_fail() {
        assert!(matches!(
            strict(json!({"type":"string","not":{"const":"a"}})),
            Err(SchemaError::Unsupported { ref keyword, .. }) if keyword == "not"
        ));
        assert!(matches!(
            strict(json!({"$ref":"#/$defs/Nope"})),
            Err(SchemaError::UnresolvedRef { .. })
        ));
        let s = strict(json!({"type":"integer","format":"uint8","minimum":0})).expect("strict");
        assert_eq!(s, json!({"type":"integer","minimum":0}));
        let s = strict(json!({"type":"string","minLength":1,"maxLength":1})).expect("strict");
        assert_eq!(s, json!({"type":"string","pattern":"^[\\s\\S]{1,1}$"}));
    }
}
