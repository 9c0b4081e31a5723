//! The admin role: accounts whose own full-access sessions may use the admin API
//! (`com.atproto.admin.*` and skyhold's `blue.skyhold.admin.*`), so a community's moderators work
//! from the web console with their own sign-in instead of sharing the admin password.
//!
//! Only the admin password grants or revokes the role (`skyhold admin grant|revoke`): a stolen
//! member session can never make more admins. The role goes with the account when it is deleted
//! (a did:web account signed up again under the same handle gets the same DID and must not
//! inherit it). This module is the one place that opens `pds.admin_roles`.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::rows::{self, AccountStatus};
use super::{Pds, PdsError, account_store};
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError, WriteTransaction};

/// did → role row.
const ADMIN_ROLES: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.admin_roles");

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RoleRow {
    granted_at: String,
}

/// An account holding the admin role.
#[derive(Clone, Debug)]
pub struct AdminMember {
    pub did: String,
    pub handle: String,
    pub granted_at: String,
    pub status: AccountStatus,
}

/// Drops the role of an account being deleted (called inside the deletion's transaction).
pub(super) fn forget(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    txn.open_table(ADMIN_ROLES)?.remove(did)?;
    Ok(())
}

impl Pds {
    /// Gives `did` the admin role (changes nothing when it has it). `Ok(false)` when it already had it.
    pub async fn grant_admin(&self, did: &Did) -> Result<bool, PdsError> {
        let did = did.clone();
        let granted_at = self.clock().now_datetime();
        self.store()
            .write(move |txn| {
                if account_store::get(txn, &did)?.is_none() {
                    return Ok(Err(PdsError::InvalidRequest("Account not found".into())));
                }
                let mut roles = txn.open_table(ADMIN_ROLES)?;
                if roles.get(did.as_str())?.is_some() {
                    return Ok(Ok(false));
                }
                let row = RoleRow { granted_at };
                roles.insert(did.as_str(), rows::encode(&row)?.as_slice())?;
                Ok(Ok(true))
            })
            .await
    }

    /// Takes the admin role away. `Ok(false)` when the account did not have it.
    pub async fn revoke_admin(&self, did: &Did) -> Result<bool, PdsError> {
        let did = did.clone();
        self.store()
            .write(move |txn| {
                let removed = txn.open_table(ADMIN_ROLES)?.remove(did.as_str())?.is_some();
                Ok(Ok::<_, PdsError>(removed))
            })
            .await
    }

    /// Whether `did` holds the admin role.
    pub async fn has_admin_role(&self, did: &Did) -> Result<bool, PdsError> {
        let did = did.clone();
        self.store()
            .read(move |txn| {
                let Some(roles) = txn.table(ADMIN_ROLES)? else {
                    return Ok(false);
                };
                Ok::<_, PdsError>(roles.get(did.as_str())?.is_some())
            })
            .await
    }

    /// Every account holding the role, in DID order (a community has a handful).
    pub async fn admin_members(&self) -> Result<Vec<AdminMember>, PdsError> {
        self.store()
            .read(move |txn| {
                let Some(roles) = txn.table(ADMIN_ROLES)? else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for row in roles.iter()? {
                    let (did, value) = row.map_err(StoreError::from)?;
                    let role: RoleRow = rows::decode(value.value())?;
                    // Deletion drops the role; a row without its account is skipped.
                    let Ok(did) = Did::parse(did.value()) else {
                        continue;
                    };
                    let Some(account) = account_store::get(txn, &did)? else {
                        continue;
                    };
                    out.push(AdminMember {
                        did: account.did.to_string(),
                        handle: account.handle,
                        granted_at: role.granted_at,
                        status: account.status,
                    });
                }
                Ok::<_, PdsError>(out)
            })
            .await
    }
}
