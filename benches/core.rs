//! Criterion benchmarks of the protocol core: DAG-CBOR, MST inserts, CAR export/import, signatures,
//! and the relay's per-event work (decode a `#commit` frame, check its signature, invert its ops
//! against the covering proof).
//! Run with `cargo bench --bench core`; figures go in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use skyhold::core::crypto::{Algorithm, Keypair};
use skyhold::core::data;
use skyhold::core::firehose::{Frame, Message, decode_frame};
use skyhold::core::mst::{MemoryBlocks, Mst};
use skyhold::core::repo::{
    Inversion, UnsignedCommit, export_car, load_car, verify_commit_message, verify_repo,
};

mod frames;
use frames::{commit_frames, post, tid_key};

fn cbor(c: &mut Criterion) {
    let value = post(1);
    let bytes = data::encode_value(&value).unwrap();
    let mut group = c.benchmark_group("dag-cbor");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode post", |b| {
        b.iter(|| data::encode_value(black_box(&value)).unwrap())
    });
    group.bench_function("decode post (strict)", |b| {
        b.iter(|| data::decode_value(black_box(&bytes)).unwrap())
    });
    group.bench_function("cid of post", |b| {
        b.iter(|| data::cid_for_cbor(black_box(&bytes)))
    });
    group.finish();
}

fn mst(c: &mut Criterion) {
    let none = MemoryBlocks::new();
    let value = data::cid_for_cbor(b"\xa0");
    let mut group = c.benchmark_group("mst");
    group.sample_size(10);
    for n in [10_000u64, 100_000] {
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("insert {n} keys and hash"), |b| {
            b.iter(|| {
                let mut tree = Mst::empty();
                for i in 0..n {
                    tree.insert(&none, &tid_key(i), value).unwrap();
                }
                tree.root_cid().unwrap()
            })
        });
    }
    group.finish();
}

fn repo_car(c: &mut Criterion) {
    let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let mut blocks = MemoryBlocks::new();
    let mut tree = Mst::empty();
    for i in 0..10_000 {
        let bytes = data::encode_value(&post(i)).unwrap();
        let cid = data::cid_for_cbor(&bytes);
        blocks.insert(cid, bytes);
        tree.insert(&blocks, &tid_key(i), cid).unwrap();
    }
    let (root, nodes) = tree.commit().unwrap();
    blocks.extend(nodes);
    let commit = UnsignedCommit::new("did:plc:bench", root, "3jzfcijpj2z2a")
        .sign(&key)
        .unwrap();
    let (commit_cid, commit_bytes) = commit.encode().unwrap();
    let car = export_car(Vec::new(), (&commit_cid, &commit_bytes), &mut tree, &blocks).unwrap();
    let mut group = c.benchmark_group("car (10k-record repo)");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(car.len() as u64));
    group.bench_function("export", |b| {
        b.iter_batched(
            || Mst::load(&blocks, root).unwrap(),
            |mut tree| {
                export_car(
                    Vec::with_capacity(car.len()),
                    (&commit_cid, &commit_bytes),
                    &mut tree,
                    &blocks,
                )
                .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("read", |b| {
        b.iter(|| load_car(black_box(car.as_slice())).unwrap())
    });
    group.bench_function("read and verify fully", |b| {
        b.iter(|| {
            let repo = load_car(car.as_slice()).unwrap();
            verify_repo(&repo, Some(&key.public_key())).unwrap()
        })
    });
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let message = data::encode_value(&post(1)).unwrap();
    let mut group = c.benchmark_group("signature");
    for algorithm in [Algorithm::K256, Algorithm::P256] {
        let key = Keypair::generate(algorithm, &mut rand_core::OsRng);
        let public = key.public_key();
        let sig = key.sign(&message);
        group.bench_function(format!("{algorithm:?} sign"), |b| {
            b.iter(|| key.sign(black_box(&message)))
        });
        group.bench_function(format!("{algorithm:?} verify"), |b| {
            b.iter(|| public.verify(black_box(&message), black_box(&sig)).unwrap())
        });
    }
    group.finish();
}

fn firehose(c: &mut Criterion) {
    let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let frames = commit_frames("did:plc:benchbenchbenchbenchbenc", &key, 10_000, 1_000);
    let public = key.public_key();
    let mut group = c.benchmark_group("relay per event (10k-record repo)");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("decode + verify #commit (signature, inversion)", |b| {
        b.iter(|| {
            let frame = &frames[next % frames.len()];
            next += 1;
            let Ok(Frame::Message(Message::Commit(message))) = decode_frame(frame) else {
                panic!("not a commit frame");
            };
            black_box(verify_commit_message(&message, Some(&public), Inversion::Required).unwrap());
        });
    });
    group.finish();
}

criterion_group!(benches, cbor, mst, repo_car, signatures, firehose);
criterion_main!(benches);
