//! The one place service errors become XRPC errors: names and HTTP statuses follow the reference
//! PDS (token errors are 400, a missing token 401, internal failures a generic 500). Causes that
//! must be logged (5xx) travel with the answer as its `cause`; `log_errors` logs them once.

use axum::http::{HeaderValue, StatusCode, header};

use super::xrpc::XrpcError;
use crate::appview::AppviewError;
use crate::identity::PlcDirectoryError;
use crate::moderation::ModerationError;
use crate::pds::PdsError;
use crate::relay::RelayError;

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;

/// The generic 503 of a store that cannot write now (a full disk), with why.
fn unavailable(why: String) -> XrpcError {
    XrpcError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "NotEnoughResources",
        "The server cannot store writes right now; try again later",
    )
    .caused_by(format!("a write was refused: {why}"))
}

fn upstream(m: String) -> XrpcError {
    XrpcError::new(StatusCode::BAD_GATEWAY, "UpstreamFailure", m.clone()).caused_by(m)
}

fn rate_limited(m: String) -> XrpcError {
    let mut error = XrpcError::new(StatusCode::TOO_MANY_REQUESTS, "RateLimitExceeded", m);
    error
        .headers
        .push((header::RETRY_AFTER, HeaderValue::from_static("1")));
    error
}

impl From<PdsError> for XrpcError {
    fn from(e: PdsError) -> Self {
        let (status, name, m) = match e {
            PdsError::InvalidRequest(m) => (BAD, "InvalidRequest", m),
            PdsError::AuthRequired(m) => (UNAUTHORIZED, "AuthenticationRequired", m),
            PdsError::ExpiredToken(m) => (BAD, "ExpiredToken", m),
            PdsError::InvalidToken(m) => (BAD, "InvalidToken", m),
            PdsError::TokenRequired(m) => (BAD, "TokenRequired", m),
            PdsError::InvalidHandle(m) => (BAD, "InvalidHandle", m),
            PdsError::HandleNotAvailable(m) => (BAD, "HandleNotAvailable", m),
            PdsError::HandleNotFound(m) => (BAD, "HandleNotFound", m),
            PdsError::UnsupportedDomain(m) => (BAD, "UnsupportedDomain", m),
            PdsError::InvalidInviteCode(m) => (BAD, "InvalidInviteCode", m),
            PdsError::InvalidPassword(m) => (BAD, "InvalidPassword", m),
            PdsError::InvalidEmail(m) => (BAD, "InvalidEmail", m),
            PdsError::AccountTakedown(m) => (UNAUTHORIZED, "AccountTakedown", m),
            PdsError::AccountDeactivated(m) => (UNAUTHORIZED, "AccountDeactivated", m),
            PdsError::AccountNotFound(m) => (FORBIDDEN, "AccountNotFound", m),
            PdsError::RecordNotFound(m) => (BAD, "RecordNotFound", m),
            PdsError::RepoNotFound(m) => (BAD, "RepoNotFound", m),
            PdsError::RepoTakendown(m) => (BAD, "RepoTakendown", m),
            PdsError::RepoSuspended(m) => (BAD, "RepoSuspended", m),
            PdsError::RepoDeactivated(m) => (BAD, "RepoDeactivated", m),
            PdsError::InvalidSwap(m) => (BAD, "InvalidSwap", m),
            PdsError::BlobNotFound(m) => (BAD, "BlobNotFound", m),
            PdsError::InvalidMimeType(m) => (BAD, "InvalidMimeType", m),
            PdsError::InvalidSize(m) => (BAD, "InvalidSize", m),
            PdsError::BadExpiration(m) => (BAD, "BadExpiration", m),
            PdsError::BadJwt(m) => (BAD, "BadJwt", m),
            PdsError::JwtExpired(m) => (BAD, "JwtExpired", m),
            PdsError::BadJwtAudience(m) => (BAD, "BadJwtAudience", m),
            PdsError::BadJwtLexiconMethod(m) => (BAD, "BadJwtLexiconMethod", m),
            PdsError::BadJwtIss(m) => (BAD, "BadJwtIss", m),
            PdsError::BadJwtSignature(m) => (BAD, "BadJwtSignature", m),
            PdsError::DidTombstoned(m) => (BAD, "DidTombstoned", m),
            PdsError::ReportNotFound(m) => (StatusCode::NOT_FOUND, "ReportNotFound", m),
            PdsError::Forbidden(m) => (FORBIDDEN, "Forbidden", m),
            PdsError::InsufficientScope(m) => (FORBIDDEN, "InsufficientScope", m),
            PdsError::AlreadyAppealed(m) => (FORBIDDEN, "AlreadyAppealed", m),
            PdsError::ReportFromTakendown(m) => (FORBIDDEN, "AccountTakedown", m),
            PdsError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", m),
            PdsError::RateLimited(m) => return rate_limited(m),
            PdsError::Upstream(m) => return upstream(m),
            PdsError::Internal(m) => return XrpcError::internal(m),
            PdsError::Unavailable(why) => return unavailable(why),
        };
        XrpcError::new(status, name, m)
    }
}

impl From<RelayError> for XrpcError {
    fn from(e: RelayError) -> Self {
        let (status, name, m) = match e {
            RelayError::InvalidRequest(m) => (BAD, "InvalidRequest", m),
            RelayError::RepoNotFound(m) => (BAD, "RepoNotFound", m),
            RelayError::RepoTakendown(m) => (BAD, "RepoTakendown", m),
            RelayError::RepoSuspended(m) => (BAD, "RepoSuspended", m),
            RelayError::RepoDeactivated(m) => (BAD, "RepoDeactivated", m),
            RelayError::RepoDesynchronized(m) => (BAD, "RepoDesynchronized", m),
            RelayError::HostNotFound(m) => (StatusCode::NOT_FOUND, "HostNotFound", m),
            RelayError::HostBanned(m) => (BAD, "HostBanned", m),
            RelayError::RateLimited(m) => (StatusCode::TOO_MANY_REQUESTS, "RateLimitExceeded", m),
            RelayError::Upstream(m) => return upstream(m),
            RelayError::Internal(m) => return XrpcError::internal(m),
        };
        XrpcError::new(status, name, m)
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
            AppviewError::Named { error, message } => XrpcError::new(BAD, error, message),
            AppviewError::Auth { error, message } => XrpcError::new(UNAUTHORIZED, error, message),
            AppviewError::Upstream(m) => upstream(m),
            AppviewError::Internal(m) => XrpcError::internal(m),
        }
    }
}

impl From<ModerationError> for XrpcError {
    fn from(e: ModerationError) -> Self {
        match e {
            ModerationError::Pds(e) => e.into(),
            ModerationError::Appview(e) => e.into(),
            ModerationError::NotFound(m) => XrpcError::new(StatusCode::NOT_FOUND, "NotFound", m),
        }
    }
}
