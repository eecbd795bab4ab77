//! Messages: sending (with its rules), editing and deleting one's own,
//! reading one, and paging through history.

mod history;
mod send;

pub use history::{Cursor, find_visible, into_page, list};
pub use send::{Sent, send};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::auth::SessionUser;
use super::entities::{message, user};
use super::stream::{self, NewEvent, Written};
use super::{AppState, conversations};
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
    let body = validated_body(new_body, state.settings.max_message_chars)?;
    let row = own_message(&state.db, editor, message_id).await?;
    let deleted = || AppError::conflict("body", "This message was deleted; it cannot be edited.");
    if row.deleted_at.is_some() {
        return Err(deleted());
    }
    if row.body == body {
        return find_visible(&state.db, editor.id, message_id).await;
    }
    stream::commit_with_events(
        state,
        &[row.sender_id, row.recipient_id],
        async |txn| -> Result<Written<()>, AppError> {
            let edited = message::Entity::update_many()
                .col_expr(message::Column::Body, Expr::value(body))
                .col_expr(message::Column::EditedAt, Expr::value(super::now()))
                .filter(message::Column::Id.eq(message_id))
                // Deleted meanwhile (another tab): a tombstone stays one.
                .filter(message::Column::DeletedAt.is_null())
                .exec(txn)
                .await?;
            if edited.rows_affected == 0 {
                return Err(deleted());
            }
            let events = participant_names(txn, &row)
                .await?
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
        },
    )
    .await?;
    find_visible(&state.db, editor.id, message_id).await
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
    let row = own_message(&state.db, deleter, message_id).await?;
    if row.deleted_at.is_some() {
        return Ok(());
    }
    stream::commit_with_events(
        state,
        &[row.sender_id, row.recipient_id],
        async |txn| -> Result<Written<()>, AppError> {
            let tombstoned = message::Entity::update_many()
                .col_expr(message::Column::Body, Expr::value(String::new()))
                .col_expr(message::Column::DeletedAt, Expr::value(super::now()))
                .filter(message::Column::Id.eq(message_id))
                .filter(message::Column::DeletedAt.is_null())
                .exec(txn)
                .await?;
            // Another tab deleted it first: already done, nothing to announce.
            if tombstoned.rows_affected == 0 {
                return Ok(Written {
                    value: (),
                    events: Vec::new(),
                });
            }
            let mut events = Vec::with_capacity(2);
            for (user_id, with) in participant_names(txn, &row).await? {
                let other_id = if user_id == row.sender_id {
                    row.recipient_id
                } else {
                    row.sender_id
                };
                events.push(NewEvent::new(
                    user_id,
                    EventBody::Deleted {
                        message: message_id,
                        with,
                        unread: conversations::unread(txn, user_id, other_id).await?,
                    },
                ));
            }
            Ok(Written { value: (), events })
        },
    )
    .await
}

/// The trimmed body, or the reason it is refused.
pub(super) fn validated_body(body: &str, max_chars: usize) -> Result<String, AppError> {
    let body = body.trim();
    if body.is_empty() {
        Err(AppError::invalid("body", "The message is empty."))
    } else if body.chars().count() > max_chars {
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
    db: &impl ConnectionTrait,
    row: &message::Model,
) -> Result<[(i64, String); 2], AppError> {
    let name = async |id: i64| -> Result<String, AppError> {
        Ok(user::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(AppError::Internal)?
            .username)
    };
    let sender_name = name(row.sender_id).await?;
    let recipient_name = name(row.recipient_id).await?;
    Ok([
        (row.sender_id, recipient_name),
        (row.recipient_id, sender_name),
    ])
}
