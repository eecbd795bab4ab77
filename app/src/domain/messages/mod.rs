//! Messages: sending (with its rules), editing and deleting one's own,
//! reading one, and paging through history.

mod history;
mod recent;
mod send;

pub use history::{Cursor, find_visible, into_page, list, oldest_after};
pub use recent::RecentMessages;
pub use send::{Sent, send};

/// The message `id` as `viewer_id` may see it: from memory when it was just
/// sent (the fetch that follows a notification), else from the database.
pub async fn fetch(state: &AppState, viewer_id: i64, id: i64) -> Result<Message, AppError> {
    if let Some(message) = state.recent_messages.visible_to(viewer_id, id) {
        return Ok(message);
    }
    find_visible(&state.db, viewer_id, id).await
}

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::AppState;
use super::auth::SessionUser;
use super::entities::message;
use super::stream::{self, Batch, NewEvent, Written};
use crate::error::AppError;
use crate::wire::{EventBody, Message};

/// Replaces the body of `editor`'s own message `message_id`. Others get 403;
/// a message the editor cannot see, 404; a deleted one, 409. Both
/// participants get an `edited` event.
pub async fn edit(
    state: &AppState,
    editor: &SessionUser,
    message_id: i64,
    new_body: &str,
) -> Result<Message, AppError> {
    // Edits and deletions count as sends: each is a write and an event.
    state
        .limits
        .sends_per_user
        .check(&editor.id.to_string())
        .await?;
    let body = validated_body(new_body, state.settings.max_message_chars)?;
    let row = own_message(&state.db, editor, message_id).await?;
    if row.deleted_at.is_some() {
        return Err(deleted_conflict());
    }
    if row.body == body {
        return find_visible(&state.db, editor.id, message_id).await;
    }
    let names = participant_names(state, &row).await?;
    let (sender_id, recipient_id) = (row.sender_id, row.recipient_id);
    stream::commit_with_events(
        state,
        &[sender_id, recipient_id],
        &[],
        move |batch: &mut Batch| {
            Box::pin(async move {
                let edited = message::Entity::update_many()
                    .col_expr(message::Column::Body, Expr::value(body))
                    .col_expr(message::Column::EditedAt, Expr::value(super::now()))
                    .filter(message::Column::Id.eq(message_id))
                    // Deleted meanwhile (another tab): a tombstone stays one.
                    .filter(message::Column::DeletedAt.is_null())
                    .exec(batch.txn())
                    .await?;
                if edited.rows_affected == 0 {
                    return Err(deleted_conflict());
                }
                let events = names
                    .into_iter()
                    .map(|(user_id, with)| {
                        NewEvent::new(
                            user_id,
                            EventBody::Edited {
                                message: message_id,
                                with,
                            },
                        )
                    })
                    .collect();
                Ok(Written { value: (), events })
            })
        },
    )
    .await?;
    state.recent_messages.forget(message_id);
    find_visible(&state.db, editor.id, message_id).await
}

fn deleted_conflict() -> AppError {
    AppError::conflict("body", "This message was deleted; it cannot be edited.")
}

/// Deletes `deleter`'s own message `message_id`: it stays as a tombstone
/// (empty body), so ids, read pointers and previews stay valid. Deleting
/// twice is not an error. Both participants get a `deleted` event with their
/// unread count afterwards.
pub async fn delete(
    state: &AppState,
    deleter: &SessionUser,
    message_id: i64,
) -> Result<(), AppError> {
    state
        .limits
        .sends_per_user
        .check(&deleter.id.to_string())
        .await?;
    let row = own_message(&state.db, deleter, message_id).await?;
    if row.deleted_at.is_some() {
        return Ok(());
    }
    let names = participant_names(state, &row).await?;
    let (sender_id, recipient_id) = (row.sender_id, row.recipient_id);
    let outcome: Result<(), AppError> = stream::commit_with_events(
        state,
        &[sender_id, recipient_id],
        &[(sender_id, recipient_id), (recipient_id, sender_id)],
        move |batch: &mut Batch| {
            Box::pin(async move {
                let tombstoned = message::Entity::update_many()
                    .col_expr(message::Column::Body, Expr::value(String::new()))
                    .col_expr(message::Column::DeletedAt, Expr::value(super::now()))
                    .filter(message::Column::Id.eq(message_id))
                    .filter(message::Column::DeletedAt.is_null())
                    .exec(batch.txn())
                    .await?;
                // Another tab deleted it first: already done, nothing to announce.
                if tombstoned.rows_affected == 0 {
                    return Ok(Written {
                        value: (),
                        events: Vec::new(),
                    });
                }
                // Unread for the recipient until read: it counts no more.
                let theirs = batch.conversation(recipient_id, sender_id);
                if message_id > theirs.last_read_id && theirs.unread > 0 {
                    theirs.unread -= 1;
                    Batch::changed(theirs);
                }
                let mut events = Vec::with_capacity(2);
                for (user_id, with) in names {
                    let other_id = if user_id == sender_id {
                        recipient_id
                    } else {
                        sender_id
                    };
                    let unread = batch.conversation(user_id, other_id).unread;
                    events.push(NewEvent::new(
                        user_id,
                        EventBody::Deleted {
                            message: message_id,
                            with,
                            unread: u64::try_from(unread).unwrap_or(0),
                        },
                    ));
                }
                Ok(Written { value: (), events })
            })
        },
    )
    .await;
    // The observer forgets it too as the events go out; this covers the
    // window before they do.
    state.recent_messages.forget(message_id);
    outcome
}

/// The trimmed body, or the reason it is refused.
pub(super) fn validated_body(body: &str, max_chars: usize) -> Result<String, AppError> {
    // The limit counts what was sent (as the API documents it, `maxLength`),
    // the emptiness check what would be shown.
    let sent_chars = body.chars().count();
    let body = body.trim();
    if body.is_empty() {
        Err(AppError::invalid("body", "The message is empty."))
    } else if sent_chars > max_chars {
        Err(AppError::invalid(
            "body",
            format!("Messages are at most {max_chars} characters long."),
        ))
    } else {
        Ok(body.to_owned())
    }
}

/// The row of a message `user` may change: theirs (403 if only received, 404
/// if not theirs to see).
async fn own_message(
    db: &DatabaseConnection,
    user: &SessionUser,
    message_id: i64,
) -> Result<message::Model, AppError> {
    let row = message::Entity::find_by_id(message_id)
        .filter(history::involving(user.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.sender_id != user.id {
        return Err(AppError::Forbidden(
            "Only the sender can change a message.".to_owned(),
        ));
    }
    Ok(row)
}

/// Each participant's id, with the other participant's username.
async fn participant_names(
    state: &AppState,
    row: &message::Model,
) -> Result<[(i64, String); 2], AppError> {
    let name = async |id: i64| -> Result<String, AppError> {
        Ok(state
            .directory
            .by_id(id)
            .await?
            .ok_or(AppError::Internal)?
            .username
            .clone())
    };
    let sender_name = name(row.sender_id).await?;
    let recipient_name = name(row.recipient_id).await?;
    Ok([
        (row.sender_id, recipient_name),
        (row.recipient_id, sender_name),
    ])
}
