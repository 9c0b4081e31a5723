//! Operator endpoints outside XRPC, behind the admin password: suspensions with an end date, and
//! `GET /admin/stats`: outbound traffic counters, password hashes computed, whether the store can
//! write. The codes waiting for members, the test email and the TLS status (`/admin/codes`,
//! `/admin/email/test`, `/admin/tls`) are the console's `blue.skyhold.admin.*` handlers on an
//! operator path.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::audit;
use super::auth::AdminAuth;
use super::params;
use super::xrpc::{XrpcError, XrpcJson};
use crate::core::syntax::Datetime;

#[derive(Deserialize)]
pub struct SuspendInput {
    until: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

/// `POST /admin/accounts/{did}/suspend`: a takedown that ends by itself at `until`.
pub async fn suspend_account(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(did): Path<String>,
    XrpcJson(input): XrpcJson<SuspendInput>,
) -> Result<(), XrpcError> {
    let until = Datetime::parse(&input.until)
        .map_err(|e| XrpcError::invalid_request(format!("until must be a datetime: {e}")))?;
    // Stored in the server's own format so it compares as text with the clock.
    let until = Datetime::from_unix_millis(until.to_unix_micros() / 1000)
        .map_err(|e| XrpcError::invalid_request(e.to_string()))?;
    let reference = audit::reason(input.reference.as_deref());
    let did = params::account_did(&did)?;
    let until = until.as_str().to_owned();
    super::skyhold_admin::suspend(&state, &actor, &did, until, reference).await
}

/// `GET /admin/stats`: what the node fetched from elsewhere (requests, refusals, failures,
/// oversized answers, bytes).
pub async fn stats(State(state): State<AppState>, _admin: AdminAuth) -> Json<Value> {
    Json(json!({
        "outbound": state.outbound.counters().values(),
        "passwordHashes": state.pds.password_hashes(),
        "store": {"writable": state.pds.store_failure().is_none()},
    }))
}
