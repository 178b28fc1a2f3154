//! The session conformance suite and the run-state store contract against a
//! real `redis-server` (started on 127.0.0.1 and stopped at the end), plus
//! TTL and the key layout shared with openai-agents-python.

use std::sync::Arc;
use std::time::Duration;

use agents_core::{Item, Session};
use agents_session_redis::{RedisOptions, RedisStore};
use agents_testkit::servers::{FaultProxy, Redis};
use agents_testkit::session_conformance::{self as conformance, unique_id};

const URL_ENV: &str = "AGENTS_TEST_REDIS_URL";

fn opener(store: RedisStore) -> impl Fn(&str) -> Arc<dyn Session> + Send + Sync {
    move |id: &str| Arc::new(store.session(id)) as Arc<dyn Session>
}

/// Run by `check_processes` in two child processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(url) = std::env::var(URL_ENV) else {
        return;
    };
    let store = RedisStore::connect(&url).await.expect("store");
    assert!(conformance::child_writer(&opener(store)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_conforms() {
    let Some(server) = Redis::start() else {
        return;
    };
    let server = Arc::new(server);
    let store = RedisStore::connect(&server.url()).await.expect("store");
    let open = opener(store.clone());

    conformance::check_all(&open).await;
    conformance::check_processes(&open, "conformance_child", &[(URL_ENV, server.url())]).await;

    let proxy = FaultProxy::start(([127, 0, 0, 1], server.port()).into());
    let faulty_store = RedisStore::connect(&server.url_with_port(proxy.port()))
        .await
        .expect("store");
    let id = unique_id("lost-reply");
    let faulty = faulty_store.session(id.as_str());
    let direct = store.session(id.as_str());
    conformance::check_lost_reply(&faulty, &direct, &|| proxy.drop_next_reply()).await;
    assert_eq!(proxy.replies_dropped(), 1);

    conformance::check_run_state_store(&store.run_states()).await;

    // The key layout of openai-agents-python's RedisSession, and the TTL.
    let ttl_store = RedisStore::connect_with(
        &server.url(),
        RedisOptions::default().ttl(Duration::from_secs(100)),
    )
    .await
    .expect("store");
    let s = ttl_store.session("layout-✓");
    s.add_items(&[Item::user("hi")]).await.expect("add");
    assert_eq!(s.messages_key(), "agents:session:layout-✓:messages");
    let raw = raw_command(
        &server,
        &["LRANGE", "agents:session:layout-✓:messages", "0", "-1"],
    );
    assert!(
        raw.contains("{\"type\":\"message\",\"role\":\"user\",\"content\":\"hi\"}")
            || raw.contains("\"content\":\"hi\""),
        "{raw}"
    );
    let ttl = raw_command(&server, &["TTL", "agents:session:layout-✓:messages"]);
    let secs: i64 = ttl.trim().trim_start_matches(':').parse().expect("ttl");
    assert!((1..=100).contains(&secs), "TTL set: {secs}");
    let hash = raw_command(&server, &["HGET", "agents:session:layout-✓", "session_id"]);
    assert!(hash.contains("layout-✓"), "{hash}");

    let (stop, start) = (Arc::clone(&server), Arc::clone(&server));
    conformance::check_restart(&open, move || stop.stop(), move || start.start_again()).await;
}

/// Sends one command in RESP and returns the raw reply.
fn raw_command(server: &Redis, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    s.write_all(&req).expect("write");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.ends_with(b"\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
