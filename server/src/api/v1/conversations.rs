//! `/api/v1/conversation/`: the caller's conversations with unread counts,
//! and marking one read.

use app::domain::AppState;
use app::domain::conversations;
use app::domain::paging::PageRequest;
use app::error::AppError;
use app::wire::{Conversation, ErrorBody, Page, ReadState, ReadUpTo};
use axum::extract::State;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    /// The page, from 1.
    #[param(minimum = 1)]
    page: Option<u64>,
    /// Conversations per page.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u64>,
}

/// `GET /api/v1/conversation/` → the caller's conversations, most recent
/// first, with the event `seq` the page is a snapshot at.
#[utoipa::path(
    get,
    operation_id = "list_conversations",
    path = "/api/v1/conversation/",
    tag = "conversations",
    params(ConversationQuery),
    responses(
        (status = 200, description = "A page of conversations, most recent first, with `seq`: the event the page is a snapshot at.", body = Page<Conversation>),
        (status = 400, description = "A `page` or `page_size` out of range.", body = ErrorBody),
        (status = 404, description = "A `page` past the last.", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(query): Query<ConversationQuery>,
) -> Result<axum::Json<Page<Conversation>>, AppError> {
    let request = PageRequest::new(
        query.page,
        query.page_size,
        conversations::DEFAULT_PAGE_SIZE,
        conversations::MAX_PAGE_SIZE,
    )?;
    let snapshot = conversations::list(&state.db, viewer.id, request).await?;
    Ok(axum::Json(conversations::into_page(
        snapshot,
        request,
        query.page_size,
    )?))
}

/// `POST /api/v1/conversation/{username}/read` `{last_read_id}` → the
/// conversation's read state. The pointer only moves forward.
#[utoipa::path(
    post,
    operation_id = "mark_read",
    path = "/api/v1/conversation/{username}/read",
    tag = "conversations",
    params(("username" = String, Path, description = "The other person.")),
    request_body = ReadUpTo,
    responses(
        (status = 200, description = "The conversation's read state afterwards (the pointer never moves back).", body = ReadState),
        (status = 400, description = "A malformed body.", body = ErrorBody),
        (status = 404, description = "No such user.", body = ErrorBody),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    CurrentUser(reader): CurrentUser,
    Path(username): Path<String>,
    Json(read): Json<ReadUpTo>,
) -> Result<axum::Json<ReadState>, AppError> {
    Ok(axum::Json(
        conversations::mark_read(&state, &reader, &username, read.last_read_id).await?,
    ))
}
