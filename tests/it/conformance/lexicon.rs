//! Conformance of `skyhold::core::lexicon` with `interop-tests/lexicon/`, indigo's lexicon catalog
//! fixtures, and the official lexicons in `lexicons/`.
//!
//! The interop catalog (`catalog/*.json`) must load; `lexicon-valid.json` documents must parse and
//! `lexicon-invalid.json` ones must be refused; `record-data-valid.json` records must validate
//! against the catalog and `record-data-invalid.json` ones must fail (record data is atproto JSON,
//! converted with the data model first). Every official lexicon must parse, and together they must
//! form a catalog whose every ref resolves. All mismatches are collected and reported together.

use std::path::{Path, PathBuf};

use skyhold::core::data;
use skyhold::core::lexicon::{Catalog, LexiconDoc, ValidationError};
use skyhold::core::syntax::{Nsid, RecordKey};

use crate::fixtures;

const DIR: &str = "interop-tests/lexicon";

/// The `.json` files in `dir` (and below it when `recursive`), sorted.
fn json_files(dir: &Path, recursive: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("listing fixture folder {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("reading a folder entry").path();
            if path.is_dir() && recursive {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no .json fixtures in {}", dir.display());
    out
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// Loads every file of a catalog folder; returns the catalog and one message per file that failed.
fn load_catalog(dir: &Path, recursive: bool) -> (Catalog, usize, Vec<String>) {
    let files = json_files(dir, recursive);
    let mut catalog = Catalog::new();
    let mut failures = Vec::new();
    for path in &files {
        if let Err(e) = catalog.add_json(&read_json(path)) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    (catalog, files.len(), failures)
}

/// The interop catalog, which every record-data case is validated against.
fn interop_catalog() -> Catalog {
    let (catalog, total, failures) =
        load_catalog(&fixtures::dir().join(format!("{DIR}/catalog")), false);
    assert!(failures.is_empty(), "{failures:#?}");
    fixtures::report(&format!("{DIR}/catalog"), total, total);
    catalog
}

#[test]
fn interop_catalog_loads() {
    let catalog = interop_catalog();
    for id in [
        "example.lexicon.record",
        "example.lexicon.query",
        "example.lexicon.procedure",
        "example.lexicon.subscription",
        "example.lexicon.permissionset",
    ] {
        assert!(catalog.get(id).is_some(), "{id} is not in the catalog");
    }
}

#[test]
fn lexicon_documents_parse_or_are_refused() {
    for (file, want_valid) in [
        (format!("{DIR}/lexicon-valid.json"), true),
        (format!("{DIR}/lexicon-invalid.json"), false),
    ] {
        let cases = fixtures::json(&file);
        let cases = cases.as_array().expect("array of cases");
        let mut failures = Vec::new();
        for case in cases {
            let result = LexiconDoc::from_json(&case["lexicon"]);
            if result.is_ok() != want_valid {
                failures.push(format!("{}: got {result:?}", case["name"]));
            }
        }
        fixtures::report(&file, cases.len() - failures.len(), cases.len());
        assert!(failures.is_empty(), "{file}: {failures:#?}");
    }
}

/// Validates one record-data case against `catalog`. A case whose JSON the data model already
/// refuses is reported as such (`Err(None)`).
fn validate_case(
    catalog: &Catalog,
    case: &serde_json::Value,
) -> Result<(), Option<ValidationError>> {
    let data = &case["data"];
    let value = data::from_json(data).map_err(|_| None)?;
    let collection = data["$type"]
        .as_str()
        .and_then(|t| Nsid::parse(t).ok())
        .expect("every case names its collection in $type");
    let rkey = RecordKey::parse(case["rkey"].as_str().expect("rkey")).expect("valid rkey");
    catalog
        .validate_record(&collection, &rkey, &value)
        .map_err(Some)
}

#[test]
fn record_data_validates_or_fails() {
    let catalog = interop_catalog();

    let file = format!("{DIR}/record-data-valid.json");
    let cases = fixtures::json(&file);
    let cases = cases.as_array().expect("array of cases");
    let mut failures = Vec::new();
    for case in cases {
        if let Err(e) = validate_case(&catalog, case) {
            failures.push(format!("{}: {e:?}", case["name"]));
        }
    }
    fixtures::report(&file, cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{file}: {failures:#?}");

    let file = format!("{DIR}/record-data-invalid.json");
    let cases = fixtures::json(&file);
    let cases = cases.as_array().expect("array of cases");
    let mut failures = Vec::new();
    let mut by_data_model = 0;
    for case in cases {
        match validate_case(&catalog, case) {
            Ok(()) => failures.push(format!("{}: was accepted", case["name"])),
            Err(None) => by_data_model += 1,
            Err(Some(_)) => {}
        }
    }
    fixtures::report(&file, cases.len() - failures.len(), cases.len());
    eprintln!("  ({by_data_model} of them already refused by the data model's JSON reader)");
    assert!(failures.is_empty(), "{file}: {failures:#?}");
}

#[test]
fn indigo_catalog_loads() {
    let dir = "indigo-testdata/atproto/lexicon/testdata/catalog";
    let (catalog, total, failures) = load_catalog(&fixtures::dir().join(dir), false);
    fixtures::report(dir, total - failures.len(), total);
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(catalog.len(), total);
}

#[test]
fn official_lexicons_load_and_every_ref_resolves() {
    let dir = "lexicons";
    let (catalog, total, mut failures) = load_catalog(&fixtures::lexicons_dir(), true);
    fixtures::report(dir, total - failures.len(), total);
    if let Err(problems) = catalog.check_refs() {
        failures.extend(problems.iter().map(ToString::to_string));
    }
    assert!(
        failures.is_empty(),
        "{} problems: {failures:#?}",
        failures.len()
    );
    assert_eq!(catalog.len(), total);
}
