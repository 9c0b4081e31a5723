//! Node A among the rest of the network (the reference PDS on 127.0.0.1): a remote account a member
//! follows (X) shows with its verified handle (again after X changes it) and its profile; its like,
//! repost, reply, quote and follow become notifications for the member; a thread X replied to,
//! rooted by an account nobody on A follows (Y), shows Y's root, fetched on demand from the
//! reference PDS and verified. Interactions widen the carried set: after a member likes Y's post, Y
//! is carried. A parent that cannot be fetched (a missing record, an unknown DID, its PDS gone) or
//! whose proof does not verify (a fake PDS signing with another key) renders as `notFoundPost`,
//! not as an error. A quote of a post by an account nobody on A follows is fetched the same way
//! when a view shows the quote; a quote of a post that does not exist renders `viewNotFound`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::appview::{Account, Client, eventually, strong_ref};
use crate::harness::{Node, ReferencePds, http};

async fn carried_total(node: &Node) -> Value {
    let response = http()
        .get(node.xrpc("blue.skyhold.admin.listHosts"))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "listHosts");
    let body: Value = response.json().await.unwrap();
    body["carried"]["total"].clone()
}

fn reply(text: &str, root: &(String, String), parent: &(String, String)) -> Value {
    json!({"text": text, "reply": {"root": strong_ref(root), "parent": strong_ref(parent)}})
}

/// `author` replies to `post`, which is also the thread's root.
async fn reply_to(
    client: &Client,
    author: &Account,
    text: &str,
    post: &(String, String),
) -> (String, String) {
    client
        .create(author, "app.bsky.feed.post", reply(text, post, post))
        .await
}

/// A new member of A follows `followed`, then waits until A has indexed every post in `uris`;
/// returns the member.
async fn follow_until_indexed(a: &Client, followed: &Account, uris: &[&str]) -> Account {
    let alice = a.account("alice").await;
    a.create(
        &alice,
        "app.bsky.graph.follow",
        json!({"subject": followed.did}),
    )
    .await;
    eventually("the followed account's posts indexed", || async {
        let query: Vec<(&str, &str)> = uris.iter().map(|u| ("uris", *u)).collect();
        let (_, body) = a.get("app.bsky.feed.getPosts", &query, None).await;
        if body["posts"]
            .as_array()
            .is_some_and(|p| p.len() == uris.len())
        {
            Ok(())
        } else {
            Err(body.to_string())
        }
    })
    .await;
    alice
}

