//! Rate limits: how often one client address, one account or one socket may
//! do each costly or abusable thing.
//!
//! Every limit is a GCRA quota (a burst, refilled evenly over a period) from
//! `governor`. Alone, a node keeps them in memory. Joined by Redis, the
//! limits that must hold across nodes (per address, per account) are kept in
//! Redis by one atomic script per check, so N nodes do not grant N times the
//! quota; should Redis not answer within [`SHARED_CHECK_TIMEOUT`], the node
//! falls back to its own memory rather than failing the request.
//!
//! Keys are bounded: each limiter drops keys whose bucket is full again, and
//! past [`MAX_KEYS`] live keys refuses new ones (the flood is the attack).

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::redis_link::RedisLink;
use crate::error::AppError;

/// Live keys one limiter keeps before refusing new ones.
const MAX_KEYS: usize = 100_000;
/// How long a check may wait for Redis before the node decides alone.
const SHARED_CHECK_TIMEOUT: Duration = Duration::from_millis(250);

/// A quota: `burst` at once, refilled evenly over `period` (so one more
/// every `period / burst`). Written `BURST/PERIOD`, e.g. `10/1h`, `60/10s`;
/// `off` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Off,
    Limited { burst: NonZeroU32, period: Duration },
}

impl Rate {
    /// `burst` per `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        match NonZeroU32::new(burst) {
            Some(burst) if !period.is_zero() => Self::Limited { burst, period },
            _ => Self::Off,
        }
    }

    fn quota(self) -> Option<Quota> {
        let Self::Limited { burst, period } = self else {
            return None;
        };
        let every = period / burst.get();
        Quota::with_period(every.max(Duration::from_nanos(1))).map(|quota| quota.allow_burst(burst))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Limited { burst, period } => write!(f, "{burst}/{}s", period.as_secs()),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        let wrong =
            || format!("{text:?} is not a rate: write BURST/PERIOD (e.g. 10/1h, 60/10s) or off");
        let (burst, period) = text.split_once('/').ok_or_else(wrong)?;
        let burst: u32 = burst.trim().parse().map_err(|_| wrong())?;
        let period = period.trim();
        let split = period
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(wrong)?;
        let (count, unit) = period.split_at(split);
        let count: u64 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| wrong())?
        };
        let seconds = match unit {
            "s" => count,
            "m" => count.saturating_mul(60),
            "h" => count.saturating_mul(3600),
            "d" => count.saturating_mul(86_400),
            _ => return Err(wrong()),
        };
        if burst == 0 || seconds == 0 {
            return Err(wrong());
        }
        Ok(Self::new(burst, Duration::from_secs(seconds)))
    }
}

/// The configured rates, one per limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    pub sign_up_per_ip: Rate,
    pub log_in_per_ip: Rate,
    pub log_in_per_account: Rate,
    pub sends_per_user: Rate,
    /// Data exports per user (each reads everything they sent and received).
    pub exports_per_user: Rate,
    pub reset_per_address: Rate,
    pub reset_per_ip: Rate,
    pub sockets_per_user: Rate,
    pub sockets_per_ip: Rate,
    /// Typing and presence frames, per socket (over it they are dropped).
    pub signals_per_socket: Rate,
}

impl Default for Rates {
    fn default() -> Self {
        let minute = Duration::from_mins(1);
        let hour = Duration::from_hours(1);
        Self {
            sign_up_per_ip: Rate::new(10, hour),
            log_in_per_ip: Rate::new(50, Duration::from_mins(10)),
            log_in_per_account: Rate::new(10, Duration::from_secs(100)),
            sends_per_user: Rate::new(60, Duration::from_secs(10)),
            exports_per_user: Rate::new(5, hour),
            reset_per_address: Rate::new(3, hour),
            reset_per_ip: Rate::new(10, hour),
            sockets_per_user: Rate::new(30, minute),
            sockets_per_ip: Rate::new(120, minute),
            signals_per_socket: Rate::new(20, Duration::from_secs(10)),
        }
    }
}

impl Rates {
    /// No limits at all: for benchmarks, which drive one account and one
    /// address far past what a person does.
    pub fn off() -> Self {
        Self {
            sign_up_per_ip: Rate::Off,
            log_in_per_ip: Rate::Off,
            log_in_per_account: Rate::Off,
            sends_per_user: Rate::Off,
            exports_per_user: Rate::Off,
            reset_per_address: Rate::Off,
            reset_per_ip: Rate::Off,
            sockets_per_user: Rate::Off,
            sockets_per_ip: Rate::Off,
            signals_per_socket: Rate::Off,
        }
    }
}

