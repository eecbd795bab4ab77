//! The REST API, driven through the real router on SQLite and on MariaDB.

#[path = "../common/mod.rs"]
mod common;

mod account_data;
mod account_settings;
mod auth;
mod bounds;
mod conversations;
mod email_change;
mod errors;
mod inbox_property;
mod limits;
mod malformed_input;
mod messages;
mod openapi;
mod password_reset;
mod presence;
mod server_fns;
mod stored_events;
mod users;