#[tokio::test]
async fn remote_profiles_notifications_and_threads_fetched_on_demand() {
    let a = Node::start(&[]).await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let xavier = cr.account("xavier").await;
    let yolanda = cr.account("yolanda").await;
    cr.put(
        &xavier,
        "app.bsky.actor.profile",
        "self",
        json!({"displayName": "Xavier of the reference PDS"}),
    )
    .await;
    // Y's thread, before anyone on A knows either account.
    let root = cr.post_text(&yolanda, "yolanda's question").await;
    let answer = reply_to(&cr, &xavier, "xavier's answer", &root).await;

    let alice = ca.account("alice").await;
    let alice_post = ca.post_text(&alice, "alice, on node A").await;
    ca.create(
        &alice,
        "app.bsky.graph.follow",
        json!({"subject": xavier.did}),
    )
    .await;

    // The profile and the verified handle of the carried remote account.
    eventually("X's profile and handle on A", || async {
        let (status, profile) = ca
            .get("app.bsky.actor.getProfile", &[("actor", &xavier.did)], None)
            .await;
        if status == StatusCode::OK
            && profile["displayName"] == "Xavier of the reference PDS"
            && profile["handle"] == xavier.handle.as_str()
        {
            Ok(profile)
        } else {
            Err(format!("{status} {profile}"))
        }
    })
    .await;
    let by_handle = ca
        .ok(
            "app.bsky.actor.getProfile",
            &[("actor", &xavier.handle)],
            None,
        )
        .await;
    assert_eq!(by_handle["did"], xavier.did.as_str());
    assert_eq!(by_handle["followersCount"], 1, "{by_handle}");

    // X changes its handle on its PDS: the `#identity` event makes A verify the new one.
    let (status, body) = cr
        .post(
            "com.atproto.identity.updateHandle",
            &json!({"handle": "xavier-renamed.test"}),
            Some(&xavier.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually("X's new handle on A", || async {
        let profile = ca
            .ok("app.bsky.actor.getProfile", &[("actor", &xavier.did)], None)
            .await;
        if profile["handle"] == "xavier-renamed.test" {
            Ok(())
        } else {
            Err(profile.to_string())
        }
    })
    .await;

    // X likes Alice's post on its own PDS: a notification on A.
    let started = std::time::Instant::now();
    cr.create(
        &xavier,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&alice_post)}),
    )
    .await;
    eventually("the like as a notification", || async {
        let body = ca
            .ok(
                "app.bsky.notification.listNotifications",
                &[],
                Some(&alice.token),
            )
            .await;
        let found = body["notifications"].as_array().is_some_and(|n| {
            n.iter()
                .any(|n| n["reason"] == "like" && n["author"]["did"] == xavier.did.as_str())
        });
        if found { Ok(()) } else { Err(body.to_string()) }
    })
    .await;
    let took = started.elapsed();
    eprintln!("X's like became a notification on A in {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // The other interactions of a carried account notify the same way.
    cr.create(
        &xavier,
        "app.bsky.feed.repost",
        json!({"subject": strong_ref(&alice_post)}),
    )
    .await;
    cr.create(
        &xavier,
        "app.bsky.feed.post",
        reply("xavier answers alice", &alice_post, &alice_post),
    )
    .await;
    cr.create(
        &xavier,
        "app.bsky.feed.post",
        json!({"text": "xavier quotes alice",
               "embed": {"$type": "app.bsky.embed.record", "record": strong_ref(&alice_post)}}),
    )
    .await;
    cr.create(
        &xavier,
        "app.bsky.graph.follow",
        json!({"subject": alice.did}),
    )
    .await;
    eventually("every interaction as a notification", || async {
        let body = ca
            .ok(
                "app.bsky.notification.listNotifications",
                &[],
                Some(&alice.token),
            )
            .await;
        let mut reasons: Vec<&str> = body["notifications"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter(|n| n["author"]["did"] == xavier.did.as_str())
                    .filter_map(|n| n["reason"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        reasons.sort_unstable();
        if reasons == ["follow", "like", "quote", "reply", "repost"] {
            Ok(())
        } else {
            Err(format!("{reasons:?}"))
        }
    })
    .await;

    // X's answer is carried (backfilled); Y's root is not, until the thread is opened.
    eventually("X's answer indexed", || async {
        let (status, body) = ca
            .get(
                "app.bsky.feed.getPosts",
                &[("uris", answer.0.as_str())],
                None,
            )
            .await;
        if status == StatusCode::OK && body["posts"].as_array().is_some_and(|p| p.len() == 1) {
            Ok(())
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await;
    let (_, before) = ca
        .get("app.bsky.feed.getPosts", &[("uris", root.0.as_str())], None)
        .await;
    assert_eq!(before["posts"], json!([]), "Y's root is not carried");
    let thread = ca
        .ok("app.bsky.feed.getPostThread", &[("uri", &answer.0)], None)
        .await;
    let parent = &thread["thread"]["parent"];
    assert_eq!(
        parent["$type"], "app.bsky.feed.defs#threadViewPost",
        "{thread}"
    );
    assert_eq!(parent["post"]["uri"], root.0.as_str(), "{thread}");
    assert_eq!(parent["post"]["cid"], root.1.as_str(), "{thread}");
    assert_eq!(
        parent["post"]["record"]["text"], "yolanda's question",
        "{thread}"
    );
    assert_eq!(
        thread["thread"]["post"]["record"]["text"],
        "xavier's answer"
    );
    // The root's own thread now shows the answer below it.
    let from_root = ca
        .ok("app.bsky.feed.getPostThread", &[("uri", &root.0)], None)
        .await;
    let replies = from_root["thread"]["replies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        replies
            .iter()
            .any(|r| r["post"]["uri"] == answer.0.as_str()),
        "{from_root}"
    );

    // Interactions widen the carried set: Alice likes Y's root, and Y is carried.
    assert_eq!(carried_total(&a).await, 1);
    ca.create(
        &alice,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&root)}),
    )
    .await;
    eventually("Y carried after Alice's like", || async {
        let total = carried_total(&a).await;
        if total == 2 {
            Ok(())
        } else {
            Err(total.to_string())
        }
    })
    .await;

    // X answers Y's second post.
    let second = cr.post_text(&yolanda, "yolanda, second").await;
    let second_answer = reply_to(&cr, &xavier, "xavier, again", &second).await;
    eventually("X's second answer indexed", || async {
        let (_, body) = ca
            .get(
                "app.bsky.feed.getPosts",
                &[("uris", second_answer.0.as_str())],
                None,
            )
            .await;
        if body["posts"].as_array().is_some_and(|p| p.len() == 1) {
            Ok(())
        } else {
            Err(body.to_string())
        }
    })
    .await;
    // Y is carried now: its second post comes by the stream, no fetch needed.
    eventually("Y's second post by the stream", || async {
        let thread = ca
            .ok(
                "app.bsky.feed.getPostThread",
                &[("uri", &second_answer.0)],
                None,
            )
            .await;
        if thread["thread"]["parent"]["post"]["record"]["text"] == "yolanda, second" {
            Ok(())
        } else {
            Err(thread.to_string())
        }
    })
    .await;
}

/// The `record` of a post view's quote embed.
fn quoted(post: &Value) -> &Value {
    &post["embed"]["record"]
}

#[tokio::test]
async fn quoted_posts_nobody_carries_are_fetched_on_demand() {
    let a = Node::start(&[]).await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let xavier = cr.account("xavier").await;
    let yolanda = cr.account("yolanda").await;
    // X quotes Y's post and a post of Y's that does not exist; nobody on A follows Y.
    let original = cr.post_text(&yolanda, "yolanda, worth quoting").await;
    let quote = |text: &str, target: &(String, String)| json!({"text": text, "embed": {"$type": "app.bsky.embed.record", "record": strong_ref(target)}});
    let quoting = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            quote("look at this", &original),
        )
        .await;
    let ghost = (
        format!("at://{}/app.bsky.feed.post/3kaaaaaaaaa22", yolanda.did),
        original.1.clone(),
    );
    let quoting_ghost = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            quote("look at nothing", &ghost),
        )
        .await;
    let alice = follow_until_indexed(&ca, &xavier, &[&quoting.0, &quoting_ghost.0]).await;

    // getPosts shows the quoted post, fetched from Y's PDS and verified.
    let posts = ca
        .ok(
            "app.bsky.feed.getPosts",
            &[("uris", &quoting.0), ("uris", &quoting_ghost.0)],
            None,
        )
        .await;
    let posts = posts["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let record = quoted(&posts[0]);
    assert_eq!(
        record["$type"], "app.bsky.embed.record#viewRecord",
        "{record}"
    );
    assert_eq!(record["uri"], original.0.as_str());
    assert_eq!(
        record["value"]["text"], "yolanda, worth quoting",
        "{record}"
    );
    assert_eq!(record["author"]["did"], yolanda.did.as_str(), "{record}");
    let missing = quoted(&posts[1]);
    assert_eq!(
        missing["$type"], "app.bsky.embed.record#viewNotFound",
        "{missing}"
    );
    // Fetched, not carried: Y's other posts do not come.
    assert_eq!(carried_total(&a).await, 1);

    // The timeline shows it too (the post is indexed now, marked as fetched on demand).
    let timeline = ca
        .ok("app.bsky.feed.getTimeline", &[], Some(&alice.token))
        .await;
    let shown = timeline["feed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["post"]["uri"] == quoting.0.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        quoted(&shown["post"])["value"]["text"],
        "yolanda, worth quoting",
        "{timeline}"
    );
}

#[tokio::test]
async fn a_parent_that_cannot_be_fetched_renders_as_not_found() {
    let a = Node::start(&[]).await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let xavier = cr.account("xavier").await;
    let yolanda = cr.account("yolanda").await;
    let root = cr.post_text(&yolanda, "yolanda's question").await;
    let answer = reply_to(&cr, &xavier, "xavier's answer", &root).await;
    // A reply to a post that does not exist, and one to an account no directory knows.
    let ghost = (
        format!("at://{}/app.bsky.feed.post/3kaaaaaaaaa22", yolanda.did),
        root.1.clone(),
    );
    let to_ghost = reply_to(&cr, &xavier, "to nothing", &ghost).await;
    let nobody = (
        "at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kaaaaaaaaa22".to_owned(),
        root.1.clone(),
    );
    let to_nobody = reply_to(&cr, &xavier, "to nobody", &nobody).await;
    let uris = [answer.0.as_str(), to_ghost.0.as_str(), to_nobody.0.as_str()];
    follow_until_indexed(&ca, &xavier, &uris).await;
    for (uri, what) in [
        (&to_ghost.0, "a missing record"),
        (&to_nobody.0, "an unknown DID"),
    ] {
        let started = std::time::Instant::now();
        let (status, thread) = ca
            .get("app.bsky.feed.getPostThread", &[("uri", uri)], None)
            .await;
        assert_eq!(status, StatusCode::OK, "{what}: {thread}");
        assert_eq!(
            thread["thread"]["parent"]["$type"], "app.bsky.feed.defs#notFoundPost",
            "{what}: {thread}"
        );
        eprintln!("{what}: the thread answered in {:?}", started.elapsed());
    }
    // The reference PDS gone: the root, never fetched, cannot be; the thread still renders.
    drop(reference);
    let (status, thread) = ca
        .get("app.bsky.feed.getPostThread", &[("uri", &answer.0)], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(
        thread["thread"]["parent"]["$type"], "app.bsky.feed.defs#notFoundPost",
        "{thread}"
    );
    assert_eq!(
        thread["thread"]["post"]["record"]["text"],
        "xavier's answer"
    );
}

/// A PDS that serves one account's records from a repo built in the test: `forged` rkeys are
/// answered with a commit signed by another key, the rest honestly.
mod fake_pds {
    use std::collections::HashMap;
    use std::sync::Arc;

    use serde_json::json;
    use skyhold::core::car::write_car;
    use skyhold::core::crypto::{Algorithm, Keypair};
    use skyhold::core::data::{self, Cid};
    use skyhold::core::mst::{MemoryBlocks, Mst};
    use skyhold::core::plc::{self, Service, UnsignedOperation, UnsignedPlcOperation};
    use skyhold::core::repo::UnsignedCommit;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct FakePds {
        pub did: String,
        /// rkey → (uri, cid) of each post.
        pub posts: HashMap<String, (String, String)>,
    }

    fn post(text: &str) -> Vec<u8> {
        let record = json!({"$type": "app.bsky.feed.post", "text": text,
                            "createdAt": "2024-01-01T00:00:00.000Z"});
        data::encode_value(&data::from_json(&record).unwrap()).unwrap()
    }

    /// The `getRecord` CAR of `rkey` in a repo of `records`, signed by `key`.
    fn proof(did: &str, records: &[(String, Vec<u8>)], rkey: &str, key: &Keypair) -> Vec<u8> {
        let entries: Vec<(String, Cid)> = records
            .iter()
            .map(|(k, bytes)| (format!("app.bsky.feed.post/{k}"), data::cid_for_cbor(bytes)))
            .collect();
        let mut tree = Mst::from_entries(entries).unwrap();
        let (root, nodes) = tree.commit().unwrap();
        let mut source = MemoryBlocks::new();
        source.extend(nodes);
        let path = format!("app.bsky.feed.post/{rkey}");
        let mut blocks = tree.covering_proof(&source, &[path.as_str()]).unwrap();
        for (k, bytes) in records {
            if k == rkey {
                blocks.insert(data::cid_for_cbor(bytes), bytes.clone());
            }
        }
        let commit = UnsignedCommit::new(did, root, "3kzzzzzzzzz22")
            .sign(key)
            .unwrap();
        let (commit_cid, commit_bytes) = commit.encode().unwrap();
        blocks.insert(commit_cid, commit_bytes);
        let listed: Vec<(Cid, Vec<u8>)> = blocks.iter().map(|(c, b)| (*c, b.clone())).collect();
        write_car(&[commit_cid], listed.iter().map(|(c, b)| (c, b.as_slice()))).unwrap()
    }

    /// Registers the account in the node's PLC directory (`plc_url`), with no handle, and serves
    /// `getRecord` for `honest` and `forged` rkeys on 127.0.0.1.
    pub async fn start(plc_url: &str, honest: &[&str], forged: &[&str]) -> FakePds {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let did_key = key.public_key().to_did_key();
        let op = UnsignedOperation::Plc(UnsignedPlcOperation {
            rotation_keys: vec![did_key.clone()],
            verification_methods: [("atproto".to_owned(), did_key)].into(),
            also_known_as: vec![],
            services: [(
                "atproto_pds".to_owned(),
                Service {
                    service_type: "AtprotoPersonalDataServer".to_owned(),
                    endpoint,
                },
            )]
            .into(),
            prev: None,
        })
        .sign(&key)
        .unwrap();
        let did = plc::did_for_genesis(&op).unwrap();
        let response = crate::harness::http()
            .post(format!("{plc_url}/{did}"))
            .json(&op)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "registering {did}");

        let records: Vec<(String, Vec<u8>)> = honest
            .iter()
            .chain(forged)
            .map(|k| ((*k).to_owned(), post(&format!("post {k}"))))
            .collect();
        let posts = records
            .iter()
            .map(|(k, bytes)| {
                (
                    k.clone(),
                    (
                        format!("at://{did}/app.bsky.feed.post/{k}"),
                        data::cid_for_cbor(bytes).to_string(),
                    ),
                )
            })
            .collect();
        let other = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let answers: Arc<HashMap<String, Vec<u8>>> = Arc::new(
            records
                .iter()
                .map(|(k, _)| {
                    let signer = if forged.contains(&k.as_str()) {
                        &other
                    } else {
                        &key
                    };
                    (k.clone(), proof(&did, &records, k, signer))
                })
                .collect(),
        );
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let answers = answers.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&request)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let body = answers
                        .iter()
                        .find(|(k, _)| line.contains(&format!("rkey={k}")))
                        .map(|(_, car)| car.clone());
                    let head = match &body {
                        Some(car) => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.ipld.car\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            car.len()
                        ),
                        None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                    };
                    let _ = socket.write_all(head.as_bytes()).await;
                    if let Some(car) = body {
                        let _ = socket.write_all(&car).await;
                    }
                });
            }
        });
        FakePds { did, posts }
    }
}