/// One limit: its rate, kept in this node's memory, and in Redis when the
/// node is joined to others.
pub struct Limit {
    name: &'static str,
    rate: Rate,
    local: Option<DefaultKeyedRateLimiter<String>>,
    shared: Option<Arc<RedisLink>>,
}

impl Limit {
    fn new(name: &'static str, rate: Rate, shared: Option<&Arc<RedisLink>>) -> Self {
        Self {
            name,
            rate,
            local: rate.quota().map(RateLimiter::keyed),
            shared: shared.cloned(),
        }
    }

    /// Counts one use by `key`, or refuses it with 429 and how long to wait.
    pub async fn check(&self, key: &str) -> Result<(), AppError> {
        let verdict = self.decide(key).await;
        if verdict.is_err() {
            metrics::counter!("chatapp_rate_limited_total", "limit" => self.name).increment(1);
        }
        verdict
    }

    async fn decide(&self, key: &str) -> Result<(), AppError> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        if let Some(link) = &self.shared {
            match tokio::time::timeout(SHARED_CHECK_TIMEOUT, self.check_shared(link, key)).await {
                Ok(Ok(verdict)) => return verdict,
                Ok(Err(error)) => {
                    tracing::debug!(limit = self.name, %error, "shared rate limit unavailable; checking locally");
                }
                Err(_) => {
                    tracing::debug!(
                        limit = self.name,
                        "shared rate limit slow; checking locally"
                    );
                }
            }
        }
        Self::check_local(local, key)
    }

    fn check_local(local: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), AppError> {
        if local.len() > MAX_KEYS {
            local.retain_recent();
            local.shrink_to_fit();
            if local.len() > MAX_KEYS {
                return Err(AppError::TooManyRequests(1));
            }
        }
        local.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::TooManyRequests(wait.as_secs().max(1))
        })
    }

    /// GCRA in Redis: the key holds the "theoretical arrival time" of the
    /// next use, in Redis' own clock (so nodes' clocks do not matter), and
    /// expires when the bucket is full again.
    async fn check_shared(
        &self,
        link: &RedisLink,
        key: &str,
    ) -> redis::RedisResult<Result<(), AppError>> {
        let Rate::Limited { burst, period } = self.rate else {
            return Ok(Ok(()));
        };
        let every_us = u64::try_from((period / burst.get()).as_micros()).unwrap_or(u64::MAX);
        let (allowed, retry_us): (i64, i64) = gcra_script()
            .key(format!("chatapp:limit:{}:{}", self.name, hashed(key)))
            .arg(every_us.max(1))
            .arg(burst.get())
            .invoke_async(&mut link.commands())
            .await?;
        Ok(if allowed == 1 {
            Ok(())
        } else {
            let seconds = u64::try_from(retry_us).unwrap_or(0).div_ceil(1_000_000);
            Err(AppError::TooManyRequests(seconds.max(1)))
        })
    }
}

/// A key as Redis sees it: no addresses or e-mail addresses in clear.
fn hashed(key: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(key.as_bytes())[..16])
}

fn gcra_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| {
        redis::Script::new(
            r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local every = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + every
local allow_at = next_tat - burst * every
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000))
return {1, 0}
",
        )
    })
}

/// Every limit of a node.
pub struct RateLimits {
    pub sign_up_per_ip: Limit,
    pub log_in_per_ip: Limit,
    pub log_in_per_account: Limit,
    pub sends_per_user: Limit,
    pub exports_per_user: Limit,
    pub reset_per_address: Limit,
    pub reset_per_ip: Limit,
    pub sockets_per_user: Limit,
    pub sockets_per_ip: Limit,
    /// Sockets each user holds open on this node.
    pub open_sockets: OpenSockets,
    /// Per socket, so never shared: each socket makes its own with
    /// [`RateLimits::signals`].
    signals_per_socket: Rate,
}

impl RateLimits {
    /// The limits at `rates`, shared through `redis` when there is one.
    pub fn new(rates: &Rates, max_sockets_per_user: usize, redis: Option<&Arc<RedisLink>>) -> Self {
        Self {
            sign_up_per_ip: Limit::new("sign_up_ip", rates.sign_up_per_ip, redis),
            log_in_per_ip: Limit::new("log_in_ip", rates.log_in_per_ip, redis),
            log_in_per_account: Limit::new("log_in_account", rates.log_in_per_account, redis),
            sends_per_user: Limit::new("sends_user", rates.sends_per_user, redis),
            exports_per_user: Limit::new("exports_user", rates.exports_per_user, redis),
            reset_per_address: Limit::new("reset_address", rates.reset_per_address, redis),
            reset_per_ip: Limit::new("reset_ip", rates.reset_per_ip, redis),
            sockets_per_user: Limit::new("sockets_user", rates.sockets_per_user, redis),
            sockets_per_ip: Limit::new("sockets_ip", rates.sockets_per_ip, redis),
            open_sockets: OpenSockets::new(max_sockets_per_user),
            signals_per_socket: rates.signals_per_socket,
        }
    }

