//! Outbound network access: the one HTTP client (`outbound`) and WebSocket connector
//! (`websocket`) for everything the node fetches, the address rules they apply in production
//! (`address`, `resolve`), and the TLS client configuration (`tls`).
//!
//! No other module builds an HTTP client or opens an outbound connection (checked by
//! `tests/it/tidy.rs`).

mod address;
mod outbound;
mod resolve;
mod tls;
mod websocket;

pub use outbound::{Outbound, OutboundError, Trust, endpoint_origin};
pub use tls::{OperatorClient, acme_client, web_pki_roots};
