//! Ordinary Rust types through the SDK's strict schemas, checked against OpenAI's strict-mode
//! rules (the testkit's checker) and against the values they describe.
//!
//! Each case gives a type and a value of it. Through both a function tool's parameters (the type
//! as the documented field of an arguments struct, and as the arguments themselves when it is a
//! struct) and an output type, the strict schema must either pass the strict-mode checker, accept
//! the value's JSON (`jsonschema`) and deserialize it back into the same value — or fail at
//! construction with a clear error that names the field and the non-strict option, in which case
//! the non-strict constructors must succeed and send schemars' schema untouched.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;

use agents_core::output::{FinalOutput, OutputType};
use agents_core::schema::SchemaError;
use agents_core::tool::{
    raw_parameters_schema, try_parameters_schema, FunctionTool, Tool, ToolContext,
};
use agents_testkit::strict::check_strict_schema;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a case expects.
#[derive(Debug)]
enum Expect {
    /// A strict schema that passes the checker and accepts the value.
    Strict,
    /// Construction fails; the error's path ends with this field path.
    Fails(&'static str),
}

/// The arguments struct through which every type goes into a tool.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Args<T> {
    /// The value under test, behind a documented field.
    value: T,
}

/// Validates `instance` against `schema` with a JSON Schema 2020-12 validator.
fn assert_valid(what: &str, schema: &Value, instance: &Value) {
    let validator = jsonschema::draft202012::options()
        .build(schema)
        .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}\n{schema}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {instance} does not match the schema {schema}: {errors:?}"
    );
}

fn assert_strict(what: &str, schema: &Value) {
    if let Err(v) = check_strict_schema(schema) {
        panic!("{what}: the strict schema breaks a rule: {v}\n{schema}");
    }
}

fn assert_clear(what: &str, error: &SchemaError, field: &str) {
    assert!(
        error.path().ends_with(field),
        "{what}: the error should name `{field}`, names `{}`: {error}",
        error.path()
    );
    let message = error.to_string();
    assert!(message.contains(field), "{what}: {message}");
    assert!(message.contains("non_strict"), "{what}: {message}");
}

/// The one check of this file; see the module docs.
fn check<T>(name: &str, value: T, expect: Expect)
where
    T: JsonSchema + Serialize + DeserializeOwned + PartialEq + Debug + Send + 'static,
{
    let json = serde_json::to_value(&value).expect("the value serializes");
    let args = Args { value };
    let args_json = serde_json::to_value(&args).expect("the arguments serialize");
    let tool = FunctionTool::<(), Args<T>>::try_new(name, "A tool.", |_ctx: ToolContext, _a| {
        std::future::ready(Ok::<_, String>("done"))
    });
    let output = OutputType::try_of::<T>();
    let direct = try_parameters_schema::<T>();
    match expect {
        Expect::Strict => {
            // Tool parameters, with the type behind a documented field.
            let tool = tool.unwrap_or_else(|e| panic!("{name}: tool: {e}"));
            assert!(tool.strict());
            let parameters = tool.parameters();
            assert_strict(&format!("{name} (tool)"), parameters);
            assert_valid(&format!("{name} (tool)"), parameters, &args_json);
            let back: Args<T> = serde_json::from_value(args_json.clone())
                .unwrap_or_else(|e| panic!("{name}: arguments do not deserialize back: {e}"));
            assert_eq!(back, args, "{name}: arguments round trip");

            // The type itself as the arguments, when strict mode allows it at the root.
            match direct {
                Ok(parameters) => {
                    assert_strict(&format!("{name} (direct tool)"), &parameters);
                    assert_valid(&format!("{name} (direct tool)"), &parameters, &json);
                }
                Err(SchemaError::RootNotObject { .. }) => {}
                Err(e) => panic!("{name}: direct tool: {e}"),
            }

            // Output type.
            let output = output.unwrap_or_else(|e| panic!("{name}: output: {e}"));
            let schema = &output.schema().schema;
            assert!(output.schema().strict);
            assert_strict(&format!("{name} (output)"), schema);
            let sent = if output.is_wrapped() {
                json!({ "response": json })
            } else {
                json.clone()
            };
            assert_valid(&format!("{name} (output)"), schema, &sent);
            let parsed = output
                .parse(&sent.to_string())
                .unwrap_or_else(|e| panic!("{name}: output does not parse: {e}"));
            let back: T = FinalOutput::Json(parsed)
                .parse()
                .unwrap_or_else(|e| panic!("{name}: output does not deserialize back: {e}"));
            assert_eq!(back, args.value, "{name}: output round trip");
        }
        Expect::Fails(field) => {
            let error = tool.expect_err(&format!("{name}: a strict tool must fail"));
            assert_clear(&format!("{name} (tool)"), &error, &format!("value.{field}"));
            let error = output.expect_err(&format!("{name}: a strict output must fail"));
            assert_clear(&format!("{name} (output)"), &error, field);
            assert!(direct.is_err(), "{name}: direct tool must fail");

            // The escape hatch: non-strict, schemars' schema untouched, never failing.
            let tool = FunctionTool::<(), Args<T>>::new_non_strict(
                name,
                "A tool.",
                |_ctx: ToolContext, _a| std::future::ready(Ok::<_, String>("done")),
            );
            assert!(!tool.strict());
            assert_eq!(tool.parameters(), &raw_parameters_schema::<Args<T>>());
            assert_valid(
                &format!("{name} (non-strict tool)"),
                tool.parameters(),
                &args_json,
            );
            let output = OutputType::of_non_strict::<T>();
            assert!(!output.schema().strict);
            let sent = if output.is_wrapped() {
                json!({ "response": json })
            } else {
                json.clone()
            };
            assert_valid(
                &format!("{name} (non-strict output)"),
                &output.schema().schema,
                &sent,
            );
        }
    }
}

