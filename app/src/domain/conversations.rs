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
use super::paging::{Listing, PageRequest, Snapshot, link};
use super::stream::{self, NewEvent, Written};
use super::{AppState, accounts};
use crate::error::AppError;
use crate::wire::{Conversation, EventBody, MessagePreview, Page, ReadState};

pub const DEFAULT_PAGE_SIZE: u64 = 30;
pub const MAX_PAGE_SIZE: u64 = 100;

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
/// counts, as a snapshot at the event `seq` it was read at (one transaction,
/// so applying the events after `seq` brings it up to date).
pub async fn list(
    db: &DatabaseConnection,
    viewer_id: i64,
    request: PageRequest,
) -> Result<Snapshot<Listing<Conversation>>, AppError> {
    let txn = db.begin().await?;
    let seq = stream::latest_seq(&txn, viewer_id).await?;
    let total = sea_orm::PaginatorTrait::count(
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
    let rows = ConversationRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [
            viewer_id.into(),
            i64::try_from(request.size).unwrap_or(i64::MAX).into(),
            i64::try_from(request.offset()).unwrap_or(i64::MAX).into(),
        ],
    ))
    .all(&txn)
    .await?;
    txn.commit().await?;
    Ok(Snapshot {
        value: Listing {
            has_more: request.offset().saturating_add(request.size) < total,
            items: rows.into_iter().map(Conversation::from).collect(),
            total,
        },
        seq,
    })
}

/// A snapshot of conversations as the wire page, with its `seq` and links
/// (carrying `page_size` when the request gave one).
pub fn into_page(
    snapshot: Snapshot<Listing<Conversation>>,
    request: PageRequest,
    page_size: Option<u64>,
) -> Result<Page<Conversation>, AppError> {
    let page = snapshot.value.into_numbered_page(request, |number| {
        link(
            "/api/v1/conversation/",
            &[
                ("page", Some(number.to_string())),
                ("page_size", page_size.map(|size| size.to_string())),
            ],
        )
    })?;
    Ok(Page {
        seq: Some(snapshot.seq),
        ..page
    })
}

impl From<ConversationRow> for Conversation {
    fn from(row: ConversationRow) -> Self {
        let deleted = row.deleted_at.is_some();
        let (body, truncated) = crate::wire::preview(&row.body);
        Self {
            with: row.with_name,
            last_message: MessagePreview {
                id: row.last_message_id,
                user: row.sender_name,
                body,
                truncated,
                timestamp: row.created_at,
                deleted,
            },
            unread: u64::try_from(row.unread).unwrap_or(0),
            last_read_id: row.last_read_id,
            seen_up_to: row.seen_up_to,
        }
    }
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
    stream::commit_with_events(
        state,
        &[reader.id, other.id],
        async |txn| -> Result<Written<ReadState>, AppError> {
            let unchanged = |last_read_id, unread| Written {
                value: ReadState {
                    with: other.username.clone(),
                    last_read_id,
                    unread,
                },
                events: Vec::new(),
            };
            let Some(row) = conversation::Entity::find()
                .filter(conversation::Column::UserId.eq(reader.id))
                .filter(conversation::Column::OtherId.eq(other.id))
                .one(txn)
                .await?
            else {
                // No messages yet: nothing to read.
                return Ok(unchanged(0, 0));
            };
            let target = last_read_id.min(row.last_message_id);
            if target <= row.last_read_id {
                return Ok(unchanged(
                    row.last_read_id,
                    unread(txn, reader.id, other.id).await?,
                ));
            }
            conversation::Entity::update_many()
                .col_expr(
                    conversation::Column::LastReadId,
                    sea_orm::sea_query::Expr::value(target),
                )
                .filter(conversation::Column::Id.eq(row.id))
                .exec(txn)
                .await?;
            let unread = unread(txn, reader.id, other.id).await?;
            let sends_receipts = accounts::find_active_by_id(txn, reader.id)
                .await?
                .is_some_and(|user| user.send_read_receipts);
            let mut events = vec![NewEvent::new(
                reader.id,
                EventBody::Read {
                    with: other.username.clone(),
                    last_read_id: target,
                    unread,
                },
            )];
            if sends_receipts {
                events.push(NewEvent::new(
                    other.id,
                    EventBody::Receipt {
                        by: reader.username.clone(),
                        last_read_id: target,
                    },
                ));
            }
            Ok(Written {
                value: ReadState {
                    with: other.username.clone(),
                    last_read_id: target,
                    unread,
                },
                events,
            })
        },
    )
    .await
}
