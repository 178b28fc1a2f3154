//! The session conformance suite on `MemorySession`, including a lost reply
//! to a committed write.

use std::sync::Arc;

use agents_core::{MemoryRunStateStore, MemorySession, Session};
use agents_testkit::session_conformance::{self as conformance, LostReplySession};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_session_conforms() {
    let sessions =
        std::sync::Mutex::new(std::collections::HashMap::<String, Arc<MemorySession>>::new());
    let open = move |id: &str| {
        let mut map = sessions.lock().expect("lock");
        Arc::clone(
            map.entry(id.to_owned())
                .or_insert_with(|| Arc::new(MemorySession::new(id))),
        ) as Arc<dyn Session>
    };
    conformance::check_all(&open).await;
    let direct = open("lost-reply");
    let faulty = LostReplySession::new(Arc::clone(&direct));
    conformance::check_lost_reply(&faulty, &*direct, &|| faulty.drop_next_reply()).await;
    conformance::check_run_state_store(&MemoryRunStateStore::new()).await;
}
