//! Account lifecycle: deactivation and activation, status checks, deletion, and the admin's takedowns
//! of accounts, records and blobs.
//!
//! Spec: <https://atproto.com/specs/account> and the account-lifecycle guide. Every transition is
//! visible in `getRepoStatus` and as an `#account` event written in the same transaction. Activation
//! checks the DID document points here with our key first, and, when the repo's head commit was
//! signed by another key (an imported repo), re-signs it so the `#sync` that announces the account
//! verifies (the repository spec: a new commit whenever the signing key rotates).

use cid::Cid;

use super::auth::revoke_sessions;
use super::email::Purpose;
use super::rows::{AccountRow, AccountStatus};
use super::{
    Pds, PdsError, account_store, admin_roles, app_passwords, blob_store, email, events, oauth,
    preferences, repo_store,
};
use crate::core::crypto::{Algorithm, Keypair};
use crate::core::syntax::Did;
use crate::store::{StoreError, WriteTransaction};

/// The admin's decision on an account.
#[derive(Clone, Debug)]
pub enum Moderation {
    Takedown {
        reference: String,
    },
    /// Until an RFC 3339 time (UTC, `Z`), compared as text like every stored datetime.
    Suspend {
        reference: String,
        until: String,
    },
    Restore,
}

/// What the admin's status change is about.
#[derive(Clone, Debug)]
pub enum Subject {
    Repo(Did),
    /// A record, by its path (`collection/rkey`).
    Record {
        did: Did,
        path: String,
    },
    Blob {
        did: Did,
        cid: Cid,
    },
}

impl Subject {
    /// The account the subject belongs to.
    pub fn did(&self) -> &Did {
        match self {
            Subject::Repo(did) | Subject::Record { did, .. } | Subject::Blob { did, .. } => did,
        }
    }
}

/// What `checkAccountStatus` returns.
#[derive(Clone, Debug)]
pub struct AccountStatusReport {
    pub activated: bool,
    pub valid_did: bool,
    pub repo_commit: Cid,
    pub repo_rev: String,
    pub repo_blocks: u64,
    pub indexed_records: u64,
    pub expected_blobs: u64,
    pub imported_blobs: u64,
}

type Step = Result<Result<(), PdsError>, StoreError>;

fn taken_down() -> PdsError {
    PdsError::AccountTakedown("Account has been taken down".into())
}

fn not_found() -> PdsError {
    PdsError::InvalidRequest("Account not found".into())
}

fn is_taken_down(status: AccountStatus) -> bool {
    matches!(status, AccountStatus::Takendown | AccountStatus::Suspended)
}

impl Pds {
    /// Announces an account's current status.
    fn account_event(
        &self,
        txn: &WriteTransaction,
        account: &AccountRow,
    ) -> Result<(), StoreError> {
        let status = account.status;
        let now = self.clock().now_datetime();
        let event = events::account(
            account.did.as_str(),
            status.is_active(),
            status.as_status(),
            &now,
        );
        self.events().append(txn, event)?;
        Ok(())
    }

    /// Deactivates `did` in `txn`.
    fn deactivate_in(
        &self,
        txn: &WriteTransaction,
        did: &Did,
        delete_after: Option<String>,
    ) -> Step {
        let Some(mut account) = account_store::get(txn, did)? else {
            return Ok(Err(not_found()));
        };
        if is_taken_down(account.status) {
            return Ok(Err(taken_down()));
        }
        account.status = AccountStatus::Deactivated;
        account.delete_after = delete_after;
        account.deactivated_at = Some(self.clock().now_datetime());
        account_store::save(txn, &account)?;
        self.account_event(txn, &account)?;
        // Apps lose access at once; a reactivated account authorizes them again.
        oauth::store::delete_account_sessions(txn, did.as_str())?;
        Ok(Ok(()))
    }

    /// `deactivateAccount`: the account stops being served until it is activated again.
    pub async fn deactivate_account(
        &self,
        did: &Did,
        delete_after: Option<String>,
    ) -> Result<(), PdsError> {
        let (pds, did) = (self.clone(), did.clone());
        self.store()
            .write(move |txn| pds.deactivate_in(txn, &did, delete_after))
            .await
    }

