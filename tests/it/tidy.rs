//! Architecture and tidiness rules, checked on the source tree (in the spirit of rust-analyzer's
//! tidy test). Each failure names the rule and the file.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(sub: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    // A service directory that does not exist yet has nothing to check.
    if root.join(sub).is_dir() {
        rust_files(&root.join(sub), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(root).unwrap().display().to_string(), text)
        })
        .collect()
}

/// Lines that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| {
        let t = l.trim_start();
        !t.starts_with("//")
    })
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let bad: Vec<String> = sources("src")
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        bad.is_empty(),
        "rule: every src file opens with a //! doc comment; missing in {bad:#?}"
    );
}

#[test]
fn core_is_pure() {
    let forbidden = [
        "tokio",
        "redb",
        "reqwest",
        "std::fs",
        "std::net",
        "axum",
        "SystemTime",
        "Instant::now",
        "OsRng",
    ];
    let mut bad = Vec::new();
    for (path, text) in sources("src/core") {
        let in_tests = |line: &str| line.contains("rand_core::OsRng");
        for line in code_lines(&text) {
            for word in forbidden {
                if line.contains(word) && !(word == "OsRng" && in_tests(line)) {
                    bad.push(format!("{path}: uses {word}: {}", line.trim()));
                }
            }
            if line.contains("crate::") && !line.contains("crate::core") {
                bad.push(format!("{path}: imports outside core: {}", line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rule: core does no I/O, reads no clock and imports nothing outside core:\n{}",
        bad.join("\n")
    );
}

#[test]
fn services_do_not_import_each_other_and_http_does_not_open_tables() {
    let services = ["pds", "relay", "appview"];
    let mut bad = Vec::new();
    for service in services {
        for (path, text) in sources(&format!("src/{service}")) {
            for line in code_lines(&text) {
                for other in services.iter().filter(|o| **o != service) {
                    if line.contains(&format!("crate::{other}")) {
                        bad.push(format!("{path}: imports crate::{other}"));
                    }
                }
                if line.contains("crate::http") {
                    bad.push(format!("{path}: imports crate::http"));
                }
            }
        }
    }
    // TLS depends on no service: which names to certify comes through its HostPolicy trait.
    for (path, text) in sources("src/tls") {
        for line in code_lines(&text) {
            for other in ["pds", "relay", "appview", "identity", "http"] {
                if line.contains(&format!("crate::{other}")) {
                    bad.push(format!("{path}: tls imports crate::{other}"));
                }
            }
        }
    }
    // The one store type http may name: the event log its streams read (it opens no table).
    for (path, text) in sources("src/http") {
        for line in code_lines(&text) {
            let store = line.replace("crate::store::EventLog", "");
            if store.contains("crate::store") || line.contains("redb::") {
                bad.push(format!("{path}: http touches the store: {}", line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rule: services never import each other or http; tls imports no service; http never opens tables:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_stubs_ignored_tests_or_debug_leftovers() {
    let patterns = [
        "todo!(",
        "unimplemented!(",
        "dbg!(",
        "#[ignore",
        "#[should_panic",
    ];
    let mut bad = Vec::new();
    for dir in ["src", "tests"] {
        for (path, text) in sources(dir) {
            if path.ends_with("tidy.rs") {
                continue;
            }
            for line in code_lines(&text) {
                for pattern in patterns {
                    if line.contains(pattern) {
                        bad.push(format!("{path}: {}", line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rule: no todo!/unimplemented!/dbg!/#[ignore]/#[should_panic]:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_net_builds_http_clients_or_opens_outbound_connections() {
    // The outbound rules (https and public addresses in production, no redirects, body budgets,
    // timeouts) hold only if nothing else reaches out: src/net is the one place that may.
    let forbidden = [
        "reqwest::Client::builder",
        "reqwest::Client::new",
        "ClientBuilder",
        "hyper_util::client",
        "connect_async",
        "client_async",
        "lookup_host",
    ];
    let mut bad = Vec::new();
    for (path, text) in sources("src") {
        if path.starts_with("src/net/") {
            continue;
        }
        for line in code_lines(&text) {
            for word in forbidden {
                if line.contains(word) {
                    bad.push(format!("{path}: {}", line.trim()));
                }
            }
            // The command line acts for the operator (its own node, its backups, `doctor`'s probe
            // of its own public URL), never on someone else's say-so: it may read responses its
            // own way through `net::OperatorClient`. Services read bodies only within a budget.
            for word in ["TcpStream::connect", ".bytes_stream()"] {
                if line.contains(word) && !path.starts_with("src/cli/") {
                    bad.push(format!("{path}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rule: only src/net builds HTTP clients or opens outbound connections (use net::Outbound):\n{}",
        bad.join("\n")
    );
}

/// The PDS's table groups, each with the one module that owns it: only that module defines (and so
/// can open) its tables, and it keeps them private. A new table joins a group here, or gets an owner
/// of its own.
const PDS_TABLE_OWNERS: &[(&str, &[&str])] = &[
    (
        "src/pds/account_store.rs",
        &[
            "pds.accounts",
            "pds.did_ids",
            "pds.id_dids",
            "pds.handles",
            "pds.emails",
        ],
    ),
    (
        "src/pds/repo_store/",
        &[
            "pds.repos",
            "pds.blocks",
            "pds.records",
            "pds.record_cids",
            "pds.record_takedowns",
        ],
    ),
    ("src/pds/events.rs", &["pds.seq"]),
    (
        "src/pds/blob_store.rs",
        &[
            "pds.blobs",
            "pds.blob_holders",
            "pds.blob_refs",
            "pds.temp_blobs",
        ],
    ),
    (
        "src/pds/refresh_tokens.rs",
        &["pds.refresh_tokens", "pds.refresh_by_account"],
    ),
    (
        "src/pds/app_passwords.rs",
        &["pds.app_passwords", "pds.app_password_digests"],
    ),
    ("src/pds/email.rs", &["pds.email_tokens"]),
    ("src/pds/secrets.rs", &["pds.secrets"]),
    (
        "src/pds/invites.rs",
        &["pds.invites", "pds.invite_uses", "pds.invites_by_account"],
    ),
    (
        "src/pds/reports.rs",
        &[
            "pds.reports",
            "pds.reports_by_state",
            "pds.reports_by_subject",
            "pds.reports_by_reporter",
        ],
    ),
    ("src/pds/preferences.rs", &["pds.preferences"]),
    ("src/pds/admin_roles.rs", &["pds.admin_roles"]),
    ("src/pds/audit.rs", &["pds.audit_log", "pds.audit_last"]),
    (
        "src/pds/oauth/store.rs",
        &[
            "pds.oauth_secrets",
            "pds.oauth_requests",
            "pds.oauth_codes",
            "pds.oauth_sessions",
            "pds.oauth_refresh",
            "pds.oauth_by_account",
        ],
    ),
];

/// The table names a file defines (`TableDefinition::new("…")`, `LogTable::new("…")`).
fn defined_tables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["TableDefinition::new(\"", "LogTable::new(\""] {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

#[test]
fn every_pds_table_has_one_owner() {
    let mut bad = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (path, text) in sources("src/pds") {
        let owner = PDS_TABLE_OWNERS.iter().find(|(module, _)| {
            path == *module || (module.ends_with('/') && path.starts_with(module))
        });
        for table in defined_tables(&text) {
            match owner {
                Some((_, tables)) if tables.contains(&table.as_str()) => {}
                Some((module, _)) => {
                    bad.push(format!("{path}: {table} is not in {module}'s group"))
                }
                None => bad.push(format!("{path}: defines {table} but owns no table group")),
            }
            if seen.contains(&table) {
                bad.push(format!("{path}: {table} is defined twice"));
            }
            seen.push(table);
        }
        // An owner keeps its tables to itself (the event log's table is handed to its EventLog).
        for line in code_lines(&text) {
            let t = line.trim_start();
            if t.starts_with("pub") && t.contains("TableDefinition") && !t.contains("LogTable") {
                bad.push(format!("{path}: a table is public: {t}"));
            }
        }
    }
    for (module, tables) in PDS_TABLE_OWNERS {
        for table in *tables {
            if !seen.iter().any(|s| s == table) {
                bad.push(format!("{module}: {table} is listed but not defined"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "rule: each PDS table group has one owner, the only module that defines and opens its tables:\n{}",
        bad.join("\n")
    );
}
