//! Rate limits: named budgets of points per fixed window and key (an address, an account, an
//! identifier with an address), with the reference PDS's shapes and numbers as the floor, and the
//! admin password's back-off.
//!
//! A window starts at a key's first use and lasts the limit's window (the `rate-limiter-flexible`
//! semantics the reference uses); a request that would pass the limit is refused and spends
//! nothing more. [`LimitId`] lists every limit with its default; operators change them with
//! `SKYHOLD_RATE_LIMITS` ([`parse_overrides`]). Addresses are keys as they are for IPv4 and by their
//! /64 prefix for IPv6 (one customer's block), see [`address_key`].
//!
//! Memory is bounded: each limit keeps at most [`MAX_KEYS`] keys; expired windows are swept, and a
//! limit still full then forgets a tenth of its keys. Windows of an hour or more, and the admin
//! back-off, are written to the store every [`FLUSH_INTERVAL`] and at shutdown (one write for all of
//! them, never one per request), so a restart does not hand an attacker a fresh budget.
//!
//! Does not: decide which routes use which limits (`http::limits` does).

mod admin;
mod table;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use admin::AdminBackoff;

use crate::store::{Store, StoreError};

/// Keys kept per limit at most.
const MAX_KEYS: usize = 100_000;
/// How often windows of an hour or more are written to the store.
const FLUSH_INTERVAL: Duration = Duration::from_secs(30);
/// Windows this long or longer survive a restart.
const PERSISTED_FROM: u64 = 60 * 60;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;

/// Every limit, with the reference PDS's numbers (bluesky-social/atproto `packages/pds`) where it
/// has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitId {
    /// Every XRPC call of an address but `sync.getRepo` (`global-ip`: 3000 per 5 minutes).
    GlobalIp,
    /// createSession per identifier and address: 30 per 5 minutes...
    Login5m,
    /// ...and 300 per day.
    LoginDay,
    /// createAccount per address: 100 per 5 minutes.
    Signup,
    /// requestPasswordReset per address: 15 per hour...
    PasswordResetHour,
    /// ...and 50 per day.
    PasswordResetDay,
    /// resetPassword per address: 50 per 5 minutes.
    ResetPassword,
    /// requestEmailUpdate and requestEmailConfirmation per account: 5 per hour...
    EmailHour,
    /// ...and 15 per day.
    EmailDay,
    /// requestAccountDelete per account: 15 per day.
    AccountDeleteDay,
    /// deleteAccount per address: 50 per 5 minutes.
    DeleteAccount,
    /// updateHandle per account: 10 per 5 minutes...
    Handle5m,
    /// ...and 50 per day.
    HandleDay,
    /// Repo writes per account in points (create 3, update 2, delete 1): 5000 per hour...
    RepoWriteHour,
    /// ...and 35,000 per day.
    RepoWriteDay,
    /// uploadBlob per address: 1000 per day.
    BlobDay,
    /// sync.getRepo per address: 6000 per 5 minutes (outside the global limit, as the reference).
    SyncGetRepo,
    /// Certificates issued on demand for one account's handles: 3 per week (skyhold's own: the
    /// CA's weekly budget of new names is shared by everyone).
    HandleCertWeek,
    /// The relay's requestCrawl per address: 20 per hour (skyhold's own).
    Crawl,
}

impl LimitId {
    pub const ALL: [LimitId; 19] = [
        LimitId::GlobalIp,
        LimitId::Login5m,
        LimitId::LoginDay,
        LimitId::Signup,
        LimitId::PasswordResetHour,
        LimitId::PasswordResetDay,
        LimitId::ResetPassword,
        LimitId::EmailHour,
        LimitId::EmailDay,
        LimitId::AccountDeleteDay,
        LimitId::DeleteAccount,
        LimitId::Handle5m,
        LimitId::HandleDay,
        LimitId::RepoWriteHour,
        LimitId::RepoWriteDay,
        LimitId::BlobDay,
        LimitId::SyncGetRepo,
        LimitId::HandleCertWeek,
        LimitId::Crawl,
    ];

