//! Bad input against a running node: every case gets the right XRPC error (name and status), never a
//! 5xx, and nothing is written.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::Node;
use crate::xrpc::{Xrpc, expect};

#[tokio::test]
async fn bad_input_gets_clear_xrpc_errors_and_writes_nothing() {
    let node = Node::start(&[]).await;
    let c = Xrpc::new(&node);
    let (alice, token) = c.account("alice.test").await;
    let (bob, bob_token) = c.account("bob.test").await;
    let post = |repo: &str| {
        json!({"repo": repo, "collection": "app.bsky.feed.post",
        "record": {"text": "hi", "createdAt": "2026-01-01T00:00:00.000Z"}})
    };

    // Accounts.
    expect(
        "taken handle",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": "alice.test", "email": "x@example.com", "password": "long enough pw"}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect("handle outside our domains", c.post("com.atproto.server.createAccount", None,
        json!({"handle": "carol.example.org", "email": "c@example.com", "password": "long enough pw"})).await, 400, "UnsupportedDomain");
    expect(
        "short handle",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": "ab.test", "email": "c@example.com", "password": "long enough pw"}),
        )
        .await,
        400,
        "InvalidHandle",
    );
    expect(
        "reserved handle",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": "admin.test", "email": "c@example.com", "password": "long enough pw"}),
        )
        .await,
        400,
        "HandleNotAvailable",
    );
    expect(
        "bad email",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": "carol.test", "email": "not-an-email", "password": "long enough pw"}),
        )
        .await,
        400,
        "InvalidEmail",
    );
    expect(
        "missing handle",
        c.post(
            "com.atproto.server.createAccount",
            None,
            json!({"email": "c@example.com", "password": "long enough pw"}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "wrong password",
        c.post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "alice.test", "password": "nope"}),
        )
        .await,
        401,
        "AuthenticationRequired",
    );
    expect(
        "unknown user",
        c.post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "nobody.test", "password": "nope"}),
        )
        .await,
        401,
        "AuthenticationRequired",
    );

    // Malformed bodies.
    expect(
        "malformed JSON",
        c.post_raw(
            "com.atproto.repo.createRecord",
            Some(&token),
            "application/json",
            b"{not json".to_vec(),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "CBOR where JSON is expected",
        c.post_raw(
            "com.atproto.repo.createRecord",
            Some(&token),
            "application/cbor",
            vec![0xa1, 0x61, 0x61, 0x01],
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "wrong field type",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": 42, "record": {}}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "record not an object",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": "app.bsky.feed.post", "record": [1, 2]}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect("float in a record", c.post("com.atproto.repo.createRecord", Some(&token),
        json!({"repo": alice, "collection": "app.bsky.feed.post", "record": {"text": "x", "n": 1.5}})).await, 400, "InvalidRequest");
    expect(
        "invalid collection NSID",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": "not-an-nsid", "record": {}}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect(
        "invalid rkey",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": "app.bsky.feed.post", "rkey": "..", "record": {}}),
        )
        .await,
        400,
        "InvalidRequest",
    );
    expect("$type mismatch", c.post("com.atproto.repo.createRecord", Some(&token),
        json!({"repo": alice, "collection": "app.bsky.feed.post", "record": {"$type": "app.bsky.feed.like"}})).await, 400, "InvalidRequest");
    let huge = "x".repeat(1_200_000);
    let (status, _) = c
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": "app.bsky.feed.post", "record": {"text": huge}}),
        )
        .await;
    assert_eq!(status.as_u16(), 413, "oversize body");

    expect("record breaking its lexicon", c.post("com.atproto.repo.createRecord", Some(&token),
        json!({"repo": alice, "collection": "app.bsky.feed.post", "record": {"text": "no createdAt"}})).await, 400, "InvalidRequest");
    expect("rkey breaking its lexicon's key type", c.post("com.atproto.repo.putRecord", Some(&token),
        json!({"repo": alice, "collection": "app.bsky.actor.profile", "rkey": "notself", "record": {}})).await, 400, "InvalidRequest");

    // Tokens.
    expect(
        "no token",
        c.post("com.atproto.repo.createRecord", None, post(&alice))
            .await,
        401,
        "AuthMissing",
    );
    expect(
        "garbage token",
        c.post(
            "com.atproto.repo.createRecord",
            Some("garbage"),
            post(&alice),
        )
        .await,
        400,
        "InvalidToken",
    );
    let forged = {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[2] = "AAAA".repeat(10);
        parts.join(".")
    };
    expect(
        "forged token",
        c.post("com.atproto.repo.createRecord", Some(&forged), post(&alice))
            .await,
        400,
        "InvalidToken",
    );
    expect(
        "another account's repo",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&bob_token),
            post(&alice),
        )
        .await,
        401,
        "AuthenticationRequired",
    );
    let (_, session) = c
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "alice.test", "password": "correct horse battery"}),
        )
        .await;
    let refresh = session["refreshJwt"].as_str().unwrap();
    expect(
        "refresh token used for access",
        c.post("com.atproto.repo.createRecord", Some(refresh), post(&alice))
            .await,
        400,
        "InvalidToken",
    );
    expect(
        "access token used to refresh",
        c.post("com.atproto.server.refreshSession", Some(&token), json!({}))
            .await,
        400,
        "InvalidToken",
    );

    // Reads. Parameters are checked before the repo is looked up, as the reference PDS does: an
    // unknown repo with a malformed rkey or since is InvalidRequest, not RepoNotFound.
    let nobody = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    expect("unknown repo and a bad rkey", c.get(&format!("/xrpc/com.atproto.repo.getRecord?repo={nobody}&collection=app.bsky.feed.post&rkey=bad%20rkey"), None).await, 400, "InvalidRequest");
    expect("unknown DID and a bad rkey", c.get(&format!("/xrpc/com.atproto.sync.getRecord?did={nobody}&collection=app.bsky.feed.post&rkey=bad%20rkey"), None).await, 400, "InvalidRequest");
    expect(
        "unknown DID and a bad since",
        c.get(
            &format!("/xrpc/com.atproto.sync.getRepo?did={nobody}&since=notatid"),
            None,
        )
        .await,
        400,
        "InvalidRequest",
    );
    // Unknown repos are named as the caller wrote them, as the reference PDS does.
    for (path, message) in [
        (
            "com.atproto.repo.describeRepo?repo=NoBody.Test",
            "Could not find repo for DID: NoBody.Test",
        ),
        (
            "com.atproto.repo.listRecords?repo=NoBody.Test&collection=app.bsky.feed.post",
            "Could not find repo: NoBody.Test",
        ),
        (
            "com.atproto.repo.getRecord?repo=NoBody.Test&collection=app.bsky.feed.post&rkey=3jzfcijpj2z2a",
            "Could not find repo: NoBody.Test",
        ),
    ] {
        let (status, body) = c.get(&format!("/xrpc/{path}"), None).await;
        assert_eq!(status.as_u16(), 400, "{path}: {body}");
        assert_eq!(body["message"], message, "{path}: {body}");
    }
    expect("unknown record", c.get(&format!("/xrpc/com.atproto.repo.getRecord?repo={alice}&collection=app.bsky.feed.post&rkey=3jzfcijpj2z2a"), None).await, 400, "RecordNotFound");
    expect(
        "invalid DID param",
        c.get("/xrpc/com.atproto.sync.getLatestCommit?did=nope", None)
            .await,
        400,
        "RepoNotFound",
    );
    expect(
        "missing param",
        c.get("/xrpc/com.atproto.repo.getRecord?repo=alice.test", None)
            .await,
        400,
        "InvalidRequest",
    );
    expect("bad limit", c.get(&format!("/xrpc/com.atproto.repo.listRecords?repo={alice}&collection=app.bsky.feed.post&limit=0"), None).await, 400, "InvalidRequest");
    expect(
        "app.bsky method the built-in App View does not serve",
        c.get("/xrpc/app.bsky.unspecced.getTrendingTopics", Some(&token))
            .await,
        501,
        "MethodNotImplemented",
    );
    expect(
        "admin call without the password",
        c.post(
            "com.atproto.server.createInviteCode",
            None,
            json!({"useCount": 1}),
        )
        .await,
        401,
        "AuthenticationRequired",
    );

    let (status, _) = c
        .admin_post(
            "/xrpc/com.atproto.server.createInviteCode",
            json!({"useCount": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the admin password works");

    // Nothing was written: both repos hold no records.
    for (did, name) in [(&alice, "alice"), (&bob, "bob")] {
        let (status, body) = c
            .get(
                &format!(
                    "/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post"
                ),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["records"].as_array().unwrap().len(),
            0,
            "{name}'s repo was written to"
        );
    }
    let _ = bob;
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_data_survives() {
    let mut node = Node::start(&[]).await;
    let keep = node.keep_data();
    let client = Xrpc::new(&node);
    let (alice, token) = client.account("alice.test").await;
    let (status, created) = client
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": alice, "collection": "app.bsky.feed.post",
            "record": {"text": "still here", "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let exit = node.terminate().expect("exit status");
    assert!(exit.success(), "SIGTERM exit: {exit:?}");
    let data = node.data.clone();
    let port = node.port;
    drop(node);
    let node = Node::start_in(&data, port, &[]).await;
    let client = Xrpc::new(&node);
    let uri = created["uri"].as_str().unwrap();
    let rkey = uri.rsplit('/').next().unwrap();
    let (status, record) = client
        .get(&format!("/xrpc/com.atproto.repo.getRecord?repo={alice}&collection=app.bsky.feed.post&rkey={rkey}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["value"]["text"], "still here");
    drop(keep);
}
