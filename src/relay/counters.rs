//! What the relay has done, counted: events accepted, dropped (by reason), resyncs. Shown in logs and
//! host status; the numbers a operator looks at when something is off.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::status::DropReason;

#[derive(Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub resyncs: AtomicU64,
    pub backfilled_records: AtomicU64,
    dropped: Mutex<BTreeMap<DropReason, u64>>,
}

impl Counters {
    pub fn accept(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub fn drop_event(&self, reason: DropReason) {
        let mut dropped = self
            .dropped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *dropped.entry(reason).or_default() += 1;
    }

    /// Dropped events by reason.
    pub fn dropped(&self) -> BTreeMap<&'static str, u64> {
        let dropped = self
            .dropped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        dropped.iter().map(|(r, n)| (r.name(), *n)).collect()
    }
}
