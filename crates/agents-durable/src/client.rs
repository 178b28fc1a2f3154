//! A client of the Restate server: register workers, start runs, send
//! approvals, read results. Any process can use it; it talks to Restate's
//! HTTP ingress and admin APIs, never to a worker.

use std::time::Duration;

use agents_runner::ToolApprovalItem;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{ApprovalDecision, DurableRunInput, DurableRunOutput};
use crate::worker::WORKFLOW_NAME;

/// The largest response body the client reads (a run's output included).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What went wrong talking to the Restate server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// The server could not be reached.
    #[error("cannot reach the Restate server at {url}: {message}")]
    Connection {
        /// The URL asked for.
        url: String,
        /// Why.
        message: String,
    },
    /// The server answered with an error status.
    #[error("the Restate server answered {status} for {url}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The URL asked for.
        url: String,
        /// The response body (cut to 4 KiB).
        body: String,
    },
    /// The run failed: the message of its error.
    #[error("the durable run failed: {0}")]
    RunFailed(String),
    /// A body could not be read as the expected JSON.
    #[error("unexpected response from the Restate server: {0}")]
    Decode(String),
}

/// Talks to a Restate server's ingress (default port 8080) and admin API
/// (default port 9070).
#[derive(Clone, Debug)]
pub struct DurableClient {
    http: Result<reqwest::Client, String>,
    ingress: String,
    admin: String,
}

impl DurableClient {
    /// A client of the server whose ingress is `ingress_url` and admin API
    /// `admin_url` (for example `http://127.0.0.1:8080` and
    /// `http://127.0.0.1:9070`).
    pub fn new(ingress_url: impl Into<String>, admin_url: impl Into<String>) -> Self {
        // reqwest built with rustls and no crypto provider panics without a
        // process default; another thread may install one at the same time.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        DurableClient {
            http: reqwest::Client::builder()
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}")),
            ingress: ingress_url.into().trim_end_matches('/').to_owned(),
            admin: admin_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// Registers (or, after a deploy, re-registers) the worker serving at
    /// `worker_url` with the server. Runs in flight on that address continue
    /// on the code now behind it.
    pub async fn register(&self, worker_url: &str) -> Result<(), DurableError> {
        let url = format!("{}/deployments", self.admin);
        let body = serde_json::json!({ "uri": worker_url, "force": true });
        self.send(self.http()?.post(&url).json(&body), &url)
            .await
            .map(drop)
    }

    /// Starts run `run_id` (the workflow id; starting it again is a no-op).
    pub async fn start(&self, run_id: &str, input: &DurableRunInput) -> Result<(), DurableError> {
        let url = self.handler_url(run_id, "run/send");
        self.post(&url, input).await.map(drop)
    }

    /// Sends a decision on a call run `run_id` waits on. The engine accepts
    /// it durably at once, even while no worker runs; the run resumes on
    /// whichever worker the engine picks.
    pub async fn approve(
        &self,
        run_id: &str,
        decision: &ApprovalDecision,
    ) -> Result<(), DurableError> {
        let url = self.handler_url(run_id, "approve/send");
        self.post(&url, decision).await.map(drop)
    }

    /// The calls run `run_id` waits on.
    pub async fn pending(&self, run_id: &str) -> Result<Vec<ToolApprovalItem>, DurableError> {
        let url = self.handler_url(run_id, "pending");
        let body = self.send(self.http()?.post(&url), &url).await?;
        decode(&body)
    }

    /// Waits for run `run_id` to finish and returns its result.
    pub async fn result(&self, run_id: &str) -> Result<DurableRunOutput, DurableError> {
        let url = format!(
            "{}/restate/workflow/{WORKFLOW_NAME}/{}/attach",
            self.ingress,
            encode(run_id)
        );
        let body = self.send(self.http()?.get(&url), &url).await?;
        decode(&body)
    }

    /// The result of run `run_id` if it finished, `None` while it runs.
    pub async fn output(&self, run_id: &str) -> Result<Option<DurableRunOutput>, DurableError> {
        let url = format!(
            "{}/restate/workflow/{WORKFLOW_NAME}/{}/output",
            self.ingress,
            encode(run_id)
        );
        match self.send(self.http()?.get(&url), &url).await {
            Ok(body) => decode(&body).map(Some),
            // Restate answers 470 while the workflow has not finished.
            Err(DurableError::Http { status: 470, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits until the server's ingress and admin API answer, for at most
    /// `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), DurableError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let health = format!("{}/health", self.admin);
        let ingress = format!("{}/restate/health", self.ingress);
        loop {
            let http = self.http()?;
            let admin_ok = self.send(http.get(&health), &health).await.is_ok();
            let ingress_ok = self.send(http.get(&ingress), &ingress).await.is_ok();
            if admin_ok && ingress_ok {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DurableError::Connection {
                    url: health,
                    message: format!("not ready after {timeout:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn handler_url(&self, run_id: &str, handler: &str) -> String {
        format!(
            "{}/{WORKFLOW_NAME}/{}/{handler}",
            self.ingress,
            encode(run_id)
        )
    }

    async fn post<T: Serialize + ?Sized>(
        &self,
        url: &str,
        body: &T,
    ) -> Result<Vec<u8>, DurableError> {
        self.send(self.http()?.post(url).json(body), url).await
    }

    fn http(&self) -> Result<&reqwest::Client, DurableError> {
        self.http.as_ref().map_err(|e| DurableError::Connection {
            url: self.ingress.clone(),
            message: e.clone(),
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Vec<u8>, DurableError> {
        let mut response = request.send().await.map_err(|e| DurableError::Connection {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| DurableError::Connection {
                url: url.to_owned(),
                message: e.to_string(),
            })?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(DurableError::Decode(format!(
                    "the response of {url} is larger than {MAX_BODY} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let mut text = String::from_utf8_lossy(&body).into_owned();
        if let Some((cut, _)) = text.char_indices().nth(4096) {
            text.truncate(cut);
        }
        // A terminal failure of the run handler comes back as 500 with the
        // run error's message.
        if url.ends_with("/attach") || url.ends_with("/output") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if let Some(message) = v.get("message").and_then(|m| m.as_str()) {
                    if status != 470 {
                        return Err(DurableError::RunFailed(message.to_owned()));
                    }
                }
            }
        }
        Err(DurableError::Http {
            status,
            url: url.to_owned(),
            body: text,
        })
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, DurableError> {
    serde_json::from_slice(body).map_err(|e| DurableError::Decode(e.to_string()))
}

/// Percent-encodes a run id for a URL path segment.
fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn run_ids_are_encoded_as_one_path_segment() {
        assert_eq!(encode("run-1"), "run-1");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
