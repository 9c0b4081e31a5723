//! The Lexicon schemas the node validates records against: the official set built into the binary
//! (the top-level `lexicons/` folder, packed and deflated by `build.rs`), plus an operator's own
//! schemas from `--lexicon-dir`, which add record types or replace an official schema by id.
//!
//! `build.rs` splits the official set in two: the record and permission-set schemas with everything
//! they refer to (a seventh of the set, all that record validation reads), and the rest. A node
//! parses the first part at start; the whole set only when the operator adds schemas, since theirs
//! may refer to any official definition. The catalog is then shared read-only. Which writes are
//! validated against it (and how an unknown type is treated) is the PDS's rule, not this module's.
//!
//! Spec: <https://atproto.com/specs/lexicon>

use std::path::{Path, PathBuf};

use crate::core::lexicon::{Catalog, LexiconError};

/// Record and permission-set schemas and what they refer to: JSON documents one after another,
/// deflated, and their inflated size.
const RECORDS: (&[u8], &str) = (
    include_bytes!(concat!(env!("OUT_DIR"), "/lexicons-records.deflate")),
    env!("SKYHOLD_LEXICONS_RECORDS_LEN"),
);
/// The rest of the official set, packed the same way.
const REST: (&[u8], &str) = (
    include_bytes!(concat!(env!("OUT_DIR"), "/lexicons-rest.deflate")),
    env!("SKYHOLD_LEXICONS_REST_LEN"),
);

#[derive(Debug, thiserror::Error)]
pub enum LexiconsError {
    /// The built-in set does not load: a build problem, never an operator's.
    #[error("the built-in Lexicon schemas do not load: {0}")]
    BuiltIn(String),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a valid Lexicon schema: {source}")]
    Invalid {
        path: PathBuf,
        source: Box<LexiconError>,
    },
    #[error("the Lexicon schemas have unresolved references:\n  {}", .0.join("\n  "))]
    References(Vec<String>),
}

/// The official schemas records are validated against, parsed. That every reference among them
/// resolves is checked by the unit tests, not at every start.
pub fn official() -> Result<Catalog, LexiconsError> {
    let mut catalog = Catalog::new();
    add_packed(&mut catalog, RECORDS)?;
    Ok(catalog)
}

/// Inflates one packed part and adds its documents to `catalog`.
fn add_packed(catalog: &mut Catalog, (packed, len): (&[u8], &str)) -> Result<(), LexiconsError> {
    let built_in = LexiconsError::BuiltIn;
    let len: usize = len
        .parse()
        .map_err(|_| built_in(format!("bad length {len}")))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, len)
        .map_err(|e| built_in(format!("inflating: {e}")))?;
    for document in serde_json::Deserializer::from_slice(&json).into_iter::<serde_json::Value>() {
        let document = document.map_err(|e| built_in(e.to_string()))?;
        catalog
            .add_json(&document)
            .map_err(|e| built_in(e.to_string()))?;
    }
    Ok(())
}

