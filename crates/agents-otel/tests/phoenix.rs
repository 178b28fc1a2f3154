//! A real OTLP receiver: Arize Phoenix (PyPI `arize-phoenix`, installed by
//! `cargo xtask ci` into `target/phoenix-venv`), started here on 127.0.0.1
//! on free ports. A run with a tool call and a handoff is exported over
//! OTLP (HTTP/protobuf, and gRPC with the `grpc` feature), then read back
//! through Phoenix's REST API: span names, parent links and GenAI
//! attributes. Outside CI a missing Phoenix skips with a note; under
//! `CI=true` it fails.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agents_core::testing::{function_call_with_id, handoff_call, ScriptedModel};
use agents_core::{ModelResponse, RequestUsage};
use agents_otel::{OtelConfig, Protocol};
use agents_runner::{RunConfig, RunOptions, Runner};
use serde_json::{json, Value};

fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

fn phoenix_bin() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join("target/phoenix-venv/bin/phoenix");
    bin.exists().then_some(bin)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Phoenix server, killed on drop.
struct Phoenix {
    child: Child,
    http: u16,
    grpc: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Phoenix {
    fn start() -> Option<Phoenix> {
        // reqwest is built without a crypto provider of its own (feature `tls`): the test's
        // own clients need the process default that `OtelConfig::build` would install.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let Some(bin) = phoenix_bin() else {
            assert!(
                !running_in_ci(),
                "Phoenix is not installed in target/phoenix-venv (cargo xtask ci installs it)"
            );
            eprintln!("note: Phoenix is not installed (target/phoenix-venv); skipping");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let (http, grpc) = (free_port(), free_port());
        let child = Command::new(bin)
            .arg("serve")
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", http.to_string())
            .env("PHOENIX_GRPC_PORT", grpc.to_string())
            .env("PHOENIX_WORKING_DIR", dir.path())
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .env("DO_NOT_TRACK", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("phoenix serve starts");
        let phoenix = Phoenix {
            child,
            http,
            grpc,
            _dir: dir,
        };
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let up = client
                .get(format!("http://127.0.0.1:{http}/healthz"))
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if up {
                return Some(phoenix);
            }
            assert!(
                Instant::now() < deadline,
                "Phoenix did not start within 180 s"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// The spans of `project` in the Phoenix on port `http`, once at least `n`
/// arrived.
fn spans(http: u16, project: &str, n: usize) -> Vec<Value> {
    {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let resp = client
                .get(format!(
                    "http://127.0.0.1:{http}/v1/projects/{project}/spans?limit=100"
                ))
                .send()
                .expect("Phoenix answers");
            if resp.status().is_success() {
                let body: Value = resp.json().expect("JSON");
                let spans = body["data"].as_array().cloned().unwrap_or_default();
                if spans.len() >= n {
                    return spans;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Phoenix did not show {n} spans of `{project}` within 60 s"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn usage(i: u64, o: u64) -> RequestUsage {
    RequestUsage {
        input_tokens: i,
        output_tokens: o,
        total_tokens: i + o,
        ..Default::default()
    }
}

#[derive(Debug)]
struct Provider(Arc<ScriptedModel>);

impl agents_core::ModelProvider for Provider {
    fn get_model(
        &self,
        _name: Option<&str>,
    ) -> Result<Arc<dyn agents_core::Model>, agents_core::ModelError> {
        Ok(self.0.clone())
    }
}

/// Runs Triage (a tool call, then a handoff) and Billing, exported to
/// Phoenix's project `project` over `protocol`; returns the run's trace id.
async fn export_a_run(phoenix: &Phoenix, project: &str, protocol: Protocol) -> String {
    let endpoint = match protocol {
        Protocol::Grpc => format!("http://127.0.0.1:{}", phoenix.grpc),
        _ => format!("http://127.0.0.1:{}", phoenix.http),
    };
    let otel = OtelConfig::new()
        .endpoint(endpoint)
        .protocol(protocol)
        .service_name("agents-phoenix-test")
        .resource_attribute("openinference.project.name", project)
        .build()
        .expect("pipeline");
    let model = ScriptedModel::new();
    model.push_response(
        ModelResponse::new(vec![function_call_with_id(
            "call_1",
            "lookup",
            r#"{"id":7}"#,
        )])
        .with_usage(usage(100, 10))
        .with_response_id("resp_1"),
    );
    model.push_response(
        ModelResponse::new(vec![handoff_call("Billing")])
            .with_usage(usage(120, 5))
            .with_response_id("resp_2"),
    );
    model.push_response(
        ModelResponse::new(vec![agents_core::testing::text("refunded")])
            .with_usage(usage(80, 3))
            .with_response_id("resp_3"),
    );
    let triage = common::triage();
    let config = RunConfig {
        workflow_name: "refund".into(),
        group_id: Some("conv-42".into()),
        trace_processors: Some(vec![otel.processor()]),
        ..Default::default()
    };
    let options = RunOptions::default()
        .run_config(config)
        .model_provider(Arc::new(Provider(model)));
    let result = Runner::run(&triage, "refund order 7", options)
        .await
        .expect("run");
    assert_eq!(result.final_output_text(), "refunded");
    let trace_id = result.trace_id().expect("trace id").to_owned();
    tokio::task::spawn_blocking(move || otel.shutdown())
        .await
        .expect("shutdown");
    trace_id
}

fn check_spans(spans: &[Value], trace_id: &str) {
    // Phoenix shows OpenTelemetry ids as hex; the run's id is trace_<hex>.
    let hex = trace_id.strip_prefix("trace_").expect("generated id");
    let by_name: HashMap<&str, &Value> = spans
        .iter()
        .map(|s| (s["name"].as_str().expect("name"), s))
        .collect();
    let mut names: Vec<&str> = by_name.keys().copied().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chat gpt-test",
            "execute_tool lookup",
            "handoff Triage -> Billing",
            "invoke_agent Billing",
            "invoke_agent Triage",
        ],
        "{spans:#?}"
    );
    assert_eq!(
        spans.len(),
        7,
        "three chat spans and four others: {spans:#?}"
    );
    for s in spans {
        assert_eq!(s["context"]["trace_id"].as_str(), Some(hex), "{s:#}");
    }
    let id = |name: &str| {
        by_name[name]["context"]["span_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let parent = |s: &Value| s["parent_id"].as_str().map(str::to_owned);
    let triage = id("invoke_agent Triage");
    assert_eq!(parent(by_name["invoke_agent Triage"]), None);
    assert_eq!(parent(by_name["invoke_agent Billing"]), None);
    assert_eq!(parent(by_name["execute_tool lookup"]), Some(triage.clone()));
    assert_eq!(
        parent(by_name["handoff Triage -> Billing"]),
        Some(triage.clone())
    );
    let chats: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "chat gpt-test")
        .collect();
    assert_eq!(chats.len(), 3);
    let billing = id("invoke_agent Billing");
    let chat_parents: Vec<Option<String>> = chats.iter().map(|s| parent(s)).collect();
    assert_eq!(
        chat_parents
            .iter()
            .filter(|p| p.as_deref() == Some(&triage))
            .count(),
        2
    );
    assert_eq!(
        chat_parents
            .iter()
            .filter(|p| p.as_deref() == Some(&billing))
            .count(),
        1
    );

    // GenAI attributes, as Phoenix stores them (flat or nested keys).
    let attr = |s: &Value, key: &str| -> Value {
        let a = &s["attributes"];
        if let Some(v) = a.get(key) {
            return v.clone();
        }
        key.split('.')
            .fold(a.clone(), |v, k| v.get(k).cloned().unwrap_or(Value::Null))
    };
    let tool = by_name["execute_tool lookup"];
    assert_eq!(attr(tool, "gen_ai.operation.name"), json!("execute_tool"));
    assert_eq!(attr(tool, "gen_ai.tool.name"), json!("lookup"));
    assert_eq!(attr(tool, "gen_ai.tool.call.id"), json!("call_1"));
    // Content capture is off by default: no arguments or results.
    assert_eq!(attr(tool, "gen_ai.tool.call.arguments"), Value::Null);
    let first = chats
        .iter()
        .find(|s| attr(s, "gen_ai.response.id") == json!("resp_1"))
        .expect("the first chat span");
    assert_eq!(attr(first, "gen_ai.operation.name"), json!("chat"));
    assert_eq!(attr(first, "gen_ai.request.model"), json!("gpt-test"));
    // Triage's settings, 0.2 exactly (not the f32's 0.20000000298...).
    assert_eq!(attr(first, "gen_ai.request.temperature"), json!(0.2));
    assert_eq!(attr(first, "gen_ai.request.max_tokens"), json!(256));
    assert_eq!(attr(first, "gen_ai.usage.input_tokens"), json!(100));
    assert_eq!(attr(first, "gen_ai.usage.output_tokens"), json!(10));
    assert_eq!(attr(first, "gen_ai.input.messages"), Value::Null);
    let agent = by_name["invoke_agent Triage"];
    assert_eq!(attr(agent, "gen_ai.operation.name"), json!("invoke_agent"));
    assert_eq!(attr(agent, "gen_ai.agent.name"), json!("Triage"));
    assert_eq!(attr(agent, "gen_ai.conversation.id"), json!("conv-42"));
    assert_eq!(attr(agent, "agents.workflow.name"), json!("refund"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_exported_over_otlp_show_up_in_phoenix_with_genai_attributes() {
    let Some(phoenix) = tokio::task::spawn_blocking(Phoenix::start)
        .await
        .expect("start")
    else {
        return;
    };
    let trace_id = export_a_run(&phoenix, "agents-http", Protocol::HttpProtobuf).await;
    let http = phoenix.http;
    let found = tokio::task::spawn_blocking(move || spans(http, "agents-http", 7))
        .await
        .expect("spans");
    check_spans(&found, &trace_id);

    #[cfg(feature = "grpc")]
    {
        let trace_id = export_a_run(&phoenix, "agents-grpc", Protocol::Grpc).await;
        let found = tokio::task::spawn_blocking(move || spans(http, "agents-grpc", 7))
            .await
            .expect("spans");
        check_spans(&found, &trace_id);
    }
}
