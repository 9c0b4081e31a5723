//! Invite codes: created by the admin (for the admin or for accounts), consumed by createAccount,
//! listed per account or all together, disabled by code or by account.
//!
//! Code format follows the reference: `<hostname with dots as dashes>-<5>-<5>`, base32 lowercase.

use rand_core::{OsRng, RngCore};
use redb::{ReadableTable, TableDefinition};

use super::account_store;
use super::rows::{self, InviteRow};
use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError, WriteTransaction};

/// invite code → invite row.
const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("pds.invites");
/// (invite code, did that used it) → use time (micros).
const INVITE_USES: TableDefinition<(&str, &str), u64> = TableDefinition::new("pds.invite_uses");
/// (account did or "admin", invite code) → (): codes by the account they were issued to.
const INVITES_BY_ACCOUNT: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("pds.invites_by_account");

/// Most codes one createInviteCodes call makes per account.
const MAX_CODES_PER_CALL: u32 = 100;

/// An invite code with its uses.
#[derive(Clone, Debug)]
pub struct InviteInfo {
    pub code: String,
    pub available: u32,
    pub disabled: bool,
    pub for_account: String,
    pub created_by: String,
    pub created_at: String,
    /// (used by, used at micros).
    pub uses: Vec<(String, u64)>,
}

impl Pds {
    fn new_invite_code(&self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut bytes = [0u8; 10];
        OsRng.fill_bytes(&mut bytes);
        let random: String = bytes
            .iter()
            .map(|b| ALPHABET[(*b & 31) as usize] as char)
            .collect();
        let host = self.config().hostname.replace(['.', ':'], "-");
        format!("{host}-{}-{}", &random[..5], &random[5..])
    }

    /// Creates `count` codes of `uses` uses for each account (`"admin"` for codes for nobody).
    pub async fn create_invite_codes(
        &self,
        accounts: Vec<String>,
        count: u32,
        uses: u32,
        created_by: &str,
    ) -> Result<Vec<(String, Vec<String>)>, PdsError> {
        if count == 0 || count > MAX_CODES_PER_CALL {
            return Err(PdsError::InvalidRequest(format!(
                "codeCount must be 1 to {MAX_CODES_PER_CALL}"
            )));
        }
        if uses == 0 {
            return Err(PdsError::InvalidRequest(
                "useCount must be at least 1".into(),
            ));
        }
        let plan: Vec<(String, Vec<String>)> = accounts
            .into_iter()
            .map(|account| {
                let codes = (0..count).map(|_| self.new_invite_code()).collect();
                (account, codes)
            })
            .collect();
        let rows_plan = plan.clone();
        let created_by = created_by.to_owned();
        let created_at = self.clock().now_datetime();
        self.store()
            .write(move |txn| {
                for (account, _) in &rows_plan {
                    let row = match Did::parse(account) {
                        Ok(did) => account_store::get(txn, &did)?,
                        Err(_) => None,
                    };
                    if row.is_some_and(|r| r.invites_disabled) {
                        return Ok(Err(PdsError::InvalidRequest(format!(
                            "Invites are disabled for {account}"
                        ))));
                    }
                }
                let mut invites = txn.open_table(INVITES)?;
                let mut by_account = txn.open_table(INVITES_BY_ACCOUNT)?;
                for (account, codes) in &rows_plan {
                    for code in codes {
                        let row = InviteRow {
                            available: uses,
                            disabled: false,
                            for_account: account.clone(),
                            created_by: created_by.clone(),
                            created_at: created_at.clone(),
                        };
                        invites.insert(code.as_str(), rows::encode(&row)?.as_slice())?;
                        by_account.insert((account.as_str(), code.as_str()), ())?;
                    }
                }
                Ok(Ok(()))
            })
            .await?;
        Ok(plan)
    }

    /// The codes issued to an account, with their uses.
    pub async fn account_invite_codes(
        &self,
        account: &str,
        include_used: bool,
    ) -> Result<Vec<InviteInfo>, PdsError> {
        let account = account.to_owned();
        self.store()
            .read(move |txn| {
                let (Some(by_account), Some(invites)) =
                    (txn.table(INVITES_BY_ACCOUNT)?, txn.table(INVITES)?)
                else {
                    return Ok(Vec::new());
                };
                let uses_table = txn.table(INVITE_USES)?;
                let mut out = Vec::new();
                for row in by_account.range((account.as_str(), "")..)? {
                    let (key, _) = row.map_err(StoreError::from)?;
                    let (owner, code) = key.value();
                    if owner != account {
                        break;
                    }
                    let Some(info) = invite_info(&invites, uses_table.as_ref(), code)? else {
                        continue;
                    };
                    let used_up = info.uses.len() as u32 >= info.available;
                    if info.disabled || (used_up && !include_used) {
                        continue;
                    }
                    out.push(info);
                }
                Ok::<_, PdsError>(out)
            })
            .await
    }

    /// One code with its uses.
    pub async fn invite_code(&self, code: &str) -> Result<Option<InviteInfo>, PdsError> {
        let code = code.to_owned();
        self.store()
            .read(move |txn| {
                let Some(invites) = txn.table(INVITES)? else {
                    return Ok(None);
                };
                let uses = txn.table(INVITE_USES)?;
                invite_info(&invites, uses.as_ref(), &code)
            })
            .await
    }

