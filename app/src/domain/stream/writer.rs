//! The node's one writer: every write that emits events is queued here and
//! run by one task, in batches, one transaction per batch (group commit).
//!
//! A batch locks the streams of every user its writes touch (lowest id
//! first), reads their conversation rows once, runs the writes in the order
//! they came, then writes back what changed in one statement per table,
//! numbers the events, commits, and only then answers each write and
//! publishes the events. However many requests arrive at once, the database
//! sees one writer and a handful of statements per batch, never a queue of
//! transactions fighting for a lock.
//!
//! The queue is bounded: when it is full a write is refused at once (503 and
//! `Retry-After`), never left to wait without end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use futures::FutureExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, Statement, TransactionTrait, Value,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::log::{self, NewEvent};
use super::shapes::Shaping;
use crate::domain::channel_layer::ChannelLayer;
use crate::domain::db::DbHealth;
use crate::domain::entities::conversation;
use crate::error::AppError;

/// Writes waiting at most; one more is refused with 503.
pub const QUEUE_CAPACITY: usize = 2048;
/// The most writes one batch takes.
const MAX_BATCH: usize = 128;
/// How long a batch may take before it counts as failed.
const BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// What a write produced: its result, and the events it owes.
pub struct Written<T> {
    pub value: T,
    pub events: Vec<NewEvent>,
}

/// One user's conversation with another, as a batch holds it: read once at
/// the start, changed by the batch's writes, written back at the end.
#[derive(Debug, Clone, Default)]
pub struct ConversationState {
    /// The row exists (or will, once the batch writes it back).
    pub exists: bool,
    pub last_message_id: i64,
    pub last_read_id: i64,
    pub unread: i64,
    changed: bool,
    /// The row was there when the batch read it.
    stored: bool,
}

/// The transaction a batch of writes runs in, and the state they share.
pub struct Batch {
    txn: DatabaseTransaction,
    conversations: HashMap<(i64, i64), ConversationState>,
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
}

impl Batch {
    /// The transaction, for a write's own statements.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// `user`'s conversation with `other`, as read when the batch began.
    /// Whoever changes it marks it with [`Batch::changed`].
    ///
    /// # Panics
    /// If the write did not declare the pair when it was queued: a bug,
    /// caught by the writer, which then fails the batch without committing.
    pub fn conversation(&mut self, user: i64, other: i64) -> &mut ConversationState {
        self.conversations
            .get_mut(&(user, other))
            .unwrap_or_else(|| panic!("conversation ({user}, {other}) was not declared"))
    }

    /// Runs `action` once the batch has committed, before its events are
    /// published (never, if it fails).
    pub fn after_commit(&mut self, action: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(action));
    }

    /// Marks a conversation as changed, to be written back.
    pub fn changed(state: &mut ConversationState) {
        state.exists = true;
        state.changed = true;
    }
}

type Finish = Box<dyn FnOnce(Result<(), AppError>) + Send>;
type Run = Box<
    dyn for<'b> FnOnce(
            &'b mut Batch,
        )
            -> Pin<Box<dyn Future<Output = (Vec<NewEvent>, Finish)> + Send + 'b>>
        + Send,
>;

/// A queued write.
struct Job {
    /// The users whose streams it appends to (locked for the batch).
    users: Vec<i64>,
    /// The conversations (user, other) it reads or changes.
    pairs: Vec<(i64, i64)>,
    run: Run,
}

