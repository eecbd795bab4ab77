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

/// An event to append to one user's stream.
#[derive(Debug)]
pub(crate) struct NewEvent {
    pub user_id: i64,
    /// The event; its `seq` is assigned when appended.
    pub notification: Notification,
    /// The message it is about, if any (deleting the message deletes it).
    pub message_id: Option<i64>,
}

/// Locks the event streams of `user_ids` for the rest of the transaction,
/// lowest id first. Call it first thing in any transaction that appends
/// events: writers touching the same users then queue instead of
/// deadlocking, and reads made after it (unread counts) see every earlier
/// writer's commit. (On MySQL, inserting a message first would take shared
/// locks on both users' rows for the foreign keys, and two such transactions
/// would each wait for the other to give its shared lock up.)
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

/// Appends `events` inside the caller's transaction (which must hold
/// [`lock_streams`] for their users), numbering each user's events after
/// their latest. Returns what to publish once the transaction commits.
pub(crate) async fn append(
    txn: &impl ConnectionTrait,
    events: Vec<NewEvent>,
) -> Result<Vec<Delivery>, DbErr> {
    let created_at = super::now();
    let mut deliveries = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        user::Entity::update_many()
            .col_expr(
                user::Column::LastEventSeq,
                Expr::col(user::Column::LastEventSeq).add(1),
            )
            .filter(user::Column::Id.eq(event.user_id))
            .exec(txn)
            .await?;
        let seq = latest_seq(txn, event.user_id).await?;
        let notification = event.notification.at(seq);
        let data = serde_json::to_string(&notification)
            .map_err(|error| DbErr::Custom(format!("cannot encode an event: {error}")))?;
        rows.push(event::ActiveModel {
            user_id: Set(event.user_id),
            seq: Set(seq),
            kind: Set(notification.kind().to_owned()),
            message_id: Set(event.message_id),
            created_at: Set(created_at),
            data: Set(Some(data)),
            ..Default::default()
        });
        deliveries.push(Delivery {
            user_id: event.user_id,
            notification,
        });
    }
    if !rows.is_empty() {
        event::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(deliveries)
}

/// The stored `message` events of `message_id`, to publish again.
pub(crate) async fn message_deliveries(
    db: &impl ConnectionTrait,
    message_id: i64,
) -> Result<Vec<Delivery>, DbErr> {
    let rows: Vec<(i64, i64, Option<String>)> = event::Entity::find()
        .select_only()
        .columns([
            event::Column::UserId,
            event::Column::Seq,
            event::Column::Data,
        ])
        .filter(event::Column::MessageId.eq(message_id))
        .filter(event::Column::Kind.eq(MESSAGE))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, seq, data)| Delivery {
            user_id,
            notification: decode(data.as_deref(), MESSAGE, Some(message_id), seq).unwrap_or(
                Notification::Message {
                    message: message_id.to_string(),
                    seq,
                    with: None,
                    unread: None,
                },
            ),
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
    let rows: Vec<(i64, String, Option<i64>, Option<String>)> = event::Entity::find()
        .select_only()
        .columns([
            event::Column::Seq,
            event::Column::Kind,
            event::Column::MessageId,
            event::Column::Data,
        ])
        .filter(event::Column::UserId.eq(user_id))
        .filter(event::Column::Seq.gt(since))
        .order_by_asc(event::Column::Seq)
        .limit(REPLAY_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    let through = rows.last().map(|(seq, ..)| *seq);
    let notifications = rows
        .into_iter()
        .filter_map(|(seq, kind, message_id, data)| decode(data.as_deref(), &kind, message_id, seq))
        .collect();
    Ok(ReplayBatch {
        notifications,
        through,
    })
}

/// A stored event as the frame to send. A kind this version does not know
/// (written by a newer node) decodes to `None`: skipped rather than stalling
/// the stream.
fn decode(
    data: Option<&str>,
    kind: &str,
    message_id: Option<i64>,
    seq: i64,
) -> Option<Notification> {
    match (data, kind, message_id) {
        (Some(data), _, _) => serde_json::from_str::<Notification>(data)
            .ok()
            .map(|notification| notification.at(seq)),
        // Written before events carried their data.
        (None, MESSAGE, Some(id)) => Some(Notification::Message {
            message: id.to_string(),
            seq,
            with: None,
            unread: None,
        }),
        (None, _, _) => None,
    }
}
