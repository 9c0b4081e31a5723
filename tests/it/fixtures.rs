//! Finding and reading the conformance fixtures.
//!
//! The official fixtures are vendored in `tests/fixtures/` and the official Lexicon schemas in the
//! top-level `lexicons/` (the binary embeds them), so a clone alone runs every test. The shared
//! conformance folder beside the clone (`../shared/`, or `SKYHOLD_SHARED_DIR`) is read only by the
//! drift test, which checks that the vendored copies have not drifted from it. A missing fixture is
//! a test failure that says where it looked: a conformance suite must never pass by finding nothing
//! to check.

use std::path::PathBuf;

/// The root of the vendored fixtures (`tests/fixtures/`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The official Lexicon schemas the binary embeds (`lexicons/`).
pub fn lexicons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lexicons")
}

/// The shared conformance folder beside the clone, when it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SKYHOLD_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    dir.is_dir().then_some(dir)
}

/// The full path of one vendored fixture file, which must exist.
pub fn path(relative: &str) -> PathBuf {
    let path = dir().join(relative);
    assert!(
        path.is_file(),
        "conformance fixture is missing: looked for {} (tests/fixtures/refresh.sh vendors it)",
        path.display()
    );
    path
}

/// The bytes of one fixture file.
pub fn bytes(relative: &str) -> Vec<u8> {
    std::fs::read(path(relative)).unwrap_or_else(|e| panic!("reading fixture {relative}: {e}"))
}

/// One fixture file parsed as JSON.
pub fn json(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&bytes(relative))
        .unwrap_or_else(|e| panic!("fixture {relative} is not JSON: {e}"))
}

/// The test values of a `.txt` fixture list: one per line, skipping empty lines and lines starting
/// with `#`, never trimming (several invalid cases are "valid value plus a space").
pub fn lines(relative: &str) -> Vec<String> {
    let text = String::from_utf8(bytes(relative))
        .unwrap_or_else(|e| panic!("fixture {relative} is not UTF-8: {e}"));
    let values: Vec<String> = text
        .split('\n')
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert!(!values.is_empty(), "fixture {relative} holds no cases");
    values
}

/// Prints the count of cases a suite checked, so a run shows what was covered.
pub fn report(suite: &str, passed: usize, total: usize) {
    eprintln!("conformance {suite}: {passed}/{total} cases");
}
