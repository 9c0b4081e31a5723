//! The embedded PLC directory's HTTP API, mounted at `/plc`; DID documents also at `/<did:plc:…>`
//! (see [`root_document`]).
//!
//! Spec: the did:plc directory API
//! (<https://github.com/did-method-plc/did-method-plc/blob/main/website/spec/plc-server-openapi3.yaml>):
//! `GET /<did>`, `/<did>/data`, `/<did>/log`, `/<did>/log/audit`, `/<did>/log/last`, `POST /<did>`,
//! `GET /export`. Errors are `{"message": …}` as the reference directory sends them.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::core::plc::Operation;
use crate::identity::PlcDirectoryError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/_health",
            get(|| async { Json(json!({"version": env!("CARGO_PKG_VERSION")})) }),
        )
        .route("/export", get(export))
        .route("/{did}", get(document).post(submit))
        .route("/{did}/data", get(data))
        .route("/{did}/log", get(log))
        .route("/{did}/log/audit", get(audit))
        .route("/{did}/log/last", get(last))
}

fn message(status: StatusCode, text: String) -> Response {
    (status, Json(json!({"message": text}))).into_response()
}

fn failure(e: PlcDirectoryError) -> Response {
    match e {
        PlcDirectoryError::NotFound(_) => message(StatusCode::NOT_FOUND, e.to_string()),
        PlcDirectoryError::Tombstoned(_) => message(StatusCode::GONE, e.to_string()),
        PlcDirectoryError::Invalid(_) | PlcDirectoryError::BadRequest(_) => {
            message(StatusCode::BAD_REQUEST, e.to_string())
        }
        PlcDirectoryError::Store(s) => {
            tracing::error!(error = %s, "PLC directory storage failure");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error".into(),
            )
        }
    }
}

fn no_directory() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "this server runs no PLC directory".into(),
    )
}

fn json_response<T: serde::Serialize>(value: &T, content_type: &'static str) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn document(State(state): State<AppState>, Path(did): Path<String>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir.document(&did).await {
        Ok(doc) => json_response(&doc, "application/did+ld+json"),
        Err(e) => failure(e),
    }
}

/// `GET /<did>` at the site root, for did:plc DIDs only.
///
/// `@atproto/identity`'s PLC resolver builds its request as `new URL("/" + did, plcUrl)`, which
/// drops any path in the directory URL, so a TypeScript peer told to use `<public url>/plc` asks
/// for `<public url>/<did>`. Anything that is not a did:plc DID is an ordinary 404.
pub async fn root_document(state: State<AppState>, Path(did): Path<String>) -> Response {
    if !did.starts_with("did:plc:") {
        return StatusCode::NOT_FOUND.into_response();
    }
    document(state, Path(did)).await
}

async fn data(State(state): State<AppState>, Path(did): Path<String>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir.data(&did).await {
        Ok(data) => json_response(&data, "application/json"),
        Err(e) => failure(e),
    }
}

async fn log(State(state): State<AppState>, Path(did): Path<String>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir.operations(&did).await {
        Ok(ops) => json_response(&ops, "application/json"),
        Err(e) => failure(e),
    }
}

async fn audit(State(state): State<AppState>, Path(did): Path<String>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir.audit_log(&did).await {
        Ok(log) => json_response(&log, "application/json"),
        Err(e) => failure(e),
    }
}

async fn last(State(state): State<AppState>, Path(did): Path<String>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir.last_operation(&did).await {
        Ok(op) => json_response(&op, "application/json"),
        Err(e) => failure(e),
    }
}

async fn submit(
    State(state): State<AppState>,
    Path(did): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    if body.len() > 16 * 1024 {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "operation too large".into());
    }
    let op: Operation = match serde_json::from_slice(&body) {
        Ok(op) => op,
        Err(e) => return message(StatusCode::BAD_REQUEST, format!("invalid operation: {e}")),
    };
    match dir.submit(&did, op, crate::clock::now_micros()).await {
        Ok(()) => (StatusCode::OK, Json(json!({}))).into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct ExportParams {
    after: Option<u64>,
    count: Option<usize>,
}

/// Accepted operations as JSON lines, oldest first; `after` is the position of the last line seen.
async fn export(State(state): State<AppState>, Query(params): Query<ExportParams>) -> Response {
    let Some(dir) = state.plc.as_ref() else {
        return no_directory();
    };
    match dir
        .export(params.after.unwrap_or(0), params.count.unwrap_or(10))
        .await
    {
        Ok(entries) => {
            let mut body = String::new();
            for (seq, entry) in entries {
                let mut line = serde_json::to_value(&entry).unwrap_or_default();
                line["seq"] = json!(seq);
                body.push_str(&line.to_string());
                body.push('\n');
            }
            ([(header::CONTENT_TYPE, "application/jsonlines")], body).into_response()
        }
        Err(e) => failure(e),
    }
}
