//! Every account lifecycle transition against a running node, seen the three ways a peer sees it:
//! `getRepoStatus`, `checkAccountStatus`, and `#account` events on the firehose. Inactive and
//! taken-down content is refused with the lexicons' errors; deletion removes everything; the email
//! and password flows work with codes read by the admin; the admin CLI works on the running server.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use skyhold::core::firehose::{Frame, Message, decode_frame};

use crate::harness::{Node, skyhold};
use crate::xrpc::{Xrpc, expect};

const PASSWORD: &str = "correct horse battery";

/// The `#account` events for `did` on the node's firehose, from the start, as (active, status).
async fn account_events(node: &Node, did: &str) -> Vec<(bool, Option<String>)> {
    let url = format!(
        "ws://127.0.0.1:{}/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        node.port
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut out = Vec::new();
    // The log is replayed at once; a quiet half second means it is all here.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(500), socket.next()).await
    {
        let tokio_tungstenite::tungstenite::Message::Binary(bytes) = message else {
            continue;
        };
        if let Ok(Frame::Message(Message::Account(account))) = decode_frame(&bytes)
            && account.did == did
        {
            out.push((account.active, account.status));
        }
    }
    out
}

async fn repo_status(c: &Xrpc, did: &str) -> Value {
    let (status, body) = c
        .get(
            &format!("/xrpc/com.atproto.sync.getRepoStatus?did={did}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The admin's one waiting code of `purpose` for `did`.
async fn admin_code(c: &Xrpc, did: &str, purpose: &str) -> String {
    let (status, body) = c.admin_get("/admin/codes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|code| code["did"] == did && code["purpose"] == purpose)
        .unwrap_or_else(|| panic!("no {purpose} code for {did}: {body}"))["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn login(c: &Xrpc, identifier: &str, password: &str) -> (StatusCode, Value) {
    c.post(
        "com.atproto.server.createSession",
        None,
        json!({"identifier": identifier, "password": password}),
    )
    .await
}

fn subject(did: &str) -> Value {
    json!({"$type": "com.atproto.admin.defs#repoRef", "did": did})
}

#[tokio::test]
async fn account_lifecycle_is_visible_everywhere_and_inactive_content_is_refused() {
    let node = Node::start(&[]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("life.test").await;
    let (status, created) = c
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"text": "hello", "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let rkey = created["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (status, blob) = c
        .post_raw(
            "com.atproto.repo.uploadBlob",
            Some(&token),
            "text/plain",
            b"some bytes".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{blob}");
    let blob_cid = blob["blob"]["ref"]["$link"].as_str().unwrap().to_owned();
    let (status, _) = c
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "com.example.file",
                   "record": {"name": "notes.txt", "file": blob["blob"].clone()}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a record that uses the blob");

    let status = repo_status(&c, &did).await;
    assert_eq!(status["active"], true, "{status}");
    assert!(status.get("status").is_none(), "{status}");
    let (code, report) = c
        .get("/xrpc/com.atproto.server.checkAccountStatus", Some(&token))
        .await;
    assert_eq!(code, StatusCode::OK, "{report}");
    assert_eq!(report["activated"], true);
    assert_eq!(report["validDid"], true);
    assert_eq!(report["indexedRecords"], 2);
    assert_eq!(report["expectedBlobs"], 1);
    assert_eq!(report["importedBlobs"], 1);
    assert!(report["repoBlocks"].as_u64().unwrap() >= 2, "{report}");

    let get_record = format!(
        "/xrpc/com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}"
    );
    let sync_paths = [
        format!("/xrpc/com.atproto.sync.getRepo?did={did}"),
        format!("/xrpc/com.atproto.sync.getLatestCommit?did={did}"),
        format!("/xrpc/com.atproto.sync.getBlob?did={did}&cid={blob_cid}"),
        format!(
            "/xrpc/com.atproto.sync.getRecord?did={did}&collection=app.bsky.feed.post&rkey={rkey}"
        ),
    ];

    // Deactivation: not served, not writable, visible everywhere.
    let (code, body) = c
        .post(
            "com.atproto.server.deactivateAccount",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let status = repo_status(&c, &did).await;
    assert_eq!(
        (&status["active"], &status["status"]),
        (&json!(false), &json!("deactivated"))
    );
    for path in &sync_paths {
        expect(path, c.get(path, None).await, 400, "RepoDeactivated");
    }
    expect(
        "getRecord",
        c.get(&get_record, None).await,
        400,
        "InvalidRequest",
    );
    expect(
        "write while deactivated",
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"text": "no", "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await,
        401,
        "AccountDeactivated",
    );
    let (code, report) = c
        .get("/xrpc/com.atproto.server.checkAccountStatus", Some(&token))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(report["activated"], false, "{report}");
    // The owner still reads its own repo (to move it elsewhere).
    let (code, _) = c.get(&sync_paths[1], Some(&token)).await;
    assert_eq!(code, StatusCode::OK, "the owner reads its deactivated repo");
    let (code, session) = login(&c, "life.test", PASSWORD).await;
    assert_eq!(code, StatusCode::OK, "{session}");
    assert_eq!(
        (&session["active"], &session["status"]),
        (&json!(false), &json!("deactivated"))
    );

    // importRepo takes only a complete, verified repo of this account.
    expect(
        "garbage import",
        c.post_raw(
            "com.atproto.repo.importRepo",
            Some(&token),
            "application/vnd.ipld.car",
            b"not a car".to_vec(),
        )
        .await,
        400,
        "InvalidRequest",
    );
    let (other, _) = c.account("other.test").await;
    let foreign = crate::harness::http()
        .get(format!(
            "{}/xrpc/com.atproto.sync.getRepo?did={other}",
            c.base
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let (code, body) = c
        .post_raw(
            "com.atproto.repo.importRepo",
            Some(&token),
            "application/vnd.ipld.car",
            foreign,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "another DID's repo: {body}");
    assert_eq!(
        repo_status(&c, &did).await["rev"],
        status["rev"],
        "nothing was imported"
    );

    let (code, body) = c
        .post(
            "com.atproto.server.activateAccount",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(repo_status(&c, &did).await["active"], true);
    let (code, _) = c.get(&get_record, None).await;
    assert_eq!(code, StatusCode::OK);

    // Takedown by the admin: refused with RepoTakendown, sessions end, login says AccountTakedown.
    let (code, body) = c
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": subject(&did), "takedown": {"applied": true, "ref": "case-1"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["takedown"], json!({"applied": true, "ref": "case-1"}));
    let status = repo_status(&c, &did).await;
    assert_eq!(
        (&status["active"], &status["status"]),
        (&json!(false), &json!("takendown"))
    );
    for path in &sync_paths {
        expect(path, c.get(path, None).await, 400, "RepoTakendown");
    }
    expect(
        "login",
        login(&c, "life.test", PASSWORD).await,
        401,
        "AccountTakedown",
    );
    expect(
        "upload while taken down",
        c.post_raw(
            "com.atproto.repo.uploadBlob",
            Some(&token),
            "text/plain",
            b"x".to_vec(),
        )
        .await,
        401,
        "AccountTakedown",
    );
    // A token issued before the takedown stops working at once, for every authenticated route.
    expect(
        "getSession with a pre-takedown token",
        c.get("/xrpc/com.atproto.server.getSession", Some(&token))
            .await,
        401,
        "AccountTakedown",
    );
    let (code, subject_status) = c
        .admin_get(&format!(
            "/xrpc/com.atproto.admin.getSubjectStatus?did={did}"
        ))
        .await;
    assert_eq!(code, StatusCode::OK, "{subject_status}");
    assert_eq!(
        subject_status["takedown"],
        json!({"applied": true, "ref": "case-1"})
    );
    let (code, _) = c
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": subject(&did), "takedown": {"applied": false}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(repo_status(&c, &did).await["active"], true);

    // Suspension: its own error, restored by the admin (or by time).
    let (code, body) = c
        .admin_post(
            &format!("/admin/accounts/{did}/suspend"),
            json!({"until": "2099-01-01T00:00:00Z", "ref": "cool down"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(repo_status(&c, &did).await["status"], "suspended");
    expect(
        "suspended repo",
        c.get(&sync_paths[0], None).await,
        400,
        "RepoSuspended",
    );
    expect(
        "a suspended account activating itself with a token from before",
        c.post(
            "com.atproto.server.activateAccount",
            Some(&token),
            json!({}),
        )
        .await,
        401,
        "AccountTakedown",
    );
    assert_eq!(repo_status(&c, &did).await["status"], "suspended");
    c.admin_post(
        "/xrpc/com.atproto.admin.updateSubjectStatus",
        json!({"subject": subject(&did), "takedown": {"applied": false}}),
    )
    .await;
    assert_eq!(repo_status(&c, &did).await["active"], true);
    let (code, session) = login(&c, "life.test", PASSWORD).await;
    assert_eq!(code, StatusCode::OK, "{session}");
    let token = session["accessJwt"].as_str().unwrap().to_owned();

    // Record and blob takedowns hide exactly that content.
    let path = format!("at://{did}/app.bsky.feed.post/{rkey}");
    let (code, body) = c
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": {"$type": "com.atproto.repo.strongRef", "uri": path, "cid": created["cid"]},
                   "takedown": {"applied": true, "ref": "post"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    expect(
        "taken-down record",
        c.get(&get_record, None).await,
        400,
        "RecordNotFound",
    );
    let (_, list) = c
        .get(
            &format!("/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post"),
            None,
        )
        .await;
    assert_eq!(list["records"].as_array().unwrap().len(), 0, "{list}");
    let (_, record_status) = c
        .admin_get(&format!(
            "/xrpc/com.atproto.admin.getSubjectStatus?uri={path}"
        ))
        .await;
    assert_eq!(
        record_status["takedown"]["applied"], true,
        "{record_status}"
    );
    assert_eq!(record_status["subject"]["cid"], created["cid"]);
    let (code, _) = c
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": {"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": blob_cid},
                   "takedown": {"applied": true, "ref": "file"}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = c.get(&sync_paths[2], None).await;
    assert_ne!(code, StatusCode::OK, "a taken-down blob is served");
    for (body, what) in [
        (
            json!({"subject": {"$type": "com.atproto.repo.strongRef", "uri": path, "cid": created["cid"]},
                "takedown": {"applied": false}}),
            "record",
        ),
        (
            json!({"subject": {"$type": "com.atproto.admin.defs#repoBlobRef", "did": did, "cid": blob_cid},
                "takedown": {"applied": false}}),
            "blob",
        ),
    ] {
        let (code, answer) = c
            .admin_post("/xrpc/com.atproto.admin.updateSubjectStatus", body)
            .await;
        assert_eq!(code, StatusCode::OK, "restoring the {what}: {answer}");
    }
    let (code, _) = c.get(&get_record, None).await;
    assert_eq!(code, StatusCode::OK, "restored record");
    let (code, _) = c.get(&sync_paths[2], None).await;
    assert_eq!(code, StatusCode::OK, "restored blob");

    // Email confirmation, email change, password reset, all with codes the admin can read.
    let (code, _) = c
        .post(
            "com.atproto.server.requestEmailConfirmation",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let confirm = admin_code(&c, &did, "confirm_email").await;
    expect(
        "wrong email",
        c.post(
            "com.atproto.server.confirmEmail",
            Some(&token),
            json!({"email": "other@example.com", "token": confirm}),
        )
        .await,
        400,
        "InvalidEmail",
    );
    let (code, body) = c
        .post(
            "com.atproto.server.confirmEmail",
            Some(&token),
            json!({"email": "life-test@example.com", "token": confirm}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, session) = c
        .get("/xrpc/com.atproto.server.getSession", Some(&token))
        .await;
    assert_eq!(session["emailConfirmed"], true, "{session}");
    let (_, update) = c
        .post(
            "com.atproto.server.requestEmailUpdate",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(update["tokenRequired"], true);
    expect(
        "update without the code",
        c.post(
            "com.atproto.server.updateEmail",
            Some(&token),
            json!({"email": "new@example.com"}),
        )
        .await,
        400,
        "TokenRequired",
    );
    let update_code = admin_code(&c, &did, "update_email").await;
    let (code, body) = c
        .post(
            "com.atproto.server.updateEmail",
            Some(&token),
            json!({"email": "new@example.com", "token": update_code}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, session) = c
        .get("/xrpc/com.atproto.server.getSession", Some(&token))
        .await;
    assert_eq!(
        (&session["email"], &session["emailConfirmed"]),
        (&json!("new@example.com"), &json!(false))
    );
    let (code, _) = c
        .post(
            "com.atproto.server.requestPasswordReset",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "unknown addresses get the same answer"
    );
    let (code, _) = c
        .post(
            "com.atproto.server.requestPasswordReset",
            None,
            json!({"email": "new@example.com"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let reset = admin_code(&c, &did, "reset_password").await;
    expect(
        "wrong reset code",
        c.post(
            "com.atproto.server.resetPassword",
            None,
            json!({"token": "AAAAA-BBBBB", "password": "a new password"}),
        )
        .await,
        400,
        "InvalidToken",
    );
    let refresh = session_refresh(&c).await;
    let (code, body) = c
        .post(
            "com.atproto.server.resetPassword",
            None,
            json!({"token": reset, "password": "a new password"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    expect(
        "old password",
        login(&c, "life.test", PASSWORD).await,
        401,
        "AuthenticationRequired",
    );
    let (code, session) = login(&c, "life.test", "a new password").await;
    assert_eq!(code, StatusCode::OK, "{session}");
    expect(
        "refresh token from before the reset",
        c.post(
            "com.atproto.server.refreshSession",
            Some(&refresh),
            json!({}),
        )
        .await,
        400,
        "ExpiredToken",
    );
    let token = session["accessJwt"].as_str().unwrap().to_owned();

    // Deletion: a code, the password, then nothing is left but the #account event.
    let (code, _) = c
        .post(
            "com.atproto.server.requestAccountDelete",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let delete = admin_code(&c, &did, "delete_account").await;
    expect(
        "delete with the wrong password",
        c.post(
            "com.atproto.server.deleteAccount",
            None,
            json!({"did": did, "password": PASSWORD, "token": delete}),
        )
        .await,
        401,
        "AuthenticationRequired",
    );
    let (code, body) = c
        .post(
            "com.atproto.server.deleteAccount",
            None,
            json!({"did": did, "password": "a new password", "token": delete}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    expect(
        "status of a deleted repo",
        c.get(
            &format!("/xrpc/com.atproto.sync.getRepoStatus?did={did}"),
            None,
        )
        .await,
        400,
        "RepoNotFound",
    );
    expect(
        "login after deletion",
        login(&c, "life.test", "a new password").await,
        401,
        "AuthenticationRequired",
    );
    let (_, accounts) = c.admin_get("/xrpc/com.atproto.admin.searchAccounts").await;
    assert!(
        accounts["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["did"] != did),
        "{accounts}"
    );
    // The handle is free again.
    c.account("life.test").await;

    // Only the deletion is left in the log for this DID: the account's past events are gone.
    let events = account_events(&node, &did).await;
    assert_eq!(
        events,
        vec![(false, Some("deleted".to_owned()))],
        "{events:?}"
    );
}

/// A fresh refresh token for `life.test` (before a password reset ends it).
async fn session_refresh(c: &Xrpc) -> String {
    let (code, session) = login(c, "life.test", PASSWORD).await;
    assert_eq!(code, StatusCode::OK, "{session}");
    session["refreshJwt"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn account_events_follow_each_transition() {
    let node = Node::start(&[]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("events.test").await;
    c.post(
        "com.atproto.server.deactivateAccount",
        Some(&token),
        json!({}),
    )
    .await;
    c.post(
        "com.atproto.server.activateAccount",
        Some(&token),
        json!({}),
    )
    .await;
    for applied in [true, false] {
        c.admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": subject(&did), "takedown": {"applied": applied, "ref": "x"}}),
        )
        .await;
    }
    let events = account_events(&node, &did).await;
    let expected: Vec<(bool, Option<String>)> = vec![
        (true, None),
        (false, Some("deactivated".into())),
        (true, None),
        (false, Some("takendown".into())),
        (true, None),
    ];
    assert_eq!(events, expected);
}

#[tokio::test]
async fn admin_cli_works_against_the_running_server() {
    let node = Node::start(&[]).await;
    let c = Xrpc::new(&node);
    let run = |args: &[&str]| {
        let output = skyhold()
            .args(args)
            .args([
                "--server",
                &node.url,
                "--admin-password",
                &node.admin_password,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "skyhold {args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let created = run(&[
        "account",
        "create",
        "--handle",
        "cli.test",
        "--email",
        "cli@example.com",
    ]);
    let password = created
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password")
        .to_owned();
    let (code, session) = login(&c, "cli.test", &password).await;
    assert_eq!(code, StatusCode::OK, "{session}");
    let did = session["did"].as_str().unwrap().to_owned();
    assert!(run(&["account", "list"]).contains("cli.test"));
    let info: Value = serde_json::from_str(&run(&["account", "info", "cli.test"])).unwrap();
    assert_eq!(info["did"], did);
    assert_eq!(info["repo"]["active"], true);
    run(&["account", "takedown", "cli.test", "--ref", "spam"]);
    assert_eq!(repo_status(&c, &did).await["status"], "takendown");
    run(&["account", "takedown", &did, "--undo"]);
    assert_eq!(repo_status(&c, &did).await["active"], true);
    let reset = run(&["account", "reset-password", "cli.test"]);
    let new_password = reset.trim().rsplit(' ').next().unwrap().to_owned();
    expect(
        "old password",
        login(&c, "cli.test", &password).await,
        401,
        "AuthenticationRequired",
    );
    let (code, _) = login(&c, "cli.test", &new_password).await;
    assert_eq!(code, StatusCode::OK);
    let code = run(&["invite", "create", "--uses", "2"]);
    let code = code.trim().to_owned();
    assert!(!code.is_empty());
    let list = run(&["invite", "list"]);
    assert!(list.contains(&code) && list.contains("used 0/2"), "{list}");
    run(&["invite", "disable", &code]);
    assert!(run(&["invite", "list"]).contains("(disabled)"));
    // A wrong password is a clear refusal.
    let output = skyhold()
        .args([
            "account",
            "list",
            "--server",
            &node.url,
            "--admin-password",
            "wrong",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("refused the admin password"));
}
