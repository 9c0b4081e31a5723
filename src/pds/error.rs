//! `PdsError`: every way a PDS operation can fail, named as the XRPC error it becomes. The mapping
//! to HTTP statuses lives in `http/errors.rs`.

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
    #[error("Token has expired")]
    ExpiredToken,
    /// 400 InvalidToken.
    #[error("{0}")]
    InvalidToken(String),
    /// 400 InvalidHandle.
    #[error("{0}")]
    InvalidHandle(String),
    /// 400 HandleNotAvailable.
    #[error("{0}")]
    HandleNotAvailable(String),
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
    /// 400 RecordNotFound.
    #[error("{0}")]
    RecordNotFound(String),
    /// 400 RepoNotFound.
    #[error("{0}")]
    RepoNotFound(String),
    /// 400 RepoTakendown / RepoDeactivated / RepoSuspended.
    #[error("{message}")]
    RepoInactive {
        error: &'static str,
        message: String,
    },
    /// 400 InvalidSwap.
    #[error("{0}")]
    InvalidSwap(String),
    /// 400 BlobNotFound.
    #[error("{0}")]
    BlobNotFound(String),
    /// 400 with a named error from a lexicon (`UnresolvableDid`, `IncompatibleDidDoc`, ...).
    #[error("{message}")]
    Named {
        error: &'static str,
        message: String,
    },
    /// 429 RateLimitExceeded (the server is too busy for this now).
    #[error("{0}")]
    RateLimited(String),
    /// 403 with a lexicon or reference error name (`Forbidden`, `AccountTakedown`,
    /// `AlreadyAppealed`): the caller may not do this.
    #[error("{message}")]
    Forbidden {
        error: &'static str,
        message: String,
    },
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

macro_rules! from_storage {
    ($($t:ty),*) => {$(
        impl From<$t> for PdsError {
            fn from(e: $t) -> Self {
                PdsError::from(StoreError::from(e))
            }
        }
    )*};
}
from_storage!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

impl From<crate::core::mst::MstError> for PdsError {
    fn from(e: crate::core::mst::MstError) -> Self {
        PdsError::Internal(format!("MST: {e}"))
    }
}

impl From<crate::core::data::DataError> for PdsError {
    fn from(e: crate::core::data::DataError) -> Self {
        PdsError::InvalidRequest(e.to_string())
    }
}
