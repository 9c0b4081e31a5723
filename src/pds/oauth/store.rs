//! The OAuth server's tables and rows. Only this module opens them: pending authorization
//! requests (PAR), sessions (one per authorization, with the current refresh token), the refresh
//! tokens by digest, and each account's sessions. Stored tokens are SHA-256 digests, never the
//! tokens themselves.

use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::oauth::assertion::ClientKey;
use crate::pds::rows;
use crate::store::{StoreError, open_read_table};

/// name → secret bytes (the access-token key, the DPoP nonce key).
const SECRETS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.oauth_secrets");
/// request id → request row: authorization requests pushed and not yet redeemed.
const REQUESTS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.oauth_requests");
/// authorization code digest → request id.
const CODES: TableDefinition<&[u8], &str> = TableDefinition::new("pds.oauth_codes");
/// session id → session row.
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.oauth_sessions");
/// refresh token digest → (session id, whether it was already used).
const REFRESH: TableDefinition<&[u8], (&str, bool)> = TableDefinition::new("pds.oauth_refresh");
/// (did, session id) → (): an account's sessions.
const BY_ACCOUNT: TableDefinition<(&str, &str), ()> = TableDefinition::new("pds.oauth_by_account");

/// SHA-256 of a token: the key it is stored under.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A pushed authorization request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRow {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub login_hint: Option<String>,
    /// `query` or `fragment`.
    pub response_mode: String,
    /// The DPoP key the client pushed the request with: the code is redeemable only with it.
    pub dpop_jkt: String,
    /// The key a confidential client authenticated with at PAR.
    pub client_key: Option<ClientKey>,
    pub expires_at: i64,
    /// Set once the account signed in and consented.
    pub did: Option<String>,
    pub code_expires_at: Option<i64>,
}

/// An authorized session of one client for one account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRow {
    pub did: String,
    pub client_id: String,
    pub client_name: Option<String>,
    /// The app's home page and logo when it signed in (shown in the account's list of apps).
    #[serde(default)]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub logo_uri: Option<String>,
    pub scope: String,
    pub dpop_jkt: String,
    pub client_key: Option<ClientKey>,
    pub created_at: i64,
    /// The end of the session, whatever the refreshes.
    pub expires_at: i64,
    /// When the current refresh token stops being valid.
    pub refresh_expires_at: i64,
    pub refresh_digest: Vec<u8>,
    /// The refresh token used last: kept (marked used) so its reuse ends the session. Older
    /// ones are forgotten, so a session holds at most two refresh rows.
    #[serde(default)]
    pub previous_digest: Option<Vec<u8>>,
    pub last_refreshed_at: i64,
}

fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
    rows::encode(row)
}

/// Reads the named secret, storing `fresh` first when there is none.
pub fn secret(txn: &WriteTransaction, name: &str, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut table = txn.open_table(SECRETS)?;
    if let Some(existing) = table.get(name)? {
        return Ok(existing.value().to_vec());
    }
    table.insert(name, fresh)?;
    Ok(fresh.to_vec())
}

pub fn put_request(txn: &WriteTransaction, id: &str, row: &RequestRow) -> Result<(), StoreError> {
    txn.open_table(REQUESTS)?
        .insert(id, encode(row)?.as_slice())?;
    Ok(())
}

pub fn get_request(txn: &WriteTransaction, id: &str) -> Result<Option<RequestRow>, StoreError> {
    let table = txn.open_table(REQUESTS)?;
    rows::get(&table, id)
}

pub fn read_request(
    txn: &redb::ReadTransaction,
    id: &str,
) -> Result<Option<RequestRow>, StoreError> {
    let Some(table) = open_read_table(txn, REQUESTS)? else {
        return Ok(None);
    };
    rows::get(&table, id)
}

pub fn delete_request(txn: &WriteTransaction, id: &str) -> Result<(), StoreError> {
    txn.open_table(REQUESTS)?.remove(id)?;
    Ok(())
}

pub fn put_code(txn: &WriteTransaction, code: &str, request_id: &str) -> Result<(), StoreError> {
    txn.open_table(CODES)?
        .insert(digest(code).as_slice(), request_id)?;
    Ok(())
}

/// Takes a code out (a code is good for one try, whatever its outcome).
pub fn take_code(txn: &WriteTransaction, code: &str) -> Result<Option<String>, StoreError> {
    let mut table = txn.open_table(CODES)?;
    let removed = table.remove(digest(code).as_slice())?;
    Ok(removed.map(|v| v.value().to_owned()))
}

pub fn put_session(txn: &WriteTransaction, id: &str, row: &SessionRow) -> Result<(), StoreError> {
    txn.open_table(SESSIONS)?
        .insert(id, encode(row)?.as_slice())?;
    txn.open_table(BY_ACCOUNT)?
        .insert((row.did.as_str(), id), ())?;
    txn.open_table(REFRESH)?
        .insert(row.refresh_digest.as_slice(), (id, false))?;
    Ok(())
}

