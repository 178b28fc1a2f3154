//! Run with: cargo run --example shared_approvals
//!
//! Two worker processes share one Postgres database. Worker 1 runs the
//! agent; the model calls `delete_file`, which needs approval, so the run
//! pauses and worker 1 stores the paused run (a `RunState`) in Postgres and
//! exits. Worker 2 claims the stored run, approves the call and finishes the
//! run; the conversation lives in a Postgres session both workers use. A
//! second claim of the same run is refused with a conflict, so an approval
//! delivered twice resumes the run once.
//!
//! The database: `DATABASE_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`) if set, else a temporary
//! Postgres server this example starts on 127.0.0.1 from Debian's
//! `postgresql` binaries (as the `postgres` user when run as root) and stops
//! at the end.
//!
//! Offline by default (a scripted local OpenAI-compatible server); set
//! `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`, `OPENAI_MODEL`) to use
//! a real endpoint.

mod common;

use std::process::Command;
use std::sync::Arc;

use agents::openai::{OpenAIApi, OpenAIProvider};
use agents::prelude::*;
use agents::{Always, ModelProvider, RunStates};
use agents_session_postgres::PostgresStore;
use agents_testkit::servers::Postgres;
use agents_testkit::Reply;

/// Which worker this process is (unset: the coordinator).
const ROLE: &str = "SHARED_APPROVALS_ROLE";
/// The database both workers use.
const DATABASE: &str = "SHARED_APPROVALS_DATABASE_URL";
/// Offline: the local model server's base URL.
const MODEL_URL: &str = "SHARED_APPROVALS_MODEL_URL";

const RUN_ID: &str = "approval-run-1";
const CONVERSATION: &str = "conversation-1";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct FilePath {
    /// The file's path.
    path: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match std::env::var(ROLE).as_deref() {
        Ok("pause") => worker_pause().await,
        Ok("approve") => worker_approve().await,
        _ => coordinator().await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The agent, the same in every worker (a blueprint: only its name and
/// tools must match the stored state).
fn agent() -> Agent {
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-4.1-mini".to_owned());
    // Simulated: nothing is deleted for real.
    let delete_file = FunctionTool::new(
        "delete_file",
        "Deletes a file.",
        |_ctx: ToolContext, args: FilePath| async move {
            Ok::<_, String>(format!("Deleted {}.", args.path))
        },
    )
    .needs_approval(true);
    Agent::builder("File assistant")
        .instructions("You manage the user's files. Deleting a file needs approval.")
        .model(model.as_str())
        .tool(delete_file)
        .build()
}

/// The configuration: the OpenAI Responses API with the key and base URL
/// from the environment. Offline, only the base URL and the key point at
/// the coordinator's local server.
fn options(store: &PostgresStore) -> RunOptions {
    let mut provider = OpenAIProvider::builder().api(OpenAIApi::Responses);
    if let Ok(url) = std::env::var(MODEL_URL) {
        provider = provider.base_url(url).api_key("offline");
    }
    let provider: Arc<dyn ModelProvider> = Arc::new(provider.build());
    RunOptions::default()
        .model_provider(provider)
        .session(Arc::new(store.session(CONVERSATION)))
}

fn store() -> Result<PostgresStore, Box<dyn std::error::Error>> {
    let url = std::env::var(DATABASE)?;
    Ok(PostgresStore::connect(&url)?)
}

/// Worker 1: runs until the approval pause, stores the run, exits.
async fn worker_pause() -> Result<(), Box<dyn std::error::Error>> {
    let store = store()?;
    let agent = agent();
    let request = "Please delete drafts/old-notes.txt.";
    println!("[worker 1] User: {request}");
    let result = Runner::run(&agent, request, options(&store)).await?;
    for item in result.interruptions() {
        println!(
            "[worker 1] paused: {}({}) needs approval",
            item.tool_name, item.arguments
        );
    }
    let states = RunStates::new(Arc::new(store.run_states()));
    let version = states.save(RUN_ID, &result.to_state(), None).await?;
    println!("[worker 1] stored run `{RUN_ID}` (version {version}) in Postgres; exiting");
    Ok(())
}

/// Worker 2: claims the stored run, approves, finishes it.
async fn worker_approve() -> Result<(), Box<dyn std::error::Error>> {
    let store = store()?;
    let agent = agent();
    let states = RunStates::new(Arc::new(store.run_states()));
    let mut claimed = states.claim(RUN_ID, &agent).await?;
    println!(
        "[worker 2] claimed run `{RUN_ID}` (now version {})",
        claimed.version
    );
    for item in claimed.state.interruptions().to_vec() {
        println!(
            "[worker 2] approving {}({})",
            item.tool_name, item.arguments
        );
        claimed.state.approve(&item, Always::No);
    }
    let result = Runner::run(&agent, claimed.state, options(&store)).await?;
    println!("[worker 2] Assistant: {}", result.final_output_text());
    states
        .save(RUN_ID, &result.to_state(), Some(claimed.version))
        .await?;
    // The same approval delivered again: the run is not resumed twice.
    match states.claim(RUN_ID, &agent).await {
        Ok(_) => return Err("the finished run was claimed again".into()),
        Err(e) if e.is_conflict() => println!("[worker 2] a second resume is refused: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Starts the database and the model server, then the two workers in turn.
async fn coordinator() -> Result<(), Box<dyn std::error::Error>> {
    let offline = common::offline_server(vec![
        Reply::function_call(
            "call_delete_1",
            "delete_file",
            r#"{"path":"drafts/old-notes.txt"}"#,
        ),
        Reply::text("Done: drafts/old-notes.txt is deleted."),
    ])
    .await;
    let (server, url) = match std::env::var("DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let Some(pg) = Postgres::start() else {
                return Err("set DATABASE_URL, or install Debian's `postgresql` package".into());
            };
            println!("Started a temporary Postgres on 127.0.0.1:{}.", pg.port());
            let url = pg.url();
            (Some(pg), url)
        }
    };
    let store = PostgresStore::connect(&url)?;
    store.migrate().await?;
    store.session(CONVERSATION).clear().await?;
    if let Some(stored) = agents::RunStateStore::load(&store.run_states(), RUN_ID).await? {
        agents::RunStateStore::delete(&store.run_states(), RUN_ID, stored.version).await?;
    }

    let exe = std::env::current_exe()?;
    for role in ["pause", "approve"] {
        let mut cmd = Command::new(&exe);
        cmd.env(ROLE, role).env(DATABASE, &url);
        if let Some(s) = &offline {
            cmd.env(MODEL_URL, s.base_url());
        }
        let status = tokio::task::spawn_blocking(move || cmd.status()).await??;
        if !status.success() {
            return Err(format!("worker `{role}` failed: {status}").into());
        }
    }

    let history = store.session(CONVERSATION).get_items(None).await?;
    println!(
        "The conversation in Postgres has {} items (request, call, output, answer).",
        history.len()
    );
    if let Some(s) = &offline {
        s.assert_ok();
    }
    drop(server);
    Ok(())
}
