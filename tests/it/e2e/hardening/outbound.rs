//! Outbound fetches on someone else's say-so (H2, H3, M7): bodies are cut at their budget while
//! they stream, and in production no loopback or private address is reached in any spelling,
//! through the proxy, feed generators, or the issuer of a service token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    PUBLIC_HOST, Trap, did_with_services, production_account, production_node,
    unsigned_service_token,
};
use crate::harness::{Node, proc_status_kb};
use crate::xrpc::Xrpc;

/// A listener whose every answer is a chunked body of `total` bytes of JSON whitespace, streamed
/// as fast as the reader takes it; counts the bytes it managed to send.
async fn endless_document(total: u64) -> (u16, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = socket.read(&mut head).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
                    )
                    .await;
                let chunk = vec![b' '; 64 * 1024];
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                let mut left = total;
                while left > 0 {
                    if socket.write_all(&framed).await.is_err() {
                        return;
                    }
                    counter.fetch_add(64 * 1024, Ordering::SeqCst);
                    left = left.saturating_sub(64 * 1024);
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (port, sent)
}

#[tokio::test]
async fn a_one_gib_did_document_is_cut_off_at_its_budget() {
    // Local mode, so the loopback "did:web" host is fetched at all (as the review probed it).
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (port, sent) = endless_document(1 << 30).await;
    let before = proc_status_kb(node.pid(), "VmRSS");
    let token = unsigned_service_token(
        &format!("did:web:localhost%3A{port}"),
        &format!("did:web:localhost%3A{}", node.port),
        "app.bsky.actor.getProfile",
    );
    let (status, body) = xrpc
        .get(
            "/xrpc/app.bsky.actor.getProfile?actor=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
            Some(&token),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too large"),
        "{body}"
    );
    let peak = proc_status_kb(node.pid(), "VmHWM");
    // Give the listener a moment to notice the closed connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let streamed = sent.load(Ordering::SeqCst);
    println!(
        "1 GiB document: the node read {} KiB before refusing it; RSS {before} kB before, peak {peak} kB",
        streamed / 1024
    );
    assert!(
        streamed < 32 << 20,
        "the node kept reading: {streamed} bytes of a 256 KiB budget"
    );
    assert!(
        peak < before + 64 * 1024,
        "memory grew from {before} kB to a peak of {peak} kB"
    );
}

#[tokio::test]
async fn production_refuses_every_loopback_and_private_spelling() {
    let trap = Trap::start().await;
    let node = production_node(&[]).await;
    let xrpc = Xrpc::new(&node);
    let (did, token) = production_account(&xrpc, "alice").await;
    let t = trap.port;
    let endpoints = [
        format!("https://127.0.0.1:{t}"),
        format!("http://127.0.0.1:{t}"),
        format!("https://localhost:{t}"),
        format!("https://LOCALHOST.:{t}"),
        format!("https://2130706433:{t}"),
        format!("https://127.1:{t}"),
        format!("https://0x7f000001:{t}"),
        format!("https://0177.0.0.1:{t}"),
        format!("https://[::ffff:127.0.0.1]:{t}"),
        format!("https://[::1]:{t}"),
        format!("https://0.0.0.0:{t}"),
        format!("https://127.0.0.1:{t}/latest/meta-data/secret-path#"),
        "https://10.1.2.3:8080".to_owned(),
        "https://169.254.169.254".to_owned(),
        "https://192.168.0.1:22".to_owned(),
        "https://[fd00::1]".to_owned(),
        "https://metadata".to_owned(),
    ];
    // A did:plc document holds at most 10 services: the endpoints go into DIDs of 9 each.
    let mut targets = Vec::new();
    for (chunk_index, chunk) in endpoints.chunks(9).enumerate() {
        let services: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(n, e)| (format!("svc{n}"), e.clone()))
            .collect();
        let mut borrowed: Vec<(&str, &str, &str)> = services
            .iter()
            .map(|(id, e)| (id.as_str(), "ProbeService", e.as_str()))
            .collect();
        let feed_endpoint = format!("https://127.0.0.1:{t}");
        if chunk_index == 0 {
            borrowed.push(("bsky_fg", "BskyFeedGenerator", &feed_endpoint));
        }
        let did = did_with_services(&xrpc, &borrowed).await;
        for (id, endpoint) in services {
            targets.push((format!("{did}#{id}"), endpoint));
        }
    }
    let service_did = targets[0].0.split('#').next().unwrap().to_owned();

    // H3: the proxy, GET and POST, for every spelling.
    for (header, endpoint) in &targets {
        for post in [false, true] {
            let url = format!("{}/xrpc/com.example.ssrf.probe?x=1", node.url);
            let request = if post {
                crate::harness::http().post(url).json(&json!({"x": 1}))
            } else {
                crate::harness::http().get(url)
            };
            let response = request
                .bearer_auth(&token)
                .header("atproto-proxy", header)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(
                status == 400 || status == 502,
                "proxy to {endpoint} (post: {post}): {status} {body}"
            );
        }
    }

    // M7: a feed generator record naming that DID, read by anyone through getFeed.
    let (status, created) = xrpc
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.generator", "rkey": "probe",
                   "record": {"$type": "app.bsky.feed.generator", "did": service_did,
                              "displayName": "probe", "createdAt": "2026-01-01T00:00:00.000Z"}}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let feed = format!("at://{did}/app.bsky.feed.generator/probe");
    let mut indexed = false;
    for _ in 0..100 {
        let (status, _) = xrpc
            .get(
                &format!("/xrpc/app.bsky.feed.getFeedGenerator?feed={feed}"),
                None,
            )
            .await;
        if status == 200 {
            indexed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(indexed, "the App View did not index the feed generator");
    let (status, body) = xrpc
        .get(&format!("/xrpc/app.bsky.feed.getFeed?feed={feed}"), None)
        .await;
    assert!(status == 400 || status == 502, "getFeed: {status} {body}");

    // M7: unsigned service tokens naming a did:web issuer on loopback, to the App View and to
    // createAccount.
    let service_did_of_node = format!("did:web:{PUBLIC_HOST}");
    for issuer in [
        format!("did:web:localhost%3A{t}"),
        format!("did:web:127.0.0.1%3A{t}"),
        "did:web:localhost".to_owned(),
    ] {
        let token = unsigned_service_token(
            &issuer,
            &format!("{service_did_of_node}#bsky_appview"),
            "app.bsky.actor.getProfile",
        );
        let (status, body) = xrpc
            .get(
                &format!("/xrpc/app.bsky.actor.getProfile?actor={did}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 401, "{issuer}: {body}");
        let token = unsigned_service_token(
            &issuer,
            &service_did_of_node,
            "com.atproto.server.createAccount",
        );
        let (status, body) = xrpc
            .post(
                "com.atproto.server.createAccount",
                Some(&token),
                json!({"handle": format!("mover.{PUBLIC_HOST}"), "email": "m@example.com",
                       "password": "correct horse battery", "did": issuer}),
            )
            .await;
        assert!(status.is_client_error(), "{issuer}: {status} {body}");
    }

    // Nothing reached the service inside the network, and the node counted its refusals.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(trap.connections(), 0, "a loopback service was reached");
    let (status, stats) = xrpc.admin_get("/admin/stats").await;
    assert_eq!(status, 200, "{stats}");
    let refused = stats["outbound"]["refused"].as_u64().unwrap();
    println!(
        "production: {} endpoints x GET/POST, a feed generator and 6 service tokens refused ({refused} refusals counted)",
        endpoints.len()
    );
    assert!(refused >= endpoints.len() as u64, "{stats}");
}
