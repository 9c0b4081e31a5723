//! Invite codes: created by the admin (for the admin or for accounts), consumed by createAccount,
//! listed per account.
//!
//! Code format follows the reference: `<hostname with dots as dashes>-<5>-<5>`, base32 lowercase.

use rand_core::{OsRng, RngCore};

use super::rows::{self, InviteRow};
use super::tables::{INVITE_USES, INVITES, INVITES_BY_ACCOUNT};
use super::{Pds, PdsError};
use crate::clock::now_datetime;
use crate::store::{StoreError, open_read_table};

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
        let created_at = now_datetime();
        self.store()
            .write(move |txn| {
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
                Ok(Ok::<_, PdsError>(()))
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
                let (Some(by_account), Some(invites)) = (
                    open_read_table(txn, INVITES_BY_ACCOUNT)?,
                    open_read_table(txn, INVITES)?,
                ) else {
                    return Ok(Vec::new());
                };
                let uses_table = open_read_table(txn, INVITE_USES)?;
                let mut out = Vec::new();
                for row in by_account.range((account.as_str(), "")..)? {
                    let (key, _) = row.map_err(StoreError::from)?;
                    let (owner, code) = key.value();
                    if owner != account {
                        break;
                    }
                    let Some(row) = invites.get(code)? else {
                        continue;
                    };
                    let row: InviteRow = rows::decode(row.value())?;
                    let mut uses = Vec::new();
                    if let Some(t) = &uses_table {
                        for u in t.range((code, "")..)? {
                            let (k, at) = u.map_err(StoreError::from)?;
                            if k.value().0 != code {
                                break;
                            }
                            uses.push((k.value().1.to_owned(), at.value()));
                        }
                    }
                    let used_up = uses.len() as u32 >= row.available;
                    if row.disabled || (used_up && !include_used) {
                        continue;
                    }
                    out.push(InviteInfo {
                        code: code.to_owned(),
                        available: row.available,
                        disabled: row.disabled,
                        for_account: row.for_account,
                        created_by: row.created_by,
                        created_at: row.created_at,
                        uses,
                    });
                }
                Ok::<_, PdsError>(out)
            })
            .await
    }
}
