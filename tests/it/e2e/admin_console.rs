//! The admin role, the audit log and `/metrics` over HTTP, as the console and a homelab's
//! Prometheus use them: only the admin password grants the role; a member with the role uses admin
//! methods from a full session (never an app password, never without the role); every admin action
//! lands in the audit log with who did it; `/metrics` answers the operator in the Prometheus text
//! format, counts calls by method and outcome, rate-limit refusals and backups, and serves every
//! family the sample Grafana dashboard (`packaging/grafana-dashboard.json`) charts.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Node, TempDir, http, skyhold};

const PASSWORD: &str = "correct horse battery";

struct Member {
    did: String,
    token: String,
}

async fn create_account(client: &reqwest::Client, node: &Node, handle: &str) -> Member {
    let response = client
        .post(node.xrpc("com.atproto.server.createAccount"))
        .json(
            &json!({"handle": handle, "email": format!("{handle}@example.com"),
                      "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "createAccount {handle}");
    let body: Value = response.json().await.unwrap();
    Member {
        did: body["did"].as_str().unwrap().to_owned(),
        token: body["accessJwt"].as_str().unwrap().to_owned(),
    }
}

/// A call with a bearer token or the admin password: (status, body).
async fn call(
    client: &reqwest::Client,
    node: &Node,
    nsid: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = match &body {
        Some(body) => client.post(node.xrpc(nsid)).json(body),
        None => client.get(node.xrpc(nsid)),
    };
    request = match auth {
        Some("admin-password") => request.basic_auth("admin", Some(&node.admin_password)),
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The metric family names a dashboard expression reads.
fn dashboard_families() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/grafana-dashboard.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut families = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("skyhold_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                families.insert(name);
            }
        }
    }
    families
}

/// Checks the text format line by line and returns the families with their samples.
fn parse_exposition(text: &str) -> std::collections::BTreeMap<String, Vec<(String, f64)>> {
    let mut families = std::collections::BTreeMap::<String, Vec<(String, f64)>>::new();
    let mut typed = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert!(typed.insert(name.to_owned()), "{name} typed twice");
            families.entry(name.to_owned()).or_default();
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let name = series.split('{').next().unwrap();
        assert!(typed.contains(name), "{name} has samples before its TYPE");
        families
            .get_mut(name)
            .unwrap()
            .push((series.to_owned(), value));
    }
    families
}

#[tokio::test]
async fn the_admin_role_the_audit_log_and_metrics() {
    // getRepo once per five minutes, so a second call is refused and counted.
    let node = Node::start(&["--rate-limits", "sync-get-repo=1/5m"]).await;
    let client = http();
    let boss = create_account(&client, &node, "boss.test").await;
    let eve = create_account(&client, &node, "eve.test").await;

    // Without the role, admin methods are refused; nobody but the admin password grants it.
    let (status, _) = call(
        &client,
        &node,
        "blue.skyhold.admin.listAccounts",
        Some(&boss.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, role) = call(
        &client,
        &node,
        "blue.skyhold.admin.getRole",
        Some(&boss.token),
        None,
    )
    .await;
    assert_eq!(role["admin"], false);
    let grant = json!({"account": "boss.test", "admin": true});
    let (status, _) = call(
        &client,
        &node,
        "blue.skyhold.admin.updateRole",
        Some(&boss.token),
        Some(grant.clone()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member cannot make itself an admin"
    );
    let (status, body) = call(
        &client,
        &node,
        "blue.skyhold.admin.updateRole",
        Some("admin-password"),
        Some(grant.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true);
    let (_, role) = call(
        &client,
        &node,
        "blue.skyhold.admin.getRole",
        Some(&boss.token),
        None,
    )
    .await;
    assert_eq!(role["admin"], true);
    // Even an admin's session cannot make admins.
    let (status, _) = call(
        &client,
        &node,
        "blue.skyhold.admin.updateRole",
        Some(&boss.token),
        Some(json!({"account": "eve.test", "admin": true})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin takes an account down from a session; the audit log says who did what to whom.
    let (status, body) = call(
        &client,
        &node,
        "com.atproto.admin.updateSubjectStatus",
        Some(&boss.token),
        Some(
            json!({"subject": {"$type": "com.atproto.admin.defs#repoRef", "did": eve.did},
                    "takedown": {"applied": true, "ref": "Spam after a warning"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, log) = call(
        &client,
        &node,
        "blue.skyhold.admin.getAuditLog",
        Some(&boss.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["entries"].as_array().unwrap();
    let takedown = entries
        .iter()
        .find(|e| e["subject"] == eve.did.as_str())
        .unwrap_or_else(|| panic!("no entry about the taken-down account: {log}"));
    assert_eq!(takedown["actor"], boss.did.as_str(), "{takedown}");
    assert!(
        takedown["action"].as_str().unwrap().contains("takedown"),
        "{takedown}"
    );
    assert!(
        takedown.to_string().contains("Spam after a warning"),
        "the reason is kept: {takedown}"
    );
    let grant = entries
        .iter()
        .find(|e| e["action"] == "role.grant")
        .unwrap_or_else(|| panic!("no role.grant entry: {log}"));
    assert_eq!(grant["actor"], "admin-password");
    assert_eq!(grant["subject"], boss.did.as_str());
    // A page of one has a cursor to the rest.
    let (_, page) = call(
        &client,
        &node,
        "blue.skyhold.admin.getAuditLog?limit=1",
        Some(&boss.token),
        None,
    )
    .await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);
    assert!(page["cursor"].is_string(), "{page}");

    // A rate-limit refusal and a backup, so their families have samples.
    for expected in [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
        let response = client
            .get(format!(
                "{}?did={}",
                node.xrpc("com.atproto.sync.getRepo"),
                boss.did
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected);
    }
    let dir = TempDir::new("metrics-backup");
    let output = skyhold()
        .args(["backup", "--config", "/dev/null", "--url", &node.url])
        .args(["--admin-password", &node.admin_password])
        .arg(dir.0.join("backup"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // /metrics: the operator only.
    let metrics = format!("{}/metrics", node.url);
    assert_eq!(
        client.get(&metrics).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let member = create_account(&client, &node, "finn.test").await;
    assert_eq!(
        client
            .get(&metrics)
            .bearer_auth(&member.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        client
            .get(&metrics)
            .bearer_auth(&boss.token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "an admin's session reads them too"
    );
    let response = client
        .get(&metrics)
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let families = parse_exposition(&text);

    let value = |series: &str| -> f64 {
        families
            .values()
            .flatten()
            .find(|(s, _)| s == series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .1
    };
    assert_eq!(
        value(
            r#"skyhold_xrpc_requests_total{method="com.atproto.server.createAccount",outcome="ok"}"#
        ),
        3.0
    );
    assert!(
        value(
            r#"skyhold_xrpc_requests_total{method="blue.skyhold.admin.listAccounts",outcome="client_error"}"#
        ) >= 1.0
    );
    assert_eq!(
        value(r#"skyhold_rate_limited_total{method="com.atproto.sync.getRepo"}"#),
        1.0
    );
    assert_eq!(value(r#"skyhold_accounts{status="active"}"#), 2.0);
    assert_eq!(value(r#"skyhold_accounts{status="takendown"}"#), 1.0);
    assert!(value("skyhold_store_database_bytes") > 0.0);
    // Each of the three sign-ups committed at least once.
    assert!(value("skyhold_store_commits_total") >= 3.0);
    let backup_at = value("skyhold_last_backup_timestamp_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - backup_at).abs() < 600.0,
        "backup at {backup_at}, now {now}"
    );

    // Every family the sample dashboard charts is served (certificates only when the node
    // handles TLS itself: tests/it/e2e/tls.rs runs such nodes).
    let charted = dashboard_families();
    assert!(charted.len() >= 15, "{charted:?}");
    for family in &charted {
        if family == "skyhold_tls_certificate_expiry_timestamp_seconds" {
            continue;
        }
        let samples = families
            .get(family)
            .unwrap_or_else(|| panic!("the dashboard charts {family}, which /metrics lacks"));
        assert!(!samples.is_empty(), "{family} has no samples");
    }
}
