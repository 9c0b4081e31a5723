//! The memory the relay may spend on repo exports being downloaded for a resync, shared by all
//! downloads at once: a download reserves bytes as they arrive and fails (to be retried later)
//! when the budget is spent, rather than waiting for another download to finish (two downloads
//! waiting on each other would never finish).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reservations are counted in KiB so a large budget fits a semaphore's permits.
const UNIT: usize = 1024;

#[derive(Clone)]
pub struct ByteBudget {
    units: Arc<Semaphore>,
}

/// Bytes held by one download; returned to the budget when dropped.
pub struct Reservation {
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl ByteBudget {
    pub fn new(bytes: usize) -> ByteBudget {
        let units = (bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        ByteBudget {
            units: Arc::new(Semaphore::new(units)),
        }
    }

    pub fn reserve(&self) -> Reservation {
        Reservation {
            budget: self.units.clone(),
            held: None,
            bytes: 0,
        }
    }
}

impl Reservation {
    /// Holds `more` bytes besides those held already; false when the budget cannot cover them.
    pub fn grow(&mut self, more: usize) -> bool {
        let wanted_units = (self.bytes + more).div_ceil(UNIT);
        let held_units = self
            .held
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits);
        if wanted_units > held_units {
            let Ok(extra) = u32::try_from(wanted_units - held_units) else {
                return false;
            };
            let Ok(permit) = self.budget.clone().try_acquire_many_owned(extra) else {
                return false;
            };
            match &mut self.held {
                Some(held) => held.merge(permit),
                None => self.held = Some(permit),
            }
        }
        self.bytes += more;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBudget;

    #[test]
    fn downloads_share_the_budget_and_give_it_back() {
        let budget = ByteBudget::new(10 * 1024);
        let mut a = budget.reserve();
        assert!(a.grow(6 * 1024));
        let mut b = budget.reserve();
        assert!(b.grow(4 * 1024));
        assert!(!b.grow(1), "the budget is spent");
        drop(a);
        assert!(b.grow(6 * 1024), "a finished download returns its bytes");
    }
}
