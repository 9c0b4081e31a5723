//! The App View benchmark: generates a community (accounts with profiles, follows, posts of which
//! every tenth is a reply, likes) as a stream of `#commit` frames, indexes it through the real
//! consumer path, then measures getTimeline, getPostThread, getAuthorFeed and listNotifications as
//! service calls (no HTTP), and prints the index rate, latency percentiles, disk bytes per post and
//! the process's memory. It is bounded: it stops by itself after one pass.
//!
//! Run with `cargo bench --bench appview`; figures go in docs/PERFORMANCE.md ("App View"). Sizes
//! come from `SKYHOLD_BENCH_ACCOUNTS`, `_FOLLOWS`, `_POSTS`, `_LIKES` and `_CALLS` (calls per
//! view); `SKYHOLD_BENCH_DIR` keeps the store in a given empty directory instead of a temporary one.
//! Under `cargo test --all-targets` it runs a tiny community instead, as a smoke check.
//!
//! The stream is generated from the sequence number and written into an event log in the bench's
//! store before the indexing clock starts (the App View reads the log as it reads the relay's), and
//! commits carry only their record block: the relay verifies signatures and MSTs before events
//! reach the App View, so the indexer never reads them.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cid::Cid;
use serde_json::{Value as Json, json};
use skyhold::appview_bench::BenchAppview;
use skyhold::core::car::write_car;
use skyhold::core::data;
use skyhold::core::firehose::{
    CommitMessage, CommitOp, Frame, Message, decode_frame, encode_frame,
};
use skyhold::core::syntax::{Datetime, Tid};

/// Indexing longer than this means something is wrong; the benchmark gives up instead of hanging.
const INDEX_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The size of the generated community.
#[derive(Clone, Copy, Debug)]
struct Community {
    accounts: u64,
    follows: u64,
    posts: u64,
    likes: u64,
}

