//! Client-side pacing from HighLevel's rate-limit headers: once less than half of the burst
//! window is left, requests are spread so that what remains lasts a whole window, so a busy
//! client slows down before the server refuses it.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// The limits the last response reported (`X-RateLimit-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    pub max: u32,
    pub remaining: u32,
    pub interval: Duration,
    pub daily_limit: Option<u32>,
    pub daily_remaining: Option<u32>,
}

impl RateLimitState {
    /// Reads the headers of a response; `None` when it carries no burst limits.
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimitState> {
        let number = |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.parse().ok() };
        let small = |name: &str| number(name).and_then(|n| u32::try_from(n).ok());
        Some(RateLimitState {
            max: small("x-ratelimit-max")?,
            remaining: small("x-ratelimit-remaining")?,
            interval: Duration::from_millis(number("x-ratelimit-interval-milliseconds")?),
            daily_limit: small("x-ratelimit-limit-daily"),
            daily_remaining: small("x-ratelimit-daily-remaining"),
        })
    }

    /// The gap to leave between requests: none while half the window is left, then the rest
    /// of the window shared among the requests still allowed (a whole window when none are).
    fn spacing(&self) -> Duration {
        if self.max == 0 || self.remaining.saturating_mul(2) >= self.max {
            return Duration::ZERO;
        }
        self.interval / (self.remaining + 1)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Pacer {
    inner: Mutex<PacerState>,
}

#[derive(Debug, Default)]
struct PacerState {
    last: Option<RateLimitState>,
    /// The earliest start of the next request.
    next_slot: Option<Instant>,
}

impl Pacer {
    /// Reserves the next start time and returns how long to wait for it.
    pub(crate) fn reserve(&self) -> Duration {
        let mut state = self.lock();
        let now = Instant::now();
        let spacing = state.last.map(|s| s.spacing()).unwrap_or_default();
        if spacing.is_zero() {
            state.next_slot = None;
            return Duration::ZERO;
        }
        let start = state.next_slot.map_or(now, |slot| slot.max(now));
        state.next_slot = Some(start + spacing);
        start - now
    }

    pub(crate) fn observe(&self, headers: &HeaderMap) {
        if let Some(observed) = RateLimitState::from_headers(headers) {
            self.lock().last = Some(observed);
        }
    }

    pub(crate) fn last(&self) -> Option<RateLimitState> {
        self.lock().last
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        // The state is two plain values: a panic elsewhere cannot leave it inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(max: u32, remaining: u32, interval_ms: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-max", max.into());
        headers.insert("x-ratelimit-remaining", remaining.into());
        headers.insert("x-ratelimit-interval-milliseconds", interval_ms.into());
        headers
    }

    #[test]
    fn spacing_starts_at_half_the_window() {
        let state = |remaining| RateLimitState::from_headers(&headers(100, remaining, 10_000));
        assert_eq!(state(100).unwrap().spacing(), Duration::ZERO);
        assert_eq!(state(50).unwrap().spacing(), Duration::ZERO);
        assert_eq!(state(49).unwrap().spacing(), Duration::from_millis(200));
        assert_eq!(state(0).unwrap().spacing(), Duration::from_secs(10));
        assert_eq!(RateLimitState::from_headers(&HeaderMap::new()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reservations_queue_one_after_another() {
        let pacer = Pacer::default();
        assert_eq!(pacer.reserve(), Duration::ZERO);
        pacer.observe(&headers(10, 1, 1_000));
        assert_eq!(pacer.reserve(), Duration::ZERO);
        assert_eq!(pacer.reserve(), Duration::from_millis(500));
        assert_eq!(pacer.reserve(), Duration::from_millis(1_000));
        pacer.observe(&headers(10, 10, 1_000));
        assert_eq!(pacer.reserve(), Duration::ZERO);
    }
}