    /// A limiter for one socket's typing and presence frames.
    pub fn signals(&self) -> SignalLimit {
        SignalLimit(self.signals_per_socket.quota().map(RateLimiter::direct))
    }
}

/// How many sockets each user holds open on this node, up to a maximum.
pub struct OpenSockets {
    max_per_user: usize,
    counts: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
}

impl OpenSockets {
    fn new(max_per_user: usize) -> Self {
        Self {
            max_per_user,
            counts: Arc::default(),
        }
    }

    /// A slot for one more of `user_id`'s sockets, held until dropped; 429
    /// when they hold the most already.
    pub fn open(&self, user_id: i64) -> Result<SocketSlot, AppError> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(user_id).or_default();
        if *count >= self.max_per_user {
            return Err(AppError::TooManyRequests(60));
        }
        *count += 1;
        Ok(SocketSlot {
            user_id,
            counts: Arc::clone(&self.counts),
        })
    }
}

/// One open socket's place in [`OpenSockets`].
pub struct SocketSlot {
    user_id: i64,
    counts: Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.user_id);
            }
        }
    }
}

/// One socket's allowance of typing and presence frames.
pub struct SignalLimit(Option<governor::DefaultDirectRateLimiter>);

impl SignalLimit {
    /// Whether one more frame is within the allowance.
    pub fn allows(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|limiter| limiter.check().is_ok())
    }
}

/// The key of a client address: IPv6 clients by their /64 (one subscriber's
/// network), IPv4 by the address.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_burst_per_period() {
        assert_eq!(
            "10/1h".parse::<Rate>(),
            Ok(Rate::new(10, Duration::from_hours(1)))
        );
        assert_eq!(
            "60/10s".parse::<Rate>(),
            Ok(Rate::new(60, Duration::from_secs(10)))
        );
        assert_eq!(
            "5/m".parse::<Rate>(),
            Ok(Rate::new(5, Duration::from_mins(1)))
        );
        assert_eq!("OFF".parse::<Rate>(), Ok(Rate::Off));
        for wrong in ["", "10", "0/1h", "10/0s", "10/1w", "x/1h", "10/h1"] {
            assert!(wrong.parse::<Rate>().is_err(), "{wrong:?} was accepted");
        }
    }

    #[tokio::test]
    async fn a_limit_allows_its_burst_then_says_how_long_to_wait() {
        let limit = Limit::new("test", Rate::new(3, Duration::from_mins(1)), None);
        for _ in 0..3 {
            limit.check("a").await.unwrap();
        }
        match limit.check("a").await {
            Err(AppError::TooManyRequests(seconds)) => assert!((1..=20).contains(&seconds)),
            other => panic!("expected 429, got {other:?}"),
        }
        // Keys are separate.
        limit.check("b").await.unwrap();
        // Off is never limited.
        let off = Limit::new("off", Rate::Off, None);
        for _ in 0..1000 {
            off.check("a").await.unwrap();
        }
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(one), address_key(two));
        assert_ne!(address_key(one), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7");
    }

    #[test]
    fn each_socket_has_its_own_signal_allowance() {
        let limits = RateLimits::new(
            &Rates {
                signals_per_socket: Rate::new(2, Duration::from_mins(1)),
                ..Rates::default()
            },
            2,
            None,
        );
        let (first, second) = (limits.signals(), limits.signals());
        assert!(first.allows() && first.allows());
        assert!(!first.allows());
        assert!(second.allows());
    }

    #[test]
    fn a_user_holds_at_most_the_maximum_of_sockets_and_closing_frees_one() {
        let limits = RateLimits::new(&Rates::default(), 2, None);
        let first = limits.open_sockets.open(1).unwrap();
        let _second = limits.open_sockets.open(1).unwrap();
        assert!(matches!(
            limits.open_sockets.open(1),
            Err(AppError::TooManyRequests(_))
        ));
        assert!(
            limits.open_sockets.open(2).is_ok(),
            "another user is not affected"
        );
        drop(first);
        assert!(limits.open_sockets.open(1).is_ok());
    }
}
