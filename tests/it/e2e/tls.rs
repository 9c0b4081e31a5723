//! TLS end to end, through the real binary, against Debian's pebble (a test ACME CA, RFC 8555) and
//! pebble-challtestsrv (its fake DNS, answering every name with 127.0.0.1):
//!
//! - a certificate by HTTP-01 and one by TLS-ALPN-01 (RFC 8737), each verified by a client that
//!   trusts only pebble's issuing root, and the port-80 redirect;
//! - a restart serves the stored certificate without a new order;
//! - certificates on demand for an existing handle, none (handshake failure, no order) for an
//!   unknown name; handle hosts serve only `/.well-known/atproto-did`;
//! - renewal of short-lived certificates, and the old certificate kept (and the failure shown in the
//!   admin status) when the CA is gone;
//! - a handle wildcard through the DNS-01 hook;
//! - the operator's own certificate files instead of ACME.
//!
//! pebble's own HTTPS certificate comes from a throwaway CA made here with rcgen (Debian's package
//! ships none). Orders are counted in pebble's log ("Added order") and in skyhold's admin status.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{ChildGuard, Node, TempDir, free_port, http};

const HOST: &str = "node.test";
/// Every test ends within this, passed or failed.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a certificate may take to appear.
const ISSUE_TIMEOUT: Duration = Duration::from_secs(60);

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The two ports pebble validates on, which are skyhold's HTTPS and HTTP listeners. These are the
/// only skyhold ports a test picks before the node starts (its `--listen` port comes from the
/// binary): the node's public URL names the HTTPS port, and pebble must be configured with both
/// before any order, so they cannot wait for the node's readiness line.
struct Ports {
    http: u16,
    https: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            http: free_port(),
            https: free_port(),
        }
    }
}

struct Pebble {
    dir: TempDir,
    directory_url: String,
    challtestsrv_url: String,
    listener_ca: PathBuf,
    /// pebble's issuing root (new at every pebble start), PEM.
    root_pem: Vec<u8>,
    children: Vec<ChildGuard>,
}

impl Pebble {
    /// Starts pebble-challtestsrv and pebble; certificates last `validity` when given.
    async fn start(ports: &Ports, validity: Option<u64>) -> Pebble {
        for tool in ["pebble", "pebble-challtestsrv"] {
            assert!(
                installed(tool),
                "{tool} is not installed: run tests/run-all.sh, which installs Debian's pebble package"
            );
        }
        let dir = TempDir::new("pebble");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "skyhold test listener CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let listener_ca = dir.0.join("listener-ca.pem");
        std::fs::write(&listener_ca, ca_cert.pem()).unwrap();
        std::fs::write(dir.0.join("localhost.pem"), cert.pem()).unwrap();
        std::fs::write(dir.0.join("localhost.key"), key.serialize_pem()).unwrap();

        // pebble and its DNS server take their ports from their configuration and print none.
        let (acme, management, dns, challtest) =
            (free_port(), free_port(), free_port(), free_port());
        let mut config = json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.0.join("localhost.pem"),
            "privateKey": dir.0.join("localhost.key"),
            "httpPort": ports.http,
            "tlsPort": ports.https,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        if let Some(seconds) = validity {
            config["pebble"]["certificateValidityPeriod"] = json!(seconds);
        }
        let config_path = dir.0.join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();

        let log = |name: &str| std::fs::File::create(dir.0.join(name)).unwrap();
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{challtest}")])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pebble-challtestsrv");
        let mut children = vec![ChildGuard(challtestsrv)];
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            // Deterministic runs: no rejected nonces, and every order validates afresh.
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("starting pebble");
        children.push(ChildGuard(pebble));

