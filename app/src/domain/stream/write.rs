//! The one way to run a write that emits events.

use std::future::Future;
use std::pin::Pin;

pub(crate) use super::writer::{Batch, Written};
use crate::domain::AppState;
use crate::error::AppError;

/// Runs `write` on the node's writer ([`super::writer`]), in a transaction
/// that holds the event streams of `users` (locked lowest id first, so
/// writers never deadlock) and the conversations `pairs` (user, other), then
/// appends the events the write returns, commits, and only then publishes
/// them: a client that fetches what an event names always finds it.
///
/// A write that refuses (returns `Err`) leaves no trace and publishes
/// nothing. A new kind of event is a new [`crate::wire::EventBody`] variant
/// and one call of this.
pub(crate) async fn commit_with_events<T, E>(
    state: &AppState,
    users: &[i64],
    pairs: &[(i64, i64)],
    write: impl for<'b> FnOnce(
        &'b mut Batch,
    ) -> Pin<Box<dyn Future<Output = Result<Written<T>, E>> + Send + 'b>>
    + Send
    + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
{
    state.writer.write(users, pairs, write).await
}
