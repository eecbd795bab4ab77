//! `/api/v1/message/`: send, read one, page through history, edit, delete.

use app::domain::AppState;
use app::domain::messages::{self, Cursor};
use app::domain::paging::PageRequest;
use app::error::AppError;
use app::wire::{Message, MessageEdit, NewMessage, Page};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, JsonOrForm, Path, Query};

#[derive(Deserialize)]
pub struct MessageQuery {
    target: Option<String>,
    page: Option<u64>,
    before: Option<i64>,
}

/// `GET /api/v1/message/?target=USERNAME&page=N` (or `&before=ID`): newest first.
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Query(query): Query<MessageQuery>,
) -> Result<axum::Json<Page<Message>>, AppError> {
    let target = query.target.filter(|target| !target.trim().is_empty());
    let per_page = state.settings.messages_to_load;
    let cursor = match (query.page, query.before) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "before",
                "Use either page or before, not both.",
            ));
        }
        (page, None) => Cursor::Page(PageRequest::new(page, None, per_page, per_page)?.number),
        (None, Some(before)) => Cursor::Before(before),
    };
    let listing = messages::list(&state.db, viewer.id, target.as_deref(), cursor, per_page).await?;
    Ok(axum::Json(messages::into_page(
        listing,
        target.as_deref(),
        cursor,
    )?))
}

/// `GET /api/v1/message/{id}/`: 404 unless the caller sent or received it.
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<Message>, AppError> {
    Ok(axum::Json(messages::fetch(&state, viewer.id, id).await?))
}

/// `POST /api/v1/message/` `{recipient, body, client_id?}` → 201 with the
/// stored message; 200 with the same message when a retry repeats a `client_id`.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(sender): CurrentUser,
    JsonOrForm(new_message): JsonOrForm<NewMessage>,
) -> Result<(StatusCode, axum::Json<Message>), AppError> {
    let sent = messages::send(&state, &sender, new_message).await?;
    let status = if sent.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(sent.message)))
}

/// `PATCH /api/v1/message/{id}/` `{body}` → 200 with the edited message.
/// Only its sender may (403); a message you cannot see is 404.
pub async fn edit(
    State(state): State<AppState>,
    CurrentUser(editor): CurrentUser,
    Path(id): Path<i64>,
    JsonOrForm(edit): JsonOrForm<MessageEdit>,
) -> Result<axum::Json<Message>, AppError> {
    Ok(axum::Json(
        messages::edit(&state, &editor, id, &edit.body).await?,
    ))
}

/// `DELETE /api/v1/message/{id}/` → 204; the message becomes a tombstone.
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(deleter): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    messages::delete(&state, &deleter, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
