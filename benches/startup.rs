//! What the built-in Lexicon schemas add to a start: the time to inflate and parse them, and what
//! they add to the process's resident memory.
//!
//! A node parses the record schemas and what they refer to at every start (`official`); the whole
//! official set only when the operator adds schemas with `--lexicon-dir` (`with_operator_schemas`,
//! here with an empty folder). Run with `cargo bench --bench startup`; figures go in
//! docs/PERFORMANCE.md ("Start-up").

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::Criterion;
use skyhold::lexicons_bench::{official, with_operator_schemas};

/// This process's resident set size in KiB (Linux), read from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What holding each catalog adds to RSS, measured once before the timed runs: the record schemas
/// first in a fresh process (what every start pays), then the whole set on top of them. Memory
/// freed while parsing (the inflated JSON) stays with the allocator and counts, as it does for the
/// server.
fn report_memory(empty_dir: &std::path::Path) {
    let before = rss_kib();
    let records = official().unwrap();
    let after_records = rss_kib();
    let whole = with_operator_schemas(empty_dir).unwrap();
    let after_whole = rss_kib();
    println!(
        "resident memory: record schemas +{} KiB, then the whole set +{} KiB more",
        after_records - before,
        after_whole - after_records
    );
    drop((records, whole));
}

fn main() {
    let empty = std::env::temp_dir().join(format!("skyhold-bench-lexicons-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    report_memory(&empty);

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("lexicons");
    group.bench_function("record schemas, every start", |b| {
        b.iter(|| black_box(official().unwrap()))
    });
    group.bench_function("whole official set, with --lexicon-dir", |b| {
        b.iter(|| black_box(with_operator_schemas(&empty).unwrap()))
    });
    group.finish();
    criterion.final_summary();
    std::fs::remove_dir(&empty).unwrap();
}