/// The handle requests queue writes through.
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer as a task of `tasks`, on `db` (a connection of its
    /// own, so its caches stay its own), publishing to `channels`. After `shutdown` it finishes what is queued, then stops.
    pub fn start(
        db: DatabaseConnection,
        channels: std::sync::Arc<dyn ChannelLayer>,
        health: std::sync::Arc<DbHealth>,
        tasks: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Self {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE_CAPACITY);
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            loop {
                let first = tokio::select! {
                    biased;
                    job = queue.recv() => job,
                    () = shutdown.cancelled() => {
                        queue.close();
                        queue.recv().await
                    }
                };
                let Some(first) = first else { return };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH
                    && let Ok(job) = queue.try_recv()
                {
                    batch.push(job);
                }
                if run_batch(&db, channels.as_ref(), batch).await {
                    health.record_ok();
                }
            }
        });
        Self { jobs }
    }

    /// Queues `write` (which touches the streams of `users` and the
    /// conversations `pairs`) and waits for its result, after the commit.
    ///
    /// The write runs inside a shared transaction, so it must refuse (return
    /// `Err`) only before its first statement that changes anything, or with
    /// a statement that fails as a whole (a unique key): a refused write
    /// leaves no trace, and the others in its batch carry on.
    pub async fn write<T, E>(
        &self,
        users: &[i64],
        pairs: &[(i64, i64)],
        write: impl for<'b> FnOnce(
            &'b mut Batch,
        )
            -> Pin<Box<dyn Future<Output = Result<Written<T>, E>> + Send + 'b>>
        + Send
        + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<AppError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        let run: Run = Box::new(move |batch| {
            Box::pin(async move {
                match write(batch).await {
                    Ok(Written { value, events }) => {
                        let finish: Finish = Box::new(move |committed| {
                            let _ = answer.send(committed.map(|()| value).map_err(E::from));
                        });
                        (events, finish)
                    }
                    Err(refused) => {
                        let finish: Finish = Box::new(move |_| {
                            let _ = answer.send(Err(refused));
                        });
                        (Vec::new(), finish)
                    }
                }
            })
        });
        let job = Job {
            users: users.to_vec(),
            pairs: pairs.to_vec(),
            run,
        };
        if self.jobs.try_send(job).is_err() {
            tracing::warn!("the write queue is full; shedding load");
            return Err(E::from(AppError::Busy(1)));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(E::from(AppError::Unavailable)))
    }
}

/// Runs one batch: see the module docs. A failure of the batch itself (the
/// database) answers every write in it with that failure. Whether it
/// committed.
async fn run_batch(db: &DatabaseConnection, channels: &dyn ChannelLayer, jobs: Vec<Job>) -> bool {
    let users: BTreeSet<i64> = jobs
        .iter()
        .flat_map(|job| job.users.iter().copied())
        .collect();
    let pairs: BTreeSet<(i64, i64)> = jobs
        .iter()
        .flat_map(|job| job.pairs.iter().copied())
        .collect();
    let mut finishes = Vec::with_capacity(jobs.len());
    let outcome = tokio::time::timeout(BATCH_TIMEOUT, async {
        let txn = db.begin().await?;
        let latest = lock_streams(&txn, &users).await?;
        let conversations = read_conversations(&txn, &pairs).await?;
        let mut batch = Batch {
            txn,
            conversations,
            after_commit: Vec::new(),
        };
        let mut events = Vec::new();
        for job in jobs {
            // A write that panics is a bug: the batch fails, nothing commits,
            // and the writer carries on with the next one.
            let (emitted, finish) = AssertUnwindSafe((job.run)(&mut batch))
                .catch_unwind()
                .await
                .map_err(|_| DbErr::Custom("a write panicked".to_owned()))?;
            events.extend(emitted);
            finishes.push(finish);
        }
        write_conversations(&batch.txn, &batch.conversations).await?;
        let deliveries = log::append(&batch.txn, latest, events).await?;
        batch.txn.commit().await?;
        Ok::<_, DbErr>((deliveries, batch.after_commit))
    })
    .await
    .unwrap_or_else(|_| Err(DbErr::Custom("a write batch timed out".to_owned())));
    match outcome {
        Ok((deliveries, after_commit)) => {
            for action in after_commit {
                action();
            }
            metrics::histogram!("chatapp_write_batch_jobs")
                .record(u32::try_from(finishes.len()).unwrap_or(u32::MAX));
            for finish in finishes {
                finish(Ok(()));
            }
            metrics::counter!("chatapp_events_published_total")
                .increment(u64::try_from(deliveries.len()).unwrap_or(u64::MAX));
            channels.publish(deliveries);
            true
        }
        Err(error) => {
            let error = AppError::from(error);
            for finish in finishes {
                finish(Err(error.clone()));
            }
            false
        }
    }
}

