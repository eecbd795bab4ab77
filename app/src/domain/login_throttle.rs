//! Slows down password guessing: log-in attempts per account are limited
//! (governor's GCRA, in memory on each node).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Distinct accounts tracked before idle entries are pruned.
const PRUNE_ABOVE: usize = 10_000;

/// How many log-in attempts an account gets: a burst, then one more each
/// time `refill_every` passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimit {
    pub burst: NonZeroU32,
    pub refill_every: std::time::Duration,
}

impl Default for LoginLimit {
    /// Ten attempts at once, then six a minute.
    fn default() -> Self {
        Self {
            burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            refill_every: std::time::Duration::from_secs(10),
        }
    }
}

/// Log-in attempts per account: a burst, then one per interval.
pub struct LoginThrottle {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl LoginThrottle {
    pub fn new(limit: LoginLimit) -> Self {
        let quota = Quota::with_period(limit.refill_every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(limit.burst);
        Self {
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// Counts an attempt on `account`, or says how long to wait.
    pub fn check(&self, account: &str) -> Result<(), AppError> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&super::accounts::username_key(account))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                AppError::TooManyRequests(wait.as_secs().max(1))
            })
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(LoginLimit::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_allowed_then_attempts_wait() {
        let throttle = LoginThrottle::default();
        for _ in 0..10 {
            assert!(throttle.check("alice").is_ok());
        }
        assert!(matches!(
            throttle.check("ALICE"),
            Err(AppError::TooManyRequests(seconds)) if (1..=10).contains(&seconds)
        ));
        // Other accounts are unaffected.
        assert!(throttle.check("bob").is_ok());
    }
}