// ----- The types -----------------------------------------------------------------------------

/// A documented plain struct.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Plain {
    /// The name.
    name: String,
    count: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Numbers {
    a: u8,
    b: u16,
    c: u32,
    d: u64,
    e: i8,
    f: i32,
    g: f32,
    h: f64,
    i: bool,
    j: usize,
}

/// A point.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Point {
    /// Horizontal.
    x: f64,
    /// Vertical.
    y: f64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithOptions {
    /// An optional string.
    note: Option<String>,
    /// An optional struct.
    at: Option<Point>,
    maybe_list: Option<Vec<Option<i32>>>,
}

/// A line of two documented points.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Line {
    /// Where it starts.
    from: Point,
    /// Where it ends.
    to: Point,
}

/// Three levels of documented nesting.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Drawing {
    /// The main line.
    main: Line,
    /// More lines.
    lines: Vec<Line>,
    /// A boxed point.
    origin: Box<Point>,
}

/// A color.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Color {
    /// Like blood.
    Red,
    Green,
    /// Like the sky.
    Blue,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Paint {
    /// The color, documented (a `$ref` with a description).
    color: Color,
    /// An optional, documented color.
    accent: Option<Color>,
}

/// Every kind of variant, externally tagged.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Shape {
    /// Nothing.
    Empty,
    /// A tuple variant.
    Segment(f64, f64),
    /// A mixed tuple variant... of one type.
    Pair(u32, u32),
    /// A struct variant.
    Circle {
        /// The radius.
        radius: f64,
        /// The optional center.
        center: Option<Point>,
    },
    /// A newtype variant of a struct.
    At(Point),
    /// A newtype variant of an enum.
    Colored(Color),
}

/// Internally tagged.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Event {
    /// A unit variant.
    Started,
    /// A struct variant.
    Moved {
        /// Where to.
        to: Point,
    },
    /// A newtype variant of a documented struct.
    Drawn(Line),
}

/// Adjacently tagged.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", content = "c")]
enum Message {
    Ping,
    Text(String),
    Move { dx: i32, dy: i32 },
}

/// Untagged.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum Loose {
    Number(i64),
    Word(String),
    Place(Point),
}

