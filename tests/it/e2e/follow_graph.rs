//! The relay carries what the community follows: a member of node A (local mode, as a user starts
//! it) follows an account on the reference PDS, which plays the rest of the network. A's relay
//! follows that PDS for the account, backfills its repo (its earlier posts reach A's timeline within
//! 5 s), takes its new posts live (within 2 s), and after an unfollow and the configured grace
//! period drops its events again, unsubscribes from the PDS no carried account lives on, and
//! forgets the account's indexed posts except the one the member liked.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::appview::{Account, Client};
use crate::harness::{Node, ReferencePds, http};

fn texts(body: &Value) -> Vec<String> {
    body["feed"]
        .as_array()
        .map(|feed| {
            feed.iter()
                .filter_map(|item| item["post"]["record"]["text"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `check` passes, failing after `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(()) => return start.elapsed(),
            Err(e) if start.elapsed() > limit => panic!("{what} not within {limit:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn timeline(client: &Client, who: &Account) -> Value {
    client
        .ok("app.bsky.feed.getTimeline", &[], Some(&who.token))
        .await
}

async fn author_feed(client: &Client, actor: &str) -> Value {
    client
        .ok("app.bsky.feed.getAuthorFeed", &[("actor", actor)], None)
        .await
}

async fn hosts(node: &Node) -> Value {
    let response = http()
        .get(node.xrpc("blue.skyhold.admin.listHosts"))
        .basic_auth("admin", Some(&node.admin_password))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "listHosts");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_followed_remote_account_is_backfilled_streamed_and_dropped_after_unfollow() {
    // Likes do not carry their authors here (`--relay-carry-interactions 0`), as when they aged
    // out of a member's newest ones: the unfollow alone makes the account leave the set.
    let a = Node::start(&[
        "--relay-unfollow-grace-secs",
        "1",
        "--relay-carry-interactions",
        "0",
    ])
    .await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let carol = cr.account("carol").await;
    let first = cr.post_text(&carol, "carol, before anyone followed").await;
    let early = cr.post_text(&carol, "carol, still early").await;
    let alice = ca.account("alice").await;

    // Following is all it takes: no host added, no DID configured.
    let (follow, _) = ca
        .create(
            &alice,
            "app.bsky.graph.follow",
            json!({"subject": carol.did}),
        )
        .await;
    let took = within(Duration::from_secs(5), "the backfill", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t == ["carol, still early", "carol, before anyone followed"] {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    eprintln!("earlier posts in the timeline {took:?} after the follow");

    let listed = hosts(&a).await;
    assert_eq!(listed["carried"]["total"], 1, "{listed}");
    assert_eq!(listed["carried"]["memberFollows"], 1, "{listed}");
    let reference_host = reference.url.trim_start_matches("http://");
    assert!(
        listed["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| { h["hostname"] == reference_host && h["scoped"] == true }),
        "the reference PDS is followed for the carried account: {listed}"
    );
    let metrics = http()
        .get(format!("{}/metrics", a.url))
        .basic_auth("admin", Some(&a.admin_password))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("skyhold_relay_carried_accounts 1"),
        "{metrics}"
    );

    // Another account of the same PDS nobody follows: its events are filtered out early.
    let dave = cr.account("dave").await;
    cr.post_text(&dave, "dave, followed by nobody").await;

    let live = cr.post_text(&carol, "carol, live").await;
    let took = within(Duration::from_secs(2), "the live post", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t.first().map(String::as_str) == Some("carol, live") {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    eprintln!("a new post in the timeline {took:?} after it was made");
    let dropped = hosts(&a).await["dropped"]["not_followed"]
        .as_u64()
        .unwrap_or(0);
    assert!(dropped >= 1, "dave's events are dropped as not carried");
    let dave_feed = ca
        .get("app.bsky.feed.getAuthorFeed", &[("actor", &dave.did)], None)
        .await;
    assert!(
        texts(&dave_feed.1).is_empty(),
        "an account nobody follows is not carried: {dave_feed:?}"
    );

    // Alice likes one of carol's posts, then unfollows: after the grace period (1 s here), the
    // account leaves the set.
    ca.create(
        &alice,
        "app.bsky.feed.like",
        json!({"subject": super::appview::strong_ref(&early)}),
    )
    .await;
    ca.delete(&alice, &follow).await;
    within(Duration::from_secs(10), "leaving the set", || async {
        let listed = hosts(&a).await;
        if listed["carried"]["total"] == 0 {
            Ok(())
        } else {
            Err(format!("{listed}"))
        }
    })
    .await;
    cr.post_text(&carol, "carol, after the unfollow").await;
    // No carried account lives on the reference PDS any more: its subscription ends (at its next
    // frame), instead of taking a stream nobody needs.
    within(Duration::from_secs(5), "the unsubscription", || async {
        let listed = hosts(&a).await;
        let host = listed["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hostname"] == reference_host)
            .cloned()
            .unwrap_or_default();
        if host["status"] == "offline" {
            Ok(())
        } else {
            Err(format!("{listed}"))
        }
    })
    .await;
    // Its indexed posts are forgotten, except the one alice liked, which still renders (with
    // its author and alice's like) in getPosts; the others are gone from getPosts too.
    let took = within(Duration::from_secs(5), "forgetting the account", || async {
        let feed = texts(&author_feed(&ca, &carol.did).await);
        if feed == ["carol, still early"] {
            Ok(())
        } else {
            Err(format!("{feed:?}"))
        }
    })
    .await;
    eprintln!("the account's other posts forgotten {took:?} after it left the set");
    let posts = ca
        .ok(
            "app.bsky.feed.getPosts",
            &[("uris", &early.0), ("uris", &live.0), ("uris", &first.0)],
            Some(&alice.token),
        )
        .await;
    let posts = posts["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["uri"], early.0.as_str());
    assert_eq!(posts[0]["author"]["did"], carol.did.as_str(), "{posts:?}");
    assert_eq!(posts[0]["likeCount"], 1, "{posts:?}");
    assert!(posts[0]["viewer"]["like"].is_string(), "{posts:?}");
    let profile = ca
        .ok("app.bsky.actor.getProfile", &[("actor", &carol.did)], None)
        .await;
    assert_eq!(
        profile["did"],
        carol.did.as_str(),
        "the author's row stays: {profile}"
    );
    let metrics = http()
        .get(format!("{}/metrics", a.url))
        .basic_auth("admin", Some(&a.admin_password))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("skyhold_appview_forgotten_accounts_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("skyhold_appview_forgotten_records_total 2"),
        "the two posts nobody liked: {metrics}"
    );
    let feed = texts(&author_feed(&ca, &carol.did).await);
    assert!(
        !feed.contains(&"carol, after the unfollow".to_owned()),
        "{feed:?}"
    );

    // Following again: the account re-enters the set, what it posted meanwhile is backfilled (the
    // relay's old state of it is behind), and the PDS is subscribed again.
    ca.create(
        &alice,
        "app.bsky.graph.follow",
        json!({"subject": carol.did}),
    )
    .await;
    within(Duration::from_secs(5), "the second backfill", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t.first().map(String::as_str) == Some("carol, after the unfollow") {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    cr.post_text(&carol, "carol, followed again").await;
    within(
        Duration::from_secs(2),
        "a live post after the re-follow",
        || async {
            let t = texts(&timeline(&ca, &alice).await);
            if t.first().map(String::as_str) == Some("carol, followed again") {
                Ok(())
            } else {
                Err(format!("{t:?}"))
            }
        },
    )
    .await;
}

#[tokio::test]
async fn the_carried_set_and_its_stream_survive_a_restart() {
    let mut a = Node::start(&[]).await;
    let _keep = a.keep_data();
    let (port, data) = (a.port, a.data.clone());
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let carol = cr.account("carol").await;
    cr.post_text(&carol, "carol, first").await;
    let alice = ca.account("alice").await;
    ca.create(
        &alice,
        "app.bsky.graph.follow",
        json!({"subject": carol.did}),
    )
    .await;
    within(Duration::from_secs(5), "the backfill", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t == ["carol, first"] {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;

    a.terminate();
    cr.post_text(&carol, "carol, while A was down").await;
    let a = Node::start_in(&data, port, &[]).await;
    let ca = Client::new(&a.url);
    // The relay resumes the PDS's stream from its cursor: what was missed arrives.
    within(Duration::from_secs(10), "the missed post", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t == ["carol, while A was down", "carol, first"] {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    let listed = hosts(&a).await;
    assert_eq!(listed["carried"]["total"], 1, "{listed}");
    cr.post_text(&carol, "carol, after the restart").await;
    within(Duration::from_secs(2), "a live post", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t.first().map(String::as_str) == Some("carol, after the restart") {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn an_account_unfollowed_before_a_restart_is_forgotten_after_it() {
    // A long grace period: the node stops while the unfollowed account is still carried.
    let mut a = Node::start(&["--relay-carry-interactions", "0"]).await;
    let _keep = a.keep_data();
    let (port, data) = (a.port, a.data.clone());
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let carol = cr.account("carol").await;
    cr.post_text(&carol, "carol, first").await;
    let alice = ca.account("alice").await;
    let (follow, _) = ca
        .create(
            &alice,
            "app.bsky.graph.follow",
            json!({"subject": carol.did}),
        )
        .await;
    within(Duration::from_secs(5), "the backfill", || async {
        let t = texts(&timeline(&ca, &alice).await);
        if t == ["carol, first"] {
            Ok(())
        } else {
            Err(format!("{t:?}"))
        }
    })
    .await;
    ca.delete(&alice, &follow).await;
    within(Duration::from_secs(5), "the unfollow", || async {
        let listed = hosts(&a).await;
        if listed["carried"]["memberFollows"] == 0 {
            Ok(())
        } else {
            Err(format!("{listed}"))
        }
    })
    .await;
    assert_eq!(
        texts(&author_feed(&ca, &carol.did).await),
        ["carol, first"],
        "still carried for its grace period"
    );

    a.terminate();
    // Started again with a short grace period: the account no member needs is found among the
    // relay's stored copies, released, and forgotten once its grace period is over.
    let a = Node::start_in(&data, port, &["--relay-unfollow-grace-secs", "1"]).await;
    let ca = Client::new(&a.url);
    within(
        Duration::from_secs(10),
        "forgetting after the restart",
        || async {
            let feed = texts(&author_feed(&ca, &carol.did).await);
            let listed = hosts(&a).await;
            if feed.is_empty() && listed["carried"]["total"] == 0 {
                Ok(())
            } else {
                Err(format!("{feed:?} {listed}"))
            }
        },
    )
    .await;
}
