//! `/api/v1/auth/*`: sign up, log in, log out, who am I, settings, password.

use app::domain::auth::{self, AuthSession};
use app::domain::client_ip::ClientIp;
use app::domain::{AppState, account_data, account_settings, email_change, password_reset};
use app::error::AppError;
use app::wire::{
    Accepted, AccountChanges, AccountDeletion, AccountExport, AccountSettings, ConfirmedEmail,
    Credentials, CurrentUser as CurrentUserBody, EmailConfirmation, ErrorBody, PasswordChange,
    Registration, ResetConfirmation, ResetRequest,
};
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::extract::{CurrentUser, Json};

/// `POST /api/v1/auth/register` → 201 `{username}`, logged in.
#[utoipa::path(
    post,
    operation_id = "register",
    path = "/api/v1/auth/register",
    tag = "accounts",
    request_body = Registration,
    responses(
        (status = 201, description = "Signed up and logged in: a session cookie is set.", body = CurrentUserBody),
        (status = 400, description = "A field is missing, too short or long, or malformed; `errors` says which.", body = ErrorBody),
        (status = 409, description = "The username, or one that looks like it, is taken.", body = ErrorBody),
        (status = 429, description = "Too many sign-ups from this address (`Retry-After`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    operation_id = "log_in",
    path = "/api/v1/auth/login",
    tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in: a fresh session cookie is set.", body = CurrentUserBody),
        (status = 400, description = "A username or password past the length limits.", body = ErrorBody),
        (status = 401, description = "Wrong username or password.", body = ErrorBody),
        (status = 429, description = "Too many attempts for this account or address (`Retry-After`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    operation_id = "log_out",
    path = "/api/v1/auth/logout",
    tag = "accounts",
    responses((status = 204, description = "The session is deleted; its cookie is worthless everywhere."))
)]
pub async fn log_out(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
) -> Result<StatusCode, AppError> {
    auth::log_out(&mut session, &state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/me` → 200 `{username}`.
#[utoipa::path(
    get,
    operation_id = "me",
    path = "/api/v1/auth/me",
    tag = "accounts",
    responses((status = 200, description = "Who is logged in.", body = CurrentUserBody))
)]
pub async fn me(CurrentUser(user): CurrentUser) -> axum::Json<CurrentUserBody> {
    axum::Json(CurrentUserBody {
        username: user.username,
    })
}

/// `POST /api/v1/auth/password-reset` `{email}` → 202 whether or not an
/// account has that address (no account enumeration).
#[utoipa::path(
    post,
    operation_id = "request_password_reset",
    path = "/api/v1/auth/password-reset",
    tag = "accounts",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Always, whether or not an account has the address.", body = Accepted),
        (status = 400, description = "A malformed address.", body = ErrorBody),
        (status = 429, description = "Too many requests for this address or from this client.", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    operation_id = "confirm_password_reset",
    path = "/api/v1/auth/password-reset/confirm",
    tag = "accounts",
    request_body = ResetConfirmation,
    responses(
        (status = 204, description = "The password is set; every session of the account ends."),
        (status = 400, description = "An unknown, used or expired `token`, or a weak `new_password`.", body = ErrorBody),
    )
)]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    Json(confirmation): Json<ResetConfirmation>,
) -> Result<StatusCode, AppError> {
    password_reset::confirm(&state, &confirmation.token, confirmation.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/settings` → the caller's account settings.
#[utoipa::path(
    get,
    operation_id = "settings",
    path = "/api/v1/auth/settings",
    tag = "accounts",
    responses((status = 200, description = "The caller's account settings.", body = AccountSettings))
)]
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<axum::Json<AccountSettings>, AppError> {
    Ok(axum::Json(account_settings::get(&state, &user).await?))
}

/// `PATCH /api/v1/auth/settings` `{email?, send_read_receipts?}` → the
/// settings after the change.
#[utoipa::path(
    patch,
    operation_id = "update_settings",
    path = "/api/v1/auth/settings",
    tag = "accounts",
    request_body = AccountChanges,
    responses(
        (status = 200, description = "The settings after the change. A new e-mail address is in `pending_email` until the link sent to it is opened; whether another account has the address is not said (that account's owner is told).", body = AccountSettings),
        (status = 400, description = "A malformed e-mail, or `current_password` missing or wrong for an e-mail change.", body = ErrorBody),
        (status = 429, description = "Too many password checks for this account, or too many e-mails to this address.", body = ErrorBody),
    )
)]
pub async fn update_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(changes): Json<AccountChanges>,
) -> Result<axum::Json<AccountSettings>, AppError> {
    Ok(axum::Json(
        account_settings::update(&state, &user, changes).await?,
    ))
}

