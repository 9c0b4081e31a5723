//! `AppviewError`: why an App View call failed, named after the XRPC errors the reference App View
//! returns (`http/errors.rs` maps each to its status).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppviewError {
    /// 400 InvalidRequest.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 with a lexicon-declared error name (`NotFound`, `BlockedActor`, `BlockedByActor`,
    /// `AccountTakedown`, `AccountDeactivated`, `UnknownFeed`, `UnknownList`, `ActorNotFound`,
    /// `BadQueryString`).
    #[error("{message}")]
    Named {
        error: &'static str,
        message: String,
    },
    /// 401: authentication needed, or a service-auth token that does not verify (`AuthMissing`,
    /// `BadJwt`, `BadJwtSignature`, `BadJwtAudience`, `BadJwtLexiconMethod`, `JwtExpired`).
    #[error("{message}")]
    Auth {
        error: &'static str,
        message: String,
    },
    /// 502 UpstreamFailure (a feed generator).
    #[error("{0}")]
    Upstream(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl AppviewError {
    pub fn named(error: &'static str, message: impl Into<String>) -> AppviewError {
        AppviewError::Named {
            error,
            message: message.into(),
        }
    }

    pub fn auth(error: &'static str, message: impl Into<String>) -> AppviewError {
        AppviewError::Auth {
            error,
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppviewError {
    fn from(e: StoreError) -> Self {
        AppviewError::Internal(e.to_string())
    }
}

crate::store::storage_errors!(AppviewError);