    /// The name operators use in `SKYHOLD_RATE_LIMITS` (and the store's key prefix).
    pub fn name(self) -> &'static str {
        match self {
            LimitId::GlobalIp => "global-ip",
            LimitId::Login5m => "login-5m",
            LimitId::LoginDay => "login-day",
            LimitId::Signup => "signup",
            LimitId::PasswordResetHour => "password-reset-hour",
            LimitId::PasswordResetDay => "password-reset-day",
            LimitId::ResetPassword => "reset-password",
            LimitId::EmailHour => "email-hour",
            LimitId::EmailDay => "email-day",
            LimitId::AccountDeleteDay => "account-delete-day",
            LimitId::DeleteAccount => "delete-account",
            LimitId::Handle5m => "handle-5m",
            LimitId::HandleDay => "handle-day",
            LimitId::RepoWriteHour => "repo-write-hour",
            LimitId::RepoWriteDay => "repo-write-day",
            LimitId::BlobDay => "blob-day",
            LimitId::SyncGetRepo => "sync-get-repo",
            LimitId::HandleCertWeek => "handle-cert-week",
            LimitId::Crawl => "crawl",
        }
    }

    /// (points, window in seconds) unless the operator says otherwise.
    pub fn default_limit(self) -> Limit {
        let (points, window) = match self {
            LimitId::GlobalIp => (3000, 5 * MINUTE),
            LimitId::Login5m => (30, 5 * MINUTE),
            LimitId::LoginDay => (300, DAY),
            LimitId::Signup => (100, 5 * MINUTE),
            LimitId::PasswordResetHour => (15, HOUR),
            LimitId::PasswordResetDay => (50, DAY),
            LimitId::ResetPassword => (50, 5 * MINUTE),
            LimitId::EmailHour => (5, HOUR),
            LimitId::EmailDay => (15, DAY),
            LimitId::AccountDeleteDay => (15, DAY),
            LimitId::DeleteAccount => (50, 5 * MINUTE),
            LimitId::Handle5m => (10, 5 * MINUTE),
            LimitId::HandleDay => (50, DAY),
            LimitId::RepoWriteHour => (5000, HOUR),
            LimitId::RepoWriteDay => (35_000, DAY),
            LimitId::BlobDay => (1000, DAY),
            LimitId::SyncGetRepo => (6000, 5 * MINUTE),
            LimitId::HandleCertWeek => (3, WEEK),
            LimitId::Crawl => (20, HOUR),
        };
        Limit {
            points,
            window_secs: window,
        }
    }

    fn from_name(name: &str) -> Option<LimitId> {
        LimitId::ALL.into_iter().find(|id| id.name() == name)
    }
}

/// Points per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub points: u32,
    pub window_secs: u64,
}

/// The effective limits: the defaults with the operator's overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    limits: HashMap<LimitId, Limit>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            limits: LimitId::ALL
                .into_iter()
                .map(|id| (id, id.default_limit()))
                .collect(),
        }
    }
}

impl RateLimitConfig {
    pub fn get(&self, id: LimitId) -> Limit {
        self.limits
            .get(&id)
            .copied()
            .unwrap_or_else(|| id.default_limit())
    }
}

/// Parses `name=points/window` entries (`window`: a number with `s`, `m`, `h`, `d` or `w`), e.g.
/// `global-ip=6000/5m`, into the effective limits; every bad entry is reported.
pub fn parse_overrides(entries: &[String]) -> Result<RateLimitConfig, Vec<String>> {
    let mut config = RateLimitConfig::default();
    let mut problems = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        match parse_override(entry) {
            Ok((id, limit)) => {
                config.limits.insert(id, limit);
            }
            Err(problem) => problems.push(format!("SKYHOLD_RATE_LIMITS: {entry:?}: {problem}")),
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

fn parse_override(entry: &str) -> Result<(LimitId, Limit), String> {
    let (name, value) = entry.split_once('=').ok_or("expected name=points/window")?;
    let id = LimitId::from_name(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = LimitId::ALL.iter().map(|id| id.name()).collect();
        format!("unknown limit (known: {})", names.join(", "))
    })?;
    let (points, window) = value
        .split_once('/')
        .ok_or("expected points/window, e.g. 3000/5m")?;
    let points: u32 = points
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or("points must be a whole number above 0")?;
    let window = window.trim();
    let split = window
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(window.len());
    let (count, unit) = window.split_at(split);
    let count: u64 = if count.is_empty() {
        1
    } else {
        count.parse().map_err(|_| "bad window")?
    };
    let unit_secs = match unit {
        "s" => 1,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => WEEK,
        _ => return Err("the window's unit must be s, m, h, d or w".into()),
    };
    let window_secs = count.saturating_mul(unit_secs);
    if window_secs == 0 {
        return Err("the window must be at least a second".into());
    }
    Ok((
        id,
        Limit {
            points,
            window_secs,
        },
    ))
}

/// The key of an address: itself for IPv4 (IPv4-mapped IPv6 included), its /64 for IPv6.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Where a key stands in a limit after a request, for the `RateLimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub limit: u32,
    pub remaining: u32,
    /// When the window ends (seconds since the epoch).
    pub reset_at: u64,
    pub window_secs: u64,
}

/// A refused request: the limit it would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exceeded(pub Status);

/// One key's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    start: u64,
    used: u32,
    /// Changed since it was last written to the store.
    dirty: bool,
}

/// The rate limits. Cheap to clone.
#[derive(Clone)]
pub struct RateLimits {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: RateLimitConfig,
    buckets: HashMap<LimitId, Mutex<HashMap<String, Bucket>>>,
    admin: AdminBackoff,
}

