//! Moving accounts: in (createAccount for an existing DID with service auth from its current host,
//! importRepo, listMissingBlobs, getRecommendedDidCredentials, then activation), and out
//! (requestPlcOperationSignature, signPlcOperation, submitPlcOperation).
//!
//! Spec: <https://atproto.com/specs/account> (migration), the account-migration guide, and the
//! did:plc spec. An imported repo must be complete: every block hashes to its CID, the MST is
//! canonical, every record is present, and the commit is for the account's DID. Its signature is not
//! required to match the current key: the DID document may already point at this server.

use std::io::Read;

use cid::Cid;
use serde_json::{Value, json};

use super::auth::AuthedAccount;
use super::email::Purpose;
use super::repo_store::{self, Import};
use super::rows::{AccountStatus, RepoRow};
use super::{Pds, PdsError, account_store, blob_store, events};
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::jwt::{self, ServiceClaims};
use crate::core::mst::{ExportItem, Mst};
use crate::core::plc::{self, AtprotoChanges, Operation, UnsignedOperation};
use crate::core::repo::{LoadedRepo, load_car, verify_repo};
use crate::core::syntax::Did;

/// Largest repo `importRepo` accepts. The whole repo is held in memory while it is verified, so
/// this also bounds the memory an import takes on a small machine.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
/// Imports that run at once; another one is refused (429) until one ends, so imports hold at
/// most this many repos in memory.
pub const MAX_CONCURRENT_IMPORTS: usize = 1;

/// Reads at most `left` bytes and remembers whether the input had more.
struct LimitedReader<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.exceeded = true;
                return Err(std::io::Error::other("repo too large"));
            }
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

impl Pds {
    /// Verifies an inter-service token addressed to this server for `lxm`; returns its issuer.
    pub async fn verify_service_token(&self, token: &str, lxm: &str) -> Result<Did, PdsError> {
        let parsed =
            jwt::parse(token).map_err(|_| PdsError::BadJwt("jwt could not be parsed".into()))?;
        let claims: ServiceClaims = parsed
            .claims_unchecked()
            .map_err(|_| PdsError::BadJwt("jwt claims could not be parsed".into()))?;
        claims
            .check(
                &format!("{}#atproto_pds", self.inner.config.service_did),
                Some(lxm),
                self.clock().now_secs(),
            )
            .map_err(|e| match e {
                jwt::JwtError::Expired => PdsError::JwtExpired("jwt expired".into()),
                jwt::JwtError::WrongAudience => {
                    PdsError::BadJwtAudience("jwt audience does not match service did".into())
                }
                jwt::JwtError::WrongMethod => {
                    PdsError::BadJwtLexiconMethod("jwt lexicon method does not match".into())
                }
                _ => PdsError::BadJwt("jwt is invalid".into()),
            })?;
        let issuer = claims.iss.split('#').next().unwrap_or_default();
        let did = Did::parse(issuer)
            .map_err(|_| PdsError::BadJwtIss("jwt issuer is not a DID".into()))?;
        // A key that does not verify may be from a cached document the DID has since changed.
        for fresh in [false, true] {
            let document = if fresh {
                self.inner.resolver.resolve_fresh(&did).await
            } else {
                self.inner.resolver.resolve(&did).await
            };
            let key = document
                .ok()
                .and_then(|doc| doc.signing_key().ok())
                .ok_or_else(|| {
                    PdsError::BadJwtIss("could not resolve the jwt issuer's signing key".into())
                })?;
            if jwt::verify_es(&parsed, &key).is_ok() {
                return Ok(did);
            }
        }
        Err(PdsError::BadJwtSignature(
            "jwt signature does not match jwt issuer".into(),
        ))
    }

