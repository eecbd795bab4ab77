//! `/api/v1`: the original app's REST API (paths and field names kept, so its
//! clients keep working), plus sign-up and sessions.

mod auth;
mod messages;
mod pagination;
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
        .route("/user/", get(users::list))
        .route("/user", get(users::list))
        .route("/message/", get(messages::list).post(messages::create))
        .route("/message", get(messages::list).post(messages::create))
        .route("/message/{id}/", get(messages::show))
        .route("/message/{id}", get(messages::show))
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

/// Validates a 1-based page number.
fn page_number(page: Option<u64>) -> Result<u64, AppError> {
    match page {
        None => Ok(1),
        Some(0) => Err(AppError::invalid("page", "Pages are numbered from 1.")),
        Some(page) if page > app::domain::MAX_PAGE => Err(AppError::NotFound),
        Some(page) => Ok(page),
    }
}
