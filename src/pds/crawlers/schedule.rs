//! When to ask one crawler again. The reference PDS (`packages/pds/src/crawlers.ts`) sends
//! `requestCrawl` to every crawler when an event is sequenced, at most once every 20 minutes, and
//! forgets a failure. Here, per crawler:
//!
//! - a crawler is asked when it has news: it was never told about this server, or the PDS has
//!   sequenced events since the last request it accepted (start counts as news, so every crawler is
//!   asked at start);
//! - a crawler that answered (any HTTP status: it heard the request) is not asked again for 20
//!   minutes; news arriving within that window is sent when the window ends, not dropped until the
//!   next write as in the reference;
//! - a request that failed (no answer, or a refusal) is retried without waiting for news, after a
//!   delay that doubles with each consecutive failure: 10 s, 20 s, 40 s, ... up to 6 hours, and
//!   never sooner than 20 minutes after the crawler's last answer. One success resets the count.
//!
//! Pure: times are microseconds since the epoch from the service's `Clock`, and the PDS's newest
//! event seq is passed in.

/// At most one request per crawler in this window after it answered (the reference's
/// `NOTIFY_THRESHOLD`).
pub const NOTIFY_INTERVAL: i64 = 20 * 60 * 1_000_000;
/// The wait after a first failure.
const FIRST_RETRY: i64 = 10 * 1_000_000;
/// The longest wait between retries.
const MAX_RETRY: i64 = 6 * 60 * 60 * 1_000_000;

/// What one `requestCrawl` produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer: the crawler took the request.
    Accepted { status: u16 },
    /// Another HTTP answer: the crawler heard and refused.
    Refused { status: u16, message: String },
    /// No HTTP answer (no route, connection refused, timeout, TLS failure).
    Unreachable { message: String },
}

impl Outcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted { .. })
    }

    /// The HTTP status the crawler answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Accepted { status } | Outcome::Refused { status, .. } => Some(*status),
            Outcome::Unreachable { .. } => None,
        }
    }

    /// Why it failed, if it did.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Accepted { .. } => None,
            Outcome::Refused { message, .. } | Outcome::Unreachable { message } => Some(message),
        }
    }
}

/// The wait after `failures` consecutive failures (at least one).
pub fn retry_delay(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(30);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

/// One crawler's history and what follows from it.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    /// When the last request ended.
    last_attempt: Option<i64>,
    last_outcome: Option<Outcome>,
    /// When the crawler last answered at all: the 20-minute window runs from here.
    last_answer: Option<i64>,
    last_success: Option<i64>,
    /// Consecutive failed requests.
    failures: u32,
    /// The newest PDS seq an accepted request covered (`None`: never accepted).
    told_seq: Option<u64>,
    /// The PDS seq when the request now running started.
    in_flight: Option<u64>,
}

/// A crawler's state as the admin sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_outcome: Option<Outcome>,
    pub failures: u32,
    /// A request is running now.
    pub in_flight: bool,
    /// The crawler has news: the next request goes at `not_before` (or now, if that passed).
    pub has_news: bool,
    /// The earliest time the next request may go.
    pub not_before: Option<i64>,
}

impl Schedule {
    /// Whether the crawler has not heard about events up to `head` yet.
    pub fn has_news(&self, head: u64) -> bool {
        self.told_seq.is_none_or(|told| head > told)
    }

    /// The earliest time the next request may go (`None`: any time).
    pub fn not_before(&self) -> Option<i64> {
        let window = self
            .last_answer
            .map(|at| at.saturating_add(NOTIFY_INTERVAL));
        let backoff = match self.last_attempt {
            Some(at) if self.failures > 0 => Some(at.saturating_add(retry_delay(self.failures))),
            _ => None,
        };
        window.max(backoff)
    }

    /// Whether a request should go now.
    pub fn is_due(&self, now: i64, head: u64) -> bool {
        self.in_flight.is_none()
            && self.has_news(head)
            && self.not_before().is_none_or(|at| now >= at)
    }

    /// When the driver must look again without news (the window or back-off ending), if it must.
    pub fn wake_at(&self, now: i64) -> Option<i64> {
        if self.in_flight.is_some() {
            return None;
        }
        self.not_before().filter(|&at| at > now)
    }

    /// A request covering events up to `head` starts.
    pub fn start(&mut self, head: u64) {
        self.in_flight = Some(head);
    }

    /// The running request ended at `now` with `outcome`.
    pub fn finish(&mut self, now: i64, outcome: Outcome) {
        if let Some(head) = self.in_flight.take() {
            self.record(now, head, outcome);
        }
    }

