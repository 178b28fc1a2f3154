//! Durable agent runs on [Restate](https://restate.dev): a run survives the
//! crash of its worker process without calling the model again for a turn
//! that completed, and without running a completed tool call again.
//!
//! A [`DurableWorker`] serves an agent as the Restate workflow `AgentRun`;
//! each workflow id is one run. Inside, the runner's one loop runs as usual,
//! with a [`StepExecutor`](agents_runner::StepExecutor) in its configuration
//! that journals every model call and every tool call as a Restate `run`
//! entry. When a worker dies, Restate sends the run to a worker again, the
//! loop replays from the journal (recorded responses and tool outputs come
//! back instead of new calls), and continues live from the first step that
//! has no record.
//!
//! A call that needs approval makes the run wait on a durable promise: the
//! invocation suspends (no worker holds it), and a decision sent from any
//! process ([`DurableClient::approve`]) resumes it.
//!
//! See `docs/durable.md` for the semantics (what runs exactly once, what at
//! least once), what is stored, and which deploys keep runs replayable.
//!
//! ```no_run
//! use agents_core::Agent;
//! use agents_durable::{ApprovalDecision, DurableClient, DurableRunInput, DurableWorker};
//!
//! # async fn demo(agent: Agent) -> Result<(), Box<dyn std::error::Error>> {
//! // The worker process: serve the agent, then register the address once.
//! let worker = DurableWorker::new(agent).non_idempotent_tools(["send_email"]);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9080").await?;
//! tokio::spawn(async move { worker.serve(listener).await });
//!
//! // Any process: start a run, approve its calls, read its result.
//! let client = DurableClient::new("http://127.0.0.1:8080", "http://127.0.0.1:9070");
//! client.register("http://127.0.0.1:9080").await?;
//! client.start("order-42", &DurableRunInput::text("Refund order 42")).await?;
//! for call in client.pending("order-42").await? {
//!     client.approve("order-42", &ApprovalDecision::approve(&call.call_id)).await?;
//! }
//! let result = client.result("order-42").await?;
//! println!("{}", result.final_output_text());
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod client;
mod journal;
mod replay;
mod types;
mod worker;

pub use client::{DurableClient, DurableError};
pub use journal::{StepRetry, INTERRUPTED_CALL_MESSAGE};
pub use types::{ApprovalDecision, DurableRunInput, DurableRunOutput};
pub use worker::{DurableWorker, APPROVAL_TIMEOUT_MESSAGE, WORKFLOW_NAME};
