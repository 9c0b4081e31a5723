//! Recovery with the user's own rotation key when the old server is gone for good: one account got
//! its recovery key at sign-up, the other added it later with a PLC operation. Node A is killed;
//! `skyhold recover` moves each DID to node B (which hosts the PLC directory) from a repo backup and
//! its blobs. B then serves the records and blobs, the DID document names B with the user's key
//! still first among the rotation keys, and B's export verifies against the document's key.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};
use skyhold::core::repo::{load_car, verify_repo};

use crate::harness::{Node, TempDir, http, skyhold};
use crate::xrpc::Xrpc;

fn generate_key(path: &Path) -> String {
    let output = skyhold()
        .args(["key", "generate", "--out"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn plc_data(plc: &str, did: &str) -> Value {
    http()
        .get(format!("{plc}/{did}/data"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

struct Member {
    handle: &'static str,
    did: String,
    key_file: std::path::PathBuf,
    did_key: String,
    blob: Vec<u8>,
    blob_cid: String,
    records: usize,
}

#[tokio::test]
async fn a_users_rotation_key_moves_the_did_when_the_old_server_is_gone() {
    let dir = TempDir::new("recovery");
    let b = Node::start(&[]).await;
    let plc = format!("{}/plc", b.url);
    let mut a = Node::start(&["--plc-url", &plc]).await;
    let ca = Xrpc::new(&a);

    let mut members = Vec::new();
    for (i, handle) in ["keyed.test", "added.test"].into_iter().enumerate() {
        let key_file = dir.0.join(format!("{handle}.key"));
        let did_key = generate_key(&key_file);
        let mut input = json!({"handle": handle, "email": format!("{i}@example.com"),
                               "password": "correct horse battery"});
        if i == 0 {
            input["recoveryKey"] = json!(did_key);
        }
        let (code, created) = ca
            .post("com.atproto.server.createAccount", None, input)
            .await;
        assert_eq!(code, StatusCode::OK, "{created}");
        let did = created["did"].as_str().unwrap().to_owned();
        let token = created["accessJwt"].as_str().unwrap().to_owned();
        if i == 1 {
            // Adding a recovery key later: a PLC operation the server signs after an email code.
            let (code, _) = ca
                .post(
                    "com.atproto.identity.requestPlcOperationSignature",
                    Some(&token),
                    json!({}),
                )
                .await;
            assert_eq!(code, StatusCode::OK);
            let (_, codes) = ca.admin_get("/admin/codes").await;
            let code_token = codes["codes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["did"] == did.as_str())
                .unwrap()["token"]
                .clone();
            let current = plc_data(&plc, &did).await;
            let mut rotation = vec![json!(did_key)];
            rotation.extend(current["rotationKeys"].as_array().unwrap().iter().cloned());
            let (code, signed) = ca
                .post(
                    "com.atproto.identity.signPlcOperation",
                    Some(&token),
                    json!({"token": code_token, "rotationKeys": rotation}),
                )
                .await;
            assert_eq!(code, StatusCode::OK, "{signed}");
            let (code, body) = ca
                .post(
                    "com.atproto.identity.submitPlcOperation",
                    Some(&token),
                    json!({"operation": signed["operation"]}),
                )
                .await;
            assert_eq!(code, StatusCode::OK, "{body}");
        }
        assert_eq!(
            plc_data(&plc, &did).await["rotationKeys"][0],
            json!(did_key)
        );

        let blob = format!("attachment of {handle}").into_bytes();
        let (code, uploaded) = ca
            .post_raw(
                "com.atproto.repo.uploadBlob",
                Some(&token),
                "text/plain",
                blob.clone(),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{uploaded}");
        for text in ["one", "two"] {
            let (code, body) = ca
                .post(
                    "com.atproto.repo.createRecord",
                    Some(&token),
                    json!({"repo": did, "collection": "app.bsky.feed.post",
                           "record": {"text": text, "createdAt": "2026-01-01T00:00:00.000Z"}}),
                )
                .await;
            assert_eq!(code, StatusCode::OK, "{body}");
        }
        let (code, _) = ca
            .post(
                "com.atproto.repo.createRecord",
                Some(&token),
                json!({"repo": did, "collection": "com.example.file",
                       "record": {"file": uploaded["blob"]}}),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        members.push(Member {
            handle,
            blob_cid: uploaded["blob"]["ref"]["$link"]
                .as_str()
                .unwrap()
                .to_owned(),
            did,
            key_file,
            did_key,
            blob,
            records: 3,
        });
    }

    // The backups a careful user keeps: the repo export and the blobs, by CID.
    for m in &members {
        let car = http()
            .get(format!(
                "{}/xrpc/com.atproto.sync.getRepo?did={}",
                a.url, m.did
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(dir.0.join(format!("{}.car", m.handle)), &car).unwrap();
        let blobs = dir.0.join(format!("{}-blobs", m.handle));
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join(&m.blob_cid), &m.blob).unwrap();
    }

    a.kill();
    drop(a);

    let cb = Xrpc::new(&b);
    for m in &members {
        let output = skyhold()
            .args(["recover", "--did", &m.did, "--rotation-key"])
            .arg(&m.key_file)
            .args(["--pds", &b.url, "--handle", m.handle, "--email"])
            .arg(format!("{}-new@example.com", m.handle))
            .args(["--password", "a brand new password", "--repo"])
            .arg(dir.0.join(format!("{}.car", m.handle)))
            .arg("--blobs")
            .arg(dir.0.join(format!("{}-blobs", m.handle)))
            .args(["--plc-url", &plc])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "skyhold recover: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );

        let data = plc_data(&plc, &m.did).await;
        assert_eq!(
            data["services"]["atproto_pds"]["endpoint"],
            json!(b.url),
            "{data}"
        );
        assert_eq!(data["rotationKeys"][0], json!(m.did_key), "{data}");
        assert_eq!(data["alsoKnownAs"][0], json!(format!("at://{}", m.handle)));
        let (code, status) = cb
            .get(
                &format!("/xrpc/com.atproto.sync.getRepoStatus?did={}", m.did),
                None,
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{status}");
        assert_eq!(status["active"], true, "{status}");
        let (_, posts) = cb
            .get(
                &format!(
                    "/xrpc/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.post",
                    m.did
                ),
                None,
            )
            .await;
        assert_eq!(
            posts["records"].as_array().unwrap().len(),
            m.records - 1,
            "{posts}"
        );
        let blob = http()
            .get(format!(
                "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={}",
                b.url, m.did, m.blob_cid
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(blob.status(), StatusCode::OK);
        assert_eq!(blob.bytes().await.unwrap().as_ref(), m.blob.as_slice());
        let (code, _) = cb
            .post(
                "com.atproto.server.createSession",
                None,
                json!({"identifier": m.handle, "password": "a brand new password"}),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        let document = http()
            .get(format!("{plc}/{}", m.did))
            .send()
            .await
            .unwrap()
            .json::<skyhold::core::did_document::DidDocument>()
            .await
            .unwrap();
        let car = http()
            .get(format!(
                "{}/xrpc/com.atproto.sync.getRepo?did={}",
                b.url, m.did
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let report = verify_repo(
            &load_car(car.as_ref()).unwrap(),
            Some(&document.signing_key().unwrap()),
        )
        .unwrap();
        assert_eq!(report.did, m.did);
    }

    // The DID ends only when its holder asks, with their own key.
    let last = &members[1];
    let output = skyhold()
        .args(["key", "tombstone", "--did", &last.did, "--rotation-key"])
        .arg(&last.key_file)
        .args(["--plc-url", &plc, "--yes"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let gone = http()
        .get(format!("{plc}/{}", last.did))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    // The node answers for the ended DID by name (a member asks for its PLC state).
    let first = &members[0];
    let (code, session) = cb
        .post(
            "com.atproto.server.createSession",
            None,
            json!({"identifier": first.handle, "password": "a brand new password"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{session}");
    let token = session["accessJwt"].as_str().unwrap();
    let path = format!("/xrpc/blue.skyhold.identity.getPlcData?did={}", last.did);
    let answer = cb.get(&path, Some(token)).await;
    crate::xrpc::expect("PLC data of a tombstoned DID", answer, 400, "DidTombstoned");
}
