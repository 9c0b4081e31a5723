//! `skyhold repo verify` against a repo exported by the reference PDS: accepted as exported, refused
//! with one byte flipped.

use serde_json::{Value, json};

use crate::harness::{ReferencePds, TempDir, skyhold};

async fn call(client: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

#[tokio::test]
async fn verifies_a_reference_pds_export_and_refuses_a_flipped_byte() {
    let pds = ReferencePds::start().await;
    let client = crate::harness::http();
    let xrpc = |nsid: &str| format!("{}/xrpc/{nsid}", pds.url);
    let account = call(
        &client,
        &xrpc("com.atproto.server.createAccount"),
        None,
        json!({"handle": "verify-me.test", "email": "verify@example.com", "password": "hunter22-long"}),
    )
    .await;
    let did = account["did"].as_str().unwrap().to_owned();
    let token = account["accessJwt"].as_str().unwrap().to_owned();
    for i in 0..25 {
        call(
            &client,
            &xrpc("com.atproto.repo.createRecord"),
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post",
                   "record": {"$type": "app.bsky.feed.post", "text": format!("post {i}"),
                              "createdAt": "2026-11-24T10:00:00.000Z"}}),
        )
        .await;
    }
    let car = client
        .get(format!("{}?did={did}", xrpc("com.atproto.sync.getRepo")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = TempDir::new("repo-verify");
    let good = dir.0.join("export.car");
    std::fs::write(&good, &car).unwrap();
    let run = |file: &std::path::Path| {
        skyhold()
            .args(["repo", "verify"])
            .arg(file)
            .args(["--plc-url", &pds.plc_url])
            .output()
            .unwrap()
    };
    let accepted = run(&good);
    let stdout = String::from_utf8_lossy(&accepted.stdout);
    assert!(
        accepted.status.success(),
        "a reference export was refused: {stdout} {}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(stdout.contains("app.bsky.feed.post: 25"), "{stdout}");
    assert!(stdout.contains(&did), "{stdout}");

    for offset in [car.len() / 2, car.len() - 10] {
        let mut flipped = car.to_vec();
        flipped[offset] ^= 0x01;
        let bad = dir.0.join(format!("flipped-{offset}.car"));
        std::fs::write(&bad, &flipped).unwrap();
        let refused = run(&bad);
        assert_eq!(
            refused.status.code(),
            Some(1),
            "a flipped byte at {offset} went unnoticed"
        );
        assert!(!refused.stderr.is_empty(), "no reason given");
    }
}