/// Locks the streams of `users` for the batch (lowest id first) and reads
/// each one's latest `seq`. On SQLite the first statement must write, so
/// the transaction holds the write lock from the start.
async fn lock_streams(
    txn: &DatabaseTransaction,
    users: &BTreeSet<i64>,
) -> Result<BTreeMap<i64, i64>, DbErr> {
    if users.is_empty() {
        return Ok(BTreeMap::new());
    }
    let backend = txn.get_database_backend();
    let ids = Shaping::for_backend(backend).in_list(users.iter().copied().collect(), users.len());
    let placeholders = vec!["?"; ids.len()].join(",");
    let sql = match backend {
        DbBackend::MySql => format!(
            "SELECT id, last_event_seq FROM users WHERE id IN ({placeholders}) ORDER BY id FOR UPDATE"
        ),
        _ => format!(
            "UPDATE users SET last_event_seq = last_event_seq WHERE id IN ({placeholders}) \
             RETURNING id, last_event_seq"
        ),
    };
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            ids.into_iter().map(Value::from),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64>("", "id")?,
                row.try_get::<i64>("", "last_event_seq")?,
            ))
        })
        .collect()
}

async fn read_conversations(
    txn: &DatabaseTransaction,
    pairs: &BTreeSet<(i64, i64)>,
) -> Result<HashMap<(i64, i64), ConversationState>, DbErr> {
    let mut states: HashMap<(i64, i64), ConversationState> = pairs
        .iter()
        .map(|pair| (*pair, ConversationState::default()))
        .collect();
    if pairs.is_empty() {
        return Ok(states);
    }
    let users: BTreeSet<i64> = pairs.iter().map(|(user, _)| *user).collect();
    let others: BTreeSet<i64> = pairs.iter().map(|(_, other)| *other).collect();
    // Both lists one length (see `shapes`): one shape per power of two.
    let shaping = Shaping::for_backend(txn.get_database_backend());
    let length = users.len().max(others.len());
    let rows = conversation::Entity::find()
        .filter(
            conversation::Column::UserId
                .is_in(shaping.in_list(users.into_iter().collect(), length)),
        )
        .filter(
            conversation::Column::OtherId
                .is_in(shaping.in_list(others.into_iter().collect(), length)),
        )
        .all(txn)
        .await?;
    for row in rows {
        if let Some(state) = states.get_mut(&(row.user_id, row.other_id)) {
            *state = ConversationState {
                exists: true,
                last_message_id: row.last_message_id,
                last_read_id: row.last_read_id,
                unread: row.unread,
                changed: false,
                stored: true,
            };
        }
    }
    Ok(states)
}

/// Writes back every conversation the batch changed, in a statement or a
/// few (see `shapes`), and counts the new ones in `users.conversation_count`.
async fn write_conversations(
    txn: &DatabaseTransaction,
    conversations: &HashMap<(i64, i64), ConversationState>,
) -> Result<(), DbErr> {
    let mut created: BTreeMap<i64, i64> = BTreeMap::new();
    for ((user, _), state) in conversations {
        if state.changed && !state.stored {
            *created.entry(*user).or_default() += 1;
        }
    }
    if !created.is_empty() {
        // Integers only: nothing here needs quoting. Only a batch that starts
        // a conversation runs this.
        let cases = created
            .iter()
            .fold(String::new(), |mut cases, (user, count)| {
                let _ = write!(cases, " WHEN {user} THEN {count}");
                cases
            });
        let ids = created
            .keys()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        txn.execute_unprepared(&format!(
            "UPDATE users SET conversation_count = conversation_count + CASE id{cases} END \
             WHERE id IN ({ids})"
        ))
        .await?;
    }
    let rows: Vec<conversation::ActiveModel> = conversations
        .iter()
        .filter(|(_, state)| state.changed)
        .map(|((user, other), state)| conversation::ActiveModel {
            user_id: Set(*user),
            other_id: Set(*other),
            last_message_id: Set(state.last_message_id),
            last_read_id: Set(state.last_read_id),
            unread: Set(state.unread),
            ..Default::default()
        })
        .collect();
    for chunk in Shaping::for_backend(txn.get_database_backend()).chunks(rows) {
        conversation::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([conversation::Column::UserId, conversation::Column::OtherId])
                    .update_columns([
                        conversation::Column::LastMessageId,
                        conversation::Column::LastReadId,
                        conversation::Column::Unread,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