    /// `importRepo`: replaces a deactivated account's repo with a complete, verified export, read
    /// from `car` as it arrives (at most [`MAX_IMPORT_BYTES`]).
    pub async fn import_repo(
        &self,
        did: &Did,
        car: impl Read + Send + 'static,
    ) -> Result<(), PdsError> {
        match self.account(did).await? {
            None => return Err(PdsError::InvalidRequest("Account not found".into())),
            Some(account) if account.status == AccountStatus::Active => {
                return Err(PdsError::InvalidRequest(
                    "Deactivate the account before importing a repo into it".into(),
                ));
            }
            Some(_) => {}
        }
        let _slot = self
            .inner
            .imports
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                PdsError::RateLimited(
                    "Another repo import is running; try again in a minute".into(),
                )
            })?;
        let expected = did.clone();
        let import = tokio::task::spawn_blocking(move || -> Result<Import, PdsError> {
            let mut limited = LimitedReader {
                inner: car,
                left: MAX_IMPORT_BYTES as u64,
                exceeded: false,
            };
            let loaded = load_car(&mut limited);
            if limited.exceeded {
                return Err(PdsError::PayloadTooLarge(format!(
                    "A repo import is limited to {} MiB",
                    MAX_IMPORT_BYTES / (1024 * 1024)
                )));
            }
            let repo =
                loaded.map_err(|e| PdsError::InvalidRequest(format!("Invalid repo: {e}")))?;
            verify_repo(&repo, None)
                .map_err(|e| PdsError::InvalidRequest(format!("Invalid repo: {e}")))?;
            if repo.commit.did != expected.as_str() {
                return Err(PdsError::InvalidRequest(format!(
                    "The repo is for {}, not {expected}",
                    repo.commit.did
                )));
            }
            import_of(repo)
        })
        .await
        .map_err(|e| PdsError::Internal(e.to_string()))??;
        let did = did.clone();
        self.store()
            .write(move |txn| {
                let Some(account) = account_store::get(txn, &did)? else {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                };
                if account.status == AccountStatus::Takendown {
                    return Ok(Err(PdsError::AccountTakedown(
                        "Account has been taken down".into(),
                    )));
                }
                repo_store::replace(txn, account.id, &import)?;
                Ok(Ok(()))
            })
            .await
    }

    /// `listMissingBlobs`: blobs the account's records use that have not been uploaded.
    pub async fn list_missing_blobs(
        &self,
        did: &Did,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<(Cid, String)>, Option<String>), PdsError> {
        let did = did.clone();
        let limit = limit.clamp(1, 1000);
        self.store()
            .read(move |txn| {
                let Some(id) = account_store::id(txn, &did)? else {
                    return Ok((Vec::new(), None));
                };
                let mut out: Vec<(Cid, String)> = Vec::new();
                let mut last: Option<Cid> = None;
                for (cid, path) in blob_store::refs(txn, id)? {
                    if last == Some(cid) {
                        continue;
                    }
                    last = Some(cid);
                    if cursor
                        .as_deref()
                        .is_some_and(|c| cid.to_string().as_str() <= c)
                    {
                        continue;
                    }
                    if blob_store::get(txn, id, &cid)?.is_none() {
                        out.push((cid, format!("at://{did}/{path}")));
                    }
                }
                out.sort_by_key(|(c, _)| c.to_string());
                out.truncate(limit);
                let next = (out.len() == limit)
                    .then(|| out.last().map(|(c, _)| c.to_string()))
                    .flatten();
                Ok::<_, PdsError>((out, next))
            })
            .await
    }

    /// `getRecommendedDidCredentials`: what the DID document must say for this server to host the
    /// account.
    pub async fn recommended_did_credentials(&self, did: &Did) -> Result<Value, PdsError> {
        let account = self.existing_account(did).await?;
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        let mut credentials = json!({
            "alsoKnownAs": [format!("at://{}", account.handle)],
            "verificationMethods": {"atproto": key.public_key().to_did_key()},
            "services": {"atproto_pds": {"type": "AtprotoPersonalDataServer", "endpoint": self.inner.config.public_url}},
        });
        // A did:web has no rotation keys; a did:plc gets this server's.
        if did.is_plc() {
            credentials["rotationKeys"] =
                json!([self.inner.secrets.plc_rotation.public_key().to_did_key()]);
        }
        Ok(credentials)
    }

    /// `requestPlcOperationSignature`: sends the code `signPlcOperation` needs.
    pub async fn request_plc_operation_signature(&self, did: &Did) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        self.issue_code(did, account.email.as_deref(), Purpose::PlcOperation)
            .await
    }

    /// `signPlcOperation`: an update of the DID's PLC state, signed with this server's rotation key.
    pub async fn sign_plc_operation(
        &self,
        caller: &AuthedAccount,
        token: &str,
        changes: &Value,
    ) -> Result<Operation, PdsError> {
        let did = &caller.did;
        if !did.is_plc() {
            return Err(PdsError::InvalidRequest(
                "only did:plc identities have PLC operations".into(),
            ));
        }
        self.consume_code(did, Purpose::PlcOperation, token).await?;
        let last = self.last_plc_operation(did).await?;
        let mut op = plc::update(&last, &AtprotoChanges::default())
            .map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
        let strings = |field: &str| -> Option<Vec<String>> {
            changes.get(field)?.as_array().map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        if let Some(keys) = strings("rotationKeys") {
            op.rotation_keys = keys;
        }
        if let Some(aka) = strings("alsoKnownAs") {
            op.also_known_as = aka;
        }
        if let Some(methods) = changes
            .get("verificationMethods")
            .and_then(Value::as_object)
        {
            op.verification_methods = methods
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
        }
        if let Some(services) = changes.get("services") {
            op.services = serde_json::from_value(services.clone())
                .map_err(|e| PdsError::InvalidRequest(format!("Invalid services: {e}")))?;
        }
        let signed = UnsignedOperation::Plc(op)
            .sign(&self.inner.secrets.plc_rotation)
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        plc::check_new_operation(&signed).map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
        Ok(signed)
    }

    /// `submitPlcOperation`: checks an operation keeps this server in charge, submits it, and
    /// announces the identity change.
    pub async fn submit_plc_operation(
        &self,
        did: &Did,
        operation: Operation,
    ) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        let Some(state) = plc::DocumentData::from_operation(did.as_str(), &operation) else {
            return Err(PdsError::InvalidRequest(
                "Cannot submit a tombstone here".into(),
            ));
        };
        let our_rotation = self.inner.secrets.plc_rotation.public_key().to_did_key();
        if !state.rotation_keys.contains(&our_rotation) {
            return Err(PdsError::InvalidRequest(
                "Rotation keys do not include server's rotation key".into(),
            ));
        }
        if state
            .services
            .get("atproto_pds")
            .map(|s| s.endpoint.as_str())
            != Some(self.inner.config.public_url.as_str())
        {
            return Err(PdsError::InvalidRequest(
                "Incorrect endpoint on atproto_pds service".into(),
            ));
        }
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        if state.verification_methods.get("atproto") != Some(&key.public_key().to_did_key()) {
            return Err(PdsError::InvalidRequest("Incorrect signing key".into()));
        }
        if state.also_known_as.first().map(String::as_str)
            != Some(format!("at://{}", account.handle).as_str())
        {
            return Err(PdsError::InvalidRequest(
                "Incorrect handle in alsoKnownAs".into(),
            ));
        }
        self.inner
            .plc
            .submit(did.as_str(), &operation)
            .await
            .map_err(|e| PdsError::InvalidRequest(e.to_string()))?;
        self.inner.resolver.forget(did.as_str());
        let did = did.clone();
        let (log, now) = (self.events().clone(), self.clock().now_datetime());
        self.store()
            .write(move |txn| {
                log.append(txn, events::identity(did.as_str(), None, &now))?;
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }
}

/// Everything a verified export holds, in tree order, ready to store.
fn import_of(repo: LoadedRepo) -> Result<Import, PdsError> {
    let mut tree = Mst::load(&repo.blocks, repo.commit.data)?;
    let mut nodes = Vec::new();
    let mut records = Vec::new();
    tree.walk_export(&repo.blocks, &mut |item| {
        match item {
            ExportItem::Node(cid, bytes) => nodes.push((*cid, bytes.to_vec())),
            ExportItem::Record(key, cid) => {
                let bytes = repo.blocks.get(cid).map(<[u8]>::to_vec).unwrap_or_default();
                records.push((String::from_utf8_lossy(key).into_owned(), *cid, bytes));
            }
        }
        Ok(())
    })?;
    let commit_block = repo
        .blocks
        .get(&repo.commit_cid)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok(Import {
        head: RepoRow {
            commit_cid: repo.commit_cid,
            commit_block,
            rev: repo.commit.rev().to_owned(),
            data: repo.commit.data,
        },
        nodes,
        records,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::LimitedReader;

    #[test]
    fn the_import_limit_is_noticed_not_truncated() {
        let mut fits = LimitedReader {
            inner: &[1u8, 2, 3][..],
            left: 3,
            exceeded: false,
        };
        let mut out = Vec::new();
        fits.read_to_end(&mut out).unwrap();
        assert_eq!((out.len(), fits.exceeded), (3, false));
        let mut over = LimitedReader {
            inner: &[1u8, 2, 3, 4][..],
            left: 3,
            exceeded: false,
        };
        assert!(over.read_to_end(&mut Vec::new()).is_err());
        assert!(over.exceeded);
    }
}
