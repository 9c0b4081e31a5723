//! Whole-server write load: skyhold and the reference PDS (`@atproto/pds`) under the same client and
//! the same load shape, in one run (the shape of the reference figures in docs/PERFORMANCE.md).
//!
//! Run with `cargo bench --bench load` (`-- --test` for a smoke run of a few seconds against skyhold
//! alone). Phases, each a fixed number of requests:
//!
//! 1. `createRecord`, one client, sequential: writes/s, p50, p99;
//! 2. `createRecord`, 32 clients over 8 accounts: writes/s, p50, p99;
//! 3. `applyWrites` in batches of 200 creates into one account: records/s;
//! 4. `getRepo` of that account (10,000 records): median of 5 downloads;
//!
//! plus the time from spawn until `/xrpc/_health` answers and the server's RSS (`VmRSS` of its PID)
//! after start and after the load. skyhold is the binary cargo built for this bench
//! (`CARGO_BIN_EXE_skyhold`, bench profile) unless `SKYHOLD_BIN` names another. The reference PDS is
//! started with `tests/refpds/start.sh` (a minimal PLC directory beside it); when it is not installed (or
//! `SKYHOLD_LOAD_REFERENCE=0`), skyhold runs alone and the output says so. Servers are killed by PID at the end, and their data directories removed.
//!
//! This prints numbers; it asserts nothing about them (STYLE.md: no timing assertions).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use support::{
    Server, free_port, full_run, machine, mb, post, rss_kb, skyhold_binary, start_skyhold,
    temp_dir, wait_for_health,
};

/// How much load each phase sends: a fixed number of requests, so every phase stops by itself.
struct Shape {
    warmup_writes: usize,
    sequential_writes: usize,
    clients: usize,
    accounts: usize,
    writes_per_client: usize,
    batch_size: usize,
    batches: usize,
    get_repo_runs: usize,
}

/// The shape of the reference measurements (`cargo bench --bench load`).
const FULL: Shape = Shape {
    warmup_writes: 50,
    sequential_writes: 1000,
    clients: 32,
    accounts: 8,
    writes_per_client: 64,
    batch_size: 200,
    batches: 50,
    get_repo_runs: 5,
};

/// A few seconds against skyhold alone, to check the bench still works (`-- --test`, or when run by
/// `cargo test --benches`). Its numbers mean nothing.
const SMOKE: Shape = Shape {
    warmup_writes: 5,
    sequential_writes: 20,
    clients: 4,
    accounts: 2,
    writes_per_client: 5,
    batch_size: 200,
    batches: 2,
    get_repo_runs: 1,
};
/// Upper bounds on waiting, so a wedged server ends the run instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Idle time after `_health` answers before the "after start" RSS is read.
const SETTLE: Duration = Duration::from_secs(1);

const PASSWORD: &str = "load-test-password-long";

/// Where `setup.sh` installs the reference PDS, if it did.
fn reference_installed() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/refpds/start.sh");
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?
        .join("skyhold-refpds/pds/node_modules/@atproto/pds");
    if !cache.is_dir() {
        return Err(format!(
            "{} is missing (run tests/refpds/setup.sh)",
            cache.display()
        ));
    }
    Ok(script)
}

