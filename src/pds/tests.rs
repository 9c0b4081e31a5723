//! The PDS over a real store in a temporary directory, with an embedded PLC directory and a clock
//! the tests move: what decides by time (suspensions, token expiry, upload collection) is checked
//! by moving the clock, not by waiting.

use std::sync::Arc;

use super::*;
use crate::clock::Clock;
use crate::core::data;
use crate::core::syntax::{Nsid, RecordKey};
use crate::identity::PlcDirectory;

const HOUR: i64 = 60 * 60 * 1_000_000;

struct TestPds {
    pds: Pds,
    clock: Clock,
    dir: std::path::PathBuf,
}

impl Drop for TestPds {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn open(label: &str) -> TestPds {
    let mut suffix = [0u8; 6];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut suffix);
    let dir = std::env::temp_dir().join(format!(
        "skyhold-pds-{label}-{}",
        data_encoding::HEXLOWER.encode(&suffix)
    ));
    let store = Store::open(&dir).unwrap();
    let http = crate::net::Outbound::new(true);
    let plc = PlcClient::Embedded(PlcDirectory::new(store.clone()));
    let resolver = Resolver::new(http.clone(), plc.clone(), "http://127.0.0.1:9");
    let config = PdsConfig {
        public_url: "http://localhost:2583".into(),
        hostname: "localhost".into(),
        service_did: Did::parse("did:web:localhost").unwrap(),
        handle_domains: vec![".test".into()],
        invite_required: false,
        appview: None,
        smtp: None,
        did_web: false,
        crawlers: Vec::new(),
    };
    let clock = Clock::manual(crate::clock::now_micros());
    let catalog = Arc::new(crate::lexicons::official().unwrap());
    let pds = Pds::open(store, config, plc, resolver, http, catalog, clock.clone())
        .await
        .unwrap();
    TestPds { pds, clock, dir }
}

async fn account(pds: &Pds, name: &str) -> (Did, SessionOutput) {
    let created = pds
        .create_account(NewAccount {
            handle: format!("{name}.test"),
            email: Some(format!("{name}@example.com")),
            password: Some("a long enough password".into()),
            ..NewAccount::default()
        })
        .await
        .unwrap();
    let did = created.session.did.clone();
    (did, created.session)
}

#[tokio::test]
async fn a_suspension_ends_when_its_time_comes() {
    let t = open("suspension").await;
    let (did, _) = account(&t.pds, "alice").await;
    let until = Clock::manual(t.clock.now_micros() + HOUR).now_datetime();
    let action = Moderation::Suspend {
        reference: "spam".into(),
        until,
    };
    t.pds.moderate_account(&did, action).await.unwrap();
    assert!(t.pds.check_not_taken_down(&did).await.is_err());
    assert_eq!(t.pds.lift_expired_suspensions().await.unwrap(), 0);
    t.clock.advance(HOUR - 1_000_000);
    assert_eq!(
        t.pds.lift_expired_suspensions().await.unwrap(),
        0,
        "not yet"
    );
    t.clock.advance(2_000_000);
    assert_eq!(t.pds.lift_expired_suspensions().await.unwrap(), 1);
    t.pds.check_not_taken_down(&did).await.unwrap();
    let status = t.pds.repo_status(&did).await.unwrap();
    assert!(status.active, "restored to active, not deactivated");
}

#[tokio::test]
async fn access_tokens_expire_with_the_clock() {
    let t = open("tokens").await;
    let (did, session) = account(&t.pds, "bob").await;
    let authed = t.pds.verify_access(&session.access_jwt).unwrap();
    assert_eq!(authed.did, did);
    t.clock
        .advance(auth::ACCESS_TTL_SECS * 1_000_000 - 1_000_000);
    assert!(t.pds.verify_access(&session.access_jwt).is_ok());
    t.clock.advance(1_000_000);
    assert!(matches!(
        t.pds.verify_access(&session.access_jwt),
        Err(PdsError::ExpiredToken(_))
    ));
    // The refresh token lives longer and still trades for a new pair.
    let refreshed = t.pds.refresh_session(&session.refresh_jwt).await.unwrap();
    assert!(t.pds.verify_access(&refreshed.access_jwt).is_ok());
}

