//! The wire contract: every type that crosses between the server and its
//! clients (request and response bodies, the error body, pages, the event
//! stream's frames and close codes). Each is defined once, here, and used by
//! the server, the browser and the tests alike; `docs/api.md` documents them.
//!
//! Field names are the original app's where it had them (`user` is a
//! message's sender, `timestamp` its time, `message` the id a notification
//! names), so its clients keep working.

pub mod accounts;
pub mod conversations;
pub mod errors;
pub mod health;
pub mod messages;
pub mod pages;
pub mod people;
pub mod stream;
mod whole_number;

pub use accounts::{
    Accepted, AccountChanges, AccountDeletion, AccountExport, AccountSettings, ConfirmedEmail,
    Credentials, CurrentUser, EXPORT_FORMAT, EmailConfirmation, ExportedAccount,
    ExportedConversation, PasswordChange, Registration, ResetConfirmation, ResetRequest,
};
pub use conversations::{
    Conversation, MessagePreview, PREVIEW_CHARS, ReadState, ReadUpTo, preview,
};
pub use errors::{ErrorBody, FieldErrors};
pub use messages::{Message, MessageEdit, NewMessage};
pub use pages::Page;
pub use people::{PresenceStatus, UserSummary};
pub use stream::{
    ClientFrame, CloseReason, Event, EventBody, STREAM_PROTOCOL, Seq, ServerFrame, Signal,
};

/// The largest request body the API reads, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Limits the UI needs to know, set on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub max_message_chars: usize,
}
