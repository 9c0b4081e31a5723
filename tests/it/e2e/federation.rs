//! Federation on loopback: node A's relay crawls node B after `requestCrawl`. B's accounts live in
//! A's embedded PLC directory (`--plc-url <A>/plc`). A Rust consumer follows A's relay stream,
//! decodes every frame and verifies every `#commit` and `#sync` (signature, MST inversion) with the
//! key from the DID document. Posts written on B, including some written before the crawl, must
//! arrive in write order, exactly once, with strictly increasing seqs. That must hold across a
//! SIGTERM restart of B and across a `kill -9` of B right after some writes. At the end, A's copy of
//! B's repo (`getRepo` on the relay) verifies and holds every record, and listHosts, getHostStatus
//! and listReposByCollection show B.
//!
//! No timing assertions: every wait polls with a generous timeout.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use skyhold::core::crypto::PublicKey;
use skyhold::core::did_document::DidDocument;
use skyhold::core::firehose::{Frame, Message, decode_frame};
use skyhold::core::mst::Mst;
use skyhold::core::repo::{
    Inversion, load_car, verify_commit_message, verify_repo, verify_sync_message,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::{Node, TempDir, http};

/// How long any one expected change may take to show up (generous: two cores shared with builds).
const WAIT: Duration = Duration::from_secs(90);

/// What the consumer saw on the relay stream, in arrival order.
#[derive(Default)]
struct Seen {
    commits: Vec<SeenCommit>,
    /// Events of each type.
    counts: HashMap<&'static str, usize>,
    /// Anything that failed verification or broke the stream's rules.
    failures: Vec<String>,
    last_seq: u64,
}

/// One `#commit` of the relay stream.
struct SeenCommit {
    seq: u64,
    repo: String,
    rev: String,
    /// (action, path, cid).
    ops: Vec<(String, String, Option<String>)>,
}

/// Polls `check` until it returns `Some`, panicking with `what` after [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn call(url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = http().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn get_json(url: &str) -> Option<Value> {
    let response = http().get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// The `#atproto` key of `did` from the PLC directory at `plc`.
async fn signing_key(plc: &str, did: &str) -> Result<PublicKey, String> {
    let doc = get_json(&format!("{plc}/{did}"))
        .await
        .ok_or_else(|| format!("{did} does not resolve at {plc}"))?;
    let doc: DidDocument = serde_json::from_value(doc).map_err(|e| e.to_string())?;
    doc.signing_key().map_err(|e| e.to_string())
}

/// Follows `url` from cursor 0, verifying every event into `seen`, until the socket ends.
async fn follow(url: String, plc: String, seen: Arc<Mutex<Seen>>) {
    let fail = |seen: &Arc<Mutex<Seen>>, why: String| seen.lock().unwrap().failures.push(why);
    let mut socket = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((socket, _)) => socket,
        Err(e) => return fail(&seen, format!("connecting to {url}: {e}")),
    };
    let mut keys: HashMap<String, PublicKey> = HashMap::new();
    while let Some(next) = socket.next().await {
        let bytes = match next {
            Ok(WsMessage::Binary(bytes)) => bytes,
            Ok(WsMessage::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let message = match decode_frame(&bytes) {
            Ok(Frame::Message(message)) => message,
            Ok(Frame::Error(e)) => return fail(&seen, format!("error frame {e:?}")),
            Ok(Frame::Unknown(_)) => continue,
            Err(e) => return fail(&seen, format!("undecodable frame: {e}")),
        };
        let seq = message
            .seq()
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0);
        let did = message.did().unwrap_or_default().to_owned();
        let key = match keys.get(&did) {
            Some(key) => Ok(key.clone()),
            None => signing_key(&plc, &did).await,
        };
        let mut seen = seen.lock().unwrap();
        *seen.counts.entry(message.type_name()).or_default() += 1;
        if let Message::Info(info) = &message {
            seen.failures.push(format!("unexpected #info {info:?}"));
            continue;
        }
        if seq <= seen.last_seq {
            let why = format!("seq {seq} after {}", seen.last_seq);
            seen.failures.push(why);
        }
        seen.last_seq = seq;
        let key = match (&message, key) {
            (Message::Commit(_) | Message::Sync(_), Err(e)) => {
                seen.failures.push(format!("seq {seq}: {e}"));
                continue;
            }
            (_, key) => key.ok(),
        };
        if let Some(key) = &key {
            keys.insert(did.clone(), key.clone());
        }
        match &message {
            Message::Commit(commit) => {
                if let Err(e) = verify_commit_message(commit, key.as_ref(), Inversion::Required) {
                    seen.failures
                        .push(format!("seq {seq}: commit of {did}: {e}"));
                }
                let ops = commit
                    .ops
                    .iter()
                    .map(|op| {
                        let cid = op.cid.map(|c| c.to_string());
                        (op.action.clone(), op.path.clone(), cid)
                    })
                    .collect();
                let rev = commit.rev.clone();
                seen.commits.push(SeenCommit {
                    seq,
                    repo: did,
                    rev,
                    ops,
                });
            }
            Message::Sync(sync) => {
                if let Err(e) = verify_sync_message(sync, key.as_ref()) {
                    seen.failures
                        .push(format!("seq {seq}: #sync of {did}: {e}"));
                }
            }
            _ => {}
        }
    }
    fail(&seen, format!("the relay stream {url} ended"));
}

/// A test account: its DID, token and the posts written to it as (path, cid), in write order.
struct Account {
    did: String,
    token: String,
    posts: Vec<(String, String)>,
}

async fn create_account(node: &Node, name: &str) -> Account {
    // Unique per call, so that names never repeat within a run.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let handle = format!("{name}-{}-{n}.test", std::process::id());
    let out = call(
        &node.xrpc("com.atproto.server.createAccount"),
        None,
        json!({"handle": handle, "email": format!("{handle}@example.com"), "password": "federate-pw-long"}),
    )
    .await;
    Account {
        did: out["did"].as_str().unwrap().to_owned(),
        token: out["accessJwt"].as_str().unwrap().to_owned(),
        posts: Vec::new(),
    }
}

async fn post(node: &Node, account: &mut Account, text: &str) {
    let out = call(
        &node.xrpc("com.atproto.repo.createRecord"),
        Some(&account.token),
        json!({"repo": account.did, "collection": "app.bsky.feed.post",
               "record": {"$type": "app.bsky.feed.post", "text": text,
                          "createdAt": "2026-11-24T10:00:00.000Z"}}),
    )
    .await;
    let uri = out["uri"].as_str().unwrap();
    let path = uri.split('/').skip(3).collect::<Vec<_>>().join("/");
    account
        .posts
        .push((path, out["cid"].as_str().unwrap().to_owned()));
}

/// The posts of `did` the relay stream carried, as (path, cid) in stream order.
fn streamed_posts(seen: &Seen, did: &str) -> Vec<(String, String)> {
    seen.commits
        .iter()
        .filter(|c| c.repo == did)
        .flat_map(|c| c.ops.iter())
        .filter(|(action, path, _)| action == "create" && path.starts_with("app.bsky.feed.post/"))
        .map(|(_, path, cid)| (path.clone(), cid.clone().unwrap_or_default()))
        .collect()
}

/// Waits until the relay stream carried every post of `account`; checks order and uniqueness.
async fn all_posts_streamed(seen: &Arc<Mutex<Seen>>, account: &Account, relay: &str, stage: &str) {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        let streamed = streamed_posts(&seen.lock().unwrap(), &account.did).len();
        if streamed >= account.posts.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (streamed, failures, commits) = {
        let seen = seen.lock().unwrap();
        let commits: Vec<_> = seen
            .commits
            .iter()
            .filter(|c| c.repo == account.did)
            .map(|c| (c.seq, c.rev.clone(), c.ops.len()))
            .collect();
        (
            streamed_posts(&seen, &account.did),
            seen.failures.clone(),
            commits,
        )
    };
    if failures.is_empty() && streamed == account.posts {
        return;
    }
    // What the relay did, for the failure message.
    let stats = http()
        .get(format!("{relay}/admin/stats"))
        .basic_auth("admin", Some("test-admin-password"))
        .send()
        .await
        .ok();
    let stats = match stats {
        Some(r) => r.text().await.unwrap_or_default(),
        None => String::new(),
    };
    assert!(failures.is_empty(), "{stage}: {failures:#?}");
    assert_eq!(
        streamed, account.posts,
        "{stage}: B's posts in A's relay stream (stream order) differ from the write order; \
         commits of B in the stream (seq, rev, ops): {commits:?}; relay stats: {stats}"
    );
}

#[tokio::test]
async fn relay_crawls_a_second_node_and_loses_nothing_across_restarts() {
    let a = Node::start(&[]).await;
    let relay = a.relay().to_owned();
    let relay_xrpc = |nsid: &str| format!("{relay}/xrpc/{nsid}");
    let plc = format!("{}/plc", a.url);

    // B: its own data directory, A's PLC directory, and its own relay listener out of the way.
    let b_dir = TempDir::new("federation-b");
    let b_data = b_dir.0.join("data");
    let b_flags = ["--plc-url", plc.as_str()];
    let mut b = Node::start_in(&b_data, 0, &b_flags).await;
    // B restarts on the port it took: its accounts' documents and A's host entry name it.
    let b_port = b.port;
    let b_host = format!("localhost:{b_port}");

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stream_url = format!(
        "ws://localhost:{}/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        a.relay_port()
    );
    let consumer = tokio::spawn(follow(stream_url, plc.clone(), seen.clone()));

    let mut alice = create_account(&a, "alice").await;
    let mut bob = create_account(&b, "bob").await;
    post(&a, &mut alice, "a post on A").await;
    // B holds content before anyone crawls it.
    post(&b, &mut bob, "before the crawl 1").await;
    post(&b, &mut bob, "before the crawl 2").await;
    // A like, deleted at the end: the relay's per-collection index must then forget it, however
    // the backfill of B's repo and the stream interleaved.
    let (first_path, first_cid) = bob.posts[0].clone();
    let like = call(
        &b.xrpc("com.atproto.repo.createRecord"),
        Some(&bob.token),
        json!({"repo": bob.did, "collection": "app.bsky.feed.like",
               "record": {"$type": "app.bsky.feed.like",
                          "subject": {"uri": format!("at://{}/{first_path}", bob.did), "cid": first_cid},
                          "createdAt": "2026-11-24T10:00:00.000Z"}}),
    )
    .await;
    let like_rkey = like["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    call(
        &relay_xrpc("com.atproto.sync.requestCrawl"),
        None,
        json!({"hostname": b_host}),
    )
    .await;
    for i in 0..3 {
        post(&b, &mut bob, &format!("after the crawl {i}")).await;
    }
    all_posts_streamed(&seen, &bob, &relay, "after requestCrawl").await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            streamed_posts(&seen, &alice.did),
            alice.posts,
            "A's own post in its relay stream"
        );
    }

    // A graceful restart of B: the relay reconnects after its cursor.
    let status = b.terminate().expect("B was running");
    assert!(status.success(), "B exited with {status} on SIGTERM");
    b = Node::start_in(&b_data, b_port, &b_flags).await;
    for i in 0..3 {
        post(&b, &mut bob, &format!("after a restart {i}")).await;
    }
    all_posts_streamed(&seen, &bob, &relay, "after B's SIGTERM restart").await;

    // kill -9 right after acknowledged writes the relay may not have read yet.
    post(&b, &mut bob, "just before kill -9 1").await;
    post(&b, &mut bob, "just before kill -9 2").await;
    b.kill();
    b = Node::start_in(&b_data, b_port, &b_flags).await;
    for i in 0..2 {
        post(&b, &mut bob, &format!("after kill -9 {i}")).await;
    }
    all_posts_streamed(&seen, &bob, &relay, "after B's kill -9").await;

    call(
        &b.xrpc("com.atproto.repo.deleteRecord"),
        Some(&bob.token),
        json!({"repo": bob.did, "collection": "app.bsky.feed.like", "rkey": like_rkey}),
    )
    .await;

    // The relay's copy of B's repo: the same head as B, verified, holding every post.
    let b_head = format!(
        "{}?did={}",
        b.xrpc("com.atproto.sync.getLatestCommit"),
        bob.did
    );
    let relay_head = format!(
        "{}?did={}",
        relay_xrpc("com.atproto.sync.getLatestCommit"),
        bob.did
    );
    let head = eventually("the relay's head of B's repo to match B's", || {
        let (b_head, relay_head) = (&b_head, &relay_head);
        async move {
            let on_b = get_json(b_head).await?;
            let on_relay = get_json(relay_head).await?;
            (on_b == on_relay).then_some(on_b)
        }
    })
    .await;
    // The copy is served once its backfill has landed and the stream has reached it.
    let get_repo = format!("{}?did={}", relay_xrpc("com.atproto.sync.getRepo"), bob.did);
    let car = eventually("the relay to serve its copy of B's repo", || {
        let get_repo = &get_repo;
        async move {
            let response = http().get(get_repo).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.bytes().await.ok()
        }
    })
    .await;
    let repo = load_car(&car[..]).expect("the relay's export of B's repo reads");
    let key = signing_key(&plc, &bob.did).await.unwrap();
    let report = verify_repo(&repo, Some(&key)).expect("the relay's export verifies");
    assert_eq!(report.commit_cid.to_string(), head["cid"], "{head}");
    assert_eq!(report.rev, head["rev"], "{head}");
    let tree = Mst::load(&repo.blocks, repo.commit.data).unwrap();
    let mut records: Vec<(String, String)> = tree
        .entries(&repo.blocks)
        .unwrap()
        .into_iter()
        .map(|(path, cid)| (path, cid.to_string()))
        .collect();
    let mut expected = bob.posts.clone();
    records.sort();
    expected.sort();
    assert_eq!(
        records, expected,
        "the records of the relay's copy of B's repo"
    );

    // B as a host of the relay, and its repo under its collection.
    let list_hosts = relay_xrpc("com.atproto.sync.listHosts");
    let host = eventually("listHosts to show B active", || {
        let (list_hosts, b_host) = (&list_hosts, &b_host);
        async move {
            let hosts = get_json(list_hosts).await?;
            hosts["hosts"]
                .as_array()?
                .iter()
                .find(|h| h["hostname"] == b_host.as_str() && h["status"] == "active")
                .cloned()
        }
    })
    .await;
    assert!(host["accountCount"].as_u64() >= Some(1), "{host}");
    assert!(host["seq"].as_u64() > Some(0), "{host}");
    let status = get_json(&format!(
        "{}?hostname={b_host}",
        relay_xrpc("com.atproto.sync.getHostStatus")
    ))
    .await
    .expect("getHostStatus of B");
    assert_eq!(status["hostname"], b_host.as_str(), "{status}");
    assert_eq!(status["accountCount"], host["accountCount"], "{status}");
    let by_collection = get_json(&format!(
        "{}?collection=app.bsky.feed.post",
        relay_xrpc("com.atproto.sync.listReposByCollection")
    ))
    .await
    .expect("listReposByCollection");
    let dids: Vec<&str> = by_collection["repos"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["did"].as_str())
        .collect();
    assert!(dids.contains(&bob.did.as_str()), "{by_collection}");
    assert!(dids.contains(&alice.did.as_str()), "{by_collection}");
    let likes = get_json(&format!(
        "{}?collection=app.bsky.feed.like",
        relay_xrpc("com.atproto.sync.listReposByCollection")
    ))
    .await
    .expect("listReposByCollection");
    assert_eq!(likes["repos"], json!([]), "B's only like was deleted");

    // Every event the relay took from B verified: nothing was dropped for a broken chain, a bad
    // signature or an invalid commit (a #sync restating a rev the relay has is dropped as old).
    let stats = http()
        .get(format!("{relay}/admin/stats"))
        .basic_auth("admin", Some(a.admin_password.as_str()))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let dropped = stats["dropped"].as_object().unwrap();
    assert!(
        dropped.keys().all(|reason| reason == "rev_not_newer"),
        "the relay dropped events: {stats}"
    );

    consumer.abort();
    let seen = seen.lock().unwrap();
    assert!(seen.failures.is_empty(), "{:#?}", seen.failures);
    let commits = seen.counts.get("#commit").copied().unwrap_or(0);
    println!(
        "federation: {} B posts in order across a SIGTERM and a kill -9 restart; relay stream \
         events verified: {:?} ({commits} commits), last seq {}; relay stats {stats}",
        bob.posts.len(),
        seen.counts,
        seen.last_seq
    );
}
