//! When to try a failed delivery again. `standard`: every failure (no answer, a timeout, any
//! non-2xx status) is retried with exponential backoff and jitter until the horizon.
//! `highlevel`: as HighLevel's marketplace documents it, only a 429 is retried, every
//! interval (10 minutes) plus jitter, six retries at most; any other answer is final.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    Standard,
    HighLevel,
}

impl RetryMode {
    pub fn parse(s: &str) -> Option<RetryMode> {
        match s {
            "standard" => Some(RetryMode::Standard),
            "highlevel" => Some(RetryMode::HighLevel),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub mode: RetryMode,
    /// The first retry's delay (standard), or every retry's (highlevel).
    pub base: Duration,
    /// The longest delay between two attempts (standard).
    pub max_interval: Duration,
    /// No retry is scheduled later than this after the delivery was queued.
    pub horizon: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
}

impl RetryPolicy {
    pub fn standard() -> RetryPolicy {
        RetryPolicy {
            mode: RetryMode::Standard,
            base: Duration::from_secs(5),
            max_interval: Duration::from_secs(3600),
            horizon: Duration::from_secs(24 * 3600),
            max_attempts: u32::MAX,
        }
    }

    pub fn highlevel() -> RetryPolicy {
        RetryPolicy {
            mode: RetryMode::HighLevel,
            base: Duration::from_secs(600),
            max_interval: Duration::from_secs(600),
            horizon: Duration::from_secs(2 * 3600),
            max_attempts: 7,
        }
    }

    pub fn for_mode(mode: RetryMode) -> RetryPolicy {
        match mode {
            RetryMode::Standard => RetryPolicy::standard(),
            RetryMode::HighLevel => RetryPolicy::highlevel(),
        }
    }

    /// Whether a failed attempt (its status, `None` when there was no answer) may be retried.
    pub fn retries(&self, status: Option<u16>) -> bool {
        match self.mode {
            RetryMode::Standard => true,
            RetryMode::HighLevel => status == Some(429),
        }
    }

    /// When to make the next attempt after `attempts` failed ones (epoch ms), or `None` to give
    /// up. `queued_at` and `now` are epoch ms.
    pub fn next_attempt_at(&self, attempts: u32, queued_at: i64, now: i64) -> Option<i64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let delay = match self.mode {
            RetryMode::Standard => {
                let doubled = self
                    .base
                    .saturating_mul(2_u32.saturating_pow(attempts.saturating_sub(1)));
                let delay = doubled.min(self.max_interval);
                // ±25%: receivers that failed together are not all retried together.
                delay.mul_f64(rand::thread_rng().gen_range(0.75..=1.25))
            }
            RetryMode::HighLevel => {
                let jitter = self.base.mul_f64(rand::thread_rng().gen_range(0.0..=0.1));
                self.base + jitter
            }
        };
        let at = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        let horizon =
            queued_at.saturating_add(i64::try_from(self.horizon.as_millis()).unwrap_or(i64::MAX));
        (at <= horizon).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_backs_off_exponentially_within_jitter_and_stops_at_the_horizon() {
        let policy = RetryPolicy {
            base: Duration::from_secs(10),
            ..RetryPolicy::standard()
        };
        for (attempts, nominal) in [(1, 10_000), (2, 20_000), (3, 40_000)] {
            let delay = policy.next_attempt_at(attempts, 0, 0).unwrap();
            assert!(
                (nominal * 3 / 4..=nominal * 5 / 4).contains(&delay),
                "{attempts}: {delay}"
            );
        }
        // Capped at an hour (plus jitter), and nothing after a day.
        assert!(policy.next_attempt_at(30, 0, 0).unwrap() <= 4_500_000);
        assert_eq!(policy.next_attempt_at(3, 0, 86_400_000), None);
        assert!(policy.retries(Some(500)) && policy.retries(None) && policy.retries(Some(404)));
    }

    #[test]
    fn highlevel_retries_only_429_six_times_ten_minutes_apart() {
        let policy = RetryPolicy::highlevel();
        assert!(policy.retries(Some(429)));
        assert!(!policy.retries(Some(500)) && !policy.retries(None) && !policy.retries(Some(408)));
        let at = policy.next_attempt_at(1, 0, 0).unwrap();
        assert!((600_000..=660_000).contains(&at), "{at}");
        assert!(policy.next_attempt_at(6, 0, 0).is_some());
        assert_eq!(policy.next_attempt_at(7, 0, 0), None);
    }
}
