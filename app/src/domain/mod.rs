//! The domain layer (server only): the rules and the SQL behind every feature.
//! Server functions and REST handlers stay thin and call into here.

pub mod account_data;
pub mod account_settings;
pub mod accounts;
pub mod auth;
pub mod channel_layer;
pub mod client_ip;
pub mod conversations;
pub mod db;
pub mod directory;
pub mod email_change;
pub mod entities;
pub mod jobs;
pub mod limits;
pub mod link_token;
pub mod mail;
pub mod messages;
pub mod paging;
pub mod password_reset;
pub mod presence;
pub mod redis_link;
pub mod session_store;
pub mod state;
pub mod stream;
pub mod typing;
pub mod users;

pub use state::{AppState, Settings};

use chrono::{DateTime, SubsecRound, Utc};

/// Now, to the second: every backend stores exactly this, so what an insert
/// returns equals what a later read returns.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}
