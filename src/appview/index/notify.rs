//! Writing notification rows: one per (recipient, record), keyed so a recipient's notifications
//! read newest first and a record's notification can be found again when the record is deleted.

use cid::Cid;

use super::Index;
use crate::appview::rows::{self, NotificationRow, Reason};
use crate::store::StoreError;

impl Index<'_> {
    /// Records that `recipient` is notified of `author`'s record (`code`, `rkey`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn notify(
        &mut self,
        recipient: u64,
        sort_at: u64,
        author: u64,
        code: u8,
        rkey: &str,
        reason: Reason,
        reason_subject: Option<String>,
        cid: Cid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let row = NotificationRow {
            reason: reason as u8,
            reason_subject,
            cid,
            record: record.to_vec(),
        };
        self.t.notifications.table_mut()?.insert(
            (recipient, sort_at, author, code, rkey),
            rows::encode(&row)?.as_slice(),
        )?;
        Ok(())
    }

    pub(super) fn unnotify(
        &mut self,
        recipient: u64,
        sort_at: u64,
        author: u64,
        code: u8,
        rkey: &str,
    ) -> Result<(), StoreError> {
        self.t
            .notifications
            .table_mut()?
            .remove((recipient, sort_at, author, code, rkey))?;
        Ok(())
    }
}