/// `DELETE /api/v1/auth/email/pending` → 204: the e-mail change waiting
/// for its link is cancelled (its link stops working).
#[utoipa::path(
    delete,
    operation_id = "cancel_email_change",
    path = "/api/v1/auth/email/pending",
    tag = "accounts",
    responses((status = 204, description = "No e-mail change is pending any more; the address that counts stays."))
)]
pub async fn cancel_email_change(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode, AppError> {
    account_settings::cancel_email_change(&state, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/email/confirm` `{token}` → 200 `{email}`: the address
/// the confirmation link was sent to is now the account's. No session
/// needed: the token proves the address is the reader's.
#[utoipa::path(
    post,
    operation_id = "confirm_email",
    path = "/api/v1/auth/email/confirm",
    tag = "accounts",
    request_body = EmailConfirmation,
    responses(
        (status = 200, description = "The account's e-mail address is now the confirmed one; with `restored`, the old address's undo link put it back and every session of the account ended.", body = ConfirmedEmail),
        (status = 400, description = "An unknown, used or expired `token`.", body = ErrorBody),
        (status = 409, description = "Another account took this address since the link was sent.", body = ErrorBody),
    )
)]
pub async fn confirm_email(
    State(state): State<AppState>,
    Json(confirmation): Json<EmailConfirmation>,
) -> Result<axum::Json<ConfirmedEmail>, AppError> {
    let confirmed = email_change::confirm(&state, &confirmation.token).await?;
    Ok(axum::Json(ConfirmedEmail {
        email: confirmed.email,
        restored: confirmed.restored,
    }))
}

/// `POST /api/v1/auth/password` `{current_password, new_password}` → 204;
/// every other session ends.
#[utoipa::path(
    post,
    operation_id = "change_password",
    path = "/api/v1/auth/password",
    tag = "accounts",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; this session carries on, every other one ends."),
        (status = 400, description = "`current_password` is wrong, or `new_password` too short or long.", body = ErrorBody),
        (status = 429, description = "Too many password checks for this account.", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    operation_id = "end_other_sessions",
    path = "/api/v1/auth/sessions/end-others",
    tag = "accounts",
    responses((status = 204, description = "Every session of the caller's but this one has ended."))
)]
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
#[utoipa::path(
    get,
    operation_id = "export",
    path = "/api/v1/auth/export",
    tag = "accounts",
    responses(
        (status = 200, description = "Everything of the caller's, as a file to save (`Content-Disposition: attachment`).", body = AccountExport,
            headers(("content-disposition" = String, description = "`attachment; filename=\"chatapp-USERNAME-DATE.json\"`"))),
        (status = 429, description = "Too many exports (`LIMIT_EXPORTS_PER_USER`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    delete,
    operation_id = "delete_account",
    path = "/api/v1/auth/account",
    tag = "accounts",
    request_body = AccountDeletion,
    responses(
        (status = 204, description = "The account is deleted: its messages are tombstones for the people it wrote to, and every session of it has ended."),
        (status = 400, description = "`current_password` is missing or wrong.", body = ErrorBody),
        (status = 429, description = "Too many password checks for this account.", body = ErrorBody),
    )
)]
pub async fn delete_account(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    mut session: AuthSession,
    Json(deletion): Json<AccountDeletion>,
) -> Result<StatusCode, AppError> {
    account_data::delete_account(&state, &mut session, &deletion.current_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
