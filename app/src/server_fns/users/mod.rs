//! The user directory.

mod list_users;

pub use list_users::{ListUsers, list_users};
