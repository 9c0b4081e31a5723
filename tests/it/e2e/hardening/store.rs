//! The store and secrets at rest (M5, M6, L4, L5): a full disk makes writes answer 503 and
//! `_health` say so, and the node recovers without a restart once there is room; the data
//! directory, the database and backups are private whatever the umask; one repo import at a time;
//! a bounded number of sessions per account.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::error_of;
use crate::harness::{ChildGuard, Node, TempDir, http, listening};
use crate::xrpc::Xrpc;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Whether this machine lets an unprivileged test mount a tmpfs in a private namespace.
fn private_mounts_work() -> Result<(), String> {
    let output = Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt && true",
        ])
        .output()
        .map_err(|e| format!("no unshare: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

fn post_record(n: usize, pad: usize) -> Value {
    json!({"$type": "app.bsky.feed.post", "text": format!("post {n}"),
           "createdAt": "2026-01-01T00:00:00.000Z", "pad": "y".repeat(pad)})
}

#[tokio::test]
async fn a_full_disk_answers_503_and_the_node_recovers_without_a_restart() {
    if let Err(why) = private_mounts_work() {
        println!(
            "SKIPPED a_full_disk_answers_503_and_the_node_recovers_without_a_restart: this machine \
             does not allow a tmpfs in a private mount namespace (unshare -rm: {why})"
        );
        return;
    }
    let dir = TempDir::new("disk-full");
    let mount = dir.0.join("mnt");
    std::fs::create_dir_all(&mount).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=48m tmpfs '{}' && exec '{}' serve --data-dir '{}/data' \
         --listen 127.0.0.1:0 --relay-listen 127.0.0.1:0",
        mount.display(),
        env!("CARGO_BIN_EXE_skyhold"),
        mount.display(),
    );
    let mut child = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let port = listening(&mut child).await.port();
    let _guard = ChildGuard(child);
    let url = format!("http://localhost:{port}");
    let xrpc = Xrpc::with_base(&url, "");
    let (did, token) = xrpc.account("diskfull.test").await;
    // The tmpfs as the node sees it, through its own root.
    let inside = Path::new("/proc")
        .join(pid.to_string())
        .join("root")
        .join(mount.strip_prefix("/").unwrap_or(&mount));
    let stat = rustix::fs::statvfs(&inside).unwrap();
    let free = stat.f_bavail * stat.f_frsize;
    let filler = inside.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; usize::try_from(free).unwrap() - 3 * 1024 * 1024],
    )
    .unwrap();

    let mut acked = Vec::new();
    let mut refused = None;
    for n in 0..200 {
        let (status, body) = xrpc
            .post(
                "com.atproto.repo.createRecord",
                Some(&token),
                json!({"repo": did, "collection": "app.bsky.feed.post", "record": post_record(n, 60_000)}),
            )
            .await;
        match status.as_u16() {
            200 => acked.push(body["uri"].as_str().unwrap().to_owned()),
            503 => {
                assert_eq!(error_of(&body), "NotEnoughResources", "{body}");
                refused = Some(n);
                break;
            }
            other => panic!("write {n} answered {other}: {body}"),
        }
    }
    assert!(refused.is_some(), "the disk never filled");
    // While the disk is full: writes refused at once, health says why, reads work.
    let (status, body) = xrpc
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post", "record": post_record(999, 0)}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    let (status, health) = xrpc.get("/xrpc/_health", None).await;
    assert_eq!(status, 503, "{health}");
    assert!(health["message"].is_string(), "{health}");
    let (status, _) = xrpc
        .get(
            &format!("/xrpc/com.atproto.repo.describeRepo?repo={did}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "reads go on");

    // Room again: the node recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let mut recovered = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if xrpc.get("/xrpc/_health", None).await.0 == 200 {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "health still failing after 30 s with room on the disk"
    );
    let (status, body) = xrpc
        .post(
            "com.atproto.repo.createRecord",
            Some(&token),
            json!({"repo": did, "collection": "app.bsky.feed.post", "record": post_record(1000, 0)}),
        )
        .await;
    assert_eq!(status, 200, "a write after recovery: {body}");
    for uri in &acked {
        let rkey = uri.rsplit('/').next().unwrap();
        let (status, _) = xrpc
            .get(
                &format!(
                    "/xrpc/com.atproto.repo.getRecord?repo={did}&collection=app.bsky.feed.post&rkey={rkey}"
                ),
                None,
            )
            .await;
        assert_eq!(status, 200, "acknowledged record {uri} is gone");
    }
    println!(
        "disk full: {} writes acknowledged, then 503; recovered without a restart; none lost",
        acked.len()
    );
}