#[tokio::test]
async fn uploads_no_record_uses_are_collected_after_an_hour() {
    let t = open("blobs").await;
    let (did, _) = account(&t.pds, "carol").await;
    let mut kept = t.pds.start_upload().unwrap();
    kept.write(b"\x89PNG\r\n\x1a\nkept").unwrap();
    let kept = t
        .pds
        .finish_upload(&did, kept, b"\x89PNG\r\n\x1a\n".to_vec(), "image/png")
        .await
        .unwrap();
    let mut dropped = t.pds.start_upload().unwrap();
    dropped.write(b"unused bytes").unwrap();
    t.pds
        .finish_upload(&did, dropped, Vec::new(), "text/plain")
        .await
        .unwrap();
    // A record takes the first upload up; the second stays unused.
    let record = data::from_json(&serde_json::json!({
        "$type": "app.bsky.actor.profile",
        "avatar": {"$type": "blob", "ref": {"$link": kept.cid.to_string()},
                   "mimeType": "image/png", "size": kept.size},
    }))
    .unwrap();
    let op = WriteOp::Create {
        collection: Nsid::parse("app.bsky.actor.profile").unwrap(),
        rkey: Some(RecordKey::parse("self").unwrap()),
        record,
    };
    t.pds
        .apply_writes(&did, vec![op], None, None)
        .await
        .unwrap();
    assert_eq!(t.pds.collect_temp_blobs().await.unwrap(), 0, "too young");
    t.clock.advance(blobs::TEMP_BLOB_TTL_MICROS + 1_000_000);
    assert_eq!(t.pds.collect_temp_blobs().await.unwrap(), 1);
    assert_eq!(t.pds.collect_temp_blobs().await.unwrap(), 0);
    let file = t.pds.blob_file(&did, &kept.cid, Reader::Anyone).await;
    assert!(file.is_ok(), "the used upload stays");
}

/// Stores an OAuth session of `did` (as a token grant would) under `id`.
async fn oauth_session(t: &TestPds, id: &'static str, did: &Did) {
    let now = t.clock.now_secs();
    let row = oauth::store::SessionRow {
        did: did.to_string(),
        client_id: "http://localhost".into(),
        client_name: None,
        client_uri: None,
        logo_uri: None,
        scope: "atproto".into(),
        dpop_jkt: "jkt".into(),
        client_key: None,
        created_at: now,
        expires_at: now + 3600,
        refresh_expires_at: now + 3600,
        refresh_digest: id.as_bytes().to_vec(),
        previous_digest: None,
        last_refreshed_at: now,
    };
    t.pds
        .store()
        .write(move |txn| Ok(Ok::<_, PdsError>(oauth::store::put_session(txn, id, &row)?)))
        .await
        .unwrap();
}

async fn has_oauth_session(t: &TestPds, id: &'static str) -> bool {
    t.pds
        .store()
        .read(move |txn| Ok::<_, PdsError>(oauth::store::read_session(txn, id)?.is_some()))
        .await
        .unwrap()
}

#[tokio::test]
async fn ending_an_accounts_sessions_ends_its_oauth_sessions() {
    let t = open("oauth-sessions").await;
    let (alice, _) = account(&t.pds, "alice").await;
    let (bob, _) = account(&t.pds, "bob").await;
    let (carol, _) = account(&t.pds, "carol").await;
    oauth_session(&t, "alice-app", &alice).await;
    oauth_session(&t, "bob-app", &bob).await;
    oauth_session(&t, "carol-app", &carol).await;

    // A new password ends the account's app sessions, and only its own.
    t.pds
        .set_password(&alice, "another long enough password")
        .await
        .unwrap();
    assert!(!has_oauth_session(&t, "alice-app").await);
    assert!(has_oauth_session(&t, "bob-app").await);

    let takedown = Moderation::Takedown {
        reference: "spam".into(),
    };
    t.pds.moderate_account(&bob, takedown).await.unwrap();
    assert!(!has_oauth_session(&t, "bob-app").await);
    assert!(has_oauth_session(&t, "carol-app").await);

    t.pds.delete_account(&carol, None).await.unwrap();
    assert!(!has_oauth_session(&t, "carol-app").await);
}
