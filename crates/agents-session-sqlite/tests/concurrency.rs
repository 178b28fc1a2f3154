//! Concurrent writers: many tasks in one process, several processes on one
//! file, and a process killed with SIGKILL while it writes.
//!
//! Child processes are this test binary itself, started with
//! `--exact child_process_entry` and told what to do through environment
//! variables; without them `child_process_entry` does nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agents_core::{Item, Session};
use agents_session_sqlite::{Durability, SqliteOptions, SqliteSession};

const CHILD_ENV: &str = "AGENTS_SQLITE_TEST_CHILD";

/// One turn of `size` items, tagged `writer:turn:part`.
fn turn(writer: &str, n: usize, size: usize) -> Vec<Item> {
    (0..size)
        .map(|part| Item::user(format!("{writer}:{n}:{part}")))
        .collect()
}

fn tag(item: &Item) -> (String, usize, usize) {
    let text = item.as_message().expect("a message").text();
    let mut it = text.split(':');
    let writer = it.next().expect("writer").to_owned();
    let n = it.next().and_then(|s| s.parse().ok()).expect("turn");
    let part = it.next().and_then(|s| s.parse().ok()).expect("part");
    (writer, n, part)
}

/// Checks that every turn is whole and contiguous and that each writer's
/// turns are in order; returns the number of turns per writer.
fn check_turns(items: &[Item], size: usize) -> HashMap<String, usize> {
    assert_eq!(items.len() % size, 0, "a partial turn is visible");
    let mut next: HashMap<String, usize> = HashMap::new();
    for chunk in items.chunks(size) {
        let (writer, n, _) = tag(&chunk[0]);
        for (part, item) in chunk.iter().enumerate() {
            assert_eq!(
                tag(item),
                (writer.clone(), n, part),
                "turn {writer}:{n} is interleaved with another"
            );
        }
        let expected = next.entry(writer.clone()).or_insert(0);
        assert_eq!(n, *expected, "writer {writer}: turns out of order or lost");
        *expected += 1;
    }
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_tasks_append_without_loss_and_in_order() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tasks.db");
    const TASKS: usize = 8;
    const TURNS: usize = 40;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        // Half the tasks share one handle, half open their own (same file,
        // same connection through the registry).
        let session = if t % 2 == 0 {
            SqliteSession::open(&path, "shared").expect("open")
        } else {
            SqliteSession::open_with(
                &path,
                "shared",
                SqliteOptions::default().durability(Durability::Normal),
            )
            .expect("open")
        };
        handles.push(tokio::spawn(async move {
            for n in 0..TURNS {
                session
                    .add_items(&turn(&format!("t{t}"), n, 3))
                    .await
                    .expect("add");
                if n % 10 == 0 {
                    // Reads interleave with writes.
                    session.get_items(Some(5)).await.expect("read");
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let items = SqliteSession::open(&path, "shared")
        .expect("open")
        .get_items(None)
        .await
        .expect("get");
    assert_eq!(items.len(), TASKS * TURNS * 3);
    let counts = check_turns(&items, 3);
    assert_eq!(counts.len(), TASKS);
    assert!(counts.values().all(|&c| c == TURNS));
}

fn spawn_child(mode: &str, db: &Path, writer: &str, turns: usize) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env("CHILD_DB", db)
        .env("CHILD_WRITER", writer)
        .env("CHILD_TURNS", turns.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the test binary as a child")
}

/// The child side: appends `CHILD_TURNS` turns (mode `append`), or turns
/// until killed (mode `forever`), printing `committed N` after each.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return; // run as an ordinary test: nothing to do
    };
    let db = std::env::var("CHILD_DB").expect("CHILD_DB");
    let writer = std::env::var("CHILD_WRITER").expect("CHILD_WRITER");
    let turns: usize = std::env::var("CHILD_TURNS")
        .expect("CHILD_TURNS")
        .parse()
        .expect("a number");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let session = SqliteSession::open(&db, "shared").expect("open");
        let limit = if mode == "forever" { usize::MAX } else { turns };
        let deadline = Instant::now() + Duration::from_secs(120);
        for n in 0..limit {
            session
                .add_items(&turn(&writer, n, 3))
                .await
                .expect("child add");
            println!("committed {n}");
            if Instant::now() > deadline {
                break;
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_and_this_one_append_to_one_session() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("procs.db");
    // The file exists before the children start, so all three race only on
    // the appends.
    let here = SqliteSession::open(&path, "shared").expect("open");
    const TURNS: usize = 150;
    let children = [
        spawn_child("append", &path, "p1", TURNS),
        spawn_child("append", &path, "p2", TURNS),
    ];
    for n in 0..TURNS {
        here.add_items(&turn("p0", n, 3)).await.expect("add");
    }
    for mut child in children {
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().expect("stdout"), &mut out)
            .expect("read");
        let status = child.wait().expect("wait");
        assert!(status.success(), "child failed: {status}\n{out}");
        assert!(out.contains(&format!("committed {}", TURNS - 1)), "{out}");
    }
    let items = here.get_items(None).await.expect("get");
    assert_eq!(items.len(), 3 * 3 * TURNS);
    let counts = check_turns(&items, 3);
    for w in ["p0", "p1", "p2"] {
        assert_eq!(counts.get(w), Some(&TURNS), "writer {w}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_run_loses_no_committed_turn() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("killed.db");
    SqliteSession::open(&path, "shared").expect("create");
    let mut child = spawn_child("forever", &path, "k", 0);
    let stdout = child.stdout.take().expect("stdout");
    // Read the child's acknowledgements on a thread until it has committed
    // enough turns, then kill it while it keeps writing.
    // The pipe stays open until after the kill, so the child never fails on
    // a closed stdout.
    let (last, reader) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut last = None;
        let mut line = String::new();
        while reader.read_line(&mut line).expect("read") > 0 {
            if let Some(n) = line.trim().strip_prefix("committed ") {
                let n: usize = n.parse().expect("number");
                last = Some(n);
                if n >= 40 {
                    break;
                }
            }
            line.clear();
        }
        (last, reader)
    })
    .await
    .expect("reader");
    let last = last.expect("the child committed turns");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    drop(reader);
    assert!(!status.success(), "the child was killed: {status}");

    let items = SqliteSession::open(&path, "shared")
        .expect("open")
        .get_items(None)
        .await
        .expect("the database is readable after the kill");
    let counts = check_turns(&items, 3);
    let committed = counts.get("k").copied().unwrap_or(0);
    assert!(
        committed > last,
        "turn {last} was acknowledged but only {committed} turns are stored"
    );
}
