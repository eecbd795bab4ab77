//! `/api/v1/auth/*`: sign up, log in, log out, who am I, settings, password.

use app::domain::auth::{self, AuthSession};
use app::domain::client_ip::ClientIp;
use app::domain::{AppState, account_data, account_settings, password_reset};
use app::error::AppError;
use app::wire::{
    Accepted, AccountChanges, AccountDeletion, AccountSettings, Credentials,
    CurrentUser as CurrentUserBody, PasswordChange, Registration, ResetConfirmation, ResetRequest,
};
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::extract::{CurrentUser, Json};

/// `POST /api/v1/auth/register` → 201 `{username}`, logged in.
pub async fn register(
    State(state): State<AppState>,
    mut session: AuthSession,
    ClientIp(client): ClientIp,
    Json(registration): Json<Registration>,
) -> Result<(StatusCode, axum::Json<CurrentUserBody>), AppError> {
    let user = auth::sign_up(&mut session, &state, client, registration).await?;
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
    ClientIp(client): ClientIp,
    Json(credentials): Json<Credentials>,
) -> Result<axum::Json<CurrentUserBody>, AppError> {
    let user = auth::log_in(&mut session, &state, client, credentials).await?;
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

/// `POST /api/v1/auth/password-reset` `{email}` → 202 whether or not an
/// account has that address (no account enumeration).
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Json(request): Json<ResetRequest>,
) -> Result<(StatusCode, axum::Json<Accepted>), AppError> {
    password_reset::request(&state, client, &request.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Accepted {
            detail: "If an account has this address, a reset link is on its way.".to_owned(),
        }),
    ))
}

/// `POST /api/v1/auth/password-reset/confirm` `{token, new_password}` → 204;
/// every session of the account ends.
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(confirmation): Json<ResetConfirmation>,
) -> Result<StatusCode, AppError> {
    password_reset::confirm(&state, &confirmation.token, confirmation.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/settings` → the caller's account settings.
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<AccountSettings>, AppError> {
    Ok(axum::Json(account_settings::get(&state, &user).await?))
}

/// `PATCH /api/v1/auth/settings` `{email?, send_read_receipts?}` → the
/// settings after the change.
pub async fn update_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(changes): Json<AccountChanges>,
) -> Result<axum::Json<AccountSettings>, AppError> {
    Ok(axum::Json(
        account_settings::update(&state, &user, changes).await?,
    ))
}

/// `POST /api/v1/auth/password` `{current_password, new_password}` → 204;
/// every other session ends.
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
    Json(change): Json<PasswordChange>,
) -> Result<StatusCode, AppError> {
    account_settings::change_password(
        &state,
        &mut session,
        &change.current_password,
        change.new_password,
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
    account_settings::end_other_sessions(&state, &mut session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/export` → 200, everything of the caller's as one JSON
/// document (`AccountExport`), streamed, to save as a file.
pub async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<impl axum::response::IntoResponse, AppError> {
    let pieces = account_data::export(&state, user.id).await?;
    let file_name = format!(
        "chatapp-{}-{}.json",
        user.username,
        chrono::Utc::now().format("%Y-%m-%d")
    );
    // Usernames are letters, digits, `.`, `_` and `-`: safe in the quotes.
    let disposition = format!("attachment; filename=\"{file_name}\"");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(pieces),
    ))
}

/// `DELETE /api/v1/auth/account` `{current_password}` → 204; the account is
/// gone (its messages are tombstones for the people it wrote to) and every
/// session of it has ended.
pub async fn delete_account(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
    Json(deletion): Json<AccountDeletion>,
) -> Result<StatusCode, AppError> {
    account_data::delete_account(&state, &mut session, &deletion.current_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
