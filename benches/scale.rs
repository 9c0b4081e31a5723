//! The relay at scale, on one thread: how many events of accounts it does not carry it drops per
//! second (frame header and account read, nothing decoded), how many commits of carried accounts it
//! verifies per second (decode, signature, MST inversion; libsecp256k1 against k256 for the
//! signature), and what 10,000 carried accounts cost in memory.
//!
//! Run with `cargo bench --bench scale`; figures go in docs/PERFORMANCE.md ("Relay"). Under
//! `cargo test --bench scale` it runs a few events of each, as a smoke test.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use skyhold::core::crypto::{Algorithm, Keypair, PublicKey};
use skyhold::core::data;
use skyhold::core::firehose::{
    AccountMessage, Frame, IdentityMessage, Message, decode_frame, encode_frame, peek_frame,
};
use skyhold::core::repo::{Inversion, verify_commit_message};
use skyhold::relay_bench::{CarriedSet, CarriedState};

mod frames;
use frames::{commit_frames, post};

/// A DID:PLC-shaped identifier (24 base32 characters), distinct per `i`.
fn did(i: u64) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555;
    let mut id = String::with_capacity(24);
    for n in 0..24 {
        if n == 12 {
            x = x.rotate_left(29) ^ i;
        }
        id.push(alphabet[(x & 31) as usize] as char);
        x >>= 5;
        if x == 0 {
            x = i.wrapping_add(n).wrapping_mul(0xff51_afd7_ed55_8ccd);
        }
    }
    format!("did:plc:{id}")
}

/// A busy upstream's stream as the relay sees it: `#commit` (90%), `#identity` and `#account`
/// events of `accounts` different accounts, none of them carried. The commits are real ones (a
/// CAR slice with a covering proof) with the account swapped in.
fn upstream_frames(template: &[u8], accounts: u64, count: u64) -> Vec<Vec<u8>> {
    let Frame::Message(Message::Commit(commit)) = decode_frame(template).unwrap() else {
        panic!("not a commit");
    };
    (0..count)
        .map(|i| {
            let repo = did(1_000_000 + i % accounts);
            let seq = i64::try_from(i).unwrap();
            let time = "2026-12-04T10:00:00.000Z".to_owned();
            let message = match i % 20 {
                0 => Message::Identity(IdentityMessage {
                    seq,
                    did: repo,
                    time,
                    handle: Some("someone.example.com".into()),
                }),
                1 => Message::Account(AccountMessage {
                    seq,
                    did: repo,
                    time,
                    active: true,
                    status: None,
                }),
                _ => {
                    let mut commit = commit.clone();
                    commit.seq = seq;
                    commit.repo = repo;
                    Message::Commit(commit)
                }
            };
            encode_frame(&message).unwrap()
        })
        .collect()
}

/// Runs `each` over `frames` for at least `rounds` passes; returns events per second.
fn rate(frames: &[Vec<u8>], rounds: usize, mut each: impl FnMut(&[u8])) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for frame in frames {
            each(frame);
        }
    }
    (frames.len() * rounds) as f64 / start.elapsed().as_secs_f64()
}

fn filter(quick: bool, carried: &CarriedSet, template: &[u8]) {
    let frames = upstream_frames(template, 50_000, if quick { 200 } else { 100_000 });
    let rounds = if quick { 1 } else { 5 };
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut kept = 0u64;
    let filtered = rate(&frames, rounds, |frame| {
        if !carried.filters_out(black_box(frame)).unwrap() {
            kept += 1;
        }
    });
    assert_eq!(kept, 0, "none of these accounts is carried");
    let decoded = rate(&frames, 1, |frame| {
        black_box(decode_frame(black_box(frame)).unwrap());
    });
    println!(
        "filter: {filtered:.0} events/s dropped on one thread ({:.2} µs each; frames of {} bytes on \
         average, 90% #commit); decoding them fully instead: {decoded:.0} events/s",
        1e6 / filtered,
        bytes / frames.len()
    );
}

/// Commits of `accounts` accounts whose repos hold `existing` records, `per_account` each,
/// interleaved as a stream would bring them; with each account's key.
fn carried_commits(
    accounts: u64,
    existing: u64,
    per_account: u64,
) -> (Vec<Vec<u8>>, BTreeMap<String, PublicKey>) {
    let mut keys = BTreeMap::new();
    let mut streams = Vec::new();
    for a in 0..accounts {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let did = did(a);
        streams.push(commit_frames(&did, &key, existing, per_account));
        keys.insert(did, key.public_key());
    }
    let mut frames = Vec::new();
    for i in 0..per_account as usize {
        for stream in &streams {
            frames.push(stream[i].clone());
        }
    }
    (frames, keys)
}