pub fn get_session(txn: &WriteTransaction, id: &str) -> Result<Option<SessionRow>, StoreError> {
    let table = txn.open_table(SESSIONS)?;
    rows::get(&table, id)
}

pub fn read_session(
    txn: &redb::ReadTransaction,
    id: &str,
) -> Result<Option<SessionRow>, StoreError> {
    let Some(table) = open_read_table(txn, SESSIONS)? else {
        return Ok(None);
    };
    rows::get(&table, id)
}

/// The session a refresh token belongs to, and whether the token was already used.
pub fn find_refresh(
    txn: &WriteTransaction,
    token: &str,
) -> Result<Option<(String, bool)>, StoreError> {
    let table = txn.open_table(REFRESH)?;
    let found = table.get(digest(token).as_slice())?;
    Ok(found.map(|v| {
        let (id, used) = v.value();
        (id.to_owned(), used)
    }))
}

/// Makes `row.refresh_digest` the session's refresh token: the one it replaces
/// (`row.previous_digest`) stays, marked used; the one before that is forgotten.
pub fn rotate_refresh(
    txn: &WriteTransaction,
    id: &str,
    forgotten: Option<&[u8]>,
    row: &SessionRow,
) -> Result<(), StoreError> {
    let mut refresh = txn.open_table(REFRESH)?;
    if let Some(digest) = forgotten {
        refresh.remove(digest)?;
    }
    if let Some(previous) = &row.previous_digest {
        refresh.insert(previous.as_slice(), (id, true))?;
    }
    drop(refresh);
    put_session(txn, id, row)
}

/// Deletes a session and its refresh tokens.
pub fn delete_session(txn: &WriteTransaction, id: &str) -> Result<Option<SessionRow>, StoreError> {
    let row = {
        let mut sessions = txn.open_table(SESSIONS)?;
        let removed = sessions.remove(id)?;
        removed
            .map(|v| rows::decode::<SessionRow>(v.value()))
            .transpose()?
    };
    let Some(row) = row else {
        return Ok(None);
    };
    txn.open_table(BY_ACCOUNT)?.remove((row.did.as_str(), id))?;
    let mut refresh = txn.open_table(REFRESH)?;
    refresh.remove(row.refresh_digest.as_slice())?;
    if let Some(previous) = &row.previous_digest {
        refresh.remove(previous.as_slice())?;
    }
    Ok(Some(row))
}

/// The ids of an account's sessions.
fn account_session_ids(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    did: &str,
) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for entry in table.range((did, "")..)? {
        let (key, _) = entry?;
        let (owner, id) = key.value();
        if owner != did {
            break;
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// An account's sessions, with their ids.
pub fn account_sessions(
    txn: &redb::ReadTransaction,
    did: &str,
) -> Result<Vec<(String, SessionRow)>, StoreError> {
    let Some(table) = open_read_table(txn, BY_ACCOUNT)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in account_session_ids(&table, did)? {
        if let Some(row) = read_session(txn, &id)? {
            out.push((id, row));
        }
    }
    Ok(out)
}

/// Deletes an account's sessions of one client (the account revoked the app); returns how many.
pub fn delete_client_sessions(
    txn: &WriteTransaction,
    did: &str,
    client_id: &str,
) -> Result<usize, StoreError> {
    let ids = account_session_ids(&txn.open_table(BY_ACCOUNT)?, did)?;
    let mut gone = 0;
    for id in &ids {
        if get_session(txn, id)?.is_some_and(|s| s.client_id == client_id) {
            delete_session(txn, id)?;
            gone += 1;
        }
    }
    Ok(gone)
}

/// Deletes every session of an account (takedown, deactivation, deletion); returns how many.
pub fn delete_account_sessions(txn: &WriteTransaction, did: &str) -> Result<usize, StoreError> {
    let ids = account_session_ids(&txn.open_table(BY_ACCOUNT)?, did)?;
    for id in &ids {
        delete_session(txn, id)?;
    }
    Ok(ids.len())
}

/// Removes requests and sessions that ended before `now`; returns how many rows went.
pub fn sweep(txn: &WriteTransaction, now: i64) -> Result<usize, StoreError> {
    let mut gone = 0;
    let stale_requests: Vec<String> = txn
        .open_table(REQUESTS)?
        .iter()?
        .filter_map(Result::ok)
        .filter(|(_, v)| rows::decode::<RequestRow>(v.value()).is_ok_and(|r| r.expires_at < now))
        .map(|(k, _)| k.value().to_owned())
        .collect();
    for id in stale_requests {
        delete_request(txn, &id)?;
        gone += 1;
    }
    let stale_sessions: Vec<String> = txn
        .open_table(SESSIONS)?
        .iter()?
        .filter_map(Result::ok)
        .filter(|(_, v)| {
            rows::decode::<SessionRow>(v.value())
                .is_ok_and(|r| r.expires_at < now || r.refresh_expires_at < now)
        })
        .map(|(k, _)| k.value().to_owned())
        .collect();
    for id in stale_sessions {
        delete_session(txn, &id)?;
        gone += 1;
    }
    Ok(gone)
}
