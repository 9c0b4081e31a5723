//! Operator endpoints outside XRPC, behind the admin password: `GET /admin/tls` shows every
//! certificate, when it renews, and any failing renewal (the server keeps serving the current
//! certificate while renewal fails).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AdminAuth;

pub async fn tls_status(State(state): State<AppState>, _admin: AdminAuth) -> Json<Value> {
    match &state.tls {
        Some(tls) => Json(serde_json::to_value(tls.status()).unwrap_or(Value::Null)),
        None => Json(json!({"mode": "off"})),
    }
}
