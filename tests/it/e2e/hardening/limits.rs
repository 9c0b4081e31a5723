//! Rate limits (H1, H6, L2): a login storm stays within a memory bound and gets 429s; the
//! reference's limits answer `429 RateLimitExceeded` with its `RateLimit-*` headers; limits are
//! configurable and those of an hour or more, and the admin back-off, survive a restart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::error_of;
use crate::harness::{Node, http, proc_status_kb};
use crate::xrpc::Xrpc;

async fn login(node: &Node, identifier: &str, password: &str) -> reqwest::Response {
    http()
        .post(node.xrpc("com.atproto.server.createSession"))
        .json(&json!({"identifier": identifier, "password": password}))
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers()))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// Several client threads, so 256 requests go out at once even on a loaded machine; a long header
// timeout (a setting), so a client slow to send its request under that load is not what is tested.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_storm_stays_within_a_memory_bound_and_gets_429s() {
    let node = Node::start(&["--header-timeout-secs", "60"]).await;
    let xrpc = Xrpc::new(&node);
    xrpc.account("alice.test").await;
    xrpc.account("bob.test").await;
    let before = proc_status_kb(node.pid(), "VmRSS");
    // 256 wrong-password logins at once: half for one account, half for identifiers that do not
    // exist (each its own rate-limit key, so they reach the password check).
    let mut tasks = Vec::new();
    for n in 0..256 {
        let url = node.xrpc("com.atproto.server.createSession");
        let identifier = if n % 2 == 0 {
            "alice.test".to_owned()
        } else {
            format!("nobody{n}.test")
        };
        tasks.push(tokio::spawn(async move {
            http()
                .post(url)
                .json(
                    &json!({"identifier": identifier, "password": format!("concurrent-wrong-{n}")}),
                )
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let (mut refused, mut limited) = (0, 0);
    for task in tasks {
        match task.await.unwrap().as_u16() {
            401 => refused += 1,
            429 => limited += 1,
            other => panic!("a storm login answered {other}"),
        }
    }
    let peak = proc_status_kb(node.pid(), "VmHWM");
    println!(
        "login storm: 256 concurrent wrong logins -> {refused} x 401, {limited} x 429; \
         RSS {before} kB before, peak {peak} kB (+{} MB)",
        peak.saturating_sub(before) / 1024
    );
    assert!(limited >= 128, "the storm was not limited: {limited} x 429");
    assert!(
        peak < before + 200 * 1024,
        "memory grew from {before} kB to {peak} kB"
    );
    // Another account is not affected; the stormed one waits out its window, right password too.
    assert_eq!(
        login(&node, "bob.test", "correct horse battery")
            .await
            .status(),
        200
    );
    let response = login(&node, "alice.test", "correct horse battery").await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn the_reference_limits_answer_429_with_its_headers() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, token) = xrpc.account("carol.test").await;

    // createSession: 30 per 5 minutes per identifier and address.
    let first = login(&node, "carol.test", "wrong password").await;
    assert_eq!(first.status(), 401);
    assert_eq!(header(&first, "ratelimit-limit"), "30");
    assert_eq!(header(&first, "ratelimit-remaining"), "29");
    assert_eq!(header(&first, "ratelimit-policy"), "30;w=300");
    for _ in 1..30 {
        assert_eq!(login(&node, "carol.test", "wrong").await.status(), 401);
    }
    let refused = login(&node, "carol.test", "wrong").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    let reset: u64 = header(&refused, "ratelimit-reset").parse().unwrap();
    assert!(
        reset > now() && reset <= now() + 301,
        "reset {reset} is not within the window"
    );
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=300).contains(&retry), "retry-after {retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(error_of(&body), "RateLimitExceeded", "{body}");

    // requestPasswordReset: 15 per hour per address (each would send a mail).
    for n in 0..15 {
        let (status, body) = xrpc
            .post(
                "com.atproto.server.requestPasswordReset",
                None,
                json!({"email": "carol-test@example.com"}),
            )
            .await;
        assert_eq!(status, 200, "reset {n}: {body}");
    }
    let (status, body) = xrpc
        .post(
            "com.atproto.server.requestPasswordReset",
            None,
            json!({"email": "carol-test@example.com"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (429, "RateLimitExceeded")
    );

    // updateHandle: 10 per 5 minutes per account (each is a PLC operation, and may be a
    // certificate order).
    for n in 0..10 {
        let (status, body) = xrpc
            .post(
                "com.atproto.identity.updateHandle",
                Some(&token),
                json!({"handle": format!("carol{n}.test")}),
            )
            .await;
        assert_eq!(status, 200, "handle {n}: {body}");
    }
    let (status, body) = xrpc
        .post(
            "com.atproto.identity.updateHandle",
            Some(&token),
            json!({"handle": "carol-again.test"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (429, "RateLimitExceeded")
    );
    let (status, _) = xrpc
        .get(
            &format!("/xrpc/com.atproto.repo.describeRepo?repo={did}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "other calls go on");
}

#[tokio::test]
async fn configured_limits_apply_and_long_windows_survive_a_restart() {
    let limits = "repo-write-hour=30/1h,login-day=5/1d,global-ip=300/5m";
    let mut node = Node::start(&["--rate-limits", limits]).await;
    let xrpc = Xrpc::new(&node);
    let (did, token) = xrpc.account("dave.test").await;
    let create = |n: usize| {
        json!({"repo": did, "collection": "app.bsky.feed.post",
               "record": {"$type": "app.bsky.feed.post", "text": format!("post {n}"),
                          "createdAt": "2026-01-01T00:00:00.000Z"}})
    };
    // Repo writes by points: a create is 3 of the 30.
    for n in 0..10 {
        let (status, body) = xrpc
            .post("com.atproto.repo.createRecord", Some(&token), create(n))
            .await;
        assert_eq!(status, 200, "write {n}: {body}");
    }
    let (status, body) = xrpc
        .post("com.atproto.repo.createRecord", Some(&token), create(10))
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (429, "RateLimitExceeded")
    );
    let (status, _) = xrpc
        .post(
            "com.atproto.repo.applyWrites",
            Some(&token),
            json!({"repo": did, "writes": [{"$type": "com.atproto.repo.applyWrites#delete",
                   "collection": "app.bsky.feed.post", "rkey": "x"}]}),
        )
        .await;
    assert_eq!(status, 429, "a delete's point does not fit either");
    // Logins per day.
    for _ in 0..5 {
        assert_eq!(login(&node, "dave.test", "wrong").await.status(), 401);
    }
    assert_eq!(login(&node, "dave.test", "wrong").await.status(), 429);
    // The admin password: five free failures.
    let admin = |password: &'static str, url: String| async move {
        http()
            .get(url)
            .basic_auth("admin", Some(password))
            .send()
            .await
            .unwrap()
            .status()
    };
    let codes = format!("{}/admin/codes", node.url);
    for _ in 0..5 {
        assert_eq!(admin("wrong-password", codes.clone()).await, 401);
    }

    // A restart (SIGTERM: the windows are written at shutdown) keeps what an attacker spent.
    let dir = node.keep_data();
    assert!(node.terminate().unwrap().success());
    let node = Node::start_in(&node.data, node.port, &["--rate-limits", limits]).await;
    let _dir = dir;
    let xrpc = Xrpc::new(&node);
    let (status, _) = xrpc
        .post("com.atproto.repo.createRecord", Some(&token), create(11))
        .await;
    assert_eq!(status, 429, "the hour's repo writes were forgotten");
    assert_eq!(
        login(&node, "dave.test", "correct horse battery")
            .await
            .status(),
        429,
        "the day's logins were forgotten"
    );
    // The sixth admin failure is the first that costs a wait: the five before were remembered.
    let codes = format!("{}/admin/codes", node.url);
    assert_eq!(admin("wrong-password", codes.clone()).await, 401);
    let refused = http()
        .get(&codes)
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right password waits out the back-off too"
    );
    // The one-second wait ends within two seconds (whole seconds, rounded up).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = xrpc.admin_get("/admin/codes").await;
    assert_eq!(status, 200, "after the wait the admin gets in");

    // The global limit per address (300 per 5 minutes here).
    let mut answered = 0;
    let mut limited = None;
    for n in 0..400 {
        let (status, body) = xrpc
            .get("/xrpc/com.atproto.server.describeServer", None)
            .await;
        if status == 429 {
            assert_eq!(error_of(&body), "RateLimitExceeded");
            limited = Some(n);
            break;
        }
        answered += 1;
    }
    println!("global limit: {answered} calls answered before the first 429");
    assert!(limited.is_some(), "400 calls and no 429");
}

#[tokio::test]
async fn the_relay_admin_password_has_the_same_back_off() {
    let node = Node::start(&[]).await;
    let relay = format!("127.0.0.1:{}", node.relay_port());
    let url = format!("http://{relay}/admin/stats");
    for _ in 0..5 {
        let status = http()
            .get(&url)
            .basic_auth("admin", Some("wrong-password"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    // Failures past the free ones start waits of 1, 2 and then 4 seconds, counted in whole seconds:
    // a 1-second wait can be over before the next request on a busy machine. Wait out the short
    // ones (429s meanwhile) until the eighth failure is compared; its wait lasts at least 3 s.
    let mut compared = 5;
    while compared < 8 {
        let status = http()
            .get(&url)
            .basic_auth("admin", Some("wrong-password"))
            .send()
            .await
            .unwrap()
            .status();
        match status.as_u16() {
            401 => compared += 1,
            429 => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            other => panic!("a wrong admin password got {other}"),
        }
    }
    let status = http()
        .get(&url)
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 429,
        "within the wait even the right password is refused"
    );
}
