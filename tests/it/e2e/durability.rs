//! Crash test: acknowledged writes survive `kill -9`.
//!
//! Sixteen writer tasks over four accounts send createRecord, putRecord, deleteRecord and applyWrites
//! in a loop and remember every acknowledged result. After a random short delay the node is killed
//! with SIGKILL while writes are in flight, restarted on the same data directory and port, and
//! checked:
//!
//! - every acknowledged create/put reads back (getRecord) with its CID, every acknowledged delete is
//!   gone;
//! - each repo exported with `com.atproto.sync.getRepo` verifies against the key in its DID document
//!   (signature, MST structure, block hashes), agrees with `getLatestCommit`, and holds exactly the
//!   modelled records: the writes in flight at the kill may have landed or not, nothing else;
//! - `subscribeRepos` from cursor 0 has strictly increasing seqs, a `since` chain without gaps per
//!   repo, and a `#commit` for every acknowledged write's rev.
//!
//! Runs `SKYHOLD_CRASH_ITERATIONS` kill/restart rounds (default 3) on one data directory, each
//! asserting that the kill hit writes in flight. `SKYHOLD_CRASH_SEED` replays a run's choices of
//! operations and delays (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Node, http};
use checks::{Checked, check_firehose, check_reads, check_repo};
use model::Owned;

mod checks;
mod model;

const DEFAULT_ITERATIONS: usize = 3;
const ACCOUNTS: usize = 4;
const WRITERS: usize = 16;
/// The load runs at least this long, plus a random extra up to `KILL_JITTER_MS`, before the kill.
const KILL_MIN_MS: u64 = 250;
const KILL_JITTER_MS: u64 = 900;
/// Acknowledged writes an iteration waits for before it may kill, so every round kills a loaded node.
const MIN_ACKED_BEFORE_KILL: usize = 20;
/// Bounds on waiting, so a broken node fails the test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const LOAD_DEADLINE: Duration = Duration::from_secs(30);

