//! The calls the web UI needs beyond the App View scenario: `@atproto/api` drives bookmarks,
//! notification preferences and reports, with and without `atproto-proxy`
//! (`tests/peers/client-extras.mjs`, every answer validated against the official lexicons); then
//! the admin reads and resolves the reports (`/admin/reports` and `skyhold report`), a taken-down
//! account may only appeal, and a report addressed to another service is not kept here.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Node, peer_command, skyhold};
use crate::xrpc::{Xrpc, expect};

/// The peer script bounds itself at 150 s; this only catches a hung Node process.
const PEER_TIMEOUT: Duration = Duration::from_secs(200);

fn ids(page: &Value) -> Vec<u64> {
    page["reports"]
        .as_array()
        .unwrap_or_else(|| panic!("no reports in {page}"))
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn bookmarks_notification_preferences_and_reports_with_atproto_api() {
    let node = Node::start(&[]).await;
    let service_did = format!("did:web:localhost%3A{}", node.port);
    let mut command = peer_command("client-extras.mjs");
    command
        .arg(&node.url)
        // The official schemas vendored in the clone (lexicons/), as the node itself uses.
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lexicons"))
        .arg(&service_did);
    let output = tokio::time::timeout(PEER_TIMEOUT, command.output())
        .await
        .expect("client-extras.mjs did not finish within the timeout")
        .expect("running Node 22");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client-extras.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("client-extras.mjs printed no JSON summary ({e}): {stdout}"));
    for nsid in [
        "app.bsky.bookmark.getBookmarks",
        "app.bsky.notification.getPreferences",
        "app.bsky.notification.putPreferencesV2",
        "com.atproto.moderation.createReport",
    ] {
        assert!(
            summary["validated"].get(nsid).is_some(),
            "{nsid} was never validated: {summary}"
        );
    }
    println!("@atproto/api client extras against {}: {summary}", node.url);

    // The admin's view of the three reports the members filed.
    let c = Xrpc::new(&node);
    let filed: Vec<u64> = summary["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    let (r1, r2, r3) = (filed[0], filed[1], filed[2]);
    let (bob, carol) = (
        summary["users"]["bob"].as_str().unwrap(),
        summary["users"]["carol"].as_str().unwrap(),
    );
    let (status, all) = c.admin_get("/admin/reports").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(ids(&all), vec![r3, r2, r1], "newest first: {all}");
    let first = &all["reports"][2];
    assert_eq!(first["state"], "open");
    assert_eq!(first["reportedBy"], bob);
    assert_eq!(first["subject"]["did"], carol);
    assert_eq!(first["reason"], "posts the same link everywhere");
    assert_eq!(all["reports"][1]["modTool"], "skyhold-web/test");
    let (_, about_carol) = c
        .admin_get(&format!("/admin/reports?subject={carol}"))
        .await;
    assert_eq!(ids(&about_carol), vec![r1]);
    let (_, by_bob) = c
        .admin_get(&format!("/admin/reports?reportedBy={bob}"))
        .await;
    assert_eq!(ids(&by_bob), vec![r2, r1]);
    let (_, page) = c.admin_get("/admin/reports?limit=2").await;
    assert_eq!(ids(&page), vec![r3, r2]);
    let cursor = page["cursor"].as_str().expect("a full page has a cursor");
    let (_, rest) = c
        .admin_get(&format!("/admin/reports?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest), vec![r1]);
    assert!(rest.get("cursor").is_none(), "{rest}");

    let (status, resolved) = c
        .admin_post(
            &format!("/admin/reports/{r1}/resolve"),
            json!({"note": "warned carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["resolution"], "warned carol");
    assert!(resolved["resolvedAt"].is_string());
    let (_, again) = c
        .admin_post(&format!("/admin/reports/{r1}/resolve"), json!({}))
        .await;
    assert_eq!(again, resolved, "resolving twice changes nothing");
    let (_, open) = c.admin_get("/admin/reports?state=open").await;
    assert_eq!(ids(&open), vec![r3, r2]);
    let (_, done) = c.admin_get("/admin/reports?state=resolved").await;
    assert_eq!(ids(&done), vec![r1]);
    let (_, one) = c.admin_get(&format!("/admin/reports/{r1}")).await;
    assert_eq!(one, resolved);
    expect(
        "an unknown report",
        c.admin_post("/admin/reports/999999/resolve", json!({}))
            .await,
        404,
        "ReportNotFound",
    );
    expect(
        "a bad state",
        c.admin_get("/admin/reports?state=closed").await,
        400,
        "InvalidRequest",
    );
    expect(
        "reports without the admin password",
        c.get("/admin/reports", None).await,
        401,
        "AuthenticationRequired",
    );

    // The operator's command line reads the same queue.
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
    let listed = run(&["report", "list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed
            .lines()
            .next()
            .unwrap()
            .starts_with(&format!("#{r3}  open")),
        "{listed}"
    );
    let listed = run(&[
        "report",
        "list",
        "--state",
        "all",
        "--subject",
        "carol.test",
    ]);
    assert!(
        listed.contains(&format!("#{r1}  resolved")) && listed.contains("reasonSpam"),
        "{listed}"
    );
    run(&[
        "report",
        "resolve",
        &r2.to_string(),
        "--note",
        "not harassment",
    ]);
    let shown: Value = serde_json::from_str(&run(&["report", "show", &r2.to_string()])).unwrap();
    assert_eq!(shown["resolution"], "not harassment");

    // A taken-down account may only appeal, once at a time, about its own account.
    let (status, body) = c
        .admin_post(
            "/xrpc/com.atproto.admin.updateSubjectStatus",
            json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": carol},
                   "takedown": {"applied": true, "ref": "report-1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, session) = c
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "carol.test", "password": "carol-password", "allowTakendown": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let takendown = session["accessJwt"].as_str().unwrap();
    let own = json!({"$type": "com.atproto.admin.defs#repoRef", "did": carol});
    expect(
        "a report from a taken-down account",
        c.post(
            "com.atproto.moderation.createReport",
            Some(takendown),
            json!({"reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": {"$type": "com.atproto.admin.defs#repoRef", "did": bob}}),
        )
        .await,
        403,
        "AccountTakedown",
    );
    let appeal = json!({"reasonType": "com.atproto.moderation.defs#reasonAppeal", "reason": "it was a mistake", "subject": own});
    let (status, appealed) = c
        .post(
            "com.atproto.moderation.createReport",
            Some(takendown),
            appeal.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{appealed}");
    assert_eq!(appealed["reportedBy"], carol);
    expect(
        "a second appeal while one is open",
        c.post(
            "com.atproto.moderation.createReport",
            Some(takendown),
            appeal.clone(),
        )
        .await,
        403,
        "AlreadyAppealed",
    );
    let appeal_id = appealed["id"].as_u64().unwrap();
    let (_, about_carol) = c
        .admin_get(&format!("/admin/reports?subject={carol}&state=open"))
        .await;
    assert_eq!(ids(&about_carol), vec![appeal_id]);

    // A report addressed to another moderation service is proxied there, not kept here.
    let (_, bob_session) = c
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "bob.test", "password": "bob-password"}),
        )
        .await;
    let response = reqwest::Client::new()
        .post(c.base.clone() + "/xrpc/com.atproto.moderation.createReport")
        .bearer_auth(bob_session["accessJwt"].as_str().unwrap())
        .header("atproto-proxy", "did:web:mod.invalid#atproto_labeler")
        .json(&json!({"reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": own}))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
    let (_, after) = c.admin_get("/admin/reports?state=all").await;
    assert_eq!(
        ids(&after).len(),
        4,
        "the proxied report was not stored: {after}"
    );
}
