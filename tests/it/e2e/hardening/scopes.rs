//! Credentials and scopes (H4, H5, M3, L1, L6): an app password cannot take an account over, a
//! taken-down account reaches only the methods that list the takendown scope, a failed login costs
//! one hash whatever the number of app passwords, and cross-origin access carries no credentials
//! and never reaches operator routes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::error_of;
use crate::harness::{Node, http};
use crate::xrpc::Xrpc;

async fn session(xrpc: &Xrpc, identifier: &str, password: &str, takendown: bool) -> Value {
    let (status, body) = xrpc
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": identifier, "password": password, "allowTakendown": takendown}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[track_caller]
fn refused_scope(case: &str, got: (StatusCode, Value)) {
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{case}: {}", got.1);
    assert_eq!(error_of(&got.1), "InvalidToken", "{case}: {}", got.1);
}

#[tokio::test]
async fn an_app_password_cannot_take_the_account_over() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, full) = xrpc.account("alice.test").await;
    let (status, created) = xrpc
        .post(
            "com.atproto.server.createAppPassword",
            Some(&full),
            json!({"name": "client"}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let app = session(
        &xrpc,
        "alice.test",
        created["password"].as_str().unwrap(),
        false,
    )
    .await;
    let token = app["accessJwt"].as_str().unwrap().to_owned();
    let token = Some(token.as_str());

    // The takeover path the review walked: change the (unconfirmed) email, then reset the
    // password through it. The first step is refused.
    refused_scope(
        "updateEmail",
        xrpc.post(
            "com.atproto.server.updateEmail",
            token,
            json!({"email": "attacker@evil.example"}),
        )
        .await,
    );
    for (nsid, body) in [
        ("com.atproto.server.requestEmailUpdate", json!({})),
        ("com.atproto.server.requestAccountDelete", json!({})),
        (
            "com.atproto.server.createAppPassword",
            json!({"name": "another"}),
        ),
        ("com.atproto.server.activateAccount", json!({})),
        ("com.atproto.server.deactivateAccount", json!({})),
        (
            "com.atproto.identity.requestPlcOperationSignature",
            json!({}),
        ),
        (
            "com.atproto.identity.signPlcOperation",
            json!({"token": "AAAAA-BBBBB"}),
        ),
        (
            "com.atproto.identity.submitPlcOperation",
            json!({"operation": {}}),
        ),
    ] {
        refused_scope(nsid, xrpc.post(nsid, token, body).await);
    }
    refused_scope(
        "importRepo",
        xrpc.post_raw(
            "com.atproto.repo.importRepo",
            token,
            "application/vnd.ipld.car",
            Vec::new(),
        )
        .await,
    );
    refused_scope(
        "getAccountInviteCodes",
        xrpc.get("/xrpc/com.atproto.server.getAccountInviteCodes", token)
            .await,
    );
    // What an app password is for still works.
    let (status, body) = xrpc
        .post(
            "com.atproto.repo.createRecord",
            token,
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"$type": "app.bsky.feed.post", "text": "hi",
                              "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = xrpc.get("/xrpc/com.atproto.server.getSession", token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["email"], "alice-test@example.com",
        "the email is unchanged"
    );
    let full_again = session(&xrpc, "alice.test", "correct horse battery", false).await;
    assert_eq!(full_again["did"], did, "the owner's password still works");
}

#[tokio::test]
async fn a_taken_down_account_reaches_only_the_methods_that_list_the_scope() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, _) = xrpc.account("carol.test").await;
    let (status, body) = xrpc
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": did},
                   "takedown": {"applied": true, "ref": "review"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let takendown = session(&xrpc, "carol.test", "correct horse battery", true).await;
    let token = takendown["accessJwt"].as_str().unwrap().to_owned();
    let token = Some(token.as_str());

    // What the review did with it: a new handle (a PLC operation the server signs), a new email,
    // new preferences, writes, and the proxy.
    for (nsid, body) in [
        (
            "com.atproto.identity.updateHandle",
            json!({"handle": "carol-renamed.test"}),
        ),
        (
            "com.atproto.server.updateEmail",
            json!({"email": "carol2@example.com"}),
        ),
        ("app.bsky.actor.putPreferences", json!({"preferences": []})),
        (
            "com.atproto.repo.createRecord",
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"$type": "app.bsky.feed.post", "text": "x",
                              "createdAt": "2026-01-01T00:00:00.000Z"}}),
        ),
        ("com.atproto.server.requestEmailConfirmation", json!({})),
    ] {
        refused_scope(nsid, xrpc.post(nsid, token, body).await);
    }
    let proxied = http()
        .get(format!("{}/xrpc/com.example.takendown.ping", node.url))
        .bearer_auth(takendown["accessJwt"].as_str().unwrap())
        .header("atproto-proxy", "did:web:service.example.com#svc")
        .send()
        .await
        .unwrap();
    let status = proxied.status();
    let body: Value = proxied.json().await.unwrap();
    refused_scope("the proxy", (status, body));
    refused_scope(
        "getSession",
        xrpc.get("/xrpc/com.atproto.server.getSession", token).await,
    );
    // L6: the built-in App View reads nothing for it either.
    refused_scope(
        "getTimeline",
        xrpc.get("/xrpc/app.bsky.feed.getTimeline", token).await,
    );
    refused_scope(
        "getServiceAuth for another method",
        xrpc.get(
            "/xrpc/com.atproto.server.getServiceAuth?aud=did:web:other.example.com&lxm=com.atproto.repo.createRecord",
            token,
        )
        .await,
    );

    // What it may still do: read its preferences, export its repo, ask another server to take it.
    let (status, body) = xrpc.get("/xrpc/app.bsky.actor.getPreferences", token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = xrpc
        .get(
            "/xrpc/com.atproto.server.getServiceAuth?aud=did:web:other.example.com&lxm=com.atproto.server.createAccount",
            token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let export = http()
        .get(format!(
            "{}/xrpc/com.atproto.sync.getRepo?did={did}",
            node.url
        ))
        .bearer_auth(takendown["accessJwt"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200, "its own repo export");

    // Nothing changed: the handle still resolves to carol.
    let (status, body) = xrpc
        .get(
            "/xrpc/com.atproto.identity.resolveHandle?handle=carol.test",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["did"].as_str()),
        (200, Some(did.as_str()))
    );
    let (status, body) = xrpc
        .get(
            "/xrpc/com.atproto.identity.resolveHandle?handle=carol-renamed.test",
            None,
        )
        .await;
    assert_ne!(status, 200, "{body}");
    // deactivateAccount lists the scope (the method is reached; this server keeps a taken-down
    // account taken down rather than deactivated).
    let (status, body) = xrpc
        .post("com.atproto.server.deactivateAccount", token, json!({}))
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (401, "AccountTakedown"),
        "{body}"
    );
}

