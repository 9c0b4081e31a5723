//! The audit log: every admin action, whoever took it (an account with the admin role from the
//! web console, or the admin password from the command line or a script), when, on what, and why.
//! The console shows it newest first; nothing in it is ever edited or removed.
//!
//! Entries are written after the action succeeded, by the handler that took it (`http`), so a
//! refused action leaves no entry. This module is the one place that opens `pds.audit_log` and
//! `pds.audit_last`.

use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::rows;
use super::{Pds, PdsError};
use crate::core::syntax::Did;
use crate::store::{Reads, StoreError};

/// id → entry; ids grow, so the newest entry is last.
const AUDIT_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("pds.audit_log");
/// action → id of its newest entry (the last backup, without scanning the log).
const AUDIT_LAST: TableDefinition<&str, u64> = TableDefinition::new("pds.audit_last");

/// Most entries one page returns.
pub const MAX_AUDIT_PAGE: usize = 100;
/// Most entries one filtered listing examines.
const MAX_SCAN: usize = 10_000;

/// Who took an admin action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The admin password (the command line, scripts, bootstrapping).
    Password,
    /// An account with the admin role, with its own session.
    Member { did: Did },
}

impl Actor {
    /// How the log names the actor: a DID, or `admin-password`.
    pub fn as_str(&self) -> &str {
        match self {
            Actor::Password => "admin-password",
            Actor::Member { did } => did.as_str(),
        }
    }
}

/// One entry of the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: String,
    /// A DID, or `admin-password`.
    pub actor: String,
    /// What was done, a stable name such as `account.takedown` or `report.resolve`.
    pub action: String,
    /// What it was done to: a DID, a record URI, an invite code, a host name, a report id.
    pub subject: Option<String>,
    /// The admin's reason, and the facts of the action (a suspension's end, a report's outcome).
    pub detail: Option<String>,
}

impl Pds {
    /// Appends an entry; returns it with its id and time.
    pub async fn record_audit(
        &self,
        actor: &Actor,
        action: &str,
        subject: Option<String>,
        detail: Option<String>,
    ) -> Result<AuditEntry, PdsError> {
        let mut entry = AuditEntry {
            id: 0,
            at: self.clock().now_datetime(),
            actor: actor.as_str().to_owned(),
            action: action.to_owned(),
            subject,
            detail,
        };
        self.store()
            .write(move |txn| {
                let mut log = txn.open_table(AUDIT_LOG)?;
                entry.id = log.last()?.map_or(1, |(k, _)| k.value() + 1);
                log.insert(entry.id, rows::encode(&entry)?.as_slice())?;
                txn.open_table(AUDIT_LAST)?
                    .insert(entry.action.as_str(), entry.id)?;
                Ok(Ok::<_, PdsError>(entry))
            })
            .await
    }

    /// Entries newest first, before the id `before`, optionally only those about `subject` or by
    /// `actor`; and the cursor of the next page.
    pub async fn audit_log(
        &self,
        limit: usize,
        before: Option<u64>,
        subject: Option<String>,
        actor: Option<String>,
    ) -> Result<(Vec<AuditEntry>, Option<u64>), PdsError> {
        let limit = limit.clamp(1, MAX_AUDIT_PAGE);
        self.store()
            .read(move |txn| {
                let Some(log) = txn.table(AUDIT_LOG)? else {
                    return Ok((Vec::new(), None));
                };
                let mut out = Vec::new();
                let mut scanned = 0usize;
                let mut last_seen = None;
                for row in log
                    .range(..before.unwrap_or(u64::MAX))?
                    .rev()
                    .take(MAX_SCAN)
                {
                    let (id, value) = row.map_err(StoreError::from)?;
                    scanned += 1;
                    last_seen = Some(id.value());
                    let entry: AuditEntry = rows::decode(value.value())?;
                    let matches = subject
                        .as_deref()
                        .is_none_or(|s| entry.subject.as_deref() == Some(s))
                        && actor.as_deref().is_none_or(|a| entry.actor == a);
                    if matches {
                        out.push(entry);
                        if out.len() == limit {
                            break;
                        }
                    }
                }
                // A full page has more after it; so does a filtered scan that stopped at its bound.
                let next = if out.len() == limit {
                    out.last().map(|e| e.id)
                } else if scanned == MAX_SCAN {
                    last_seen
                } else {
                    None
                };
                Ok::<_, PdsError>((out, next))
            })
            .await
    }

    /// The newest entry of `action` (e.g. the last backup).
    pub async fn last_audit(&self, action: &str) -> Result<Option<AuditEntry>, PdsError> {
        let action = action.to_owned();
        self.store()
            .read(move |txn| {
                let (Some(last), Some(log)) = (txn.table(AUDIT_LAST)?, txn.table(AUDIT_LOG)?)
                else {
                    return Ok(None);
                };
                let Some(id) = last.get(action.as_str())?.map(|v| v.value()) else {
                    return Ok(None);
                };
                rows::get(&log, id).map_err(PdsError::from)
            })
            .await
    }
}
