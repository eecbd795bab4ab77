//! One connection's view of its user's event stream: the replay after the
//! client's `since`, `ready`, then live events, until something ends it.
//!
//! Gap-free and duplicate-free at every boundary: it subscribes before it
//! reads the database, drops anything at or below the last `seq` it handed
//! out, and fills any gap it sees from the database. Too far behind to replay
//! (`replay_limit`), or ahead of the server, it says `resync` instead.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::log;
use crate::domain::AppState;
use crate::domain::channel_layer::{Next, SessionEnding, Subscription};
use crate::wire::{CloseReason, Event, EventBody, Seq, ServerFrame, Signal};

/// Which stream a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamProtocol {
    /// ChatApp's own ([`crate::wire::STREAM_PROTOCOL`]): every frame.
    Full,
    /// The original app's client, which asked for no subprotocol: only
    /// new-message frames, each naming the id to fetch.
    NewMessagesOnly,
}

impl StreamProtocol {
    fn shows(self, frame: &ServerFrame) -> bool {
        match self {
            Self::Full => true,
            Self::NewMessagesOnly => matches!(
                frame,
                ServerFrame::Event(Event {
                    body: EventBody::Message { .. },
                    ..
                })
            ),
        }
    }
}

/// The session a connection was opened with, and when it would end if
/// nothing used it (the earlier of its idle expiry and its lifetime).
#[derive(Debug, Clone)]
pub struct StreamSession {
    pub id: String,
    pub ends_at: DateTime<Utc>,
}

/// What to do next on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// Send this frame.
    Frame(ServerFrame),
    /// Close the connection for this reason.
    Close(CloseReason),
}

/// Where the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started: replay after `since` (if given), then `ready`.
    Starting {
        since: Option<Seq>,
    },
    /// Replaying; `ready` follows once caught up.
    Replaying,
    Live,
}

/// A user's stream as one connection follows it. See the module docs.
pub struct EventStream {
    subscription: Subscription,
    session_endings: broadcast::Receiver<SessionEnding>,
    shutdown: CancellationToken,
    db: DatabaseConnection,
    user_id: i64,
    /// The session the connection belongs to: its ending closes the stream.
    session_id: Option<String>,
    /// When the session ends unless used meanwhile: then it is checked.
    session_ends_at: Option<DateTime<Utc>>,
    settings: Arc<crate::domain::Settings>,
    protocol: StreamProtocol,
    replay_limit: u64,
    phase: Phase,
    /// The highest `seq` handed out (or the client's `since`).
    last_seq: Seq,
    /// For a client that asked for no replay and keeps no position (the
    /// original app's): where the stream started. Events up to it that come
    /// live were published after this stream subscribed, so they are new to
    /// the client even though they precede the start it read.
    started_at: Option<Seq>,
    /// Frames ready to hand out, in order.
    ready: VecDeque<ServerFrame>,
    /// Events may have been missed: read them from the database.
    catch_up_due: bool,
    /// Session endings may have been missed: ask the database.
    session_check_due: bool,
}

impl EventStream {
    /// Subscribes at once, before anything is read, so nothing committed from
    /// now on can be missed; the replay after `since` happens on the first
    /// [`EventStream::next`].
    pub fn open(
        state: &AppState,
        user_id: i64,
        session: Option<StreamSession>,
        since: Option<Seq>,
        protocol: StreamProtocol,
    ) -> Self {
        let (session_id, session_ends_at) = session.map_or((None, None), |session| {
            (Some(session.id), Some(session.ends_at))
        });
        Self {
            subscription: state.channels.subscribe(user_id),
            session_endings: state.channels.session_endings(),
            shutdown: state.shutdown.clone(),
            db: state.db.clone(),
            user_id,
            session_id,
            session_ends_at,
            settings: Arc::clone(&state.settings),
            protocol,
            replay_limit: state.settings.replay_limit,
            phase: Phase::Starting { since },
            last_seq: 0,
            started_at: None,
            ready: VecDeque::new(),
            catch_up_due: false,
            session_check_due: false,
        }
    }

