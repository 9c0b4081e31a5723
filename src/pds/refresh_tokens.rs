//! Stored refresh tokens and their index by account, so that ending an account's sessions (a
//! password change, a takedown, a revoked app password) reads that account's tokens, not the whole
//! table, and an account keeps at most [`MAX_SESSIONS_PER_ACCOUNT`] (a new login past that ends the
//! session that expires first). A token used for a refresh is kept only for its replay grace.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::PdsError;
use super::rows::{self, RefreshRow};
use crate::store::{StoreError, WriteTransaction};

/// refresh token id → refresh row.
const REFRESH_TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.refresh_tokens");
/// (did, refresh token id) → expiry in microseconds: an account's sessions, soonest to end first.
const REFRESH_BY_ACCOUNT: TableDefinition<(&str, &str), i64> =
    TableDefinition::new("pds.refresh_by_account");

/// Sessions an account keeps at most.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 100;
/// How long after its first use a refresh token may be replayed for the same successor.
const REFRESH_GRACE_SECS: i64 = 2 * 60 * 60;

/// The index's order of a token: its expiry, then (within a second) the microsecond it was issued
/// at, so the session that expires first is also the oldest of its second. `issued_micros` must be
/// the instant the expiry was computed from: the write runs later, perhaps in the next second, and
/// a sub-second taken then would put a newer token before an older one of the same expiry.
fn order(row: &RefreshRow, issued_micros: i64) -> i64 {
    row.expires_at
        .saturating_mul(1_000_000)
        .saturating_add(issued_micros.rem_euclid(1_000_000))
}

/// Stores a token row issued at `issued_micros` (its expiry was computed then) and indexes it under
/// its account.
pub fn insert(
    txn: &WriteTransaction,
    jti: &str,
    row: &RefreshRow,
    issued_micros: i64,
) -> Result<(), StoreError> {
    txn.open_table(REFRESH_TOKENS)?
        .insert(jti, rows::encode(row)?.as_slice())?;
    txn.open_table(REFRESH_BY_ACCOUNT)?
        .insert((row.did.as_str(), jti), order(row, issued_micros))?;
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
        let row: Option<RefreshRow> = rows::get(&txn.open_table(REFRESH_TOKENS)?, jti.as_str())?;
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

/// A rotated refresh token's successor: (id, expiry, the app password the session uses).
pub type Successor = (String, i64, Option<String>);

/// Uses the refresh token `jti` of `did` at `now_micros`: stores the successor `next` (id,
/// expiry) and keeps the used token only for its replay grace. A replay within the grace gets the
/// same successor; a later one revokes the token. Returns (successor id, expiry, app password).
pub fn rotate(
    txn: &WriteTransaction,
    jti: &str,
    did: &str,
    now_micros: i64,
    next: (String, i64),
) -> Result<Result<Successor, PdsError>, StoreError> {
    let now = now_micros.div_euclid(1_000_000);
    let revoked = || PdsError::ExpiredToken("Token has been revoked".into());
    let table = txn.open_table(REFRESH_TOKENS)?;
    let Some(row) = table.get(jti)?.map(|v| v.value().to_vec()) else {
        return Ok(Err(revoked()));
    };
    let mut row: RefreshRow = rows::decode(&row)?;
    if row.did != did {
        return Ok(Err(PdsError::InvalidToken(
            "Token could not be verified".into(),
        )));
    }
    if let (Some(next), Some(used)) = (&row.next_id, row.used_at) {
        if now - used <= REFRESH_GRACE_SECS {
            // A replay within the grace period gets the same successor again.
            let successor: Option<RefreshRow> = rows::get(&table, next.as_str())?;
            return Ok(match successor {
                Some(s) => Ok((next.clone(), s.expires_at, s.app_password)),
                None => Err(revoked()),
            });
        }
        drop(table);
        remove(txn, jti)?;
        return Ok(Err(revoked()));
    }
    drop(table);
    let (next_jti, next_exp) = next;
    let successor = RefreshRow {
        did: row.did.clone(),
        expires_at: next_exp,
        app_password: row.app_password.clone(),
        next_id: None,
        used_at: None,
    };
    // The used token lives on only for its replay grace.
    row.next_id = Some(next_jti.clone());
    row.used_at = Some(now);
    row.expires_at = row.expires_at.min(now + REFRESH_GRACE_SECS);
    insert(txn, jti, &row, now_micros)?;
    insert(txn, &next_jti, &successor, now_micros)?;
    Ok(Ok((next_jti, next_exp, successor.app_password)))
}

/// Removes the tokens past their expiry at `now` (seconds); returns how many went.
pub fn sweep(txn: &WriteTransaction, now: i64) -> Result<usize, StoreError> {
    let mut expired = Vec::new();
    for row in txn.open_table(REFRESH_TOKENS)?.iter()? {
        let (key, value) = row?;
        let row: RefreshRow = rows::decode(value.value())?;
        if row.expires_at <= now {
            expired.push(key.value().to_owned());
        }
    }
    for key in &expired {
        remove(txn, key)?;
    }
    Ok(expired.len())
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
        // When these were issued is not stored; their expiry alone orders them.
        index.insert((row.did.as_str(), key.value()), order(&row, 0))?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn row(expires_at: i64) -> RefreshRow {
        RefreshRow {
            did: "did:plc:gina".into(),
            expires_at,
            app_password: None,
            next_id: None,
            used_at: None,
        }
    }

    /// Tokens of one expiry are ordered by the microsecond they were issued at, which the caller
    /// passes in, not by when the write runs: a login's write may run after a later login's (the
    /// CI flake of `an_account_keeps_a_bounded_number_of_sessions`). Here the first-issued token is
    /// written last.
    #[tokio::test]
    async fn the_first_issued_session_of_a_second_is_the_one_ended() {
        let dir = std::env::temp_dir().join(format!(
            "skyhold-refresh-order-{}-{}",
            std::process::id(),
            crate::clock::now_micros()
        ));
        let store = Store::open(&dir).unwrap();
        let second = 1_800_000_000_i64;
        let first = second * 1_000_000 + 1_000;
        let expiry = second + 10;
        let left = store
            .write(move |txn| {
                for i in 1..MAX_SESSIONS_PER_ACCOUNT as i64 {
                    insert(txn, &format!("later-{i:03}"), &row(expiry), first + i)?;
                }
                insert(txn, "first", &row(expiry), first)?;
                make_room(txn, "did:plc:gina")?;
                Ok(Ok::<_, StoreError>(of_account(txn, "did:plc:gina")?))
            })
            .await
            .unwrap();
        assert_eq!(left.len(), MAX_SESSIONS_PER_ACCOUNT - 1);
        assert!(left.iter().all(|(jti, _)| jti != "first"), "{left:?}");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