impl Community {
    fn total(&self) -> u64 {
        self.accounts + self.follows + self.posts + self.likes
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

fn did(i: u64) -> String {
    format!("did:plc:bench{i:019}")
}

/// The generated stream: record `seq` (1-based) is a pure function of `seq`.
struct Generator {
    community: Community,
    /// Microseconds of the first record; records are one millisecond apart and end a minute ago.
    base: u64,
}

/// One generated record: its author, collection, rkey and value.
struct Generated {
    author: u64,
    collection: &'static str,
    rkey: String,
    value: Json,
}

impl Generator {
    fn new(community: Community) -> Generator {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros();
        let now = u64::try_from(now).unwrap();
        let span = community.total() * 1000 + 60_000_000;
        Generator {
            community,
            base: now.saturating_sub(span),
        }
    }

    fn time(&self, seq: u64) -> (u64, String) {
        let micros = self.base + seq * 1000;
        let text = Datetime::from_unix_micros(i64::try_from(micros).unwrap()).unwrap();
        (micros, text.as_str().to_owned())
    }

    fn rkey(&self, seq: u64) -> String {
        Tid::from_parts(self.time(seq).0, 7).as_str().to_owned()
    }

    /// The seq of post number `i`.
    fn post_seq(&self, i: u64) -> u64 {
        self.community.accounts + self.community.follows + i + 1
    }

    /// The post number a reply (post `i`) answers, if it is one: every tenth post answers an
    /// earlier one, so threads form without a reply ever pointing forward.
    fn parent(&self, i: u64) -> Option<u64> {
        (i % 10 == 9).then(|| (i * 31 + 7) % i)
    }

    fn root(&self, mut i: u64) -> u64 {
        while let Some(p) = self.parent(i) {
            i = p;
        }
        i
    }

    fn post_uri(&self, i: u64) -> String {
        format!(
            "at://{}/app.bsky.feed.post/{}",
            did(i % self.community.accounts),
            self.rkey(self.post_seq(i))
        )
    }

    fn post_cid(&self, i: u64) -> String {
        encode(&self.record(self.post_seq(i)).value).0.to_string()
    }

    fn record(&self, seq: u64) -> Generated {
        let c = self.community;
        let (_, created) = self.time(seq);
        let rkey = self.rkey(seq);
        let n = seq - 1;
        if n < c.accounts {
            return Generated {
                author: n,
                collection: "app.bsky.actor.profile",
                rkey: "self".into(),
                value: json!({"$type": "app.bsky.actor.profile", "displayName": format!("User {n}"), "description": "a generated account"}),
            };
        }
        let n = n - c.accounts;
        if n < c.follows {
            let follower = n % c.accounts;
            let mut subject = (follower + 1 + (n / c.accounts) * 13) % c.accounts;
            if subject == follower {
                subject = (subject + 1) % c.accounts;
            }
            return Generated {
                author: follower,
                collection: "app.bsky.graph.follow",
                rkey,
                value: json!({"$type": "app.bsky.graph.follow", "subject": did(subject), "createdAt": created}),
            };
        }
        let n = n - c.follows;
        if n < c.posts {
            let mut value = json!({
                "$type": "app.bsky.feed.post",
                "text": format!("post {n} about topic{} and word{}", n % 50, n % 1000),
                "langs": ["en"],
                "createdAt": created,
            });
            if let Some(parent) = self.parent(n) {
                let root = self.root(parent);
                value["reply"] = json!({
                    "root": {"uri": self.post_uri(root), "cid": self.post_cid(root)},
                    "parent": {"uri": self.post_uri(parent), "cid": self.post_cid(parent)},
                });
            }
            return Generated {
                author: n % c.accounts,
                collection: "app.bsky.feed.post",
                rkey,
                value,
            };
        }
        let n = n - c.posts;
        let subject = n.wrapping_mul(2_654_435_761) % c.posts;
        Generated {
            author: n % c.accounts,
            collection: "app.bsky.feed.like",
            rkey,
            value: json!({
                "$type": "app.bsky.feed.like",
                "subject": {"uri": self.post_uri(subject), "cid": self.post_cid(subject)},
                "createdAt": created,
            }),
        }
    }

    fn frame(&self, seq: u64) -> Vec<u8> {
        let record = self.record(seq);
        let (cid, bytes) = encode(&record.value);
        let blocks = write_car(&[cid], [(&cid, bytes.as_slice())]).unwrap();
        let message = Message::Commit(Box::new(CommitMessage {
            seq: i64::try_from(seq).unwrap(),
            rebase: false,
            too_big: false,
            repo: did(record.author),
            // Not a real commit block: the App View reads only the ops and their record blocks.
            commit: cid,
            rev: self.rkey(seq),
            since: None,
            blocks,
            ops: vec![CommitOp {
                action: "create".into(),
                path: format!("{}/{}", record.collection, record.rkey),
                cid: Some(cid),
                prev: None,
            }],
            blobs: Vec::new(),
            prev_data: None,
            time: self.time(seq).1,
        }));
        encode_frame(&message).unwrap()
    }

    /// Checks the generator's own invariants on a small prefix before a long run relies on them.
    fn self_check(&self) {
        for seq in [1, self.post_seq(9), self.community.total()] {
            let frame = self.frame(seq);
            assert_eq!(frame, self.frame(seq), "frames are deterministic");
            let Ok(Frame::Message(Message::Commit(commit))) = decode_frame(&frame) else {
                panic!("frame {seq} is not a commit");
            };
            assert_eq!(commit.ops.len(), 1);
        }
        let parent = self.parent(9).unwrap();
        assert!(parent < 9 && self.root(9) == self.root(parent));
    }
}

fn encode(value: &Json) -> (Cid, Vec<u8>) {
    let bytes = data::encode_value(&data::from_json(value).unwrap()).unwrap();
    (data::cid_for_cbor(&bytes), bytes)
}

/// (calls, p50 ms, p99 ms, max ms)
fn percentiles(mut samples: Vec<Duration>) -> (usize, f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().map_or(0.0, ms)
    };
    let max = samples.last().copied().map_or(0.0, ms);
    (samples.len(), at(0.5), at(0.99), max)
}

/// (current, peak) resident memory in KiB, from `/proc/self/status`.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn report(view: &str, samples: Vec<Duration>) -> Json {
    let (calls, p50, p99, max) = percentiles(samples);
    println!(
        "{view:<30} {calls:>6} calls  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  max {max:>7.2} ms"
    );
    json!({"view": view, "calls": calls, "p50": p50, "p99": p99, "max": max})
}

