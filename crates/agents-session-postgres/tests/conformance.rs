//! The session conformance suite and the run-state store contract against a
//! real Postgres server (Debian's binaries, `initdb` in a temporary
//! directory, started on 127.0.0.1 and stopped at the end).

use std::sync::Arc;

use agents_core::Session;
use agents_session_postgres::{PostgresOptions, PostgresStore};
use agents_testkit::servers::{FaultProxy, Postgres};
use agents_testkit::session_conformance::{self as conformance, unique_id};

const URL_ENV: &str = "AGENTS_TEST_POSTGRES_URL";

fn opener(store: PostgresStore) -> impl Fn(&str) -> Arc<dyn Session> + Send + Sync {
    move |id: &str| Arc::new(store.session(id)) as Arc<dyn Session>
}

/// Run by `check_processes` in two child processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(url) = std::env::var(URL_ENV) else {
        return;
    };
    let store = PostgresStore::connect(&url).expect("store");
    assert!(conformance::child_writer(&opener(store)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_conforms() {
    let Some(server) = Postgres::start() else {
        return;
    };
    let server = Arc::new(server);
    let store = PostgresStore::connect(&server.url()).expect("store");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrations run once");
    let open = opener(store.clone());

    conformance::check_all(&open).await;
    conformance::check_processes(&open, "conformance_child", &[(URL_ENV, server.url())]).await;

    // A lost reply to a committed append, through a proxy; one connection,
    // so the warm-up prepares the statement the faulty write uses.
    let proxy = FaultProxy::start(([127, 0, 0, 1], server.port()).into());
    let faulty_store = PostgresStore::connect_with(
        &server.url_with_port(proxy.port()),
        PostgresOptions::default().max_connections(1),
    )
    .expect("store");
    let id = unique_id("lost-reply");
    let faulty = faulty_store.session(id.as_str());
    let direct = store.session(id.as_str());
    conformance::check_lost_reply(&faulty, &direct, &|| proxy.drop_next_reply()).await;
    assert_eq!(proxy.replies_dropped(), 1);

    conformance::check_run_state_store(&store.run_states()).await;

    let (stop, start) = (Arc::clone(&server), Arc::clone(&server));
    conformance::check_restart(&open, move || stop.stop(), move || start.start_again()).await;
}
