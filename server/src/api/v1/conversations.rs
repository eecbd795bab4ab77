//! `/api/v1/conversation/`: the caller's conversations with unread counts,
//! and marking one read.

use app::domain::AppState;
use app::domain::conversations::{self, ReadState};
use app::error::AppError;
use app::models::ConversationPage;
use axum::extract::State;
use serde::Deserialize;

use super::pagination::link;
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
) -> Result<axum::Json<ConversationPage>, AppError> {
    let page = super::page_number(query.page)?;
    let page_size = super::page_size(
        query.page_size,
        conversations::DEFAULT_PAGE_SIZE,
        conversations::MAX_PAGE_SIZE,
    )?;
    let found = conversations::list(&state.db, viewer.id, page, page_size).await?;
    if page > 1 && found.conversations.is_empty() {
        return Err(AppError::NotFound);
    }
    let page_link = |page: u64| {
        link(
            "/api/v1/conversation/",
            &[
                ("page", Some(page.to_string())),
                ("page_size", query.page_size.map(|size| size.to_string())),
            ],
        )
    };
    Ok(axum::Json(ConversationPage {
        count: found.count,
        next: (page.saturating_mul(page_size) < found.count).then(|| page_link(page + 1)),
        previous: (page > 1).then(|| page_link(page - 1)),
        results: found.conversations,
        seq: found.seq,
    }))
}

#[derive(Deserialize)]
pub struct ReadBody {
    last_read_id: i64,
}

/// `POST /api/v1/conversation/{username}/read` `{last_read_id}` → the
/// conversation's read state. The pointer only moves forward.
pub async fn read(
    State(state): State<AppState>,
    CurrentUser(reader): CurrentUser,
    Path(username): Path<String>,
    Json(body): Json<ReadBody>,
) -> Result<axum::Json<ReadState>, AppError> {
    Ok(axum::Json(
        conversations::mark_read(&state, &reader, &username, body.last_read_id).await?,
    ))
}
