//! The crash test's checks after a restart: each repo against the model, every record read back,
//! and the firehose log replayed from cursor 0.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use skyhold::core::crypto::PublicKey;
use skyhold::core::firehose::{Frame, Message, decode_frame};
use skyhold::core::mst::Mst;
use skyhold::core::repo::{load_car, verify_repo};

use super::model::{Owned, split_path};
use crate::harness::Node;

/// How long the firehose may stay silent before the replay counts as stalled.
const FIREHOSE_FRAME_TIMEOUT: Duration = Duration::from_secs(20);
/// Concurrent getRecord checks after a restart.
const READ_CONCURRENCY: usize = 16;

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What one repo check found.
#[derive(Default)]
pub struct Checked {
    pub records: usize,
    pub deletes: usize,
    pub in_flight_landed: usize,
}

/// Checks one account's repo after a restart against the tasks that write to it, and settles the
/// in-flight writes to what actually landed. Returns the repo's rev.
pub async fn check_repo(
    client: &reqwest::Client,
    node: &Node,
    did: &str,
    tasks: &mut [&mut Owned],
    checked: &mut Checked,
) -> String {
    let (status, latest) = get_json(
        client,
        &format!(
            "{}?did={did}",
            node.xrpc("com.atproto.sync.getLatestCommit")
        ),
    )
    .await;
    assert_eq!(status, 200, "getLatestCommit {did}: {latest}");

    let car = client
        .get(format!(
            "{}?did={did}",
            node.xrpc("com.atproto.sync.getRepo")
        ))
        .send()
        .await
        .expect("getRepo")
        .bytes()
        .await
        .expect("getRepo body");
    let repo = load_car(&car[..]).unwrap_or_else(|e| panic!("getRepo {did}: {e}"));
    let (status, document) = get_json(client, &format!("{}/plc/{did}", node.url)).await;
    assert_eq!(status, 200, "DID document of {did}: {document}");
    let method = document["verificationMethod"]
        .as_array()
        .and_then(|methods| {
            methods
                .iter()
                .find(|m| m["id"].as_str().is_some_and(|id| id.ends_with("#atproto")))
        })
        .unwrap_or_else(|| panic!("no #atproto key in {document}"));
    let key = PublicKey::from_verification_method(
        method["type"].as_str().unwrap(),
        method["publicKeyMultibase"].as_str().unwrap(),
    )
    .unwrap();
    let report = verify_repo(&repo, Some(&key))
        .unwrap_or_else(|e| panic!("the repo of {did} does not verify after the restart: {e}"));
    assert_eq!(
        repo.commit_cid.to_string(),
        latest["cid"],
        "{did}: getRepo vs getLatestCommit"
    );
    assert_eq!(report.rev, latest["rev"].as_str().unwrap(), "{did}: rev");

    let tree = Mst::load(&repo.blocks, repo.commit.data).unwrap();
    let mut actual: BTreeMap<String, String> = tree
        .entries(&repo.blocks)
        .unwrap()
        .into_iter()
        .map(|(path, cid)| (path, cid.to_string()))
        .collect();

    for task in tasks.iter_mut() {
        for (path, before, after) in std::mem::take(&mut task.in_flight) {
            let now = actual.get(&path).cloned();
            assert!(
                now == before || now == after,
                "{did}: {path} is {now:?} after the in-flight write from {before:?} to {after:?}"
            );
            if now == after && now != before {
                checked.in_flight_landed += 1;
            }
            task.set(&path, now);
        }
        for (path, cid) in &task.present {
            let now = actual.remove(path);
            assert_eq!(
                now.as_deref(),
                Some(cid.as_str()),
                "{did}: acknowledged record {path} (task {}) after the restart",
                task.task
            );
            checked.records += 1;
        }
        for path in &task.deleted {
            assert!(
                !actual.contains_key(path),
                "{did}: acknowledged delete of {path} (task {}) undone by the restart",
                task.task
            );
            checked.deletes += 1;
        }
    }
    // What is left was written by a createRecord in flight (server-chosen rkey), or by nobody.
    for (path, cid) in actual {
        let owner = tasks
            .iter_mut()
            .find(|t| t.in_flight_tid_create.as_deref() == Some(cid.as_str()))
            .unwrap_or_else(|| {
                panic!("{did}: {path} ({cid}) is in the repo but was never written")
            });
        owner.in_flight_tid_create = None;
        owner.set(&path, Some(cid));
        checked.in_flight_landed += 1;
    }
    for task in tasks.iter_mut() {
        task.in_flight_tid_create = None;
    }
    report.rev
}

