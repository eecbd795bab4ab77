//! `/api/v1`: the original app's REST API (paths and field names kept, so its
//! clients keep working), plus sign-up and sessions.

mod auth;
mod conversations;
mod messages;
mod pagination;
mod presence;
mod users;

use app::domain::{AppState, MAX_REQUEST_BYTES};
use app::error::AppError;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// The v1 routes. Collection paths answer with and without the trailing slash.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::log_in))
        .route("/auth/logout", post(auth::log_out))
        .route("/auth/me", get(auth::me))
        .route(
            "/auth/settings",
            get(auth::settings).patch(auth::update_settings),
        )
        .route("/auth/password", post(auth::change_password))
        .route("/auth/sessions/end-others", post(auth::end_other_sessions))
        .route("/auth/password-reset", post(auth::request_password_reset))
        .route(
            "/auth/password-reset/confirm",
            post(auth::confirm_password_reset),
        )
        .route("/user/", get(users::list))
        .route("/user", get(users::list))
        .route("/message/", get(messages::list).post(messages::create))
        .route("/message", get(messages::list).post(messages::create))
        .route(
            "/message/{id}/",
            get(messages::show)
                .patch(messages::edit)
                .delete(messages::delete),
        )
        .route(
            "/message/{id}",
            get(messages::show)
                .patch(messages::edit)
                .delete(messages::delete),
        )
        .route("/presence/", get(presence::show))
        .route("/presence", get(presence::show))
        .route("/conversation/", get(conversations::list))
        .route("/conversation", get(conversations::list))
        .route("/conversation/{username}/read", post(conversations::read))
        .fallback(super::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

async fn method_not_allowed() -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    (
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({"detail": "Method not allowed."})),
    )
}

/// Validates a page size, or gives the default.
fn page_size(requested: Option<u64>, default: u64, max: u64) -> Result<u64, AppError> {
    let size = requested.unwrap_or(default);
    if (1..=max).contains(&size) {
        Ok(size)
    } else {
        Err(AppError::invalid(
            "page_size",
            format!("Choose a page size from 1 to {max}."),
        ))
    }
}

/// Validates a 1-based page number.
fn page_number(page: Option<u64>) -> Result<u64, AppError> {
    match page {
        None => Ok(1),
        Some(0) => Err(AppError::invalid("page", "Pages are numbered from 1.")),
        Some(page) if page > app::domain::MAX_PAGE => Err(AppError::NotFound),
        Some(page) => Ok(page),
    }
}
