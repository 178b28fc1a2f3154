//! Paused runs shared between workers ([`RunStates`]: a [`RunState`] saved
//! in any [`RunStateStore`] by run id, with optimistic concurrency), and the
//! loop's idempotent session writes.
//!
//! One worker pauses on an approval and saves the state; another loads it,
//! approves, and resumes. [`RunStates::claim`] makes "resume" happen once:
//! two workers claiming the same version at the same time get the state
//! once, and the other a [`StateStoreError::Store`] holding
//! [`RunStateStoreError::Conflict`].
//!
//! ```
//! use std::sync::Arc;
//! use agents_core::testing::ScriptedModel;
//! use agents_core::{Agent, MemoryRunStateStore};
//! use agents_runner::{RunOptions, RunStates, Runner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use agents_core::testing::function_call;
//! # use agents_core::{FunctionTool, NoArgs, ToolContext};
//! # let model = ScriptedModel::new();
//! # model.push_output(vec![function_call("wipe", "{}")]);
//! # let wipe = FunctionTool::new("wipe", "Wipes.", |_c: ToolContext, _a: NoArgs| async {
//! #     Ok::<_, String>("ok".to_owned())
//! # })
//! # .needs_approval(true);
//! # let agent: Agent = Agent::builder("Assistant").model(model).tool(wipe).build();
//! // A run paused for approval on worker A.
//! let state = Runner::run(&agent, "Wipe it", RunOptions::default()).await?.to_state();
//! assert!(state.is_interrupted());
//! let states = RunStates::new(Arc::new(MemoryRunStateStore::new()));
//! states.save("run-1", &state, None).await?; // worker A, paused
//!
//! // Worker B and worker C both try to resume run-1: one gets it.
//! let (b, c) = tokio::join!(states.claim("run-1", &agent), states.claim("run-1", &agent));
//! assert!(b.is_ok() != c.is_ok());
//! assert!(matches!(b.err().or(c.err()), Some(e) if e.is_conflict()));
//! # Ok(()) }
//! ```

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use agents_core::{add_items_retrying, Agent, Item, RunStateStore, RunStateStoreError, Session};

use crate::state::{RunState, RunStateError};

/// Saving, loading or claiming a run state failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateStoreError {
    /// The store failed, or another worker changed the run first
    /// ([`RunStateStoreError::Conflict`]).
    #[error(transparent)]
    Store(#[from] RunStateStoreError),
    /// The stored JSON is not a run state this SDK reads, or the state
    /// could not be serialized.
    #[error(transparent)]
    State(#[from] RunStateError),
    /// No run state is stored under this id.
    #[error("no run state is stored for run `{run_id}`")]
    NotFound {
        /// The run id.
        run_id: String,
    },
    /// The stored run has finished: there is nothing to resume (another
    /// worker resumed it to the end).
    #[error("run `{run_id}` (version {version}) has finished")]
    Finished {
        /// The run id.
        run_id: String,
        /// The stored version.
        version: u64,
    },
    /// Another worker claimed this run already (and has not saved it back).
    #[error("run `{run_id}` (version {version}) is claimed by another worker")]
    AlreadyClaimed {
        /// The run id.
        run_id: String,
        /// The stored version, which holds the claim.
        version: u64,
    },
}

impl StateStoreError {
    /// Whether another worker saved, claimed or deleted the run first.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StateStoreError::Store(RunStateStoreError::Conflict { .. })
                | StateStoreError::AlreadyClaimed { .. }
                | StateStoreError::Finished { .. }
        )
    }
}

/// A run state loaded from a store, with the version to name when saving it
/// back.
#[derive(Debug)]
#[non_exhaustive]
pub struct StoredRun {
    /// The run state.
    pub state: RunState,
    /// Its version in the store.
    pub version: u64,
    /// Whether a worker has claimed it ([`RunStates::claim`]) and not saved
    /// it back yet.
    pub claimed: bool,
}

/// The key of the envelope that marks a claimed state.
const CLAIMED: &str = "$claimedState";

/// The state JSON of a stored text, and whether it is a claim envelope.
fn unwrap_claim(text: &str) -> Result<(std::borrow::Cow<'_, str>, bool), StateStoreError> {
    // A claim envelope is `{"$claimedState": <state>}`; a plain state starts
    // with `{"$schemaVersion"` or another key, never with the envelope key.
    if !text.trim_start().starts_with(&format!("{{\"{CLAIMED}\"")) {
        return Ok((std::borrow::Cow::Borrowed(text), false));
    }
    let mut value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StateStoreError::State(RunStateError::Malformed(e.to_string())))?;
    let inner = value
        .get_mut(CLAIMED)
        .map(serde_json::Value::take)
        .ok_or_else(|| {
            StateStoreError::State(RunStateError::Malformed("empty claim envelope".into()))
        })?;
    Ok((std::borrow::Cow::Owned(inner.to_string()), true))
}

