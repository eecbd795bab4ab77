//! The REST API, driven through the real router on SQLite and on MariaDB.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod errors;
mod messages;
mod server_fns;
mod users;
