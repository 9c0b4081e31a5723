//! Firehose messages as Jetstream-style JSON: one event per record operation, records as atproto
//! JSON, for consumers that do not want CBOR.
//!
//! Shape (after Bluesky's Jetstream): `{"did", "time_us", "kind": "commit"|"identity"|"account",
//! "commit": {"rev", "operation", "collection", "rkey", "record"?, "cid"?}, ...}`, plus `seq` (the
//! relay's sequence number, which is the cursor to resume with). `#sync` becomes `kind: "sync"`.

use serde_json::{Value, json};

use super::Message;
use crate::core::car::CarReader;
use crate::core::data;
use crate::core::mst::MemoryBlocks;
use crate::core::syntax::Datetime;

fn time_us(time: &str) -> i64 {
    Datetime::parse(time).map_or(0, |t| t.to_unix_micros())
}

/// The JSON events for one firehose message (none for `#info`).
pub fn to_jetstream(message: &Message, seq: u64) -> Vec<Value> {
    match message {
        Message::Commit(commit) => {
            let mut blocks = MemoryBlocks::new();
            if let Ok(reader) = CarReader::new(commit.blocks.as_slice()) {
                for (cid, bytes) in reader.flatten() {
                    blocks.insert(cid, bytes);
                }
            }
            commit
                .ops
                .iter()
                .map(|op| {
                    let (collection, rkey) = op.path.split_once('/').unwrap_or((op.path.as_str(), ""));
                    let mut inner = json!({
                        "rev": commit.rev,
                        "operation": op.action,
                        "collection": collection,
                        "rkey": rkey,
                    });
                    if let Some(cid) = op.cid {
                        inner["cid"] = json!(cid.to_string());
                        if let Some(record) = blocks.get(&cid).and_then(|b| data::decode_value(b).ok()) {
                            inner["record"] = data::to_json(&record);
                        }
                    }
                    json!({"did": commit.repo, "time_us": time_us(&commit.time), "seq": seq, "kind": "commit", "commit": inner})
                })
                .collect()
        }
        Message::Identity(m) => vec![json!({
            "did": m.did, "time_us": time_us(&m.time), "seq": seq, "kind": "identity",
            "identity": {"did": m.did, "handle": m.handle, "seq": m.seq, "time": m.time},
        })],
        Message::Account(m) => {
            let mut account =
                json!({"did": m.did, "active": m.active, "seq": m.seq, "time": m.time});
            if let Some(status) = &m.status {
                account["status"] = json!(status);
            }
            vec![
                json!({"did": m.did, "time_us": time_us(&m.time), "seq": seq, "kind": "account", "account": account}),
            ]
        }
        Message::Sync(m) => vec![json!({
            "did": m.did, "time_us": time_us(&m.time), "seq": seq, "kind": "sync",
            "sync": {"did": m.did, "rev": m.rev, "seq": m.seq, "time": m.time},
        })],
        Message::Info(_) => Vec::new(),
    }
}
