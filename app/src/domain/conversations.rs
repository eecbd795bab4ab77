//! Conversations: the list with unread counts, and read pointers.
//!
//! Each user has one row per person they talk to, holding the newest message
//! id and the user's read pointer (the last message id they read). Unread is
//! always computed from the pointer: the other person's messages after it
//! that are not deleted. Nothing counts up and down, so nothing drifts.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, Statement, TransactionTrait,
};

use super::auth::SessionUser;
use super::entities::{conversation, message};
use super::events::{self, NewEvent};
use super::{AppState, accounts};
use crate::error::AppError;
use crate::models::{Conversation, MessagePreview, Notification};

pub const DEFAULT_PAGE_SIZE: u64 = 30;
pub const MAX_PAGE_SIZE: u64 = 100;

/// One page of a user's conversations, as a snapshot at event `seq`.
#[derive(Debug)]
pub struct ConversationsPage {
    pub conversations: Vec<Conversation>,
    pub count: u64,
    pub seq: i64,
}

/// Records a new message in both participants' lists, inside the send's
/// transaction. Read pointers move only when someone reads (a reply does
/// not count as reading), so "seen" always means seen.
pub(crate) async fn record_message(
    txn: &impl ConnectionTrait,
    sender_id: i64,
    recipient_id: i64,
    message_id: i64,
) -> Result<(), DbErr> {
    for (user_id, other_id) in [(sender_id, recipient_id), (recipient_id, sender_id)] {
        conversation::Entity::insert(conversation::ActiveModel {
            user_id: Set(user_id),
            other_id: Set(other_id),
            last_message_id: Set(message_id),
            last_read_id: Set(0),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([conversation::Column::UserId, conversation::Column::OtherId])
                .update_column(conversation::Column::LastMessageId)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// `user_id`'s read pointer in the conversation with `other_id` (0: none).
pub(crate) async fn read_pointer(
    db: &impl ConnectionTrait,
    user_id: i64,
    other_id: i64,
) -> Result<i64, DbErr> {
    Ok(conversation::Entity::find()
        .filter(conversation::Column::UserId.eq(user_id))
        .filter(conversation::Column::OtherId.eq(other_id))
        .one(db)
        .await?
        .map_or(0, |row| row.last_read_id))
}

/// `user_id`'s unread count with `other_id`: the other's messages after the
/// read pointer, not deleted.
pub(crate) async fn unread(
    db: &impl ConnectionTrait,
    user_id: i64,
    other_id: i64,
) -> Result<u64, DbErr> {
    let pointer = read_pointer(db, user_id, other_id).await?;
    let unread = message::Entity::find()
        .filter(message::Column::PairLowId.eq(user_id.min(other_id)))
        .filter(message::Column::PairHighId.eq(user_id.max(other_id)))
        .filter(message::Column::SenderId.eq(other_id))
        .filter(message::Column::Id.gt(pointer))
        .filter(message::Column::DeletedAt.is_null());
    sea_orm::PaginatorTrait::count(unread, db).await
}

#[derive(Debug, FromQueryResult)]
struct ConversationRow {
    with_name: String,
    last_read_id: i64,
    last_message_id: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    body: String,
    deleted_at: Option<chrono::DateTime<chrono::Utc>>,
    sender_name: String,
    unread: i64,
    seen_up_to: Option<i64>,
}

/// A page of `viewer_id`'s conversations, most recent first, with unread
/// counts, and the event `seq` the page is a snapshot at (read in one
/// transaction, so applying events after `seq` brings it up to date).
pub async fn list(
    db: &DatabaseConnection,
    viewer_id: i64,
    page: u64,
    page_size: u64,
) -> Result<ConversationsPage, AppError> {
    let txn = db.begin().await?;
    let seq = events::latest_seq(&txn, viewer_id).await?;
    let count = sea_orm::PaginatorTrait::count(
        conversation::Entity::find().filter(conversation::Column::UserId.eq(viewer_id)),
        &txn,
    )
    .await?;
    let backend = txn.get_database_backend();
    // One query for the page: names, newest message, and each unread count
    // as a correlated count over the conversation's index range.
    let sql = "SELECT o.username AS with_name, c.last_read_id, c.last_message_id, \
                m.created_at, m.body, m.deleted_at, s.username AS sender_name, \
                (SELECT COUNT(*) FROM messages u \
                  WHERE u.pair_low_id = m.pair_low_id AND u.pair_high_id = m.pair_high_id \
                    AND u.sender_id = c.other_id AND u.id > c.last_read_id \
                    AND u.deleted_at IS NULL) AS unread, \
                CASE WHEN o.send_read_receipts THEN \
                  (SELECT oc.last_read_id FROM conversations oc \
                    WHERE oc.user_id = c.other_id AND oc.other_id = c.user_id) \
                END AS seen_up_to \
         FROM conversations c \
         JOIN users o ON o.id = c.other_id \
         JOIN messages m ON m.id = c.last_message_id \
         JOIN users s ON s.id = m.sender_id \
         WHERE c.user_id = ? \
         ORDER BY c.last_message_id DESC \
         LIMIT ? OFFSET ?";
    let offset = page.saturating_sub(1).saturating_mul(page_size);
    let rows = ConversationRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [
            viewer_id.into(),
            i64::try_from(page_size).unwrap_or(i64::MAX).into(),
            i64::try_from(offset).unwrap_or(i64::MAX).into(),
        ],
    ))
    .all(&txn)
    .await?;
    txn.commit().await?;
    Ok(ConversationsPage {
        conversations: rows.into_iter().map(Conversation::from).collect(),
        count,
        seq,
    })
}

impl From<ConversationRow> for Conversation {
    fn from(row: ConversationRow) -> Self {
        let deleted = row.deleted_at.is_some();
        Self {
            with: row.with_name,
            last_message: MessagePreview {
                id: row.last_message_id,
                user: row.sender_name,
                body: preview(&row.body),
                timestamp: row.created_at,
                deleted,
            },
            unread: u64::try_from(row.unread).unwrap_or(0),
            last_read_id: row.last_read_id,
            seen_up_to: row.seen_up_to,
        }
    }
}

pub use crate::models::preview;

/// Where a read left the reader's conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadState {
    pub with: String,
    pub last_read_id: i64,
    pub unread: u64,
}

/// Moves `reader`'s pointer in the conversation with `other_name` forward to
/// `last_read_id` (never back; never past the newest message). When it
/// moves, every tab of the reader gets a `read` event, and the other person
/// a `receipt` if the reader sends receipts.
pub async fn mark_read(
    state: &AppState,
    reader: &SessionUser,
    other_name: &str,
    last_read_id: i64,
) -> Result<ReadState, AppError> {
    if last_read_id < 0 {
        return Err(AppError::invalid(
            "last_read_id",
            "last_read_id is a message id: 0 or more.",
        ));
    }
    let other = accounts::find_by_username(&state.db, other_name)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = state.db.begin().await?;
    events::lock_streams(&txn, &[reader.id, other.id]).await?;
    let Some(row) = conversation::Entity::find()
        .filter(conversation::Column::UserId.eq(reader.id))
        .filter(conversation::Column::OtherId.eq(other.id))
        .one(&txn)
        .await?
    else {
        // No messages yet: nothing to read.
        txn.commit().await?;
        return Ok(ReadState {
            with: other.username,
            last_read_id: 0,
            unread: 0,
        });
    };
    let target = last_read_id.min(row.last_message_id);
    if target <= row.last_read_id {
        let unread = unread(&txn, reader.id, other.id).await?;
        txn.commit().await?;
        return Ok(ReadState {
            with: other.username,
            last_read_id: row.last_read_id,
            unread,
        });
    }
    conversation::Entity::update_many()
        .col_expr(
            conversation::Column::LastReadId,
            sea_orm::sea_query::Expr::value(target),
        )
        .filter(conversation::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    let unread = unread(&txn, reader.id, other.id).await?;
    let sends_receipts = accounts::find_active_by_id(&txn, reader.id)
        .await?
        .is_some_and(|user| user.send_read_receipts);
    let mut new_events = vec![NewEvent {
        user_id: reader.id,
        notification: Notification::Read {
            with: other.username.clone(),
            last_read_id: target,
            unread,
            seq: 0,
        },
        message_id: None,
    }];
    if sends_receipts {
        new_events.push(NewEvent {
            user_id: other.id,
            notification: Notification::Receipt {
                by: reader.username.clone(),
                last_read_id: target,
                seq: 0,
            },
            message_id: None,
        });
    }
    let deliveries = events::append(&txn, new_events).await?;
    txn.commit().await?;
    state.channels.publish(deliveries);
    Ok(ReadState {
        with: other.username,
        last_read_id: target,
        unread,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn previews_cut_long_bodies_at_a_character() {
        assert_eq!(super::preview("short"), "short");
        let long = "é".repeat(150);
        let cut = super::preview(&long);
        assert_eq!(cut.chars().count(), crate::models::PREVIEW_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