/// [`RunState`]s by run id in a [`RunStateStore`] (memory, Postgres, Redis,
/// or your own), as `RunState::to_json` text. Cheap to clone.
///
/// The user context is not stored (as with `RunState::to_json`); set it on
/// the loaded state with `RunState::set_context`.
#[derive(Clone)]
pub struct RunStates {
    store: Arc<dyn RunStateStore>,
}

impl std::fmt::Debug for RunStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunStates").finish_non_exhaustive()
    }
}

impl RunStates {
    /// Run states in `store`.
    pub fn new(store: Arc<dyn RunStateStore>) -> Self {
        RunStates { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn RunStateStore> {
        &self.store
    }

    /// Saves `state` under `run_id` and returns the new version. `expected`
    /// is the version loaded or claimed before (`None` for a new run); a
    /// different stored version is a conflict.
    pub async fn save(
        &self,
        run_id: &str,
        state: &RunState,
        expected: Option<u64>,
    ) -> Result<u64, StateStoreError> {
        let json = state.to_json()?;
        Ok(self.store.save(run_id, &json, expected).await?)
    }

    /// Loads the state of `run_id`, resolving its agents through
    /// `starting_agent`'s handoff graph; `None` if nothing is stored.
    pub async fn load<C: Send + Sync + 'static>(
        &self,
        run_id: &str,
        starting_agent: &Agent<C>,
    ) -> Result<Option<StoredRun>, StateStoreError> {
        let Some(stored) = self.store.load(run_id).await? else {
            return Ok(None);
        };
        let (json, claimed) = unwrap_claim(&stored.state)?;
        let state = RunState::from_json(starting_agent, &json)?;
        Ok(Some(StoredRun {
            state,
            version: stored.version,
            claimed,
        }))
    }

    /// Loads the state of `run_id` and claims it for this worker: it is
    /// saved back, marked as claimed, with the next version. Of several
    /// workers claiming it at once, one succeeds and the others get a
    /// conflict ([`StateStoreError::is_conflict`]); a claim of a claimed
    /// state is [`StateStoreError::AlreadyClaimed`], of a finished one
    /// [`StateStoreError::Finished`]. So a paused run is
    /// resumed once. Save the state the resumed run ends with under the
    /// returned version (which clears the mark), or
    /// [`delete`](Self::delete) it.
    pub async fn claim<C: Send + Sync + 'static>(
        &self,
        run_id: &str,
        starting_agent: &Agent<C>,
    ) -> Result<StoredRun, StateStoreError> {
        let stored = self
            .store
            .load(run_id)
            .await?
            .ok_or_else(|| StateStoreError::NotFound {
                run_id: run_id.to_owned(),
            })?;
        let (json, claimed) = unwrap_claim(&stored.state)?;
        if claimed {
            return Err(StateStoreError::AlreadyClaimed {
                run_id: run_id.to_owned(),
                version: stored.version,
            });
        }
        let state = RunState::from_json(starting_agent, &json)?;
        if state.is_finished() {
            return Err(StateStoreError::Finished {
                run_id: run_id.to_owned(),
                version: stored.version,
            });
        }
        let envelope = format!("{{\"{CLAIMED}\":{json}}}");
        let version = self
            .store
            .save(run_id, &envelope, Some(stored.version))
            .await?;
        Ok(StoredRun {
            state,
            version,
            claimed: true,
        })
    }

    /// Deletes version `expected` of `run_id`.
    pub async fn delete(&self, run_id: &str, expected: u64) -> Result<(), StateStoreError> {
        Ok(self.store.delete(run_id, expected).await?)
    }
}

/// A fresh operation id: unique across processes (a random per-process
/// prefix, then a counter).
pub(crate) fn next_operation_id() -> String {
    static PREFIX: LazyLock<String> = LazyLock::new(|| {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        format!("{:016x}", h.finish())
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", *PREFIX, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Attempts of one session write while the store is unavailable.
const SESSION_WRITE_ATTEMPTS: u32 = 3;

/// Saves a write of the run (its input, or one turn) to the session with
/// its own operation id, retrying while the store is unavailable: a retry
/// after a lost reply does not store the items twice.
pub(crate) async fn save_to_session(
    session: &dyn Session,
    items: &[Item],
) -> Result<(), agents_core::SessionError> {
    add_items_retrying(session, &next_operation_id(), items, SESSION_WRITE_ATTEMPTS).await
}
