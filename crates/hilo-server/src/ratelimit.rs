//! HighLevel's API rate limits: per marketplace app (or private token) per resource
//! (location or company), a burst of 100 requests per 10 seconds and 200,000 a day.
//!
//! Counting sits behind [`CounterStore`] so several hilo processes can later share a store
//! (Redis) while a single process uses [`MemoryStore`]. The current time is always passed in,
//! never read here, so that a controllable server clock decides when windows and days end.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The daily limit.
pub const LIMIT_DAILY: HeaderName = HeaderName::from_static("x-ratelimit-limit-daily");
/// What is left of the daily limit.
pub const DAILY_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-daily-remaining");
/// The length of a burst window.
pub const INTERVAL_MILLISECONDS: HeaderName =
    HeaderName::from_static("x-ratelimit-interval-milliseconds");
/// The burst limit.
pub const MAX: HeaderName = HeaderName::from_static("x-ratelimit-max");
/// What is left of the current burst window.
pub const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// HighLevel's 429 body, byte for byte.
pub const TOO_MANY_REQUESTS_BODY: &str = r#"{"statusCode":429,"message":"Too Many Requests"}"#;

const DAY_MS: i64 = 86_400_000;

/// The limits for one key; the default is HighLevel's published one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests allowed in one window of `interval`.
    pub burst: u32,
    pub interval: Duration,
    /// Requests allowed per UTC day.
    pub daily: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            burst: 100,
            interval: Duration::from_secs(10),
            daily: 200_000,
        }
    }
}

impl RateLimits {
    /// The interval in whole milliseconds, saturating rather than failing on absurd values
    /// so that configuration can never make counting panic.
    pub fn interval_ms(&self) -> u64 {
        u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX)
    }

    fn interval_ms_i64(&self) -> i64 {
        i64::try_from(self.interval_ms()).unwrap_or(i64::MAX)
    }
}

/// The outcome of counting one request: whether it may proceed, and the values of
/// HighLevel's rate-limit headers, which every authenticated response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit_daily: u32,
    pub daily_remaining: u32,
    pub interval_ms: u64,
    pub max: u32,
    pub remaining: u32,
    /// Whole seconds (rounded up, at least 1) until a retry can succeed; `Some` exactly when
    /// the request was refused.
    pub retry_after_secs: Option<u64>,
}

impl Verdict {
    /// Writes the five `X-RateLimit-*` headers, and `Retry-After` on a refusal, replacing any
    /// already there so a handler cannot leave stale values behind.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(LIMIT_DAILY, HeaderValue::from(self.limit_daily));
        headers.insert(DAILY_REMAINING, HeaderValue::from(self.daily_remaining));
        headers.insert(INTERVAL_MILLISECONDS, HeaderValue::from(self.interval_ms));
        headers.insert(MAX, HeaderValue::from(self.max));
        headers.insert(REMAINING, HeaderValue::from(self.remaining));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }

    /// The complete 429 response for a refused request.
    pub fn too_many_requests(self) -> Response {
        TooManyRequests(self).into_response()
    }
}

/// HighLevel's 429: the exact JSON body, `Retry-After` and the rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRequests(pub Verdict);

impl IntoResponse for TooManyRequests {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_BODY).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.0.write_headers(headers);
        // A 429 without Retry-After sends clients into tight retry loops.
        if !headers.contains_key(RETRY_AFTER) {
            headers.insert(RETRY_AFTER, HeaderValue::from(1u64));
        }
        response
    }
}

/// The future a [`CounterStore`] returns: boxed so the trait stays dyn-compatible and a
/// networked store can await inside it.
pub type VerdictFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Verdict>> + Send + 'a>>;

/// What one caller has used of its limits on one resource, for the quota inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The app's client id, or the private token's id.
    pub client: String,
    /// Requests counted in the current burst window, and when it ends (`None`: no window open).
    pub window_used: u32,
    pub window_ends_ms: Option<i64>,
    /// Requests counted today (UTC).
    pub day_used: u32,
}

