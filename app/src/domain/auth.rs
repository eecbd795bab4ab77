//! Log-in sessions through axum-login: who the caller is, checked on every
//! request from the session cookie.

use axum_login::{AuthUser, AuthnBackend};
use sea_orm::{DatabaseConnection, DbErr};

use super::accounts;

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
        Self {
            id: user.id,
            username: user.username,
            auth_hash: format!("{}:{}", user.password_hash, user.session_epoch),
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

/// What a user logs in with.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Looks users up in the database.
#[derive(Clone, Debug)]
pub struct Backend {
    db: DatabaseConnection,
}

impl Backend {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = DbErr;

    async fn authenticate(&self, credentials: Credentials) -> Result<Option<SessionUser>, DbErr> {
        let user =
            accounts::verify_credentials(&self.db, &credentials.username, &credentials.password)
                .await?;
        Ok(user.map(SessionUser::from))
    }

    async fn get_user(&self, user_id: &i64) -> Result<Option<SessionUser>, DbErr> {
        // A deactivated user's sessions stop working at once.
        Ok(accounts::find_active_by_id(&self.db, *user_id)
            .await?
            .map(SessionUser::from))
    }
}

/// Logs `credentials` in on this session, with a fresh session id (so an id
/// planted before log-in is worthless), and records the log-in time. Attempts
/// per account are throttled against password guessing.
pub async fn log_in(
    session: &mut AuthSession,
    state: &super::AppState,
    credentials: Credentials,
) -> Result<SessionUser, crate::error::AppError> {
    state.login_throttle.check(&credentials.username)?;
    let user = session
        .authenticate(credentials)
        .await?
        .ok_or(crate::error::AppError::InvalidCredentials)?;
    start_session(session, &state.db, &user).await?;
    Ok(user)
}

/// Starts a session for a user whose identity is already established (just
/// registered, or credentials checked).
pub async fn start_session(
    session: &mut AuthSession,
    db: &DatabaseConnection,
    user: &SessionUser,
) -> Result<(), crate::error::AppError> {
    session.login(user).await?;
    // axum-login rotates the id only for a session that never held a log-in;
    // rotate always, so no id known before log-in is worth anything after.
    session.session.cycle_id().await.map_err(|error| {
        tracing::error!(%error, "cannot rotate the session id");
        crate::error::AppError::Internal
    })?;
    accounts::record_login(db, user.id).await?;
    Ok(())
}

/// Ends the session: deleted from the store, so the old cookie is worthless,
/// and evicted from every node's cache, so it is worthless everywhere.
pub async fn log_out(
    session: &mut AuthSession,
    state: &super::AppState,
) -> Result<(), crate::error::AppError> {
    let session_id = session.session.id();
    session.logout().await?;
    if let Some(session_id) = session_id {
        state.channels.end_session(&session_id.to_string());
    }
    Ok(())
}
