//! The offline stand-in shared by the examples: when `OPENAI_API_KEY` is not
//! set, a scripted local OpenAI-compatible server (`agents-testkit` on
//! 127.0.0.1) plays the model. Each example's configuration is in its own
//! file; offline, only its base URL and key point here.

use agents_testkit::{MockServer, Reply};

/// `None` when `OPENAI_API_KEY` is set (the example uses that endpoint);
/// otherwise a local server replaying `script`, the replies the model would
/// give, in order. Says which it is.
#[allow(dead_code)] // the Anthropic and Gemini examples have their own keys
pub async fn offline_server(script: Vec<Reply>) -> Option<MockServer> {
    if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the endpoint from OPENAI_API_KEY / OPENAI_BASE_URL.");
        return None;
    }
    println!(
        "OPENAI_API_KEY is not set: running offline against a scripted local model \
         (agents-testkit on 127.0.0.1). Set OPENAI_API_KEY to use a real endpoint."
    );
    let server = MockServer::start().await;
    server.push_all(script);
    Some(server)
}

/// Prints a streamed run as it goes (thinking deltas as `[thinking]`, the
/// answer's text as it arrives, each tool call) and returns its result.
#[allow(dead_code)] // only the streaming examples use it
pub async fn print_streamed(
    mut run: agents::RunResultStreaming,
) -> Result<agents::RunResult, Box<dyn std::error::Error>> {
    use agents::prelude::*;
    use agents::{Item, ModelStreamEvent};
    use std::io::Write;

    while let Some(event) = run.next().await {
        match event {
            RunStreamEvent::RawModel(ModelStreamEvent::ReasoningDelta { delta, .. }) => {
                println!("[thinking] {delta}")
            }
            RunStreamEvent::RawModel(ModelStreamEvent::OutputTextDelta { delta, .. }) => {
                print!("{delta}");
                std::io::stdout().flush()?;
            }
            RunStreamEvent::RunItem { item, .. } => {
                if let Item::FunctionCall(call) = &item.item {
                    println!(
                        "[tool call] {}({}) id={}",
                        call.name, call.arguments, call.call_id
                    );
                }
            }
            _ => {}
        }
    }
    Ok(run.result().await?)
}
