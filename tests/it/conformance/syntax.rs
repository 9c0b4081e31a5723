//! Conformance of `skyhold::core::syntax` with `interop-tests/syntax/*.txt`.
//!
//! Every fixture file in the folder is checked (a file the table below does not know fails the
//! test, so new upstream fixtures cannot be skipped silently). `*_valid` values must be accepted,
//! `*_invalid` values rejected, and `*_parse_invalid` values must pass the syntax check but fail
//! the strict parse. All mismatches are collected and reported together.

use skyhold::core::syntax::{
    AtIdentifier, AtUri, Datetime, Did, Handle, Language, Nsid, RecordKey, Tid,
    is_valid_cid_syntax, is_valid_uri,
};

use crate::fixtures;

const DIR: &str = "interop-tests/syntax";

/// Valid TIDs the reference monorepo's older fixture copy adds (see
/// `atproto-monorepo-fixtures/README.md`); they follow the spec regex.
const EXTRA_VALID_TIDS: [&str; 3] = ["a222222222222", "j222222222222", "azzzzzzzzzzzz"];

/// A check returns whether the value behaved as the fixture file expects.
type Check = fn(&str) -> bool;

/// Every fixture file and what each of its values must do.
const FILES: [(&str, Check); 24] = [
    ("atidentifier_syntax_valid.txt", |v| {
        AtIdentifier::parse(v).is_ok()
    }),
    ("atidentifier_syntax_invalid.txt", |v| {
        AtIdentifier::parse(v).is_err()
    }),
    ("aturi_syntax_valid.txt", |v| AtUri::parse(v).is_ok()),
    ("aturi_syntax_invalid.txt", |v| AtUri::parse(v).is_err()),
    ("cid_syntax_valid.txt", is_valid_cid_syntax),
    ("cid_syntax_invalid.txt", |v| !is_valid_cid_syntax(v)),
    ("datetime_syntax_valid.txt", |v| {
        Datetime::is_valid_syntax(v) && Datetime::parse(v).is_ok()
    }),
    ("datetime_syntax_invalid.txt", |v| {
        !Datetime::is_valid_syntax(v) && Datetime::parse(v).is_err()
    }),
    ("datetime_parse_invalid.txt", |v| {
        Datetime::is_valid_syntax(v) && Datetime::parse(v).is_err()
    }),
    ("did_syntax_valid.txt", |v| Did::parse(v).is_ok()),
    ("did_syntax_invalid.txt", |v| Did::parse(v).is_err()),
    ("handle_syntax_valid.txt", |v| Handle::parse(v).is_ok()),
    ("handle_syntax_invalid.txt", |v| Handle::parse(v).is_err()),
    ("language_syntax_valid.txt", |v| {
        Language::is_well_formed(v) && Language::parse(v).is_ok()
    }),
    ("language_syntax_invalid.txt", |v| {
        !Language::is_well_formed(v) && Language::parse(v).is_err()
    }),
    ("language_parse_invalid.txt", |v| {
        Language::is_well_formed(v) && Language::parse(v).is_err()
    }),
    ("nsid_syntax_valid.txt", |v| Nsid::parse(v).is_ok()),
    ("nsid_syntax_invalid.txt", |v| Nsid::parse(v).is_err()),
    ("recordkey_syntax_valid.txt", |v| {
        RecordKey::parse(v).is_ok()
    }),
    ("recordkey_syntax_invalid.txt", |v| {
        RecordKey::parse(v).is_err()
    }),
    ("tid_syntax_valid.txt", |v| Tid::parse(v).is_ok()),
    ("tid_syntax_invalid.txt", |v| Tid::parse(v).is_err()),
    ("uri_syntax_valid.txt", is_valid_uri),
    ("uri_syntax_invalid.txt", |v| !is_valid_uri(v)),
];

#[test]
fn syntax_fixtures() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (file, check) in FILES {
        let values = fixtures::lines(&format!("{DIR}/{file}"));
        let failed_before = failures.len();
        for value in &values {
            if !check(value) {
                failures.push(format!("{file}: {}", excerpt(value)));
            }
        }
        let failed = failures.len() - failed_before;
        fixtures::report(
            &format!("syntax/{file}"),
            values.len() - failed,
            values.len(),
        );
        total += values.len();
    }

    let failed_before = failures.len();
    for tid in EXTRA_VALID_TIDS {
        if Tid::parse(tid).is_err() {
            failures.push(format!("extra valid tid: {tid}"));
        }
    }
    let failed = failures.len() - failed_before;
    fixtures::report(
        "syntax/extra valid tids (monorepo README)",
        EXTRA_VALID_TIDS.len() - failed,
        EXTRA_VALID_TIDS.len(),
    );
    total += EXTRA_VALID_TIDS.len();

    assert!(
        failures.is_empty(),
        "{} of {total} syntax cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every file in the fixture folder has an entry in [`FILES`].
#[test]
fn syntax_fixture_folder_is_fully_covered() {
    let dir = fixtures::dir().join(DIR);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut unknown = Vec::new();
    for entry in entries {
        let name = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !FILES.iter().any(|(file, _)| *file == name) {
            unknown.push(name);
        }
    }
    assert!(
        unknown.is_empty(),
        "fixture files in {} with no conformance check: {unknown:?}",
        dir.display()
    );
}

/// A value as it appears in a failure message: debug-quoted (so edge spaces show) and cut short.
fn excerpt(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    match value.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
        None => format!("{value:?}"),
    }
}