/// The future of [`CounterStore::usage`].
pub type UsageFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Vec<Usage>>> + Send + 'a>>;

/// Where requests are counted. Implementations must count atomically per key: exactly
/// `burst` requests pass per window however many arrive at once, and a refused request
/// consumes nothing.
pub trait CounterStore: Send + Sync {
    /// Counts one request for `key` at `now_ms` (epoch milliseconds, from the caller's clock)
    /// if `limits` allow it, and says what the headers should carry either way.
    fn hit<'a>(&'a self, key: &'a str, now_ms: i64, limits: RateLimits) -> VerdictFuture<'a>;

    /// What every caller has used on `resource_id` at `now_ms`, by client id.
    fn usage<'a>(&'a self, resource_id: &'a str, now_ms: i64) -> UsageFuture<'a>;
}

/// Enough shards that worker threads rarely wait on one another's keys.
const SHARDS: usize = 16;
/// A shard is swept once this many requests, or as many as it has keys (whichever is more),
/// have arrived since its last sweep: the sweep's cost is then at most one entry per request,
/// and stale keys can at most double a shard before they go.
const SWEEP_MIN_CALLS: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The burst window, `[window_start, window_end)`.
    window_start: i64,
    window_end: i64,
    window_count: u32,
    /// The UTC day (days since the epoch) that `day_count` counts.
    day: i64,
    day_count: u32,
}

impl Entry {
    /// A window is current only while `now` is inside it, so a clock set back starts a fresh
    /// window instead of refusing until the old one ends.
    fn window_current(&self, now_ms: i64) -> bool {
        self.window_start <= now_ms && now_ms < self.window_end
    }

    /// An entry that is neither in its window nor its day counts nothing, so dropping it
    /// changes no verdict.
    fn stale(&self, now_ms: i64) -> bool {
        !self.window_current(now_ms) && self.day != day_of(now_ms)
    }
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<String, Entry>,
    calls_since_sweep: usize,
}

impl Shard {
    fn sweep(&mut self, now_ms: i64) {
        self.entries.retain(|_, entry| !entry.stale(now_ms));
        self.calls_since_sweep = 0;
    }
}

fn day_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// Whole seconds for `Retry-After`: rounded up so a client that waits them succeeds, and at
/// least 1 so it never retries at once.
fn retry_secs(wait_ms: i64) -> u64 {
    let wait_ms = u64::try_from(wait_ms).unwrap_or(0);
    wait_ms.div_ceil(1000).max(1)
}