/// The whole official set with the operator's schemas from `dir` (every `.json` file below it) on
/// top: a schema whose id is already built in replaces it. Every reference must then resolve, so
/// that a mistake in the operator's files stops the start with a message naming it.
pub fn with_operator_schemas(dir: &Path) -> Result<Catalog, LexiconsError> {
    let mut catalog = official()?;
    add_packed(&mut catalog, REST)?;
    let mut files = Vec::new();
    json_files(dir, &mut files)?;
    files.sort();
    let mut replaced = Vec::new();
    for path in files {
        let text = std::fs::read(&path).map_err(|source| LexiconsError::Read {
            path: path.clone(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_slice(&text).map_err(|source| LexiconsError::NotJson {
                path: path.clone(),
                source,
            })?;
        let invalid = |source| LexiconsError::Invalid {
            path: path.clone(),
            source: Box::new(source),
        };
        let doc = crate::core::lexicon::LexiconDoc::from_json(&json).map_err(invalid)?;
        if catalog.remove(doc.id().as_str()).is_some() {
            replaced.push(doc.id().to_string());
        }
        catalog.add(doc).map_err(invalid)?;
    }
    if let Err(problems) = catalog.check_refs() {
        return Err(LexiconsError::References(
            problems.iter().map(ToString::to_string).collect(),
        ));
    }
    tracing::info!(
        count = catalog.len(),
        dir = %dir.display(),
        replaced = ?replaced,
        "loaded the operator's Lexicon schemas over the built-in ones"
    );
    Ok(catalog)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LexiconsError> {
    let read = |source| LexiconsError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::Value;
    use crate::core::syntax::{Nsid, RecordKey};

    #[test]
    fn the_validation_part_holds_every_record_type_and_resolves_alone() {
        let catalog = official().unwrap_or_else(|e| panic!("{e}"));
        for id in [
            "app.bsky.feed.post",
            "app.bsky.actor.profile",
            "app.bsky.authFullApp",
            "chat.bsky.actor.declaration",
            "com.atproto.lexicon.schema",
            "site.standard.document",
        ] {
            assert!(
                catalog.get(id).is_some(),
                "{id} is not in the validation part"
            );
        }
        assert!(catalog.get("com.atproto.repo.createRecord").is_none());
        if let Err(problems) = catalog.check_refs() {
            panic!("unresolved: {problems:?}");
        }
    }

    #[test]
    fn the_whole_official_set_ships_and_every_reference_resolves() {
        let empty =
            std::env::temp_dir().join(format!("skyhold-no-lexicons-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{e}"));
        let catalog = with_operator_schemas(&empty).unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::remove_dir_all(&empty);
        // Every namespace ships, since schemas refer to each other across them.
        for id in [
            "com.atproto.repo.createRecord",
            "app.bsky.feed.getTimeline",
            "chat.bsky.convo.defs",
            "tools.ozone.moderation.defs",
        ] {
            assert!(catalog.get(id).is_some(), "{id} is not built in");
        }
        let mut files = Vec::new();
        json_files(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/lexicons")),
            &mut files,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            catalog.len(),
            files.len(),
            "every file of lexicons/ is built in"
        );
    }

    #[test]
    fn operator_schemas_add_types_and_replace_official_ones() {
        let dir = std::env::temp_dir().join(format!("skyhold-lexicons-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nested")).unwrap_or_else(|e| panic!("{e}"));
        let schema = |id: &str, property: &str| {
            serde_json::json!({"lexicon": 1, "id": id, "defs": {"main": {
                "type": "record", "key": "tid", "record": {"type": "object",
                "required": [property], "properties": {property: {"type": "string"}}}}}})
            .to_string()
        };
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
        };
        write(
            "nested/club.json",
            schema("org.example.club.event", "title"),
        );
        write("like.json", schema("app.bsky.feed.like", "note"));
        let catalog = with_operator_schemas(&dir).unwrap_or_else(|e| panic!("{e}"));
        let record = |pairs: &[(&str, &str)]| {
            Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                    .collect(),
            )
        };
        let rkey = RecordKey::parse("3jzfcijpj2z2a").unwrap_or_else(|e| panic!("{e}"));
        let event = Nsid::parse("org.example.club.event").unwrap_or_else(|e| panic!("{e}"));
        let ok = record(&[("$type", "org.example.club.event"), ("title", "picnic")]);
        assert!(catalog.validate_record(&event, &rkey, &ok).is_ok());
        let like = Nsid::parse("app.bsky.feed.like").unwrap_or_else(|e| panic!("{e}"));
        let replaced = record(&[("$type", "app.bsky.feed.like"), ("note", "x")]);
        assert!(catalog.validate_record(&like, &rkey, &replaced).is_ok());
        // The rest of the official set is still there.
        assert!(catalog.get("app.bsky.feed.post").is_some());

        write("broken.json", "{\"lexicon\": 1}".to_owned());
        let error = with_operator_schemas(&dir).err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("broken.json")),
            "{error:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