    /// A request covering events up to `head` ended at `now` with `outcome` (one the admin sent
    /// from the console counts like the scheduled ones).
    pub fn record(&mut self, now: i64, head: u64, outcome: Outcome) {
        self.last_attempt = Some(now);
        if outcome.status().is_some() {
            self.last_answer = Some(now);
        }
        if outcome.is_accepted() {
            self.failures = 0;
            self.last_success = Some(now);
            self.told_seq = Some(self.told_seq.map_or(head, |told| told.max(head)));
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        self.last_outcome = Some(outcome);
    }

    pub fn status(&self, head: u64) -> Status {
        Status {
            last_attempt: self.last_attempt,
            last_success: self.last_success,
            last_outcome: self.last_outcome.clone(),
            failures: self.failures,
            in_flight: self.in_flight.is_some(),
            has_news: self.has_news(head),
            not_before: self.not_before(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    const SECOND: i64 = 1_000_000;
    const MINUTE: i64 = 60 * SECOND;

    fn accepted() -> Outcome {
        Outcome::Accepted { status: 200 }
    }

    fn unreachable() -> Outcome {
        Outcome::Unreachable {
            message: "connection refused".into(),
        }
    }

    /// Runs one request at the clock's time if one is due; returns whether it ran.
    fn tick(schedule: &mut Schedule, clock: &Clock, head: u64, outcome: Outcome) -> bool {
        if !schedule.is_due(clock.now_micros(), head) {
            return false;
        }
        schedule.start(head);
        schedule.finish(clock.now_micros(), outcome);
        true
    }

    #[test]
    fn asks_at_start_then_at_most_every_twenty_minutes_when_there_is_news() {
        let clock = Clock::manual(1_700_000_000 * SECOND);
        let mut s = Schedule::default();
        // At start: never told, so due even with an empty log.
        assert!(tick(&mut s, &clock, 0, accepted()));
        assert_eq!(s.status(0).last_success, Some(clock.now_micros()));
        // Nothing new: never asked again, however long it waits.
        clock.advance(3 * 60 * MINUTE);
        assert!(!tick(&mut s, &clock, 0, accepted()));
        // A write: asked at once (the window ended long ago).
        assert!(tick(&mut s, &clock, 1, accepted()));
        // More writes within 20 minutes wait for the window.
        let told_at = clock.now_micros();
        for head in 2..=20 {
            clock.advance(MINUTE);
            assert!(!tick(&mut s, &clock, head, accepted()), "minute {head}");
        }
        assert_eq!(
            s.wake_at(clock.now_micros()),
            Some(told_at + NOTIFY_INTERVAL)
        );
        clock.advance(MINUTE - 1);
        assert!(!tick(&mut s, &clock, 20, accepted()));
        clock.advance(1);
        // The window ended: the news is sent without waiting for another write.
        assert!(tick(&mut s, &clock, 20, accepted()));
        assert!(!s.has_news(20));
    }

    #[test]
    fn a_crawler_that_does_not_answer_is_retried_with_growing_waits() {
        let clock = Clock::manual(1_700_000_000 * SECOND);
        let mut s = Schedule::default();
        assert!(tick(&mut s, &clock, 5, unreachable()));
        let mut waits = Vec::new();
        for _ in 0..14 {
            let last = clock.now_micros();
            let next = s.wake_at(last).expect("a retry is scheduled");
            waits.push((next - last) / SECOND);
            clock.advance(next - last - 1);
            assert!(
                !tick(&mut s, &clock, 5, unreachable()),
                "not before the wait"
            );
            clock.advance(1);
            assert!(
                tick(&mut s, &clock, 5, unreachable()),
                "retried without news"
            );
        }
        assert_eq!(
            waits,
            [
                10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 21600, 21600
            ]
        );
        let status = s.status(5);
        assert_eq!(status.failures, 15);
        assert!(status.has_news);
        assert_eq!(status.last_success, None);
        // It comes back: one success resets the back-off, and the 20-minute rule applies again.
        clock.advance(6 * 60 * MINUTE);
        assert!(tick(&mut s, &clock, 5, accepted()));
        assert_eq!(s.status(5).failures, 0);
        clock.advance(MINUTE);
        assert!(!tick(&mut s, &clock, 6, accepted()));
        assert_eq!(
            s.wake_at(clock.now_micros()),
            Some(clock.now_micros() - MINUTE + NOTIFY_INTERVAL)
        );
    }

    #[test]
    fn a_crawler_that_refuses_is_not_asked_again_for_twenty_minutes() {
        let clock = Clock::manual(1_700_000_000 * SECOND);
        let mut s = Schedule::default();
        let refused = Outcome::Refused {
            status: 429,
            message: "slow down".into(),
        };
        assert!(tick(&mut s, &clock, 0, refused.clone()));
        // Back-off alone would retry after 10 s, but the crawler heard us.
        clock.advance(10 * SECOND);
        assert!(!tick(&mut s, &clock, 0, accepted()));
        clock.advance(NOTIFY_INTERVAL - 10 * SECOND);
        assert!(tick(&mut s, &clock, 0, refused.clone()));
        // Then it stops answering: the back-off runs from that attempt.
        clock.advance(NOTIFY_INTERVAL);
        assert!(tick(&mut s, &clock, 0, unreachable()));
        clock.advance(retry_delay(3));
        assert!(tick(&mut s, &clock, 0, accepted()));
        let status = s.status(0);
        assert_eq!(status.last_outcome, Some(accepted()));
        assert_eq!(status.failures, 0);
    }

    #[test]
    fn news_that_arrives_during_a_request_is_sent_later() {
        let clock = Clock::manual(1_700_000_000 * SECOND);
        let mut s = Schedule::default();
        assert!(s.is_due(clock.now_micros(), 3));
        s.start(3);
        assert!(!s.is_due(clock.now_micros(), 4), "one request at a time");
        assert_eq!(s.wake_at(clock.now_micros()), None);
        s.finish(clock.now_micros(), accepted());
        assert!(s.has_news(4), "seq 4 came after the request started");
        assert!(!s.has_news(3));
        // One the admin sends from the console counts too.
        clock.advance(NOTIFY_INTERVAL);
        s.record(clock.now_micros(), 9, accepted());
        assert!(!s.has_news(9));
        assert!(!s.is_due(clock.now_micros(), 10));
    }
}