/// Reads every modelled record back through getRecord: present ones with their CID, deleted ones
/// as RecordNotFound.
pub async fn check_reads(client: &reqwest::Client, node: &Node, tasks: &[Owned]) {
    let mut reads = Vec::new();
    for task in tasks {
        for (path, cid) in &task.present {
            reads.push((task.did.clone(), path.clone(), Some(cid.clone())));
        }
        for path in &task.deleted {
            reads.push((task.did.clone(), path.clone(), None));
        }
    }
    let base = node.xrpc("com.atproto.repo.getRecord");
    futures_util::stream::iter(reads)
        .map(|(did, path, cid)| {
            let url = {
                let (collection, rkey) = split_path(&path);
                format!("{base}?repo={did}&collection={collection}&rkey={rkey}")
            };
            async move {
                let (status, body) = get_json(client, &url).await;
                match cid {
                    Some(cid) => {
                        assert_eq!(status, 200, "getRecord {did}/{path}: {body}");
                        assert_eq!(body["cid"], cid.as_str(), "getRecord {did}/{path}");
                    }
                    None => {
                        assert_eq!(status, 400, "deleted {did}/{path}: {body}");
                        assert_eq!(body["error"], "RecordNotFound", "deleted {did}/{path}");
                    }
                }
            }
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

/// Replays the firehose from cursor 0 until every repo's latest commit has been seen; checks seq
/// order, each repo's `since` chain, and that every acknowledged rev has a `#commit`. Returns the
/// number of events read.
pub async fn check_firehose(
    node: &Node,
    latest: &BTreeMap<String, String>,
    acked: &BTreeSet<(String, String)>,
) -> usize {
    let url = format!(
        "ws://127.0.0.1:{}/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        node.port
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connecting to subscribeRepos");
    let mut last_seq = 0i64;
    let mut events = 0usize;
    let mut heads: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let caught_up = |heads: &BTreeMap<String, String>| {
        latest.iter().all(|(did, rev)| heads.get(did) == Some(rev))
    };
    while !caught_up(&heads) {
        let frame = tokio::time::timeout(FIREHOSE_FRAME_TIMEOUT, socket.next())
            .await
            .unwrap_or_else(|_| {
                panic!("firehose stalled after seq {last_seq}: heads {heads:?}, want {latest:?}")
            })
            .expect("firehose closed")
            .expect("firehose read");
        let bytes = match frame {
            tokio_tungstenite::tungstenite::Message::Binary(bytes) => bytes,
            tokio_tungstenite::tungstenite::Message::Ping(_)
            | tokio_tungstenite::tungstenite::Message::Pong(_) => continue,
            other => panic!("unexpected firehose frame {other:?}"),
        };
        let message = match decode_frame(&bytes).expect("firehose frame decodes") {
            Frame::Message(message) => message,
            other => panic!("firehose sent {other:?}"),
        };
        let seq = message.seq().expect("every replayed event has a seq");
        assert!(seq > last_seq, "firehose seq {seq} after {last_seq}");
        last_seq = seq;
        events += 1;
        if let Message::Commit(commit) = message {
            let previous = heads.get(&commit.repo);
            assert_eq!(
                commit.since.as_ref(),
                previous,
                "seq {seq}: {} commit {} does not follow the previous commit",
                commit.repo,
                commit.rev
            );
            if let Some(previous) = previous {
                assert!(commit.rev > *previous, "seq {seq}: rev went backwards");
            }
            seen.insert((commit.repo.clone(), commit.rev.clone()));
            heads.insert(commit.repo, commit.rev);
        }
    }
    let missing: Vec<_> = acked.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged commits have no #commit event, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    events
}
