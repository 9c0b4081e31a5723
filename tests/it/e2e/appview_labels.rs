//! Labels from a configured labeler: a fake labeler (a `did:web` on loopback, with its
//! `#atproto_label` key and `#atproto_labeler` endpoint) streams signed labels on
//! `com.atproto.label.subscribeLabels`; the node's App View applies the valid ones to views, drops
//! forged ones and labels from another source, hides content labeled `!takedown`, and removes a
//! label when the labeler negates it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use skyhold::core::crypto::{Algorithm, Keypair};
use skyhold::core::label::{Label, encode_label_frame};

use super::appview::{Client, Lexicons, eventually, now};
use crate::harness::Node;

/// Encoded `#labels` frames by seq: everything the fake labeler ever streamed.
type LabelFrames = Arc<Mutex<Vec<(i64, Vec<u8>)>>>;

#[derive(Clone)]
struct Labeler {
    did: String,
    port: u16,
    key: Arc<Keypair>,
    frames: LabelFrames,
    notify: Arc<tokio::sync::Notify>,
}

impl Labeler {
    async fn start() -> Labeler {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let labeler = Labeler {
            did: format!("did:web:localhost%3A{port}"),
            port,
            key: Arc::new(Keypair::generate(Algorithm::K256, &mut rand_core::OsRng)),
            frames: Arc::default(),
            notify: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/did.json", get(did_document))
            .route("/xrpc/com.atproto.label.subscribeLabels", get(subscribe))
            .with_state(labeler.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        labeler
    }

    fn label(&self, uri: &str, val: &str, neg: bool) -> Label {
        Label {
            ver: Some(1),
            src: self.did.clone(),
            uri: uri.to_owned(),
            cid: None,
            val: val.to_owned(),
            neg: neg.then_some(true),
            cts: now(),
            exp: None,
            sig: None,
        }
        .sign(&self.key)
        .unwrap()
    }

    /// Streams one `#labels` frame.
    fn push(&self, labels: &[Label]) {
        let mut frames = self.frames.lock().unwrap();
        let seq = frames.len() as i64 + 1;
        frames.push((seq, encode_label_frame(seq, labels).unwrap()));
        self.notify.notify_waiters();
    }
}

async fn did_document(State(l): State<Labeler>) -> Json<Value> {
    let multikey = l.key.public_key().to_multikey();
    Json(json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": l.did,
        "verificationMethod": [{"id": "#atproto_label", "type": "Multikey", "controller": l.did, "publicKeyMultibase": multikey}],
        "service": [{"id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": format!("http://localhost:{}", l.port)}],
    }))
}

async fn subscribe(
    State(l): State<Labeler>,
    Query(params): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    let mut cursor: i64 = params
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    ws.on_upgrade(move |mut socket| async move {
        loop {
            let notified = l.notify.notified();
            let pending: Vec<(i64, Vec<u8>)> = l
                .frames
                .lock()
                .unwrap()
                .iter()
                .filter(|(seq, _)| *seq > cursor)
                .cloned()
                .collect();
            for (seq, frame) in pending {
                cursor = seq;
                if socket.send(WsMessage::Binary(frame.into())).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                () = notified => {},
                msg = socket.recv() => if msg.is_none() { return },
            }
        }
    })
}

fn label_values(labels: &Value, src: &str) -> Vec<String> {
    let mut out: Vec<String> = labels
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["src"] == src)
        .map(|l| l["val"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn labels_from_a_configured_labeler_apply_to_views() {
    let labeler = Labeler::start().await;
    let node = Node::start(&["--appview-labelers", &labeler.did]).await;
    let c = Client::new(&node.url);
    let mut lex = Lexicons::load();
    let alice = c.account("alice").await;
    let bob = c.account("bob").await;
    let p1 = c.post_text(&alice, "labeled post").await;
    let p2 = c.post_text(&alice, "taken down by label").await;

    let impostor = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let forged = Label {
        sig: None,
        ..labeler.label(&p1.0, "forged", false)
    }
    .sign(&impostor)
    .unwrap();
    let other_source = Label {
        src: bob.did.clone(),
        ..labeler.label(&p1.0, "other", false)
    }
    .sign(&labeler.key)
    .unwrap();
    labeler.push(&[
        labeler.label(&p1.0, "spam", false),
        labeler.label(&alice.did, "rude", false),
        labeler.label(&p2.0, "!takedown", false),
        forged,
        other_source,
    ]);

    let b = Some(bob.token.as_str());
    let posts = eventually("labels applied", || async {
        let posts = c
            .ok(
                "app.bsky.feed.getPosts",
                &[("uris", &p1.0), ("uris", &p2.0)],
                b,
            )
            .await;
        let labels = &posts["posts"][0]["labels"];
        if posts["posts"].as_array().unwrap().len() == 1
            && label_values(labels, &labeler.did) == vec!["spam"]
        {
            Ok(posts)
        } else {
            Err(format!("{posts}"))
        }
    })
    .await;
    let posts = lex.output("app.bsky.feed.getPosts", posts);
    let spam = &posts["posts"][0]["labels"][0];
    assert_eq!(spam["uri"], p1.0);
    assert!(
        spam["sig"]["$bytes"].is_string(),
        "the label keeps its signature"
    );
    assert_eq!(
        label_values(&posts["posts"][0]["author"]["labels"], &labeler.did),
        vec!["rude"],
        "the account label shows on the author"
    );
    assert!(
        !posts.to_string().contains("forged") && !posts.to_string().contains("\"other\""),
        "forged labels and labels from another source are dropped: {posts}"
    );
    let profile = lex.output(
        "app.bsky.actor.getProfile",
        c.ok("app.bsky.actor.getProfile", &[("actor", &alice.did)], b)
            .await,
    );
    assert_eq!(label_values(&profile["labels"], &labeler.did), vec!["rude"]);
    let (status, _) = c
        .get("app.bsky.feed.getPostThread", &[("uri", &p2.0)], b)
        .await;
    assert_eq!(status, 400, "a post labeled !takedown is not found");

    // Negations remove labels; the takedown lifts.
    labeler.push(&[
        labeler.label(&p1.0, "spam", true),
        labeler.label(&p2.0, "!takedown", true),
    ]);
    eventually("negations applied", || async {
        let posts = c
            .ok(
                "app.bsky.feed.getPosts",
                &[("uris", &p1.0), ("uris", &p2.0)],
                b,
            )
            .await;
        let labels = &posts["posts"][0]["labels"];
        if posts["posts"].as_array().unwrap().len() == 2
            && label_values(labels, &labeler.did).is_empty()
        {
            Ok(())
        } else {
            Err(format!("{posts}"))
        }
    })
    .await;
}
