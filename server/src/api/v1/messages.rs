//! `/api/v1/message/`: send, read one, page through history, edit, delete.

use app::domain::AppState;
use app::domain::messages::{self, Cursor};
use app::domain::paging::PageRequest;
use app::error::AppError;
use app::wire::{ErrorBody, Message, MessageEdit, NewMessage, Page};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::api::extract::{CurrentUser, JsonOrForm, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// The other person: their conversation with the caller. Without it,
    /// everything the caller sent or received.
    target: Option<String>,
    /// The page, from 1 (not with `before`).
    #[param(minimum = 1)]
    page: Option<u64>,
    /// The messages just older than this id (keyset paging; not with `page`).
    before: Option<i64>,
}

/// `GET /api/v1/message/?target=USERNAME&page=N` (or `&before=ID`): newest first.
#[utoipa::path(
    get,
    operation_id = "list_messages",
    path = "/api/v1/message/",
    tag = "messages",
    params(MessageQuery),
    responses(
        (status = 200, description = "A page of messages, newest first.", body = Page<Message>),
        (status = 400, description = "An unknown `target`, or both `page` and `before`.", body = ErrorBody),
        (status = 404, description = "A `page` past the last.", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    get,
    operation_id = "show_message",
    path = "/api/v1/message/{id}/",
    tag = "messages",
    params(("id" = i64, Path, description = "The message id, as a notification names it.")),
    responses(
        (status = 200, description = "The message (a tombstone with an empty body if deleted).", body = Message),
        (status = 400, description = "An id that is not a number.", body = ErrorBody),
        (status = 404, description = "No such message, or not the caller's to see.", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    CurrentUser(viewer): CurrentUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<Message>, AppError> {
    Ok(axum::Json(messages::fetch(&state, viewer.id, id).await?))
}

/// `POST /api/v1/message/` `{recipient, body, client_id?}` → 201 with the
/// stored message; 200 with the same message when a retry repeats a `client_id`.
#[utoipa::path(
    post,
    operation_id = "send_message",
    path = "/api/v1/message/",
    tag = "messages",
    request_body(content(
        (NewMessage = "application/json"),
        (NewMessage = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Stored; both people's streams name it.", body = Message,
            links(
                ("show" = (operation_id = "show_message", parameters(("id" = "$response.body#/id")))),
                ("edit" = (operation_id = "edit_message", parameters(("id" = "$response.body#/id")))),
                ("delete" = (operation_id = "delete_message", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 200, description = "A retry with a `client_id` already stored: the same message, not a second one.", body = Message),
        (status = 400, description = "An empty or too long body, an unknown recipient, or a malformed `client_id`.", body = ErrorBody),
        (status = 409, description = "The `client_id` was already used for a different message.", body = ErrorBody),
        (status = 415, description = "A body that is neither JSON nor a form.", body = ErrorBody),
        (status = 429, description = "Too many messages (`LIMIT_SENDS_PER_USER`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    patch,
    operation_id = "edit_message",
    path = "/api/v1/message/{id}/",
    tag = "messages",
    params(("id" = i64, Path, description = "The message id.")),
    request_body(content(
        (MessageEdit = "application/json"),
        (MessageEdit = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The edited message.", body = Message),
        (status = 400, description = "An empty or too long body.", body = ErrorBody),
        (status = 403, description = "Only its sender may edit a message.", body = ErrorBody),
        (status = 404, description = "No such message, or not the caller's to see.", body = ErrorBody),
        (status = 409, description = "The message was deleted.", body = ErrorBody),
        (status = 415, description = "A body that is neither JSON nor a form.", body = ErrorBody),
        (status = 429, description = "Too many changes (`LIMIT_SENDS_PER_USER`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    delete,
    operation_id = "delete_message",
    path = "/api/v1/message/{id}/",
    tag = "messages",
    params(("id" = i64, Path, description = "The message id.")),
    responses(
        (status = 204, description = "Deleted (or already was): it stays as a tombstone."),
        (status = 400, description = "An id that is not a number.", body = ErrorBody),
        (status = 403, description = "Only its sender may delete a message.", body = ErrorBody),
        (status = 404, description = "No such message, or not the caller's to see.", body = ErrorBody),
        (status = 429, description = "Too many changes (`LIMIT_SENDS_PER_USER`).", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(deleter): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    messages::delete(&state, &deleter, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
