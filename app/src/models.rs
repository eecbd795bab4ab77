//! Wire types: what the API and the server functions send. They are built from
//! domain rows but never are rows, so no secret can leak by a derive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The logged-in user, as `GET /api/v1/auth/me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub username: String,
}

/// Another user, as listed in the user picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
}

/// One message. Field names are the original app's: `user` is the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub user: String,
    pub recipient: String,
    pub timestamp: DateTime<Utc>,
    pub body: String,
}

impl Message {
    /// Whether `username` sent or received this message (usernames compare
    /// case-insensitively, as accounts do).
    pub fn involves(&self, username: &str) -> bool {
        self.user.eq_ignore_ascii_case(username) || self.recipient.eq_ignore_ascii_case(username)
    }
}

/// A page of results, shaped like the original (Django REST framework) API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// `POST /api/v1/message/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub recipient: String,
    pub body: String,
}

/// A notification pushed over the WebSocket: `{"type": "message", "message": "<id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    /// A new message the receiver sent or received; the id is a string, as the
    /// original sent it.
    Message { message: String },
}

/// Limits the UI needs to know, set on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_message_chars: usize,
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
        };
        assert!(message.involves("alice"));
        assert!(message.involves("BOB"));
        assert!(!message.involves("carol"));
    }
}
