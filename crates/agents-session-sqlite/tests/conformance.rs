//! The session conformance suite on `SqliteSession` (one file shared by
//! every session, two processes appending at once, a lost reply to a
//! committed write).

use std::path::PathBuf;
use std::sync::Arc;

use agents_core::Session;
use agents_session_sqlite::SqliteSession;
use agents_testkit::session_conformance::{self as conformance, unique_id, LostReplySession};

const PATH_ENV: &str = "AGENTS_TEST_SQLITE_PATH";

fn opener(path: PathBuf) -> impl Fn(&str) -> Arc<dyn Session> + Send + Sync {
    move |id: &str| Arc::new(SqliteSession::open(&path, id).expect("open")) as Arc<dyn Session>
}

/// Run by `check_processes` in two child processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(path) = std::env::var(PATH_ENV) else {
        return;
    };
    assert!(conformance::child_writer(&opener(path.into())).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("conformance.db");
    let open = opener(path.clone());
    conformance::check_all(&open).await;
    conformance::check_processes(
        &open,
        "conformance_child",
        &[(PATH_ENV, path.display().to_string())],
    )
    .await;
    let direct = open(&unique_id("lost-reply"));
    let faulty = LostReplySession::new(Arc::clone(&direct));
    conformance::check_lost_reply(&faulty, &*direct, &|| faulty.drop_next_reply()).await;
}
