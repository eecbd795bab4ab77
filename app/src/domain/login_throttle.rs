//! Slows down password guessing: log-in attempts per account are limited
//! (governor's GCRA, in memory on each node).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// Distinct accounts tracked before idle entries are pruned.
const PRUNE_ABOVE: usize = 10_000;

/// Log-in attempts per account: a burst, then one per interval.
pub struct LoginThrottle {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl LoginThrottle {
    /// `burst` attempts at once, then one every `60 / per_minute` seconds.
    pub fn new(burst: NonZeroU32, per_minute: NonZeroU32) -> Self {
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
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
    /// Ten attempts at once, then six a minute.
    fn default() -> Self {
        Self::new(
            NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            NonZeroU32::new(6).unwrap_or(NonZeroU32::MIN),
        )
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
