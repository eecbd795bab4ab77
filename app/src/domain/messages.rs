//! Messages: sending (with its rules), reading one, and paging through history.

use sea_orm::sea_query::Alias;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    FromQueryResult, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    Select, SqlErr, TransactionTrait,
};

use super::auth::SessionUser;
use super::entities::{message, user};
use super::events::NewEvent;
use super::{AppState, accounts, conversations, events};
use crate::error::{AppError, FieldErrors};
use crate::models::{Message, NewMessage, Notification};

/// Which page of a message list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Page `n` (from 1) of newest-first results.
    Page(u64),
    /// The messages just older than this id: keyset paging, no OFFSET cost.
    Before(i64),
}

/// One page of messages, newest first.
#[derive(Debug)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// All messages in the list, across pages.
    pub count: u64,
    /// Whether older messages exist beyond this page.
    pub has_older: bool,
}

const CLIENT_ID_FORMAT: &str =
    "client_id must be a UUID, such as 0b7c7c2e-3f0a-4d36-9d55-5d1c3b1f2a9e.";

/// What [`send`] did.
#[derive(Debug)]
pub struct Sent {
    pub message: Message,
    /// False when a retry (same `client_id`) found the message already stored.
    pub created: bool,
}

/// Validates and stores a message and its events, then notifies both
/// participants. The notification goes out only after the transaction has
/// committed, so a client that fetches the id at once always finds it.
///
/// With a `client_id`, sending is idempotent: a retry returns the stored
/// message and creates nothing, even when two retries race.
pub async fn send(
    state: &AppState,
    sender: &SessionUser,
    new_message: NewMessage,
) -> Result<Sent, AppError> {
    let recipient_name = new_message.recipient.trim();
    let mut errors = FieldErrors::new();
    let body = match validated_body(&new_message.body, state.settings.max_message_chars) {
        Ok(body) => body,
        Err(AppError::Validation(problems)) => {
            errors.extend(problems);
            String::new()
        }
        Err(other) => return Err(other),
    };
    let body = body.as_str();
    let client_id = new_message
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .and_then(|text| {
            let parsed = uuid::Uuid::parse_str(text).ok();
            if parsed.is_none() {
                errors.insert("client_id".into(), vec![CLIENT_ID_FORMAT.into()]);
            }
            parsed.map(|id| id.hyphenated().to_string())
        });
    let recipient = if recipient_name.is_empty() {
        None
    } else {
        accounts::find_by_username(&state.db, recipient_name)
            .await?
            .filter(|user| user.is_active)
    };
    match &recipient {
        None => {
            errors.insert("recipient".into(), vec!["No such user.".into()]);
        }
        Some(recipient) if recipient.id == sender.id => {
            errors.insert(
                "recipient".into(),
                vec!["You cannot send a message to yourself.".into()],
            );
        }
        Some(_) => {}
    }
    let Some(recipient) = recipient.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };

    if let Some(client_id) = &client_id
        && let Some(first) = find_sent_with_client_id(&state.db, sender.id, client_id).await?
    {
        return replayed(state, first, recipient.id, body).await;
    }

    let txn = state.db.begin().await?;
    events::lock_streams(&txn, &[sender.id, recipient.id]).await?;
    let inserted = message::ActiveModel {
        sender_id: Set(sender.id),
        recipient_id: Set(recipient.id),
        pair_low_id: Set(sender.id.min(recipient.id)),
        pair_high_id: Set(sender.id.max(recipient.id)),
        created_at: Set(super::now()),
        body: Set(body.to_owned()),
        client_id: Set(client_id.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let stored = match (inserted, &client_id) {
        (Ok(stored), _) => stored,
        // Another attempt with the same client id won the race: answer with it.
        (Err(error), Some(client_id))
            if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
        {
            txn.rollback().await?;
            let first = find_sent_with_client_id(&state.db, sender.id, client_id)
                .await?
                .ok_or(AppError::Internal)?;
            return replayed(state, first, recipient.id, body).await;
        }
        (Err(error), _) => return Err(error.into()),
    };
    conversations::record_message(&txn, sender.id, recipient.id, stored.id).await?;
    let mut new_events = Vec::with_capacity(2);
    for (user_id, with) in [
        (sender.id, &recipient.username),
        (recipient.id, &sender.username),
    ] {
        let other_id = if user_id == sender.id {
            recipient.id
        } else {
            sender.id
        };
        new_events.push(NewEvent {
            user_id,
            notification: Notification::Message {
                message: stored.id.to_string(),
                seq: 0,
                with: Some(with.clone()),
                unread: Some(conversations::unread(&txn, user_id, other_id).await?),
            },
            message_id: Some(stored.id),
        });
    }
    let deliveries = events::append(&txn, new_events).await?;
    txn.commit().await?;

    state.channels.publish(deliveries);
    Ok(Sent {
        message: Message {
            id: stored.id,
            user: sender.username.clone(),
            recipient: recipient.username,
            timestamp: stored.created_at,
            body: stored.body,
            client_id: stored.client_id,
            edited_at: None,
            deleted: false,
        },
        created: true,
    })
}

async fn find_sent_with_client_id(
    db: &DatabaseConnection,
    sender_id: i64,
    client_id: &str,
) -> Result<Option<(message::Model, Message)>, AppError> {
    let Some(row) = message::Entity::find()
        .filter(message::Column::SenderId.eq(sender_id))
        .filter(message::Column::ClientId.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let message = find_visible(db, sender_id, row.id).await?;
    Ok(Some((row, message)))
}

/// A retry must be the same message; reusing a client id for another is a bug
/// in the client, and silently answering with the old message would hide it.
///
/// The first attempt's notifications are published again: if its node died
/// between the commit and the publish, this is the only signal the other
/// connections get (they drop it if they already had it).
async fn replayed(
    state: &AppState,
    (first, message): (message::Model, Message),
    recipient_id: i64,
    body: &str,
) -> Result<Sent, AppError> {
    if first.recipient_id == recipient_id && first.body == body {
        let deliveries = events::message_deliveries(&state.db, first.id).await?;
        state.channels.publish(deliveries);
        Ok(Sent {
            message,
            created: false,
        })
    } else {
        Err(AppError::conflict(
            "client_id",
            "This client_id was already used for a different message.",
        ))
    }
}

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
    if row.deleted_at.is_some() {
        return Err(AppError::conflict(
            "body",
            "This message was deleted; it cannot be edited.",
        ));
    }
    if row.body == body {
        return find_visible(&state.db, editor.id, message_id).await;
    }
    let txn = state.db.begin().await?;
    events::lock_streams(&txn, &[row.sender_id, row.recipient_id]).await?;
    let edited = message::Entity::update_many()
        .col_expr(message::Column::Body, sea_orm::sea_query::Expr::value(body))
        .col_expr(
            message::Column::EditedAt,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(message::Column::Id.eq(message_id))
        // Deleted meanwhile (another tab): a tombstone stays one.
        .filter(message::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if edited.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::conflict(
            "body",
            "This message was deleted; it cannot be edited.",
        ));
    }
    let names = participant_names(&txn, &row).await?;
    let new_events = names
        .into_iter()
        .map(|(user_id, with)| NewEvent {
            user_id,
            notification: Notification::Edited {
                message: message_id.to_string(),
                with,
                seq: 0,
            },
            message_id: Some(message_id),
        })
        .collect();
    let deliveries = events::append(&txn, new_events).await?;
    txn.commit().await?;
    state.channels.publish(deliveries);
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
    let txn = state.db.begin().await?;
    events::lock_streams(&txn, &[row.sender_id, row.recipient_id]).await?;
    let tombstoned = message::Entity::update_many()
        .col_expr(
            message::Column::Body,
            sea_orm::sea_query::Expr::value(String::new()),
        )
        .col_expr(
            message::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(super::now()),
        )
        .filter(message::Column::Id.eq(message_id))
        .filter(message::Column::DeletedAt.is_null())
        .exec(&txn)
        .await?;
    if tombstoned.rows_affected == 0 {
        // Another tab deleted it first: already done, nothing to announce.
        txn.rollback().await?;
        return Ok(());
    }
    let mut new_events = Vec::with_capacity(2);
    for (user_id, with) in participant_names(&txn, &row).await? {
        let other_id = if user_id == row.sender_id {
            row.recipient_id
        } else {
            row.sender_id
        };
        new_events.push(NewEvent {
            user_id,
            notification: Notification::Deleted {
                message: message_id.to_string(),
                with,
                unread: conversations::unread(&txn, user_id, other_id).await?,
                seq: 0,
            },
            message_id: Some(message_id),
        });
    }
    let deliveries = events::append(&txn, new_events).await?;
    txn.commit().await?;
    state.channels.publish(deliveries);
    Ok(())
}

/// The trimmed body, or the reason it is refused.
fn validated_body(body: &str, max_chars: usize) -> Result<String, AppError> {
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
        .filter(involving(user.id))
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
    db: &impl sea_orm::ConnectionTrait,
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

/// A message the viewer sent or received. Anyone else gets `NotFound`, exactly
/// as for an id that does not exist, so ids reveal nothing.
pub async fn find_visible(
    db: &DatabaseConnection,
    viewer_id: i64,
    message_id: i64,
) -> Result<Message, AppError> {
    with_usernames(message::Entity::find_by_id(message_id).filter(involving(viewer_id)))
        .into_model::<MessageRow>()
        .one(db)
        .await?
        .map(Message::from)
        .ok_or(AppError::NotFound)
}

/// A page of the viewer's messages, newest first: the conversation with
/// `other_username`, or, without one, everything the viewer sent or received.
pub async fn list(
    db: &DatabaseConnection,
    viewer_id: i64,
    other_username: Option<&str>,
    cursor: Cursor,
    per_page: u64,
) -> Result<MessagePage, AppError> {
    let scope = match other_username {
        Some(name) => {
            let other = accounts::find_by_username(db, name)
                .await?
                .ok_or_else(|| AppError::invalid("target", "No such user."))?;
            Condition::all()
                .add(message::Column::PairLowId.eq(viewer_id.min(other.id)))
                .add(message::Column::PairHighId.eq(viewer_id.max(other.id)))
        }
        None => involving(viewer_id),
    };
    let count = message::Entity::find()
        .filter(scope.clone())
        .count(db)
        .await?;

    let mut query = message::Entity::find()
        .filter(scope)
        .order_by_desc(message::Column::Id);
    query = match cursor {
        Cursor::Page(page) => query.offset(page.saturating_sub(1).saturating_mul(per_page)),
        Cursor::Before(id) => query.filter(message::Column::Id.lt(id)),
    };
    // One extra row tells whether there is an older page.
    let mut rows = with_usernames(query.limit(per_page + 1))
        .into_model::<MessageRow>()
        .all(db)
        .await?;
    let has_older = rows.len() as u64 > per_page;
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok(MessagePage {
        messages: rows.into_iter().map(Message::from).collect(),
        count,
        has_older,
    })
}

fn involving(user_id: i64) -> Condition {
    Condition::any()
        .add(message::Column::SenderId.eq(user_id))
        .add(message::Column::RecipientId.eq(user_id))
}

/// Joins both users' names in, so a page is one query, not one per row.
fn with_usernames(query: Select<message::Entity>) -> Select<message::Entity> {
    query
        .select_only()
        .columns([
            message::Column::Id,
            message::Column::CreatedAt,
            message::Column::Body,
            message::Column::ClientId,
            message::Column::EditedAt,
            message::Column::DeletedAt,
        ])
        .join_as(
            JoinType::InnerJoin,
            message::Relation::Sender.def(),
            Alias::new("sender"),
        )
        .join_as(
            JoinType::InnerJoin,
            message::Relation::Recipient.def(),
            Alias::new("recipient"),
        )
        .tbl_col_as(
            (Alias::new("sender"), user::Column::Username),
            "sender_username",
        )
        .tbl_col_as(
            (Alias::new("recipient"), user::Column::Username),
            "recipient_username",
        )
}

#[derive(Debug, FromQueryResult)]
struct MessageRow {
    id: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    body: String,
    client_id: Option<String>,
    edited_at: Option<chrono::DateTime<chrono::Utc>>,
    deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    sender_username: String,
    recipient_username: String,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            user: row.sender_username,
            recipient: row.recipient_username,
            timestamp: row.created_at,
            body: row.body,
            client_id: row.client_id,
            edited_at: row.edited_at,
            deleted: row.deleted_at.is_some(),
        }
    }
}
