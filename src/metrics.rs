//! Counters the node keeps about itself, for `/metrics` (Prometheus text format) and the admin
//! console: XRPC requests and errors by method, record writes, the store's durable commits,
//! rate-limit refusals, who is subscribed to the firehose, and a short history of samples the
//! console turns into rates.
//!
//! A small hand-written registry rather than the `metrics` crate and its Prometheus exporter
//! (docs/DECISIONS.md says why): most figures are read from the services when
//! `/metrics` is scraped (store size, seq heads, relay hosts, certificate expiry), so only a few
//! counters live here, and one process-wide registry is all the binary needs.
//!
//! Exposition format: <https://prometheus.io/docs/instrumenting/exposition_formats/>.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

/// How many samples are kept: one every [`SAMPLE_SECS`] for an hour.
const SAMPLES: usize = 361;
/// Seconds between two samples.
pub const SAMPLE_SECS: u64 = 10;
/// Distinct method labels kept; calls to further methods count under `_other`, so nobody can grow
/// the registry by calling made-up NSIDs.
const MAX_METHOD_LABELS: usize = 400;

/// Requests to one XRPC method.
#[derive(Clone, Copy, Debug, Default)]
pub struct MethodCounts {
    pub ok: u64,
    /// 4xx answers.
    pub client_errors: u64,
    /// 5xx answers.
    pub server_errors: u64,
    /// Time spent answering, in microseconds.
    pub micros: u64,
}

/// A firehose subscriber connected now.
#[derive(Clone, Debug)]
pub struct Subscriber {
    /// `pds` (this node's own repos) or `relay` (the merged stream).
    pub stream: &'static str,
    pub peer: String,
    pub user_agent: Option<String>,
    /// Unix seconds.
    pub since: i64,
}

/// The figures the console's rates are computed from, taken every [`SAMPLE_SECS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds.
    pub at: i64,
    pub pds_seq: u64,
    pub relay_seq: u64,
    pub writes: u64,
    pub requests: u64,
    pub errors: u64,
}

/// The process-wide registry.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<String, MethodCounts>>,
    writes: AtomicU64,
    store_commits: AtomicU64,
    rate_limited: Mutex<BTreeMap<String, u64>>,
    subscribers: Mutex<BTreeMap<u64, Subscriber>>,
    next_subscriber: AtomicU64,
    subscriptions: AtomicU64,
    samples: Mutex<VecDeque<Sample>>,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::default);
static STARTED: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

/// Starts the uptime clock (called once the server is up).
pub fn mark_start() {
    LazyLock::force(&STARTED);
}

pub fn uptime_seconds() -> u64 {
    STARTED.elapsed().as_secs()
}

/// The registry of this process.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes its subscriber from the list when the stream ends.
pub struct SubscriberGuard {
    metrics: &'static Metrics,
    id: u64,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        lock(&self.metrics.subscribers).remove(&self.id);
    }
}

impl Metrics {
    /// One answered XRPC call.
    pub fn request(&self, method: &str, status: u16, micros: u64) {
        let mut requests = lock(&self.requests);
        let label = if requests.contains_key(method) || requests.len() < MAX_METHOD_LABELS {
            method
        } else {
            "_other"
        };
        let counts = match requests.get_mut(label) {
            Some(counts) => counts,
            None => requests.entry(label.to_owned()).or_default(),
        };
        match status {
            500.. => counts.server_errors += 1,
            400..500 => counts.client_errors += 1,
            _ => counts.ok += 1,
        }
        counts.micros = counts.micros.saturating_add(micros);
    }

    /// A record write acknowledged (one call, whatever the number of records it wrote).
    pub fn write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    /// One write transaction of the store committed durably (one `fdatasync` of the database file:
    /// redb's default one-phase commit flushes once).
    pub fn store_commit(&self) {
        self.store_commits.fetch_add(1, Ordering::Relaxed);
    }

    /// One request refused by a rate limit, counted by the method refused (`/metrics` counts
    /// every 429 answer here; a limit that refuses without answering may call it too).
    pub fn rate_limited(&self, limit: &str) {
        *lock(&self.rate_limited)
            .entry(limit.to_owned())
            .or_default() += 1;
    }

    /// A firehose subscriber connected; it is listed until the guard is dropped.
    pub fn subscribe(
        &'static self,
        stream: &'static str,
        peer: String,
        user_agent: Option<String>,
    ) -> SubscriberGuard {
        let id = self.next_subscriber.fetch_add(1, Ordering::Relaxed);
        self.subscriptions.fetch_add(1, Ordering::Relaxed);
        lock(&self.subscribers).insert(
            id,
            Subscriber {
                stream,
                peer,
                user_agent,
                since: crate::clock::now_secs(),
            },
        );
        SubscriberGuard { metrics: self, id }
    }

