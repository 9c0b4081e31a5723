//! Operator endpoints outside XRPC, behind the admin password: the codes waiting for members when
//! no mail is configured, suspensions with an end date, a test email, and `GET /admin/tls`: every
//! certificate, when it renews, and any failing renewal (the server keeps serving the current
//! certificate while renewal fails); `GET /admin/stats`: outbound traffic counters, password
//! hashes computed, whether the store can write.

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
use crate::pds::Moderation;

/// `GET /admin/codes`: one-time codes not yet used or expired.
pub async fn pending_codes(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<Value>, XrpcError> {
    let codes: Vec<Value> = state
        .pds
        .pending_codes()
        .await?
        .into_iter()
        .map(|c| {
            let expires = Datetime::from_unix_micros(c.expires_at.saturating_mul(1_000_000))
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default();
            json!({"did": c.did, "purpose": c.purpose, "token": c.token, "expiresAt": expires})
        })
        .collect();
    Ok(Json(json!({"codes": codes})))
}

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
    state
        .pds
        .moderate_account(
            &params::account_did(&did)?,
            Moderation::Suspend {
                reference: reference.clone().unwrap_or_else(|| "suspension".into()),
                until: until.as_str().to_owned(),
            },
        )
        .await?;
    let detail = match reference {
        Some(reason) => format!("until {}: {reason}", until.as_str()),
        None => format!("until {}", until.as_str()),
    };
    audit::record(
        &state.pds,
        &actor,
        "account.suspend",
        Some(did),
        Some(detail),
    )
    .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct TestEmailInput {
    to: String,
}

/// `POST /admin/email/test`: sends a test message through the configured SMTP server.
pub async fn test_email(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    XrpcJson(input): XrpcJson<TestEmailInput>,
) -> Result<(), XrpcError> {
    state.pds.send_test_email(&input.to).await?;
    audit::record(
        &state.pds,
        &actor,
        "email.test",
        Some(input.to.clone()),
        None,
    )
    .await;
    Ok(())
}

/// `GET /admin/tls`.
pub async fn tls_status(State(state): State<AppState>, _admin: AdminAuth) -> Json<Value> {
    match &state.tls {
        Some(tls) => Json(serde_json::to_value(tls.status()).unwrap_or(Value::Null)),
        None => Json(json!({"mode": "off"})),
    }
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
