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
    /// The sender's idempotency key, if the sending client gave one: lets it
    /// match a pending message with the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
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
    /// A UUID the client makes up per message: a retry with the same one
    /// returns the first message instead of sending it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A frame pushed over the WebSocket, e.g.
/// `{"type": "message", "message": "<id>", "seq": 7}`.
///
/// `seq` numbers the events of one user: 1, 2, 3… with no gaps, the same on
/// every node and every connection. A client keeps the last one it applied and
/// reconnects with `/ws?since=<seq>` to get everything after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notification {
    /// A new message the receiver sent or received; the id is a string, as the
    /// original sent it.
    Message { message: String, seq: i64 },
    /// Replay is over: the client is up to date at `seq`; live events follow.
    Ready { seq: i64 },
    /// Too much was missed to replay: reload what is on screen, then carry on
    /// from `seq`.
    Resync { seq: i64 },
}

impl Notification {
    /// The stream position this frame brings the client to.
    pub fn seq(&self) -> i64 {
        match self {
            Self::Message { seq, .. } | Self::Ready { seq } | Self::Resync { seq } => *seq,
        }
    }
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
            client_id: None,
        };
        assert!(message.involves("alice"));
        assert!(message.involves("BOB"));
        assert!(!message.involves("carol"));
    }
}

#[cfg(test)]
mod wire_tests {
    use super::Notification;

    #[test]
    fn notifications_keep_the_original_message_field_and_add_seq() {
        let frame = Notification::Message {
            message: "42".into(),
            seq: 7,
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            serde_json::json!({"type": "message", "message": "42", "seq": 7})
        );
        assert_eq!(
            serde_json::to_value(Notification::Resync { seq: 9 }).unwrap(),
            serde_json::json!({"type": "resync", "seq": 9})
        );
    }
}