enum Failure {
    /// No answer: the connection failed or broke (the node died).
    Transport(String),
    /// An answer that was not a success.
    Status(u16, String),
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, Failure> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::Transport(format!("{e:?}")))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failure::Transport(format!("{e:?}")))?;
    if !status.is_success() {
        return Err(Failure::Status(
            status.as_u16(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| Failure::Status(status.as_u16(), e.to_string()))
}

/// Shared between the writers and the killer.
#[derive(Default)]
struct Load {
    killed: AtomicBool,
    acked: AtomicUsize,
    records: AtomicUsize,
    /// Requests sent before the kill that got no answer.
    in_flight: AtomicUsize,
}

/// Writes until the node dies; the request the kill interrupts is kept as in flight.
async fn writer(mut owned: Owned, client: reqwest::Client, base: String, load: Arc<Load>) -> Owned {
    while !load.killed.load(Ordering::SeqCst) {
        let planned = owned.plan();
        let url = format!("{base}/xrpc/{}", planned.nsid);
        let sent_before_kill = !load.killed.load(Ordering::SeqCst);
        match post(&client, &url, Some(&owned.token), &planned.body).await {
            Ok(answer) => {
                let records = owned.acknowledge(planned, &answer);
                load.acked.fetch_add(1, Ordering::SeqCst);
                load.records.fetch_add(records, Ordering::SeqCst);
            }
            Err(Failure::Transport(error)) => {
                assert!(
                    load.killed.load(Ordering::SeqCst),
                    "task {}: {} failed before the kill: {error}",
                    owned.task,
                    planned.nsid
                );
                if sent_before_kill {
                    load.in_flight.fetch_add(1, Ordering::SeqCst);
                }
                owned.in_flight = planned.changes;
                owned.in_flight_tid_create = planned.tid_create;
                break;
            }
            Err(Failure::Status(status, body)) => panic!(
                "task {}: {} answered {status}: {body}",
                owned.task, planned.nsid
            ),
        }
    }
    owned
}

fn seed() -> u64 {
    std::env::var("SKYHOLD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let iterations =
        std::env::var("SKYHOLD_CRASH_ITERATIONS")
            .ok()
            .map_or(DEFAULT_ITERATIONS, |n| {
                n.parse()
                    .expect("SKYHOLD_CRASH_ITERATIONS must be a number")
            });
    let seed = seed();
    println!("durability: {iterations} iterations, SKYHOLD_CRASH_SEED={seed}");
    let mut rng = model::Rng::new(seed);

    let mut node = Node::start(&[]).await;
    let _data = node.keep_data();
    let (data_dir, port) = (node.data.clone(), node.port);
    let client = http();
    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let answer = post(
            &client,
            &node.xrpc("com.atproto.server.createAccount"),
            None,
            &json!({"handle": format!("crash{a}.test"), "email": format!("crash{a}@example.com"),
                    "password": "correct horse battery"}),
        )
        .await
        .unwrap_or_else(|_| panic!("creating account {a}"));
        accounts.push((
            answer["did"].as_str().unwrap().to_owned(),
            answer["accessJwt"].as_str().unwrap().to_owned(),
        ));
    }
    let mut tasks: Vec<Owned> = (0..WRITERS)
        .map(|t| {
            let (did, token) = &accounts[t % ACCOUNTS];
            Owned::new(t, did, token, seed)
        })
        .collect();

    let (mut total_acked, mut total_records) = (0, 0);
    for iteration in 1..=iterations {
        // A fresh client: pooled connections to the previous process are dead.
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        let load = Arc::new(Load::default());
        let handles: Vec<_> = tasks
            .drain(..)
            .map(|owned| {
                tokio::spawn(writer(
                    owned,
                    client.clone(),
                    node.url.clone(),
                    load.clone(),
                ))
            })
            .collect();
        let delay = Duration::from_millis(KILL_MIN_MS + rng.below(KILL_JITTER_MS));
        let started = Instant::now();
        tokio::time::sleep(delay).await;
        while load.acked.load(Ordering::SeqCst) < MIN_ACKED_BEFORE_KILL {
            assert!(
                started.elapsed() < LOAD_DEADLINE,
                "iteration {iteration}: only {} writes acknowledged in {LOAD_DEADLINE:?}",
                load.acked.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        load.killed.store(true, Ordering::SeqCst);
        node.kill();
        let killed_after = started.elapsed();
        for handle in handles {
            tasks.push(handle.await.expect("writer task"));
        }
        tasks.sort_by_key(|t| t.task);
        let (acked, records, in_flight) = (
            load.acked.load(Ordering::SeqCst),
            load.records.load(Ordering::SeqCst),
            load.in_flight.load(Ordering::SeqCst),
        );
        assert!(
            in_flight > 0,
            "iteration {iteration}: the kill hit no write in flight"
        );
        total_acked += acked;
        total_records += records;

        node = Node::start_in(&data_dir, port, &[]).await;
        let client = http();
        let mut checked = Checked::default();
        let mut latest = BTreeMap::new();
        for (a, (did, _)) in accounts.iter().enumerate() {
            let mut mine: Vec<&mut Owned> = tasks
                .iter_mut()
                .filter(|t| t.task % ACCOUNTS == a)
                .collect();
            let rev = check_repo(&client, &node, did, &mut mine, &mut checked).await;
            latest.insert(did.clone(), rev);
        }
        check_reads(&client, &node, &tasks).await;
        let acked_revs: BTreeSet<(String, String)> = tasks
            .iter()
            .flat_map(|t| t.acked_revs.iter().cloned())
            .collect();
        let events = check_firehose(&node, &latest, &acked_revs).await;
        println!(
            "iteration {iteration}: killed after {killed_after:?} with {in_flight} writes in flight \
             ({acked} acknowledged writes, {records} record changes); after the restart \
             {} records and {} deletes read back, {} in-flight changes had landed, \
             {} repos verified, {events} firehose events in order covering {} acknowledged commits",
            checked.records,
            checked.deletes,
            checked.in_flight_landed,
            accounts.len(),
            acked_revs.len(),
        );
    }
    println!(
        "durability: {iterations}/{iterations} kills mid-load; {total_acked} acknowledged writes \
         ({total_records} record changes) all survived"
    );
}
