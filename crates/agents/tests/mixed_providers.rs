//! One run that goes OpenAI → Anthropic → Gemini through handoffs, with a session, against
//! the testkit's three APIs (one server, one reply queue; every body validated: OpenAI against
//! the OpenAPI spec, Anthropic and Gemini against their official Python SDK types). Each
//! provider is sent only what it accepts, call ids stay paired, an image crosses all three,
//! and the session written by the three continues on OpenAI.

use std::sync::Arc;

use agents::gemini::GeminiProvider;
use agents::openai::{MultiProvider, OpenAIProvider};
use agents::prelude::*;
use agents::{ContentPart, MemorySession, ModelProvider, Session};
use agents_model_anthropic::AnthropicProvider;
use agents_testkit::{MockServer, Reasoning, Reply};
use serde_json::Value;

const OPENAI_SECRET: &str = "gAAAA-openai-encrypted-reasoning";
const CLAUDE_SIGNATURE: &str = "EqQBCkYIBRgCIkClaudeSignature";
const GEMINI_SIGNATURE: &str = "gemini-thought";
/// A 1x1 PNG.
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct City {
    city: String,
}

fn provider(server: &MockServer) -> MultiProvider {
    let openai = OpenAIProvider::builder()
        .ignore_env()
        .base_url(server.base_url())
        .api_key("sk-test")
        .build();
    let anthropic = AnthropicProvider::builder()
        .api_key("sk-ant-test")
        .base_url(server.base_url().trim_end_matches("/v1"))
        .ignore_env()
        .build();
    let gemini = GeminiProvider::builder()
        .api_key("gm-test")
        .base_url(server.base_url().replace("/v1", "/v1beta"))
        .ignore_env()
        .build();
    MultiProvider::new(openai)
        .with_provider("anthropic", Arc::new(anthropic))
        .with_provider("gemini", Arc::new(gemini))
}