/// The in-process [`CounterStore`]: fixed burst windows and UTC-day counters per key, in
/// sharded maps behind plain mutexes (each decision is a few arithmetic operations, so the
/// critical section is tiny and check-and-count is one step).
pub struct MemoryStore {
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .finish()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// The counters hold no invariant a panic could break halfway, so a poisoned lock is
    /// still safe to use; refusing service over it would be worse.
    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        // The modulo keeps the index below SHARDS, so the truncating cast is harmless.
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request synchronously; [`CounterStore::hit`] wraps this.
    pub fn hit_now(&self, key: &str, now_ms: i64, limits: RateLimits) -> Verdict {
        let interval_ms = limits.interval_ms();
        let today = day_of(now_ms);
        let mut shard = self.shard(key);

        shard.calls_since_sweep += 1;
        if shard.calls_since_sweep >= SWEEP_MIN_CALLS.max(shard.entries.len()) {
            shard.sweep(now_ms);
        }

        // What the key has used so far in the window and the day that hold `now`.
        let existing = shard.entries.get(key).copied();
        let (window_end, window_count) = match existing {
            Some(e) if e.window_current(now_ms) => (e.window_end, e.window_count),
            _ => (now_ms.saturating_add(limits.interval_ms_i64()), 0),
        };
        let day_count = match existing {
            Some(e) if e.day == today => e.day_count,
            _ => 0,
        };

        let burst_left = window_count < limits.burst;
        let daily_left = day_count < limits.daily;
        if !(burst_left && daily_left) {
            // Nothing is written: a refusal consumes nothing. A retry needs every exhausted
            // limit to have reset, so wait for the later of the two.
            let mut wait_ms = 0;
            if !burst_left {
                wait_ms = window_end.saturating_sub(now_ms);
            }
            if !daily_left {
                let midnight = today.saturating_add(1).saturating_mul(DAY_MS);
                wait_ms = wait_ms.max(midnight.saturating_sub(now_ms));
            }
            return Verdict {
                allowed: false,
                limit_daily: limits.daily,
                daily_remaining: limits.daily.saturating_sub(day_count),
                interval_ms,
                max: limits.burst,
                remaining: limits.burst.saturating_sub(window_count),
                retry_after_secs: Some(retry_secs(wait_ms)),
            };
        }

        let entry = Entry {
            window_start: match existing {
                Some(e) if e.window_current(now_ms) => e.window_start,
                _ => now_ms,
            },
            window_end,
            window_count: window_count + 1,
            day: today,
            day_count: day_count + 1,
        };
        match shard.entries.get_mut(key) {
            Some(slot) => *slot = entry,
            None => {
                shard.entries.insert(key.to_owned(), entry);
            }
        }
        Verdict {
            allowed: true,
            limit_daily: limits.daily,
            daily_remaining: limits.daily - entry.day_count,
            interval_ms,
            max: limits.burst,
            remaining: limits.burst - entry.window_count,
            retry_after_secs: None,
        }
    }

    /// Drops every key whose window and day have both passed. Calls to `hit` already do this
    /// from time to time; this is for a periodic task or a test.
    pub fn sweep(&self, now_ms: i64) {
        for shard in self.shards.iter() {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sweep(now_ms);
        }
    }

    /// How many keys are held, stale ones included until swept.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entries
                    .len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`CounterStore::usage`], synchronously: a scan of every shard, for an occasional
    /// inspection rather than the request path.
    pub fn usage_now(&self, resource_id: &str, now_ms: i64) -> Vec<Usage> {
        let mut usage = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, entry) in &shard.entries {
                let Some((client, resource)) = RateLimiter::parse_key(key) else {
                    continue;
                };
                if resource != resource_id || entry.stale(now_ms) {
                    continue;
                }
                let window_open = entry.window_current(now_ms);
                usage.push(Usage {
                    client: client.to_owned(),
                    window_used: if window_open { entry.window_count } else { 0 },
                    window_ends_ms: window_open.then_some(entry.window_end),
                    day_used: if entry.day == day_of(now_ms) {
                        entry.day_count
                    } else {
                        0
                    },
                });
            }
        }
        usage.sort_by(|a, b| a.client.cmp(&b.client));
        usage
    }
}

impl CounterStore for MemoryStore {
    fn hit<'a>(&'a self, key: &'a str, now_ms: i64, limits: RateLimits) -> VerdictFuture<'a> {
        Box::pin(std::future::ready(Ok(self.hit_now(key, now_ms, limits))))
    }

    fn usage<'a>(&'a self, resource_id: &'a str, now_ms: i64) -> UsageFuture<'a> {
        Box::pin(std::future::ready(Ok(self.usage_now(resource_id, now_ms))))
    }
}

/// What request handling asks: may this request proceed, and what headers go with it.
/// Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct RateLimiter {
    /// `None` turns limiting off (load tests, sandboxes).
    limits: Option<RateLimits>,
    store: Arc<dyn CounterStore>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    /// HighLevel's limits, counted in this process.
    fn default() -> Self {
        RateLimiter::in_memory(RateLimits::default())
    }
}

impl RateLimiter {
    pub fn new(limits: Option<RateLimits>, store: Arc<dyn CounterStore>) -> Self {
        RateLimiter { limits, store }
    }

