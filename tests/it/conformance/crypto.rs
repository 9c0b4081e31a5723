//! `interop-tests/crypto/`: signature verification (low-S, compact only), did:key derivation from
//! private keys, and the legacy DID-document key forms.

use data_encoding::{BASE64_NOPAD, HEXLOWER};
use skyhold::core::crypto::{Algorithm, Keypair, PublicKey};

use crate::fixtures;

#[test]
fn signature_fixtures() {
    let file = "interop-tests/crypto/signature-fixtures.json";
    let cases = fixtures::json(file);
    let cases = cases.as_array().expect("array");
    let mut failures = Vec::new();
    for case in cases {
        let message = BASE64_NOPAD
            .decode(case["messageBase64"].as_str().unwrap().as_bytes())
            .unwrap();
        let signature = BASE64_NOPAD
            .decode(case["signatureBase64"].as_str().unwrap().as_bytes())
            .unwrap();
        let want = case["validSignature"].as_bool().unwrap();
        let key = PublicKey::from_did_key(case["publicKeyDid"].as_str().unwrap()).unwrap();
        let expected_alg = match case["algorithm"].as_str().unwrap() {
            "ES256" => Algorithm::P256,
            _ => Algorithm::K256,
        };
        if key.algorithm() != expected_alg {
            failures.push(format!("{}: wrong curve", case["comment"]));
        }
        let legacy = PublicKey::from_verification_method(
            case["didDocSuite"].as_str().unwrap(),
            case["publicKeyMultibase"].as_str().unwrap(),
        )
        .unwrap();
        if legacy != key {
            failures.push(format!("{}: legacy multibase key differs", case["comment"]));
        }
        let got = key.verify(&message, &signature);
        if got.is_ok() != want {
            failures.push(format!("{}: got {got:?}", case["comment"]));
        }
    }
    fixtures::report(file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn did_key_fixtures() {
    for (file, algorithm) in [
        ("interop-tests/crypto/w3c_didkey_K256.json", Algorithm::K256),
        ("interop-tests/crypto/w3c_didkey_P256.json", Algorithm::P256),
    ] {
        let cases = fixtures::json(file);
        let cases = cases.as_array().expect("array");
        let mut failures = Vec::new();
        for case in cases {
            let secret = match case.get("privateKeyBytesHex") {
                Some(hex) => HEXLOWER.decode(hex.as_str().unwrap().as_bytes()).unwrap(),
                None => bs58::decode(case["privateKeyBytesBase58"].as_str().unwrap())
                    .into_vec()
                    .unwrap(),
            };
            let key = Keypair::from_bytes(algorithm, &secret).unwrap();
            let did_key = case["publicDidKey"].as_str().unwrap();
            if key.public_key().to_did_key() != did_key {
                failures.push(format!("{did_key}: derived key differs"));
            }
            match PublicKey::from_did_key(did_key) {
                Ok(parsed) if parsed == key.public_key() => {}
                other => failures.push(format!("{did_key}: parse gave {other:?}")),
            }
        }
        fixtures::report(file, cases.len() - failures.len(), cases.len());
        assert!(failures.is_empty(), "{file}: {failures:#?}");
    }
}
