//! Telling relays about this PDS: `com.atproto.sync.requestCrawl` on each configured crawler
//! (`--crawlers`) with this server's hostname, as the reference PDS does for `PDS_CRAWLERS`. A relay
//! that takes the request subscribes to this PDS's firehose (the console then shows it as a
//! subscriber) and passes its members' posts to the rest of the network.
//!
//! A background task asks each crawler at start and again when the PDS has sequenced new events,
//! at most once every 20 minutes per crawler, retrying failures with back-off (`schedule` has the
//! rules). It watches the store's commit notifications and reads the PDS's newest seq; the write
//! path never waits for it, and a slow or dead crawler delays nobody but itself. The admin can also
//! ask any relay from the console (`blue.skyhold.admin.requestCrawl`): the same request, and when
//! the relay is a configured crawler, it counts in that crawler's schedule and status.
//!
//! Lexicon: `com.atproto.sync.requestCrawl`. Reference: `packages/pds/src/crawlers.ts`.

mod schedule;

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

pub use schedule::Outcome;
use schedule::Schedule;

use super::{Pds, PdsError};
use crate::net::Trust;

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// After a commit, how long to wait for more before reading the log (one read a second at most).
const COMMIT_SETTLE: Duration = Duration::from_secs(1);
/// The longest part of a refusal kept for the status.
const MAX_MESSAGE_CHARS: usize = 200;

/// The base URL of a relay named by host (`bsky.network`) or URL (`https://relay.example`).
pub fn crawler_url(relay: &str) -> Result<String, String> {
    let relay = relay.trim().trim_end_matches('/');
    let base = if relay.starts_with("https://") || relay.starts_with("http://") {
        relay.to_owned()
    } else {
        format!("https://{relay}")
    };
    let url = reqwest::Url::parse(&base).map_err(|e| format!("Not a relay address: {e}"))?;
    if url.host_str().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || !url.username().is_empty()
    {
        return Err(format!(
            "{relay:?}: give the relay's host name (like bsky.network) or its URL"
        ));
    }
    Ok(base)
}

/// The configured crawlers and their schedules.
pub(super) struct Crawlers {
    urls: Vec<String>,
    schedules: Mutex<Vec<Schedule>>,
    /// Wakes the task when a request ends or the admin asked a crawler by hand.
    nudge: Notify,
}

/// One crawler as the admin sees it (times in microseconds since the epoch).
#[derive(Clone, Debug)]
pub struct CrawlerStatus {
    pub url: String,
    /// When the last request ended.
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_outcome: Option<Outcome>,
    /// Consecutive failed requests.
    pub failures: u32,
    /// A request is running now.
    pub in_flight: bool,
    /// When the next request goes; `None` while the crawler knows everything (it is asked again
    /// after new events, not before [`CrawlerStatus::not_before`]).
    pub next_attempt: Option<i64>,
    pub not_before: Option<i64>,
}

impl Crawlers {
    /// `urls` are base URLs as [`crawler_url`] makes them.
    pub fn new(urls: Vec<String>) -> Crawlers {
        Crawlers {
            schedules: Mutex::new(vec![Schedule::default(); urls.len()]),
            urls,
            nudge: Notify::new(),
        }
    }

    fn schedules(&self) -> std::sync::MutexGuard<'_, Vec<Schedule>> {
        self.schedules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Crawlers due now, each marked as asked about events up to `head`.
    fn take_due(&self, now: i64, head: u64) -> Vec<usize> {
        let mut schedules = self.schedules();
        let mut due = Vec::new();
        for (index, schedule) in schedules.iter_mut().enumerate() {
            if schedule.is_due(now, head) {
                schedule.start(head);
                due.push(index);
            }
        }
        due
    }

    /// The soonest time a window or back-off ends.
    fn wake_at(&self, now: i64) -> Option<i64> {
        self.schedules().iter().filter_map(|s| s.wake_at(now)).min()
    }

    /// Whether some crawler could be asked now if there were news.
    fn any_ready(&self, now: i64) -> bool {
        self.schedules().iter().any(|s| s.is_due(now, u64::MAX))
    }

    /// Records the end of crawler `index`'s request; returns its failures in a row before it.
    fn finish(&self, index: usize, now: i64, outcome: Outcome) -> u32 {
        let failures = self.schedules().get_mut(index).map_or(0, |schedule| {
            let before = schedule.status(0).failures;
            schedule.finish(now, outcome);
            before
        });
        self.nudge.notify_one();
        failures
    }

    fn record(&self, url: &str, now: i64, head: u64, outcome: Outcome) {
        let Some(index) = self.urls.iter().position(|u| u == url) else {
            return;
        };
        if let Some(schedule) = self.schedules().get_mut(index) {
            schedule.record(now, head, outcome);
        }
        self.nudge.notify_one();
    }

