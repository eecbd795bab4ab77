//! The domain layer (server only): the rules and the SQL behind every feature.
//! Server functions and REST handlers stay thin and call into here.

pub mod account_settings;
pub mod accounts;
pub mod auth;
pub mod channel_layer;
pub mod conversations;
pub mod db;
pub mod entities;
pub mod events;
pub mod login_throttle;
pub mod mail;
pub mod messages;
pub mod password_reset;
pub mod presence;
pub mod session_store;
pub mod state;
pub mod typing;
pub mod users;

pub use state::{AppState, Settings};

use chrono::{DateTime, SubsecRound, Utc};

/// The highest page number any list accepts; beyond it there is nothing to find.
pub const MAX_PAGE: u64 = 1_000_000;

/// The largest request body the API reads.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Now, to the second: every backend stores exactly this, so what an insert
/// returns equals what a later read returns.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}
