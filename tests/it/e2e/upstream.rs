//! A fake upstream PDS for relay tests: answers describeServer, serves DID documents as a PLC
//! directory (`/plc/<did>`), and streams whatever frames a test gives it on `subscribeRepos`,
//! replaying after the cursor the relay asks for.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message as WsMessage, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use skyhold::core::data::{self, Value as DataValue};

/// One frame to stream: its upstream seq (for replay after a cursor), the bytes, and whether it is
/// sent on the first connection only (an oversize frame the relay cannot read, hence never skip).
#[derive(Clone)]
pub struct Frame {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub once: bool,
}

#[derive(Default)]
struct Shared {
    frames: Vec<Frame>,
    sent_once: std::collections::HashSet<u64>,
    documents: HashMap<String, Value>,
    /// DID documents served, per DID.
    document_fetches: HashMap<String, usize>,
    connections: usize,
}

#[derive(Clone)]
pub struct Upstream {
    shared: Arc<Mutex<Shared>>,
    notify: Arc<tokio::sync::Notify>,
    pub port: u16,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = Upstream {
            shared,
            notify,
            port,
        };
        let app = Router::new()
            .route(
                "/xrpc/com.atproto.server.describeServer",
                get(|| async {
                    Json(json!({"did": "did:web:fake-upstream", "availableUserDomains": [".test"]}))
                }),
            )
            .route("/xrpc/com.atproto.sync.subscribeRepos", get(subscribe))
            .route("/plc/{did}", get(document))
            .with_state(upstream.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        upstream
    }

    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub fn plc_url(&self) -> String {
        format!("http://localhost:{}/plc", self.port)
    }

    /// Serves a DID document for `did` whose PDS is `pds_url` and signing key `multikey`.
    pub fn add_identity(&self, did: &str, handle: &str, pds_url: &str, multikey: &str) {
        let doc = json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "alsoKnownAs": [format!("at://{handle}")],
            "verificationMethod": [{"id": format!("{did}#atproto"), "type": "Multikey", "controller": did,
                                    "publicKeyMultibase": multikey}],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds_url}],
        });
        self.shared
            .lock()
            .unwrap()
            .documents
            .insert(did.to_owned(), doc);
    }

    pub fn push(&self, frame: Frame) {
        self.shared.lock().unwrap().frames.push(frame);
        self.notify.notify_waiters();
    }

    pub fn connections(&self) -> usize {
        self.shared.lock().unwrap().connections
    }

    /// How often `did`'s document was asked for.
    pub fn document_fetches(&self, did: &str) -> usize {
        self.shared
            .lock()
            .unwrap()
            .document_fetches
            .get(did)
            .copied()
            .unwrap_or(0)
    }
}

async fn document(State(up): State<Upstream>, Path(did): Path<String>) -> axum::response::Response {
    let mut shared = up.shared.lock().unwrap();
    *shared.document_fetches.entry(did.clone()).or_default() += 1;
    match shared.documents.get(&did) {
        Some(doc) => Json(doc.clone()).into_response(),
        None => (
            axum::http::StatusCode::NOT_FOUND,
            Json(json!({"message": "DID not registered"})),
        )
            .into_response(),
    }
}

async fn subscribe(
    State(up): State<Upstream>,
    Query(params): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    let mut cursor: u64 = params
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    up.shared.lock().unwrap().connections += 1;
    ws.max_message_size(64 << 20)
        .max_frame_size(64 << 20)
        .on_upgrade(move |mut socket| async move {
            loop {
                let notified = up.notify.notified();
                let pending: Vec<Frame> = {
                    let mut shared = up.shared.lock().unwrap();
                    let frames: Vec<Frame> = shared
                        .frames
                        .iter()
                        .filter(|f| f.seq > cursor)
                        .cloned()
                        .collect();
                    let mut out = Vec::new();
                    for f in frames {
                        if f.once && !shared.sent_once.insert(f.seq) {
                            continue;
                        }
                        out.push(f);
                    }
                    out
                };
                for frame in pending {
                    cursor = cursor.max(frame.seq);
                    if socket
                        .send(WsMessage::Binary(frame.bytes.into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                tokio::select! {
                    () = notified => {},
                    msg = socket.recv() => if msg.is_none() { return },
                }
            }
        })
}

/// A frame from a message body in atproto JSON (`$bytes`, `$link`), as the indigo relay scenarios
/// write them.
pub fn frame_from_json(kind: &str, body: &Value) -> Vec<u8> {
    let header = DataValue::Map(
        [
            ("op".to_owned(), DataValue::Integer(1)),
            ("t".to_owned(), DataValue::from(kind)),
        ]
        .into_iter()
        .collect(),
    );
    let mut out = data::encode_value(&header).unwrap();
    out.extend(data::encode_value(&data::from_json(body).unwrap()).unwrap());
    out
}