        let ca_pem = std::fs::read(&listener_ca).unwrap();
        let client = client_trusting(&ca_pem, &[]);
        let directory_url = format!("https://127.0.0.1:{acme}/dir");
        let start = Instant::now();
        while client.get(&directory_url).send().await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "pebble did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let root_pem = client
            .get(format!("https://127.0.0.1:{management}/roots/0"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        assert!(root_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
        Pebble {
            dir,
            directory_url,
            challtestsrv_url: format!("127.0.0.1:{challtest}"),
            listener_ca,
            root_pem,
            children,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("pebble.log")).unwrap_or_default()
    }

    /// Orders pebble has received.
    fn orders(&self) -> usize {
        self.log().matches("Added order").count()
    }

    /// Stops pebble and its DNS (kills the processes this test started, by PID).
    fn stop(&mut self) {
        self.children.clear();
    }
}

/// A client that trusts only `root_pem`, connects every name in `names` to 127.0.0.1, and does not
/// follow redirects.
fn client_trusting(root_pem: &[u8], names: &[&str]) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(root_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    for name in names {
        builder = builder.resolve(name, SocketAddr::from(([127, 0, 0, 1], 0)));
    }
    builder.build().unwrap()
}

/// Starts (or restarts) a node on `data` whose public URL is `https://node.test:<https port>`,
/// with ACME against `pebble`.
async fn start_node(data: &Path, pebble: &Pebble, ports: &Ports, extra: &[&str]) -> Node {
    let public = format!("https://{HOST}:{}", ports.https);
    let mut flags: Vec<String> = vec![
        "--public-url".into(),
        public.clone(),
        "--plc-url".into(),
        format!("{public}/plc"),
        "--invite-required".into(),
        "false".into(),
        "--https-listen".into(),
        format!("127.0.0.1:{}", ports.https),
        "--acme-directory".into(),
        pebble.directory_url.clone(),
        "--acme-ca-root".into(),
        pebble.listener_ca.display().to_string(),
        "--acme-email".into(),
        "ops@example.com".into(),
        // The real network's relay is never told about a test node.
        "--crawlers".into(),
        "none".into(),
    ];
    if !extra.contains(&"--http-listen") {
        flags.extend(["--http-listen".into(), format!("127.0.0.1:{}", ports.http)]);
    }
    flags.extend(extra.iter().map(|s| (*s).to_owned()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Node::start_in(data, 0, &flags).await
}

/// The certificates as the admin console shows them (`blue.skyhold.admin.getTlsStatus`), after
/// checking that the operator route `/admin/tls` (the CLI's) answers too.
async fn tls_status(node: &Node) -> Value {
    let mut answers = Vec::new();
    for path in ["/admin/tls", "/xrpc/blue.skyhold.admin.getTlsStatus"] {
        let response = http()
            .get(format!("{}{path}", node.url))
            .basic_auth("admin", Some(&node.admin_password))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let status: Value = response.json().await.unwrap();
        assert!(status["certificates"].is_array(), "{path}: {status}");
        answers.push(status);
    }
    answers.pop().unwrap()
}

fn certificate<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["certificates"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

/// Waits until the admin status shows a certificate for `name` that `accept` likes.
async fn wait_for_certificate(node: &Node, name: &str, accept: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let status = tls_status(node).await;
        if let Some(cert) = certificate(&status, name)
            && accept(cert)
        {
            return cert.clone();
        }
        assert!(
            start.elapsed() < ISSUE_TIMEOUT,
            "no suitable certificate for {name}: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:?}"))
}

async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("the test took too long");
}

#[tokio::test]
async fn http01_certificate_serves_verified_https_and_a_restart_reuses_it() {
    bounded(async {
        let ports = Ports::new();
        let pebble = Pebble::start(&ports, None).await;
        let dir = TempDir::new("tls-http01");
        let data = dir.0.join("data");
        let mut node = start_node(&data, &pebble, &ports, &[]).await;

        let cert = wait_for_certificate(&node, HOST, |_| true).await;
        assert_eq!(cert["source"], "http-01");
        assert!(
            pebble.log().contains("Attempting to validate w/ HTTP"),
            "pebble did not validate over HTTP:\n{}",
            pebble.log()
        );
        let client = client_trusting(&pebble.root_pem, &[HOST]);
        let base = format!("https://{HOST}:{}", ports.https);
        let response = get(&client, &format!("{base}/xrpc/_health")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), reqwest::Version::HTTP_2);

        // Port 80 answers challenges only; everything else goes to HTTPS, path kept.
        let response = get(
            &client,
            &format!("http://{HOST}:{}/xrpc/_health?x=1", ports.http),
        )
        .await;
        assert_eq!(response.status(), 308);
        assert_eq!(
            response.headers()["location"],
            format!("{base}/xrpc/_health?x=1")
        );
        let missing = get(
            &client,
            &format!(
                "http://{HOST}:{}/.well-known/acme-challenge/nope",
                ports.http
            ),
        )
        .await;
        assert_eq!(missing.status(), 404);

        let status = tls_status(&node).await;
        assert_eq!(status["ordersPlaced"], 1, "{status:#}");
        assert_eq!(pebble.orders(), 1);

        // A restart serves the stored certificate: no order, same serial, HTTPS still verified.
        // (The client goes first: its HTTP/2 connection would otherwise hold up the shutdown.)
        let serial = cert["serial"].clone();
        drop(client);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _keep = node.keep_data();
        assert!(node.terminate().is_some_and(|s| s.success()));
        let node = start_node(&data, &pebble, &ports, &[]).await;
        let client = client_trusting(&pebble.root_pem, &[HOST]);
        let response = get(&client, &format!("{base}/xrpc/_health")).await;
        assert_eq!(response.status(), 200);
        let status = tls_status(&node).await;
        assert_eq!(status["ordersPlaced"], 0, "{status:#}");
        assert_eq!(certificate(&status, HOST).unwrap()["serial"], serial);
        assert_eq!(pebble.orders(), 1, "the restart placed an order");
    })
    .await;
}

#[tokio::test]
async fn tls_alpn01_certificate_when_only_port_443_is_open() {
    bounded(async {
        let ports = Ports::new();
        let pebble = Pebble::start(&ports, None).await;
        let dir = TempDir::new("tls-alpn");
        let node = start_node(
            &dir.0.join("data"),
            &pebble,
            &ports,
            &["--http-listen", "off"],
        )
        .await;

        let cert = wait_for_certificate(&node, HOST, |_| true).await;
        assert_eq!(cert["source"], "tls-alpn-01");
        // Nothing listens on pebble's HTTP-01 port and no TXT record exists, so the completed
        // challenge can only be the TLS-ALPN-01 one answered on the HTTPS listener.
        assert!(
            pebble.log().contains("set VALID by completed challenge"),
            "pebble validated nothing:\n{}",
            pebble.log()
        );
        let client = client_trusting(&pebble.root_pem, &[HOST]);
        let response = get(
            &client,
            &format!("https://{HOST}:{}/xrpc/_health", ports.https),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert!(
            reqwest::Client::new()
                .get(format!("http://127.0.0.1:{}/", ports.http))
                .send()
                .await
                .is_err(),
            "port 80 should not be bound"
        );
    })
    .await;
}

#[tokio::test]
async fn certificates_on_demand_only_for_existing_handles() {
    bounded(async {
        let ports = Ports::new();
        let pebble = Pebble::start(&ports, None).await;
        let dir = TempDir::new("tls-on-demand");
        let node = start_node(&dir.0.join("data"), &pebble, &ports, &[]).await;
        let account: Value = http()
            .post(node.xrpc("com.atproto.server.createAccount"))
            .json(&json!({"handle": "alice.node.test", "email": "alice@example.com", "password": "alice-password"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let did = account["did"].as_str().expect("createAccount").to_owned();
        wait_for_certificate(&node, HOST, |_| true).await;
        let orders_before = pebble.orders();

        let client = client_trusting(&pebble.root_pem, &["alice.node.test", "bob.node.test", "evil.example", HOST]);
        let alice = format!("https://alice.node.test:{}", ports.https);
        // The first handshake for an existing handle waits for its certificate.
        let response = get(&client, &format!("{alice}/.well-known/atproto-did")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), did);
        let cert = wait_for_certificate(&node, "alice.node.test", |_| true).await;
        assert_eq!(cert["onDemand"], true);
        assert_eq!(pebble.orders(), orders_before + 1);
        // Handle hosts serve nothing else: the rest goes to the main hostname.
        let response = get(&client, &format!("{alice}/xrpc/_health")).await;
        assert_eq!(response.status(), 308);
        assert_eq!(
            response.headers()["location"],
            format!("https://{HOST}:{}/xrpc/_health", ports.https)
        );

        // Unknown handles and foreign names: the handshake fails and no order is placed.
        for url in [
            format!("https://bob.node.test:{}/.well-known/atproto-did", ports.https),
            format!("https://evil.example:{}/", ports.https),
        ] {
            let error = client.get(&url).send().await.expect_err(&url);
            assert!(error.is_connect(), "{url}: {error:?}");
        }
        assert_eq!(pebble.orders(), orders_before + 1, "an order was placed for an unknown name");
        let status = tls_status(&node).await;
        assert!(certificate(&status, "bob.node.test").is_none(), "{status:#}");
        // The main hostname still works after the refusals.
        let response = get(&client, &format!("https://{HOST}:{}/xrpc/_health", ports.https)).await;
        assert_eq!(response.status(), 200);
    })
    .await;
}

/// M8 of the security review: each handle change names a new host, and each new name spends one of
/// the CA's weekly new names; one account may order at most three a week, so it cannot spend
/// everyone's budget.
#[tokio::test]
async fn one_account_cannot_spend_the_weekly_budget_of_new_names() {
    bounded(async {
        let ports = Ports::new();
        let pebble = Pebble::start(&ports, None).await;
        let dir = TempDir::new("tls-handle-budget");
        let node = start_node(&dir.0.join("data"), &pebble, &ports, &[]).await;
        let account: Value = http()
            .post(node.xrpc("com.atproto.server.createAccount"))
            .json(&json!({"handle": "dana.node.test", "email": "dana@example.com", "password": "dana-password"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = account["accessJwt"].as_str().expect("createAccount").to_owned();
        wait_for_certificate(&node, HOST, |_| true).await;
        let orders_before = pebble.orders();
        let names = ["dana.node.test", "dana1.node.test", "dana2.node.test", "dana3.node.test"];
        let client = client_trusting(&pebble.root_pem, &names);
        for (n, name) in names.iter().enumerate() {
            if n > 0 {
                let status = http()
                    .post(node.xrpc("com.atproto.identity.updateHandle"))
                    .bearer_auth(&token)
                    .json(&json!({"handle": name}))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 200, "updateHandle {name}");
            }
            let url = format!("https://{name}:{}/.well-known/atproto-did", ports.https);
            if n < 3 {
                assert_eq!(get(&client, &url).await.status(), 200, "{name}");
            } else {
                let error = client.get(&url).send().await.expect_err(&url);
                assert!(error.is_connect(), "{url}: {error:?}");
            }
        }
        assert_eq!(
            pebble.orders(),
            orders_before + 3,
            "a fourth name of one account was ordered in the same week"
        );
    })
    .await;
}

#[tokio::test]
async fn short_lived_certificates_are_renewed_and_kept_while_renewal_fails() {
    bounded(async {
        let ports = Ports::new();
        // 30-second certificates: renewal is due 20 s after issuance (two thirds, as pebble offers
        // no renewal information).
        let mut pebble = Pebble::start(&ports, Some(30)).await;
        let dir = TempDir::new("tls-renew");
        let node = start_node(&dir.0.join("data"), &pebble, &ports, &[]).await;
        let client = client_trusting(&pebble.root_pem, &[HOST]);
        let url = format!("https://{HOST}:{}/xrpc/_health", ports.https);

        let first = wait_for_certificate(&node, HOST, |_| true).await;
        let renewed = wait_for_certificate(&node, HOST, |c| c["serial"] != first["serial"]).await;
        assert!(renewed["notAfter"].as_str() > first["notAfter"].as_str());
        assert_eq!(get(&client, &url).await.status(), 200);
        assert!(pebble.orders() >= 2);

        // The CA goes away: the next renewal fails, the admin status says so, and the current
        // certificate is still served.
        pebble.stop();
        let start = Instant::now();
        let failed = loop {
            let status = tls_status(&node).await;
            let cert = certificate(&status, HOST).unwrap().clone();
            if !cert["renewalFailure"].is_null() {
                break cert;
            }
            assert!(
                start.elapsed() < ISSUE_TIMEOUT,
                "no renewal failure shown: {status:#}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(failed["serial"], renewed["serial"]);
        assert_eq!(failed["renewalFailure"]["failures"], 1);
        assert!(
            failed["renewalFailure"]["lastError"]
                .as_str()
                .unwrap()
                .contains("ACME")
        );
        assert_eq!(get(&client, &url).await.status(), 200);
    })
    .await;
}

/// The DNS-01 hook for tests: publishes TXT records in pebble-challtestsrv's fake DNS through its
/// management API, and notes every call.
fn write_hook(dir: &Path, challtestsrv: &str) -> PathBuf {
    let (host, port) = challtestsrv.split_once(':').unwrap();
    let script = format!(
        r#"#!/bin/bash
set -eu
echo "$1 $2" >> "{calls}"
case "$1" in
  set) path=/set-txt; body="{{\"host\":\"$2.\",\"value\":\"$3\"}}" ;;
  clear) path=/clear-txt; body="{{\"host\":\"$2.\"}}" ;;
  *) exit 2 ;;
esac
exec 3<>/dev/tcp/{host}/{port}
printf 'POST %s HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$path" "${{#body}}" "$body" >&3
read -r status <&3
case "$status" in *" 200 "*) exit 0 ;; *) echo "challtestsrv said: $status" >&2; exit 1 ;; esac
"#,
        calls = dir.join("hook-calls.log").display(),
    );
    let hook = dir.join("dns01-hook.sh");
    std::fs::write(&hook, script).unwrap();
    let mut permissions = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&hook, permissions).unwrap();
    hook
}

#[tokio::test]
async fn handle_wildcard_through_the_dns01_hook() {
    bounded(async {
        let ports = Ports::new();
        let pebble = Pebble::start(&ports, None).await;
        let dir = TempDir::new("tls-wildcard");
        let hook = write_hook(&dir.0, &pebble.challtestsrv_url);
        let hook = hook.display().to_string();
        let node = start_node(
            &dir.0.join("data"),
            &pebble,
            &ports,
            &["--handle-certs", "wildcard", "--dns01-hook", &hook],
        )
        .await;

        let cert = wait_for_certificate(&node, "*.node.test", |_| true).await;
        assert_eq!(cert["source"], "dns-01");
        let calls = std::fs::read_to_string(dir.0.join("hook-calls.log")).unwrap();
        assert!(calls.contains("set _acme-challenge.node.test"), "{calls}");
        assert!(calls.contains("clear _acme-challenge.node.test"), "{calls}");
        // Any handle host is covered by the wildcard, without an order of its own.
        wait_for_certificate(&node, HOST, |_| true).await;
        let orders = pebble.orders();
        let client = client_trusting(&pebble.root_pem, &["carol.node.test"]);
        let response = get(
            &client,
            &format!(
                "https://carol.node.test:{}/.well-known/atproto-did",
                ports.https
            ),
        )
        .await;
        assert_eq!(response.status(), 404);
        assert_eq!(pebble.orders(), orders);
    })
    .await;
}

#[tokio::test]
async fn operator_certificate_files_instead_of_acme() {
    bounded(async {
        let dir = TempDir::new("tls-files");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![HOST.into(), format!("*.{HOST}")])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let (cert_path, key_path) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();

        let ports = Ports::new();
        let public = format!("https://{HOST}:{}", ports.https);
        let node = Node::start_in(
            &dir.0.join("data"),
            0,
            &[
                "--public-url",
                &public,
                "--plc-url",
                &format!("{public}/plc"),
                "--crawlers",
                "none",
                "--tls",
                "files",
                "--tls-cert",
                &cert_path.display().to_string(),
                "--tls-key",
                &key_path.display().to_string(),
                "--https-listen",
                &format!("127.0.0.1:{}", ports.https),
                "--http-listen",
                &format!("127.0.0.1:{}", ports.http),
            ],
        )
        .await;
        let client = client_trusting(ca_cert.pem().as_bytes(), &[HOST]);
        let response = get(&client, &format!("{public}/xrpc/_health")).await;
        assert_eq!(response.status(), 200);
        let response = get(&client, &format!("http://{HOST}:{}/", ports.http)).await;
        assert_eq!(response.status(), 308);
        let status = tls_status(&node).await;
        assert_eq!(status["mode"], "files");
        assert_eq!(status["ordersPlaced"], 0);
    })
    .await;
}
