//! The durable per-user event stream.
//!
//! Each event a user must see gets the next number of that user's sequence,
//! stored in the same transaction as its cause. The channel layer only says
//! "something new"; this table is the truth a reconnecting client replays.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::channel_layer::Delivery;
use super::entities::{event, user};
use crate::models::Notification;

/// The default for the most events a reconnecting client is replayed one by
/// one. Past this it is told to resync (reload what it shows) instead: one
/// reload is cheaper than ten thousand fetches.
pub const DEFAULT_REPLAY_LIMIT: u64 = 10_000;

/// Rows read per replay query, so a long replay never holds much in memory.
const REPLAY_BATCH: u64 = 500;

const MESSAGE: &str = "message";

/// Locks the event streams of `user_ids` for the rest of the transaction,
/// lowest id first. Call it first thing in any transaction that appends
/// events: writers touching the same users then queue instead of
/// deadlocking. (On MySQL, inserting a message first would take shared locks
/// on both users' rows for the foreign keys, and two such transactions would
/// each wait for the other to give its shared lock up.)
pub(crate) async fn lock_streams(
    txn: &impl ConnectionTrait,
    user_ids: &[i64],
) -> Result<(), DbErr> {
    let mut user_ids = user_ids.to_vec();
    user_ids.sort_unstable();
    user_ids.dedup();
    for user_id in user_ids {
        // A no-op write: it takes the row lock (InnoDB) or the write lock (SQLite).
        user::Entity::update_many()
            .col_expr(
                user::Column::LastEventSeq,
                Expr::col(user::Column::LastEventSeq).add(0),
            )
            .filter(user::Column::Id.eq(user_id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Appends a `message` event to each user's stream, inside the caller's
/// transaction, which holds [`lock_streams`] for them. Sequence numbers are
/// claimed by incrementing each user's counter row.
pub(crate) async fn append_message(
    txn: &impl ConnectionTrait,
    message_id: i64,
    mut user_ids: Vec<i64>,
) -> Result<Vec<Delivery>, DbErr> {
    user_ids.sort_unstable();
    user_ids.dedup();
    user::Entity::update_many()
        .col_expr(
            user::Column::LastEventSeq,
            Expr::col(user::Column::LastEventSeq).add(1),
        )
        .filter(user::Column::Id.is_in(user_ids.clone()))
        .exec(txn)
        .await?;
    let seqs: Vec<(i64, i64)> = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::LastEventSeq])
        .filter(user::Column::Id.is_in(user_ids))
        .into_tuple()
        .all(txn)
        .await?;
    let created_at = super::now();
    let rows = seqs.iter().map(|&(user_id, seq)| event::ActiveModel {
        user_id: Set(user_id),
        seq: Set(seq),
        kind: Set(MESSAGE.to_owned()),
        message_id: Set(Some(message_id)),
        created_at: Set(created_at),
        ..Default::default()
    });
    event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(seqs
        .into_iter()
        .map(|(user_id, seq)| Delivery {
            user_id,
            notification: Notification::Message {
                message: message_id.to_string(),
                seq,
            },
        })
        .collect())
}

/// The stored `message` events of `message_id`, to publish again.
pub(crate) async fn message_deliveries(
    db: &impl ConnectionTrait,
    message_id: i64,
) -> Result<Vec<Delivery>, DbErr> {
    let rows: Vec<(i64, i64)> = event::Entity::find()
        .select_only()
        .columns([event::Column::UserId, event::Column::Seq])
        .filter(event::Column::MessageId.eq(message_id))
        .filter(event::Column::Kind.eq(MESSAGE))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, seq)| Delivery {
            user_id,
            notification: Notification::Message {
                message: message_id.to_string(),
                seq,
            },
        })
        .collect())
}

/// The sequence number of `user_id`'s latest event (0 if none).
pub async fn latest_seq(db: &impl ConnectionTrait, user_id: i64) -> Result<i64, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::LastEventSeq)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// How many of `user_id`'s events come after `since`, counting no further
/// than `limit + 1` (enough to tell "over the limit").
pub async fn count_after(
    db: &impl ConnectionTrait,
    user_id: i64,
    since: i64,
    limit: u64,
) -> Result<u64, DbErr> {
    let latest = latest_seq(db, user_id).await?;
    // Sequence numbers have no gaps, so the count is a subtraction.
    let behind = u64::try_from(latest.saturating_sub(since)).unwrap_or(0);
    Ok(Ord::min(behind, limit + 1))
}

/// One batch of replayed events.
#[derive(Debug, Default)]
pub struct ReplayBatch {
    pub notifications: Vec<Notification>,
    /// The highest sequence number read; `None` when there was nothing left.
    pub through: Option<i64>,
}

/// Up to one batch of `user_id`'s events after `since`, oldest first.
pub async fn batch_after(
    db: &impl ConnectionTrait,
    user_id: i64,
    since: i64,
) -> Result<ReplayBatch, DbErr> {
    let rows: Vec<(i64, String, Option<i64>)> = event::Entity::find()
        .select_only()
        .columns([
            event::Column::Seq,
            event::Column::Kind,
            event::Column::MessageId,
        ])
        .filter(event::Column::UserId.eq(user_id))
        .filter(event::Column::Seq.gt(since))
        .order_by_asc(event::Column::Seq)
        .limit(REPLAY_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    let through = rows.last().map(|(seq, _, _)| *seq);
    let notifications = rows
        .into_iter()
        .filter_map(
            |(seq, kind, message_id)| match (kind.as_str(), message_id) {
                (MESSAGE, Some(id)) => Some(Notification::Message {
                    message: id.to_string(),
                    seq,
                }),
                // A kind this version does not know (written by a newer node):
                // skip it rather than stall the stream.
                _ => None,
            },
        )
        .collect();
    Ok(ReplayBatch {
        notifications,
        through,
    })
}
