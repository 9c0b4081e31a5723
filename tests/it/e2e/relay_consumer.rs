//! A real firehose consumer: `@atproto/sync`'s `Firehose` (`tests/peers/firehose-consumer.mjs`)
//! follows one node's PDS stream and its relay stream while `@atproto/api` writes (accounts,
//! creates, updates, deletes, applyWrites, a handle change), and validates every event: the lexicon
//! shape, the commit signature against the key from the PLC directory, and an MST proof for every
//! op. Any `onError` fails the script, and every commit must carry exactly the ops that were
//! written.

use std::time::Duration;

use crate::harness::{Node, peer_command};

/// The script bounds itself at 120 s; this only catches a hung Node process.
const PEER_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn atproto_sync_firehose_validates_the_pds_and_relay_streams() {
    let mut command = peer_command("firehose-consumer.mjs");
    let node = Node::start(&[]).await;
    command.args([&node.url, node.relay(), &format!("{}/plc", node.url)]);
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .expect("firehose-consumer.mjs did not finish within the timeout")
        .expect("running Node 22");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "firehose-consumer.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("firehose-consumer.mjs printed no JSON summary ({e}): {stdout}")
    });
    assert_eq!(summary["ok"], true, "{summary}");
    // The script writes 12 commits with 15 ops in two repos (11 creates, 2 updates, 2 deletes); both
    // streams must deliver each of them verified, plus one #account per account and one #identity
    // per account and handle change.
    let (written, ops) = (&summary["commitsWritten"], &summary["opsWritten"]);
    assert_eq!(written, 12, "{summary}");
    assert_eq!(ops, 15, "{summary}");
    for stream in ["pds", "relay"] {
        let s = &summary[stream];
        assert_eq!(&s["commits"], written, "{stream}: {summary}");
        assert_eq!(s["create"], 11, "{stream}: {summary}");
        assert_eq!(s["update"], 2, "{stream}: {summary}");
        assert_eq!(s["delete"], 2, "{stream}: {summary}");
        assert_eq!(s["identity"], 3, "{stream}: {summary}");
        assert_eq!(s["account"], 2, "{stream}: {summary}");
    }
    println!("@atproto/sync Firehose against {}: {summary}", node.url);
}
