//! Keeping the `events` table from growing forever: events older than the
//! retention period are deleted in the background, in small batches through
//! the writer (so they never hold up a send for long), always keeping each
//! user's latest `replay_limit` events. A client that reconnects from before
//! what is kept is told to resync, as when it is too far behind.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use tokio_util::sync::CancellationToken;

use super::writer::{Batch, Writer, Written};
use crate::error::AppError;

/// How often the pruner looks for old events.
const EVERY: Duration = Duration::from_mins(1);
/// Rows one deletion takes at most (one write of the writer's batch).
const ROWS_PER_DELETE: u64 = 500;
/// Users looked at per query.
const USERS_PER_PAGE: u64 = 200;

/// What is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events younger than this are kept.
    pub period: Duration,
    /// Each user's latest this many events are kept, however old.
    pub keep_latest: u64,
}

/// Prunes every [`EVERY`] until `shutdown`.
pub async fn prune_periodically(
    db: DatabaseConnection,
    writer: std::sync::Arc<Writer>,
    retention: Retention,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match prune(&db, &writer, retention, &shutdown).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old events"),
            Err(error) => tracing::warn!(%error, "could not prune old events"),
        }
    }
}

/// One pass over every user with more than `keep_latest` events; how many
/// events it deleted.
pub async fn prune(
    db: &DatabaseConnection,
    writer: &Writer,
    retention: Retention,
    shutdown: &CancellationToken,
) -> Result<u64, AppError> {
    let keep = i64::try_from(retention.keep_latest).unwrap_or(i64::MAX);
    let cutoff =
        Utc::now() - chrono::Duration::from_std(retention.period).unwrap_or(chrono::Duration::MAX);
    let mut after = 0_i64;
    let mut deleted = 0;
    loop {
        let users = db
            .query_all_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT id, last_event_seq FROM users \
                 WHERE last_event_seq > ? AND id > ? ORDER BY id LIMIT ?",
                [keep.into(), after.into(), USERS_PER_PAGE.into()],
            ))
            .await?;
        let Some(last) = users.last() else {
            return Ok(deleted);
        };
        after = last.try_get("", "id")?;
        for row in &users {
            let user: i64 = row.try_get("", "id")?;
            let latest: i64 = row.try_get("", "last_event_seq")?;
            loop {
                if shutdown.is_cancelled() {
                    return Ok(deleted);
                }
                let removed = writer
                    .write(&[], &[], move |batch: &mut Batch| {
                        Box::pin(async move {
                            let removed = delete_some(batch, user, latest - keep, cutoff).await?;
                            Ok::<_, AppError>(Written {
                                value: removed,
                                events: Vec::new(),
                            })
                        })
                    })
                    .await?;
                deleted += removed;
                if removed < ROWS_PER_DELETE {
                    break;
                }
            }
        }
    }
}

/// Deletes up to [`ROWS_PER_DELETE`] of `user`'s events at or below `up_to`
/// and older than `cutoff`; how many it deleted.
async fn delete_some(
    batch: &mut Batch,
    user: i64,
    up_to: i64,
    cutoff: chrono::DateTime<Utc>,
) -> Result<u64, DbErr> {
    let txn = batch.txn();
    // The inner query is wrapped so MySQL accepts a LIMIT in it.
    let deleted = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "DELETE FROM events WHERE id IN (SELECT id FROM ( \
               SELECT id FROM events WHERE user_id = ? AND seq <= ? AND created_at < ? \
               ORDER BY seq LIMIT ?) AS old)",
            [
                user.into(),
                up_to.into(),
                cutoff.into(),
                ROWS_PER_DELETE.into(),
            ],
        ))
        .await?;
    Ok(deleted.rows_affected())
}
