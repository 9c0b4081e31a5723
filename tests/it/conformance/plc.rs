//! `did-plc-interop-tests/audit_log/`: every valid did:plc audit log must replay cleanly (with its
//! `nullified` flags as given) and every invalid one must be refused, for the reason the vector
//! README names where it names one.

use skyhold::core::plc::{LogEntry, PlcError, validate_audit_log};

use crate::fixtures;

const DIR: &str = "did-plc-interop-tests/audit_log";

/// The JSON files of one vector folder, as paths relative to the fixtures folder.
fn vector_files(folder: &str) -> Vec<String> {
    let relative = format!("{DIR}/{folder}");
    let dir = fixtures::dir().join(&relative);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no vectors in {}", dir.display());
    names
        .into_iter()
        .map(|name| format!("{relative}/{name}"))
        .collect()
}

fn load(file: &str) -> Result<Vec<LogEntry>, String> {
    serde_json::from_value(fixtures::json(file)).map_err(|e| format!("does not parse: {e}"))
}

/// The refusal the vector README expects for each invalid log.
fn expected_refusal(file: &str) -> Option<fn(&PlcError) -> bool> {
    let name = file.rsplit('/').next().unwrap_or(file);
    Some(match name {
        "log_invalid_sig_der.json"
        | "log_invalid_sig_k256_high_s.json"
        | "log_invalid_sig_p256_high_s.json"
        | "log_invalid_nullification_reused_key.json" => {
            |e| matches!(e, PlcError::InvalidSignature)
        }
        "log_invalid_sig_b64_newline.json"
        | "log_invalid_sig_b64_padding_bits.json"
        | "log_invalid_sig_b64_padding_chars.json" => {
            |e| matches!(e, PlcError::SignatureEncoding(_))
        }
        "log_invalid_nullification_too_slow.json" => |e| matches!(e, PlcError::LateRecovery { .. }),
        "log_invalid_update_nullified.json" | "log_invalid_update_tombstoned.json" => {
            |e| matches!(e, PlcError::Misordered(_))
        }
        _ => return None,
    })
}

#[test]
fn valid_audit_logs() {
    let files = vector_files("valid");
    let mut failures = Vec::new();
    for file in &files {
        let outcome = load(file).and_then(|log| {
            validate_audit_log(&log)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        if let Err(e) = outcome {
            failures.push(format!("{file}: {e}"));
        }
    }
    fixtures::report(
        &format!("{DIR}/valid"),
        files.len() - failures.len(),
        files.len(),
    );
    assert!(failures.is_empty(), "valid logs refused: {failures:#?}");
}

#[test]
fn invalid_audit_logs() {
    let files = vector_files("invalid");
    let mut failures = Vec::new();
    for file in &files {
        let log = match load(file) {
            Ok(log) => log,
            Err(e) => {
                // Refused, but before validation could say why.
                if expected_refusal(file).is_some() {
                    failures.push(format!("{file}: {e}"));
                }
                continue;
            }
        };
        match (validate_audit_log(&log), expected_refusal(file)) {
            (Ok(_), _) => failures.push(format!("{file}: accepted")),
            (Err(e), Some(expected)) if !expected(&e) => {
                failures.push(format!("{file}: refused for the wrong reason: {e}"));
            }
            (Err(e), _) => eprintln!("  {file}: refused: {e}"),
        }
    }
    fixtures::report(
        &format!("{DIR}/invalid"),
        files.len() - failures.len(),
        files.len(),
    );
    assert!(
        failures.is_empty(),
        "invalid logs not refused as expected: {failures:#?}"
    );
}