#[tokio::test]
async fn the_data_directory_database_and_backups_are_private_whatever_the_umask() {
    let dir = TempDir::new("modes");
    let data = dir.0.join("data");
    let mut child = Command::new("sh")
        .args([
            "-c",
            "umask 022 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_skyhold"),
            "serve",
            "--data-dir",
        ])
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--relay-listen", "127.0.0.1:0"])
        .env("SKYHOLD_ADMIN_PASSWORD", "modes-admin-password")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port = listening(&mut child).await.port();
    let _guard = ChildGuard(child);
    let url = format!("http://localhost:{port}");
    let xrpc = Xrpc::with_base(&url, "modes-admin-password");
    let (_, token) = xrpc.account("modes.test").await;
    let (status, _) = xrpc
        .post_raw(
            "com.atproto.repo.uploadBlob",
            Some(&token),
            "image/png",
            b"\x89PNG\r\n\x1a\n0000".to_vec(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("skyhold.redb")), 0o600, "database");
    assert_eq!(mode(&data.join("blobs")), 0o700, "blob directory");

    let dest = dir.0.join("backup");
    let backup = Command::new("sh")
        .args([
            "-c",
            "umask 022 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_skyhold"),
            "backup",
            "--config",
            "/dev/null",
            "--url",
            &url,
        ])
        .arg(&dest)
        .env("SKYHOLD_ADMIN_PASSWORD", "modes-admin-password")
        .output()
        .unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert_eq!(mode(&dest), 0o700, "backup directory");
    for file in ["skyhold.redb", "manifest.json"] {
        assert_eq!(mode(&dest.join(file)), 0o600, "backup {file}");
    }
    assert_eq!(mode(&dest.join("blobs")), 0o700, "backup blob directory");
    for entry in std::fs::read_dir(dest.join("blobs")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600, "backup blob");
    }
}

#[tokio::test]
async fn one_repo_import_at_a_time() {
    let node = Node::start(&[]).await;
    let xrpc = Xrpc::new(&node);
    let mut tokens = Vec::new();
    for name in ["eve.test", "frank.test"] {
        let (_, token) = xrpc.account(name).await;
        let (status, body) = xrpc
            .post(
                "com.atproto.server.deactivateAccount",
                Some(&token),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        tokens.push(token);
    }
    // eve's import arrives slowly: a few bytes, then nothing until the test says so.
    let (more, waiting) = tokio::sync::oneshot::channel::<()>();
    let body = futures_util::stream::unfold((0, Some(waiting)), |(step, waiting)| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(vec![0x0a_u8, 0xa1]), (1, waiting))),
            _ => {
                if let Some(waiting) = waiting {
                    let _ = waiting.await;
                }
                None
            }
        }
    });
    let slow = tokio::spawn({
        let url = node.xrpc("com.atproto.repo.importRepo");
        let token = tokens[0].clone();
        async move {
            http()
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/vnd.ipld.car")
                .body(reqwest::Body::wrap_stream(body))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = xrpc
        .post_raw(
            "com.atproto.repo.importRepo",
            Some(&tokens[1]),
            "application/vnd.ipld.car",
            vec![0x0a, 0xa1],
        )
        .await;
    assert_eq!(
        (status.as_u16(), error_of(&body)),
        (429, "RateLimitExceeded"),
        "{body}"
    );
    let _ = more.send(());
    assert_eq!(slow.await.unwrap(), 400, "eve's truncated repo is refused");
    let (status, body) = xrpc
        .post_raw(
            "com.atproto.repo.importRepo",
            Some(&tokens[1]),
            "application/vnd.ipld.car",
            vec![0x0a, 0xa1],
        )
        .await;
    assert_eq!(status, 400, "once eve's import ended, frank's runs: {body}");
}

#[tokio::test]
async fn an_account_keeps_a_bounded_number_of_sessions() {
    let node = Node::start(&["--rate-limits", "login-5m=200/5m,login-day=500/1d"]).await;
    let xrpc = Xrpc::new(&node);
    xrpc.account("gina.test").await;
    let login = || {
        xrpc.post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": "gina.test", "password": "correct horse battery"}),
        )
    };
    let (_, first) = login().await;
    let mut last = Value::Null;
    for _ in 0..100 {
        let (status, body) = login().await;
        assert_eq!(status, 200, "{body}");
        last = body;
    }
    let refresh = |token: String| {
        let url = node.xrpc("com.atproto.server.refreshSession");
        async move {
            let response = http().post(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    };
    let (status, body) = refresh(first["refreshJwt"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, error_of(&body)),
        (400, "ExpiredToken"),
        "the oldest of 101 sessions is ended: {body}"
    );
    let (status, body) = refresh(last["refreshJwt"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, 200, "the newest works: {body}");
}