    fn statuses(&self, now: i64, head: u64) -> Vec<CrawlerStatus> {
        let schedules = self.schedules();
        self.urls
            .iter()
            .zip(schedules.iter())
            .map(|(url, schedule)| {
                let s = schedule.status(head);
                let next_attempt = (s.has_news && !s.in_flight)
                    .then(|| s.not_before.map_or(now, |at| at.max(now)));
                CrawlerStatus {
                    url: url.clone(),
                    last_attempt: s.last_attempt,
                    last_success: s.last_success,
                    last_outcome: s.last_outcome,
                    failures: s.failures,
                    in_flight: s.in_flight,
                    next_attempt,
                    not_before: s.not_before,
                }
            })
            .collect()
    }
}

impl Pds {
    /// Starts asking the configured crawlers (a task for the life of the process; none without
    /// crawlers).
    pub fn start_crawlers(&self) {
        if self.inner.crawlers.urls.is_empty() {
            return;
        }
        let pds = self.clone();
        tokio::spawn(async move { pds.crawl().await });
    }

    /// The configured crawlers and where each stands.
    pub async fn crawler_statuses(&self) -> Result<Vec<CrawlerStatus>, PdsError> {
        let head = self.events().bounds().await?.1;
        Ok(self
            .inner
            .crawlers
            .statuses(self.clock().now_micros(), head))
    }

    /// Asks `relay` (a host name or URL) to crawl this server now: the admin's request from the
    /// console. A configured crawler's status and schedule take it into account.
    pub async fn request_crawl_from(&self, relay: &str) -> Result<(), PdsError> {
        let base = crawler_url(relay).map_err(PdsError::InvalidRequest)?;
        let head = self.events().bounds().await?.1;
        let outcome = self.ask(&base).await;
        self.inner
            .crawlers
            .record(&base, self.clock().now_micros(), head, outcome.clone());
        match outcome {
            Outcome::Accepted { .. } => Ok(()),
            Outcome::Refused { status, message } => Err(PdsError::Upstream(format!(
                "{base} refused (HTTP {status}): {message}"
            ))),
            Outcome::Unreachable { message } => Err(PdsError::Upstream(format!(
                "{base} did not answer: {message}"
            ))),
        }
    }

    /// The task: ask whoever is due, then wait until a window or back-off ends, a request ends,
    /// or the PDS sequences something while a crawler could be asked.
    async fn crawl(self) {
        let crawlers = &self.inner.crawlers;
        let mut commits = self.events().notifications();
        tracing::info!(crawlers = ?crawlers.urls, "asking relays to crawl this server");
        loop {
            let head = match self.events().bounds().await {
                Ok((_, head)) => head,
                Err(_) if self.events().is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, "reading the event log for the crawlers failed");
                    tokio::time::sleep(COMMIT_SETTLE).await;
                    continue;
                }
            };
            for index in crawlers.take_due(self.clock().now_micros(), head) {
                let pds = self.clone();
                tokio::spawn(async move {
                    let url = &pds.inner.crawlers.urls[index];
                    let outcome = pds.ask(url).await;
                    let failures_before =
                        pds.inner
                            .crawlers
                            .finish(index, pds.clock().now_micros(), outcome.clone());
                    log_outcome(url, &outcome, failures_before);
                });
            }
            loop {
                let now = self.clock().now_micros();
                let wait = crawlers.wake_at(now).map(|at| {
                    Duration::from_micros(u64::try_from(at - now).unwrap_or(0).max(1000))
                });
                tokio::select! {
                    () = sleep_for(wait) => break,
                    () = crawlers.nudge.notified() => break,
                    changed = commits.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if crawlers.any_ready(self.clock().now_micros()) {
                            // Let a burst of writes settle: one look at the log covers them all.
                            tokio::time::sleep(COMMIT_SETTLE).await;
                            break;
                        }
                    }
                }
            }
        }
    }

    /// One `requestCrawl` to the crawler at `base`.
    async fn ask(&self, base: &str) -> Outcome {
        let unreachable = |message: String| Outcome::Unreachable { message };
        let request = match self.inner.http.post(
            &format!("{base}/xrpc/com.atproto.sync.requestCrawl"),
            // Crawlers are named by the operator's configuration or an admin of this node.
            Trust::Operator,
        ) {
            Ok(request) => request,
            Err(e) => return unreachable(e.to_string()),
        };
        let response = match request
            .json(&json!({"hostname": self.inner.config.hostname}))
            .timeout(REQUEST_TIMEOUT)
            .limit(64 * 1024)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return unreachable(reason(&e)),
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Outcome::Accepted { status };
        }
        let body = response.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| body.into_owned());
        Outcome::Refused {
            status,
            message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
        }
    }
}

