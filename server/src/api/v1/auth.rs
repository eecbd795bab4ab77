//! `/api/v1/auth/*`: sign up, log in, log out, who am I.

use app::domain::auth::{self, AuthSession, Credentials};
use app::domain::{AppState, accounts};
use app::error::AppError;
use app::models::CurrentUser as CurrentUserBody;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Json};

#[derive(Deserialize)]
pub struct RegisterBody {
    username: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
pub struct LogInBody {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/register` → 201 `{username}`, logged in.
pub async fn register(
    State(state): State<AppState>,
    mut session: AuthSession,
    Json(body): Json<RegisterBody>,
) -> Result<(StatusCode, axum::Json<CurrentUserBody>), AppError> {
    let user = accounts::register(
        &state.db,
        accounts::Registration {
            username: body.username,
            password: body.password,
            email: body.email,
        },
    )
    .await?;
    let user = user.into();
    auth::start_session(&mut session, &state.db, &user).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CurrentUserBody {
            username: user.username,
        }),
    ))
}

/// `POST /api/v1/auth/login` → 200 `{username}` and a fresh session cookie.
pub async fn log_in(
    State(state): State<AppState>,
    mut session: AuthSession,
    Json(body): Json<LogInBody>,
) -> Result<axum::Json<CurrentUserBody>, AppError> {
    let credentials = Credentials {
        username: body.username,
        password: body.password,
    };
    let user = auth::log_in(&mut session, &state, credentials).await?;
    Ok(axum::Json(CurrentUserBody {
        username: user.username,
    }))
}

/// `POST /api/v1/auth/logout` → 204; the session is deleted.
pub async fn log_out(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
) -> Result<StatusCode, AppError> {
    auth::log_out(&mut session, &state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me` → 200 `{username}`.
pub async fn me(CurrentUser(user): CurrentUser) -> axum::Json<CurrentUserBody> {
    axum::Json(CurrentUserBody {
        username: user.username,
    })
}

#[derive(Deserialize)]
pub struct ResetRequestBody {
    email: String,
}

/// `POST /api/v1/auth/password-reset` `{email}` → 202 whether or not an
/// account has that address (no account enumeration).
pub async fn request_password_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetRequestBody>,
) -> Result<(StatusCode, axum::Json<serde_json::Value>), AppError> {
    app::domain::password_reset::request(&state, &body.email)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({
            "detail": "If an account has this address, a reset link is on its way."
        })),
    ))
}

#[derive(Deserialize)]
pub struct ResetConfirmBody {
    token: String,
    new_password: String,
}

/// `POST /api/v1/auth/password-reset/confirm` `{token, new_password}` → 204;
/// every session of the account ends.
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetConfirmBody>,
) -> Result<StatusCode, AppError> {
    app::domain::password_reset::confirm(&state, &body.token, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/settings` → the caller's account settings.
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<app::models::AccountSettings>, AppError> {
    Ok(axum::Json(
        app::domain::account_settings::get(&state, &user).await?,
    ))
}

/// `PATCH /api/v1/auth/settings` `{email?, send_read_receipts?}` → the
/// settings after the change.
pub async fn update_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(changes): Json<app::models::AccountChanges>,
) -> Result<axum::Json<app::models::AccountSettings>, AppError> {
    Ok(axum::Json(
        app::domain::account_settings::update(&state, &user, changes).await?,
    ))
}

#[derive(Deserialize)]
pub struct PasswordChangeBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password` `{current_password, new_password}` → 204;
/// every other session ends.
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
    Json(body): Json<PasswordChangeBody>,
) -> Result<StatusCode, AppError> {
    app::domain::account_settings::change_password(
        &state,
        &mut session,
        &body.current_password,
        body.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/sessions/end-others` → 204; this session carries on.
pub async fn end_other_sessions(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
) -> Result<StatusCode, AppError> {
    app::domain::account_settings::end_other_sessions(&state, &mut session).await?;
    Ok(StatusCode::NO_CONTENT)
}
