//! `GET /api/v1/user/`: the people the caller can talk to.

use app::domain::{AppState, users};
use app::error::AppError;
use app::models::{Page, UserSummary};
use axum::extract::State;
use serde::Deserialize;

use super::pagination::link;
use crate::api::extract::{CurrentUser, Query};

#[derive(Deserialize)]
pub struct UserQuery {
    #[serde(default)]
    search: String,
    page: Option<u64>,
    page_size: Option<u64>,
}

/// Every other active user, by username, `search` matching a substring.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(query): Query<UserQuery>,
) -> Result<axum::Json<Page<UserSummary>>, AppError> {
    let page = super::page_number(query.page)?;
    let page_size = super::page_size(
        query.page_size,
        users::DEFAULT_PAGE_SIZE,
        users::MAX_PAGE_SIZE,
    )?;
    let found = users::list_others(&state.db, viewer.id, &query.search, page, page_size).await?;
    if page > 1 && found.users.is_empty() {
        return Err(AppError::NotFound);
    }
    let page_link = |page: u64| {
        link(
            "/api/v1/user/",
            &[
                (
                    "search",
                    Some(query.search.clone()).filter(|s| !s.is_empty()),
                ),
                ("page", Some(page.to_string())),
                ("page_size", query.page_size.map(|size| size.to_string())),
            ],
        )
    };
    Ok(axum::Json(Page {
        count: found.count,
        next: (page.saturating_mul(page_size) < found.count).then(|| page_link(page + 1)),
        previous: (page > 1).then(|| page_link(page - 1)),
        results: found.users,
    }))
}
