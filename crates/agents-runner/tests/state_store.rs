//! Paused runs in a `RunStateStore` (claimed once when two workers resume
//! together), and the loop's session writes: each with an operation id, and
//! retried after a lost reply without duplicating a turn.

mod common;

use std::sync::{Arc, Mutex};

use agents_core::testing::{function_call_with_id, ScriptedModel};
use agents_core::{
    BoxFuture, Item, MemoryRunStateStore, MemorySession, RunStateStoreError, Session, SessionError,
};
use agents_runner::{Always, RunOptions, RunStates, Runner, StateStoreError};
use common::*;

/// A session whose writes are recorded by operation id, and whose chosen
/// writes are applied but answered with `Unavailable` (a lost reply).
struct LosingReplies {
    inner: MemorySession,
    /// 1-based write numbers whose reply is lost.
    lose: Vec<usize>,
    writes: Mutex<Vec<String>>,
}

impl Session for LosingReplies {
    fn session_id(&self) -> &str {
        self.inner.session_id()
    }
    fn get_items(&self, limit: Option<usize>) -> BoxFuture<'_, Result<Vec<Item>, SessionError>> {
        self.inner.get_items(limit)
    }
    fn add_items<'a>(&'a self, _items: &'a [Item]) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async { panic!("the loop writes with operation ids") })
    }
    fn add_items_once<'a>(
        &'a self,
        operation_id: &'a str,
        items: &'a [Item],
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(async move {
            self.inner.add_items_once(operation_id, items).await?;
            let n = {
                let mut w = self.writes.lock().expect("lock");
                w.push(operation_id.to_owned());
                w.len()
            };
            if self.lose.contains(&n) {
                Err(SessionError::Unavailable("reply lost".into()))
            } else {
                Ok(())
            }
        })
    }
    fn supports_operation_ids(&self) -> bool {
        true
    }
    fn pop_item(&self) -> BoxFuture<'_, Result<Option<Item>, SessionError>> {
        self.inner.pop_item()
    }
    fn clear(&self) -> BoxFuture<'_, Result<(), SessionError>> {
        self.inner.clear()
    }
}

#[tokio::test]
async fn a_lost_reply_to_a_turn_write_is_retried_without_duplicates() {
    let model = ScriptedModel::new();
    model.push_output(vec![function_call_with_id("call_1", "echo", &args("hi"))]);
    model.push_text("Done.");
    let agent = agent("Assistant", &model).tool(echo("echo")).build();
    // Lose the replies of the input write (1) and the first turn's write (3).
    let session = Arc::new(LosingReplies {
        inner: MemorySession::new("s"),
        lose: vec![1, 3],
        writes: Mutex::new(Vec::new()),
    });
    let r = Runner::run(
        &agent,
        "Say hi",
        RunOptions::default().session(session.clone() as Arc<dyn Session>),
    )
    .await
    .expect("the run survives lost replies");
    assert_eq!(r.final_output_text(), "Done.");
    let items = session.get_items(None).await.expect("items");
    assert_eq!(
        kinds(&items),
        [
            "message",
            "function_call",
            "function_call_output",
            "message"
        ],
        "each write stored once"
    );
    let writes = session.writes.lock().expect("lock").clone();
    // input, input retry, turn 1, turn 1 retry, turn 2
    assert_eq!(writes.len(), 5, "{writes:?}");
    assert_eq!(
        writes[0], writes[1],
        "the retry carries the same operation id"
    );
    assert_eq!(writes[2], writes[3]);
    let mut distinct = writes.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "one operation id per write: {writes:?}");
    model.assert_complete();
}

#[tokio::test]
async fn a_paused_run_is_claimed_once_and_finished_by_the_winner() {
    let model = ScriptedModel::new();
    let agent = agent("Assistant", &model)
        .tool(echo("delete_file").needs_approval(true))
        .build();
    model.push_output(vec![function_call_with_id(
        "call_1",
        "delete_file",
        &args("a.txt"),
    )]);
    let states = RunStates::new(Arc::new(MemoryRunStateStore::new()));

    // Worker A pauses and stores the state.
    let paused = Runner::run(&agent, "Delete a.txt", RunOptions::default())
        .await
        .expect("pauses");
    assert_eq!(paused.interruptions().len(), 1);
    assert_eq!(
        states
            .save("run-1", &paused.to_state(), None)
            .await
            .expect("save"),
        1
    );
    let err = states
        .save("run-1", &paused.to_state(), None)
        .await
        .expect_err("the id is taken");
    assert!(err.is_conflict());

    // Workers B and C resume at once: one claim wins.
    let (b, c) = tokio::join!(states.claim("run-1", &agent), states.claim("run-1", &agent));
    assert!(b.is_ok() != c.is_ok(), "exactly one claim wins");
    let loser = b.as_ref().err().or(c.as_ref().err()).expect("a loser");
    assert!(loser.is_conflict(), "{loser:?}");
    assert!(
        matches!(
            loser,
            StateStoreError::Store(RunStateStoreError::Conflict {
                expected: Some(1),
                found: Some(2),
                ..
            }) | StateStoreError::AlreadyClaimed { version: 2, .. }
        ),
        "{loser:?}"
    );
    // A later attempt fails too: the run is claimed.
    assert!(matches!(
        states.claim("run-1", &agent).await,
        Err(StateStoreError::AlreadyClaimed { version: 2, .. })
    ));
    assert!(
        states
            .load("run-1", &agent)
            .await
            .expect("load")
            .expect("stored")
            .claimed
    );
    let mut claimed = b.or(c).expect("the winner");
    assert_eq!(claimed.version, 2);

    let item = claimed.state.interruptions()[0].clone();
    claimed.state.approve(&item, Always::No);
    model.push_text("Deleted.");
    let done = Runner::run(&agent, claimed.state, RunOptions::default())
        .await
        .expect("resumes");
    assert_eq!(done.final_output_text(), "Deleted.");
    assert_eq!(
        states
            .save("run-1", &done.to_state(), Some(2))
            .await
            .expect("save the finished state"),
        3
    );
    let loaded = states
        .load("run-1", &agent)
        .await
        .expect("load")
        .expect("stored");
    assert!(loaded.state.is_finished());
    assert!(!loaded.claimed, "saving the result clears the claim");
    let again = states.claim("run-1", &agent).await;
    assert!(
        matches!(again, Err(StateStoreError::Finished { version: 3, .. })),
        "a finished run is not resumed again: {again:?}"
    );
    assert!(matches!(
        states.claim("missing", &agent).await,
        Err(StateStoreError::NotFound { .. })
    ));
    model.assert_complete();
}