    /// Whether `did`'s DID document names this server with this account's key (and, for did:plc,
    /// keeps our rotation key).
    pub(super) async fn did_document_points_here(&self, did: &Did) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| PdsError::Internal(e.to_string()))?;
        // Fresh: the document usually changed moments ago (the last step of a migration).
        let document = self
            .fresh_did_document(did)
            .await
            .ok_or_else(|| PdsError::InvalidRequest("Could not resolve DID".into()))?;
        if document.pds_endpoint() != Some(self.inner.config.public_url.as_str()) {
            return Err(PdsError::InvalidRequest(
                "DID document atproto_pds service endpoint does not match PDS public url".into(),
            ));
        }
        if document.signing_key().ok() != Some(key.public_key()) {
            return Err(PdsError::InvalidRequest(
                "DID document verification method does not match expected signing key".into(),
            ));
        }
        Ok(())
    }

    /// Activates `did` in `txn` (its DID document was checked before): re-signs an imported head
    /// and announces the account.
    fn activate_in(&self, txn: &WriteTransaction, did: &Did) -> Step {
        let Some(mut account) = account_store::get(txn, did)? else {
            return Ok(Err(PdsError::AccountNotFound("user not found".into())));
        };
        if is_taken_down(account.status) || account.status == AccountStatus::Deleted {
            return Ok(Err(taken_down()));
        }
        let key = Keypair::from_bytes(Algorithm::K256, &account.signing_key)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = self.clock().now_datetime();
        let signer = repo_store::Signer {
            did: did.as_str(),
            key: &key,
            rev: self.next_rev(None),
            time: now.clone(),
        };
        let Some(head) = repo_store::resign(txn, account.id, &signer)? else {
            return Ok(Err(PdsError::InvalidRequest(
                "The account has no repository yet: import one first".into(),
            )));
        };
        account.status = AccountStatus::Active;
        account.delete_after = None;
        account.deactivated_at = None;
        account_store::save(txn, &account)?;
        self.account_event(txn, &account)?;
        let log = self.events();
        log.append(
            txn,
            events::identity(did.as_str(), Some(&account.handle), &now),
        )?;
        let sync_car = repo_store::head_car(&head)?;
        log.append(txn, events::sync(did.as_str(), &head.rev, sync_car, &now))?;
        Ok(Ok(()))
    }

    /// `activateAccount`.
    pub async fn activate_account(&self, did: &Did) -> Result<(), PdsError> {
        self.did_document_points_here(did).await?;
        let (pds, did) = (self.clone(), did.clone());
        self.store()
            .write(move |txn| pds.activate_in(txn, &did))
            .await
    }

    /// Refuses an account the admin took down or suspended (uploads and imports stay open to
    /// deactivated accounts: a migration uploads before it activates).
    pub async fn check_not_taken_down(&self, did: &Did) -> Result<(), PdsError> {
        match self.account(did).await? {
            Some(account) if is_taken_down(account.status) => Err(taken_down()),
            Some(_) => Ok(()),
            None => Err(PdsError::AuthRequired("Account not found".into())),
        }
    }

    /// `checkAccountStatus`.
    pub async fn check_account_status(&self, did: &Did) -> Result<AccountStatusReport, PdsError> {
        let account = self.existing_account(did).await?;
        let valid_did = self.did_document_points_here(did).await.is_ok();
        let id = account.id;
        let (head, (blocks, records), expected, imported) = self
            .store()
            .read(move |txn| {
                let mut expected: Vec<Cid> = blob_store::refs(txn, id)?
                    .into_iter()
                    .map(|(cid, _)| cid)
                    .collect();
                expected.dedup();
                let mut imported = 0u64;
                for cid in &expected {
                    imported += u64::from(blob_store::get(txn, id, cid)?.is_some());
                }
                let count = u64::try_from(expected.len()).unwrap_or(u64::MAX);
                let head = repo_store::head(txn, id)?;
                Ok::<_, PdsError>((head, repo_store::counts(txn, id)?, count, imported))
            })
            .await?;
        let head =
            head.ok_or_else(|| PdsError::InvalidRequest("The account has no repository".into()))?;
        Ok(AccountStatusReport {
            activated: account.status.is_active(),
            valid_did,
            repo_commit: head.commit_cid,
            repo_rev: head.rev,
            repo_blocks: blocks + 1,
            indexed_records: records,
            expected_blobs: expected,
            imported_blobs: imported,
        })
    }

    /// `requestAccountDelete`: sends the code `deleteAccount` needs.
    pub async fn request_account_delete(&self, did: &Did) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        self.issue_code(did, account.email.as_deref(), Purpose::DeleteAccount)
            .await
    }

    /// `deleteAccount` (with password and code), or the admin's deletion (`None`): removes the
    /// repo, records, blobs and every row of the account, and announces `#account deleted`.
    pub async fn delete_account(
        &self,
        did: &Did,
        check: Option<(&str, &str)>,
    ) -> Result<(), PdsError> {
        let account = self.existing_account(did).await?;
        if let Some((password, token)) = check {
            if !self
                .inner
                .hashing
                .verify(password, &account.password_hash)
                .await?
            {
                return Err(PdsError::AuthRequired("Invalid did or password".into()));
            }
            self.consume_code(did, Purpose::DeleteAccount, token)
                .await?;
        }
        let pds = self.clone();
        let blobs: Vec<Cid> = self
            .store()
            .write(move |txn| pds.purge_account(txn, &account).map(Ok::<_, PdsError>))
            .await?;
        for cid in blobs {
            self.delete_blob_file_if_unused(&cid).await;
        }
        tracing::info!(%did, "account deleted");
        Ok(())
    }

    /// Removes every row that belongs to an account, through each table's owner, and announces
    /// the deletion; returns the blobs whose files may now be unused.
    fn purge_account(
        &self,
        txn: &WriteTransaction,
        account: &AccountRow,
    ) -> Result<Vec<Cid>, StoreError> {
        let (did, id) = (account.did.as_str(), account.id);
        admin_roles::forget(txn, did)?;
        repo_store::purge(txn, id)?;
        let blobs = blob_store::purge(txn, id)?;
        app_passwords::purge(txn, did)?;
        email::purge(txn, did)?;
        revoke_sessions(txn, did)?;
        preferences::purge(txn, did)?;
        account_store::remove(txn, account)?;
        // The account's past events go; only the deletion is announced.
        let log = self.events();
        log.forget_repo(txn, did)?;
        let now = self.clock().now_datetime();
        log.append(txn, events::account(did, false, Some("deleted"), &now))?;
        Ok(blobs)
    }

    /// Applies the admin's decision on an account in `txn`.
    fn moderate_in(&self, txn: &WriteTransaction, did: &Did, action: Moderation) -> Step {
        let Some(mut account) = account_store::get(txn, did)? else {
            return Ok(Err(not_found()));
        };
        match action {
            Moderation::Takedown { reference } => {
                account.status = AccountStatus::Takendown;
                account.takedown_ref = Some(reference);
                account.suspended_until = None;
                revoke_sessions(txn, did.as_str())?;
            }
            Moderation::Suspend { reference, until } => {
                account.status = AccountStatus::Suspended;
                account.takedown_ref = Some(reference);
                account.suspended_until = Some(until);
                revoke_sessions(txn, did.as_str())?;
            }
            Moderation::Restore => {
                if is_taken_down(account.status) {
                    account.status = if account.deactivated_at.is_some() {
                        AccountStatus::Deactivated
                    } else {
                        AccountStatus::Active
                    };
                }
                account.takedown_ref = None;
                account.suspended_until = None;
            }
        }
        account_store::save(txn, &account)?;
        self.account_event(txn, &account)?;
        Ok(Ok(()))
    }

    /// Applies the admin's decision on an account: a takedown, a suspension (a takedown that ends
    /// by itself), or a restore. Takedowns and suspensions end the account's sessions.
    pub async fn moderate_account(&self, did: &Did, action: Moderation) -> Result<(), PdsError> {
        let (pds, did) = (self.clone(), did.clone());
        self.store()
            .write(move |txn| pds.moderate_in(txn, &did, action))
            .await
    }

    /// The admin's status change of a subject, in one transaction: a takedown applied
    /// (`Some(Some(reference))`) or lifted (`Some(None)`), then a deactivation applied
    /// (`Some(true)`) or lifted (`Some(false)`, which checks the DID document first).
    pub async fn update_subject_status(
        &self,
        subject: &Subject,
        takedown: Option<Option<String>>,
        deactivated: Option<bool>,
    ) -> Result<(), PdsError> {
        if deactivated == Some(false) {
            self.did_document_points_here(subject.did()).await?;
        }
        let (pds, subject) = (self.clone(), subject.clone());
        self.store()
            .write(move |txn| {
                if let Some(reference) = takedown
                    && let Err(e) = pds.takedown_in(txn, &subject, reference)?
                {
                    return Ok(Err(e));
                }
                match deactivated {
                    Some(true) => pds.deactivate_in(txn, subject.did(), None),
                    Some(false) => pds.activate_in(txn, subject.did()),
                    None => Ok(Ok(())),
                }
            })
            .await
    }

    /// Takes a subject down (`Some`) or restores it (`None`) in `txn`.
    fn takedown_in(
        &self,
        txn: &WriteTransaction,
        subject: &Subject,
        reference: Option<String>,
    ) -> Step {
        let id = match account_store::repo_id(txn, subject.did())? {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        match subject {
            Subject::Repo(did) => {
                let action = match reference {
                    Some(reference) => Moderation::Takedown { reference },
                    None => Moderation::Restore,
                };
                self.moderate_in(txn, did, action)
            }
            Subject::Record { path, .. } => {
                repo_store::set_takedown(txn, id, path, reference.as_deref())?;
                Ok(Ok(()))
            }
            Subject::Blob { cid, .. } => blob_store::set_takedown(txn, id, cid, reference),
        }
    }

    /// Restores the accounts whose suspension has run out; returns how many.
    pub async fn lift_expired_suspensions(&self) -> Result<usize, PdsError> {
        let now = self.clock().now_datetime();
        let expired = self
            .store()
            .read(move |txn| {
                let ended = |a: &AccountRow| {
                    a.status == AccountStatus::Suspended
                        && a.suspended_until
                            .as_deref()
                            .is_some_and(|u| u <= now.as_str())
                };
                Ok::<_, PdsError>(account_store::search(txn, None, usize::MAX, ended)?)
            })
            .await?;
        for account in &expired {
            let did = account.did.clone();
            self.moderate_account(&did, Moderation::Restore).await?;
            tracing::info!(%did, "suspension ended");
        }
        Ok(expired.len())
    }

    /// The takedown reference of a record, if it is taken down.
    pub async fn record_takedown(&self, did: &Did, path: &str) -> Result<Option<String>, PdsError> {
        let (did, path) = (did.clone(), path.to_owned());
        self.store()
            .read(move |txn| match account_store::id(txn, &did)? {
                Some(id) => Ok(repo_store::takedown(txn, id, &path)?),
                None => Ok(None),
            })
            .await
    }
}
