//! The crash test's model of what each writer task owns: its acknowledged records, its deletes, and
//! the write the kill interrupted; and the writes it plans next.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use skyhold::core::data;

/// putRecord targets per task, so puts both create and replace.
const PUT_KEYS: u64 = 6;
/// Creates per applyWrites call (plus one delete when the task holds a record).
const BATCH_CREATES: u64 = 3;
const CREATED_AT: &str = "2026-01-01T00:00:00.000Z";

/// A small deterministic generator (xorshift64*), so a seed replays a run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A change one write makes to one record: its CID before and after (`None` = absent).
pub type Change = (String, Option<String>, Option<String>);

/// What the test knows about the records one writer task owns. Tasks never touch each other's
/// records, so each task's acknowledged results alone decide what its records must be.
pub struct Owned {
    pub task: usize,
    pub did: String,
    pub token: String,
    pub rng: Rng,
    /// Numbers every record this task writes, across iterations (unique content, unique rkeys).
    pub counter: u64,
    /// `collection/rkey` → CID of every record an acknowledged write left present.
    pub present: BTreeMap<String, String>,
    /// Paths an acknowledged write deleted (and nothing re-created since).
    pub deleted: BTreeSet<String>,
    /// The write that got no answer because the node died: it may or may not have landed.
    pub in_flight: Vec<Change>,
    /// The CID of a createRecord in flight whose rkey the server picks (its path is unknown).
    pub in_flight_tid_create: Option<String>,
    /// `(did, rev)` of every acknowledged commit.
    pub acked_revs: Vec<(String, String)>,
}

/// One write, ready to send, with the changes it makes if it lands.
pub struct Planned {
    pub nsid: &'static str,
    pub body: Value,
    pub changes: Vec<Change>,
    pub tid_create: Option<String>,
}

fn record_cid(record: &Value) -> String {
    let value = data::from_json(record).expect("test record is valid data");
    let bytes = data::encode_value(&value).expect("test record encodes");
    data::cid_for_cbor(&bytes).to_string()
}

pub fn split_path(path: &str) -> (&str, &str) {
    path.split_once('/').expect("collection/rkey")
}

impl Owned {
    pub fn new(task: usize, did: &str, token: &str, seed: u64) -> Owned {
        Owned {
            task,
            did: did.to_owned(),
            token: token.to_owned(),
            rng: Rng::new(seed ^ (task as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            counter: 0,
            present: BTreeMap::new(),
            deleted: BTreeSet::new(),
            in_flight: Vec::new(),
            in_flight_tid_create: None,
            acked_revs: Vec::new(),
        }
    }

    fn record(&mut self, collection: &str) -> (Value, String) {
        self.counter += 1;
        let record = if collection == "app.bsky.feed.post" {
            json!({"$type": collection, "createdAt": CREATED_AT,
                   "text": format!("task {} write {}", self.task, self.counter)})
        } else {
            json!({"$type": collection, "task": self.task, "n": self.counter})
        };
        let cid = record_cid(&record);
        (record, cid)
    }

    fn random_present(&mut self) -> Option<String> {
        if self.present.is_empty() {
            return None;
        }
        let n = self.rng.below(self.present.len() as u64) as usize;
        self.present.keys().nth(n).cloned()
    }

    pub fn plan(&mut self) -> Planned {
        let roll = self.rng.below(100);
        if (35..55).contains(&roll) {
            let path = format!(
                "com.example.crash.item/t{}-k{}",
                self.task,
                self.rng.below(PUT_KEYS)
            );
            let (collection, rkey) = split_path(&path);
            let (record, cid) = self.record(collection);
            let body =
                json!({"repo": self.did, "collection": collection, "rkey": rkey, "record": record});
            let before = self.present.get(&path).cloned();
            return Planned {
                nsid: "com.atproto.repo.putRecord",
                body,
                changes: vec![(path, before, Some(cid))],
                tid_create: None,
            };
        }
        if (55..70).contains(&roll)
            && let Some(path) = self.random_present()
        {
            let (collection, rkey) = split_path(&path);
            let body = json!({"repo": self.did, "collection": collection, "rkey": rkey});
            let before = self.present.get(&path).cloned();
            return Planned {
                nsid: "com.atproto.repo.deleteRecord",
                body,
                changes: vec![(path, before, None)],
                tid_create: None,
            };
        }
        if roll >= 70 {
            let mut writes = Vec::new();
            let mut changes = Vec::new();
            for _ in 0..BATCH_CREATES {
                let (record, cid) = self.record("com.example.crash.batch");
                let rkey = format!("t{}-b{}", self.task, self.counter);
                writes.push(json!({"$type": "com.atproto.repo.applyWrites#create",
                    "collection": "com.example.crash.batch", "rkey": rkey, "value": record}));
                changes.push((format!("com.example.crash.batch/{rkey}"), None, Some(cid)));
            }
            if let Some(path) = self.random_present() {
                let (collection, rkey) = split_path(&path);
                writes.push(json!({"$type": "com.atproto.repo.applyWrites#delete",
                    "collection": collection, "rkey": rkey}));
                let before = self.present.get(&path).cloned();
                changes.push((path, before, None));
            }
            return Planned {
                nsid: "com.atproto.repo.applyWrites",
                body: json!({"repo": self.did, "writes": writes}),
                changes,
                tid_create: None,
            };
        }
        let (record, cid) = self.record("app.bsky.feed.post");
        Planned {
            nsid: "com.atproto.repo.createRecord",
            body: json!({"repo": self.did, "collection": "app.bsky.feed.post", "record": record}),
            changes: Vec::new(),
            tid_create: Some(cid),
        }
    }

    pub fn set(&mut self, path: &str, cid: Option<String>) {
        match cid {
            Some(cid) => {
                self.deleted.remove(path);
                self.present.insert(path.to_owned(), cid);
            }
            None => {
                if self.present.remove(path).is_some() {
                    self.deleted.insert(path.to_owned());
                }
            }
        }
    }

    /// Records an acknowledged write; returns how many records it changed.
    pub fn acknowledge(&mut self, planned: Planned, answer: &Value) -> usize {
        let rev = answer["commit"]["rev"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no commit rev in {answer}", planned.nsid))
            .to_owned();
        self.acked_revs.push((self.did.clone(), rev));
        if let Some(expected) = planned.tid_create {
            let uri = answer["uri"].as_str().expect("uri");
            let path = uri
                .strip_prefix(&format!("at://{}/", self.did))
                .unwrap_or_else(|| panic!("unexpected uri {uri}"));
            assert_eq!(answer["cid"], expected.as_str(), "createRecord CID");
            self.set(path, Some(expected));
            return 1;
        }
        if planned.nsid == "com.atproto.repo.putRecord" {
            assert_eq!(
                answer["cid"],
                planned.changes[0].2.as_deref().unwrap_or(""),
                "putRecord CID"
            );
        }
        if planned.nsid == "com.atproto.repo.applyWrites" {
            let results = answer["results"].as_array().expect("applyWrites results");
            assert_eq!(results.len(), planned.changes.len(), "{answer}");
        }
        let changed = planned.changes.len();
        for (path, _, after) in planned.changes {
            self.set(&path, after);
        }
        changed
    }
}
