//! Accounts: signing up, logging in, settings and password reset.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/auth/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Registration {
    #[cfg_attr(
        feature = "ssr",
        schema(min_length = 3, max_length = 32, pattern = r"^[A-Za-z0-9._-]+$")
    )]
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 8, max_length = 1024))]
    pub password: String,
    /// Where password reset links go. It counts once its owner opens the
    /// confirmation link sent to it (until then it is `pending_email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Credentials {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 32))]
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1024))]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Hand-written so a password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The logged-in user, as `GET /api/v1/auth/me` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub username: String,
}

/// The settings page: what a user can change about their own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountSettings {
    pub username: String,
    /// Where password reset links go.
    pub email: Option<String>,
    /// A new address waiting for its owner to open the confirmation link
    /// sent to it; `email` stays as it is until then.
    pub pending_email: Option<String>,
    /// Whether others see "Seen" when this user reads their messages.
    pub send_read_receipts: bool,
}

/// `PATCH /api/v1/auth/settings`: only the fields given change; an empty
/// `email` removes it, and a new one waits for confirmation by e-mail.
/// Changing the e-mail needs `current_password` (the address is where
/// password resets go).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountChanges {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub current_password: Option<String>,
    #[serde(default)]
    pub send_read_receipts: Option<bool>,
}

/// `POST /api/v1/auth/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1024))]
    pub current_password: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}

/// `POST /api/v1/auth/password-reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResetRequest {
    pub email: String,
}

/// `POST /api/v1/auth/password-reset/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResetConfirmation {
    pub token: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}

/// `POST /api/v1/auth/email/confirm`: the token from the confirmation link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailConfirmation {
    pub token: String,
}

/// The address an e-mail confirmation set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfirmedEmail {
    pub email: String,
    /// The link was the old address's "undo": the address is back, every
    /// session of the account has ended, and reset links sent before are
    /// void.
    pub restored: bool,
}

/// A 202: the request was taken, and `detail` says what happens next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Accepted {
    pub detail: String,
}

/// `DELETE /api/v1/auth/account`: deleting needs the current password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountDeletion {
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 1024))]
    pub current_password: String,
}

impl std::fmt::Debug for AccountDeletion {
    // Hand-written so a password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountDeletion").finish_non_exhaustive()
    }
}

/// The `format` of an export this version writes.
pub const EXPORT_FORMAT: &str = "chatapp-export/1";

/// `GET /api/v1/auth/export`: everything the server holds about a user that
/// is theirs to take away: the account, each conversation's state, and
/// every message they sent or received, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountExport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub account: ExportedAccount,
    pub conversations: Vec<ExportedConversation>,
    pub messages: Vec<super::Message>,
}

/// The account part of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExportedAccount {
    pub username: String,
    pub email: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    pub send_read_receipts: bool,
}

/// One conversation's state in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExportedConversation {
    pub with: String,
    /// The newest message of theirs the user has read.
    pub last_read_id: i64,
    pub unread: u64,
}
