//! Relay throughput: how many events per second the relay verifies and re-serves on one core, and
//! how it fans them out to 100 subscribers.
//!
//! Run with `cargo bench --bench relay` (`-- --test` for a smoke run of a few seconds). Two skyhold
//! nodes on 127.0.0.1:
//!
//! - **B**, the source: a PDS whose accounts make many small commits (one `createRecord` each)
//!   before anyone crawls it. Its embedded PLC directory holds the accounts.
//! - **A**, the relay under test, started with `taskset` on CPU 0 only (every thread of the process:
//!   tokio workers, the redb writer, the blocking pool), reading identities from B's directory.
//!
//! Phases:
//!
//! 1. **ingest**: one subscriber on A's relay stream; `requestCrawl` names B; A's relay replays B's
//!    whole log from cursor 0, verifying each `#commit` (signature, MST inversion against the
//!    covering proof, `prevData`, rev order), storing it, re-sequencing it and serving it. Timed from
//!    `requestCrawl` until the subscriber holds B's last commit: verified events per second.
//! 2. **live fan-out**: a fresh A with 100 subscribers connected before the crawl: the same, while
//!    every verified event goes to 100 sockets. Reported: when the first and the last subscriber
//!    held the last commit.
//! 3. **replay fan-out**: 100 new subscribers on that A ask for `cursor=0` at once: frames and bytes
//!    per second served from the relay's log.
//!
//! plus A's RSS after each phase and the relay's drop counters (all zero in a healthy run). One
//! subscriber decodes every frame to find B's last commit; the others only count frames and note
//! arrival times, so the bench's own CPU stays small. Without `taskset` A runs unpinned and the
//! output says so. Servers are killed by PID at the end, their data directories removed.
//!
//! This prints numbers; it asserts nothing about them (STYLE.md: no timing assertions).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use skyhold::core::firehose::{Frame, Message, decode_frame};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use support::{
    ADMIN_PASSWORD, Server, can_pin, full_run, machine, mb, post, rss_kb, start_skyhold,
};

/// The size of the run.
struct Shape {
    accounts: usize,
    posts_per_account: usize,
    writers: usize,
    subscribers: usize,
}

/// 20,000 commits from 100 accounts; 100 subscribers.
const FULL: Shape = Shape {
    accounts: 100,
    posts_per_account: 200,
    writers: 16,
    subscribers: 100,
};

/// A few seconds (`cargo test --benches`, `-- --test`).
const SMOKE: Shape = Shape {
    accounts: 4,
    posts_per_account: 10,
    writers: 4,
    subscribers: 5,
};

/// The CPU the relay under test is pinned to.
const RELAY_CPU: usize = 0;
/// No phase takes longer than this; past it the bench stops and says how far it got.
const PHASE_LIMIT: Duration = Duration::from_secs(600);

const PASSWORD: &str = "relay-bench-password-long";

/// The commit every subscriber waits for: B's last write.
#[derive(Clone)]
struct LastCommit {
    did: String,
    rev: String,
}

/// What one subscriber saw: the arrival time of each frame, and the bytes.
#[derive(Default)]
struct Received {
    arrivals: Vec<Instant>,
    bytes: u64,
}

/// What the decoding subscriber learned about the stream.
#[derive(Default)]
struct Decoded {
    commits: u64,
    /// Frames up to and including B's last commit (every subscriber's target).
    frames_to_last: Option<usize>,
}

async fn create_account(client: &reqwest::Client, b: &Server, n: usize) -> (String, String) {
    let answer = post(
        client,
        &format!("{}/xrpc/com.atproto.server.createAccount", b.url),
        None,
        &json!({"handle": format!("user{n}.test"), "email": format!("user{n}@example.com"),
                "password": PASSWORD}),
    )
    .await;
    (
        answer["did"].as_str().expect("did").to_owned(),
        answer["accessJwt"].as_str().expect("accessJwt").to_owned(),
    )
}

async fn create_post(
    client: &reqwest::Client,
    b: &str,
    did: &str,
    token: &str,
    n: usize,
) -> String {
    let answer = post(
        client,
        &format!("{b}/xrpc/com.atproto.repo.createRecord"),
        Some(token),
        &json!({"repo": did, "collection": "app.bsky.feed.post",
                "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-24T00:00:00.000Z",
                           "langs": ["en"],
                           "text": format!("relay bench post {n}: a message of ordinary length")}}),
    )
    .await;
    answer["commit"]["rev"]
        .as_str()
        .expect("commit.rev")
        .to_owned()
}

