//! What the admin reads about accounts and subjects: account views, search, and the status of an
//! account, record or blob (`com.atproto.admin.*`; the writes live with the state they change:
//! `lifecycle.rs`, `account_email.rs`, `invites.rs`, `identity_ops.rs`).

use cid::Cid;

use super::repo_store::{self, RecordPath};
use super::rows::AccountRow;
use super::{Pds, PdsError, account_store, blob_store};
use crate::core::syntax::Did;

/// An account as the admin sees it.
#[derive(Clone, Debug)]
pub struct AdminAccount {
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed_at: Option<String>,
    pub created_at: String,
    pub invite_code: Option<String>,
    pub invites_disabled: bool,
    pub deactivated_at: Option<String>,
    pub takedown_ref: Option<String>,
}

impl From<AccountRow> for AdminAccount {
    fn from(row: AccountRow) -> Self {
        AdminAccount {
            did: row.did,
            handle: row.handle,
            email: row.email,
            email_confirmed_at: row.email_confirmed_at,
            created_at: row.created_at,
            invite_code: row.invite_code,
            invites_disabled: row.invites_disabled,
            deactivated_at: row.deactivated_at,
            takedown_ref: row.takedown_ref,
        }
    }
}

impl Pds {
    /// One account, any status.
    pub async fn admin_account(&self, did: &Did) -> Result<Option<AdminAccount>, PdsError> {
        Ok(self.account(did).await?.map(AdminAccount::from))
    }

    /// Accounts in DID order after `cursor`, those whose email or handle contains `query` (all
    /// when `None`).
    pub async fn search_accounts(
        &self,
        query: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<AdminAccount>, Option<String>), PdsError> {
        let query = query.map(str::to_ascii_lowercase).filter(|q| !q.is_empty());
        let after = cursor.map(str::to_owned);
        let limit = limit.clamp(1, 100);
        let accounts = self
            .store()
            .read(move |txn| {
                let matches = |account: &AccountRow| match &query {
                    None => true,
                    Some(q) => {
                        account.handle.contains(q.as_str())
                            || account
                                .email
                                .as_deref()
                                .is_some_and(|e| e.contains(q.as_str()))
                    }
                };
                Ok::<_, PdsError>(account_store::search(
                    txn,
                    after.as_deref(),
                    limit,
                    matches,
                )?)
            })
            .await?;
        let out: Vec<AdminAccount> = accounts.into_iter().map(AdminAccount::from).collect();
        let next = (out.len() == limit)
            .then(|| out.last().map(|a| a.did.clone()))
            .flatten();
        Ok((out, next))
    }

    /// The takedown reference of a blob, if it is taken down (`Err` when the account does not
    /// hold the blob).
    pub async fn blob_takedown(&self, did: &Did, cid: &Cid) -> Result<Option<String>, PdsError> {
        let (did, cid) = (did.clone(), *cid);
        self.store()
            .read(move |txn| {
                let row = match account_store::id(txn, &did)? {
                    Some(id) => blob_store::get(txn, id, &cid)?,
                    None => None,
                };
                let row = row.ok_or_else(|| PdsError::BlobNotFound("Blob not found".into()))?;
                Ok(row.takedown_ref)
            })
            .await
    }

    /// The CID of a record whatever its status or takedown (for the admin's subject status).
    pub async fn record_cid(&self, did: &Did, path: &str) -> Result<Option<Cid>, PdsError> {
        let (did, path) = (did.clone(), path.to_owned());
        self.store()
            .read(move |txn| {
                let Some((collection, rkey)) = path.split_once('/') else {
                    return Ok(None);
                };
                let Some(id) = account_store::id(txn, &did)? else {
                    return Ok(None);
                };
                let row = repo_store::record(txn, id, RecordPath { collection, rkey })?;
                Ok::<_, PdsError>(row.map(|r| r.cid))
            })
            .await
    }
}
