//! SeaORM entities: database rows. Never sent to clients as they are.

pub mod event;
pub mod message;
pub mod session;
pub mod user;
