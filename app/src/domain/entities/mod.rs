//! SeaORM entities: database rows. Never sent to clients as they are.

pub mod conversation;
pub mod email_change;
pub mod event;
pub mod message;
pub mod password_reset;
pub mod session;
pub mod user;