async fn password_hashes(xrpc: &Xrpc) -> u64 {
    let (status, stats) = xrpc.admin_get("/admin/stats").await;
    assert_eq!(status, 200, "{stats}");
    stats["passwordHashes"].as_u64().unwrap()
}

#[tokio::test]
async fn a_failed_login_costs_one_hash_whatever_the_number_of_app_passwords() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (_, full) = xrpc.account("bob.test").await;
    let mut last = String::new();
    for n in 0..100 {
        let (status, body) = xrpc
            .post(
                "com.atproto.server.createAppPassword",
                Some(&full),
                json!({"name": format!("app {n}")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        last = body["password"].as_str().unwrap().to_owned();
    }
    let (status, body) = xrpc
        .post(
            "com.atproto.server.createAppPassword",
            Some(&full),
            json!({"name": "one too many"}),
        )
        .await;
    assert_eq!((status.as_u16(), error_of(&body)), (400, "InvalidRequest"));
    let (status, body) = xrpc
        .post(
            "com.atproto.server.createAppPassword",
            Some(&full),
            json!({"name": "\u{0}"}),
        )
        .await;
    assert_eq!(status, 400, "a control character in a name: {body}");

    for candidate in ["abcd-efgh-ijkl-mnop", "not the password"] {
        let before = password_hashes(&xrpc).await;
        let (status, _) = xrpc
            .post(
                "com.atproto.server.createSession",
                None,
                json!({"identifier": "bob.test", "password": candidate}),
            )
            .await;
        assert_eq!(status, 401);
        assert_eq!(
            password_hashes(&xrpc).await - before,
            1,
            "a failed login with {candidate:?} against 100 app passwords"
        );
    }
    let before = password_hashes(&xrpc).await;
    let app = session(&xrpc, "bob.test", &last, false).await;
    assert!(app["accessJwt"].is_string());
    assert_eq!(
        password_hashes(&xrpc).await,
        before,
        "an app password is a digest and a lookup"
    );
}

#[tokio::test]
async fn cross_origin_requests_carry_no_credentials_and_never_reach_operator_routes() {
    let node = Node::start(&[]).await;
    let preflight = |path: &str| {
        http()
            .request(reqwest::Method::OPTIONS, format!("{}{path}", node.url))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let admin = preflight("/admin/backup").await.unwrap();
    assert!(
        admin.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        admin.headers()
    );
    let api = preflight("/xrpc/com.atproto.server.createSession")
        .await
        .unwrap();
    let headers = api.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers.get("access-control-allow-credentials").is_none());
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
}
