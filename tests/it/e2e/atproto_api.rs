//! The official TypeScript client, `@atproto/api`, drives a node the way an app does
//! (`tests/peers/pds-client.mjs`): accounts, login, refresh, a post with an image, follow, like,
//! profile edits, list/get/delete, app passwords, blobs; then the repo export is verified with
//! `@atproto/repo` against the signing key that `@atproto/identity` resolves from the embedded PLC
//! directory.

use std::time::Duration;

use crate::harness::{Node, peer_command};

/// The script bounds itself at 120 s; this only catches a hung Node process.
const PEER_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn atproto_api_client_flow_and_verified_export() {
    let mut command = peer_command("pds-client.mjs");
    let node = Node::start(&[]).await;
    command.arg(&node.url);
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .expect("pds-client.mjs did not finish within the timeout")
        .expect("running Node 22");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pds-client.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("pds-client.mjs printed no JSON summary ({e}): {stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    // The exported repo holds two posts, the follow and the profile; the like was deleted.
    assert_eq!(summary["records"], 4, "{summary}");
    // skyhold returns the DID document in sessions (the reference may not), so the client keeps
    // talking to the PDS the document names.
    assert_eq!(summary["sessionDidDoc"], true, "{summary}");
    println!("@atproto/api flow against {}: {summary}", node.url);
}
