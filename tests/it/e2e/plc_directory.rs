//! The embedded PLC directory over HTTP: at `/plc/<did>`, and at `/<did>` for clients that resolve
//! against the directory URL's origin (`@atproto/identity` does).

use serde_json::{Value, json};

use crate::harness::{Node, http};

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