    /// Every code (the admin's `getInviteCodes`): most recent first, or most used first; the
    /// cursor is an offset into that order.
    pub async fn all_invite_codes(
        &self,
        by_usage: bool,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<(Vec<InviteInfo>, Option<String>), PdsError> {
        let offset = match cursor {
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| PdsError::InvalidRequest("Malformed cursor".into()))?,
            None => 0,
        };
        let limit = limit.clamp(1, 500);
        let mut all = self
            .store()
            .read(move |txn| {
                let Some(invites) = txn.table(INVITES)? else {
                    return Ok(Vec::new());
                };
                let uses = txn.table(INVITE_USES)?;
                let mut out = Vec::new();
                for row in invites.iter()? {
                    let (code, _) = row.map_err(StoreError::from)?;
                    if let Some(info) = invite_info(&invites, uses.as_ref(), code.value())? {
                        out.push(info);
                    }
                }
                Ok::<_, PdsError>(out)
            })
            .await?;
        if by_usage {
            all.sort_by(|a, b| {
                b.uses
                    .len()
                    .cmp(&a.uses.len())
                    .then(b.created_at.cmp(&a.created_at))
            });
        } else {
            all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.code.cmp(&b.code)));
        }
        let page: Vec<InviteInfo> = all.into_iter().skip(offset).take(limit).collect();
        let next = (page.len() == limit).then(|| (offset + limit).to_string());
        Ok((page, next))
    }

    /// Disables codes, given by code or by the account they were issued to.
    pub async fn disable_invite_codes(
        &self,
        codes: Vec<String>,
        accounts: Vec<String>,
    ) -> Result<(), PdsError> {
        if accounts.iter().any(|a| a == "admin") {
            return Err(PdsError::InvalidRequest(
                "cannot disable admin invite codes".into(),
            ));
        }
        self.store()
            .write(move |txn| {
                let mut targets = codes;
                {
                    let by_account = txn.open_table(INVITES_BY_ACCOUNT)?;
                    for account in &accounts {
                        for row in by_account.range((account.as_str(), "")..)? {
                            let (k, _) = row?;
                            let (owner, code) = k.value();
                            if owner != account {
                                break;
                            }
                            targets.push(code.to_owned());
                        }
                    }
                }
                let mut invites = txn.open_table(INVITES)?;
                for code in &targets {
                    let row: Option<InviteRow> = rows::get(&invites, code.as_str())?;
                    if let Some(mut row) = row {
                        row.disabled = true;
                        invites.insert(code.as_str(), rows::encode(&row)?.as_slice())?;
                    }
                }
                Ok(Ok::<_, PdsError>(()))
            })
            .await
    }

    /// Whether an account may be given invite codes (`disableAccountInvites`/`enableAccountInvites`).
    pub async fn set_account_invites_disabled(
        &self,
        did: &Did,
        disabled: bool,
    ) -> Result<(), PdsError> {
        self.change_account(did, move |account| {
            account.invites_disabled = disabled;
            Ok(())
        })
        .await
    }
}

fn invite_info<I, U>(
    invites: &I,
    uses_table: Option<&U>,
    code: &str,
) -> Result<Option<InviteInfo>, PdsError>
where
    I: ReadableTable<&'static str, &'static [u8]>,
    U: ReadableTable<(&'static str, &'static str), u64>,
{
    let Some(row) = invites.get(code)? else {
        return Ok(None);
    };
    let row: InviteRow = rows::decode(row.value())?;
    let mut uses = Vec::new();
    if let Some(t) = uses_table {
        for u in t.range((code, "")..)? {
            let (k, at) = u.map_err(StoreError::from)?;
            if k.value().0 != code {
                break;
            }
            uses.push((k.value().1.to_owned(), at.value()));
        }
    }
    Ok(Some(InviteInfo {
        code: code.to_owned(),
        available: row.available,
        disabled: row.disabled,
        for_account: row.for_account,
        created_by: row.created_by,
        created_at: row.created_at,
        uses,
    }))
}

/// Whether an invite code exists, is not disabled and has uses left.
pub(super) fn available(txn: &impl Reads, code: &str) -> Result<bool, StoreError> {
    let Some(invites) = txn.table(INVITES)? else {
        return Ok(false);
    };
    let Some(row): Option<InviteRow> = rows::get(&invites, code)? else {
        return Ok(false);
    };
    if row.disabled {
        return Ok(false);
    }
    let mut used = 0u32;
    if let Some(uses) = txn.table(INVITE_USES)? {
        for entry in uses.range((code, "")..)? {
            if entry?.0.value().0 != code {
                break;
            }
            used += 1;
        }
    }
    Ok(used < row.available)
}

/// The refusal of a code that is not available.
pub(super) fn unavailable() -> PdsError {
    PdsError::InvalidInviteCode("Provided invite code not available".into())
}

/// Records that `did` used `code` at `at` (micros).
pub(super) fn record_use(
    txn: &WriteTransaction,
    code: &str,
    did: &str,
    at: u64,
) -> Result<(), StoreError> {
    txn.open_table(INVITE_USES)?.insert((code, did), at)?;
    Ok(())
}
