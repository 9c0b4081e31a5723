//! The account tables' one owner: account rows by DID, the interned account ids other tables key
//! rows by, and the handle and email indexes. Nothing else in the PDS opens these tables.
//!
//! Large tables key an account by its interned id (`u64`, big-endian in tuple keys) rather than its
//! DID. A deleted account's id goes with every row keyed by it.

use redb::{ReadableTable, TableDefinition};

use super::PdsError;
use super::rows::{self, AccountRow};
use crate::core::syntax::{AtIdentifier, Did};
use crate::store::{Reads, StoreError, WriteTransaction};

/// did → interned account id.
const DID_IDS: TableDefinition<&str, u64> = TableDefinition::new("pds.did_ids");
/// interned id → did.
const ID_DIDS: TableDefinition<u64, &str> = TableDefinition::new("pds.id_dids");
/// did → account row.
const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.accounts");
/// handle → did.
const HANDLES: TableDefinition<&str, &str> = TableDefinition::new("pds.handles");
/// lowercased email → did.
const EMAILS: TableDefinition<&str, &str> = TableDefinition::new("pds.emails");

/// Which identifier of a new or changed account is already someone else's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    Did,
    Handle,
    Email,
}

/// The account of `did`, any status.
pub fn get(txn: &impl Reads, did: &Did) -> Result<Option<AccountRow>, StoreError> {
    by_did(txn, did.as_str())
}

fn by_did(txn: &impl Reads, did: &str) -> Result<Option<AccountRow>, StoreError> {
    let Some(accounts) = txn.table(ACCOUNTS)? else {
        return Ok(None);
    };
    rows::get(&accounts, did)
}

/// The DID a handle (lowercase) belongs to.
pub fn handle_owner(txn: &impl Reads, handle: &str) -> Result<Option<String>, StoreError> {
    let Some(handles) = txn.table(HANDLES)? else {
        return Ok(None);
    };
    Ok(handles.get(handle)?.map(|v| v.value().to_owned()))
}

/// The DID an email address (lowercase) belongs to.
pub fn email_owner(txn: &impl Reads, email: &str) -> Result<Option<String>, StoreError> {
    let Some(emails) = txn.table(EMAILS)? else {
        return Ok(None);
    };
    Ok(emails.get(email)?.map(|v| v.value().to_owned()))
}

/// The account a DID or a handle hosted here names (a `repo` parameter).
pub fn find(txn: &impl Reads, repo: &AtIdentifier) -> Result<Option<AccountRow>, StoreError> {
    match repo {
        AtIdentifier::Did(did) => get(txn, did),
        AtIdentifier::Handle(handle) => match handle_owner(txn, handle.as_str())? {
            Some(did) => by_did(txn, &did),
            None => Ok(None),
        },
    }
}

/// The account a login identifier names: a DID, an email address or a handle (lowercase).
pub fn find_login(txn: &impl Reads, identifier: &str) -> Result<Option<AccountRow>, StoreError> {
    let did = if identifier.starts_with("did:") {
        Some(identifier.to_owned())
    } else if identifier.contains('@') {
        email_owner(txn, identifier)?
    } else {
        handle_owner(txn, identifier)?
    };
    match did {
        Some(did) => by_did(txn, &did),
        None => Ok(None),
    }
}

/// The interned id of `did`, if it has an account.
pub fn id(txn: &impl Reads, did: &Did) -> Result<Option<u64>, StoreError> {
    let Some(ids) = txn.table(DID_IDS)? else {
        return Ok(None);
    };
    Ok(ids.get(did.as_str())?.map(|v| v.value()))
}

/// The id of `did`'s repo, or the refusal a write to an unknown repo gets.
pub fn repo_id(txn: &impl Reads, did: &Did) -> Result<Result<u64, PdsError>, StoreError> {
    Ok(id(txn, did)?.ok_or_else(|| PdsError::RepoNotFound(format!("Could not find repo: {did}"))))
}

/// Up to `limit` (id, did) pairs after the id `after`, in creation order.
pub fn ids_after(
    txn: &impl Reads,
    after: u64,
    limit: usize,
) -> Result<Vec<(u64, String)>, StoreError> {
    let Some(ids) = txn.table(ID_DIDS)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in ids.range(after.saturating_add(1)..)?.take(limit) {
        let (id, did) = row?;
        out.push((id.value(), did.value().to_owned()));
    }
    Ok(out)
}

