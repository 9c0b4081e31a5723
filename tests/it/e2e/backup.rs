//! `skyhold backup` and `skyhold restore` against a running node that keeps taking writes: the
//! online backup holds every write acknowledged before it started, restores into a node whose repos
//! verify, whose blobs are served, and whose firehose replays the old events and goes on with higher
//! sequence numbers. An offline backup of the stopped node, refusals and a wrong password too.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use skyhold::core::firehose::{Frame, Message, decode_frame};
use tokio::sync::Mutex;

use crate::harness::{Node, TempDir, http, skyhold};

const PASSWORD: &str = "correct horse battery";

async fn call(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

struct Account {
    did: String,
    token: String,
    handle: String,
}

async fn create_account(client: &reqwest::Client, node: &Node, handle: &str) -> Account {
    let body = call(
        client,
        node.xrpc("com.atproto.server.createAccount"),
        None,
        json!({"handle": handle, "email": format!("{}@example.com", handle.replace('.', "-")),
               "password": PASSWORD}),
    )
    .await;
    Account {
        did: body["did"].as_str().unwrap().to_owned(),
        token: body["accessJwt"].as_str().unwrap().to_owned(),
        handle: handle.to_owned(),
    }
}

/// Creates a post and returns its `collection/rkey` path.
async fn post(
    client: &reqwest::Client,
    url: String,
    account: &Account,
    text: &str,
    embed: Option<Value>,
) -> String {
    let mut record = json!({"$type": "app.bsky.feed.post", "text": text,
                            "createdAt": "2026-11-24T10:00:00.000Z"});
    if let Some(embed) = embed {
        record["embed"] = embed;
    }
    let created = call(
        client,
        url,
        Some(&account.token),
        json!({"repo": account.did, "collection": "app.bsky.feed.post", "record": record}),
    )
    .await;
    let uri = created["uri"].as_str().unwrap();
    let rkey = uri.rsplit('/').next().unwrap();
    format!("app.bsky.feed.post/{rkey}")
}

/// A PNG-looking blob of `len` bytes (sniffed as image/png).
fn image(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

fn run(command: &mut std::process::Command) -> (bool, String) {
    let output = command.output().expect("running skyhold");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Every message of the node's firehose from cursor 0 until it has been quiet for a second.
async fn replay(port: u16) -> (Vec<Message>, impl futures_util::Stream<Item = Message>) {
    let url = format!("ws://127.0.0.1:{port}/xrpc/com.atproto.sync.subscribeRepos?cursor=0");
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect to subscribeRepos");
    let mut messages = Box::pin(socket.filter_map(|frame| async move {
        match frame.ok()? {
            tokio_tungstenite::tungstenite::Message::Binary(bytes) => {
                match decode_frame(&bytes).expect("valid frame") {
                    Frame::Message(message) => Some(message),
                    other => panic!("unexpected frame {other:?}"),
                }
            }
            _ => None,
        }
    }));
    let mut out = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(1), messages.next()).await
    {
        out.push(message);
    }
    (out, messages)
}

fn commit_paths(messages: &[Message], did: &str) -> BTreeSet<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Commit(c) if c.repo == did => Some(c.ops.iter().map(|op| op.path.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_backup_during_writes_restores_into_a_working_node() {
    let mut node = Node::start(&[]).await;
    let keep = node.keep_data();
    let client = http();
    let port = node.port;
    let data = node.data.clone();

    // Two accounts, an image each (referenced by a post), and some posts.
    let mut accounts = Vec::new();
    let mut blobs = Vec::new();
    for (i, handle) in ["alice.test", "bob.test"].into_iter().enumerate() {
        let account = create_account(&client, &node, handle).await;
        let bytes = image(i as u8, 150_000 + i * 1000);
        let uploaded: Value = client
            .post(node.xrpc("com.atproto.repo.uploadBlob"))
            .bearer_auth(&account.token)
            .header("content-type", "image/png")
            .body(bytes.clone())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let blob = uploaded["blob"].clone();
        let cid = blob["ref"]["$link"].as_str().unwrap().to_owned();
        let embed = json!({"$type": "app.bsky.embed.images",
                           "images": [{"image": blob, "alt": "a test image"}]});
        post(
            &client,
            node.xrpc("com.atproto.repo.createRecord"),
            &account,
            "with an image",
            Some(embed),
        )
        .await;
        blobs.push((account.did.clone(), cid, bytes));
        accounts.push(account);
    }
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    for n in 0..30 {
        let who = n % 2;
        let path = post(
            &client,
            node.xrpc("com.atproto.repo.createRecord"),
            &accounts[who],
            &format!("before {n}"),
            None,
        )
        .await;
        acked.lock().await.push((who, path));
    }

    // Keep writing while the backup runs.
    let accounts = Arc::new(accounts);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, url, accounts, acked, stop) = (
            client.clone(),
            node.xrpc("com.atproto.repo.createRecord"),
            accounts.clone(),
            acked.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) || n < 10 {
                let who = n % 2;
                let path = post(
                    &client,
                    url.clone(),
                    &accounts[who],
                    &format!("during {n}"),
                    None,
                )
                .await;
                acked.lock().await.push((who, path));
                n += 1;
            }
            n
        })
    };
    while acked.lock().await.len() < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_backup: Vec<(usize, String)> = acked.lock().await.clone();
    let dir = TempDir::new("backup");
    let dest = dir.0.join("online");
    // Found through the configuration (listen address and admin password), as an operator would.
    let backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_skyhold"))
        .args(["backup", "--config", "/dev/null"])
        .arg(&dest)
        .env("SKYHOLD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SKYHOLD_DATA_DIR", &data)
        .env("SKYHOLD_ADMIN_PASSWORD", &node.admin_password)
        .output()
        .await
        .unwrap();
    let backup_text = format!(
        "{}{}",
        String::from_utf8_lossy(&backup.stdout),
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(backup.status.success(), "backup failed: {backup_text}");
    assert!(backup_text.contains("online backup"), "{backup_text}");
    stop.store(true, Ordering::Relaxed);
    let during = writer.await.unwrap();
    assert!(during >= 10, "only {during} writes during the backup");
    let all_acked = acked.lock().await.clone();
    eprintln!(
        "backup: {} writes acknowledged before it, {} in all\n{backup_text}",
        before_backup.len(),
        all_acked.len()
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["mode"], "online");
    assert_eq!(manifest["blobs"]["count"], 2, "{manifest}");
    assert!(
        manifest["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "pds.records"),
        "{manifest}"
    );

    // Refusals: a non-empty destination, a wrong admin password.
    let (ok, text) = run(skyhold()
        .args(["backup", "--config", "/dev/null", "--url", &node.url])
        .arg(&dest));
    assert!(!ok && text.contains("not empty"), "{text}");
    let (ok, text) = run(skyhold()
        .args(["backup", "--config", "/dev/null", "--url", &node.url])
        .args(["--admin-password", "wrong-password"])
        .arg(dir.0.join("refused")));
    assert!(!ok && text.contains("refused the admin password"), "{text}");
    assert!(!dir.0.join("refused").join("manifest.json").exists());
    let (ok, text) = run(skyhold()
        .args(["backup", "--config", "/dev/null", "--url", &node.url])
        .arg("--data-dir")
        .arg(dir.0.join("no-such-data"))
        .arg(dir.0.join("no-password")));
    assert!(!ok && text.contains("no admin password"), "{text}");
    assert!(
        !dir.0.join("no-password").exists(),
        "a failed backup left a directory"
    );

    // Offline: the stopped node's data directory, directly.
    let exit = node.terminate().expect("exit status");
    assert!(exit.success(), "SIGTERM exit: {exit:?}");
    drop(node);
    let offline = dir.0.join("offline");
    let (ok, text) = run(skyhold()
        .args(["backup", "--config", "/dev/null", "--data-dir"])
        .arg(&data)
        .arg(&offline)
        .env("SKYHOLD_LISTEN", format!("127.0.0.1:{port}")));
    assert!(ok, "offline backup failed: {text}");
    assert!(text.contains("offline backup"), "{text}");
    assert!(offline.join("manifest.json").is_file());

    // Restore the online backup and start a node on it, on the same address.
    let restored = dir.0.join("restored-data");
    let (ok, text) = run(skyhold()
        .args(["restore"])
        .arg(&dest)
        .arg("--data-dir")
        .arg(&restored));
    assert!(ok, "restore failed: {text}");
    let (ok, text) = run(skyhold()
        .args(["restore"])
        .arg(&dest)
        .arg("--data-dir")
        .arg(&restored));
    assert!(!ok && text.contains("already holds a database"), "{text}");
    let node = Node::start_in(&restored, port, &[]).await;

    // Repos: every write acknowledged before the backup is there, and each repo verifies.
    let plc = format!("{}/plc", node.url);
    let mut firehose_before = Vec::new();
    for (who, account) in accounts.iter().enumerate() {
        let car = client
            .get(format!(
                "{}?did={}",
                node.xrpc("com.atproto.sync.getRepo"),
                account.did
            ))
            .send()
            .await
            .unwrap();
        assert!(car.status().is_success(), "getRepo {}", account.handle);
        let file = dir.0.join(format!("{}.car", account.handle));
        std::fs::write(&file, car.bytes().await.unwrap()).unwrap();
        let (ok, text) = run(skyhold()
            .args(["repo", "verify"])
            .arg(&file)
            .args(["--plc-url", &plc]));
        assert!(
            ok,
            "restored repo of {} does not verify: {text}",
            account.handle
        );
        assert!(text.contains("verified"), "{text}");
        for (_, path) in before_backup.iter().filter(|(w, _)| *w == who) {
            let rkey = path.rsplit('/').next().unwrap();
            let record = client
                .get(format!(
                    "{}?repo={}&collection=app.bsky.feed.post&rkey={rkey}",
                    node.xrpc("com.atproto.repo.getRecord"),
                    account.did
                ))
                .send()
                .await
                .unwrap();
            assert!(
                record.status().is_success(),
                "{path} of {} was acknowledged before the backup but is missing",
                account.handle
            );
        }
        firehose_before.push(before_backup.iter().filter(|(w, _)| *w == who).count());
    }

    // Blobs are served, byte for byte.
    for (did, cid, bytes) in &blobs {
        let served = client
            .get(format!(
                "{}?did={did}&cid={cid}",
                node.xrpc("com.atproto.sync.getBlob")
            ))
            .send()
            .await
            .unwrap();
        assert!(served.status().is_success(), "getBlob {cid}");
        assert_eq!(&served.bytes().await.unwrap()[..], &bytes[..], "blob {cid}");
    }

    // The firehose replays the old events from cursor 0 and goes on with higher numbers.
    let (old, mut live) = replay(port).await;
    let seqs: Vec<i64> = old.iter().filter_map(Message::seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "replayed seqs are not increasing: {seqs:?}"
    );
    for (who, account) in accounts.iter().enumerate() {
        let replayed = commit_paths(&old, &account.did);
        for (_, path) in before_backup.iter().filter(|(w, _)| *w == who) {
            assert!(
                replayed.contains(path),
                "the firehose replay lacks {path} of {}",
                account.handle
            );
        }
        assert!(replayed.len() > firehose_before[who]);
    }
    let last_old = *seqs.last().unwrap();
    let session = call(
        &client,
        node.xrpc("com.atproto.server.createSession"),
        None,
        json!({"identifier": accounts[0].handle, "password": PASSWORD}),
    )
    .await;
    let alice = Account {
        did: accounts[0].did.clone(),
        token: session["accessJwt"].as_str().unwrap().to_owned(),
        handle: accounts[0].handle.clone(),
    };
    let path = post(
        &client,
        node.xrpc("com.atproto.repo.createRecord"),
        &alice,
        "after the restore",
        None,
    )
    .await;
    let new_event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let message = live.next().await.expect("the firehose closed");
            if let Message::Commit(commit) = &message
                && commit.ops.iter().any(|op| op.path == path)
            {
                return message;
            }
        }
    })
    .await
    .expect("the new post reached the firehose");
    assert!(
        new_event.seq().unwrap() > last_old,
        "new seq {:?} is not above the replayed {last_old}",
        new_event.seq()
    );
    drop(node);
    drop(keep);
}
