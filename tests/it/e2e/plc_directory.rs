//! The embedded PLC directory with other software: the reference PDS creates and updates DIDs through
//! it, a second skyhold node registers its accounts in the first node's directory, and documents are
//! served at `/plc/<did>` and at `/<did>` (for clients that resolve against the directory's origin,
//! as `@atproto/identity` does).

use serde_json::{Value, json};
use skyhold::core::plc::{LogEntry, validate_audit_log};

use crate::harness::{Node, ReferencePds, http};

async fn post(url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = http().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

async fn get_json(url: &str) -> Value {
    let response = http().get(url).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

#[tokio::test]
async fn reference_pds_creates_and_updates_dids_in_the_embedded_directory() {
    let node = Node::start(&[]).await;
    let plc = format!("{}/plc", node.url);
    let reference = ReferencePds::start_with_plc(&plc).await;
    let account = post(
        &format!("{}/xrpc/com.atproto.server.createAccount", reference.url),
        None,
        json!({"handle": "refuser.test", "email": "ref@example.com", "password": "reference-pw"}),
    )
    .await;
    let did = account["did"].as_str().unwrap().to_owned();
    let token = account["accessJwt"].as_str().unwrap().to_owned();

    // The document the directory serves is the one the reference PDS wrote.
    let doc = get_json(&format!("{plc}/{did}")).await;
    assert_eq!(doc["id"], did);
    assert_eq!(doc["alsoKnownAs"][0], "at://refuser.test");
    assert_eq!(doc["service"][0]["serviceEndpoint"], reference.url);

    // A handle change is a signed update op through the directory.
    post(
        &format!("{}/xrpc/com.atproto.identity.updateHandle", reference.url),
        Some(&token),
        json!({"handle": "renamed.test"}),
    )
    .await;
    let doc = get_json(&format!("{plc}/{did}")).await;
    assert_eq!(doc["alsoKnownAs"][0], "at://renamed.test");

    // The audit log replays cleanly under the did:plc rules.
    let log: Vec<LogEntry> =
        serde_json::from_value(get_json(&format!("{plc}/{did}/log/audit")).await).unwrap();
    assert_eq!(log.len(), 2);
    validate_audit_log(&log).expect("the directory's audit log validates");

    // The reference PDS resolves its own DID through our directory for identity calls.
    let resolved = get_json(&format!(
        "{}/xrpc/com.atproto.identity.resolveHandle?handle=renamed.test",
        reference.url
    ))
    .await;
    assert_eq!(resolved["did"], did);
}

#[tokio::test]
async fn a_second_node_uses_the_first_nodes_directory() {
    let first = Node::start(&[]).await;
    let plc = format!("{}/plc", first.url);
    let second = Node::start(&["--plc-url", &plc]).await;
    let account = post(
        &second.xrpc("com.atproto.server.createAccount"),
        None,
        json!({"handle": "second.test", "email": "s@example.com", "password": "second-password"}),
    )
    .await;
    let did = account["did"].as_str().unwrap();
    let doc = get_json(&format!("{plc}/{did}")).await;
    assert_eq!(doc["service"][0]["serviceEndpoint"], second.url);
    // The second node runs no directory of its own.
    let own = http()
        .get(format!("{}/plc/{did}", second.url))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 404);
}

#[tokio::test]
async fn did_documents_are_served_under_plc_and_at_the_root() {
    let node = Node::start(&[]).await;
    let client = http();
    let account: Value = client
        .post(node.xrpc("com.atproto.server.createAccount"))
        .json(
            &json!({"handle": "plc-root.test", "email": "plc-root@example.com",
                      "password": "plc-root-password"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let did = account["did"].as_str().expect("a DID").to_owned();
    let encoded = did.replace(':', "%3A");
    let mut documents = Vec::new();
    for path in [
        format!("/plc/{did}"),
        format!("/plc/{encoded}"),
        format!("/{did}"),
        format!("/{encoded}"),
    ] {
        let response = client
            .get(format!("{}{path}", node.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["id"], did.as_str(), "GET {path}: {doc}");
        documents.push(doc);
    }
    assert!(documents.windows(2).all(|w| w[0] == w[1]), "{documents:?}");

    // Only did:plc DIDs live at the root; everything else there stays an ordinary 404.
    for path in [
        "/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
        "/did:web:example.com",
        "/favicon.ico",
    ] {
        let response = client
            .get(format!("{}{path}", node.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "GET {path}");
    }
}
