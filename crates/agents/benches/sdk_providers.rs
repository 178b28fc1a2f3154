//! M2 and M3 for the native Anthropic and Gemini providers, measured as the
//! OpenAI rows are: a run through the provider against the testkit mock
//! (`/v1/messages`, `/v1beta/models/{model}:generateContent`), alternated
//! with raw POSTs of the same request bodies to the same endpoints, the
//! overhead taken per round.
//!
//! The mock runs with `without_python_validation()`: it checks Anthropic and
//! Gemini bodies with the official Python SDKs in another process, a pipe
//! round trip per request that both the SDK and the raw POSTs would pay and
//! whose noise would swamp the figure. The checks made in Rust (Anthropic's
//! headers, Gemini's thought-signature rule) stay on. The providers' tests
//! run with full validation; bodies here are the ones those tests accept.

use super::*;
use agents::anthropic::AnthropicProvider;
use agents::gemini::GeminiProvider;
use agents::ModelProvider;

const ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";
const GEMINI_MODEL: &str = "gemini-2.5-flash";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Anthropic,
    Gemini,
}

struct ProviderBench {
    kind: Kind,
    server: MockServer,
    http: reqwest::Client,
    provider: Arc<dyn ModelProvider>,
}

impl ProviderBench {
    async fn new(kind: Kind) -> Self {
        let server = MockServer::builder()
            .without_python_validation()
            .start()
            .await;
        let provider: Arc<dyn ModelProvider> = match kind {
            Kind::Anthropic => Arc::new(
                AnthropicProvider::builder()
                    .ignore_env()
                    .api_key("sk-ant-bench")
                    .base_url(server.base_url())
                    .build(),
            ),
            Kind::Gemini => Arc::new(
                GeminiProvider::builder()
                    .ignore_env()
                    .api_key("gm-bench")
                    .base_url(server.base_url().replace("/v1", "/v1beta"))
                    .build(),
            ),
        };
        ProviderBench {
            kind,
            server,
            http: reqwest::Client::new(),
            provider,
        }
    }

    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Anthropic => "Anthropic",
            Kind::Gemini => "Gemini",
        }
    }

    fn model(&self) -> &'static str {
        match self.kind {
            Kind::Anthropic => ANTHROPIC_MODEL,
            Kind::Gemini => GEMINI_MODEL,
        }
    }

    fn options(&self) -> RunOptions {
        RunOptions::default().run_config(RunConfig {
            model_provider: Some(self.provider.clone()),
            ..Default::default()
        })
    }

    /// The same request the provider sends: endpoint, auth and version
    /// headers, body bytes.
    async fn raw_post(&self, body: &[u8]) -> Duration {
        let start = Instant::now();
        let request = match self.kind {
            Kind::Anthropic => self
                .http
                .post(format!("{}/messages", self.server.base_url()))
                .header("x-api-key", "sk-ant-bench")
                .header("anthropic-version", "2023-06-01"),
            Kind::Gemini => self
                .http
                .post(format!(
                    "http://{}/v1beta/models/{GEMINI_MODEL}:generateContent",
                    self.server.addr()
                ))
                .header("x-goog-api-key", "gm-bench"),
        };
        let response = request
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("raw post");
        assert_eq!(response.status(), 200, "the raw request is accepted");
        let bytes = response.bytes().await.expect("raw body");
        assert!(!bytes.is_empty());
        start.elapsed()
    }

    /// The bodies of the last `n` captured requests, as sent.
    fn last_bodies(&self, n: usize) -> Vec<Vec<u8>> {
        let requests = self.server.requests();
        requests[requests.len() - n..]
            .iter()
            .map(|r| {
                assert!(!r.is_stream(), "M2/M3 are non-streaming");
                serde_json::to_vec(&r.body).expect("body serializes")
            })
            .collect()
    }
}

async fn m2(b: &ProviderBench, cfg: &Config, id: &'static str) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Answer.")
        .model(b.model())
        .build();
    b.server.set_default(Reply::text("ok"));
    for _ in 0..cfg.warmup {
        Runner::run(&agent, "hi", b.options()).await.expect("run");
    }
    let body = b.last_bodies(1).remove(0);
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            raw.push(b.raw_post(&body).await);
            let start = Instant::now();
            let r = Runner::run(&agent, "hi", b.options()).await.expect("run");
            sdk.push(start.elapsed());
            assert_eq!(r.final_output_text(), "ok");
        }
        p.add_round(&sdk, &raw);
    }
    b.server.clear_default();
    b.server.clear_requests();
    let result = at_most(&p.over, 70.0);
    p.row(
        id,
        format!(
            "{}: single turn, non-streaming: run() vs raw POST",
            b.name()
        ),
        "≤ 70 µs",
        result,
    )
}

async fn m3(b: &ProviderBench, cfg: &Config, id: &'static str) -> Row {
    let agent: Agent = Agent::builder("bench")
        .instructions("Use the tool.")
        .model(b.model())
        .tool(noop_tool())
        .build();
    let script = || {
        b.server.push(Reply::function_call("call_1", "noop", "{}"));
        b.server.push(Reply::text("ok"));
    };
    for _ in 0..cfg.warmup {
        script();
        Runner::run(&agent, "go", b.options()).await.expect("run");
    }
    let bodies = b.last_bodies(2);
    let mut p = Paired::default();
    for _ in 0..cfg.rounds {
        let (mut sdk, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..cfg.runs {
            script();
            raw.push(b.raw_post(&bodies[0]).await + b.raw_post(&bodies[1]).await);
            script();
            let start = Instant::now();
            let r = Runner::run(&agent, "go", b.options()).await.expect("run");
            sdk.push(start.elapsed());
            assert_eq!(r.usage.requests, 2);
            assert_eq!(r.final_output_text(), "ok");
        }
        p.add_round(&sdk, &raw);
    }
    b.server.clear_requests();
    let result = at_most(&p.over, 150.0);
    p.row(
        id,
        format!(
            "{}: tool loop: 2 model calls + 1 trivial tool vs 2 raw POSTs",
            b.name()
        ),
        "≤ 150 µs",
        result,
    )
}

/// The rows selected by `cfg` (`M2-anthropic`, `M3-anthropic`, `M2-gemini`,
/// `M3-gemini`).
pub(crate) async fn run(cfg: &Config) -> Vec<Row> {
    let mut rows = Vec::new();
    for (kind, m2_id, m3_id) in [
        (Kind::Anthropic, "M2-anthropic", "M3-anthropic"),
        (Kind::Gemini, "M2-gemini", "M3-gemini"),
    ] {
        if !cfg.wants(m2_id) && !cfg.wants(m3_id) {
            continue;
        }
        let b = ProviderBench::new(kind).await;
        if cfg.wants(m2_id) {
            rows.push(m2(&b, cfg, m2_id).await);
        }
        if cfg.wants(m3_id) {
            rows.push(m3(&b, cfg, m3_id).await);
        }
        b.server.assert_ok();
    }
    rows
}
