//! When a failed call is tried again, and after how long.

use std::time::Duration;

use rand::Rng;

/// Retries on 429, 5xx and connection errors: exponential backoff with jitter, or the
/// server's `Retry-After` when it sends one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries after the first; 0 turns retrying off.
    pub max_retries: u32,
    /// The first backoff; each further one doubles, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this (a spent daily quota, say) is returned as the error
    /// instead of being waited out.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `attempt` (0 for the first retry): half the exponential
    /// step plus a random part of the other half, so that many clients refused together do
    /// not come back together, and none comes back at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.max_backoff);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }

    /// The wait before retrying a refusal with this status and `Retry-After`; `None` when it
    /// is not to be retried.
    pub(crate) fn wait_for_status(
        &self,
        attempt: u32,
        status: u16,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_retries || !retryable_status(status) {
            return None;
        }
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            // A little past the server's word: its clock and ours are not the same clock.
            Some(wait) => Some(wait + Duration::from_millis(rand::thread_rng().gen_range(0..=50))),
            None => Some(self.backoff(attempt)),
        }
    }
}

/// Statuses worth another try: too many requests, and the server's own failures.
pub(crate) fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// `Retry-After` in whole seconds (HighLevel sends seconds; an HTTP date is not used by it and
/// falls back to backoff).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_its_bounds() {
        let policy = RetryPolicy::default();
        for attempt in 0..40 {
            let step = policy
                .base_backoff
                .saturating_mul(2u32.saturating_pow(attempt.min(31)))
                .min(policy.max_backoff);
            let wait = policy.backoff(attempt);
            assert!(
                wait >= step / 2 && wait <= step,
                "attempt {attempt}: {wait:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let wait = policy
            .wait_for_status(0, 429, Some(Duration::from_secs(3)))
            .unwrap();
        assert!(wait >= Duration::from_secs(3) && wait <= Duration::from_millis(3050));
        assert_eq!(
            policy.wait_for_status(0, 429, Some(Duration::from_secs(3600))),
            None
        );
        assert_eq!(policy.wait_for_status(0, 404, None), None);
        assert_eq!(policy.wait_for_status(6, 503, None), None);
        assert!(policy.wait_for_status(5, 503, None).is_some());
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
