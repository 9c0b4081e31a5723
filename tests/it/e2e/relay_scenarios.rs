//! The relay against a fake upstream host: indigo's relay scenarios
//! (`indigo-testdata/cmd/relay/testing/testdata/`), and a hostile host sending forged signatures,
//! broken chains, proofs that do not invert, oversize frames, garbage and events for DIDs it does not
//! host. Valid events pass unchanged (but for seq and time); everything else is dropped and counted,
//! and the relay keeps serving.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use skyhold::core::car::write_car;
use skyhold::core::crypto::{Algorithm, Keypair};
use skyhold::core::data::{self, Cid, Value as DataValue};
use skyhold::core::firehose::{
    CommitMessage, CommitOp, Frame as StreamFrame, IdentityMessage, Message, decode_frame,
    encode_frame,
};
use skyhold::core::mst::{MemoryBlocks, Mst};
use skyhold::core::repo::UnsignedCommit;
use skyhold::core::syntax::Tid;

use super::upstream::{Frame, Upstream, frame_from_json};
use crate::fixtures;
use crate::harness::{Node, http};

/// A node with a relay listener that uses the upstream as its PLC directory.
async fn relay_node(upstream: &Upstream, lenient: bool) -> (Node, u16) {
    let plc = upstream.plc_url();
    let mut flags = vec!["--plc-url", plc.as_str()];
    if lenient {
        flags.push("--relay-lenient");
    }
    let node = Node::start(&flags).await;
    let relay_port = node.relay_port();
    (node, relay_port)
}

async fn crawl(relay_port: u16, upstream: &Upstream) {
    let response = http()
        .post(format!(
            "http://localhost:{relay_port}/xrpc/com.atproto.sync.requestCrawl"
        ))
        .json(&json!({"hostname": upstream.host()}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "requestCrawl: {}",
        response.text().await.unwrap()
    );
}

/// Reads the relay's stream from the start until `count` messages arrived (or panics after a while),
/// then checks that no further message follows within a second.
async fn read_exactly(relay_port: u16, count: usize) -> Vec<Message> {
    let url = format!("ws://127.0.0.1:{relay_port}/xrpc/com.atproto.sync.subscribeRepos?cursor=0");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to the relay");
    let mut out = Vec::new();
    loop {
        let wait = if out.len() < count {
            Duration::from_secs(20)
        } else {
            Duration::from_secs(1)
        };
        let Ok(next) = tokio::time::timeout(wait, socket.next()).await else {
            assert_eq!(
                out.len(),
                count,
                "only {} of {count} events arrived: {out:#?}",
                out.len()
            );
            return out;
        };
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes))) = next else {
            continue;
        };
        match decode_frame(&bytes).expect("the relay sends valid frames") {
            StreamFrame::Message(m) => out.push(m),
            other => panic!("unexpected frame {other:?}"),
        }
        assert!(out.len() <= count, "more events than expected: {out:#?}");
    }
}

/// Two messages are the same event when they differ at most in seq and time.
fn normalized(mut message: Message) -> Message {
    message.set_seq(0);
    match &mut message {
        Message::Commit(m) => m.time.clear(),
        Message::Sync(m) => m.time.clear(),
        Message::Identity(m) => m.time.clear(),
        Message::Account(m) => m.time.clear(),
        Message::Info(_) => {}
    }
    message
}

