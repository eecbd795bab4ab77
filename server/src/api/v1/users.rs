//! `GET /api/v1/user/`: the people the caller can talk to.

use app::domain::paging::{PageRequest, link};
use app::domain::{AppState, users};
use app::error::AppError;
use app::wire::{Page, UserSummary};
use axum::extract::State;
use serde::Deserialize;

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
    let request = PageRequest::new(
        query.page,
        query.page_size,
        users::DEFAULT_PAGE_SIZE,
        users::MAX_PAGE_SIZE,
    )?;
    let listing = users::list_others(&state.db, viewer.id, &query.search, request).await?;
    let page = listing.into_numbered_page(request, |number| {
        link(
            "/api/v1/user/",
            &[
                (
                    "search",
                    Some(query.search.clone()).filter(|s| !s.is_empty()),
                ),
                ("page", Some(number.to_string())),
                ("page_size", query.page_size.map(|size| size.to_string())),
            ],
        )
    })?;
    Ok(axum::Json(page))
}