    pub fn requests(&self) -> Vec<(String, MethodCounts)> {
        let mut out: Vec<_> = lock(&self.requests)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Durable commits of the store since the process started.
    pub fn store_commits(&self) -> u64 {
        self.store_commits.load(Ordering::Relaxed)
    }

    pub fn rate_limited_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.rate_limited).clone()
    }

    pub fn subscribers(&self) -> Vec<Subscriber> {
        lock(&self.subscribers).values().cloned().collect()
    }

    /// Subscriptions opened since the process started.
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// Request and error totals over every method.
    pub fn request_totals(&self) -> (u64, u64) {
        lock(&self.requests).values().fold((0, 0), |(r, e), c| {
            let errors = c.client_errors + c.server_errors;
            (r + c.ok + errors, e + c.server_errors)
        })
    }

    /// Keeps a sample (the oldest goes after an hour).
    pub fn push_sample(&self, sample: Sample) {
        let mut samples = lock(&self.samples);
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Per-minute rates over the last `minutes`, from the samples (`None` before two samples).
    pub fn rates(&self, minutes: i64) -> Option<Rates> {
        let samples = lock(&self.samples);
        let newest = *samples.back()?;
        let oldest = samples
            .iter()
            .find(|s| s.at >= newest.at - minutes * 60)
            .copied()?;
        rates_between(&oldest, &newest)
    }
}

/// Events, writes and requests per minute between two samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    pub minutes: f64,
    pub pds_events: f64,
    pub relay_events: f64,
    pub writes: f64,
    pub requests: f64,
    pub errors: f64,
}

pub fn rates_between(old: &Sample, new: &Sample) -> Option<Rates> {
    let seconds = new.at - old.at;
    if seconds <= 0 {
        return None;
    }
    let minutes = seconds as f64 / 60.0;
    let per_minute = |a: u64, b: u64| b.saturating_sub(a) as f64 / minutes;
    Some(Rates {
        minutes,
        pds_events: per_minute(old.pds_seq, new.pds_seq),
        relay_events: per_minute(old.relay_seq, new.relay_seq),
        writes: per_minute(old.writes, new.writes),
        requests: per_minute(old.requests, new.requests),
        errors: per_minute(old.errors, new.errors),
    })
}

/// The Prometheus text exposition of a set of metric families, written in order. Each family's
/// `# HELP` and `# TYPE` lines come once, before its first sample.
#[derive(Default)]
pub struct Exposition {
    text: String,
    current: Option<String>,
}

/// Label values are quoted with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        if self.current.as_deref() != Some(name) {
            let _ = writeln!(self.text, "# HELP {name} {help}");
            let _ = writeln!(self.text, "# TYPE {name} {kind}");
            self.current = Some(name.to_owned());
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{key}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
            let _ = writeln!(self.text, " {}", value as i64);
        } else {
            let _ = writeln!(self.text, " {value}");
        }
    }

    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, "counter", help);
        self.sample(name, labels, value);
    }

    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.family(name, "gauge", help);
        self.sample(name, labels, value);
    }

    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_one_header_per_family_and_escaped_labels() {
        let mut out = Exposition::default();
        out.counter("a_total", "A things.", &[("method", "x")], 3.0);
        out.counter("a_total", "A things.", &[("method", "y\"\n")], 4.0);
        out.gauge("b", "B now.", &[], 0.25);
        assert_eq!(
            out.finish(),
            "# HELP a_total A things.\n# TYPE a_total counter\na_total{method=\"x\"} 3\n\
             a_total{method=\"y\\\"\\n\"} 4\n# HELP b B now.\n# TYPE b gauge\nb 0.25\n"
        );
    }

    #[test]
    fn requests_are_counted_by_method_and_outcome() {
        let metrics = Metrics::default();
        metrics.request("com.atproto.repo.createRecord", 200, 10);
        metrics.request("com.atproto.repo.createRecord", 400, 5);
        metrics.request("com.atproto.repo.createRecord", 502, 7);
        let all = metrics.requests();
        assert_eq!(all.len(), 1);
        let counts = all[0].1;
        assert_eq!(
            (
                counts.ok,
                counts.client_errors,
                counts.server_errors,
                counts.micros
            ),
            (1, 1, 1, 22)
        );
        assert_eq!(metrics.request_totals(), (3, 1));
    }

    #[test]
    fn rates_are_per_minute_over_the_window() {
        let metrics = Metrics::default();
        assert_eq!(metrics.rates(1), None);
        for i in 0..=60 {
            metrics.push_sample(Sample {
                at: 1000 + i * 10,
                pds_seq: (i * 5) as u64,
                writes: (i * 2) as u64,
                ..Sample::default()
            });
        }
        let last_minute = metrics.rates(1).unwrap();
        assert_eq!(last_minute.minutes, 1.0);
        assert_eq!(last_minute.pds_events, 30.0);
        assert_eq!(last_minute.writes, 12.0);
        let ten = metrics.rates(10).unwrap();
        assert_eq!(ten.minutes, 10.0);
        assert_eq!(ten.pds_events, 30.0);
    }

    #[test]
    fn old_samples_go() {
        let metrics = Metrics::default();
        for i in 0..(SAMPLES as i64 + 10) {
            metrics.push_sample(Sample {
                at: i,
                ..Sample::default()
            });
        }
        assert_eq!(lock(&metrics.samples).len(), SAMPLES);
        assert_eq!(lock(&metrics.samples).front().unwrap().at, 10);
    }
}