/// Fills B: every account writes its posts, round-robin over `writers` concurrent clients, then
/// account 0 writes once more; that last commit is what the subscribers wait for.
async fn populate(shape: &Shape, client: &reqwest::Client, b: &Server) -> (LastCommit, u64) {
    let mut accounts = Vec::new();
    for n in 0..shape.accounts {
        accounts.push(create_account(client, b, n).await);
    }
    let accounts = Arc::new(accounts);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..shape.writers {
        let (client, accounts) = (client.clone(), accounts.clone());
        let url = b.url.clone();
        let posts = shape.posts_per_account;
        let writers = shape.writers;
        tasks.push(tokio::spawn(async move {
            for (index, (did, token)) in accounts.iter().enumerate() {
                if index % writers != writer {
                    continue;
                }
                for n in 0..posts {
                    create_post(&client, &url, did, token, n).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let (did, token) = &accounts[0];
    let rev = create_post(client, &b.url, did, token, usize::MAX).await;
    let writes = (shape.accounts * shape.posts_per_account + 1) as u64;
    eprintln!(
        "B: {} accounts, {writes} createRecord commits in {:.1} s",
        shape.accounts,
        started.elapsed().as_secs_f64()
    );
    (
        LastCommit {
            did: did.clone(),
            rev,
        },
        writes,
    )
}

/// Starts the relay under test: its own data directory, B's PLC directory, pinned when possible.
async fn start_relay(client: &reqwest::Client, b: &Server, pinned: bool) -> (Server, String) {
    let plc = format!("{}/plc", b.url.replace("127.0.0.1", "localhost"));
    let a = start_skyhold(
        client,
        "relay-a",
        &["--plc-url", &plc],
        pinned.then_some(RELAY_CPU),
    )
    .await;
    let relay = a.relay.clone().expect("a relay listener");
    (a, relay)
}

/// One subscriber until it has received `target` frames (known once the decoder finds the last
/// commit) or the phase limit passes. With `decoded`, it also decodes every frame to find that target.
async fn subscribe(
    url: String,
    last: LastCommit,
    target: watch::Sender<Option<usize>>,
    decoded: Option<Arc<std::sync::Mutex<Decoded>>>,
) -> Received {
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("subscribing to the relay");
    let mut received = Received::default();
    let mut wanted = target.subscribe();
    let deadline = tokio::time::Instant::now() + PHASE_LIMIT;
    loop {
        if let Some(n) = *wanted.borrow_and_update()
            && received.arrivals.len() >= n
        {
            return received;
        }
        let next = tokio::select! {
            next = socket.next() => next,
            _ = wanted.changed() => continue,
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("a subscriber stopped at the phase limit after {} frames", received.arrivals.len());
                return received;
            }
        };
        let bytes = match next {
            Some(Ok(WsMessage::Binary(bytes))) => bytes,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("relay stream failed: {e}"),
            None => panic!(
                "relay stream closed after {} frames",
                received.arrivals.len()
            ),
        };
        received.arrivals.push(Instant::now());
        received.bytes += bytes.len() as u64;
        let Some(decoded) = &decoded else { continue };
        if let Ok(Frame::Message(Message::Commit(commit))) = decode_frame(&bytes) {
            let mut decoded = decoded.lock().expect("decoded");
            decoded.commits += 1;
            if commit.repo == last.did && commit.rev == last.rev {
                decoded.frames_to_last = Some(received.arrivals.len());
                let _ = target.send(Some(received.arrivals.len()));
            }
        }
    }
}

/// What one phase measured.
struct Phase {
    /// `#commit` frames up to B's last commit.
    commits: u64,
    frames: usize,
    /// When each subscriber held the last commit, from the phase's start.
    done: Vec<Duration>,
    bytes_per_subscriber: u64,
}

impl Phase {
    fn first(&self) -> Duration {
        self.done.iter().copied().min().unwrap_or_default()
    }
    fn last(&self) -> Duration {
        self.done.iter().copied().max().unwrap_or_default()
    }
}

/// Connects `count` subscribers to `url`, runs `start` once they are connected, and waits until
/// every one has received the frames up to B's last commit. The clock starts at `start`, or, for a
/// replay (`start` is `None`), before the first subscriber connects.
async fn run_phase<F: std::future::Future<Output = ()>>(
    url: &str,
    count: usize,
    last: &LastCommit,
    start: Option<impl FnOnce() -> F>,
) -> Phase {
    let mut started = Instant::now();
    let (target, _) = watch::channel(None);
    let decoded = Arc::new(std::sync::Mutex::new(Decoded::default()));
    let mut subscribers = Vec::new();
    for i in 0..count {
        let decoder = (i == 0).then(|| decoded.clone());
        subscribers.push(tokio::spawn(subscribe(
            url.to_owned(),
            last.clone(),
            target.clone(),
            decoder,
        )));
    }
    if let Some(start) = start {
        // Let every socket finish its handshake before the clock starts.
        tokio::time::sleep(Duration::from_millis(500)).await;
        started = Instant::now();
        start().await;
    }
    let mut done = Vec::new();
    let mut bytes = 0;
    for subscriber in subscribers {
        let received = subscriber.await.expect("subscriber task");
        let frames = decoded
            .lock()
            .expect("decoded")
            .frames_to_last
            .unwrap_or(received.arrivals.len());
        if let Some(at) = received.arrivals.get(frames.saturating_sub(1)) {
            done.push(at.saturating_duration_since(started));
        }
        bytes = bytes.max(received.bytes);
    }
    let decoded = decoded.lock().expect("decoded");
    Phase {
        commits: decoded.commits,
        frames: decoded.frames_to_last.unwrap_or(0),
        done,
        bytes_per_subscriber: bytes,
    }
}

async fn request_crawl(client: &reqwest::Client, relay: &str, b: &Server) {
    let host = b
        .url
        .trim_start_matches("http://")
        .replace("127.0.0.1", "localhost");
    post(
        client,
        &format!("{relay}/xrpc/com.atproto.sync.requestCrawl"),
        None,
        &json!({"hostname": host}),
    )
    .await;
}

/// The relay's drop counters, compact.
async fn drops(client: &reqwest::Client, relay: &str) -> String {
    let stats: Value = match client
        .get(format!("{relay}/admin/stats"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
    {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(e) => return format!("stats unavailable: {e}"),
    };
    let dropped = stats
        .get("dropped")
        .or_else(|| stats.get("drops"))
        .cloned()
        .unwrap_or(stats);
    dropped.to_string()
}

fn per_second(count: f64, elapsed: Duration) -> String {
    format!("{:.0}/s", count / elapsed.as_secs_f64().max(1e-9))
}

fn main() {
    let shape = if full_run() { &FULL } else { &SMOKE };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("HTTP client");
        let pinned = can_pin();
        if !pinned {
            println!("\nTASKSET IS NOT AVAILABLE: the relay runs on every core, not on one.\n");
        }
        let b = start_skyhold(&client, "relay-b", &[], None).await;
        let (last, writes) = populate(shape, &client, &b).await;

        // 1. Ingest with one subscriber.
        let (a, relay) = start_relay(&client, &b, pinned).await;
        let ingest = run_phase(&stream_of(&relay), 1, &last, Some(|| request_crawl(&client, &relay, &b))).await;
        let ingest_rss = rss_kb(a.pid);
        let ingest_drops = drops(&client, &relay).await;
        drop(a);

        // 2. Live fan-out: a fresh relay, its subscribers connected before the crawl.
        let (a, relay) = start_relay(&client, &b, pinned).await;
        let live = run_phase(
            &stream_of(&relay),
            shape.subscribers,
            &last,
            Some(|| request_crawl(&client, &relay, &b)),
        )
        .await;
        let live_rss = rss_kb(a.pid);
        let live_drops = drops(&client, &relay).await;

        // 3. Replay fan-out from that relay's log.
        let replay_url = format!("{}?cursor=0", stream_of(&relay));
        let replay = run_phase(
            &replay_url,
            shape.subscribers,
            &last,
            None::<fn() -> std::future::Ready<()>>,
        )
        .await;
        let replay_rss = rss_kb(a.pid);
        drop(a);
        drop(b);

        println!("\nmachine: {}", machine());
        println!(
            "relay under test: {}; source: {} accounts, {writes} commits (one createRecord each)\n",
            if pinned {
                format!("pinned to CPU {RELAY_CPU} (taskset)")
            } else {
                "unpinned".to_owned()
            },
            shape.accounts
        );
        println!("| phase | commits | time | verified commits/s | frames served/s | relay RSS |");
        println!("| --- | --- | --- | --- | --- | --- |");
        let n = shape.subscribers;
        println!(
            "| ingest, 1 subscriber | {} | {:.2} s | {} | {} | {} |",
            ingest.commits,
            ingest.last().as_secs_f64(),
            per_second(ingest.commits as f64, ingest.last()),
            per_second(ingest.frames as f64, ingest.last()),
            mb(ingest_rss)
        );
        println!(
            "| ingest, {n} live subscribers (first / last done) | {} | {:.2} s / {:.2} s | {} | {} | {} |",
            live.commits,
            live.first().as_secs_f64(),
            live.last().as_secs_f64(),
            per_second(live.commits as f64, live.last()),
            per_second((live.frames * live.done.len()) as f64, live.last()),
            mb(live_rss)
        );
        println!(
            "| replay from cursor 0, {n} subscribers | {} | {:.2} s | — | {} ({} MiB/s) | {} |",
            replay.commits,
            replay.last().as_secs_f64(),
            per_second((replay.frames * replay.done.len()) as f64, replay.last()),
            (replay.bytes_per_subscriber as f64 * replay.done.len() as f64
                / 1_048_576.0
                / replay.last().as_secs_f64().max(1e-9))
            .round(),
            mb(replay_rss)
        );
        // A repo's first sight triggers a backfill (getRepo); the commits that snapshot already holds
        // then arrive from the replay and are skipped as `rev_not_newer`, about one per account.
        println!("\nrelay drops (ingest): {ingest_drops}");
        println!("relay drops (live fan-out): {live_drops}");
        if ingest.done.len() != 1 || live.done.len() != n || replay.done.len() != n {
            println!("\nNOT EVERY SUBSCRIBER RECEIVED B'S LAST COMMIT: the figures are incomplete.");
        }
    });
}

fn stream_of(relay: &str) -> String {
    format!(
        "{}/xrpc/com.atproto.sync.subscribeRepos",
        relay.replace("http://", "ws://")
    )
}
