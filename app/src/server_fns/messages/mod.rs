//! Conversation history.

mod list_messages;

pub use list_messages::{ListMessages, list_messages};
