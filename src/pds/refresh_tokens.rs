//! Stored refresh tokens and their index by account, so that ending an account's sessions (a
//! password change, a takedown, a revoked app password) reads that account's tokens, not the whole
//! table, and an account keeps at most [`MAX_SESSIONS_PER_ACCOUNT`] (a new login past that ends the
//! session that expires first). A token used for a refresh is kept only for its replay grace.

use redb::{ReadableTable, ReadableTableMetadata};

use super::rows::{self, RefreshRow};
use super::tables::{REFRESH_BY_ACCOUNT, REFRESH_TOKENS};
use crate::store::{StoreError, WriteTransaction};

/// Sessions an account keeps at most.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 100;

/// The index's order of a token: its expiry, then (within a second) when it was stored, in
/// microseconds, so the session that expires first is also the oldest of its second.
fn order(row: &RefreshRow) -> i64 {
    row.expires_at
        .saturating_mul(1_000_000)
        .saturating_add(crate::clock::now_micros() % 1_000_000)
}

/// Stores a token row and indexes it under its account.
pub fn insert(txn: &WriteTransaction, jti: &str, row: &RefreshRow) -> Result<(), StoreError> {
    txn.open_table(REFRESH_TOKENS)?
        .insert(jti, rows::encode(row)?.as_slice())?;
    txn.open_table(REFRESH_BY_ACCOUNT)?
        .insert((row.did.as_str(), jti), order(row))?;
    Ok(())
}

/// Removes a token (and its index entry); returns its row if it existed.
pub fn remove(txn: &WriteTransaction, jti: &str) -> Result<Option<RefreshRow>, StoreError> {
    let removed: Option<RefreshRow> = txn
        .open_table(REFRESH_TOKENS)?
        .remove(jti)?
        .map(|v| rows::decode(v.value()))
        .transpose()?;
    if let Some(row) = &removed {
        txn.open_table(REFRESH_BY_ACCOUNT)?
            .remove((row.did.as_str(), jti))?;
    }
    Ok(removed)
}

/// The account's tokens as (id, order: expiry first).
pub fn of_account(txn: &WriteTransaction, did: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let index = txn.open_table(REFRESH_BY_ACCOUNT)?;
    let mut out = Vec::new();
    for entry in index.range((did, "")..)? {
        let (key, expires) = entry?;
        let (owner, jti) = key.value();
        if owner != did {
            break;
        }
        out.push((jti.to_owned(), expires.value()));
    }
    Ok(out)
}

/// Makes room for one more session of `did`: ends those that expire first beyond the cap.
pub fn make_room(txn: &WriteTransaction, did: &str) -> Result<(), StoreError> {
    let mut sessions = of_account(txn, did)?;
    if sessions.len() < MAX_SESSIONS_PER_ACCOUNT {
        return Ok(());
    }
    sessions.sort_by_key(|(_, expires)| *expires);
    let excess = sessions.len() + 1 - MAX_SESSIONS_PER_ACCOUNT;
    for (jti, _) in sessions.into_iter().take(excess) {
        remove(txn, &jti)?;
    }
    Ok(())
}

/// Ends every session of `did` (and, with `app_password`, only those it opened).
pub fn revoke(
    txn: &WriteTransaction,
    did: &str,
    app_password: Option<&str>,
) -> Result<(), StoreError> {
    for (jti, _) in of_account(txn, did)? {
        let row: Option<RefreshRow> = txn
            .open_table(REFRESH_TOKENS)?
            .get(jti.as_str())?
            .map(|v| rows::decode(v.value()))
            .transpose()?;
        let matches = match (app_password, &row) {
            (None, _) => true,
            (Some(name), Some(row)) => row.app_password.as_deref() == Some(name),
            (Some(_), None) => false,
        };
        if matches {
            remove(txn, &jti)?;
        }
        if row.is_none() {
            // An index entry whose token is gone.
            txn.open_table(REFRESH_BY_ACCOUNT)?
                .remove((did, jti.as_str()))?;
        }
    }
    Ok(())
}

/// Indexes tokens stored before the index existed (run once at start; a no-op afterwards).
pub fn index_existing(txn: &WriteTransaction) -> Result<usize, StoreError> {
    if !txn.open_table(REFRESH_BY_ACCOUNT)?.is_empty()? {
        return Ok(0);
    }
    let tokens = txn.open_table(REFRESH_TOKENS)?;
    let mut index = txn.open_table(REFRESH_BY_ACCOUNT)?;
    let mut count = 0;
    for entry in tokens.iter()? {
        let (key, value) = entry?;
        let row: RefreshRow = rows::decode(value.value())?;
        index.insert((row.did.as_str(), key.value()), order(&row))?;
        count += 1;
    }
    Ok(count)
}
