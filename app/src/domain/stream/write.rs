//! The one way to run a write that emits events.

use sea_orm::{DatabaseTransaction, DbErr, TransactionTrait};

use super::log::{self, NewEvent};
use crate::domain::AppState;

/// What a write produced: its result, and the events it owes.
pub(crate) struct Written<T> {
    pub value: T,
    pub events: Vec<NewEvent>,
}

/// Runs `write` in one transaction that first locks the event streams of
/// `users` (lowest id first, so writers touching the same users queue
/// instead of deadlocking), then appends the events the write returns,
/// commits, and only then publishes them: a client that fetches what an
/// event names always finds it.
///
/// An error from `write` rolls everything back and publishes nothing. A new
/// kind of event is a new [`EventBody`] variant and one call of this.
pub(crate) async fn commit_with_events<T, E: From<DbErr>>(
    state: &AppState,
    users: &[i64],
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<Written<T>, E>,
) -> Result<T, E> {
    let txn = state.db.begin().await?;
    log::lock_streams(&txn, users).await?;
    let Written { value, events } = write(&txn).await?;
    let deliveries = log::append(&txn, events).await?;
    txn.commit().await?;
    state.channels.publish(deliveries);
    Ok(value)
}
