//! Unit tests for `core::plc`: genesis → DID → verify, update chains, recovery forks around the 72 h
//! boundary, tombstones, new-op rules and document rendering.
//!
//! Spec: <https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/v0.1/did-plc.md>.
//! The official audit-log vectors run in `tests/it/conformance/plc.rs`.

use super::*;
use crate::core::crypto::{Algorithm, Keypair};

const HOUR: i64 = 60 * 60 * 1_000_000;
/// 2025-07-25T14:33:23.810Z.
const T0: i64 = 1_753_454_003_810_000;

fn key(seed: u8, algorithm: Algorithm) -> Keypair {
    Keypair::from_bytes(algorithm, &[seed; 32]).unwrap()
}

fn did_key(k: &Keypair) -> String {
    k.public_key().to_did_key()
}

/// A DID with rotation keys `[recovery (p256), rotation (k256)]`, created at `T0`.
struct Fixture {
    recovery: Keypair,
    rotation: Keypair,
    did: String,
    log: Vec<LogEntry>,
}

fn fixture() -> Fixture {
    let recovery = key(1, Algorithm::P256);
    let rotation = key(2, Algorithm::K256);
    let signing = key(3, Algorithm::K256);
    let op = UnsignedOperation::from(genesis(
        vec![did_key(&recovery), did_key(&rotation)],
        &did_key(&signing),
        "alice.test",
        "https://pds.example.com",
    ))
    .sign(&rotation)
    .unwrap();
    let did = did_for_genesis(&op).unwrap();
    let log = apply_operation(&did, &[], op, T0).unwrap();
    Fixture {
        recovery,
        rotation,
        did,
        log,
    }
}

impl Fixture {
    fn head(&self) -> &Operation {
        &active_head(&self.log).unwrap().operation
    }

    fn handle_change(&self, prev: &Operation, handle: &str, signer: &Keypair) -> Operation {
        let changes = AtprotoChanges {
            handle: Some(handle.to_owned()),
            ..AtprotoChanges::default()
        };
        UnsignedOperation::from(update(prev, &changes).unwrap())
            .sign(signer)
            .unwrap()
    }

    fn apply(&mut self, op: Operation, at: i64) -> Result<(), PlcError> {
        self.log = apply_operation(&self.did, &self.log, op, at)?;
        Ok(())
    }

    fn nullified(&self) -> Vec<bool> {
        self.log.iter().map(|e| e.nullified).collect()
    }
}

#[test]
fn genesis_round_trip() {
    let f = fixture();
    let op = f.head();
    assert!(f.did.starts_with("did:plc:"));
    assert_eq!(f.did.len(), 32);
    assert!(
        f.did[8..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
    );
    let keys = op.rotation_keys();
    assert_eq!(verify_signature(op, &keys), Ok(1));
    assert_eq!(
        verify_signature(op, &keys[..1]),
        Err(PlcError::InvalidSignature)
    );
    assert_eq!(verify_signature(op, &[]), Err(PlcError::InvalidSignature));
    assert_eq!(f.log[0].created_at, "2025-07-25T14:33:23.810Z");
    assert_eq!(f.log[0].cid, op.cid().unwrap().to_string());
    assert!(f.log[0].cid.starts_with("bafyrei"));

    // JSON and DRISL round trips keep the bytes the signature covers.
    let json = serde_json::to_string(op).unwrap();
    let back: Operation = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, op);
    let drisl = op.to_drisl().unwrap();
    let decoded: Operation = crate::core::data::decode(&drisl).unwrap();
    assert_eq!(&decoded, op);
    assert_eq!(validate_audit_log(&f.log).unwrap().cid, f.log[0].cid);

    // A different DID for the same genesis is refused.
    let other = format!("did:plc:{}", "a".repeat(24));
    assert!(matches!(
        apply_operation(&other, &[], op.clone(), T0),
        Err(PlcError::GenesisHash { .. })
    ));
}

