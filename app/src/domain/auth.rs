//! Log-in sessions through axum-login: who the caller is, checked on every
//! request from the session cookie.

use std::net::IpAddr;
use std::sync::Arc;

use axum_login::{AuthUser, AuthnBackend};
use sea_orm::DatabaseConnection;

use super::directory::{Directory, UserRecord};
use super::limits::address_key;
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
    /// What sessions are checked against: the session epoch, which a new
    /// password or "log out everywhere" bumps, ending every session.
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

    /// A new epoch changes it, which ends sessions.
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
    client: IpAddr,
    registration: Registration,
) -> Result<SessionUser, AppError> {
    state
        .limits
        .sign_up_per_ip
        .check(&address_key(client))
        .await?;
    let registered = accounts::register(&state.db, registration).await?;
    if let Some(email) = registered.email {
        // Like any new address: it counts once the link sent to it is
        // opened, and if another account has it, that owner is told. The
        // account stands either way; a confirmation that could not start
        // (too many mails to that address) is asked for again in settings.
        if let Err(error) = super::email_change::request(state, &registered.user, email).await {
            tracing::warn!(%error, "sign-up: no confirmation link sent");
        }
    }
    let user = SessionUser::from(registered.user);
    start_session(session, &state.db, &user).await?;
    Ok(user)
}

/// Logs `credentials` in on this session, with a fresh session id (so an id
/// planted before log-in is worthless), and records the log-in time.
/// Oversized credentials are refused before any work; attempts are limited
/// per client address (password spraying) and per account (guessing).
pub async fn log_in(
    session: &mut AuthSession,
    state: &AppState,
    client: IpAddr,
    credentials: Credentials,
) -> Result<SessionUser, AppError> {
    accounts::credentials_within_bounds(&credentials.username, &credentials.password)?;
    let limits = &state.limits;
    limits.log_in_per_ip.check(&address_key(client)).await?;
    limits
        .log_in_per_account
        .check(&accounts::username_key(&credentials.username))
        .await?;
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
    rotate_id(session).await?;
    session
        .session
        .insert(LOGGED_IN_AT, chrono::Utc::now().timestamp())
        .await
        .map_err(|error| {
            tracing::error!(%error, "cannot record the log-in time");
            AppError::Internal
        })?;
    accounts::record_login(db, user.id).await?;
    Ok(())
}

/// Gives the session a new id, keeping its data: axum-login rotates only a
/// session that never held a log-in, and a log-in or a new password must
/// leave every earlier id worthless.
///
/// Saved at once: the new id exists (and can be named to the channel layer)
/// before the response is written.
pub async fn rotate_id(session: &AuthSession) -> Result<(), AppError> {
    let rotated = async {
        session.session.cycle_id().await?;
        session.session.save().await
    };
    rotated.await.map_err(|error| {
        tracing::error!(%error, "cannot rotate the session id");
        AppError::Internal
    })
}

/// The session key holding when its user logged in (Unix seconds).
const LOGGED_IN_AT: &str = "chatapp.logged_in_at";
/// The session key holding when its idle timer last started again.
const RENEWED_AT: &str = "chatapp.renewed_at";
/// The longest a used session goes without its idle timer starting again.
const MAX_RENEW_INTERVAL_SECONDS: u64 = 3600;

/// Starts a used session's idle timer (`SESSION_IDLE_DAYS`) again. The
/// session layer saves a session (and so moves its expiry) only when it
/// changed, so without this an active user would be logged out an idle
/// period after logging in. Renewed at most every tenth of the idle period
/// (an hour at most), so a request costs a session write only that often.
pub async fn keep_alive(session: &tower_sessions::Session, settings: &super::Settings) {
    let now = chrono::Utc::now().timestamp();
    let every =
        i64::try_from((settings.session_idle.as_secs() / 10).min(MAX_RENEW_INTERVAL_SECONDS))
            .unwrap_or(0);
    let renewed_at: Option<i64> = session.get(RENEWED_AT).await.ok().flatten();
    if renewed_at.is_none_or(|at| now - at >= every)
        && let Err(error) = session.insert(RENEWED_AT, now).await
    {
        tracing::warn!(%error, "cannot renew a session");
    }
}

/// When a logged-in session ends, whatever happens: `SESSION_DAYS` after its
/// log-in. `None` for a session with no log-in time (from before this was
/// recorded), which counts as ended.
pub async fn session_deadline(
    session: &tower_sessions::Session,
    settings: &super::Settings,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let logged_in_at: i64 = session.get(LOGGED_IN_AT).await.ok().flatten()?;
    chrono::DateTime::from_timestamp(logged_in_at, 0)
        .map(|at| at + chrono::Duration::days(settings.session_days))
}

/// The same, read from a stored session's data.
pub fn deadline_of<S: std::hash::BuildHasher>(
    data: &std::collections::HashMap<String, serde_json::Value, S>,
    settings: &super::Settings,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let logged_in_at = data.get(LOGGED_IN_AT)?.as_i64()?;
    chrono::DateTime::from_timestamp(logged_in_at, 0)
        .map(|at| at + chrono::Duration::days(settings.session_days))
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
