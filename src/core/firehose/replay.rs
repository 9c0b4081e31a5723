//! Where a subscription starts, given its cursor and the sequence numbers a server still keeps.
//!
//! Spec: <https://atproto.com/specs/event-stream#sequence-numbers>. No cursor: live. A cursor ahead
//! of the newest event: `FutureCursor`. A cursor older than the oldest kept event: `#info
//! OutdatedCursor`, then everything kept. `0`: everything kept. Otherwise events after the cursor:
//! the spec says "greater-or-equal", but the reference PDS sends only greater, and consumers resume
//! with the last seq they processed, so "greater" is what they expect (docs/BEHAVIORS.md).

/// Where a subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamStart {
    /// Send events with seq > this one.
    After(u64),
    /// Say the cursor is too old (`#info OutdatedCursor`), then send events with seq > this one.
    Outdated(u64),
    /// The cursor is ahead of the log.
    Future,
}

/// Decides where a subscription starts; `oldest`/`newest` are 0 for an empty log.
pub fn replay_start(cursor: Option<u64>, oldest: u64, newest: u64) -> StreamStart {
    match cursor {
        None => StreamStart::After(newest),
        Some(c) if c > newest => StreamStart::Future,
        Some(0) => StreamStart::After(oldest.saturating_sub(1)),
        Some(c) if oldest > 0 && c + 1 < oldest => StreamStart::Outdated(oldest - 1),
        Some(c) => StreamStart::After(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_rules() {
        assert_eq!(replay_start(None, 10, 20), StreamStart::After(20));
        assert_eq!(replay_start(Some(21), 10, 20), StreamStart::Future);
        assert_eq!(replay_start(Some(0), 10, 20), StreamStart::After(9));
        assert_eq!(replay_start(Some(3), 10, 20), StreamStart::Outdated(9));
        assert_eq!(replay_start(Some(9), 10, 20), StreamStart::After(9));
        assert_eq!(replay_start(Some(15), 10, 20), StreamStart::After(15));
        assert_eq!(replay_start(Some(20), 10, 20), StreamStart::After(20));
        assert_eq!(replay_start(Some(0), 0, 0), StreamStart::After(0));
        assert_eq!(replay_start(Some(1), 0, 0), StreamStart::Future);
    }
}
