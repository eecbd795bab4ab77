//! Log-in sessions through axum-login: who the caller is, checked on every
//! request from the session cookie.

use std::sync::Arc;

use axum_login::{AuthUser, AuthnBackend};
use sea_orm::DatabaseConnection;

use super::directory::{Directory, UserRecord};
use super::{AppState, accounts};
use crate::error::AppError;
use crate::wire::{Credentials, Registration};

/// The extractor handlers use: the session plus the logged-in user, if any.
pub type AuthSession = axum_login::AuthSession<Backend>;

/// The logged-in user, as kept for the length of a request.
#[derive(Clone)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    /// What sessions are checked against: the password hash and the session
    /// epoch. A new password, or a new epoch, ends every session.
    auth_hash: String,
}

impl std::fmt::Debug for SessionUser {
    // Hand-written so the password hash never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl From<super::entities::user::Model> for SessionUser {
    fn from(user: super::entities::user::Model) -> Self {
        Self::from(&UserRecord::from(user))
    }
}

impl From<&UserRecord> for SessionUser {
    fn from(user: &UserRecord) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            auth_hash: user.auth_hash.clone(),
        }
    }
}

impl AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    /// Changing the password or the epoch changes it, which ends sessions.
    fn session_auth_hash(&self) -> &[u8] {
        self.auth_hash.as_bytes()
    }
}

/// Checks credentials against the database, and finds each request's user
/// in the [`Directory`] (memory first).
#[derive(Clone)]
pub struct Backend {
    db: DatabaseConnection,
    directory: Arc<Directory>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

impl Backend {
    pub fn new(db: DatabaseConnection, directory: Arc<Directory>) -> Self {
        Self { db, directory }
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = AppError;

    async fn authenticate(
        &self,
        credentials: Credentials,
    ) -> Result<Option<SessionUser>, AppError> {
        let user =
            accounts::verify_credentials(&self.db, &credentials.username, &credentials.password)
                .await?;
        Ok(user.map(SessionUser::from))
    }

    async fn get_user(&self, user_id: &i64) -> Result<Option<SessionUser>, AppError> {
        // A deactivated user's sessions stop working (once the directory
        // knows: at once on this node, through the channel layer elsewhere).
        Ok(self
            .directory
            .by_id(*user_id)
            .await?
            .filter(|user| user.is_active)
            .map(|user| SessionUser::from(user.as_ref())))
    }
}

/// A failure of the backend is what it was (the database away, hashing
/// too busy); one of the session layer is ours: logged, answered as a 500.
impl From<axum_login::Error<Backend>> for AppError {
    fn from(error: axum_login::Error<Backend>) -> Self {
        match error {
            axum_login::Error::Backend(error) => error,
            axum_login::Error::Session(error) => {
                tracing::error!(%error, "session error");
                Self::Internal
            }
        }
    }
}

/// Creates the account and logs it in on this session: the one sign-up, for
/// the REST API and the sign-up form alike.
pub async fn sign_up(
    session: &mut AuthSession,
    state: &AppState,
    registration: Registration,
) -> Result<SessionUser, AppError> {
    let user = SessionUser::from(accounts::register(&state.db, registration).await?);
    start_session(session, &state.db, &user).await?;
    Ok(user)
}

/// Logs `credentials` in on this session, with a fresh session id (so an id
/// planted before log-in is worthless), and records the log-in time. Attempts
/// per account are throttled against password guessing.
pub async fn log_in(
    session: &mut AuthSession,
    state: &AppState,
    credentials: Credentials,
) -> Result<SessionUser, AppError> {
    state.login_throttle.check(&credentials.username)?;
    let user = session
        .authenticate(credentials)
        .await?
        .ok_or(AppError::InvalidCredentials)?;
    start_session(session, &state.db, &user).await?;
    Ok(user)
}

/// Starts a session for a user whose identity is already established (just
/// registered, or credentials checked).
async fn start_session(
    session: &mut AuthSession,
    db: &DatabaseConnection,
    user: &SessionUser,
) -> Result<(), AppError> {
    session.login(user).await?;
    // axum-login rotates the id only for a session that never held a log-in;
    // rotate always, so no id known before log-in is worth anything after.
    session.session.cycle_id().await.map_err(|error| {
        tracing::error!(%error, "cannot rotate the session id");
        AppError::Internal
    })?;
    accounts::record_login(db, user.id).await?;
    Ok(())
}

/// Ends the session: deleted from the store, so the old cookie is worthless,
/// and evicted from every node's cache, so it is worthless everywhere.
pub async fn log_out(session: &mut AuthSession, state: &AppState) -> Result<(), AppError> {
    let session_id = session.session.id();
    session.logout().await?;
    if let Some(session_id) = session_id {
        state.channels.end_session(&session_id.to_string());
    }
    Ok(())
}
