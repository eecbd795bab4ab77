//! `GET /api/v1/user/`: the people the caller can talk to, as the original
//! app answered: a bare JSON array of `{"username": …}`. Paging rides in
//! standard headers (`Link` with `rel="next"`/`"prev"`, and
//! `X-Total-Count`), so a client that ignores them sees the first page.

use app::domain::paging::{PageRequest, link};
use app::domain::{AppState, users};
use app::error::AppError;
use app::wire::{ErrorBody, Page, UserSummary};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Query};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only usernames containing this (any case).
    #[serde(default)]
    search: String,
    /// The page, from 1.
    #[param(minimum = 1)]
    page: Option<u64>,
    /// Users per page.
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
}

/// Every other active user, by username, `search` matching a substring.
#[utoipa::path(
    get,
    operation_id = "list_users",
    path = "/api/v1/user/",
    tag = "people",
    params(UserQuery),
    responses(
        (status = 200, description = "A page of other active users, by username: a bare array, as the original app answered.", body = Vec<UserSummary>,
            headers(
                ("x-total-count" = u64, description = "Matching users across all pages."),
                ("link" = String, description = "RFC 8288 links to the `next` and `prev` pages, when there are any."),
            )),
        (status = 400, description = "A `page` or `page_size` out of range.", body = ErrorBody),
        (status = 404, description = "A `page` past the last.", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(query): Query<UserQuery>,
) -> Result<(HeaderMap, axum::Json<Vec<UserSummary>>), AppError> {
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
    Ok(as_array_with_links(page))
}

/// The header that carries how many results there are across pages.
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

/// A page as a bare array, its links and total in headers (RFC 8288 `Link`).
fn as_array_with_links<T>(page: Page<T>) -> (HeaderMap, axum::Json<Vec<T>>) {
    let mut headers = HeaderMap::new();
    headers.insert(TOTAL_COUNT, HeaderValue::from(page.count));
    let links: Vec<String> = [(page.next, "next"), (page.previous, "prev")]
        .into_iter()
        .filter_map(|(target, rel)| target.map(|target| format!("<{target}>; rel=\"{rel}\"")))
        .collect();
    if let Ok(value) = HeaderValue::from_str(&links.join(", "))
        && !links.is_empty()
    {
        headers.insert(header::LINK, value);
    }
    (headers, axum::Json(page.results))
}
