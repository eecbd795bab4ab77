//! Password hashing: Argon2id on a small, bounded pool.
//!
//! Each hash takes ~19 MiB and tens of milliseconds of a core. A few run at
//! once (by default half the cores, so chat keeps the rest), a bounded number
//! wait, and past that a log-in or sign-up is refused with 503 and
//! `Retry-After`: a flood of log-ins neither queues without end nor takes
//! the machine from everyone else.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// How many hashes run at once, and how many may wait for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    pub concurrent: usize,
    pub waiting: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            concurrent: (cores / 2).max(1),
            waiting: 64,
        }
    }
}

struct HashingPool {
    permits: Semaphore,
    waiting: AtomicUsize,
    running: AtomicUsize,
    max_waiting: usize,
}

static POOL: OnceLock<HashingPool> = OnceLock::new();

/// Sets the process's limits, once, before the first hash (later calls and
/// calls after a hash change nothing).
pub fn configure(limits: HashingLimits) {
    let _ = POOL.set(HashingPool::new(limits));
}

impl HashingPool {
    fn new(limits: HashingLimits) -> Self {
        Self {
            permits: Semaphore::new(limits.concurrent.max(1)),
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            max_waiting: limits.waiting,
        }
    }
}

/// Hashes being computed or waiting for a turn now.
pub fn in_flight() -> usize {
    POOL.get().map_or(0, |pool| {
        pool.waiting.load(Ordering::Relaxed) + pool.running.load(Ordering::Relaxed)
    })
}

/// Hashes a password with Argon2id (OWASP's recommended parameters, the crate's
/// defaults) on the pool.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    run_hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await?
    .map_err(|error| {
        tracing::error!(%error, "password hashing failed");
        AppError::Internal
    })
}

/// Runs Argon2 work on the pool: its turn, or 503 if too many already wait.
pub(super) async fn run_hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let pool = POOL.get_or_init(|| HashingPool::new(HashingLimits::default()));
    if pool.waiting.fetch_add(1, Ordering::SeqCst) >= pool.max_waiting {
        pool.waiting.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!("too many password hashes waiting; refusing");
        metrics::counter!("chatapp_password_hashes_refused_total").increment(1);
        return Err(AppError::Busy(2));
    }
    let permit = pool.permits.acquire().await;
    pool.waiting.fetch_sub(1, Ordering::SeqCst);
    let _permit = permit.map_err(|_| AppError::Unavailable)?;
    pool.running.fetch_add(1, Ordering::SeqCst);
    let done = tokio::task::spawn_blocking(work).await;
    pool.running.fetch_sub(1, Ordering::SeqCst);
    done.map_err(|error| {
        tracing::error!(%error, "password hashing failed");
        AppError::Internal
    })
}

pub(super) fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A valid hash of a random password, checked against when the user does not exist.
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let hash = hash_password("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        // A fresh salt each time: the same password hashes differently.
        let again = hash_password("correct horse".to_owned()).await.unwrap();
        assert_ne!(hash, again);
        assert!(verify_password("correct horse", &hash));
        assert!(verify_password("correct horse", &again));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
