//! The event stream (`GET /ws`): what the server sends, what a client may
//! send, and how the server closes it.
//!
//! Every event a user must see is numbered by that user's own sequence,
//! `seq`: 1, 2, 3… with no gaps, the same on every node and connection. The
//! JSON of each frame is pinned by the tests below; `docs/api.md` shows it.

use serde::{Deserialize, Serialize};

use super::PresenceStatus;

/// A position in one user's stream.
pub type Seq = i64;

/// The WebSocket subprotocol (`Sec-WebSocket-Protocol`) a client asks for to
/// get the whole stream: every event, `ready`, `resync` and `typing`.
/// Without it a connection gets what the original app's client expects:
/// new-message frames only.
pub const STREAM_PROTOCOL: &str = "chatapp.v1";

/// One event of a user's stream: what happened, at which `seq`. Stored, and
/// replayed to a client that reconnects with `since`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    #[serde(flatten)]
    pub body: EventBody,
    pub seq: Seq,
}

/// What happened. Message ids are strings here, as the original app sent them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A new message the receiver sent or received, in the conversation with
    /// `with`; `unread` is the receiver's unread count there afterwards
    /// (absent on events stored before counts existed).
    Message {
        #[serde(with = "id_as_string")]
        #[cfg_attr(feature = "ssr", schema(value_type = String))]
        message: i64,
        with: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unread: Option<u64>,
    },
    /// The receiver read their conversation with `with` up to `last_read_id`
    /// (in some tab, on some device); `unread` is what is left.
    Read {
        with: String,
        last_read_id: i64,
        unread: u64,
    },
    /// `by` has seen the receiver's messages up to `last_read_id`.
    Receipt { by: String, last_read_id: i64 },
    /// A message in the conversation with `with` was edited: fetch it again.
    Edited {
        #[serde(with = "id_as_string")]
        #[cfg_attr(feature = "ssr", schema(value_type = String))]
        message: i64,
        with: String,
    },
    /// A message in the conversation with `with` was deleted; `unread` is the
    /// receiver's count there afterwards.
    Deleted {
        #[serde(with = "id_as_string")]
        #[cfg_attr(feature = "ssr", schema(value_type = String))]
        message: i64,
        with: String,
        unread: u64,
    },
    /// `with` deleted their account: every message they sent in the
    /// conversation is now a tombstone, and none is unread. Reload it.
    AccountDeleted { with: String },
}

impl EventBody {
    /// The message this event names, if any: the one to fetch.
    pub fn message_id(&self) -> Option<i64> {
        match self {
            Self::Message { message, .. }
            | Self::Edited { message, .. }
            | Self::Deleted { message, .. } => Some(*message),
            Self::Read { .. } | Self::Receipt { .. } | Self::AccountDeleted { .. } => None,
        }
    }
}

/// Frames outside the numbered stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Signal {
    /// `from` is typing to the receiver: shown for a few seconds, never
    /// stored or replayed.
    Typing { from: String },
    /// The replay is over: the client is up to date at `seq`; live events follow.
    Ready { seq: Seq },
    /// Too much was missed to replay: reload what is on screen, then carry on
    /// from `seq`.
    Resync { seq: Seq },
}

/// Anything the server sends on the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ServerFrame {
    Event(Event),
    Signal(Signal),
}

impl From<Event> for ServerFrame {
    fn from(event: Event) -> Self {
        Self::Event(event)
    }
}

impl From<Signal> for ServerFrame {
    fn from(signal: Signal) -> Self {
        Self::Signal(signal)
    }
}

/// What a client may send on the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// The user is typing to `to` (at most every few seconds).
    Typing { to: String },
    /// The tab was hidden (`away`) or shown again (`online`).
    Presence { status: PresenceStatus },
}

/// Why the server closes a stream, with its close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// 1001: the server is shutting down; reconnect with `since` (a load
    /// balancer sends you to another node).
    GoingAway,
    /// 1011: something unexpected went wrong on the server.
    InternalError,
    /// 1013: the database is unreachable; reconnect with `since` later.
    TryAgainLater,
    /// 4401: the connection's session ended (log-out, a new password, "log
    /// out other sessions", expiry): go to the log-in page.
    LoggedOut,
    /// 1007: the client sent text that is not UTF-8.
    InvalidPayload,
    /// 1009: the client sent a frame larger than any it has reason to send.
    MessageTooBig,
}

impl CloseReason {
    pub const fn code(self) -> u16 {
        match self {
            Self::GoingAway => 1001,
            Self::InternalError => 1011,
            Self::TryAgainLater => 1013,
            Self::LoggedOut => 4401,
            Self::InvalidPayload => 1007,
            Self::MessageTooBig => 1009,
        }
    }

