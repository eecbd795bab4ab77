//! Messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One message. Field names are the original app's: `user` is the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub user: String,
    pub recipient: String,
    pub timestamp: DateTime<Utc>,
    pub body: String,
    /// The sender's idempotency key, if the sending client gave one: lets it
    /// match a pending message with the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When the sender last edited it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted by its sender: a tombstone, with an empty body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Message {
    /// Whether `username` sent or received this message (usernames compare
    /// case-insensitively, as accounts do).
    pub fn involves(&self, username: &str) -> bool {
        self.user.eq_ignore_ascii_case(username) || self.recipient.eq_ignore_ascii_case(username)
    }
}

/// `POST /api/v1/message/` (JSON, or a form as the original client sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewMessage {
    pub recipient: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 5000))]
    pub body: String,
    /// A UUID the client makes up per message: a retry with the same one
    /// returns the first message instead of sending it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(format = "uuid"))]
    pub client_id: Option<String>,
}

/// `PATCH /api/v1/message/{id}/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageEdit {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 5000))]
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn a_message_involves_its_sender_and_recipient_in_any_case() {
        let message = Message {
            id: 1,
            user: "Alice".into(),
            recipient: "bob".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            body: "hi".into(),
            client_id: None,
            edited_at: None,
            deleted: false,
        };
        assert!(message.involves("alice"));
        assert!(message.involves("BOB"));
        assert!(!message.involves("carol"));
    }
}
