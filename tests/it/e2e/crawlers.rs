//! `--crawlers`: a node tells relays about itself (`com.atproto.sync.requestCrawl`) at start, as
//! the reference PDS does for `PDS_CRAWLERS`. Node B's relay is node A's crawler: after A starts,
//! B's relay follows A without anyone asking by hand, and a post on A reaches B's firehose and B's
//! App View. A crawler that is down shows as failing (admin endpoint and `skyhold doctor`) and is
//! retried with growing waits until it comes up; a crawler that never answers delays no write.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use serde_json::Value;
use skyhold::core::firehose::{Frame, Message, decode_frame};
use skyhold::core::syntax::Datetime;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::appview::{Account, Client};
use crate::harness::{Node, TempDir, http, skyhold};

/// How long any one expected change may take (generous: two cores shared with builds). The
/// retries of a crawler that is down come 10 s, 20 s, 40 s, 80 s after its failures.
const WAIT: Duration = Duration::from_secs(120);

/// Polls `check` until it returns `Ok`, panicking with `what` and the last error after [`WAIT`].
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(found) => return found,
            Err(e) if start.elapsed() > WAIT => panic!("timed out waiting for {what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `blue.skyhold.admin.listCrawlers` on `node`, with the admin password.
async fn crawlers(node: &Node) -> Vec<Value> {
    let response = http()
        .get(node.xrpc("blue.skyhold.admin.listCrawlers"))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .expect("listCrawlers");
    assert!(
        response.status().is_success(),
        "listCrawlers: {}",
        response.status()
    );
    let body: Value = response.json().await.expect("listCrawlers JSON");
    body["crawlers"].as_array().cloned().unwrap_or_default()
}

/// The crawler with base URL `url` in `node`'s status.
async fn crawler(node: &Node, url: &str) -> Value {
    let all = crawlers(node).await;
    let found = all.iter().find(|c| c["url"] == url);
    found
        .cloned()
        .unwrap_or_else(|| panic!("{url} not among {all:?}"))
}

/// The hosts `node`'s relay follows (its public `com.atproto.sync.listHosts`).
async fn relay_hosts(node: &Node) -> Vec<String> {
    let url = format!("{}/xrpc/com.atproto.sync.listHosts", node.relay());
    let Ok(response) = http().get(url).send().await else {
        return Vec::new();
    };
    let body: Value = response.json().await.unwrap_or(Value::Null);
    body["hosts"]
        .as_array()
        .map(|hosts| {
            hosts
                .iter()
                .filter_map(|h| h["hostname"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn micros(datetime: &Value) -> i64 {
    let text = datetime.as_str().expect("a datetime");
    Datetime::parse(text)
        .expect("a valid datetime")
        .to_unix_micros()
}

/// Follows `relay`'s firehose from the start until a `#commit` of `did` creates `path`.
async fn commit_arrives(relay: &str, did: &str, path: &str) {
    let url = format!(
        "{}/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        relay.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("connecting to the relay's firehose");
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = socket.next().await {
            let WsMessage::Binary(bytes) = frame else {
                continue;
            };
            if let Ok(Frame::Message(Message::Commit(commit))) = decode_frame(&bytes)
                && commit.repo == did
                && commit
                    .ops
                    .iter()
                    .any(|op| op.action == "create" && op.path == path)
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "{path} of {did} on {relay}'s firehose");
}

#[tokio::test]
async fn a_crawler_follows_the_node_from_its_start_and_carries_its_posts() {
    let b = Node::start(&[]).await;
    let plc = format!("{}/plc", b.url);
    let b_relay = format!("http://127.0.0.1:{}", b.relay_port());
    // A's accounts live in B's PLC directory, so B's relay can check their signatures.
    let a = Node::start(&["--plc-url", &plc, "--crawlers", &b_relay]).await;
    let a_host = format!("localhost:{}", a.port);

    // Nobody asks B by hand: A's start is enough.
    relay_follows(&b, &a_host, "B's relay follows A").await;
    let told = crawler_ok(&a, &b_relay, "A's status says B took the request").await;
    assert_eq!(told["status"], 200, "{told}");
    assert_eq!(told["failures"], 0, "{told}");
    assert!(told["lastSuccessAt"].is_string(), "{told}");
    assert_eq!(
        told["waitingForEvents"], true,
        "told about everything: {told}"
    );
    assert_eq!(
        micros(&told["notBefore"]) - micros(&told["lastAttemptAt"]),
        20 * 60 * 1_000_000,
        "not asked again for 20 minutes: {told}"
    );

    // A member's post on A reaches B's relay stream and B's App View.
    let client = Client::new(&a.url);
    let alice: Account = client.account("alice").await;
    let (uri, _) = client.post_text(&alice, "hello from node A").await;
    let path = uri
        .trim_start_matches(&format!("at://{}/", alice.did))
        .to_owned();
    commit_arrives(b.relay(), &alice.did, &path).await;
    let b_view = Client::new(&b.url);
    until("B's App View shows alice's post", || async {
        let (status, body) = b_view
            .get("app.bsky.feed.getPosts", &[("uris", &uri)], None)
            .await;
        if status.is_success() && body["posts"][0]["record"]["text"] == "hello from node A" {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    // The write was news, but within the 20 minutes: B is not asked again yet.
    let told = crawler(&a, &b_relay).await;
    assert_eq!(told["waitingForEvents"], false, "{told}");
    assert_eq!(told["nextAttemptAt"], told["notBefore"], "{told}");
}

/// A crawler that takes connections and never answers: every request to it stays pending.
struct SilentCrawler {
    url: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentCrawler {
    async fn start() -> SilentCrawler {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut head = [0u8; 4096];
                if socket.read(&mut head).await.unwrap_or(0) > 0 {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                held.push(socket);
            }
        });
        SilentCrawler {
            url,
            requests,
            task,
        }
    }
}

impl Drop for SilentCrawler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `skyhold doctor` run against `node` with a configuration file naming its settings.
fn doctor(node: &Node, crawlers: &str) -> String {
    let dir = TempDir::new("crawlers-doctor");
    let config = dir.0.join("skyhold.env");
    std::fs::write(
        &config,
        format!(
            "SKYHOLD_LISTEN=127.0.0.1:{}\nSKYHOLD_RELAY_LISTEN=127.0.0.1:{}\n\
             SKYHOLD_DATA_DIR='{}'\nSKYHOLD_CRAWLERS={crawlers}\n",
            node.port,
            node.relay_port(),
            node.data.display()
        ),
    )
    .unwrap();
    let output = skyhold()
        .args(["doctor", "--config"])
        .arg(&config)
        .env("SKYHOLD_ADMIN_PASSWORD", &node.admin_password)
        .output()
        .expect("running skyhold doctor");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_crawler_that_is_down_is_retried_with_back_off_and_delays_no_write() {
    // A port nothing listens on yet; node B's relay takes it later.
    let down_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{down_port}");
    let silent = SilentCrawler::start().await;
    let list = format!("{down},{}", silent.url);
    let a = Node::start(&["--crawlers", &list]).await;

    // The silent crawler holds A's request from the start (for up to 15 s); writes on A go on.
    until("the silent crawler is asked", || async {
        match silent.requests.load(Ordering::SeqCst) {
            0 => Err("no request yet".to_owned()),
            _ => Ok(()),
        }
    })
    .await;
    let client = Client::new(&a.url);
    let alice = client.account("alice").await;
    for n in 0..10 {
        client.post_text(&alice, &format!("post {n}")).await;
    }
    let writes_done = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let held = crawler(&a, &silent.url).await;
    assert!(
        held["inFlight"] == true || micros(&held["lastAttemptAt"]) >= writes_done,
        "the writes finished while the request to the silent crawler was pending: {held}"
    );
    if held["inFlight"] == true {
        assert_eq!(
            silent.requests.load(Ordering::SeqCst),
            1,
            "one request at a time"
        );
    }

    // The crawler that is down fails at once and is retried after 10 s, then 20 s.
    let first = until("the first failure", || async {
        let c = crawler(&a, &down).await;
        if c["state"] == "failing" {
            Ok(c)
        } else {
            Err(format!("{c}"))
        }
    })
    .await;
    assert!(first["status"].is_null(), "no HTTP answer: {first}");
    assert!(first["error"].is_string(), "{first}");
    assert!(first["lastSuccessAt"].is_null(), "{first}");
    let gap = |c: &Value| micros(&c["notBefore"]) - micros(&c["lastAttemptAt"]);
    if first["failures"] == 1 {
        assert_eq!(gap(&first), 10_000_000, "{first}");
    }
    let second = until("the first retry", || async {
        let c = crawler(&a, &down).await;
        if c["failures"] == 2 {
            Ok(c)
        } else {
            Err(format!("{c}"))
        }
    })
    .await;
    assert_eq!(gap(&second), 20_000_000, "the wait doubles: {second}");
    assert_eq!(second["nextAttemptAt"], second["notBefore"], "{second}");
    if first["failures"] == 1 {
        assert!(
            micros(&second["lastAttemptAt"]) >= micros(&first["lastAttemptAt"]) + 10_000_000,
            "retried no sooner than 10 s later: {first} then {second}"
        );
    }

    // Doctor and the console's endpoint say the same.
    let report = doctor(&a, &list);
    let line = format!("relay {down} last contacted at");
    assert!(report.contains(&line), "{report}");
    assert!(report.contains("did not answer"), "{report}");
    assert!(report.contains("failed in a row"), "{report}");
    assert!(report.contains("WARNING"), "{report}");
    let status: Value = http()
        .get(a.xrpc("blue.skyhold.admin.getServerStatus"))
        .basic_auth("admin", Some(&a.admin_password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status["federation"]["failingCrawlers"].as_u64() >= Some(1),
        "{}",
        status["federation"]
    );

    // The admin's request by hand goes the same way and counts in the status.
    let before = crawler(&a, &down).await["failures"].as_u64().unwrap();
    let asked = http()
        .post(a.xrpc("blue.skyhold.admin.requestCrawl"))
        .basic_auth("admin", Some(&a.admin_password))
        .json(&serde_json::json!({"relay": down}))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 502);
    let body: Value = asked.json().await.unwrap();
    assert_eq!(body["error"], "UpstreamFailure", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("did not answer"), "{body}");
    let after = crawler(&a, &down).await["failures"].as_u64().unwrap();
    assert!(after > before, "{before} then {after}");

    let metrics = http()
        .get(format!("{}/metrics", a.url))
        .basic_auth("admin", Some(&a.admin_password))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failures = format!("skyhold_crawler_failures{{crawler=\"{down}\"}} ");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with(&failures) && !l.ends_with(" 0")),
        "{metrics}"
    );

    // The crawler comes up (node B's relay on that port): the next retry reaches it, and B's
    // relay follows A.
    let a_plc = format!("{}/plc", a.url);
    let relay_listen = format!("127.0.0.1:{down_port}");
    let b = Node::start(&["--plc-url", &a_plc, "--relay-listen", &relay_listen]).await;
    let a_host = format!("localhost:{}", a.port);
    relay_follows(&b, &a_host, "B's relay follows A after a retry").await;
    let recovered = crawler_ok(&a, &down, "the crawler's status recovers").await;
    assert_eq!(recovered["failures"], 0, "{recovered}");
    assert_eq!(recovered["status"], 200, "{recovered}");
    let report = doctor(&a, &list);
    assert!(report.contains("answered HTTP 200"), "{report}");
}

#[tokio::test]
async fn crawlers_are_checked_at_start() {
    let dir = TempDir::new("crawlers-bad");
    let output = skyhold()
        .args(["serve", "--data-dir"])
        .arg(dir.0.join("data"))
        .args(["--listen", "127.0.0.1:0", "--relay-listen", "127.0.0.1:0"])
        .args(["--crawlers", "https://relay.example/xrpc"])
        .output()
        .expect("running skyhold");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(text.contains("--crawlers"), "{text}");
}

/// Waits until `b`'s relay follows the host `a_host`.
async fn relay_follows(b: &Node, a_host: &str, what: &str) {
    until(what, || async {
        let hosts = relay_hosts(b).await;
        if hosts.iter().any(|h| h == a_host) {
            Ok(())
        } else {
            Err(format!("{hosts:?}"))
        }
    })
    .await;
}

/// Waits until `a` reports crawler `url` as ok, and returns its status.
async fn crawler_ok(a: &Node, url: &str, what: &str) -> Value {
    until(what, || async {
        let c = crawler(a, url).await;
        if c["state"] == "ok" {
            Ok(c)
        } else {
            Err(format!("{c}"))
        }
    })
    .await
}