/// Why a request got no answer, in the words an admin needs: the innermost cause ("Connection
/// refused", "timed out", "Name or service not known"), not the whole chain with the URL again.
fn reason(error: &crate::net::OutboundError) -> String {
    let text = error.to_string();
    let innermost = text.rsplit(": ").next().unwrap_or(&text);
    let innermost = match innermost.rfind(" (os error ") {
        Some(at) if innermost.ends_with(')') => &innermost[..at],
        _ => innermost,
    };
    if innermost.trim().is_empty() {
        text
    } else {
        innermost.trim().to_owned()
    }
}

/// Sleeps for `wait`, or forever.
async fn sleep_for(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// Logs a request's outcome: a warning when a crawler starts failing, and only a debug line for
/// the retries that follow (the status has the count), so a relay that is down for a day does not
/// fill the log.
fn log_outcome(url: &str, outcome: &Outcome, failures_before: u32) {
    let first = failures_before == 0;
    match outcome {
        Outcome::Accepted { status } if first => {
            tracing::debug!(crawler = url, status, "relay asked to crawl this server");
        }
        Outcome::Accepted { status } => {
            tracing::info!(
                crawler = url,
                status,
                failures = failures_before,
                "relay took requestCrawl again"
            );
        }
        Outcome::Refused { status, message } if first => {
            tracing::warn!(crawler = url, status, %message, "relay refused to crawl this server; retrying later");
        }
        Outcome::Unreachable { message } if first => {
            tracing::warn!(crawler = url, error = %message, "relay did not answer requestCrawl; retrying later");
        }
        Outcome::Refused { message: error, .. } | Outcome::Unreachable { message: error } => {
            tracing::debug!(crawler = url, %error, failures = failures_before + 1, "requestCrawl failed again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_by_name_or_url() {
        assert_eq!(crawler_url("bsky.network").unwrap(), "https://bsky.network");
        assert_eq!(
            crawler_url(" http://127.0.0.1:2584/ ").unwrap(),
            "http://127.0.0.1:2584"
        );
        assert!(crawler_url("https://relay.example/xrpc").is_err());
        assert!(crawler_url("https://user@relay.example").is_err());
        assert!(crawler_url("not a host").is_err());
    }

    #[test]
    fn failures_are_named_by_their_innermost_cause() {
        use crate::net::OutboundError;
        let refused = OutboundError::Unreachable(
            "error sending request for url (http://127.0.0.1:9/xrpc/com.atproto.sync.requestCrawl): \
             client error (Connect): tcp connect error: Connection refused (os error 111)"
                .into(),
        );
        assert_eq!(reason(&refused), "Connection refused");
        assert_eq!(reason(&OutboundError::Timeout), "timed out");
        let dns = OutboundError::Unreachable(
            "error sending request: dns error: failed to lookup address information: Name or \
             service not known"
                .into(),
        );
        assert_eq!(reason(&dns), "Name or service not known");
    }

    #[test]
    fn the_status_says_when_the_next_request_goes() {
        let crawlers = Crawlers::new(vec!["https://a.example".into(), "https://b.example".into()]);
        let t0 = 1_700_000_000_000_000;
        // At start both are due; a takes the request, b does not answer.
        assert_eq!(crawlers.take_due(t0, 4), vec![0, 1]);
        assert!(crawlers.take_due(t0, 4).is_empty(), "both in flight");
        crawlers.finish(0, t0, Outcome::Accepted { status: 200 });
        crawlers.finish(
            1,
            t0,
            Outcome::Unreachable {
                message: "connection refused".into(),
            },
        );
        let statuses = crawlers.statuses(t0, 4);
        let [a, b] = &statuses[..] else {
            panic!("two crawlers")
        };
        assert_eq!(a.next_attempt, None, "a knows everything");
        assert_eq!(a.not_before, Some(t0 + schedule::NOTIFY_INTERVAL));
        assert_eq!(b.next_attempt, Some(t0 + 10_000_000), "b is retried");
        assert_eq!(b.failures, 1);
        assert_eq!(crawlers.wake_at(t0), Some(t0 + 10_000_000));
        assert!(!crawlers.any_ready(t0));
        // New events: a is asked when its window ends.
        let statuses = crawlers.statuses(t0, 5);
        let [a, _] = &statuses[..] else {
            panic!("two crawlers")
        };
        assert_eq!(a.next_attempt, Some(t0 + schedule::NOTIFY_INTERVAL));
        // The admin asks b by hand and it answers: it counts, and b waits for news.
        crawlers.record(
            "https://b.example",
            t0 + 1,
            5,
            Outcome::Accepted { status: 200 },
        );
        let statuses = crawlers.statuses(t0 + 1, 5);
        let [_, b] = &statuses[..] else {
            panic!("two crawlers")
        };
        assert_eq!((b.failures, b.next_attempt), (0, None));
    }
}
