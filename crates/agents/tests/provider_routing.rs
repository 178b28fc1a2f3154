//! The facade's default provider: `anthropic/...` (and `gemini/...`) names route, configured
//! from the environment, to the native providers with the prefix stripped; and every provider
//! constructor installs a rustls crypto provider itself, so that building one in a fresh
//! process never panics.
//!
//! Both tests run their body in a child process (this test binary run again with one test
//! selected): the environment and the process-wide TLS provider are per process.

use std::process::Command;

use agents::prelude::*;
use agents_testkit::{MockServer, Reply};

const CHILD_ENV: &str = "AGENTS_ROUTING_CHILD";

/// Runs this binary's test `name` alone in a child process with `env`, and asserts it passed.
fn run_child(name: &str, env: &[(&str, &str)]) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name);
    for var in [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_BASE_URL",
    ] {
        command.env_remove(var);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("spawn the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child `{name}` failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The child really ran the test (libtest prints `1 passed` for it).
    assert!(stdout.contains("1 passed"), "{stdout}");
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == name)
}

/// `agents::Runner` with no provider configured: `anthropic/claude-haiku-4-5` goes to the
/// Anthropic provider built from `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`, which sends
/// `claude-haiku-4-5` to `/v1/messages` (the mock validates the body with the official
/// `anthropic` package's `MessageCreateParams`).
#[tokio::test]
async fn anthropic_prefix_routes_to_the_anthropic_provider_from_env() {
    const NAME: &str = "anthropic_prefix_routes_to_the_anthropic_provider_from_env";
    if is_child(NAME) {
        let agent: Agent = Agent::builder("Claude")
            .instructions("Be brief.")
            .model("anthropic/claude-haiku-4-5")
            .build();
        let result = agents::Runner::run(&agent, "Hello?", RunOptions::default())
            .await
            .expect("run through the default provider");
        assert_eq!(result.final_output_text(), "Hello from Claude.");
        return;
    }
    let server = MockServer::start().await;
    server.push(Reply::text("Hello from Claude."));
    let base_url = server.base_url().trim_end_matches("/v1").to_owned();
    tokio::task::spawn_blocking(move || {
        run_child(
            NAME,
            &[
                ("ANTHROPIC_API_KEY", "sk-ant-from-env"),
                ("ANTHROPIC_BASE_URL", &base_url),
            ],
        )
    })
    .await
    .expect("child");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(
        requests[0].body["model"], "claude-haiku-4-5",
        "prefix stripped"
    );
    assert_eq!(requests[0].body["system"], "Be brief.");
    assert_eq!(
        requests[0].headers.get("x-api-key").map(String::as_str),
        Some("sk-ant-from-env")
    );
    assert!(requests[0].headers.contains_key("anthropic-version"));
    server.assert_ok();
}

/// In a process where no rustls crypto provider is installed, each provider's constructor
/// installs one (ring) before it builds its `reqwest::Client` (reqwest built without its own
/// provider panics otherwise), and a `reqwest::Client` built afterwards works too.
#[cfg(all(
    feature = "rustls",
    feature = "openai",
    feature = "gemini",
    feature = "anthropic"
))]
#[test]
fn every_provider_constructor_installs_a_tls_provider() {
    const NAME: &str = "every_provider_constructor_installs_a_tls_provider";
    if let Ok(mode) = std::env::var("AGENTS_TLS_CHILD") {
        if !is_child(NAME) {
            return;
        }
        assert!(
            rustls::crypto::CryptoProvider::get_default().is_none(),
            "a fresh process has no provider yet"
        );
        match mode.as_str() {
            "openai" => drop(agents::openai::OpenAIProvider::builder().build()),
            "gemini" => drop(agents::gemini::GeminiProvider::builder().build()),
            "anthropic" => drop(agents::anthropic::AnthropicProvider::builder().build()),
            "default" => drop(agents::multi_provider_from_env()),
            other => panic!("unknown mode {other}"),
        }
        assert!(
            rustls::crypto::CryptoProvider::get_default().is_some(),
            "{mode}: the constructor installed a provider"
        );
        reqwest::Client::builder()
            .build()
            .expect("a client of the caller's own");
        return;
    }
    for mode in ["openai", "gemini", "anthropic", "default"] {
        run_child(NAME, &[("AGENTS_TLS_CHILD", mode)]);
    }
}
