//! The relay's crawl admission (M1): in production no loopback spelling is fetched; everywhere a
//! redirect is not followed, bans are checked before any fetch, and new hosts have a daily budget.
//! (The per-host account limit and lookup budget are in `relay_scenarios`, with the fake host that
//! signs commits.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Trap, error_of, production_node};
use crate::harness::{Node, http};

async fn request_crawl(relay: &str, hostname: &str) -> (u16, Value) {
    let response = http()
        .post(format!("http://{relay}/xrpc/com.atproto.sync.requestCrawl"))
        .json(&json!({"hostname": hostname}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn hosts(relay: &str) -> Vec<String> {
    let body: Value = http()
        .get(format!("http://{relay}/xrpc/com.atproto.sync.listHosts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap().to_owned())
        .collect()
}

/// A host that describes itself as an atproto server (or answers `status` with `location`);
/// counts the requests it gets.
async fn describing_host(redirect_to: Option<String>) -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/xrpc/com.atproto.server.describeServer",
        get(move || {
            let counter = counter.clone();
            let redirect_to = redirect_to.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                match redirect_to {
                    Some(location) => {
                        (axum::http::StatusCode::FOUND, [("location", location)]).into_response()
                    }
                    None => axum::Json(
                        json!({"did": "did:web:host.example", "availableUserDomains": []}),
                    )
                    .into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, hits)
}

#[tokio::test]
async fn production_crawls_no_loopback_or_private_host_in_any_spelling() {
    let trap = Trap::start().await;
    let node = production_node(&[]).await;
    let relay = format!("127.0.0.1:{}", node.relay_port());
    let t = trap.port;
    for hostname in [
        format!("127.0.0.1:{t}"),
        format!("localhost:{t}"),
        format!("2130706433:{t}"),
        format!("127.1:{t}"),
        format!("0x7f000001:{t}"),
        format!("0177.0.0.1:{t}"),
        format!("https://127.0.0.1:{t}/xrpc"),
        "10.1.2.3:8080".to_owned(),
        "169.254.169.254".to_owned(),
        "192.168.0.1:22".to_owned(),
        "metadata.google.internal".to_owned(),
    ] {
        let (status, body) = request_crawl(&relay, &hostname).await;
        assert_eq!(status, 400, "{hostname}: {body}");
    }
    assert_eq!(trap.connections(), 0, "a loopback host was fetched");
    assert!(hosts(&relay).await.is_empty(), "a refused host was added");
}

#[tokio::test]
async fn crawls_follow_no_redirect_check_bans_first_and_have_a_daily_budget() {
    let node = Node::start(&["--relay-new-hosts-per-day", "2"]).await;
    let relay = format!("127.0.0.1:{}", node.relay_port());

    // A describeServer that redirects to a service inside the network: not followed, not added.
    let (inside, inside_hits) = describing_host(None).await;
    let (redirecting, _) = describing_host(Some(format!(
        "http://127.0.0.1:{inside}/xrpc/com.atproto.server.describeServer?from=redirect"
    )))
    .await;
    let (status, body) = request_crawl(&relay, &format!("localhost:{redirecting}")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        inside_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );

    // A banned host is refused before anything is fetched from it.
    let (banned, banned_hits) = describing_host(None).await;
    let banned_host = format!("localhost:{banned}");
    let status = http()
        .post(format!("http://{relay}/admin/hosts/{banned_host}/ban"))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let (status, body) = request_crawl(&relay, &banned_host).await;
    assert_eq!((status, error_of(&body)), (400, "HostBanned"), "{body}");
    assert_eq!(
        banned_hits.load(Ordering::SeqCst),
        0,
        "a banned host was fetched"
    );

    // Two new hosts a day here; the third waits.
    let mut added = Vec::new();
    for _ in 0..2 {
        let (port, _) = describing_host(None).await;
        let host = format!("localhost:{port}");
        let (status, body) = request_crawl(&relay, &host).await;
        assert_eq!(status, 200, "{host}: {body}");
        added.push(host);
    }
    let (port, hits) = describing_host(None).await;
    let (status, body) = request_crawl(&relay, &format!("localhost:{port}")).await;
    assert_eq!(
        (status, error_of(&body)),
        (429, "RateLimitExceeded"),
        "{body}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a host over the budget was fetched"
    );
    // A host already known is no new host.
    let (status, body) = request_crawl(&relay, &added[0]).await;
    assert_eq!(status, 200, "{body}");
    let listed = hosts(&relay).await;
    for host in &added {
        assert!(listed.contains(host), "{host} missing from {listed:?}");
    }
    assert!(
        !listed.contains(&format!("localhost:{redirecting}")),
        "{listed:?}"
    );
}