    /// The close frame's reason text.
    pub const fn text(self) -> &'static str {
        match self {
            Self::GoingAway => "server shutting down",
            Self::InternalError => "internal error",
            Self::TryAgainLater => "database unavailable; reconnect",
            Self::LoggedOut => "logged out",
            Self::InvalidPayload => "text frames must be UTF-8",
            Self::MessageTooBig => "frame too large",
        }
    }

    /// The reason a code stands for, if it is one of ours.
    pub fn from_code(code: u16) -> Option<Self> {
        [
            Self::GoingAway,
            Self::InternalError,
            Self::TryAgainLater,
            Self::LoggedOut,
            Self::InvalidPayload,
            Self::MessageTooBig,
        ]
        .into_iter()
        .find(|reason| reason.code() == code)
    }
}

/// Ids as JSON strings (`"42"`), as the original app sent them.
mod id_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de};

    // serde's `with` hands fields over by reference (the lint only fires
    // where pointers are as wide as an i64).
    #[cfg_attr(
        target_pointer_width = "64",
        expect(clippy::trivially_copy_pass_by_ref)
    )]
    pub fn serialize<S: Serializer>(id: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact bytes each frame has on the wire, as `docs/api.md` shows them.
    fn pinned() -> Vec<(ServerFrame, &'static str)> {
        let event = |body, seq| ServerFrame::Event(Event { body, seq });
        vec![
            (
                event(
                    EventBody::Message {
                        message: 42,
                        with: "bob".into(),
                        unread: Some(3),
                    },
                    18,
                ),
                r#"{"type":"message","message":"42","with":"bob","unread":3,"seq":18}"#,
            ),
            (
                event(
                    EventBody::Message {
                        message: 42,
                        with: "bob".into(),
                        unread: None,
                    },
                    17,
                ),
                r#"{"type":"message","message":"42","with":"bob","seq":17}"#,
            ),
            (
                event(
                    EventBody::Read {
                        with: "bob".into(),
                        last_read_id: 42,
                        unread: 0,
                    },
                    19,
                ),
                r#"{"type":"read","with":"bob","last_read_id":42,"unread":0,"seq":19}"#,
            ),
            (
                event(
                    EventBody::Receipt {
                        by: "bob".into(),
                        last_read_id: 42,
                    },
                    20,
                ),
                r#"{"type":"receipt","by":"bob","last_read_id":42,"seq":20}"#,
            ),
            (
                event(
                    EventBody::Edited {
                        message: 42,
                        with: "bob".into(),
                    },
                    21,
                ),
                r#"{"type":"edited","message":"42","with":"bob","seq":21}"#,
            ),
            (
                event(
                    EventBody::Deleted {
                        message: 42,
                        with: "bob".into(),
                        unread: 2,
                    },
                    22,
                ),
                r#"{"type":"deleted","message":"42","with":"bob","unread":2,"seq":22}"#,
            ),
            (
                event(EventBody::AccountDeleted { with: "bob".into() }, 23),
                r#"{"type":"account_deleted","with":"bob","seq":23}"#,
            ),
            (
                Signal::Typing { from: "bob".into() }.into(),
                r#"{"type":"typing","from":"bob"}"#,
            ),
            (
                Signal::Ready { seq: 23 }.into(),
                r#"{"type":"ready","seq":23}"#,
            ),
            (
                Signal::Resync { seq: 23 }.into(),
                r#"{"type":"resync","seq":23}"#,
            ),
        ]
    }

    #[test]
    fn every_server_frame_has_its_documented_json_and_reads_back() {
        for (frame, json) in pinned() {
            assert_eq!(serde_json::to_string(&frame).unwrap(), json);
            assert_eq!(
                serde_json::from_str::<ServerFrame>(json).unwrap(),
                frame,
                "{json}"
            );
        }
    }

    #[test]
    fn client_frames_have_their_documented_json() {
        let frames = [
            (
                ClientFrame::Typing { to: "bob".into() },
                r#"{"type":"typing","to":"bob"}"#,
            ),
            (
                ClientFrame::Presence {
                    status: PresenceStatus::Away,
                },
                r#"{"type":"presence","status":"away"}"#,
            ),
            (
                ClientFrame::Presence {
                    status: PresenceStatus::Online,
                },
                r#"{"type":"presence","status":"online"}"#,
            ),
        ];
        for (frame, json) in frames {
            assert_eq!(serde_json::to_string(&frame).unwrap(), json);
            assert_eq!(serde_json::from_str::<ClientFrame>(json).unwrap(), frame);
        }
    }

    #[test]
    fn unknown_frames_and_bad_ids_are_refused_not_guessed() {
        assert!(serde_json::from_str::<ServerFrame>(r#"{"type":"party","seq":1}"#).is_err());
        assert!(
            serde_json::from_str::<ServerFrame>(
                r#"{"type":"message","message":"x","with":"bob","seq":1}"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"typing"}"#).is_err());
    }

    #[test]
    fn close_codes_are_the_documented_ones() {
        let codes: Vec<u16> = [
            CloseReason::GoingAway,
            CloseReason::InternalError,
            CloseReason::TryAgainLater,
            CloseReason::LoggedOut,
        ]
        .into_iter()
        .map(CloseReason::code)
        .collect();
        assert_eq!(codes, [1001, 1011, 1013, 4401]);
        assert_eq!(CloseReason::from_code(4401), Some(CloseReason::LoggedOut));
        assert_eq!(CloseReason::from_code(1000), None);
    }
}