/// What the relay does to a carried account's commit before storing it, on one thread: the early
/// filter, the full decode, then every stateless check with the account's cached key.
fn verify(
    quick: bool,
    carried: &CarriedSet,
    frames: &[Vec<u8>],
    keys: &BTreeMap<String, PublicKey>,
    label: &str,
) {
    let rounds = if quick { 1 } else { 3 };
    let per_second = rate(frames, rounds, |frame| {
        assert!(!carried.filters_out(frame).unwrap());
        let Ok(Frame::Message(Message::Commit(message))) = decode_frame(frame) else {
            panic!("not a commit frame");
        };
        let key = &keys[&message.repo];
        black_box(verify_commit_message(&message, Some(key), Inversion::Required).unwrap());
    });
    // Where the time goes: the full decode alone, then every check but the signature.
    let decoded = rate(frames, rounds, |frame| {
        black_box(decode_frame(black_box(frame)).unwrap());
    });
    let unsigned = rate(frames, rounds, |frame| {
        let Ok(Frame::Message(Message::Commit(message))) = decode_frame(frame) else {
            panic!("not a commit frame");
        };
        black_box(verify_commit_message(&message, None, Inversion::Required).unwrap());
    });
    println!(
        "verify ({label}): {per_second:.0} commits/s kept on one thread ({:.1} µs each: decoding \
         {:.1} µs, CAR, commit and MST inversion {:.1} µs, signature and filter the rest)",
        1e6 / per_second,
        1e6 / decoded,
        1e6 / unsigned - 1e6 / decoded
    );
}

/// The signature check alone: libsecp256k1 (what `PublicKey` uses) against k256.
fn signatures(quick: bool) {
    let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let public = key.public_key();
    let point = k256::ecdsa::VerifyingKey::from_sec1_bytes(&public.to_compressed()).unwrap();
    let messages: Vec<(Vec<u8>, [u8; 64])> = (0..if quick { 4 } else { 2_000 })
        .map(|i| {
            let m = data::encode_value(&post(i)).unwrap();
            let s = key.sign(&m);
            (m, s)
        })
        .collect();
    let start = Instant::now();
    for (m, s) in &messages {
        public.verify(black_box(m), black_box(s)).unwrap();
    }
    let fast = start.elapsed().as_secs_f64() / messages.len() as f64;
    let start = Instant::now();
    for (m, s) in &messages {
        use k256::ecdsa::signature::Verifier;
        let sig = k256::ecdsa::Signature::from_slice(s).unwrap();
        point.verify(black_box(m), black_box(&sig)).unwrap();
    }
    let slow = start.elapsed().as_secs_f64() / messages.len() as f64;
    println!(
        "K256 verify: libsecp256k1 {:.1} µs, k256 {:.1} µs ({:.1}x)",
        fast * 1e6,
        slow * 1e6,
        slow / fast
    );
}

/// This process's resident set size in KiB (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What `n` carried accounts add to RSS: the set, each one's cached identity with its parsed key,
/// and its PDS host (the inputs are built first and not counted).
fn memory(n: u64) -> CarriedState {
    let keys: Vec<PublicKey> = (0..64)
        .map(|_| Keypair::generate(Algorithm::K256, &mut rand_core::OsRng).public_key())
        .collect();
    let accounts: Vec<(String, PublicKey, String)> = (0..n)
        .map(|i| {
            (
                did(i),
                keys[(i % 64) as usize].clone(),
                format!("pds{}.host.example.com", i % 500),
            )
        })
        .collect();
    let before = rss_kib();
    let state = CarriedState::new(accounts);
    let after = rss_kib();
    assert_eq!(state.len() as u64, n);
    println!(
        "memory: {n} carried accounts add {} KiB of RSS ({} bytes each)",
        after.saturating_sub(before),
        after.saturating_sub(before) * 1024 / n
    );
    state
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let accounts = if quick { 100 } else { 10_000 };
    let state = memory(accounts);
    let carried = &state.set;
    signatures(quick);
    let (frames, keys) = carried_commits(
        if quick { 2 } else { 100 },
        if quick { 10 } else { 1_000 },
        if quick { 2 } else { 20 },
    );
    filter(quick, carried, &frames[0]);
    let carried_too = CarriedSet::new(keys.keys().cloned());
    verify(
        quick,
        &carried_too,
        &frames,
        &keys,
        "100 accounts, 1,000-record repos",
    );
    if !quick {
        let (frames, keys) = carried_commits(1, 10_000, 1_000);
        let carried_too = CarriedSet::new(keys.keys().cloned());
        verify(
            quick,
            &carried_too,
            &frames,
            &keys,
            "1 account, 10,000-record repo",
        );
    }
    // The peek and the full decode agree on the account of every frame made here.
    for frame in &frames {
        let Ok(Frame::Message(message)) = decode_frame(frame) else {
            panic!("undecodable");
        };
        assert_eq!(peek_frame(frame).unwrap().did, message.did());
    }
}