/// Accounts in DID order after `after` that `wanted` accepts, at most `limit`.
pub fn search(
    txn: &impl Reads,
    after: Option<&str>,
    limit: usize,
    wanted: impl Fn(&AccountRow) -> bool,
) -> Result<Vec<AccountRow>, StoreError> {
    let Some(accounts) = txn.table(ACCOUNTS)? else {
        return Ok(Vec::new());
    };
    let range = match after {
        Some(after) => accounts
            .range::<&str>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))?,
        None => accounts.range::<&str>(..)?,
    };
    let mut out = Vec::new();
    for row in range {
        let (_, v) = row?;
        let account: AccountRow = rows::decode(v.value())?;
        if wanted(&account) {
            out.push(account);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Calls `visit` with every account, in DID order (for counts over a community's accounts).
pub fn for_each(txn: &impl Reads, mut visit: impl FnMut(&AccountRow)) -> Result<(), StoreError> {
    let Some(accounts) = txn.table(ACCOUNTS)? else {
        return Ok(());
    };
    for row in accounts.range::<&str>(..)? {
        let (_, v) = row?;
        visit(&rows::decode::<AccountRow>(v.value())?);
    }
    Ok(())
}

/// Stores a new account under a fresh id; refuses a DID, handle or email already taken (nothing
/// is written then). Returns the row with its id.
pub fn create(
    txn: &WriteTransaction,
    mut account: AccountRow,
) -> Result<Result<AccountRow, Taken>, StoreError> {
    let email = account.email.clone().unwrap_or_default();
    if by_did(txn, account.did.as_str())?.is_some() {
        return Ok(Err(Taken::Did));
    }
    if handle_owner(txn, &account.handle)?.is_some() {
        return Ok(Err(Taken::Handle));
    }
    if email_owner(txn, &email)?.is_some() {
        return Ok(Err(Taken::Email));
    }
    let mut names = txn.open_table(ID_DIDS)?;
    account.id = names.last()?.map_or(1, |(k, _)| k.value() + 1);
    names.insert(account.id, account.did.as_str())?;
    txn.open_table(DID_IDS)?
        .insert(account.did.as_str(), account.id)?;
    txn.open_table(HANDLES)?
        .insert(account.handle.as_str(), account.did.as_str())?;
    txn.open_table(EMAILS)?
        .insert(email.as_str(), account.did.as_str())?;
    save(txn, &account)?;
    Ok(Ok(account))
}

/// Stores a changed account row (its handle and email indexes change through `set_handle` and
/// `set_email`).
pub fn save(txn: &WriteTransaction, account: &AccountRow) -> Result<(), StoreError> {
    txn.open_table(ACCOUNTS)?
        .insert(account.did.as_str(), rows::encode(account)?.as_slice())?;
    Ok(())
}

/// Gives `account` a new handle (refused when another account holds it).
pub fn set_handle(
    txn: &WriteTransaction,
    account: &mut AccountRow,
    handle: &str,
) -> Result<Result<(), Taken>, StoreError> {
    let mut handles = txn.open_table(HANDLES)?;
    if let Some(owner) = handles.get(handle)?
        && owner.value() != account.did.as_str()
    {
        return Ok(Err(Taken::Handle));
    }
    handles.remove(account.handle.as_str())?;
    handles.insert(handle, account.did.as_str())?;
    drop(handles);
    account.handle = handle.to_owned();
    save(txn, account)?;
    Ok(Ok(()))
}

/// Gives `account` a new email address, unconfirmed (refused when another account holds it; the
/// same address keeps its confirmation).
pub fn set_email(
    txn: &WriteTransaction,
    account: &mut AccountRow,
    email: &str,
) -> Result<Result<(), Taken>, StoreError> {
    let mut emails = txn.open_table(EMAILS)?;
    if let Some(owner) = emails.get(email)?
        && owner.value() != account.did.as_str()
    {
        return Ok(Err(Taken::Email));
    }
    if account.email.as_deref() != Some(email) {
        if let Some(old) = &account.email {
            emails.remove(old.as_str())?;
        }
        emails.insert(email, account.did.as_str())?;
        account.email = Some(email.to_owned());
        account.email_confirmed_at = None;
    }
    drop(emails);
    save(txn, account)?;
    Ok(Ok(()))
}

/// Removes the account, its id and its handle and email entries.
pub fn remove(txn: &WriteTransaction, account: &AccountRow) -> Result<(), StoreError> {
    let did = account.did.as_str();
    txn.open_table(HANDLES)?.remove(account.handle.as_str())?;
    if let Some(email) = &account.email {
        txn.open_table(EMAILS)?.remove(email.as_str())?;
    }
    txn.open_table(ACCOUNTS)?.remove(did)?;
    txn.open_table(DID_IDS)?.remove(did)?;
    txn.open_table(ID_DIDS)?.remove(account.id)?;
    Ok(())
}
