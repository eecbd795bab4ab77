//! The conversation list.

mod list_conversations;

pub use list_conversations::{ListConversations, list_conversations};
