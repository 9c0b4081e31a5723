//! The security review's findings (`../shared/research/security-review.md`, H1–H6, M1–M8, L1–L6),
//! each as a test against the real binary that failed on the reviewed main and passes now:
//! outbound fetches (`outbound`), rate limits and the login storm (`limits`), credentials and
//! scopes (`scopes`), connections (`connections`), the store and secrets at rest (`store`), and the
//! relay's admission and budgets (`relay`).
//!
//! Production behaviour needs a production configuration: [`production_node`] starts one with an
//! https public URL, TLS off (as behind a reverse proxy) and the embedded PLC directory at its own
//! public URL, so no test leaves the machine.

mod connections;
mod limits;
mod outbound;
mod relay;
mod scopes;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use skyhold::core::crypto::{Algorithm, Keypair};
use skyhold::core::plc::{self, Service, UnsignedOperation, UnsignedPlcOperation};

use crate::harness::Node;
use crate::xrpc::Xrpc;

/// The public URL of production test nodes (never resolved: nothing is fetched from it).
pub const PUBLIC_HOST: &str = "pds.example.test";

/// A node in production mode: https public URL, TLS off, invites required, the embedded PLC
/// directory at its own public URL, no crawlers (the real network's relay is never told about a
/// test node), every other setting as a user would have it.
pub async fn production_node(extra: &[&str]) -> Node {
    let public_url = format!("https://{PUBLIC_HOST}");
    let plc_url = format!("{public_url}/plc");
    let mut args = vec![
        "--public-url",
        public_url.as_str(),
        "--tls",
        "off",
        "--plc-url",
        plc_url.as_str(),
        "--crawlers",
        "none",
    ];
    args.extend_from_slice(extra);
    Node::start(&args).await
}

/// An account on a production node (invite from the admin); returns (DID, access token).
pub async fn production_account(xrpc: &Xrpc, name: &str) -> (String, String) {
    let (status, invite) = xrpc
        .admin_post(
            "/xrpc/com.atproto.server.createInviteCode",
            json!({"useCount": 1}),
        )
        .await;
    assert_eq!(status, 200, "{invite}");
    let handle = format!("{name}.{PUBLIC_HOST}");
    let (status, body) = xrpc
        .post(
            "com.atproto.server.createAccount",
            None,
            json!({"handle": handle, "email": format!("{name}@example.com"),
                   "password": "correct horse battery", "inviteCode": invite["code"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["did"].as_str().unwrap().to_owned(),
        body["accessJwt"].as_str().unwrap().to_owned(),
    )
}

/// Registers a did:plc in the node's embedded directory whose document names `services`
/// (id, type, endpoint): a DID anyone could create, pointing wherever they like.
pub async fn did_with_services(xrpc: &Xrpc, services: &[(&str, &str, &str)]) -> String {
    let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
    let did_key = key.public_key().to_did_key();
    let op = UnsignedOperation::Plc(UnsignedPlcOperation {
        rotation_keys: vec![did_key.clone()],
        verification_methods: [("atproto".to_owned(), did_key)].into(),
        also_known_as: vec!["at://svc.example.com".to_owned()],
        services: services
            .iter()
            .map(|(id, kind, endpoint)| {
                (
                    (*id).to_owned(),
                    Service {
                        service_type: (*kind).to_owned(),
                        endpoint: (*endpoint).to_owned(),
                    },
                )
            })
            .collect(),
        prev: None,
    })
    .sign(&key)
    .unwrap();
    let did = plc::did_for_genesis(&op).unwrap();
    let response = crate::harness::http()
        .post(format!("{}/plc/{did}", xrpc.base))
        .json(&op)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(
        status,
        200,
        "registering {did}: {:?}",
        response.text().await
    );
    did
}

/// A listener on 127.0.0.1 that counts the connections it gets (and answers none of them): a
/// service inside the network that no outside request may reach.
pub struct Trap {
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl Trap {
    pub async fn start() -> Trap {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Trap { port, connections }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A compact JWS whose signature is 64 random bytes: what an attacker sends to make a server
/// resolve the issuer it names.
pub fn unsigned_service_token(iss: &str, aud: &str, lxm: &str) -> String {
    let b64 = |v: &[u8]| data_encoding::BASE64URL_NOPAD.encode(v);
    let header = json!({"alg": "ES256K", "typ": "JWT"});
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;
    let claims = json!({"iss": iss, "aud": aud, "exp": exp, "lxm": lxm});
    let mut signature = [0u8; 64];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut signature);
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&signature)
    )
}

/// The `error` of an XRPC answer body.
pub fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}
