//! XRPC plumbing: the error type every handler returns, and extractors whose rejections are XRPC
//! errors.
//!
//! Spec: <https://atproto.com/specs/xrpc>. Errors are `{"error": "<Name>", "message": "…"}` with
//! `Content-Type: application/json`. A 5xx never reveals internals: the message is generic and the
//! cause travels with the response as an [`ErrorCause`] extension, which the router's `log_errors`
//! layer logs once, with the request it answered.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// An XRPC error response.
#[derive(Debug)]
pub struct XrpcError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    /// Extra headers (`WWW-Authenticate`, `DPoP-Nonce`, `Retry-After`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    /// What went wrong inside (logged, never sent).
    pub cause: Option<String>,
}

/// The cause of an error answer, for the log (the client never sees it).
#[derive(Clone, Debug)]
pub struct ErrorCause(pub String);

impl XrpcError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> XrpcError {
        XrpcError {
            status,
            error,
            message: message.into(),
            headers: Vec::new(),
            cause: None,
        }
    }

    /// The same error with what went wrong inside, for the log.
    pub fn caused_by(mut self, cause: impl std::fmt::Display) -> XrpcError {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> XrpcError {
        XrpcError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }

    pub fn auth_required(message: impl Into<String>) -> XrpcError {
        XrpcError::new(StatusCode::UNAUTHORIZED, "AuthenticationRequired", message)
    }

    /// An internal failure, answered with a generic message (its cause is logged once, by the
    /// router's `log_errors` layer).
    pub fn internal(cause: impl std::fmt::Display) -> XrpcError {
        XrpcError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        )
        .caused_by(cause)
    }
}

/// Router layer: logs the cause an error answer carries, once, with the request it answered (a
/// 5xx as an error, anything else as a warning).
pub async fn log_errors(request: Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        let status = response.status().as_u16();
        if response.status().is_server_error() {
            tracing::error!(%method, %path, status, %cause, "request failed");
        } else {
            tracing::warn!(%method, %path, status, %cause, "request failed");
        }
    }
    response
}

impl IntoResponse for XrpcError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "message": self.message});
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response
    }
}

/// A JSON request body whose rejection is an XRPC `InvalidRequest` (or 413 when too large).
pub struct XrpcJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for XrpcJson<T> {
    type Rejection = XrpcError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(XrpcJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> XrpcError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            XrpcError::invalid_request("Request encoding (Content-Type) required but not provided")
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            XrpcError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PayloadTooLarge",
                "request entity too large",
            )
        }
        other => XrpcError::invalid_request(format!("Invalid request body: {}", other.body_text())),
    }
}

/// Query parameters whose rejection is an XRPC `InvalidRequest`. Arrays repeat the parameter
/// (`uris=a&uris=b`), as XRPC says, so this uses an HTML-form decoder rather than axum's `Query`.
pub struct XrpcQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for XrpcQuery<T> {
    type Rejection = XrpcError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_html_form::from_str(query)
            .map(XrpcQuery)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid query parameters: {e}")))
    }
}

/// A page of a list answer: `out` with the `cursor` of the next page, when there is one.
pub fn with_cursor(
    mut out: serde_json::Value,
    cursor: Option<impl serde::Serialize>,
) -> Json<serde_json::Value> {
    if let Some(cursor) = cursor {
        out["cursor"] = serde_json::json!(cursor);
    }
    Json(out)
}

/// Sets `out[key]` when there is a value (optional fields are left out, not `null`).
pub fn put_some(out: &mut serde_json::Value, key: &str, value: Option<impl serde::Serialize>) {
    if let Some(value) = value {
        out[key] = serde_json::json!(value);
    }
}