async fn start_reference(client: &reqwest::Client, script: &Path) -> Server {
    let data = temp_dir("refpds");
    let (pds_port, plc_port) = (free_port(), free_port());
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(script)
        .arg(pds_port.to_string())
        .arg(plc_port.to_string())
        .arg(&data)
        .output()
        .expect("running start.sh");
    let text = String::from_utf8_lossy(&output.stdout);
    let pids: Vec<u32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let mut server = Server {
        name: "reference PDS",
        url: format!("http://127.0.0.1:{pds_port}"),
        relay: None,
        pid: pids.first().copied().unwrap_or(0),
        pids,
        child: None,
        data,
        start: Duration::ZERO,
    };
    assert_eq!(
        server.pids.len(),
        2,
        "start.sh printed {text:?}; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    wait_for_health(client, &server.url).await;
    server.start = started.elapsed();
    server
}

struct Account {
    did: String,
    token: String,
}

async fn create_account(client: &reqwest::Client, server: &Server, name: &str) -> Account {
    let answer = post(
        client,
        &format!("{}/xrpc/com.atproto.server.createAccount", server.url),
        None,
        &json!({"handle": format!("{name}.test"), "email": format!("{name}@example.com"),
                "password": PASSWORD}),
    )
    .await;
    Account {
        did: answer["did"].as_str().expect("did").to_owned(),
        token: answer["accessJwt"].as_str().expect("accessJwt").to_owned(),
    }
}

fn post_record(n: usize) -> Value {
    json!({"$type": "app.bsky.feed.post", "createdAt": "2026-01-01T00:00:00.000Z",
           "langs": ["en"],
           "text": format!("load test post number {n}: a short message of ordinary length")})
}

async fn create_record(client: &reqwest::Client, url: &str, account: &Account, n: usize) {
    post(
        client,
        url,
        Some(&account.token),
        &json!({"repo": account.did, "collection": "app.bsky.feed.post", "record": post_record(n)}),
    )
    .await;
}

/// Throughput and latency of one write phase.
struct Rate {
    count: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Rate {
    fn new(count: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> Rate {
        latencies.sort();
        let at = |q: f64| {
            let index = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
            latencies.get(index).copied().unwrap_or_default()
        };
        Rate {
            count,
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
        }
    }

    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

struct Results {
    start: Duration,
    rss_start_kb: u64,
    sequential: Rate,
    concurrent: Rate,
    batched: Rate,
    get_repo: Duration,
    car_bytes: usize,
    rss_after_kb: u64,
}

async fn sequential(shape: &'static Shape, client: &reqwest::Client, server: &Server) -> Rate {
    let url = format!("{}/xrpc/com.atproto.repo.createRecord", server.url);
    let account = create_account(client, server, "sequential").await;
    for n in 0..shape.warmup_writes {
        create_record(client, &url, &account, n).await;
    }
    let mut latencies = Vec::with_capacity(shape.sequential_writes);
    let started = Instant::now();
    for n in 0..shape.sequential_writes {
        let one = Instant::now();
        create_record(client, &url, &account, n).await;
        latencies.push(one.elapsed());
    }
    Rate::new(shape.sequential_writes, started.elapsed(), latencies)
}

async fn concurrent(shape: &'static Shape, client: &reqwest::Client, server: &Server) -> Rate {
    let url = Arc::new(format!("{}/xrpc/com.atproto.repo.createRecord", server.url));
    let mut accounts = Vec::new();
    for a in 0..shape.accounts {
        accounts.push(Arc::new(
            create_account(client, server, &format!("concurrent{a}")).await,
        ));
    }
    let started = Instant::now();
    let clients: Vec<_> = (0..shape.clients)
        .map(|c| {
            let (client, url) = (client.clone(), url.clone());
            let account = accounts[c % shape.accounts].clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(shape.writes_per_client);
                for n in 0..shape.writes_per_client {
                    let one = Instant::now();
                    create_record(&client, &url, &account, c * shape.writes_per_client + n).await;
                    latencies.push(one.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for handle in clients {
        latencies.extend(handle.await.expect("client task"));
    }
    Rate::new(latencies.len(), started.elapsed(), latencies)
}

/// Fills one account with `shape.batches * shape.batch_size` posts through applyWrites; returns the rate (in
/// records) and the account.
async fn batched(
    shape: &'static Shape,
    client: &reqwest::Client,
    server: &Server,
) -> (Rate, Account) {
    let url = format!("{}/xrpc/com.atproto.repo.applyWrites", server.url);
    let account = create_account(client, server, "bulk").await;
    let mut latencies = Vec::with_capacity(shape.batches);
    let started = Instant::now();
    for b in 0..shape.batches {
        let writes: Vec<Value> = (0..shape.batch_size)
            .map(|i| {
                json!({"$type": "com.atproto.repo.applyWrites#create",
                       "collection": "app.bsky.feed.post", "value": post_record(b * shape.batch_size + i)})
            })
            .collect();
        let one = Instant::now();
        post(
            client,
            &url,
            Some(&account.token),
            &json!({"repo": account.did, "writes": writes}),
        )
        .await;
        latencies.push(one.elapsed());
    }
    (
        Rate::new(
            shape.batches * shape.batch_size,
            started.elapsed(),
            latencies,
        ),
        account,
    )
}

async fn get_repo(
    shape: &'static Shape,
    client: &reqwest::Client,
    server: &Server,
    account: &Account,
) -> (Duration, usize) {
    let url = format!(
        "{}/xrpc/com.atproto.sync.getRepo?did={}",
        server.url, account.did
    );
    let mut times = Vec::with_capacity(shape.get_repo_runs);
    let mut size = 0;
    for _ in 0..shape.get_repo_runs {
        let one = Instant::now();
        let response = client.get(&url).send().await.expect("getRepo");
        assert!(
            response.status().is_success(),
            "getRepo: {}",
            response.status()
        );
        size = response.bytes().await.expect("getRepo body").len();
        times.push(one.elapsed());
    }
    times.sort();
    (times[shape.get_repo_runs / 2], size)
}

async fn measure(shape: &'static Shape, client: &reqwest::Client, server: &Server) -> Results {
    tokio::time::sleep(SETTLE).await;
    let rss_start_kb = rss_kb(server.pid);
    eprintln!("{}: createRecord, 1 client ...", server.name);
    let sequential = sequential(shape, client, server).await;
    eprintln!(
        "{}: createRecord, {} clients ...",
        server.name, shape.clients
    );
    let concurrent = concurrent(shape, client, server).await;
    eprintln!("{}: applyWrites x{} ...", server.name, shape.batch_size);
    let (batched, bulk) = batched(shape, client, server).await;
    eprintln!("{}: getRepo ...", server.name);
    let (get_repo, car_bytes) = get_repo(shape, client, server, &bulk).await;
    Results {
        start: server.start,
        rss_start_kb,
        sequential,
        concurrent,
        batched,
        get_repo,
        car_bytes,
        rss_after_kb: rss_kb(server.pid),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn writes(rate: &Rate, unit: &str) -> String {
    format!(
        "{:.0} {unit}/s, p50 {}, p99 {}",
        rate.per_second(),
        ms(rate.p50),
        ms(rate.p99)
    )
}

/// One table row per measurement: (what, skyhold, reference, ratio).
fn rows(shape: &'static Shape, sky: &Results, reference: Option<&Results>) -> Vec<[String; 4]> {
    let ratio = |x: f64| format!("{x:.1}x");
    let faster = |ours: f64, theirs: f64| ratio(theirs / ours);
    let mut rows = vec![
        [
            "start until `/xrpc/_health` answers".to_owned(),
            ms(sky.start),
            String::new(),
            String::new(),
        ],
        [
            "RSS after start".to_owned(),
            mb(sky.rss_start_kb),
            String::new(),
            String::new(),
        ],
        [
            "createRecord, 1 client, sequential".to_owned(),
            writes(&sky.sequential, "writes"),
            String::new(),
            String::new(),
        ],
        [
            format!(
                "createRecord, {} clients over {} accounts",
                shape.clients, shape.accounts
            ),
            writes(&sky.concurrent, "writes"),
            String::new(),
            String::new(),
        ],
        [
            format!("applyWrites in batches of {}", shape.batch_size),
            format!("{:.0} records/s", sky.batched.per_second()),
            String::new(),
            String::new(),
        ],
        [
            format!(
                "getRepo of a {}-record repo, median of {}",
                shape.batches * shape.batch_size,
                shape.get_repo_runs
            ),
            format!(
                "{} ({:.1} MB CAR)",
                ms(sky.get_repo),
                sky.car_bytes as f64 / 1e6
            ),
            String::new(),
            String::new(),
        ],
        [
            "RSS after the load".to_owned(),
            mb(sky.rss_after_kb),
            String::new(),
            String::new(),
        ],
    ];
    if let Some(r) = reference {
        let theirs = [
            (
                ms(r.start),
                format!(
                    "{} faster",
                    faster(sky.start.as_secs_f64(), r.start.as_secs_f64())
                ),
            ),
            (
                mb(r.rss_start_kb),
                format!(
                    "{:.2}x of it",
                    sky.rss_start_kb as f64 / r.rss_start_kb as f64
                ),
            ),
            (
                writes(&r.sequential, "writes"),
                ratio(sky.sequential.per_second() / r.sequential.per_second()),
            ),
            (
                writes(&r.concurrent, "writes"),
                ratio(sky.concurrent.per_second() / r.concurrent.per_second()),
            ),
            (
                format!("{:.0} records/s", r.batched.per_second()),
                ratio(sky.batched.per_second() / r.batched.per_second()),
            ),
            (
                format!(
                    "{} ({:.1} MB CAR)",
                    ms(r.get_repo),
                    r.car_bytes as f64 / 1e6
                ),
                format!(
                    "{} faster",
                    faster(sky.get_repo.as_secs_f64(), r.get_repo.as_secs_f64())
                ),
            ),
            (
                mb(r.rss_after_kb),
                format!(
                    "{:.2}x of it",
                    sky.rss_after_kb as f64 / r.rss_after_kb as f64
                ),
            ),
        ];
        for (row, (value, ratio)) in rows.iter_mut().zip(theirs) {
            row[2] = value;
            row[3] = ratio;
        }
    } else {
        for row in &mut rows {
            row[2] = "not run".to_owned();
        }
    }
    rows
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and gets the smoke run.
    let full = full_run();
    let shape = if full { &FULL } else { &SMOKE };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("HTTP client");
        eprintln!("skyhold binary: {}", skyhold_binary().display());
        let sky = {
            let server = start_skyhold(&client, "load", &[], None).await;
            eprintln!("skyhold: pid {}", server.pid);
            measure(shape, &client, &server).await
        };
        let wanted = std::env::var("SKYHOLD_LOAD_REFERENCE").map_or(true, |v| v != "0");
        let installed = if !full {
            Err("a smoke run (--test) measures skyhold only".to_owned())
        } else if wanted {
            reference_installed()
        } else {
            Err("SKYHOLD_LOAD_REFERENCE=0 skipped it".to_owned())
        };
        let reference = match installed {
            Ok(script) => {
                let server = start_reference(&client, &script).await;
                Some(measure(shape, &client, &server).await)
            }
            Err(why) => {
                println!("\nTHE REFERENCE PDS WAS NOT RUN: {why}. skyhold ran alone; no ratios.\n");
                None
            }
        };
        println!("\nmachine: {}", machine());
        println!(
            "client: reqwest over loopback HTTP/1.1, in this process, {} warm-up writes per server\n",
            shape.warmup_writes
        );
        println!("| what | skyhold | reference PDS | skyhold vs reference |");
        println!("| --- | --- | --- | --- |");
        for [what, ours, theirs, ratio] in rows(shape, &sky, reference.as_ref()) {
            println!("| {what} | {ours} | {theirs} | {ratio} |");
        }
    });
}
