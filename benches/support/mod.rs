//! What the whole-server benchmarks share: starting the skyhold binary on 127.0.0.1 with its own
//! data directory (killed by PID and removed on drop) on ports it picks and announces, free ports
//! for the reference PDS, health waits, a process's RSS, a JSON POST, and a one-line description of
//! the machine and its load. Each bench includes this with `mod support;`.

#![allow(dead_code)] // Each bench uses a different part of it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to answer `/xrpc/_health`.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The admin password of every skyhold node a bench starts.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// A server under test and how to stop it.
pub struct Server {
    pub name: &'static str,
    pub url: String,
    /// A skyhold node's relay listener, when it runs one.
    pub relay: Option<String>,
    /// The process whose RSS is reported (the PDS itself, not a helper such as a mock PLC).
    pub pid: u32,
    /// Every other process started for it, killed by PID on drop.
    pub pids: Vec<u32>,
    pub child: Option<Child>,
    pub data: PathBuf,
    /// From spawn until `/xrpc/_health` answered.
    pub start: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in &self.pids {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// A port for the reference PDS and its PLC directory, which must be told theirs up front (someone
/// may take it before they bind; skyhold instead binds port 0 and announces the port it got).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A fresh directory under the system's temp dir, unique to this process and call.
pub fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "skyhold-bench-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

pub async fn wait_for_health(client: &reqwest::Client, url: &str) {
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{url}/xrpc/_health")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "{url} did not answer /xrpc/_health within {START_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The binary cargo built for this bench (bench profile), unless `SKYHOLD_BIN` names another.
pub fn skyhold_binary() -> PathBuf {
    std::env::var_os("SKYHOLD_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_skyhold")),
        PathBuf::from,
    )
}

/// Rate limits for a load run, set as an operator would (`SKYHOLD_RATE_LIMITS`): one client on one
/// address writing tens of thousands of records measures throughput, not the limits (the reference
/// PDS it is compared with runs with its limits off).
const LOAD_RATE_LIMITS: &str =
    "global-ip=10000000/5m,repo-write-hour=10000000/1h,repo-write-day=10000000/1d";

/// Starts `skyhold serve` on a fresh data directory, with `extra` flags, on the ports it picks (read
/// from its "skyhold listening on" lines). With `cpu`, the process (every thread it starts) runs on
/// that one CPU only (`taskset`).
pub async fn start_skyhold(
    client: &reqwest::Client,
    label: &str,
    extra: &[&str],
    cpu: Option<usize>,
) -> Server {
    let data = temp_dir(label);
    let log = std::fs::File::create(data.join("server.log")).expect("log file");
    let mut command = match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["--cpu-list", &cpu.to_string()])
                .arg(skyhold_binary());
            c
        }
        None => Command::new(skyhold_binary()),
    };
    let started = Instant::now();
    command
        .args(["serve", "--data-dir"])
        .arg(data.join("data"))
        .args(["--listen", "127.0.0.1:0"]);
    if !extra.contains(&"--relay-listen") {
        command.args(["--relay-listen", "127.0.0.1:0"]);
    }
    let mut child = command
        .args(extra)
        .env("SKYHOLD_RATE_LIMITS", LOAD_RATE_LIMITS)
        .env("SKYHOLD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("starting skyhold");
    let pid = child.id();
    let (main, relay) = announced(&mut child);
    let mut server = Server {
        name: "skyhold",
        url: format!("http://{main}"),
        relay: relay.map(|relay| format!("http://{relay}")),
        pid,
        pids: Vec::new(),
        child: Some(child),
        data,
        start: Duration::ZERO,
    };
    wait_for_health(client, &server.url).await;
    server.start = started.elapsed();
    server
}

/// Reads a skyhold process's stdout until it announces its main listener; returns that address and
/// the relay's, if announced before it. The rest of its output is drained on a thread so the
/// process never blocks on a full pipe.
fn announced(child: &mut Child) -> (String, Option<String>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let (ready, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut relay = None;
        let mut lines = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok);
        for line in lines.by_ref() {
            let word = |rest: &str| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            if let Some(rest) = line.strip_prefix("skyhold relay listening on http://") {
                relay = Some(word(rest));
            } else if let Some(rest) = line.strip_prefix("skyhold listening on http://")
                && !rest.contains("(ACME")
            {
                let _ = ready.send((word(rest), relay.take()));
                break;
            }
        }
        lines.for_each(drop);
    });
    announced
        .recv_timeout(START_TIMEOUT)
        .expect("skyhold announced its listener (see server.log in its data directory)")
}

/// True when `taskset` can pin a process here.
pub fn can_pin() -> bool {
    Command::new("taskset")
        .args(["--cpu-list", "0", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// `VmRSS` of a process, in kB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// POSTs JSON and returns the JSON answer (null for an empty body); any failure ends the bench with the server's words.
pub async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{url}: {status} {text}");
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).expect("JSON response")
}

pub fn mb(kb: u64) -> String {
    format!("{:.0} MiB", kb as f64 / 1024.0)
}

/// One line naming the CPU, its core count and the kernel.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({model}), Linux {}", kernel.trim())
}

/// The load average over 1, 5 and 15 minutes (`/proc/loadavg`): how busy the shared machine was.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cargo bench` passes `--bench`; `cargo test --benches` and `-- --test` get the smoke run.
pub fn full_run() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}
