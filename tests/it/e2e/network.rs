//! Node A among the rest of the network (the reference PDS on 127.0.0.1): a remote account a member
//! follows (X) shows with its verified handle and profile, its like of the member's post becomes a
//! notification, and a thread X replied to, rooted by an account nobody on A follows (Y), shows
//! Y's root, fetched on demand from the reference PDS and verified. Interactions widen the carried
//! set: after a member likes Y's post, Y is carried. A parent that cannot be fetched (a missing
//! record, an unknown DID, its PDS gone) renders as `notFoundPost`, not as an error.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::appview::{Client, eventually, strong_ref};
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
    let answer = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            reply("xavier's answer", &root, &root),
        )
        .await;

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
    let second_answer = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            reply("xavier, again", &second, &second),
        )
        .await;
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

#[tokio::test]
async fn a_parent_that_cannot_be_fetched_renders_as_not_found() {
    let a = Node::start(&[]).await;
    let reference = ReferencePds::start_with_plc(&format!("{}/plc", a.url)).await;
    let (ca, cr) = (Client::new(&a.url), Client::new(&reference.url));
    let xavier = cr.account("xavier").await;
    let yolanda = cr.account("yolanda").await;
    let root = cr.post_text(&yolanda, "yolanda's question").await;
    let answer = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            reply("xavier's answer", &root, &root),
        )
        .await;
    // A reply to a post that does not exist, and one to an account no directory knows.
    let ghost = (
        format!("at://{}/app.bsky.feed.post/3kaaaaaaaaa22", yolanda.did),
        root.1.clone(),
    );
    let to_ghost = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            reply("to nothing", &ghost, &ghost),
        )
        .await;
    let nobody = (
        "at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kaaaaaaaaa22".to_owned(),
        root.1.clone(),
    );
    let to_nobody = cr
        .create(
            &xavier,
            "app.bsky.feed.post",
            reply("to nobody", &nobody, &nobody),
        )
        .await;
    let alice = ca.account("alice").await;
    ca.create(
        &alice,
        "app.bsky.graph.follow",
        json!({"subject": xavier.did}),
    )
    .await;
    eventually("X's posts indexed", || async {
        let uris = [answer.0.as_str(), to_ghost.0.as_str(), to_nobody.0.as_str()];
        let query: Vec<(&str, &str)> = uris.iter().map(|u| ("uris", *u)).collect();
        let (_, body) = ca.get("app.bsky.feed.getPosts", &query, None).await;
        if body["posts"].as_array().is_some_and(|p| p.len() == 3) {
            Ok(())
        } else {
            Err(body.to_string())
        }
    })
    .await;
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