/// An enum of enums.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Nested {
    /// An inner enum.
    Inner(Shape),
    Many(Vec<Color>),
}

/// A tree (recursion through `Vec<Self>`).
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Tree {
    /// The label.
    label: String,
    /// The children, documented.
    children: Vec<Tree>,
}

/// A linked list (recursion through `Option<Box<Self>>`).
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct List {
    value: i32,
    /// The rest, documented.
    next: Option<Box<List>>,
}

/// A recursive enum.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Expr {
    /// A number.
    Num(i64),
    /// A sum of expressions.
    Sum(Vec<Expr>),
    /// A negation.
    Neg(Box<Expr>),
}

/// A struct holding recursive types by documented fields.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Forest {
    /// One tree.
    tree: Tree,
    /// One expression.
    expr: Expr,
}

/// Field names that are JSON Schema keywords.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Keywords {
    /// A field named `default`.
    default: String,
    /// A field named `properties`, itself an object.
    properties: Point,
    required: bool,
    #[serde(rename = "type")]
    kind: String,
    items: Vec<String>,
    #[serde(rename = "enum")]
    choices: Vec<Color>,
    /// A field named `description`.
    description: String,
    #[serde(rename = "$ref")]
    reference: String,
    #[serde(rename = "$defs")]
    defs: Option<String>,
    #[serde(rename = "additionalProperties")]
    additional: u8,
    #[serde(rename = "anyOf")]
    any_of: Vec<i32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Renamed {
    first_name: String,
    #[serde(rename = "years")]
    age_in_years: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Flattened {
    id: String,
    /// Flattened fields.
    #[serde(flatten)]
    point: Point,
}

/// A flattened enum: the struct's schema becomes alternatives.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct FlatEnum {
    id: String,
    #[serde(flatten)]
    shape: FlatShape,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
enum FlatShape {
    Square { side: f64 },
    Disk { radius: f64 },
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Defaults {
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    tags: Vec<String>,
    /// Optional: the model sends `null`.
    #[serde(default)]
    label: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Misc {
    letter: char,
    unique: HashSet<String>,
    grid: Vec<Vec<i32>>,
    pair: (f64, f64),
    nothing: (),
    empty: Empty,
    meters: Meters,
    unit: UnitStruct,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Empty {}

/// A newtype.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Meters(f64);

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct UnitStruct;

/// A tuple struct of one element type.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Vector(f64, f64, f64);

/// A generic page.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Page<T> {
    /// The items.
    items: Vec<T>,
    /// The next cursor.
    next: Option<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Settings {
    name: String,
    extra: HashMap<String, u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Config {
    /// Documented settings.
    settings: Settings,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithBTree {
    index: BTreeMap<String, Point>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithValue {
    payload: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithJsonMap {
    meta: serde_json::Map<String, Value>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct WithMixedTuple {
    entry: (u8, String),
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct MapsInList {
    rows: Vec<HashMap<String, String>>,
}

// ----- The cases -----------------------------------------------------------------------------

fn point(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn line() -> Line {
    Line {
        from: point(0.0, 0.0),
        to: point(1.0, 2.5),
    }
}

#[test]
fn structs() {
    check(
        "plain",
        Plain {
            name: "a".into(),
            count: -3,
        },
        Expect::Strict,
    );
    check(
        "numbers",
        Numbers {
            a: 255,
            b: 1,
            c: 2,
            d: u64::from(u32::MAX) + 1,
            e: -8,
            f: -1,
            g: 1.5,
            h: 0.25,
            i: true,
            j: 7,
        },
        Expect::Strict,
    );
    check(
        "options: none",
        WithOptions {
            note: None,
            at: None,
            maybe_list: None,
        },
        Expect::Strict,
    );
    check(
        "options: some",
        WithOptions {
            note: Some("n".into()),
            at: Some(point(1.0, 1.0)),
            maybe_list: Some(vec![Some(1), None]),
        },
        Expect::Strict,
    );
    check("documented struct fields", line(), Expect::Strict);
    check(
        "three levels",
        Drawing {
            main: line(),
            lines: vec![line(), line()],
            origin: Box::new(point(3.0, 4.0)),
        },
        Expect::Strict,
    );
    check(
        "generic",
        Page {
            items: vec![line()],
            next: Some("c".into()),
        },
        Expect::Strict,
    );
    check(
        "renamed",
        Renamed {
            first_name: "Ada".into(),
            age_in_years: 36,
        },
        Expect::Strict,
    );
    check(
        "flattened struct",
        Flattened {
            id: "p".into(),
            point: point(1.0, 2.0),
        },
        Expect::Strict,
    );
    check(
        "flattened enum",
        FlatEnum {
            id: "s".into(),
            shape: FlatShape::Disk { radius: 2.0 },
        },
        Expect::Strict,
    );
    check(
        "serde defaults",
        Defaults {
            retries: 3,
            tags: vec!["t".into()],
            label: None,
        },
        Expect::Strict,
    );
    check(
        "misc",
        Misc {
            letter: 'é',
            unique: ["a".to_owned(), "b".to_owned()].into_iter().collect(),
            grid: vec![vec![1, 2], vec![]],
            pair: (1.0, -1.0),
            nothing: (),
            empty: Empty {},
            meters: Meters(3.5),
            unit: UnitStruct,
        },
        Expect::Strict,
    );
    check("tuple struct", Vector(1.0, 2.0, 3.0), Expect::Strict);
    check("newtype struct", Meters(2.0), Expect::Strict);
    check("empty struct", Empty {}, Expect::Strict);
}

#[test]
fn keyword_field_names() {
    check(
        "keywords",
        Keywords {
            default: "d".into(),
            properties: point(0.5, 0.5),
            required: false,
            kind: "k".into(),
            items: vec!["i".into()],
            choices: vec![Color::Green],
            description: "desc".into(),
            reference: "#/nowhere".into(),
            defs: None,
            additional: 1,
            any_of: vec![1, 2],
        },
        Expect::Strict,
    );
}

#[test]
fn enums() {
    check("unit enum", Color::Blue, Expect::Strict);
    check(
        "documented enum fields",
        Paint {
            color: Color::Red,
            accent: Some(Color::Green),
        },
        Expect::Strict,
    );
    check("unit variant", Shape::Empty, Expect::Strict);
    check("tuple variant", Shape::Segment(0.0, 1.0), Expect::Strict);
    check("tuple variant of u32", Shape::Pair(1, 2), Expect::Strict);
    check(
        "struct variant",
        Shape::Circle {
            radius: 1.0,
            center: Some(point(0.0, 0.0)),
        },
        Expect::Strict,
    );
    check(
        "newtype variant",
        Shape::At(point(2.0, 2.0)),
        Expect::Strict,
    );
    check(
        "newtype variant of an enum",
        Shape::Colored(Color::Blue),
        Expect::Strict,
    );
    check("internally tagged unit", Event::Started, Expect::Strict);
    check(
        "internally tagged struct",
        Event::Moved {
            to: point(1.0, 1.0),
        },
        Expect::Strict,
    );
    check(
        "internally tagged newtype",
        Event::Drawn(line()),
        Expect::Strict,
    );
    check("adjacently tagged unit", Message::Ping, Expect::Strict);
    check(
        "adjacently tagged newtype",
        Message::Text("hi".into()),
        Expect::Strict,
    );
    check(
        "adjacently tagged struct",
        Message::Move { dx: 1, dy: -1 },
        Expect::Strict,
    );
    check("untagged number", Loose::Number(4), Expect::Strict);
    check(
        "untagged struct",
        Loose::Place(point(1.0, 0.0)),
        Expect::Strict,
    );
    check(
        "enum of enums",
        Nested::Inner(Shape::Circle {
            radius: 2.0,
            center: None,
        }),
        Expect::Strict,
    );
    check(
        "enum of lists",
        Nested::Many(vec![Color::Red, Color::Blue]),
        Expect::Strict,
    );
}

#[test]
fn recursive_types() {
    let tree = Tree {
        label: "root".into(),
        children: vec![Tree {
            label: "leaf".into(),
            children: vec![],
        }],
    };
    check("tree", tree, Expect::Strict);
    let list = List {
        value: 1,
        next: Some(Box::new(List {
            value: 2,
            next: None,
        })),
    };
    check("linked list", list, Expect::Strict);
    let expr = Expr::Sum(vec![Expr::Num(1), Expr::Neg(Box::new(Expr::Num(2)))]);
    check("recursive enum", expr, Expect::Strict);
    check(
        "recursive fields",
        Forest {
            tree: Tree {
                label: "t".into(),
                children: vec![],
            },
            expr: Expr::Neg(Box::new(Expr::Num(0))),
        },
        Expect::Strict,
    );
}

#[test]
fn std_types() {
    check("string", "text".to_owned(), Expect::Strict);
    check("integer", 42_i64, Expect::Strict);
    check("bool", true, Expect::Strict);
    check("vector", vec![point(1.0, 2.0)], Expect::Strict);
    check("option: some", Some(line()), Expect::Strict);
    check("option: none", None::<Line>, Expect::Strict);
    check("tuple of one type", (1_u32, 2_u32), Expect::Strict);
    check("set", HashSet::from([3_i32]), Expect::Strict);
}

#[test]
fn free_form_types_fail_clearly() {
    check(
        "map in a nested struct",
        Config {
            settings: Settings {
                name: "s".into(),
                extra: HashMap::from([("k".to_owned(), 1)]),
            },
        },
        Expect::Fails("settings.extra"),
    );
    check(
        "btree map",
        WithBTree {
            index: BTreeMap::from([("a".to_owned(), point(0.0, 0.0))]),
        },
        Expect::Fails("index"),
    );
    check(
        "serde_json::Value",
        WithValue {
            payload: json!({"any": [1, "thing"]}),
        },
        Expect::Fails("payload"),
    );
    check(
        "serde_json::Map",
        WithJsonMap {
            meta: serde_json::Map::new(),
        },
        Expect::Fails("meta"),
    );
    check(
        "maps in a list",
        MapsInList {
            rows: vec![HashMap::new()],
        },
        Expect::Fails("rows[]"),
    );
    check(
        "tuple of mixed types",
        WithMixedTuple {
            entry: (1, "one".into()),
        },
        Expect::Fails("entry"),
    );
}

#[test]
fn the_infallible_constructors_panic_with_the_same_message() {
    let panic = std::panic::catch_unwind(|| {
        FunctionTool::<(), Config>::new("configure", "d", |_ctx: ToolContext, _c| {
            std::future::ready(Ok::<_, String>("ok"))
        })
    })
    .expect_err("a map type has no strict schema");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("configure"), "{message}");
    assert!(message.contains("settings.extra"), "{message}");
    assert!(message.contains("new_non_strict"), "{message}");

    let panic = std::panic::catch_unwind(OutputType::of::<WithValue>)
        .expect_err("serde_json::Value has no strict schema");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("payload"), "{message}");
    assert!(message.contains("of_non_strict"), "{message}");
}

#[test]
fn non_strict_after_new_sends_the_generated_schema() {
    let tool = FunctionTool::<(), Line>::new("draw", "d", |_ctx: ToolContext, _l| {
        std::future::ready(Ok::<_, String>("ok"))
    });
    assert_ne!(tool.parameters(), &raw_parameters_schema::<Line>());
    let tool = tool.non_strict();
    assert!(!tool.strict());
    assert_eq!(tool.parameters(), &raw_parameters_schema::<Line>());
    // A hand-written schema is kept.
    let custom = json!({"type": "object", "properties": {}});
    let tool = FunctionTool::<(), Line>::new("draw", "d", |_ctx: ToolContext, _l| {
        std::future::ready(Ok::<_, String>("ok"))
    })
    .with_parameters(custom.clone())
    .non_strict();
    assert_eq!(tool.parameters(), &custom);
}
