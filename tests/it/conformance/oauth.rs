//! Conformance of `skyhold::core::oauth` with indigo's OAuth test data
//! (`indigo-testdata/atproto/auth/`): every scope string parses or is refused as the fixtures say,
//! the generic syntax splits as they say, and real clients' metadata documents and key sets are
//! accepted. (The servers' metadata fixtures are compared with skyhold's own in `e2e::oauth`.)

use std::collections::BTreeMap;

use skyhold::core::oauth::client::validate_metadata;
use skyhold::core::oauth::jwk::parse_jwks;
use skyhold::core::oauth::scope::{GenericScope, Permission};

use crate::fixtures;

const DIR: &str = "indigo-testdata/atproto/auth/testdata";
const OAUTH_DIR: &str = "indigo-testdata/atproto/auth/oauth/testdata";

#[test]
fn generic_scope_syntax() {
    let cases = fixtures::json(&format!("{DIR}/generic_scopes_valid.json"));
    let cases = cases.as_array().expect("an array of cases");
    let mut bad = Vec::new();
    for case in cases {
        let scope = case["scope"].as_str().expect("scope");
        let want = &case["generic"];
        match GenericScope::parse(scope) {
            Err(e) => bad.push(format!("{scope}: refused ({e})")),
            Ok(g) => {
                let params: BTreeMap<String, Vec<String>> = g.params.into_iter().collect();
                let want_params: BTreeMap<String, Vec<String>> =
                    serde_json::from_value(want["params"].clone()).expect("params");
                if g.resource != want["resource"]
                    || g.positional != want["positional"]
                    || params != want_params
                {
                    bad.push(format!(
                        "{scope}: got {} {:?} {params:?}",
                        g.resource, g.positional
                    ));
                }
            }
        }
    }
    let invalid = fixtures::lines(&format!("{DIR}/generic_scopes_invalid.txt"));
    for scope in &invalid {
        if GenericScope::parse(scope).is_ok() {
            bad.push(format!(
                "{scope}: accepted, the fixture says invalid syntax"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "generic scope syntax:\n  {}",
        bad.join("\n  ")
    );
    println!(
        "generic scope syntax: {} valid, {} invalid",
        cases.len(),
        invalid.len()
    );
}

#[test]
fn permission_scopes_valid_and_invalid() {
    let valid = fixtures::lines(&format!("{DIR}/permission_scopes_valid.txt"));
    let invalid = fixtures::lines(&format!("{DIR}/permission_scopes_invalid.txt"));
    let mut bad = Vec::new();
    for scope in &valid {
        match Permission::parse(scope) {
            Err(e) => bad.push(format!("{scope}: refused ({e})")),
            Ok(p) => {
                let rendered = p.to_string();
                if Permission::parse(&rendered).as_ref() != Ok(&p) {
                    bad.push(format!(
                        "{scope}: renders as {rendered}, which does not parse back"
                    ));
                }
            }
        }
    }
    for scope in &invalid {
        if let Ok(p) = Permission::parse(scope) {
            bad.push(format!("{scope}: accepted as {p}"));
        }
    }
    assert!(bad.is_empty(), "permission scopes:\n  {}", bad.join("\n  "));
    assert!(
        valid.len() > 40 && invalid.len() > 70,
        "{} {}",
        valid.len(),
        invalid.len()
    );
    println!(
        "permission scopes: {} valid, {} invalid",
        valid.len(),
        invalid.len()
    );
}

#[test]
fn real_client_metadata_and_key_sets_are_accepted() {
    for name in ["statusphere", "smokesignal", "flaskdemo"] {
        let json = fixtures::json(&format!("{OAUTH_DIR}/{name}-client-metadata.json"));
        let id = json["client_id"].as_str().expect("client_id");
        let meta = validate_metadata(id, &json, false)
            .unwrap_or_else(|e| panic!("{name}-client-metadata.json refused: {e}"));
        assert_eq!(meta.confidential(), name == "flaskdemo", "{name}");
    }
    for (name, count) in [("flaskdemo", 1), ("smokesignal", 2)] {
        let keys = parse_jwks(&fixtures::json(&format!("{OAUTH_DIR}/{name}-jwks.json")))
            .unwrap_or_else(|e| panic!("{name}-jwks.json refused: {e}"));
        assert_eq!(keys.len(), count, "{name}");
        assert!(keys.iter().all(|k| k.kid.is_some()));
    }
    println!("client metadata: 3 documents, 2 key sets");
}
