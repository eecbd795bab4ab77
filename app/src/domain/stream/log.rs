//! The `events` table: appending to each user's stream and reading it back.
//!
//! Each event a user must see gets the next number of that user's sequence
//! (`users.last_event_seq`), stored in the same transaction as its cause. The
//! channel layer only says "something new"; this table is the truth a
//! reconnecting client replays.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Deserialize;

use crate::domain::channel_layer::Delivery;
use crate::domain::entities::{event, user};
use crate::wire::{Event, EventBody, Seq};

/// The default for the most events a reconnecting client is replayed one by
/// one. Past this it is told to resync (reload what it shows) instead: one
/// reload is cheaper than ten thousand fetches.
pub const DEFAULT_REPLAY_LIMIT: u64 = 10_000;

/// Rows read per replay query, so a long replay never holds much in memory.
const REPLAY_BATCH: u64 = 500;

/// An event to append to one user's stream; its `seq` is assigned when it
/// is appended.
#[derive(Debug)]
pub struct NewEvent {
    pub user_id: i64,
    pub body: EventBody,
    /// The message it is about, if any (deleting the message deletes it).
    pub message_id: Option<i64>,
}

impl NewEvent {
    pub fn new(user_id: i64, body: EventBody) -> Self {
        let message_id = body.message_id();
        Self {
            user_id,
            body,
            message_id,
        }
    }
}

/// Appends `events` inside the writer's transaction, numbering each user's
/// after `latest` (their latest `seq`, read when the batch locked their
/// streams), and moves each user's counter on, in one statement per table.
/// Returns what to publish once the transaction commits.
pub(super) async fn append(
    txn: &impl ConnectionTrait,
    latest: BTreeMap<i64, Seq>,
    events: Vec<NewEvent>,
) -> Result<Vec<Delivery>, DbErr> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let created_at = crate::domain::now();
    let mut next = latest;
    let mut touched = std::collections::BTreeSet::new();
    let mut deliveries = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for new in events {
        let seq = next.get_mut(&new.user_id).ok_or_else(|| {
            DbErr::Custom(format!(
                "an event for user {} whose stream the write did not lock",
                new.user_id
            ))
        })?;
        *seq += 1;
        let seq = *seq;
        touched.insert(new.user_id);
        let data = serde_json::to_string(&new.body)
            .map_err(|error| DbErr::Custom(format!("cannot encode an event: {error}")))?;
        rows.push(event::ActiveModel {
            user_id: Set(new.user_id),
            seq: Set(seq),
            kind: Set(kind_of(&data).to_owned()),
            message_id: Set(new.message_id),
            created_at: Set(created_at),
            data: Set(Some(data)),
            ..Default::default()
        });
        deliveries.push(Delivery {
            user_id: new.user_id,
            frame: Event {
                body: new.body,
                seq,
            }
            .into(),
        });
    }
    let moved: Vec<(i64, Seq)> = next
        .into_iter()
        .filter(|(user, _)| touched.contains(user))
        .collect();
    let cases = moved.iter().fold(String::new(), |mut cases, (user, seq)| {
        let _ = write!(cases, " WHEN {user} THEN {seq}");
        cases
    });
    let ids = moved
        .iter()
        .map(|(user, _)| user.to_string())
        .collect::<Vec<_>>()
        .join(",");
    // Integers only: nothing here needs quoting.
    txn.execute_unprepared(&format!(
        "UPDATE users SET last_event_seq = CASE id{cases} END WHERE id IN ({ids})"
    ))
    .await?;
    for chunk in super::shapes::Shaping::for_backend(txn.get_database_backend()).chunks(rows) {
        event::Entity::insert_many(chunk)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(deliveries)
}

/// The `type` of an encoded event body: the name serde gave it, stored as
/// the row's `kind`, so no list of names is kept twice.
fn kind_of(data: &str) -> &str {
    #[derive(Deserialize)]
    struct Tagged<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    serde_json::from_str::<Tagged>(data).map_or("", |tagged| tagged.kind)
}

/// The stored `message` events of `message_id` (one per participant), to
/// publish again.
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
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(user_id, seq, data)| {
            let body = decode(data.as_deref())?;
            matches!(body, EventBody::Message { .. }).then(|| Delivery {
                user_id,
                frame: Event { body, seq }.into(),
            })
        })
        .collect())
}

/// The sequence number of `user_id`'s latest event (0 if none).
pub async fn latest_seq(db: &impl ConnectionTrait, user_id: i64) -> Result<Seq, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .select_only()
        .column(user::Column::LastEventSeq)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// One batch of replayed events.
#[derive(Debug, Default)]
pub struct ReplayBatch {
    pub events: Vec<Event>,
    /// The lowest sequence number read (more than one past `since` when
    /// what followed it was pruned).
    pub from: Option<Seq>,
    /// The highest sequence number read; `None` when there was nothing left.
    pub through: Option<Seq>,
}

/// Up to one batch of `user_id`'s events after `since`, oldest first.
pub async fn batch_after(
    db: &impl ConnectionTrait,
    user_id: i64,
    since: Seq,
) -> Result<ReplayBatch, DbErr> {
    let rows: Vec<(i64, Option<String>)> = event::Entity::find()
        .select_only()
        .columns([event::Column::Seq, event::Column::Data])
        .filter(event::Column::UserId.eq(user_id))
        .filter(event::Column::Seq.gt(since))
        .order_by_asc(event::Column::Seq)
        .limit(REPLAY_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    let from = rows.first().map(|(seq, _)| *seq);
    let through = rows.last().map(|(seq, _)| *seq);
    let events = rows
        .into_iter()
        .filter_map(|(seq, data)| decode(data.as_deref()).map(|body| Event { body, seq }))
        .collect();
    Ok(ReplayBatch {
        events,
        from,
        through,
    })
}

/// A stored event body. One this version cannot read (written by a newer
/// node, or before events carried their data) decodes to `None`: skipped,
/// rather than stalling the stream.
fn decode(data: Option<&str>) -> Option<EventBody> {
    serde_json::from_str(data?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_kind_is_the_wire_type() {
        let body = EventBody::Receipt {
            by: "bob".into(),
            last_read_id: 3,
        };
        assert_eq!(kind_of(&serde_json::to_string(&body).unwrap()), "receipt");
        assert_eq!(kind_of("not json"), "");
    }

    #[test]
    fn events_stored_by_earlier_versions_still_read() {
        // Events once stored their own seq inside the data.
        let stored = r#"{"type":"read","with":"bob","last_read_id":4,"unread":0,"seq":9}"#;
        assert_eq!(
            decode(Some(stored)),
            Some(EventBody::Read {
                with: "bob".into(),
                last_read_id: 4,
                unread: 0
            })
        );
        assert_eq!(decode(None), None);
        assert_eq!(decode(Some(r#"{"type":"reaction","emoji":"x"}"#)), None);
    }
}
