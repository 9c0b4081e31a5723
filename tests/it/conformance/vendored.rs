//! The vendored data has not drifted from the shared conformance folder: every fixture under
//! `tests/fixtures/` is byte for byte the shared folder's file at the same path, and `lexicons/`
//! holds exactly the shared folder's schemas. So the conformance suite and the schemas the binary
//! embeds are the ones the rest of the project is measured against.
//!
//! Without the shared folder beside the clone there is nothing to compare with: the tests say so
//! and pass, since the vendored copies are then the only ones there are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::fixtures;

/// Data files below `dir` (relative paths), leaving out READMEs and licence files, whose names
/// and words are each copy's own.
fn data_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|e| panic!("listing {}: {e}", current.display()));
        for entry in entries {
            let path = entry.expect("reading a folder entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                pending.push(path);
            } else if !(name == "README.md" || name.starts_with("LICENSE") || name == "refresh.sh")
            {
                let relative = path.strip_prefix(dir).expect("below dir").to_path_buf();
                out.insert(relative);
            }
        }
    }
    out
}

fn shared_or_skip(what: &str) -> Option<PathBuf> {
    let shared = fixtures::shared_dir();
    if shared.is_none() {
        eprintln!(
            "drift check of {what} skipped: no shared conformance folder beside the clone \
             (../shared, or SKYHOLD_SHARED_DIR) to compare the vendored copies with"
        );
    }
    shared
}

#[test]
fn vendored_fixtures_match_the_shared_folder() {
    let Some(shared) = shared_or_skip("tests/fixtures") else {
        return;
    };
    let vendored = data_files(&fixtures::dir());
    assert!(
        vendored.len() > 50,
        "only {} vendored fixtures",
        vendored.len()
    );
    let mut drifted = Vec::new();
    for file in &vendored {
        let ours = std::fs::read(fixtures::dir().join(file)).expect("reading a vendored fixture");
        match std::fs::read(shared.join(file)) {
            Ok(theirs) if theirs == ours => {}
            Ok(_) => drifted.push(format!("{} differs", file.display())),
            Err(e) => drifted.push(format!(
                "{} is not in the shared folder: {e}",
                file.display()
            )),
        }
    }
    fixtures::report(
        "vendored fixtures = shared",
        vendored.len() - drifted.len(),
        vendored.len(),
    );
    assert!(
        drifted.is_empty(),
        "the vendored fixtures drifted from {} (refresh them with tests/fixtures/refresh.sh):\n{}",
        shared.display(),
        drifted.join("\n")
    );
}

#[test]
fn built_in_lexicons_are_the_shared_folders_schemas() {
    let Some(shared) = shared_or_skip("lexicons/") else {
        return;
    };
    let ours_dir = fixtures::lexicons_dir();
    let theirs_dir = shared.join("lexicons");
    let ours = data_files(&ours_dir);
    let theirs = data_files(&theirs_dir);
    let mut drifted: Vec<String> = ours
        .symmetric_difference(&theirs)
        .map(|file| {
            let side = if ours.contains(file) {
                "only in lexicons/"
            } else {
                "missing from lexicons/"
            };
            format!("{}: {side}", file.display())
        })
        .collect();
    for file in ours.intersection(&theirs) {
        let a = std::fs::read(ours_dir.join(file)).expect("reading a built-in schema");
        let b = std::fs::read(theirs_dir.join(file)).expect("reading a shared schema");
        if a != b {
            drifted.push(format!("{} differs", file.display()));
        }
    }
    fixtures::report(
        "built-in lexicons = shared",
        theirs.len() - drifted.len(),
        theirs.len(),
    );
    assert!(
        drifted.is_empty(),
        "lexicons/ drifted from {} (refresh it with tests/fixtures/refresh.sh):\n{}",
        theirs_dir.display(),
        drifted.join("\n")
    );
}