impl RateLimits {
    /// The limits, with the windows of an hour or more that were live at the last flush.
    pub async fn open(store: Store, config: RateLimitConfig) -> Result<RateLimits, StoreError> {
        let now = crate::clock::now_secs_u64();
        let stored = table::load(&store).await?;
        let mut buckets: HashMap<LimitId, HashMap<String, Bucket>> = LimitId::ALL
            .into_iter()
            .map(|id| (id, HashMap::new()))
            .collect();
        let mut admin = Vec::new();
        for (name, key, start, used) in stored {
            if name == admin::STORE_NAME {
                admin.push((key, start, used));
                continue;
            }
            let Some(id) = LimitId::from_name(&name) else {
                continue;
            };
            let limit = config.get(id);
            if start + limit.window_secs > now
                && let Some(map) = buckets.get_mut(&id)
            {
                map.insert(
                    key,
                    Bucket {
                        start,
                        used,
                        dirty: false,
                    },
                );
            }
        }
        Ok(RateLimits {
            inner: Arc::new(Inner {
                store,
                config,
                buckets: buckets
                    .into_iter()
                    .map(|(id, map)| (id, Mutex::new(map)))
                    .collect(),
                admin: AdminBackoff::restore(admin, now),
            }),
        })
    }

    /// Spends `points` of `id` for `key`, or refuses (spending nothing) when they do not fit.
    pub fn consume(&self, id: LimitId, key: &str, points: u32) -> Result<Status, Exceeded> {
        let limit = self.inner.config.get(id);
        let now = crate::clock::now_secs_u64();
        let Some(map) = self.inner.buckets.get(&id) else {
            return Ok(Status {
                limit: limit.points,
                remaining: limit.points,
                reset_at: now + limit.window_secs,
                window_secs: limit.window_secs,
            });
        };
        let mut map = map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !map.contains_key(key) && map.len() >= MAX_KEYS {
            make_room(&mut map, now, limit.window_secs);
        }
        let bucket = map.entry(key.to_owned()).or_insert(Bucket {
            start: now,
            used: 0,
            dirty: false,
        });
        if bucket.start + limit.window_secs <= now {
            *bucket = Bucket {
                start: now,
                used: 0,
                dirty: false,
            };
        }
        let status = |used: u32| Status {
            limit: limit.points,
            remaining: limit.points.saturating_sub(used),
            reset_at: bucket.start + limit.window_secs,
            window_secs: limit.window_secs,
        };
        if bucket.used.saturating_add(points) > limit.points {
            return Err(Exceeded(status(bucket.used)));
        }
        bucket.used += points;
        bucket.dirty = true;
        Ok(status(bucket.used))
    }

    /// Spends every `(limit, key, points)`; the tightest status, or the first refusal. Like the
    /// reference's combined limiters, the limits that fit are spent even when another refuses.
    pub fn consume_all(&self, spends: &[(LimitId, &str, u32)]) -> Result<Option<Status>, Exceeded> {
        let mut tightest: Option<Status> = None;
        let mut refused = None;
        for (id, key, points) in spends {
            match self.consume(*id, key, *points) {
                Ok(status) => {
                    if tightest.is_none_or(|t| status.remaining < t.remaining) {
                        tightest = Some(status);
                    }
                }
                Err(exceeded) => {
                    refused.get_or_insert(exceeded);
                }
            }
        }
        match refused {
            Some(exceeded) => Err(exceeded),
            None => Ok(tightest),
        }
    }

    /// The admin password's back-off.
    pub fn admin(&self) -> &AdminBackoff {
        &self.inner.admin
    }

    /// Writes the changed windows of an hour or more (and the admin back-off) in one write.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let mut rows = Vec::new();
        for (id, map) in &self.inner.buckets {
            let window = self.inner.config.get(*id).window_secs;
            if window < PERSISTED_FROM {
                continue;
            }
            let mut map = map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (key, bucket) in map.iter_mut().filter(|(_, b)| b.dirty) {
                bucket.dirty = false;
                rows.push((id.name().to_owned(), key.clone(), bucket.start, bucket.used));
            }
        }
        rows.extend(
            self.inner
                .admin
                .take_dirty()
                .into_iter()
                .map(|(key, start, used)| (admin::STORE_NAME.to_owned(), key, start, used)),
        );
        let now = crate::clock::now_secs_u64();
        let expired_before = now.saturating_sub(
            LimitId::ALL
                .into_iter()
                .map(|id| self.inner.config.get(id).window_secs)
                .chain([admin::KEPT_FOR_SECS])
                .max()
                .unwrap_or(DAY),
        );
        table::save(&self.inner.store, rows, expired_before).await
    }

    /// Flushes every [`FLUSH_INTERVAL`] and sweeps expired windows, until the process ends.
    pub fn spawn_flush(&self) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                limits.sweep();
                if let Err(error) = limits.flush().await {
                    tracing::warn!(%error, "saving rate limit windows failed");
                }
            }
        });
    }

    /// Drops windows that have ended.
    fn sweep(&self) {
        let now = crate::clock::now_secs_u64();
        for (id, map) in &self.inner.buckets {
            let window = self.inner.config.get(*id).window_secs;
            map.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .retain(|_, b| b.start + window > now);
        }
        self.inner.admin.sweep(now);
    }
}

/// Frees room in a full limit: expired windows first, then a tenth of the keys.
fn make_room(map: &mut HashMap<String, Bucket>, now: u64, window: u64) {
    map.retain(|_, b| b.start + window > now);
    if map.len() >= MAX_KEYS {
        let evict: Vec<String> = map.keys().take(MAX_KEYS / 10).cloned().collect();
        for key in evict {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests;
