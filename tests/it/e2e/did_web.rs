//! `--did-method web`: accounts get `did:web:<handle>`, the node serves the document on the handle's
//! host, repos verify against the key it names, the node's own relay follows the account (resolving
//! the document in-process), and what did:web cannot do is refused in plain words.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use skyhold::core::did_document::DidDocument;
use skyhold::core::repo::{load_car, verify_repo};

use crate::harness::{Node, http};
use crate::xrpc::{Xrpc, expect};

#[tokio::test]
async fn did_web_accounts_are_served_verified_and_relayed() {
    let node = Node::start(&["--did-method", "web"]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("webby.test").await;
    assert_eq!(did, "did:web:webby.test");

    let document: DidDocument = http()
        .get(format!("{}/.well-known/did.json", node.url))
        .header("host", "webby.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document.id, did);
    assert_eq!(document.handle(), Some("webby.test"));
    assert_eq!(document.pds_endpoint(), Some(node.url.as_str()));
    let key = document.signing_key().unwrap();
    // The server's own document is still served for its own host.
    let own: Value = http()
        .get(format!("{}/.well-known/did.json", node.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(own["id"], json!(did), "{own}");

    let (code, body) = c
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"text": "from a did:web", "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let car = http()
        .get(c.base.clone() + &format!("/xrpc/com.atproto.sync.getRepo?did={did}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let repo = load_car(car.as_ref()).unwrap();
    let report = verify_repo(&repo, Some(&key)).unwrap();
    assert_eq!(report.did, did);

    // The relay verified the account's commits against the in-process document.
    let (_, latest) = c
        .get(
            &format!("/xrpc/com.atproto.sync.getLatestCommit?did={did}"),
            None,
        )
        .await;
    let relay = format!(
        "{}/xrpc/com.atproto.sync.getLatestCommit?did={did}",
        node.relay()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let answer: Value = match http().get(&relay).send().await {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if answer["cid"] == latest["cid"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay never caught up: {answer} vs {latest}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // What a did:web cannot do.
    expect(
        "handle change",
        c.post(
            "com.atproto.identity.updateHandle",
            Some(&token),
            json!({"handle": "other.test"}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "recovery key",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": "keyed.test", "email": "keyed@example.com", "password": "long enough pw",
                   "recoveryKey": "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "PLC operation",
        c.post(
            "com.atproto.identity.signPlcOperation",
            Some(&token),
            json!({"token": "AAAAA-BBBBB"}),
        )
        .await,
        400,
        "InvalidRequest",
    );
}
