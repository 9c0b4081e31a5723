//! Packs the official Lexicon schemas (`lexicons/**/*.json`) for `src/lexicons.rs`, which embeds
//! them: the whole set ships in the binary, deflated, in two parts.
//!
//! - `lexicons-records.deflate`: every record and permission-set schema and every schema they refer
//!   to, transitively. This is what the node parses at start (records are validated against it),
//!   about a seventh of the set.
//! - `lexicons-rest.deflate`: the other schemas (queries, procedures, subscriptions and the
//!   definitions only they use), parsed only when something asks for the whole set.
//!
//! Each part is the JSON documents one after another; a JSON stream reader splits them again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn main() {
    println!("cargo::rerun-if-changed=lexicons");
    let mut files = Vec::new();
    collect(Path::new("lexicons"), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "lexicons/ holds no schema: the official Lexicon schemas are part of the source"
    );
    let mut documents = BTreeMap::new();
    for file in &files {
        let text =
            std::fs::read(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let json: Value = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let id = json["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no id", file.display()))
            .to_owned();
        documents.insert(id, (json, text));
    }
    let wanted = validation_closure(&documents);
    let (mut records, mut rest) = (Vec::new(), Vec::new());
    for (id, (_, text)) in &documents {
        let part = if wanted.contains(id) {
            &mut records
        } else {
            &mut rest
        };
        part.extend_from_slice(text);
        part.push(b'\n');
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_else(|| panic!("no OUT_DIR")));
    for (name, part) in [("records", &records), ("rest", &rest)] {
        let deflated = miniz_oxide::deflate::compress_to_vec(part, 10);
        std::fs::write(out.join(format!("lexicons-{name}.deflate")), deflated)
            .unwrap_or_else(|e| panic!("writing the packed lexicons: {e}"));
        println!(
            "cargo::rustc-env=SKYHOLD_LEXICONS_{}_LEN={}",
            name.to_uppercase(),
            part.len()
        );
    }
}

/// The ids of the record and permission-set schemas and of every schema they refer to.
fn validation_closure(documents: &BTreeMap<String, (Value, Vec<u8>)>) -> BTreeSet<String> {
    let mut wanted: BTreeSet<String> = documents
        .iter()
        .filter(|(_, (json, _))| {
            matches!(
                json["defs"]["main"]["type"].as_str(),
                Some("record" | "permission-set")
            )
        })
        .map(|(id, _)| id.clone())
        .collect();
    let mut pending: Vec<String> = wanted.iter().cloned().collect();
    while let Some(id) = pending.pop() {
        let mut refs = Vec::new();
        references(&documents[&id].0, &mut refs);
        for reference in refs {
            // `#name` is local; `nsid` and `nsid#name` name another document.
            let target = reference.split('#').next().unwrap_or_default();
            if !target.is_empty()
                && documents.contains_key(target)
                && wanted.insert(target.to_owned())
            {
                pending.push(target.to_owned());
            }
        }
    }
    wanted
}

/// Every `ref` and union `refs` entry anywhere in a schema document.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("ref", Value::String(target)) => out.push(target.clone()),
                    ("refs", Value::Array(targets)) => {
                        out.extend(targets.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    _ => references(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
