//! A clean stop closes the store: after SIGTERM the next start opens the database without redb's
//! repair (which checks every page: seconds on a large file), and the stop itself logs no error.
//! After `kill -9` the repair does run, and the log says so: that is how this test can tell.
//!
//! The database is built by the real write path (accounts, thousands of records through
//! applyWrites, the relay's and the App View's copies), with a firehose subscriber connected while
//! the node stops.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Node, TempDir, free_port};
use crate::xrpc::Xrpc;

const ACCOUNTS: usize = 4;
const BATCHES: usize = 8;
const BATCH: usize = 200;
/// What redb's repair callback makes the node log (`store::database`).
const REPAIR_LINE: &str = "database repair";

fn log_file(dir: &TempDir, name: &str) -> (std::path::PathBuf, std::process::Stdio) {
    let path = dir.0.join(name);
    let file = std::fs::File::create(&path).expect("creating the log file");
    (path, file.into())
}

fn read_log(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).expect("reading the node's log")
}

/// Fills the node: `ACCOUNTS` accounts, each with `BATCHES` applyWrites of `BATCH` posts.
async fn fill(node: &Node) -> Vec<(String, String)> {
    let c = Xrpc::new(node);
    let mut last = Vec::new();
    for a in 0..ACCOUNTS {
        let (did, token) = c.account(&format!("restart{a}.test")).await;
        let mut rkey = String::new();
        for b in 0..BATCHES {
            let writes: Vec<Value> = (0..BATCH)
                .map(|i| {
                    json!({"$type": "com.atproto.repo.applyWrites#create",
                           "collection": "app.bsky.feed.post",
                           "value": {"$type": "app.bsky.feed.post",
                                     "text": format!("post {b}/{i} of account {a}, long enough to look like a real post"),
                                     "createdAt": "2026-12-03T12:00:00.000Z"}})
                })
                .collect();
            let (status, body) = c
                .post(
                    "com.atproto.repo.applyWrites",
                    Some(&token),
                    json!({"repo": did, "writes": writes}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let uri = body["results"][BATCH - 1]["uri"]
                .as_str()
                .expect("a result URI");
            rkey = uri.rsplit('/').next().unwrap_or_default().to_owned();
        }
        last.push((did, rkey));
    }
    last
}

#[tokio::test]
async fn a_clean_stop_needs_no_repair_at_the_next_start_and_a_kill_does() {
    let dir = TempDir::new("restart");
    let data = dir.0.join("data");
    let port = free_port();
    let (first_log, stderr) = log_file(&dir, "first.log");
    let mut node = Node::start_logging(&data, port, &[], stderr).await;
    let written = fill(&node).await;
    let size = std::fs::metadata(data.join("skyhold.redb")).unwrap().len();

    // A firehose reader is connected (and has read) when the node stops.
    let url = format!("ws://127.0.0.1:{port}/xrpc/com.atproto.sync.subscribeRepos?cursor=0");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("subscribing");
    tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("a first frame")
        .expect("the stream is open")
        .expect("a frame");

    let exit = node.terminate().expect("the node was running");
    assert!(exit.success(), "SIGTERM exit: {exit:?}");
    drop(socket);
    let stopping = read_log(&first_log);
    assert!(
        !stopping.contains("ERROR"),
        "a clean stop logs no error:\n{stopping}"
    );

    // Clean stop: the next start opens the file as it was left.
    let (second_log, stderr) = log_file(&dir, "second.log");
    let mut node = Node::start_logging(&data, port, &[], stderr).await;
    let c = Xrpc::new(&node);
    for (did, rkey) in &written {
        let (status, body) = c
            .get(
                &format!(
                    "/xrpc/com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}"
                ),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let log = read_log(&second_log);
    assert!(
        !log.contains(REPAIR_LINE),
        "a start after SIGTERM repaired the {size}-byte database:\n{log}"
    );

    // A kill leaves the file unclosed: the next start repairs it and says so.
    node.kill();
    let (third_log, stderr) = log_file(&dir, "third.log");
    let _node = Node::start_logging(&data, port, &[], stderr).await;
    let log = read_log(&third_log);
    assert!(
        log.contains(REPAIR_LINE),
        "a start after kill -9 must repair, and log it:\n{log}"
    );
    println!(
        "restart: {} records in a {size}-byte database; no repair after SIGTERM, repair after kill -9",
        ACCOUNTS * BATCHES * BATCH
    );
}