#[test]
fn drisl_encoding_sorts_keys_and_omits_sig_when_unsigned() {
    let f = fixture();
    let unsigned = f.head().unsigned().to_drisl().unwrap();
    let signed = f.head().to_drisl().unwrap();
    let value = crate::core::data::decode_value(&unsigned).unwrap();
    let crate::core::data::Value::Map(map) = value else {
        panic!("not a map")
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    assert!(!keys.contains(&"sig"));
    assert!(keys.contains(&"prev"));
    assert!(signed.len() > unsigned.len());
    // The encoder wrote canonical (length-first sorted) keys, or the strict decode above fails.
    assert_eq!(crate::core::data::drisl::check(&signed), Ok(()));
}

#[test]
fn update_chain() {
    let mut f = fixture();
    let genesis_op = f.head().clone();
    let op1 = f.handle_change(&genesis_op, "bob.test", &f.rotation);
    f.apply(op1.clone(), T0 + HOUR).unwrap();
    let new_signing = did_key(&key(4, Algorithm::P256));
    let changes = AtprotoChanges {
        signing_key: Some(new_signing.clone()),
        pds_endpoint: Some("pds2.example.com".into()),
        ..AtprotoChanges::default()
    };
    let unsigned = update(&op1, &changes).unwrap();
    assert_eq!(unsigned.prev, Some(op1.cid().unwrap().to_string()));
    assert_eq!(unsigned.also_known_as, vec!["at://bob.test".to_owned()]);
    assert_eq!(unsigned.verification_methods["atproto"], new_signing);
    assert_eq!(
        unsigned.services["atproto_pds"].endpoint,
        "https://pds2.example.com"
    );
    let op2 = UnsignedOperation::from(unsigned).sign(&f.recovery).unwrap();
    f.apply(op2.clone(), T0 + 2 * HOUR).unwrap();
    assert_eq!(f.nullified(), vec![false, false, false]);
    assert_eq!(validate_audit_log(&f.log).unwrap().operation, op2);

    // A stale prev (not a fork by a stronger key) and a key outside the set are refused.
    let stale = f.handle_change(&op1, "carol.test", &f.rotation);
    assert_eq!(
        f.apply(stale, T0 + 3 * HOUR),
        Err(PlcError::InvalidSignature)
    );
    let outsider = f.handle_change(&op2, "mallory.test", &key(9, Algorithm::K256));
    assert_eq!(
        f.apply(outsider, T0 + 3 * HOUR),
        Err(PlcError::InvalidSignature)
    );
    // Timestamps must increase.
    let late = f.handle_change(&op2, "dave.test", &f.rotation);
    assert!(matches!(
        f.apply(late.clone(), T0 + 2 * HOUR),
        Err(PlcError::Misordered(_))
    ));
    f.apply(late, T0 + 2 * HOUR + 1000).unwrap();

    // A tampered entry fails the replay.
    let mut tampered = f.log.clone();
    tampered[1].created_at = "2025-07-25T14:00:00.000Z".into();
    assert!(matches!(
        validate_audit_log(&tampered),
        Err(PlcError::Misordered(_))
    ));
    let mut tampered = f.log.clone();
    tampered[2].cid = tampered[1].cid.clone();
    assert!(matches!(
        validate_audit_log(&tampered),
        Err(PlcError::CidMismatch { .. })
    ));
    assert_eq!(validate_audit_log(&[]), Err(PlcError::EmptyLog));
}

/// Genesis, then an op by the lower-priority key at +1 h, then a recovery by the higher-priority
/// key from genesis at `recovery_at`.
fn fork_at(recovery_at: i64) -> (Fixture, Result<(), PlcError>) {
    let mut f = fixture();
    let genesis_op = f.head().clone();
    let hijack = f.handle_change(&genesis_op, "mallory.test", &f.rotation);
    f.apply(hijack, T0 + HOUR).unwrap();
    let recovery = f.handle_change(&genesis_op, "alice.test", &f.recovery);
    let result = f.apply(recovery, recovery_at);
    (f, result)
}

#[test]
fn nullification_within_the_window() {
    for at in [T0 + 2 * HOUR, T0 + HOUR + RECOVERY_WINDOW_MICROS] {
        let (f, result) = fork_at(at);
        assert_eq!(result, Ok(()));
        assert_eq!(f.nullified(), vec![false, true, false]);
        let head = validate_audit_log(&f.log).unwrap();
        assert_eq!(head.cid, f.log[2].cid);
        // The flags are part of what replay checks.
        let mut wrong = f.log.clone();
        wrong[1].nullified = false;
        assert!(matches!(
            validate_audit_log(&wrong),
            Err(PlcError::NullifiedMismatch { .. })
        ));
    }
}

#[test]
fn nullification_after_the_window_is_refused() {
    let (f, result) = fork_at(T0 + HOUR + RECOVERY_WINDOW_MICROS + 1000);
    assert_eq!(
        result,
        Err(PlcError::LateRecovery {
            lapsed_micros: RECOVERY_WINDOW_MICROS + 1000
        })
    );
    assert_eq!(f.nullified(), vec![false, false]);
    // Clock values at the ends of the range are refused, never overflow.
    let (_, result) = fork_at(i64::MAX);
    assert!(matches!(result, Err(PlcError::LateRecovery { .. })));
    let (_, result) = fork_at(i64::MIN);
    assert!(matches!(result, Err(PlcError::Misordered(_))));
}

#[test]
fn nullification_needs_a_stronger_key_and_cannot_repeat_with_it() {
    let mut f = fixture();
    let genesis_op = f.head().clone();
    let first = f.handle_change(&genesis_op, "mallory.test", &f.recovery);
    f.apply(first, T0 + HOUR).unwrap();
    // Same priority as the signer of the op it would fork off: refused.
    let same = f.handle_change(&genesis_op, "alice.test", &f.recovery);
    assert_eq!(
        f.apply(same, T0 + 2 * HOUR),
        Err(PlcError::InvalidSignature)
    );
    // Lower priority: refused.
    let weaker = f.handle_change(&genesis_op, "alice.test", &f.rotation);
    assert_eq!(
        f.apply(weaker, T0 + 2 * HOUR),
        Err(PlcError::InvalidSignature)
    );
    // A nullified op cannot be built on.
    let mut g = fixture();
    let genesis_op = g.head().clone();
    let hijack = g.handle_change(&genesis_op, "mallory.test", &g.rotation);
    g.apply(hijack.clone(), T0 + HOUR).unwrap();
    let recovery = g.handle_change(&genesis_op, "alice.test", &g.recovery);
    g.apply(recovery, T0 + 2 * HOUR).unwrap();
    let on_nullified = g.handle_change(&hijack, "eve.test", &g.rotation);
    assert_eq!(
        g.apply(on_nullified, T0 + 3 * HOUR),
        Err(PlcError::Misordered(
            "prev is not the cid of an active operation"
        ))
    );
}

#[test]
fn tombstone_ends_the_chain_unless_recovered() {
    let mut f = fixture();
    let genesis_op = f.head().clone();
    let prev = genesis_op.cid().unwrap().to_string();
    let tombstone = UnsignedOperation::from(UnsignedTombstone { prev })
        .sign(&f.rotation)
        .unwrap();
    f.apply(tombstone.clone(), T0 + HOUR).unwrap();
    assert_eq!(validate_audit_log(&f.log).unwrap().operation, tombstone);
    assert_eq!(DocumentData::from_operation(&f.did, &tombstone), None);
    assert!(update(&tombstone, &AtprotoChanges::default()).is_err());

    // An op naming the tombstone as prev is misordered.
    let mut after = f.handle_change(&genesis_op, "bob.test", &f.rotation);
    if let Operation::Plc(op) = &mut after {
        op.prev = Some(tombstone.cid().unwrap().to_string());
    }
    let resigned = after.unsigned().sign(&f.rotation).unwrap();
    assert_eq!(
        f.apply(resigned, T0 + 2 * HOUR),
        Err(PlcError::Misordered("prev is a tombstone"))
    );
    // The recovery key may still undo the tombstone within 72 h.
    let recovery = f.handle_change(&genesis_op, "alice.test", &f.recovery);
    f.apply(recovery, T0 + 2 * HOUR).unwrap();
    assert_eq!(f.nullified(), vec![false, true, false]);
    validate_audit_log(&f.log).unwrap();
}

#[test]
fn new_operations_follow_the_stricter_rules() {
    let f = fixture();
    let genesis_op = f.head().clone();
    let with_keys = |keys: Vec<String>| {
        let changes = AtprotoChanges {
            rotation_keys: Some(keys),
            ..AtprotoChanges::default()
        };
        UnsignedOperation::from(update(&genesis_op, &changes).unwrap())
            .sign(&f.rotation)
            .unwrap()
    };
    let k = did_key(&f.rotation);
    assert!(check_new_operation(&with_keys(vec![k.clone()])).is_ok());
    for bad in [
        vec![],
        vec![k.clone(), k.clone()],
        (1..=6).map(|s| did_key(&key(s, Algorithm::K256))).collect(),
        vec!["did:key:zNotAKey".to_owned()],
    ] {
        let op = with_keys(bad.clone());
        assert!(
            matches!(check_new_operation(&op), Err(PlcError::Malformed(_))),
            "{bad:?}"
        );
        // ...but a log that already holds such an op still validates.
        let mut log = f.log.clone();
        log.push(LogEntry {
            did: f.did.clone(),
            cid: op.cid().unwrap().to_string(),
            operation: op,
            nullified: false,
            created_at: "2025-07-25T15:00:00.000Z".into(),
        });
        validate_audit_log(&log).unwrap();
    }
    // Oversized ops are refused everywhere.
    let mut big = genesis_op.normalized().unwrap();
    big.also_known_as = vec!["at://x".repeat(1300)];
    let big = UnsignedOperation::from(big).sign(&f.rotation).unwrap();
    assert!(matches!(
        check_new_operation(&big),
        Err(PlcError::TooLarge(_))
    ));
    // New legacy creates are refused.
    let legacy = UnsignedOperation::LegacyCreate(UnsignedLegacyCreate {
        signing_key: k.clone(),
        recovery_key: k.clone(),
        handle: "alice.test".into(),
        service: "https://pds.example.com".into(),
        prev: None,
    })
    .sign(&f.rotation)
    .unwrap();
    assert!(matches!(
        check_new_operation(&legacy),
        Err(PlcError::Malformed(_))
    ));
}

#[test]
fn legacy_create_verifies_with_either_key_and_normalizes() {
    let recovery = key(5, Algorithm::K256);
    let signing = key(6, Algorithm::K256);
    let unsigned = UnsignedOperation::LegacyCreate(UnsignedLegacyCreate {
        signing_key: did_key(&signing),
        recovery_key: did_key(&recovery),
        handle: "dan.test".into(),
        service: "https://pds.example.com".into(),
        prev: None,
    });
    for (signer, index) in [(&recovery, 0), (&signing, 1)] {
        let op = unsigned.clone().sign(signer).unwrap();
        assert_eq!(verify_signature(&op, &op.rotation_keys()), Ok(index));
        let did = did_for_genesis(&op).unwrap();
        let log = vec![LogEntry {
            did: did.clone(),
            cid: op.cid().unwrap().to_string(),
            operation: op.clone(),
            nullified: false,
            created_at: "2022-11-17T01:07:13.996Z".into(),
        }];
        validate_audit_log(&log).unwrap();
        let data = DocumentData::from_operation(&did, &op).unwrap();
        assert_eq!(
            data.rotation_keys,
            vec![did_key(&recovery), did_key(&signing)]
        );
        assert_eq!(data.also_known_as, vec!["at://dan.test".to_owned()]);
        assert_eq!(data.verification_methods["atproto"], did_key(&signing));
    }
}

#[test]
fn strict_json_shapes() {
    let check = |json: &str| serde_json::from_str::<Operation>(json).is_ok();
    let base = r#""type":"plc_tombstone","prev":"bafyreigcxay6ucqlwowfpu35alyxqtv3c4vsj7gmdtmnidsnqs6nblyarq","sig":"x""#;
    assert!(check(&format!("{{{base}}}")));
    assert!(!check(&format!("{{{base},\"extra\":1}}")));
    assert!(!check(r#"{"type":"plc_other","prev":"b","sig":"x"}"#));
    // `prev` must be present on a plc_operation, even when null.
    let op = r#""type":"plc_operation","rotationKeys":[],"verificationMethods":{},"alsoKnownAs":[],"services":{},"sig":"x""#;
    assert!(check(&format!("{{{op},\"prev\":null}}")));
    assert!(!check(&format!("{{{op}}}")));
}

#[test]
fn did_document_shape() {
    let f = fixture();
    let data = DocumentData::from_operation(&f.did, f.head()).unwrap();
    let mut data = DocumentData {
        verification_methods: data.verification_methods.clone(),
        ..data
    };
    data.verification_methods
        .insert("zz_p256".into(), did_key(&key(7, Algorithm::P256)));
    data.verification_methods
        .insert("other".into(), "did:key:z6MkUnknownKeyType".into());
    let doc = serde_json::to_value(data.to_did_document()).unwrap();
    let signing = did_key(&key(3, Algorithm::K256));
    let expected = serde_json::json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1",
            "https://w3id.org/security/suites/ecdsa-2019/v1",
        ],
        "id": f.did,
        "alsoKnownAs": ["at://alice.test"],
        "verificationMethod": [
            {
                "id": format!("{}#other", f.did),
                "type": "Multikey",
                "controller": f.did,
                "publicKeyMultibase": "z6MkUnknownKeyType",
            },
            {
                "id": format!("{}#atproto", f.did),
                "type": "Multikey",
                "controller": f.did,
                "publicKeyMultibase": signing.strip_prefix("did:key:").unwrap(),
            },
            {
                "id": format!("{}#zz_p256", f.did),
                "type": "Multikey",
                "controller": f.did,
                "publicKeyMultibase": did_key(&key(7, Algorithm::P256)).strip_prefix("did:key:").unwrap(),
            },
        ],
        "service": [{
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": "https://pds.example.com",
        }],
    });
    assert_eq!(doc, expected);
    let data_json = serde_json::to_value(&data).unwrap();
    assert_eq!(data_json["did"], f.did);
    assert!(data_json["rotationKeys"].is_array());
    assert_eq!(
        data_json["services"]["atproto_pds"]["type"],
        "AtprotoPersonalDataServer"
    );
}
