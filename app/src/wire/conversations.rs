//! Conversations: the list with unread counts, and read pointers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many characters of a body the conversation list carries.
pub const PREVIEW_CHARS: usize = 100;

/// The newest message of a conversation, as the conversation list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessagePreview {
    pub id: i64,
    /// The sender's username.
    pub user: String,
    /// The first [`PREVIEW_CHARS`] characters of the body, exactly as written
    /// (empty when deleted). A client adds its own ellipsis when `truncated`.
    pub body: String,
    /// The body goes on past what `body` holds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub timestamp: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The start of `body`, cut at a character boundary, and whether it was cut.
pub fn preview(body: &str) -> (String, bool) {
    match body.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => (body[..cut].to_owned(), true),
        None => (body.to_owned(), false),
    }
}

/// One of the caller's conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// The other person's username.
    pub with: String,
    pub last_message: MessagePreview,
    /// Messages from the other person after `last_read_id` (not deleted).
    pub unread: u64,
    /// The caller's read pointer: the last message id they have read.
    pub last_read_id: i64,
    /// The other person's read pointer, when they send read receipts: the
    /// caller's messages up to it have been seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_up_to: Option<i64>,
}

/// `POST /api/v1/conversation/{username}/read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadUpTo {
    #[serde(deserialize_with = "super::whole_number::deserialize")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0))]
    pub last_read_id: i64,
}

/// Where a read left the reader's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadState {
    pub with: String,
    pub last_read_id: i64,
    pub unread: u64,
}

#[cfg(test)]
mod tests {
    use super::{PREVIEW_CHARS, preview};

    #[test]
    fn previews_are_a_prefix_cut_at_a_character_and_say_so() {
        assert_eq!(preview("short"), ("short".to_owned(), false));
        let exact = "é".repeat(PREVIEW_CHARS);
        assert_eq!(preview(&exact), (exact.clone(), false));
        let long = "é".repeat(150);
        let (cut, truncated) = preview(&long);
        assert!(truncated);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS);
        assert!(long.starts_with(&cut));
    }
}
