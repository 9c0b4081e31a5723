//! The post search index lives in its own file beside the store (`search.redb`,
//! `src/appview/search_index.rs`) and is written off the acknowledging commit. A client still
//! finds a post as soon as its write is acknowledged and stops finding a deleted one at once, and
//! the index survives a clean stop, a `kill -9`, and the loss of its file (a restore, a deleted
//! file): the node rebuilds it from the App View's posts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Node, TempDir, free_port};
use crate::xrpc::Xrpc;

const POSTS: usize = 150;

/// The URIs `searchPosts` answers for `q`, newest first.
async fn search(c: &Xrpc, token: &str, q: &str) -> Vec<String> {
    let (status, body) = c
        .get(
            &format!("/xrpc/app.bsky.feed.searchPosts?q={q}&limit=100"),
            Some(token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "searchPosts {q}: {body}");
    body["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["uri"].as_str().expect("a post URI").to_owned())
        .collect()
}

async fn login(c: &Xrpc) -> String {
    let (status, body) = c
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "finder.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accessJwt"].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn posts_are_found_at_once_and_after_restarts_kills_and_a_lost_index_file() {
    let dir = TempDir::new("search-index");
    let data = dir.0.join("data");
    let port = free_port();
    let mut node = Node::start_in(&data, port, &[]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("finder.test").await;

    // Every third post names an osprey; all of them a kestrel.
    let writes: Vec<Value> = (0..POSTS)
        .map(|i| {
            let bird = if i % 3 == 0 { " and an osprey" } else { "" };
            json!({"$type": "com.atproto.repo.applyWrites#create",
                   "collection": "app.bsky.feed.post",
                   "value": {"$type": "app.bsky.feed.post",
                             "text": format!("sighting {i}: a kestrel{bird} over the marsh"),
                             "createdAt": "2026-12-06T12:00:00.000Z"}})
        })
        .collect();
    let (status, body) = c
        .post(
            "com.atproto.repo.applyWrites",
            Some(&token),
            json!({"repo": did, "writes": writes}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uris: Vec<String> = body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["uri"].as_str().expect("a URI").to_owned())
        .collect();
    let mut ospreys: Vec<String> = uris.iter().step_by(3).cloned().collect();

    // Found as soon as the write is acknowledged: no polling.
    let mut found = search(&c, &token, "osprey").await;
    found.sort();
    ospreys.sort();
    assert_eq!(found, ospreys, "every osprey post, at once");
    assert_eq!(
        search(&c, &token, "kestrel%20osprey").await.len(),
        POSTS / 3
    );
    assert!(search(&c, &token, "heron").await.is_empty());

    // A deleted post is gone at once.
    let gone = ospreys.pop().expect("an osprey post");
    let rkey = gone.rsplit('/').next().expect("an rkey");
    let (status, body) = c
        .post(
            "com.atproto.repo.deleteRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let check = |mut found: Vec<String>, expected: &[String], when: &str| {
        found.sort();
        assert_eq!(found, expected, "osprey posts {when}");
    };
    check(
        search(&c, &token, "osprey").await,
        &ospreys,
        "after a delete",
    );

    // A clean stop and start.
    assert!(node.terminate().expect("running").success());
    let mut node = Node::start_in(&data, port, &[]).await;
    let c = Xrpc::new(&node);
    let token = login(&c).await;
    check(
        search(&c, &token, "osprey").await,
        &ospreys,
        "after a restart",
    );

    // The index file is lost: the node rebuilds it from its posts.
    assert!(node.terminate().expect("running").success());
    std::fs::remove_file(data.join("search.redb")).expect("the search index has its own file");
    let mut node = Node::start_in(&data, port, &[]).await;
    let c = Xrpc::new(&node);
    let token = login(&c).await;
    // Searches answer from what a rebuild holds so far without waiting: poll until it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut found = search(&c, &token, "osprey").await;
        found.sort();
        if found == ospreys {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rebuilt index never held every osprey post: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, body) = c
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"$type": "app.bsky.feed.post", "text": "a late osprey",
                              "createdAt": "2026-12-06T13:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ospreys.push(body["uri"].as_str().expect("a URI").to_owned());
    ospreys.sort();
    check(
        search(&c, &token, "osprey").await,
        &ospreys,
        "after a rebuild and a new post",
    );

    // A kill leaves both files unclosed: redb repairs them and nothing acknowledged is lost.
    node.kill();
    let node = Node::start_in(&data, port, &[]).await;
    let c = Xrpc::new(&node);
    let token = login(&c).await;
    check(
        search(&c, &token, "osprey").await,
        &ospreys,
        "after kill -9",
    );
}
