//! Finding and reading the shared conformance fixtures.
//!
//! The fixtures live beside the project in `../shared/` (override with `SKYHOLD_SHARED_DIR`). They are
//! read in place, never copied. A missing fixture is a test failure that says where it looked: a
//! conformance suite must never pass by finding nothing to check.

use std::path::PathBuf;

/// The root of the shared fixture folder.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("SKYHOLD_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    assert!(
        dir.is_dir(),
        "conformance fixtures are missing: looked for the shared folder at {} \
         (set SKYHOLD_SHARED_DIR to point elsewhere)",
        dir.display()
    );
    dir
}

/// The full path of one fixture file, which must exist.
pub fn path(relative: &str) -> PathBuf {
    let path = shared_dir().join(relative);
    assert!(
        path.is_file(),
        "conformance fixture is missing: looked for {}",
        path.display()
    );
    path
}

/// The bytes of one fixture file.
pub fn bytes(relative: &str) -> Vec<u8> {
    std::fs::read(path(relative)).unwrap_or_else(|e| panic!("reading fixture {relative}: {e}"))
}

/// One fixture file parsed as JSON.
#[allow(
    dead_code,
    reason = "for the JSON fixture suites; the syntax suite reads only .txt lists"
)]
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