    pub fn in_memory(limits: RateLimits) -> Self {
        RateLimiter::new(Some(limits), Arc::new(MemoryStore::new()))
    }

    /// No limits and no headers.
    pub fn off() -> Self {
        RateLimiter::new(None, Arc::new(MemoryStore::new()))
    }

    pub fn limits(&self) -> Option<RateLimits> {
        self.limits
    }

    /// Counts one request for `key` at `now_ms` (epoch milliseconds). `None` when limits are
    /// off; an error is the store's, and whether to fail open is the caller's choice.
    pub async fn check(&self, key: &str, now_ms: i64) -> anyhow::Result<Option<Verdict>> {
        match self.limits {
            None => Ok(None),
            Some(limits) => self.store.hit(key, now_ms, limits).await.map(Some),
        }
    }

    /// What callers have used on `resource_id`; empty when limits are off.
    pub async fn usage(&self, resource_id: &str, now_ms: i64) -> anyhow::Result<Vec<Usage>> {
        match self.limits {
            None => Ok(Vec::new()),
            Some(_) => self.store.usage(resource_id, now_ms).await,
        }
    }

    /// The one spelling of a key, so every caller counts against the same counter. The
    /// length prefix keeps it unambiguous whatever characters the ids contain.
    pub fn key(client_or_token_id: &str, resource_id: &str) -> String {
        format!(
            "{}:{client_or_token_id}:{resource_id}",
            client_or_token_id.len()
        )
    }

