//! Identifiers in request parameters, parsed at the edge so the services receive checked types.
//!
//! Text that does not parse names nothing hosted here, so each helper answers exactly what the
//! service answers for an identifier it does not know (the reference PDS does not distinguish the
//! two). Does not look anything up.

use super::xrpc::XrpcError;
use crate::core::syntax::{AtIdentifier, Did, Tid};
use crate::pds::PdsError;

/// The `repo` of a write (createRecord, putRecord, deleteRecord, applyWrites): text that is no
/// identifier is not the caller's DID (401), or no handle hosted here (403).
pub fn write_repo(repo: &str) -> Result<AtIdentifier, XrpcError> {
    AtIdentifier::parse(repo).map_err(|_| {
        if repo.starts_with("did:") {
            PdsError::AuthRequired("Authentication Required".into()).into()
        } else {
            PdsError::AccountNotFound("Account not found".into()).into()
        }
    })
}

/// The `repo` of getRecord and listRecords.
pub fn read_repo(repo: &str) -> Result<AtIdentifier, XrpcError> {
    AtIdentifier::parse(repo)
        .map_err(|_| PdsError::InvalidRequest(format!("Could not find repo: {repo}")).into())
}

/// A "could not find repo" answer names the repo as the caller wrote it ("Could not find repo:
/// NoBody.Test", as the reference PDS answers), not the parsed, lowercased handle the PDS saw.
pub fn as_written(error: PdsError, written: &str) -> PdsError {
    match error {
        PdsError::RepoNotFound(_) => {
            PdsError::RepoNotFound(format!("Could not find repo for DID: {written}"))
        }
        PdsError::InvalidRequest(m) if m.starts_with("Could not find repo: ") => {
            PdsError::InvalidRequest(format!("Could not find repo: {written}"))
        }
        other => other,
    }
}

/// The `repo` of describeRepo.
pub fn described_repo(repo: &str) -> Result<AtIdentifier, XrpcError> {
    AtIdentifier::parse(repo)
        .map_err(|_| PdsError::RepoNotFound(format!("Could not find repo for DID: {repo}")).into())
}

/// The `did` of a `com.atproto.sync.*` read of the PDS.
pub fn sync_did(did: &str) -> Result<Did, XrpcError> {
    Did::parse(did)
        .map_err(|_| PdsError::RepoNotFound(format!("Could not find repo for DID: {did}")).into())
}

/// The DID of an account an account or admin call names (deleteAccount, suspensions).
pub fn account_did(did: &str) -> Result<Did, XrpcError> {
    Did::parse(did).map_err(|_| PdsError::InvalidRequest("Account not found".into()).into())
}

/// The `did` of a relay read: a malformed one is a bad request.
pub fn relay_did(did: &str) -> Result<Did, XrpcError> {
    Did::parse(did).map_err(|e| XrpcError::invalid_request(format!("Invalid did: {e}")))
}

/// The `since` rev of getRepo and listBlobs.
pub fn since(since: Option<&str>) -> Result<Option<Tid>, XrpcError> {
    since
        .map(|s| {
            Tid::parse(s).map_err(|e| XrpcError::invalid_request(format!("Invalid since: {e}")))
        })
        .transpose()
}

/// A list method's `limit`: `default` when absent, refused outside 1..=`max` (the reference PDS's
/// bounds and words).
pub fn limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, XrpcError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(XrpcError::invalid_request(format!(
            "Invalid limit: must be between 1 and {max}"
        )));
    }
    Ok(limit)
}