    /// The next frame for the client, or why to close.
    ///
    /// Cancel-safe: state changes only after each await has completed, and
    /// work a cancelled call left undone is flagged first, so the next call
    /// does it.
    pub async fn next(&mut self) -> StreamItem {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                if self.protocol.shows(&frame) {
                    return StreamItem::Frame(frame);
                }
                continue;
            }
            // The database paths are boxed: run once or rarely, their futures
            // would otherwise sit inline in every idle socket's task.
            let done = match self.phase {
                Phase::Starting { since } => Box::pin(self.start(since)).await,
                Phase::Replaying if !self.catch_up_due => {
                    self.ready
                        .push_back(Signal::Ready { seq: self.last_seq }.into());
                    self.phase = Phase::Live;
                    Ok(())
                }
                _ if self.catch_up_due => Box::pin(self.replay_batch()).await,
                _ if self.session_check_due => {
                    if Box::pin(self.session_ended()).await {
                        return StreamItem::Close(CloseReason::LoggedOut);
                    }
                    self.session_check_due = false;
                    Ok(())
                }
                _ => match self.wait().await {
                    Some(close) => return StreamItem::Close(close),
                    None => Ok(()),
                },
            };
            if let Err(error) = done {
                tracing::warn!(%error, "closing a stream: cannot read events");
                return StreamItem::Close(CloseReason::TryAgainLater);
            }
        }
    }

    /// Where the client is: replay from `since`, or start at the latest.
    async fn start(&mut self, since: Option<Seq>) -> Result<(), DbErr> {
        let latest = log::latest_seq(&self.db, self.user_id).await?;
        match since {
            // Ahead of the server (a restored backup, a forged number): start over.
            Some(since) if since > latest => self.resync(latest),
            Some(since) => {
                self.last_seq = since;
                self.catch_up_due = true;
            }
            None => {
                self.last_seq = latest;
                if self.protocol == StreamProtocol::NewMessagesOnly {
                    self.started_at = Some(latest);
                }
            }
        }
        self.phase = Phase::Replaying;
        Ok(())
    }

    /// Queues the next batch of stored events after `last_seq`, or `resync`
    /// when more than `replay_limit` were missed; clears `catch_up_due` once
    /// nothing is left.
    async fn replay_batch(&mut self) -> Result<(), DbErr> {
        let latest = log::latest_seq(&self.db, self.user_id).await?;
        let behind = u64::try_from(latest.saturating_sub(self.last_seq)).unwrap_or(0);
        if behind > self.replay_limit {
            self.resync(latest);
            return Ok(());
        }
        let batch = log::batch_after(&self.db, self.user_id, self.last_seq).await?;
        match batch.through {
            None => self.catch_up_due = false,
            // What follows `last_seq` was pruned (older than the retention
            // period): the replay cannot be whole, so resync.
            Some(_) if batch.from.is_some_and(|from| from > self.last_seq + 1) => {
                self.resync(latest);
            }
            Some(through) => {
                metrics::counter!("chatapp_stream_replayed_events_total")
                    .increment(u64::try_from(batch.events.len()).unwrap_or(u64::MAX));
                self.ready
                    .extend(batch.events.into_iter().map(ServerFrame::from));
                self.last_seq = through;
            }
        }
        Ok(())
    }

    fn resync(&mut self, latest: Seq) {
        metrics::counter!("chatapp_stream_resyncs_total").increment(1);
        self.ready.push_back(Signal::Resync { seq: latest }.into());
        self.last_seq = latest;
        self.catch_up_due = false;
    }

    /// Waits for something to happen: a live frame (queued), a reason to
    /// catch up or check the session (flagged), or a reason to close.
    async fn wait(&mut self) -> Option<CloseReason> {
        tokio::select! {
            biased;
            () = self.shutdown.cancelled() => Some(CloseReason::GoingAway),
            ending = self.session_endings.recv() => match ending {
                Ok(SessionEnding::One(ended)) if self.session_id.as_deref() == Some(&*ended) => {
                    Some(CloseReason::LoggedOut)
                }
                Ok(SessionEnding::User { user_id, except })
                    if user_id == self.user_id && except.as_deref() != self.session_id.as_deref() =>
                {
                    Some(CloseReason::LoggedOut)
                }
                // This connection's session got a new id: follow it.
                Ok(SessionEnding::Renamed { from, to })
                    if self.session_id.as_deref() == Some(&*from) =>
                {
                    self.session_id = Some(to.to_string());
                    None
                }
                // Another session's, or another user's.
                Ok(
                    SessionEnding::One(_)
                    | SessionEnding::User { .. }
                    | SessionEnding::Renamed { .. },
                ) => None,
                // Endings may have been missed: ask the database.
                Ok(SessionEnding::Unknown) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.session_check_due = true;
                    None
                }
                Err(broadcast::error::RecvError::Closed) => Some(CloseReason::GoingAway),
            },
            next = self.subscription.next() => match next {
                Next::Frame(frame) => {
                    self.accept(&frame);
                    None
                }
                Next::CatchUp => {
                    self.catch_up_due = true;
                    None
                }
                Next::Closed => Some(CloseReason::GoingAway),
            },
            () = until(self.session_ends_at) => {
                self.session_check_due = true;
                None
            }
        }
    }

    /// Takes a live frame: queued if it is the next event (or a signal),
    /// dropped if the client has it, and a gap (a signal lost or reordered
    /// between nodes) is filled from the database.
    fn accept(&mut self, frame: &Arc<ServerFrame>) {
        match &**frame {
            // Published between the subscription and reading where to start:
            // new to a client without positions (a client with them has it in
            // what it loads after `ready`).
            ServerFrame::Event(event)
                if self.started_at.is_some_and(|start| event.seq <= start) =>
            {
                self.ready.push_back(ServerFrame::clone(frame));
            }
            ServerFrame::Event(event) if event.seq <= self.last_seq => {}
            ServerFrame::Event(event) if event.seq == self.last_seq + 1 => {
                self.last_seq = event.seq;
                self.ready.push_back(ServerFrame::clone(frame));
            }
            ServerFrame::Event(_) => self.catch_up_due = true,
            ServerFrame::Signal(_) => self.ready.push_back(ServerFrame::clone(frame)),
        }
    }

    /// Whether the connection's session has ended: gone from the database,
    /// idle past its expiry or past its lifetime. If not, learns when it
    /// could end next. An unreadable database is not proof of anything: the
    /// connection stays.
    async fn session_ended(&mut self) -> bool {
        let Some(id) = self.session_id.as_deref().and_then(|id| id.parse().ok()) else {
            return false;
        };
        match crate::domain::session_store::load_uncached(&self.db, &id).await {
            Ok(None) => true,
            Ok(Some(record)) => {
                let idle_end =
                    DateTime::<Utc>::from_timestamp(record.expiry_date.unix_timestamp(), 0);
                let lifetime_end = crate::domain::auth::deadline_of(&record.data, &self.settings);
                match idle_end.zip(lifetime_end) {
                    Some((idle_end, lifetime_end)) if idle_end.min(lifetime_end) > Utc::now() => {
                        self.session_ends_at = Some(idle_end.min(lifetime_end));
                        false
                    }
                    _ => true,
                }
            }
            Err(error) => {
                tracing::debug!(%error, "cannot check a stream's session; keeping it");
                // Ask again in a while, not in a loop.
                if self.session_ends_at.is_some() {
                    self.session_ends_at = Some(Utc::now() + chrono::Duration::minutes(1));
                }
                false
            }
        }
    }
}

/// Resolves at `at` (never, for `None`).
async fn until(at: Option<DateTime<Utc>>) {
    match at {
        Some(at) => {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
        }
        None => std::future::pending().await,
    }
}