    /// The client and resource ids of a [`RateLimiter::key`].
    pub fn parse_key(key: &str) -> Option<(&str, &str)> {
        let (length, rest) = key.split_once(':')?;
        let length: usize = length.parse().ok()?;
        let client = rest.get(..length)?;
        let resource = rest.get(length..)?.strip_prefix(':')?;
        Some((client, resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Barrier;

    /// 2021-11-26T12:00:00.000Z.
    const NOON: i64 = 1_637_928_000_000;
    /// The midnight after NOON.
    const MIDNIGHT: i64 = NOON + 12 * 3_600_000;

    fn limits(burst: u32, interval_ms: u64, daily: u32) -> RateLimits {
        RateLimits {
            burst,
            interval: Duration::from_millis(interval_ms),
            daily,
        }
    }

    fn header(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> &str {
        headers.get(name).unwrap().to_str().unwrap()
    }

    #[test]
    fn defaults_are_highlevels() {
        let l = RateLimits::default();
        assert_eq!((l.burst, l.interval_ms(), l.daily), (100, 10_000, 200_000));
    }

    #[test]
    fn exactly_burst_per_window_then_refused_with_retry_after() {
        let store = MemoryStore::new();
        let l = RateLimits::default();
        for i in 0..100u32 {
            let v = store.hit_now("k", NOON, l);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 99 - i);
            assert_eq!(v.daily_remaining, 199_999 - i);
            assert_eq!(v.retry_after_secs, None);
        }
        let v = store.hit_now("k", NOON + 2_500, l);
        assert!(!v.allowed);
        assert_eq!(v.remaining, 0);
        assert_eq!(v.daily_remaining, 199_900);
        assert_eq!(v.retry_after_secs, Some(8), "7.5 s rounds up");
        let v = store.hit_now("k", NOON + 9_999, l);
        assert_eq!(v.retry_after_secs, Some(1), "never 0");
    }

    #[test]
    fn headers_carry_the_verdict() {
        let store = MemoryStore::new();
        let v = store.hit_now("k", NOON, RateLimits::default());
        let mut headers = HeaderMap::new();
        v.write_headers(&mut headers);
        assert_eq!(header(&headers, "X-RateLimit-Limit-Daily"), "200000");
        assert_eq!(header(&headers, "X-RateLimit-Daily-Remaining"), "199999");
        assert_eq!(
            header(&headers, "X-RateLimit-Interval-Milliseconds"),
            "10000"
        );
        assert_eq!(header(&headers, "X-RateLimit-Max"), "100");
        assert_eq!(header(&headers, "X-RateLimit-Remaining"), "99");
        assert!(!headers.contains_key(RETRY_AFTER));
        assert_eq!(headers.len(), 5);
    }

    #[test]
    fn concurrent_threads_get_exactly_burst() {
        let store = Arc::new(MemoryStore::new());
        let allowed = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, allowed, barrier) = (store.clone(), allowed.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..50 {
                        if store.hit_now("k", NOON, RateLimits::default()).allowed {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(allowed.load(Ordering::Relaxed), 100);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_tasks_get_exactly_burst() {
        let limiter = RateLimiter::default();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    let mut allowed = 0;
                    for _ in 0..50 {
                        let v = limiter.check("k", NOON).await.unwrap().unwrap();
                        allowed += u32::from(v.allowed);
                        tokio::task::yield_now().await;
                    }
                    allowed
                })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += t.await.unwrap();
        }
        assert_eq!(allowed, 100);
    }

    #[test]
    fn window_is_fixed_from_its_first_request() {
        let store = MemoryStore::new();
        let l = limits(2, 10_000, 1_000);
        assert!(store.hit_now("k", NOON, l).allowed);
        assert!(store.hit_now("k", NOON + 4_000, l).allowed);
        assert!(!store.hit_now("k", NOON + 9_999, l).allowed);
        // The window ends exactly `interval` after it began.
        let v = store.hit_now("k", NOON + 10_000, l);
        assert!(v.allowed);
        assert_eq!(v.remaining, 1);
        // A window begins with the first request after the last one ended, not on a grid.
        assert!(store.hit_now("k", NOON + 10_000, l).allowed);
        assert!(!store.hit_now("k", NOON + 19_999, l).allowed);
        let v = store.hit_now("k", NOON + 25_000, l);
        assert!(v.allowed);
        assert!(store.hit_now("k", NOON + 34_999, l).allowed);
        let v = store.hit_now("k", NOON + 34_999, l);
        assert!(!v.allowed);
        assert_eq!(v.retry_after_secs, Some(1));
        assert!(store.hit_now("k", NOON + 35_000, l).allowed);
    }

    #[test]
    fn refusals_consume_nothing() {
        let store = MemoryStore::new();
        let l = limits(3, 10_000, 10);
        for _ in 0..3 {
            assert!(store.hit_now("k", NOON, l).allowed);
        }
        for _ in 0..20 {
            let v = store.hit_now("k", NOON + 1, l);
            assert!(!v.allowed);
            assert_eq!(v.daily_remaining, 7);
        }
        let v = store.hit_now("k", NOON + 10_000, l);
        assert!(v.allowed);
        assert_eq!((v.remaining, v.daily_remaining), (2, 6));

        // A daily refusal leaves the burst window alone.
        let store = MemoryStore::new();
        let l = limits(5, 10_000, 2);
        assert!(store.hit_now("k", NOON, l).allowed);
        assert!(store.hit_now("k", NOON, l).allowed);
        let v = store.hit_now("k", NOON, l);
        assert!(!v.allowed);
        assert_eq!((v.remaining, v.daily_remaining), (3, 0));
    }

    #[test]
    fn daily_limit_resets_at_utc_midnight() {
        let store = MemoryStore::new();
        let l = limits(100, 10_000, 3);
        for i in 0..3 {
            assert!(store.hit_now("k", NOON + i * 60_000, l).allowed);
        }
        let v = store.hit_now("k", NOON + 3_600_000, l);
        assert!(!v.allowed);
        assert_eq!(v.daily_remaining, 0);
        assert_eq!(v.remaining, 100, "a fresh window, but the day is spent");
        assert_eq!(v.retry_after_secs, Some(11 * 3600));
        let v = store.hit_now("k", MIDNIGHT - 1, l);
        assert!(!v.allowed, "not before midnight");
        assert_eq!(v.retry_after_secs, Some(1));
        let v = store.hit_now("k", MIDNIGHT, l);
        assert!(v.allowed, "right at midnight");
        assert_eq!(v.daily_remaining, 2);
    }

    #[test]
    fn retry_after_waits_for_both_limits() {
        let store = MemoryStore::new();
        let l = limits(1, 10_000, 1);
        assert!(store.hit_now("k", MIDNIGHT - 3_000, l).allowed);
        // The window ends 7 s after midnight: that, not midnight, is when a retry succeeds.
        let v = store.hit_now("k", MIDNIGHT - 2_000, l);
        assert_eq!(v.retry_after_secs, Some(9));
        assert!(!store.hit_now("k", MIDNIGHT + 6_999, l).allowed);
        assert!(store.hit_now("k", MIDNIGHT + 7_000, l).allowed);
    }

    #[test]
    fn keys_are_independent() {
        let store = MemoryStore::new();
        let l = limits(1, 10_000, 10);
        let a = RateLimiter::key("client", "loc1");
        let b = RateLimiter::key("client", "loc2");
        assert!(store.hit_now(&a, NOON, l).allowed);
        assert!(!store.hit_now(&a, NOON, l).allowed);
        let v = store.hit_now(&b, NOON, l);
        assert!(v.allowed);
        assert_eq!(v.daily_remaining, 9);
    }

    #[test]
    fn keys_are_unambiguous() {
        assert_ne!(RateLimiter::key("a:b", "c"), RateLimiter::key("a", "b:c"));
        assert_eq!(
            RateLimiter::key("app", "loc"),
            RateLimiter::key("app", "loc")
        );
    }

    #[test]
    fn keys_parse_back() {
        for (client, resource) in [("app", "loc"), ("a:b", "c"), ("a", "b:c"), ("", "x")] {
            let key = RateLimiter::key(client, resource);
            assert_eq!(RateLimiter::parse_key(&key), Some((client, resource)));
        }
        for bad in ["", "x", "3:ab", "3:abc", "3:abcloc", "99:a:b", "é:a:b"] {
            assert_eq!(RateLimiter::parse_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn usage_reports_live_counters_of_one_resource() {
        let store = MemoryStore::new();
        let l = limits(5, 10_000, 100);
        for _ in 0..3 {
            store.hit_now(&RateLimiter::key("app-b", "loc"), NOON, l);
        }
        store.hit_now(&RateLimiter::key("app-a", "loc"), NOON - 60_000, l);
        store.hit_now(&RateLimiter::key("app-a", "other"), NOON, l);
        assert_eq!(
            store.usage_now("loc", NOON),
            vec![
                Usage {
                    client: "app-a".into(),
                    window_used: 0,
                    window_ends_ms: None,
                    day_used: 1,
                },
                Usage {
                    client: "app-b".into(),
                    window_used: 3,
                    window_ends_ms: Some(NOON + 10_000),
                    day_used: 3,
                },
            ]
        );
        // After midnight nothing of yesterday is left to report.
        assert_eq!(store.usage_now("loc", MIDNIGHT + 1), vec![]);
    }

    #[tokio::test]
    async fn limits_off_means_no_verdict() {
        let limiter = RateLimiter::off();
        assert_eq!(limiter.limits(), None);
        for _ in 0..1_000 {
            assert_eq!(limiter.check("k", NOON).await.unwrap(), None);
        }
    }

    #[tokio::test]
    async fn limiter_uses_its_store() {
        let store = Arc::new(MemoryStore::new());
        let limiter = RateLimiter::new(Some(limits(1, 10_000, 10)), store.clone());
        assert!(limiter.check("k", NOON).await.unwrap().unwrap().allowed);
        assert!(!limiter.check("k", NOON).await.unwrap().unwrap().allowed);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn too_many_requests_response() {
        let store = MemoryStore::new();
        let l = RateLimits::default();
        for _ in 0..100 {
            store.hit_now("k", NOON, l);
        }
        let v = store.hit_now("k", NOON + 500, l);
        let response = v.too_many_requests();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = response.headers();
        assert_eq!(header(headers, CONTENT_TYPE), "application/json");
        assert_eq!(header(headers, "Retry-After"), "10");
        assert_eq!(header(headers, "X-RateLimit-Limit-Daily"), "200000");
        assert_eq!(header(headers, "X-RateLimit-Daily-Remaining"), "199900");
        assert_eq!(
            header(headers, "X-RateLimit-Interval-Milliseconds"),
            "10000"
        );
        assert_eq!(header(headers, "X-RateLimit-Max"), "100");
        assert_eq!(header(headers, "X-RateLimit-Remaining"), "0");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(
            &body[..],
            br#"{"statusCode":429,"message":"Too Many Requests"}"#
        );
    }

    #[test]
    fn sweep_removes_only_stale_keys() {
        let store = MemoryStore::new();
        let l = limits(10, 10_000, 10);
        store.hit_now("old", MIDNIGHT - 20_000, l);
        store.hit_now("window-open", MIDNIGHT - 5_000, l);
        store.hit_now("today", MIDNIGHT + 1_000, l);
        store.hit_now("current", MIDNIGHT + 15_000, l);
        assert_eq!(store.len(), 4);
        // At MIDNIGHT + 16 s: "old" and "window-open" are from yesterday with their windows
        // over; "today" has its window over but counts today; "current" is in its window.
        store.sweep(MIDNIGHT + 16_000);
        assert_eq!(store.len(), 2);
        let v = store.hit_now("today", MIDNIGHT + 16_000, l);
        assert_eq!(v.daily_remaining, 8, "kept keys keep their counts");
        let v = store.hit_now("current", MIDNIGHT + 16_000, l);
        assert_eq!(v.remaining, 8);
        // A window still open keeps a key from yesterday.
        let store = MemoryStore::new();
        store.hit_now("k", MIDNIGHT - 1_000, l);
        store.sweep(MIDNIGHT + 1_000);
        assert_eq!(store.len(), 1);
        store.sweep(MIDNIGHT + 9_000);
        assert!(store.is_empty());
    }

    #[test]
    fn hits_sweep_stale_keys_as_they_go() {
        let store = MemoryStore::new();
        let l = RateLimits::default();
        // Half a sweep's worth per shard, all stale by the next day...
        let yesterday = SHARDS * SWEEP_MIN_CALLS / 2;
        for i in 0..yesterday {
            store.hit_now(&format!("y{i}"), NOON, l);
        }
        assert_eq!(store.len(), yesterday);
        // ...and enough new keys the next day for every shard to sweep at least once.
        let today = SHARDS * SWEEP_MIN_CALLS * 2;
        for i in 0..today {
            store.hit_now(&format!("t{i}"), MIDNIGHT + 60_000, l);
        }
        assert_eq!(store.len(), today, "yesterday's keys are gone");
    }

    #[test]
    fn degenerate_limits_do_not_panic() {
        let store = MemoryStore::new();
        let v = store.hit_now("k", NOON, limits(0, 10_000, 10));
        assert!(!v.allowed);
        assert_eq!(v.retry_after_secs, Some(10));
        assert!(store.is_empty(), "a refusal stores nothing");
        let v = store.hit_now("k", NOON, limits(10, 0, 0));
        assert!(!v.allowed);
        let huge = RateLimits {
            burst: 1,
            interval: Duration::MAX,
            daily: u32::MAX,
        };
        assert!(store.hit_now("k", i64::MAX - 1, huge).allowed);
        assert!(!store.hit_now("k", i64::MAX - 1, huge).allowed);
        assert!(store.hit_now("k", i64::MIN, huge).allowed, "clock set back");
    }
}