async fn stats(node: &Node, relay_port: u16) -> Value {
    http()
        .get(format!("http://localhost:{relay_port}/admin/stats"))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn indigo_relay_scenarios() {
    let dir = fixtures::dir().join("indigo-testdata/cmd/relay/testing/testdata");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 7,
        "expected the 7 relay scenarios in {}",
        dir.display()
    );
    for file in &files {
        let scenario = fixtures::json(&format!(
            "indigo-testdata/cmd/relay/testing/testdata/{file}"
        ));
        let upstream = Upstream::start().await;
        for account in scenario["accounts"].as_array().unwrap() {
            let identity = &account["identity"];
            upstream.add_identity(
                identity["did"].as_str().unwrap(),
                identity["handle"].as_str().unwrap_or("handle.invalid"),
                &format!("http://localhost:{}", upstream.port),
                identity["keys"]["atproto"]["publicKeyMultibase"]
                    .as_str()
                    .unwrap(),
            );
        }
        let (node, relay_port) =
            relay_node(&upstream, scenario["lenient"].as_bool().unwrap_or(false)).await;
        let mut expected = Vec::new();
        for message in scenario["messages"].as_array().unwrap() {
            let header = &message["frame"]["header"];
            let body = &message["frame"]["body"];
            let bytes = frame_from_json(header["t"].as_str().unwrap(), body);
            let seq = body["seq"].as_u64().unwrap();
            upstream.push(Frame {
                seq,
                bytes: bytes.clone(),
                once: false,
            });
            if !message["drop"].as_bool().unwrap_or(false) {
                let StreamFrame::Message(m) = decode_frame(&bytes).unwrap() else {
                    panic!("{file}: not a message")
                };
                expected.push(normalized(m));
            }
        }
        crawl(relay_port, &upstream).await;
        // Exactly the passing messages, unchanged but for seq and time; the dropped ones never appear.
        let received: Vec<Message> = read_exactly(relay_port, expected.len())
            .await
            .into_iter()
            .map(normalized)
            .collect();
        assert_eq!(received, expected, "{file}: the relay's output differs");
        let drops = scenario["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["drop"] == true)
            .count() as u64;
        let counted: u64 = stats(&node, relay_port).await["dropped"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert!(
            counted >= drops,
            "{file}: {drops} drops expected, {counted} counted"
        );
        fixtures::report(
            &format!("indigo-testdata/cmd/relay/testing/testdata/{file}"),
            expected.len(),
            expected.len(),
        );
    }
}

/// A repo the fake host writes to, producing `#commit` messages as a PDS would.
struct FakeRepo {
    did: String,
    key: Keypair,
    blocks: MemoryBlocks,
    tree: Mst,
    rev: Option<Tid>,
    data: Cid,
    clock: u64,
}

impl FakeRepo {
    fn new(did: &str) -> FakeRepo {
        let mut tree = Mst::empty();
        let (data, nodes) = tree.commit().unwrap();
        let mut blocks = MemoryBlocks::new();
        blocks.extend(nodes);
        FakeRepo {
            did: did.to_owned(),
            key: Keypair::generate(Algorithm::K256, &mut rand_core::OsRng),
            blocks,
            tree,
            rev: None,
            data,
            clock: 0,
        }
    }

    fn next_rev(&mut self) -> Tid {
        self.clock += 1;
        let now = u64::try_from(skyhold_now_micros()).unwrap() + self.clock;
        Tid::from_parts(now, 1)
    }

    /// A commit creating one post; `sign_with` overrides the signing key (a forgery).
    fn post(&mut self, seq: i64, text: &str, sign_with: Option<&Keypair>) -> CommitMessage {
        let record = DataValue::Map(BTreeMap::from([
            ("$type".to_owned(), DataValue::from("app.bsky.feed.post")),
            ("text".to_owned(), DataValue::from(text)),
            (
                "createdAt".to_owned(),
                DataValue::from("2026-11-24T10:00:00.000Z"),
            ),
        ]));
        let bytes = data::encode_value(&record).unwrap();
        let cid = data::cid_for_cbor(&bytes);
        let rev = self.next_rev();
        let path = format!("app.bsky.feed.post/{rev}");
        self.blocks.insert(cid, bytes.clone());
        self.tree.insert(&self.blocks, &path, cid).unwrap();
        let (root, nodes) = self.tree.commit().unwrap();
        self.blocks.extend(nodes.clone());
        let proof = self
            .tree
            .covering_proof(&self.blocks, &[path.as_str()])
            .unwrap();
        let commit = UnsignedCommit::new(&self.did, root, rev.as_str())
            .sign(sign_with.unwrap_or(&self.key))
            .unwrap();
        let (commit_cid, commit_bytes) = commit.encode().unwrap();
        let mut car_blocks: Vec<(Cid, Vec<u8>)> = vec![(commit_cid, commit_bytes)];
        car_blocks.extend(nodes);
        car_blocks.extend(proof.iter().map(|(c, b)| (*c, b.clone())));
        car_blocks.push((cid, bytes));
        let car = write_car(
            &[commit_cid],
            car_blocks.iter().map(|(c, b)| (c, b.as_slice())),
        )
        .unwrap();
        let message = CommitMessage {
            seq,
            rebase: false,
            too_big: false,
            repo: self.did.clone(),
            commit: commit_cid,
            rev: rev.to_string(),
            since: self.rev.map(|r| r.to_string()),
            blocks: car,
            ops: vec![CommitOp {
                action: "create".into(),
                path,
                cid: Some(cid),
                prev: None,
            }],
            blobs: Vec::new(),
            prev_data: Some(self.data),
            time: "2026-11-24T10:00:00.000Z".into(),
        };
        self.rev = Some(rev);
        self.data = root;
        message
    }
}

fn skyhold_now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

fn frame(message: CommitMessage) -> Vec<u8> {
    encode_frame(&Message::Commit(Box::new(message))).unwrap()
}

#[tokio::test]
async fn hostile_upstream_events_are_dropped_and_counted() {
    let upstream = Upstream::start().await;
    let pds_url = format!("http://localhost:{}", upstream.port);
    let mut honest = FakeRepo::new("did:plc:honesthonesthonesthonest");
    upstream.add_identity(
        &honest.did,
        "honest.test",
        &pds_url,
        &honest.key.public_key().to_multikey(),
    );
    // A DID whose document names another host: this host may not speak for it.
    let mut elsewhere = FakeRepo::new("did:plc:elsewhereelsewhereelsewh");
    upstream.add_identity(
        &elsewhere.did,
        "elsewhere.test",
        "https://other.example.com",
        &elsewhere.key.public_key().to_multikey(),
    );
    let (node, relay_port) = relay_node(&upstream, false).await;

    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let mut expected_texts = Vec::new();
    // 1. A valid first post.
    let s = next();
    upstream.push(Frame {
        seq: s,
        bytes: frame(honest.post(s as i64, "valid one", None)),
        once: false,
    });
    expected_texts.push("valid one");
    crawl(relay_port, &upstream).await;
    // 2. A forged signature.
    let forger = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let mut forged_repo = FakeRepo::new(&honest.did);
    forged_repo.tree = honest.tree.clone();
    forged_repo.blocks = honest.blocks.clone();
    forged_repo.rev = honest.rev;
    forged_repo.data = honest.data;
    forged_repo.clock = honest.clock + 100;
    let s = next();
    upstream.push(Frame {
        seq: s,
        bytes: frame(forged_repo.post(s as i64, "forged", Some(&forger))),
        once: false,
    });
    // 3. Garbage bytes.
    let s = next();
    upstream.push(Frame {
        seq: s,
        bytes: vec![0xff, 0x00, 0x13, 0x37],
        once: false,
    });
    // 4. A commit whose ops do not match its blocks (the proof does not invert to prevData).
    let s = next();
    let mut wrong = honest.clone_for_test();
    let mut bad = wrong.post(s as i64, "bad ops", None);
    bad.ops[0].path = "app.bsky.feed.post/2222222222222".into();
    upstream.push(Frame {
        seq: s,
        bytes: frame(bad),
        once: false,
    });
    // 5. A wrong prevData.
    let s = next();
    let mut wrong = honest.clone_for_test();
    let mut bad = wrong.post(s as i64, "bad prevData", None);
    bad.prev_data = Some(data::cid_for_cbor(b"\xa0"));
    upstream.push(Frame {
        seq: s,
        bytes: frame(bad),
        once: false,
    });
    // 6. An event for a DID this host does not serve.
    let s = next();
    upstream.push(Frame {
        seq: s,
        bytes: frame(elsewhere.post(s as i64, "not yours", None)),
        once: false,
    });
    // 7. An oversize frame (over 5 MB): the relay drops the connection and comes back.
    let s = next();
    let mut huge = frame(honest.clone_for_test().post(s as i64, "huge", None));
    huge.extend(std::iter::repeat_n(0u8, 6 * 1024 * 1024));
    upstream.push(Frame {
        seq: s,
        bytes: huge,
        once: true,
    });
    // 8. A valid second post: the relay still serves.
    let s = next();
    upstream.push(Frame {
        seq: s,
        bytes: frame(honest.post(s as i64, "valid two", None)),
        once: false,
    });
    expected_texts.push("valid two");

    let received = read_exactly(relay_port, expected_texts.len()).await;
    let texts: Vec<String> = received
        .iter()
        .filter_map(|m| match m {
            Message::Commit(c) => {
                let car = skyhold::core::car::CarReader::new(c.blocks.as_slice()).unwrap();
                let blocks: Vec<(Cid, Vec<u8>)> = car.map(Result::unwrap).collect();
                let cid = c.ops[0].cid.unwrap();
                let (_, bytes) = blocks.iter().find(|(k, _)| *k == cid).unwrap();
                data::decode_value(bytes)
                    .unwrap()
                    .get("text")
                    .and_then(DataValue::as_str)
                    .map(str::to_owned)
            }
            _ => None,
        })
        .collect();
    assert_eq!(texts, expected_texts, "only the valid posts pass, in order");
    let stats = stats(&node, relay_port).await;
    eprintln!("hostile upstream: relay stats {stats}");
    let dropped = stats["dropped"].as_object().unwrap();
    for reason in [
        "bad_signature",
        "undecodable_frame",
        "invalid_commit",
        "wrong_host",
    ] {
        assert!(
            dropped.get(reason).and_then(Value::as_u64).unwrap_or(0) >= 1,
            "no {reason} drop counted: {stats}"
        );
    }
    assert!(
        dropped
            .get("broken_chain")
            .or(dropped.get("invalid_commit"))
            .is_some(),
        "the wrong prevData was not refused: {stats}"
    );
    assert!(
        upstream.connections() >= 2,
        "the relay did not reconnect after the oversize frame"
    );
}

impl FakeRepo {
    /// A copy that shares the repo state and key (to build a bad variant of the next commit).
    fn clone_for_test(&self) -> FakeRepo {
        FakeRepo {
            did: self.did.clone(),
            key: self.key.clone(),
            blocks: self.blocks.clone(),
            tree: self.tree.clone(),
            rev: self.rev,
            data: self.data,
            clock: self.clock + 50,
        }
    }
}

#[tokio::test]
async fn an_upstream_relay_is_followed_for_chosen_dids_only_and_jetstream_serves_json() {
    let upstream = Upstream::start().await;
    // The accounts live on some PDS; events arrive through the upstream relay (an aggregator).
    let pds_url = "https://pds.example.com";
    let mut followed = FakeRepo::new("did:plc:followedfollowedfollowed");
    upstream.add_identity(
        &followed.did,
        "followed.test",
        pds_url,
        &followed.key.public_key().to_multikey(),
    );
    let mut stranger = FakeRepo::new("did:plc:strangerstrangerstranger");
    upstream.add_identity(
        &stranger.did,
        "stranger.test",
        pds_url,
        &stranger.key.public_key().to_multikey(),
    );
    let plc = upstream.plc_url();
    let host = upstream.host();
    let node = Node::start(&[
        "--plc-url",
        &plc,
        "--relay-upstream",
        &host,
        "--relay-follow-dids",
        &followed.did,
    ])
    .await;
    let relay_port = node.relay_port();
    upstream.push(Frame {
        seq: 1,
        bytes: frame(stranger.post(1, "not followed", None)),
        once: false,
    });
    upstream.push(Frame {
        seq: 2,
        bytes: frame(followed.post(2, "followed one", None)),
        once: false,
    });
    upstream.push(Frame {
        seq: 3,
        bytes: frame(stranger.post(3, "still not", None)),
        once: false,
    });
    upstream.push(Frame {
        seq: 4,
        bytes: frame(followed.post(4, "followed two", None)),
        once: false,
    });
    let received = read_exactly(relay_port, 2).await;
    assert!(
        received
            .iter()
            .all(|m| m.did() == Some(followed.did.as_str())),
        "{received:#?}"
    );
    let dropped = stats(&node, relay_port).await["dropped"]["not_followed"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        dropped, 2,
        "events for other DIDs are counted as not followed"
    );

    // The same events as Jetstream-style JSON, filtered by collection and DID.
    let url = format!(
        "ws://127.0.0.1:{relay_port}/subscribe?cursor=0&wantedCollections=app.bsky.feed.*&wantedDids={}",
        followed.did
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to /subscribe");
    let mut texts = Vec::new();
    while texts.len() < 2 {
        let next = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("json events");
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = next else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["kind"], "commit", "{event}");
        assert_eq!(event["did"], followed.did.as_str());
        assert_eq!(event["commit"]["operation"], "create");
        assert_eq!(event["commit"]["collection"], "app.bsky.feed.post");
        assert!(
            event["seq"].as_u64().is_some() && event["time_us"].as_i64().is_some(),
            "{event}"
        );
        texts.push(
            event["commit"]["record"]["text"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(texts, ["followed one", "followed two"]);
}

/// M2 and M7 of the security review: a crawled host brings at most its account limit (further DIDs
/// cost no lookups and no repo fetches), and events for a DID whose document names another host
/// cost a few lookups per minute, not one per frame (the review counted 56 for 55 frames).
#[tokio::test]
async fn a_hostile_host_brings_a_bounded_number_of_accounts_and_lookups() {
    let upstream = Upstream::start().await;
    let pds_url = format!("http://localhost:{}", upstream.port);
    let mut repos: Vec<FakeRepo> = (0..4)
        .map(|n| FakeRepo::new(&format!("did:plc:limitedhost{n}aaaaaaaaaaaa")))
        .collect();
    for repo in &repos {
        upstream.add_identity(
            &repo.did,
            "limited.test",
            &pds_url,
            &repo.key.public_key().to_multikey(),
        );
    }
    let elsewhere = "did:plc:elsewherelimitedhostaaaa";
    upstream.add_identity(
        elsewhere,
        "elsewhere.test",
        "https://other.example.com",
        &Keypair::generate(Algorithm::K256, &mut rand_core::OsRng)
            .public_key()
            .to_multikey(),
    );
    let plc = upstream.plc_url();
    let node = Node::start(&["--plc-url", &plc, "--relay-host-account-limit", "3"]).await;
    let relay_port = node.relay_port();
    // Two accounts, then 55 events for a DID this host does not serve (the third account the
    // host brings), then two more accounts: over the limit of three.
    let mut frames = Vec::new();
    for repo in repos.iter_mut().take(2) {
        let seq = frames.len() as u64 + 1;
        frames.push((seq, frame(repo.post(seq as i64, "hello", None))));
    }
    for _ in 0..55 {
        let seq = frames.len() as u64 + 1;
        let identity = Message::Identity(IdentityMessage {
            seq: seq as i64,
            did: elsewhere.to_owned(),
            time: "2026-11-24T10:00:00.000Z".into(),
            handle: None,
        });
        frames.push((seq, encode_frame(&identity).unwrap()));
    }
    for repo in repos.iter_mut().skip(2) {
        let seq = frames.len() as u64 + 1;
        frames.push((seq, frame(repo.post(seq as i64, "hello", None))));
    }
    for (seq, bytes) in frames {
        upstream.push(Frame {
            seq,
            bytes,
            once: false,
        });
    }
    crawl(relay_port, &upstream).await;
    let accepted = read_exactly(relay_port, 2).await;
    assert!(
        accepted.iter().all(|m| matches!(m, Message::Commit(_))),
        "{accepted:#?}"
    );
    let mut stats_now = Value::Null;
    for _ in 0..100 {
        stats_now = stats(&node, relay_port).await;
        if stats_now["dropped"]["host_account_limit"].as_u64() == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        stats_now["dropped"]["host_account_limit"].as_u64(),
        Some(2),
        "two of four accounts over the limit: {stats_now}"
    );
    for repo in &repos[2..] {
        assert_eq!(
            upstream.document_fetches(&repo.did),
            0,
            "an account over the limit was looked up"
        );
    }
    let lookups = upstream.document_fetches(elsewhere);
    println!("55 events for a DID elsewhere: {lookups} lookups; relay stats {stats_now}");
    assert!(
        (1..=6).contains(&lookups),
        "{lookups} lookups for 55 events"
    );
}