fn agents() -> Agent {
    let weather = FunctionTool::new(
        "get_weather",
        "Weather of a city.",
        |_ctx: ToolContext, a: City| async move { Ok::<_, String>(format!("22C in {}", a.city)) },
    );
    let gemini = Agent::builder("Gemini")
        .model("gemini/gemini-2.5-flash")
        .instructions("Answer with the tool.")
        .tool(weather)
        .build();
    // Claude thinks: right after OpenAI's handoff call it must answer without thinking.
    let mut thinking = agents::ModelSettings::new();
    thinking.reasoning = Some(agents::ReasoningSettings::effort("low"));
    let claude = Agent::builder("Claude")
        .model("anthropic/claude-sonnet-4-5")
        .model_settings(thinking)
        .instructions("Hand weather questions to Gemini.")
        .handoff_to(&gemini)
        .build();
    Agent::builder("Triage")
        .model("gpt-4.1")
        .instructions("Hand off to Claude.")
        .handoff_to(&claude)
        .build()
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

#[test]
fn routing_strips_the_prefix() {
    let server = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(MockServer::start());
    let p = provider(&server);
    let gemini = format!(
        "{:?}",
        p.get_model(Some("gemini/gemini-2.5-pro")).expect("gemini")
    );
    assert!(
        gemini.contains("GeminiModel") && gemini.contains("\"gemini-2.5-pro\""),
        "{gemini}"
    );
    let claude = format!(
        "{:?}",
        p.get_model(Some("anthropic/claude-opus-4-1"))
            .expect("anthropic")
    );
    assert!(
        claude.contains("claude-opus-4-1") && !claude.contains("anthropic/"),
        "{claude}"
    );
    assert!(format!("{:?}", p.get_model(Some("gpt-4.1")).expect("openai")).contains("gpt-4.1"));
    server.assert_ok();
}

#[tokio::test]
async fn openai_to_anthropic_to_gemini_with_a_session_then_back_to_openai() {
    let server = MockServer::start().await;
    server.push_all([
        // OpenAI: encrypted reasoning, then the handoff to Claude.
        Reply::reasoning(
            Reasoning::new()
                .summary("Claude should take it.")
                .encrypted_content(OPENAI_SECRET),
        )
        .with_function_call("call_oa_1", "transfer_to_claude", "{}"),
        // Anthropic: signed thinking, then the handoff to Gemini.
        Reply::reasoning(
            Reasoning::new()
                .summary("Gemini has the tool.")
                .encrypted_content(CLAUDE_SIGNATURE),
        )
        .with_function_call("toolu_01", "transfer_to_gemini", "{}"),
        // Gemini: signed thinking on a tool call (no call id), then the answer.
        Reply::reasoning(Reasoning::new().encrypted_content(GEMINI_SIGNATURE)).with_function_call(
            "ignored",
            "get_weather",
            r#"{"city":"Oslo"}"#,
        ),
        Reply::text("It is 22C in Oslo."),
    ]);
    let session: Arc<dyn Session> = Arc::new(MemorySession::new("mixed"));
    let options = || {
        RunOptions::default()
            .model_provider(Arc::new(provider(&server)))
            .session(session.clone())
    };
    let input = vec![Item::Message(agents::Message::new(
        agents::Role::User,
        agents::Content::Parts(vec![
            ContentPart::input_text("What is the weather where this photo was taken? (Oslo)"),
            ContentPart::input_image(Some(PNG.to_owned()), None, Some("auto".to_owned())),
        ]),
    ))];
    let result = agents::Runner::run(&agents(), input, options())
        .await
        .expect("mixed run");
    assert_eq!(result.final_output_text(), "It is 22C in Oslo.");
    assert_eq!(result.last_agent.name(), "Gemini");

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].path, "/v1/responses");
    assert_eq!(requests[1].path, "/v1/messages");
    assert_eq!(
        requests[1].body["model"], "claude-sonnet-4-5",
        "prefix stripped"
    );
    assert_eq!(
        requests[2].path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );

    // Anthropic: no OpenAI reasoning, the OpenAI handoff as a tool_use/tool_result pair, the
    // image as an image block.
    let claude = text_of(&requests[1].body);
    assert!(
        !claude.contains(OPENAI_SECRET),
        "OpenAI reasoning sent to Anthropic: {claude}"
    );
    assert!(claude.contains("\"tool_use_id\":\"call_oa_1\""), "{claude}");
    // OpenAI's handoff turn has no thinking block: thinking is left out of this request (the
    // mock, like the service, refuses it otherwise).
    assert!(requests[1].body.get("thinking").is_none(), "{claude}");
    assert!(
        requests[1].is_valid(),
        "{:?}",
        requests[1].validation_errors
    );
    assert!(claude.contains("\"type\":\"image\""), "{claude}");

    // Gemini: neither foreign reasoning, the foreign calls with Gemini's skip signature,
    // the image as inline data, one response per call.
    let gemini = &requests[2].body;
    let g = text_of(gemini);
    assert!(
        !g.contains(OPENAI_SECRET) && !g.contains(CLAUDE_SIGNATURE),
        "{g}"
    );
    assert!(
        g.contains("\"inlineData\":{\"mimeType\":\"image/png\""),
        "{g}"
    );
    let contents = gemini["contents"].as_array().expect("contents");
    let calls: Vec<&Value> = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    assert_eq!(calls.len(), 2, "{g}");
    for call in &calls {
        assert_eq!(call["thoughtSignature"], "skip_thought_signature_validator");
    }

    // The Gemini tool turn: its own signature replayed on its call.
    let last = &requests[3].body;
    let replayed: Vec<&Value> = last["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .flat_map(|c| c["parts"].as_array().into_iter().flatten())
        .filter(|p| p["functionCall"]["name"] == "get_weather")
        .collect();
    assert_eq!(replayed[0]["thoughtSignature"], "Z2VtaW5pLXRob3VnaHQ=");

    // Call ids stay paired in the session, whoever made them.
    let stored = session.get_items(None).await.expect("items");
    let call_ids: Vec<&str> = stored
        .iter()
        .filter_map(Item::as_function_call)
        .map(|c| c.call_id.as_str())
        .collect();
    let output_ids: Vec<&str> = stored
        .iter()
        .filter_map(Item::as_function_call_output)
        .map(|o| o.call_id.as_str())
        .collect();
    assert_eq!(call_ids.len(), 3);
    assert_eq!(call_ids, output_ids);
    assert_eq!(&call_ids[..2], ["call_oa_1", "toolu_01"]);

    // The session, written by three providers, continues on OpenAI: the request is valid
    // Responses input (the server checks it against the OpenAPI spec), without Anthropic's or
    // Gemini's reasoning.
    server.push(Reply::text("Still 22C."));
    let triage = Agent::builder("Triage").model("gpt-4.1").build();
    let again = agents::Runner::run(&triage, "And now?", options())
        .await
        .expect("continued");
    assert_eq!(again.final_output_text(), "Still 22C.");
    let body = text_of(&server.requests()[4].body);
    assert!(
        !body.contains(CLAUDE_SIGNATURE) && !body.contains("Z2VtaW5pLXRob3VnaHQ="),
        "{body}"
    );
    assert!(
        body.contains(OPENAI_SECRET),
        "OpenAI's own reasoning is replayed to OpenAI"
    );
    server.assert_ok();
}
