//! The one place service errors become XRPC errors: names and HTTP statuses follow the reference
//! PDS (token errors are 400, a missing token 401, internal failures a generic 500).

use axum::http::{HeaderValue, StatusCode, header};

use super::xrpc::XrpcError;
use crate::appview::AppviewError;
use crate::identity::PlcDirectoryError;
use crate::pds::PdsError;

impl From<PdsError> for XrpcError {
    fn from(e: PdsError) -> Self {
        let bad = |name: &'static str, message: String| {
            XrpcError::new(StatusCode::BAD_REQUEST, name, message)
        };
        match e {
            PdsError::InvalidRequest(m) => bad("InvalidRequest", m),
            PdsError::AuthRequired(m) => {
                XrpcError::new(StatusCode::UNAUTHORIZED, "AuthenticationRequired", m)
            }
            PdsError::ExpiredToken => bad("ExpiredToken", "Token has expired".into()),
            PdsError::InvalidToken(m) => bad("InvalidToken", m),
            PdsError::InvalidHandle(m) => bad("InvalidHandle", m),
            PdsError::HandleNotAvailable(m) => bad("HandleNotAvailable", m),
            PdsError::UnsupportedDomain(m) => bad("UnsupportedDomain", m),
            PdsError::InvalidInviteCode(m) => bad("InvalidInviteCode", m),
            PdsError::InvalidPassword(m) => bad("InvalidPassword", m),
            PdsError::InvalidEmail(m) => bad("InvalidEmail", m),
            PdsError::AccountTakedown(m) => {
                XrpcError::new(StatusCode::UNAUTHORIZED, "AccountTakedown", m)
            }
            PdsError::RecordNotFound(m) => bad("RecordNotFound", m),
            PdsError::RepoNotFound(m) => bad("RepoNotFound", m),
            PdsError::RepoInactive { error, message } => bad(error, message),
            PdsError::InvalidSwap(m) => bad("InvalidSwap", m),
            PdsError::BlobNotFound(m) => bad("BlobNotFound", m),
            PdsError::Named { error, message } => {
                let status = match error {
                    "AccountDeactivated" | "AuthMissing" => StatusCode::UNAUTHORIZED,
                    "AccountNotFound" => StatusCode::FORBIDDEN,
                    "ReportNotFound" => StatusCode::NOT_FOUND,
                    _ => StatusCode::BAD_REQUEST,
                };
                XrpcError::new(status, error, message)
            }
            PdsError::RateLimited(m) => {
                let mut error =
                    XrpcError::new(StatusCode::TOO_MANY_REQUESTS, "RateLimitExceeded", m);
                error
                    .headers
                    .push((header::RETRY_AFTER, HeaderValue::from_static("1")));
                error
            }
            PdsError::Forbidden { error, message } => {
                XrpcError::new(StatusCode::FORBIDDEN, error, message)
            }
            PdsError::PayloadTooLarge(m) => {
                XrpcError::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", m)
            }
            PdsError::Upstream(m) => {
                tracing::warn!(error = %m, "upstream failure");
                XrpcError::new(StatusCode::BAD_GATEWAY, "UpstreamFailure", m)
            }
            PdsError::Internal(m) => XrpcError::internal(m),
            PdsError::Unavailable(why) => {
                tracing::error!(%why, "a write was refused: the store cannot write");
                XrpcError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "NotEnoughResources",
                    "The server cannot store writes right now; try again later",
                )
            }
        }
    }
}

impl From<PlcDirectoryError> for XrpcError {
    fn from(e: PlcDirectoryError) -> Self {
        match e {
            PlcDirectoryError::NotFound(_) => {
                XrpcError::new(StatusCode::NOT_FOUND, "NotFound", e.to_string())
            }
            PlcDirectoryError::Tombstoned(_) => {
                XrpcError::new(StatusCode::GONE, "NotAvailable", e.to_string())
            }
            PlcDirectoryError::Invalid(_) | PlcDirectoryError::BadRequest(_) => {
                XrpcError::invalid_request(e.to_string())
            }
            PlcDirectoryError::Store(s) => XrpcError::internal(s),
        }
    }
}

impl From<AppviewError> for XrpcError {
    fn from(e: AppviewError) -> Self {
        match e {
            AppviewError::InvalidRequest(m) => XrpcError::invalid_request(m),
            AppviewError::Named { error, message } => {
                XrpcError::new(StatusCode::BAD_REQUEST, error, message)
            }
            AppviewError::Auth { error, message } => {
                XrpcError::new(StatusCode::UNAUTHORIZED, error, message)
            }
            AppviewError::Upstream(m) => {
                tracing::warn!(error = %m, "upstream failure");
                XrpcError::new(StatusCode::BAD_GATEWAY, "UpstreamFailure", m)
            }
            AppviewError::Internal(m) => XrpcError::internal(m),
        }
    }
}
