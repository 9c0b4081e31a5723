//! Two skyhold nodes whose relays follow each other: users on each follow the other's, and each
//! node's App View shows the other node's posts, likes and deletions. Node B also proxies a call
//! to node A's App View (`atproto-proxy`), which checks the inter-service token against the key of
//! B's user, resolved through the shared PLC directory.

use serde_json::json;

use super::appview::{Client, eventually, strong_ref};
use crate::harness::{Node, http};

fn feed_texts(body: &serde_json::Value) -> Vec<String> {
    body["feed"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|i| {
                    i["post"]["record"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn two_nodes_see_each_others_posts() {
    let a = Node::start(&[]).await;
    let plc = format!("{}/plc", a.url);
    let follow_a = format!("localhost:{}", a.port);
    let b = Node::start(&["--plc-url", &plc, "--relay-hosts", &follow_a]).await;
    // A's relay follows B's PDS too.
    let crawl = http()
        .post(format!("{}/xrpc/com.atproto.sync.requestCrawl", a.relay()))
        .json(&json!({"hostname": format!("localhost:{}", b.port)}))
        .send()
        .await
        .unwrap();
    assert!(
        crawl.status().is_success(),
        "requestCrawl: {}",
        crawl.text().await.unwrap()
    );

    let (ca, cb) = (Client::new(&a.url), Client::new(&b.url));
    let alice = ca.account("alice").await;
    let bob = cb.account("bob").await;
    ca.create(&alice, "app.bsky.graph.follow", json!({"subject": bob.did}))
        .await;
    cb.create(&bob, "app.bsky.graph.follow", json!({"subject": alice.did}))
        .await;
    let from_a = ca.post_text(&alice, "hello from node A").await;
    let from_b = cb.post_text(&bob, "hello from node B").await;

    // Each timeline holds the other node's post, with its author's verified handle.
    let timeline_a = eventually("alice sees bob's post on node A", || async {
        let t = ca
            .ok("app.bsky.feed.getTimeline", &[], Some(&alice.token))
            .await;
        let texts = feed_texts(&t);
        if texts.contains(&"hello from node B".to_owned())
            && t["feed"][0]["post"]["author"]["handle"] != "handle.invalid"
        {
            Ok(t)
        } else {
            Err(format!("{t}"))
        }
    })
    .await;
    assert_eq!(
        feed_texts(&timeline_a),
        vec!["hello from node B", "hello from node A"]
    );
    assert_eq!(timeline_a["feed"][0]["post"]["author"]["did"], bob.did);
    assert_eq!(
        timeline_a["feed"][0]["post"]["author"]["handle"],
        bob.handle
    );
    eventually("bob sees alice's post on node B", || async {
        let t = cb
            .ok("app.bsky.feed.getTimeline", &[], Some(&bob.token))
            .await;
        if feed_texts(&t) == vec!["hello from node B", "hello from node A"] {
            Ok(())
        } else {
            Err(format!("{t}"))
        }
    })
    .await;

    // A like on node B reaches node A's counts and notifications.
    cb.create(
        &bob,
        "app.bsky.feed.like",
        json!({"subject": strong_ref(&from_a)}),
    )
    .await;
    eventually("the like reaches node A", || async {
        let n = ca
            .ok(
                "app.bsky.notification.listNotifications",
                &[],
                Some(&alice.token),
            )
            .await;
        let reasons: Vec<String> = n["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!(
                    "{}:{}",
                    x["reason"].as_str().unwrap(),
                    x["author"]["did"].as_str().unwrap()
                )
            })
            .collect();
        let posts = ca
            .ok(
                "app.bsky.feed.getPosts",
                &[("uris", &from_a.0)],
                Some(&alice.token),
            )
            .await;
        let want = vec![format!("like:{}", bob.did), format!("follow:{}", bob.did)];
        if reasons == want && posts["posts"][0]["likeCount"] == 1 {
            Ok(())
        } else {
            Err(format!("{reasons:?} {posts}"))
        }
    })
    .await;
    let profile = ca
        .ok(
            "app.bsky.actor.getProfile",
            &[("actor", &bob.handle)],
            Some(&alice.token),
        )
        .await;
    assert_eq!(profile["did"], bob.did, "node A resolves bob's handle");
    assert_eq!(profile["followersCount"], 1);
    assert!(profile["viewer"]["following"].is_string());
    assert!(profile["viewer"]["followedBy"].is_string());

    // Node B proxies to node A's App View with a service-auth token for bob.
    let proxied = http()
        .get(format!("{}/xrpc/app.bsky.feed.getTimeline", b.url))
        .bearer_auth(&bob.token)
        .header(
            "atproto-proxy",
            format!("did:web:localhost%3A{}#bsky_appview", a.port),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    let proxied: serde_json::Value = proxied.json().await.unwrap();
    assert_eq!(
        feed_texts(&proxied),
        vec!["hello from node B", "hello from node A"],
        "node A's view of bob's timeline"
    );
    assert!(
        proxied["feed"][1]["post"]["viewer"]["like"].is_string(),
        "node A knows bob as the viewer: {proxied}"
    );

    // A deletion on node B leaves node A's views.
    cb.delete(&bob, &from_b.0).await;
    eventually("the deletion reaches node A", || async {
        let t = ca
            .ok("app.bsky.feed.getTimeline", &[], Some(&alice.token))
            .await;
        if feed_texts(&t) == vec!["hello from node A"] {
            Ok(())
        } else {
            Err(format!("{t}"))
        }
    })
    .await;
}