#[tokio::test]
async fn a_parent_whose_proof_does_not_verify_renders_as_not_found() {
    let a = Node::start(&[]).await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let zed = fake_pds::start(
        &format!("{}/plc", a.url),
        &["3khonest2222a"],
        &["3kforged2222a"],
    )
    .await;
    let xavier = cr.account("xavier").await;
    let honest = zed.posts["3khonest2222a"].clone();
    let forged = zed.posts["3kforged2222a"].clone();
    let to_honest = reply_to(&cr, &xavier, "to the honest one", &honest).await;
    let to_forged = reply_to(&cr, &xavier, "to the forged one", &forged).await;
    follow_until_indexed(&ca, &xavier, &[to_honest.0.as_str(), to_forged.0.as_str()]).await;
    // The same server, the same repo: the honest proof shows, the forged one does not.
    let thread = ca
        .ok(
            "app.bsky.feed.getPostThread",
            &[("uri", &to_honest.0)],
            None,
        )
        .await;
    assert_eq!(
        thread["thread"]["parent"]["post"]["uri"],
        honest.0.as_str(),
        "{thread}"
    );
    assert_eq!(
        thread["thread"]["parent"]["post"]["record"]["text"],
        "post 3khonest2222a"
    );
    let (status, thread) = ca
        .get(
            "app.bsky.feed.getPostThread",
            &[("uri", &to_forged.0)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{thread}");
    assert_eq!(
        thread["thread"]["parent"]["$type"], "app.bsky.feed.defs#notFoundPost",
        "{thread}"
    );
    let (_, posts) = ca
        .get(
            "app.bsky.feed.getPosts",
            &[("uris", forged.0.as_str())],
            None,
        )
        .await;
    assert_eq!(
        posts["posts"],
        json!([]),
        "nothing of the forged proof is kept"
    );
    assert!(honest.0.contains(&zed.did));
}
