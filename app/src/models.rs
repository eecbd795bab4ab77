//! Wire types: what the API and the server functions send. They are built from
//! domain rows but never are rows, so no secret can leak by a derive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The logged-in user, as `GET /api/v1/auth/me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub username: String,
}

/// The settings page: what a user can change about their own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    pub username: String,
    pub email: Option<String>,
    /// Whether others see "Seen" when this user reads their messages.
    pub send_read_receipts: bool,
}

/// `PATCH /api/v1/auth/settings`: only the fields given change; an empty
/// `email` removes it. Changing the e-mail needs `current_password` (the
/// address is where password resets go).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChanges {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub current_password: Option<String>,
    #[serde(default)]
    pub send_read_receipts: Option<bool>,
}

/// Whether someone is around. Ordered: offline < away < online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Offline,
    Away,
    Online,
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

/// The newest message of a conversation, as the conversation list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePreview {
    pub id: i64,
    /// The sender's username.
    pub user: String,
    /// The start of the body (empty when deleted).
    pub body: String,
    pub timestamp: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// One of the caller's conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A page of conversations, and the event `seq` it is a snapshot at: apply
/// only stream events after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<Conversation>,
    pub seq: i64,
}

/// How many characters of a body the conversation list shows.
pub const PREVIEW_CHARS: usize = 100;

/// The start of a body, cut at a character boundary.
pub fn preview(body: &str) -> String {
    match body.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
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
    /// original sent it. `with` names the other person and `unread` is the
    /// receiver's unread count in that conversation afterwards.
    Message {
        message: String,
        seq: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unread: Option<u64>,
    },
    /// The receiver read their conversation with `with` up to `last_read_id`
    /// (in some tab, on some node); `unread` is what is left.
    Read {
        with: String,
        last_read_id: i64,
        unread: u64,
        seq: i64,
    },
    /// `by` has seen the receiver's messages up to `last_read_id`.
    Receipt {
        by: String,
        last_read_id: i64,
        seq: i64,
    },
    /// A message in the conversation with `with` was edited: fetch it again.
    Edited {
        message: String,
        with: String,
        seq: i64,
    },
    /// A message in the conversation with `with` was deleted; `unread` is the
    /// receiver's count there afterwards.
    Deleted {
        message: String,
        with: String,
        unread: u64,
        seq: i64,
    },
    /// `from` is typing a message to the receiver. Ephemeral: not stored,
    /// no `seq`, never replayed; shown for a few seconds.
    Typing { from: String },
    /// Replay is over: the client is up to date at `seq`; live events follow.
    Ready { seq: i64 },
    /// Too much was missed to replay: reload what is on screen, then carry on
    /// from `seq`.
    Resync { seq: i64 },
}

impl Notification {
    /// Whether this is a passing signal outside the numbered stream.
    pub fn is_ephemeral(&self) -> bool {
        matches!(self, Self::Typing { .. })
    }

    /// The stream position this frame brings the client to (0 for
    /// ephemeral frames, which are not in the stream).
    pub fn seq(&self) -> i64 {
        match self {
            Self::Typing { .. } => 0,
            Self::Message { seq, .. }
            | Self::Read { seq, .. }
            | Self::Receipt { seq, .. }
            | Self::Edited { seq, .. }
            | Self::Deleted { seq, .. }
            | Self::Ready { seq }
            | Self::Resync { seq } => *seq,
        }
    }

    /// The same event at stream position `seq`.
    #[must_use]
    pub fn at(mut self, new_seq: i64) -> Self {
        match &mut self {
            Self::Typing { .. } => {}
            Self::Message { seq, .. }
            | Self::Read { seq, .. }
            | Self::Receipt { seq, .. }
            | Self::Edited { seq, .. }
            | Self::Deleted { seq, .. }
            | Self::Ready { seq }
            | Self::Resync { seq } => *seq = new_seq,
        }
        self
    }

    /// The type name stored in `events.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Message { .. } => "message",
            Self::Read { .. } => "read",
            Self::Receipt { .. } => "receipt",
            Self::Edited { .. } => "edited",
            Self::Deleted { .. } => "deleted",
            Self::Typing { .. } => "typing",
            Self::Ready { .. } => "ready",
            Self::Resync { .. } => "resync",
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
            edited_at: None,
            deleted: false,
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
            with: None,
            unread: None,
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