async fn run(dir: PathBuf, community: Community, calls: u64) {
    let generator = Arc::new(Generator::new(community));
    generator.self_check();
    let accounts: Vec<(String, String)> = (0..community.accounts)
        .map(|i| (did(i), format!("user{i}.test")))
        .collect();
    let appview = BenchAppview::open(&dir, &accounts).await.unwrap();

    let total = community.total();
    println!(
        "community: {} accounts, {} follows, {} posts, {} likes ({total} events)",
        community.accounts, community.follows, community.posts, community.likes
    );
    let frames = generator.clone();
    // The frames are written into an event log first; only the indexing is timed.
    let index_seconds = appview
        .index(
            total,
            Arc::new(move |seq| Some(frames.frame(seq))),
            INDEX_DEADLINE,
        )
        .await
        .unwrap()
        .as_secs_f64();
    let events_per_second = total as f64 / index_seconds;
    println!("indexing: {index_seconds:.1} s, {events_per_second:.0} events/s");

    // Viewers spread over the accounts; every view is asked as a logged-in viewer.
    let viewers: Vec<String> = (0..calls)
        .map(|k| did((k * 7919) % community.accounts))
        .collect();
    let mut latencies = Vec::new();

    let mut samples = Vec::new();
    for viewer in &viewers {
        let t = Instant::now();
        let out = appview.get_timeline(viewer, 50).await.unwrap();
        samples.push(t.elapsed());
        assert!(
            out["feed"].as_array().is_some_and(|f| !f.is_empty()),
            "empty timeline for {viewer}"
        );
    }
    latencies.push(report("getTimeline (limit 50)", samples));

    let mut samples = Vec::new();
    for (k, viewer) in (0u64..).zip(&viewers) {
        let uri = generator.post_uri(generator.root((k * 104_729 + 3) % community.posts));
        let t = Instant::now();
        appview.get_post_thread(viewer, &uri).await.unwrap();
        samples.push(t.elapsed());
    }
    latencies.push(report("getPostThread", samples));

    let mut samples = Vec::new();
    for (k, viewer) in (0u64..).zip(&viewers) {
        let actor = did(k % community.accounts);
        let t = Instant::now();
        appview.get_author_feed(viewer, &actor, 50).await.unwrap();
        samples.push(t.elapsed());
    }
    latencies.push(report("getAuthorFeed (limit 50)", samples));

    let mut samples = Vec::new();
    for viewer in &viewers {
        let t = Instant::now();
        appview.list_notifications(viewer).await.unwrap();
        samples.push(t.elapsed());
    }
    latencies.push(report("listNotifications (limit 50)", samples));

    let mut tables = appview.table_stats().unwrap();
    tables.sort_by_key(|(_, stored, meta, frag)| std::cmp::Reverse(stored + meta + frag));
    appview.shutdown().await;
    // The store and the post search index's own file.
    let disk_bytes: u64 = ["skyhold.redb", "search.redb"]
        .iter()
        .map(|file| std::fs::metadata(dir.join(file)).unwrap().len())
        .sum();
    let bytes_per_post = disk_bytes as f64 / community.posts as f64;
    let (rss_kib, peak_rss_kib) = memory();
    println!("disk: {disk_bytes} bytes ({bytes_per_post:.0} bytes per post, everything included)");
    println!("memory: {rss_kib} KiB resident, {peak_rss_kib} KiB peak");
    println!("largest tables (stored / metadata / fragmented bytes):");
    for (table, stored, meta, frag) in tables.iter().take(12) {
        println!("  {table:<28} {stored:>12} {meta:>10} {frag:>10}");
    }
    let summary = json!({
        "accounts": community.accounts,
        "follows": community.follows,
        "posts": community.posts,
        "likes": community.likes,
        "events": total,
        "indexSeconds": index_seconds,
        "eventsPerSecond": events_per_second,
        "diskBytes": disk_bytes,
        "diskBytesPerPost": bytes_per_post,
        "latenciesMs": latencies,
        "rssKiB": rss_kib,
        "peakRssKiB": peak_rss_kib,
    });
    println!("{summary}");
}

fn main() {
    // Only `cargo bench` passes `--bench`; under `cargo test --all-targets` (or `--benches`), and
    // with `cargo bench -- --test`, a tiny community checks that the benchmark still works without
    // spending minutes on it.
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test");
    let community = if smoke {
        Community {
            accounts: 20,
            follows: 200,
            posts: 500,
            likes: 1000,
        }
    } else {
        Community {
            accounts: env_or("SKYHOLD_BENCH_ACCOUNTS", 1000),
            follows: env_or("SKYHOLD_BENCH_FOLLOWS", 50_000),
            posts: env_or("SKYHOLD_BENCH_POSTS", 200_000),
            likes: env_or("SKYHOLD_BENCH_LIKES", 1_000_000),
        }
    };
    let calls = if smoke {
        20
    } else {
        env_or("SKYHOLD_BENCH_CALLS", 1000)
    };
    assert!(
        community.accounts >= 2 && community.posts >= 10 && calls >= 1,
        "the community needs at least 2 accounts and 10 posts, and at least one call per view"
    );

    let (dir, temporary) = match std::env::var_os("SKYHOLD_BENCH_DIR") {
        Some(dir) => (PathBuf::from(dir), false),
        None => {
            let name = format!("skyhold-appview-bench-{}", std::process::id());
            (std::env::temp_dir().join(name), true)
        }
    };
    assert!(
        !dir.join("skyhold.redb").exists(),
        "{} already holds a store; give an empty directory",
        dir.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(run(dir.clone(), community, calls));
    }));
    // Background tasks (the backfill retry loop) end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(5));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
