//! `PdsError`: every way a PDS operation can fail, one variant per XRPC error it becomes (the doc of
//! each says its name and status). The mapping to HTTP lives in `http/errors.rs`.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PdsError {
    /// 400 InvalidRequest.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401 AuthenticationRequired.
    #[error("{0}")]
    AuthRequired(String),
    /// 400 ExpiredToken.
    #[error("{0}")]
    ExpiredToken(String),
    /// 400 InvalidToken.
    #[error("{0}")]
    InvalidToken(String),
    /// 400 TokenRequired.
    #[error("{0}")]
    TokenRequired(String),
    /// 400 InvalidHandle.
    #[error("{0}")]
    InvalidHandle(String),
    /// 400 HandleNotAvailable.
    #[error("{0}")]
    HandleNotAvailable(String),
    /// 400 HandleNotFound.
    #[error("{0}")]
    HandleNotFound(String),
    /// 400 UnsupportedDomain.
    #[error("{0}")]
    UnsupportedDomain(String),
    /// 400 InvalidInviteCode.
    #[error("{0}")]
    InvalidInviteCode(String),
    /// 400 InvalidPassword.
    #[error("{0}")]
    InvalidPassword(String),
    /// 400 InvalidEmail.
    #[error("{0}")]
    InvalidEmail(String),
    /// 401 AccountTakedown.
    #[error("{0}")]
    AccountTakedown(String),
    /// 401 AccountDeactivated.
    #[error("{0}")]
    AccountDeactivated(String),
    /// 403 AccountNotFound.
    #[error("{0}")]
    AccountNotFound(String),
    /// 400 RecordNotFound.
    #[error("{0}")]
    RecordNotFound(String),
    /// 400 RepoNotFound.
    #[error("{0}")]
    RepoNotFound(String),
    /// 400 RepoTakendown.
    #[error("{0}")]
    RepoTakendown(String),
    /// 400 RepoSuspended.
    #[error("{0}")]
    RepoSuspended(String),
    /// 400 RepoDeactivated.
    #[error("{0}")]
    RepoDeactivated(String),
    /// 400 InvalidSwap.
    #[error("{0}")]
    InvalidSwap(String),
    /// 400 BlobNotFound.
    #[error("{0}")]
    BlobNotFound(String),
    /// 400 InvalidMimeType: a record's blob reference names another type than the upload's.
    #[error("{0}")]
    InvalidMimeType(String),
    /// 400 InvalidSize: a record's blob reference names another size than the upload's.
    #[error("{0}")]
    InvalidSize(String),
    /// 400 BadExpiration (`getServiceAuth`).
    #[error("{0}")]
    BadExpiration(String),
    /// 400 BadJwt: an inter-service token that cannot be read or is invalid.
    #[error("{0}")]
    BadJwt(String),
    /// 400 JwtExpired.
    #[error("{0}")]
    JwtExpired(String),
    /// 400 BadJwtAudience.
    #[error("{0}")]
    BadJwtAudience(String),
    /// 400 BadJwtLexiconMethod.
    #[error("{0}")]
    BadJwtLexiconMethod(String),
    /// 400 BadJwtIss.
    #[error("{0}")]
    BadJwtIss(String),
    /// 400 BadJwtSignature.
    #[error("{0}")]
    BadJwtSignature(String),
    /// 400 DidTombstoned: the PLC directory holds a tombstone for the DID.
    #[error("{0}")]
    DidTombstoned(String),
    /// 404 ReportNotFound.
    #[error("{0}")]
    ReportNotFound(String),
    /// 403 Forbidden.
    #[error("{0}")]
    Forbidden(String),
    /// 403 InsufficientScope: an OAuth grant does not cover the call.
    #[error("{0}")]
    InsufficientScope(String),
    /// 403 AlreadyAppealed.
    #[error("{0}")]
    AlreadyAppealed(String),
    /// 403 AccountTakedown: a taken-down account may only appeal (createReport, as Ozone).
    #[error("{0}")]
    ReportFromTakendown(String),
    /// 429 RateLimitExceeded (the server is too busy for this now).
    #[error("{0}")]
    RateLimited(String),
    /// 413 PayloadTooLarge.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 502 UpstreamFailure (PLC directory, proxied service).
    #[error("{0}")]
    Upstream(String),
    /// 500, logged; the client sees a generic message.
    #[error("{0}")]
    Internal(String),
    /// 503 NotEnoughResources: the store cannot write now (a full disk); logged.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StoreError> for PdsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => PdsError::Unavailable(why),
            other => PdsError::Internal(other.to_string()),
        }
    }
}

crate::store::storage_errors!(PdsError, crate::core::mst::MstError);

impl From<crate::core::data::DataError> for PdsError {
    fn from(e: crate::core::data::DataError) -> Self {
        PdsError::InvalidRequest(e.to_string())
    }
}
