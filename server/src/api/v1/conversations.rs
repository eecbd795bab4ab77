//! `/api/v1/conversation/`: the caller's conversations with unread counts,
//! and marking one read.

use app::domain::AppState;
use app::domain::conversations;
use app::domain::paging::PageRequest;
use app::error::AppError;
use app::wire::{Conversation, Page, ReadState, ReadUpTo};
use axum::extract::State;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, Json, Path, Query};

#[derive(Deserialize)]
pub struct ConversationQuery {
    page: Option<u64>,
    page_size: Option<u64>,
}

/// `GET /api/v1/conversation/` → the caller's conversations, most recent
/// first, with the event `seq` the page is a snapshot at.
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
