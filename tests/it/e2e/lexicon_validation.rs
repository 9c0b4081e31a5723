//! Records are validated against the official lexicons built into the binary, on a node started
//! with no flags, exactly as the reference PDS decides: `validate` unset validates known types and
//! accepts unknown ones as `"unknown"`; `validate: true` refuses unknown types; `validate: false`
//! skips validation and says so by leaving `validationStatus` out. Two client libraries post with
//! validation on (`@atproto/api`, and the Python SDK whose `send_post` sends `validate: true`); a
//! malformed post is refused with 400 and nothing is committed (the repo's rev is unchanged and no
//! `#commit` reaches the firehose). `--lexicon-dir` adds an operator's own record types.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use skyhold::core::firehose::{Frame, Message, decode_frame};

use crate::harness::{Node, TempDir, peer_command, python_peer_command, run_peer};
use crate::xrpc::{Xrpc, expect};

const PASSWORD: &str = "correct horse battery";
const PEER_TIMEOUT: Duration = Duration::from_secs(180);

async fn rev(c: &Xrpc, did: &str) -> String {
    let (status, body) = c
        .get(
            &format!("/xrpc/com.atproto.sync.getLatestCommit?did={did}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rev"].as_str().unwrap().to_owned()
}

/// The revs of `did`'s `#commit` events that carry operations, from the start of the firehose.
async fn commit_revs(node: &Node, did: &str) -> Vec<String> {
    let url = format!(
        "ws://127.0.0.1:{}/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
        node.port
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut revs = Vec::new();
    // The log is replayed at once; a quiet half second means it is all here.
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_millis(500), socket.next()).await
    {
        let tokio_tungstenite::tungstenite::Message::Binary(bytes) = message else {
            continue;
        };
        if let Ok(Frame::Message(Message::Commit(commit))) = decode_frame(&bytes)
            && commit.repo == did
            && !commit.ops.is_empty()
        {
            revs.push(commit.rev.to_string());
        }
    }
    revs
}

fn post(text: Value) -> Value {
    json!({"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-03T10:00:00.000Z"})
}

#[tokio::test]
async fn clients_post_with_validation_and_malformed_records_commit_nothing() {
    let node = Node::start(&[]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("ann.test").await;
    let token = Some(token.as_str());

    // Two client libraries, as users run them.
    let mut official = peer_command("validated-post.mjs");
    official.arg(&node.url).arg("ann.test").arg(PASSWORD);
    let official = run_peer("validated-post.mjs", official, PEER_TIMEOUT).await;
    assert_eq!(
        official["uris"].as_array().map(Vec::len),
        Some(2),
        "{official}"
    );
    let mut python = python_peer_command("validated_post.py");
    python.arg(&node.url).arg("ann.test").arg(PASSWORD);
    let python = run_peer("validated_post.py", python, PEER_TIMEOUT).await;
    assert_eq!(python["uris"].as_array().map(Vec::len), Some(1), "{python}");
    let mut accepted = 3;

    // Malformed records are refused, naming the type and the field, whatever the write.
    let before = rev(&c, &did).await;
    let malformed = json!({"$type": "app.bsky.feed.post", "text": 12});
    let refused = c
        .post(
            "com.atproto.repo.createRecord",
            token,
            json!({"repo": did, "collection": "app.bsky.feed.post", "record": malformed}),
        )
        .await;
    assert_eq!(
        refused.1["message"], "Invalid app.bsky.feed.post record: Record/text must be a string",
        "{}",
        refused.1
    );
    expect("malformed createRecord", refused, 400, "InvalidRequest");
    for (case, validate) in [
        ("validate unset", Value::Null),
        ("validate: true", json!(true)),
    ] {
        let mut input = json!({"repo": did, "collection": "app.bsky.feed.post",
                               "rkey": "3kmalformed22", "record": post(json!(""))});
        input["record"]["createdAt"] = json!("yesterday");
        if !validate.is_null() {
            input["validate"] = validate;
        }
        let got = c.post("com.atproto.repo.putRecord", token, input).await;
        expect(
            &format!("putRecord, bad datetime, {case}"),
            got,
            400,
            "InvalidRequest",
        );
    }
    let writes = json!([
        {"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post",
         "value": post(json!("fine"))},
        {"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.like",
         "value": {"$type": "app.bsky.feed.like", "createdAt": "2026-12-03T10:00:00.000Z"}},
    ]);
    let got = c
        .post(
            "com.atproto.repo.applyWrites",
            token,
            json!({"repo": did, "writes": writes}),
        )
        .await;
    assert!(
        got.1["message"]
            .as_str()
            .is_some_and(|m| m.contains("app.bsky.feed.like") && m.contains("subject")),
        "{}",
        got.1
    );
    expect("applyWrites with one bad like", got, 400, "InvalidRequest");
    assert_eq!(
        rev(&c, &did).await,
        before,
        "a refused write changed the repo"
    );

    // The three `validate` settings, as the reference PDS has them.
    let create = |record: Value, validate: Option<bool>| {
        let mut input = json!({"repo": did, "collection": record["$type"], "record": record});
        if let Some(validate) = validate {
            input["validate"] = json!(validate);
        }
        c.post("com.atproto.repo.createRecord", token, input)
    };
    let (status, body) = create(malformed.clone(), Some(false)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "validate: false skips validation: {body}"
    );
    assert!(body.get("validationStatus").is_none(), "{body}");
    accepted += 1;
    let unknown = json!({"$type": "org.example.unknown.thing", "anything": [1, 2]});
    let (status, body) = create(unknown.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["validationStatus"], "unknown", "{body}");
    accepted += 1;
    let got = create(unknown, Some(true)).await;
    assert_eq!(
        got.1["message"], "Unknown lexicon type: org.example.unknown.thing",
        "{}",
        got.1
    );
    expect(
        "unknown type with validate: true",
        got,
        400,
        "InvalidRequest",
    );
    let (status, body) = create(post(json!("plain")), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["validationStatus"], "valid", "{body}");
    accepted += 1;

    // The firehose shows exactly the accepted writes, ending at the repo's head.
    let revs = commit_revs(&node, &did).await;
    assert_eq!(revs.len(), accepted, "commits on the firehose: {revs:?}");
    assert_eq!(revs.last(), Some(&rev(&c, &did).await));
}

#[tokio::test]
async fn operator_schemas_add_record_types_to_the_official_ones() {
    let schemas = TempDir::new("lexicons");
    std::fs::create_dir_all(schemas.0.join("org/example/club")).unwrap();
    let event = json!({"lexicon": 1, "id": "org.example.club.event", "defs": {"main": {
        "type": "record", "key": "tid", "record": {"type": "object", "required": ["title", "startsAt"],
        "properties": {"title": {"type": "string", "maxLength": 100},
                       "startsAt": {"type": "string", "format": "datetime"}}}}}});
    std::fs::write(
        schemas.0.join("org/example/club/event.json"),
        event.to_string(),
    )
    .unwrap();
    let dir = schemas.0.to_str().unwrap();
    let node = Node::start(&["--lexicon-dir", dir]).await;
    let c = Xrpc::new(&node);
    let (did, token) = c.account("club.test").await;
    let create = |record: Value| {
        c.post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": record["$type"], "record": record}),
        )
    };
    let (status, body) = create(json!({"$type": "org.example.club.event", "title": "Picnic",
                                       "startsAt": "2026-12-24T12:00:00Z"}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["validationStatus"], "valid", "{body}");
    let got = create(json!({"$type": "org.example.club.event", "title": "Picnic"})).await;
    assert_eq!(
        got.1["message"],
        "Invalid org.example.club.event record: Record must have the property \"startsAt\"",
        "{}",
        got.1
    );
    expect("an event without its start", got, 400, "InvalidRequest");
    // The built-in schemas still apply.
    let got = create(json!({"$type": "app.bsky.feed.post", "text": 12})).await;
    expect("a malformed post", got, 400, "InvalidRequest");
}
