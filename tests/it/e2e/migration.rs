//! Account migration between two nodes on loopback that share the first node's PLC directory,
//! driven by `@atproto/api` alone (`tests/peers/migrate.mjs`): A→B, a post on B, then B→A. Each leg
//! checks records, blobs, the DID document, both hosts' repo status, and verifies B's (then A's)
//! export with `@atproto/repo`.

use std::time::Duration;

use crate::harness::{Node, peer_command};

const PEER_TIMEOUT: Duration = Duration::from_secs(240);

#[tokio::test]
async fn account_moves_to_another_node_and_back_with_atproto_api() {
    let a = Node::start(&[]).await;
    let plc = format!("{}/plc", a.url);
    let b = Node::start(&["--plc-url", &plc]).await;
    let mut command = peer_command("migrate.mjs");
    command.args([&a.url, &b.url, &a.admin_password, &plc]);
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .expect("migrate.mjs did not finish within the timeout")
        .expect("running Node 22");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "migrate.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("migrate.mjs printed no JSON summary ({e}): {stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    // Two posts, the profile and the follow went over; two blobs had to be uploaded.
    assert_eq!(summary["there"]["records"], 4, "{summary}");
    assert_eq!(summary["there"]["blobsMoved"], 2, "{summary}");
    // Back on A: two more posts; only the blob uploaded on B was missing.
    assert_eq!(summary["back"]["records"], 6, "{summary}");
    assert_eq!(summary["back"]["blobsMoved"], 1, "{summary}");
    println!("migration {} ⇄ {}: {summary}", a.url, b.url);
}
