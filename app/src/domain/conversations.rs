//! Conversations: the list with unread counts, and read pointers.
//!
//! Each user has one row per person they talk to, holding the newest message
//! id, the user's read pointer (the last message id they read) and the unread
//! count: by definition the other person's messages after the pointer that
//! are not deleted. Every write that changes it (a new message, a deletion, a
//! read) keeps it in the same transaction, so neither a send nor the list
//! ever counts messages; the property test checks it against the definition.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QuerySelect, Statement, TransactionTrait,
};

use super::AppState;
use super::auth::SessionUser;
use super::entities::{message, user};
use super::paging::{Listing, PageRequest, Snapshot, link};
use super::stream::{self, Batch, NewEvent, Written};
use crate::error::AppError;
use crate::wire::{Conversation, EventBody, MessagePreview, Page, ReadState};

pub const DEFAULT_PAGE_SIZE: u64 = 30;
pub const MAX_PAGE_SIZE: u64 = 100;

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
    // The stream's position and the count the writer keeps, in one row:
    // nothing counted here grows with the number of conversations.
    let (seq, count): (i64, i64) = user::Entity::find_by_id(viewer_id)
        .select_only()
        .columns([user::Column::LastEventSeq, user::Column::ConversationCount])
        .into_tuple()
        .one(&txn)
        .await?
        .unwrap_or_default();
    let total = u64::try_from(count).unwrap_or(0);
    let backend = txn.get_database_backend();
    // One query for the page: names, newest message, the kept unread count
    // and the other side's pointer; nothing here grows with history.
    let sql = "SELECT o.username AS with_name, c.last_read_id, c.last_message_id, \
                m.created_at, m.body, m.deleted_at, s.username AS sender_name, c.unread, \
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
    let other = state
        .directory
        .by_name(other_name)
        .await?
        .ok_or(AppError::NotFound)?;
    let (reader_id, reader_name) = (reader.id, reader.username.clone());
    let (other_id, other_name) = (other.id, other.username.clone());
    stream::commit_with_events(
        state,
        &[reader_id, other_id],
        &[(reader_id, other_id)],
        move |batch: &mut Batch| {
            Box::pin(async move {
                let read_state = |last_read_id, unread: i64| ReadState {
                    with: other_name.clone(),
                    last_read_id,
                    unread: u64::try_from(unread).unwrap_or(0),
                };
                let current = batch.conversation(reader_id, other_id).clone();
                // No messages yet: nothing to read.
                if !current.exists {
                    return Ok(Written {
                        value: read_state(0, 0),
                        events: Vec::new(),
                    });
                }
                let target = last_read_id.min(current.last_message_id);
                if target <= current.last_read_id {
                    return Ok(Written {
                        value: read_state(current.last_read_id, current.unread),
                        events: Vec::new(),
                    });
                }
                // Read to the newest message: nothing left. Part of the way:
                // what was unread, less what was just read.
                let unread = if target == current.last_message_id {
                    0
                } else {
                    let newly_read = unread_between(
                        batch.txn(),
                        reader_id,
                        other_id,
                        current.last_read_id,
                        target,
                    )
                    .await?;
                    (current.unread - newly_read).max(0)
                };
                let sends_receipts = user::Entity::find_by_id(reader_id)
                    .select_only()
                    .column(user::Column::SendReadReceipts)
                    .into_tuple::<bool>()
                    .one(batch.txn())
                    .await?
                    .unwrap_or(false);
                let state = batch.conversation(reader_id, other_id);
                state.last_read_id = target;
                state.unread = unread;
                Batch::changed(state);
                let mut events = vec![NewEvent::new(
                    reader_id,
                    EventBody::Read {
                        with: other_name.clone(),
                        last_read_id: target,
                        unread: u64::try_from(unread).unwrap_or(0),
                    },
                )];
                if sends_receipts {
                    events.push(NewEvent::new(
                        other_id,
                        EventBody::Receipt {
                            by: reader_name,
                            last_read_id: target,
                        },
                    ));
                }
                Ok(Written {
                    value: read_state(target, unread),
                    events,
                })
            })
        },
    )
    .await
}

/// The other person's messages in `(after, up_to]` that are not deleted: what
/// a read part of the way takes off the unread count (it costs what was read,
/// never the whole history).
async fn unread_between(
    txn: &impl ConnectionTrait,
    reader_id: i64,
    other_id: i64,
    after: i64,
    up_to: i64,
) -> Result<i64, DbErr> {
    let count = message::Entity::find()
        .filter(message::Column::PairLowId.eq(reader_id.min(other_id)))
        .filter(message::Column::PairHighId.eq(reader_id.max(other_id)))
        .filter(message::Column::SenderId.eq(other_id))
        .filter(message::Column::Id.gt(after))
        .filter(message::Column::Id.lte(up_to))
        .filter(message::Column::DeletedAt.is_null())
        .count(txn)
        .await?;
    Ok(i64::try_from(count).unwrap_or(i64::MAX))
}
