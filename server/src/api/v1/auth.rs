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
