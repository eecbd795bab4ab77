//! `GET /ws[?since=N]`: the user's event stream.
//!
//! Each open socket receives `{"type": "message", "message": "<id>", "seq": N}`
//! for every message its user sends or receives; the browser then GETs the
//! message. `seq` numbers the user's events without gaps, the same on every
//! node. With `since`, the socket first replays every event after it from the
//! database, then says `{"type": "ready", "seq": N}` and goes live. Too far
//! behind to replay (`REPLAY_LIMIT`, default 10 000) → `{"type": "resync", "seq": N}`: the
//! client reloads what it shows instead.
//!
//! Gap-free and duplicate-free at every boundary: the socket subscribes before
//! it reads the database, drops anything at or below the last seq it sent, and
//! fills any gap it sees from the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::domain::AppState;
use app::domain::auth::AuthSession;
use app::domain::channel_layer::{Next, SessionEnding, Subscription};
use app::domain::{events, typing};
use app::error::AppError;
use app::models::Notification;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::api::extract::Query;

/// A send that takes longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Close code for "your session was logged out" (private-use range).
pub const CLOSE_LOGGED_OUT: u16 = 4401;

/// `?since=N`: the last sequence number the client applied.
#[derive(Debug, Deserialize)]
pub struct StreamPosition {
    since: Option<i64>,
}

/// Authenticates (401 without a session, 403 from another site) and checks
/// `since` (400) before the upgrade, then serves the socket.
pub async fn notifications(
    State(state): State<AppState>,
    session: AuthSession,
    headers: HeaderMap,
    Query(position): Query<StreamPosition>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let user = session.user.ok_or(AppError::Unauthorized)?;
    if crate::security::is_cross_site(&headers) {
        return Err(crate::security::cross_site_error());
    }
    if position.since.is_some_and(|since| since < 0) {
        return Err(AppError::invalid(
            "since",
            "since is the last seq the client applied: 0 or more.",
        ));
    }
    let upgrade = upgrade.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    // Subscribe before reading the database: nothing committed in between is lost.
    let stream = EventStream {
        subscription: state.channels.subscribe(user.id),
        db: state.db.clone(),
        user_id: user.id,
        last_seq: 0,
        replay_limit: state.settings.replay_limit,
    };
    let watch = Watch {
        session_id: session.session.id().map(|id| id.to_string()),
        session_endings: state.channels.session_endings(),
        shutdown: state.shutdown.clone(),
        ping_interval: state.settings.ws_ping_interval,
    };
    let since = position.since;
    let peer = Peer { state, user };
    Ok(upgrade.on_upgrade(move |socket| serve_socket(socket, stream, since, watch, peer)))
}

/// Who is on the other end, for what they send (typing signals).
struct Peer {
    state: AppState,
    user: app::domain::auth::SessionUser,
}

/// What a client may send: `{"type": "typing", "to": "bob"}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Typing {
        to: String,
    },
    /// The tab was hidden (`away`) or shown again (`online`).
    Presence {
        status: app::models::PresenceStatus,
    },
}

/// What ends a socket besides the client: log-out, shutdown, silence.
struct Watch {
    session_id: Option<String>,
    session_endings: broadcast::Receiver<SessionEnding>,
    shutdown: CancellationToken,
    ping_interval: Duration,
}

/// Runs one socket: a send task streams events and pings, a receive task
/// watches for pongs and the close. When either ends, both do.
async fn serve_socket(
    socket: WebSocket,
    stream: EventStream,
    since: Option<i64>,
    watch: Watch,
    peer: Peer,
) {
    let started = Instant::now();
    let last_heard_ms = Arc::new(AtomicU64::new(0));
    let (sender, mut receiver) = socket.split();

    let heard = Arc::clone(&last_heard_ms);
    let mut receive_task = tokio::spawn(async move {
        // Online while this task runs; dropping it when the socket ends.
        let mut presence = peer.state.presence.connect(peer.user.id);
        let mut last_typing: Option<Instant> = None;
        while let Some(Ok(frame)) = receiver.next().await {
            heard.store(elapsed_ms(started), Ordering::Relaxed);
            match frame {
                Message::Close(_) => break,
                Message::Text(text) => {
                    // Unknown or malformed frames are ignored: newer clients
                    // may send more than this server understands.
                    match serde_json::from_str(&text) {
                        Ok(ClientFrame::Typing { to }) => {
                            if last_typing.is_some_and(|at| at.elapsed() < typing::MIN_INTERVAL) {
                                continue;
                            }
                            last_typing = Some(Instant::now());
                            typing::notify(&peer.state, &peer.user, &to).await;
                        }
                        Ok(ClientFrame::Presence { status }) => {
                            presence.set_away(status == app::models::PresenceStatus::Away);
                        }
                        Err(_) => {}
                    }
                }
                _ => {}
            }
        }
    });
    let mut send_task = tokio::spawn(async move {
        let mut socket = Outgoing {
            sender,
            started,
            last_heard_ms,
        };
        if let Stop::Close(close) = socket.run(stream, since, watch).await {
            let _ = tokio::time::timeout(SEND_TIMEOUT, socket.sender.send(close)).await;
        }
    });

    tokio::select! {
        _ = &mut send_task => receive_task.abort(),
        _ = &mut receive_task => send_task.abort(),
    }
}

/// The socket's sending half.
struct Outgoing {
    sender: SplitSink<WebSocket, Message>,
    started: Instant,
    last_heard_ms: Arc<AtomicU64>,
}

/// Why sending stopped.
enum Stop {
    /// Close the socket with this frame.
    Close(Message),
    /// The client is gone or silent: just drop the connection.
    Drop,
}

impl Outgoing {
    /// Replays, announces `ready`, then streams live events until something
    /// ends the socket.
    async fn run(&mut self, mut stream: EventStream, since: Option<i64>, mut watch: Watch) -> Stop {
        if let Err(stop) = stream.start(self, since).await {
            return stop;
        }
        let mut pings = tokio::time::interval(watch.ping_interval);
        let reap_after_ms =
            2 * u64::try_from(watch.ping_interval.as_millis()).unwrap_or(u64::MAX / 2);
        pings.tick().await;
        loop {
            let step = tokio::select! {
                () = watch.shutdown.cancelled() => return Stop::Close(close_frame(close_code::AWAY, "server shutting down")),
                next = stream.subscription.next() => match next {
                    Next::Notification(notification) => stream.deliver(self, &notification).await,
                    Next::CatchUp => stream.catch_up(self).await,
                    Next::Closed => return Stop::Close(close_frame(close_code::AWAY, "channel closed")),
                },
                ending = watch.session_endings.recv() => match ending {
                    Ok(SessionEnding::One(ended)) if watch.session_id.as_deref() == Some(&*ended) => {
                        return Stop::Close(close_frame(CLOSE_LOGGED_OUT, "logged out"));
                    }
                    Ok(SessionEnding::User { user_id, except })
                        if user_id == stream.user_id
                            && except.as_deref() != watch.session_id.as_deref() =>
                    {
                        return Stop::Close(close_frame(CLOSE_LOGGED_OUT, "session ended"));
                    }
                    // Another session's, or another user's.
                    Ok(SessionEnding::One(_) | SessionEnding::User { .. }) => Ok(()),
                    // Endings may have been missed: ask the database.
                    Ok(SessionEnding::Unknown) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if session_gone(&stream.db, watch.session_id.as_deref()).await {
                            return Stop::Close(close_frame(CLOSE_LOGGED_OUT, "logged out"));
                        }
                        Ok(())
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Stop::Close(close_frame(close_code::AWAY, "channel closed"));
                    }
                },
                _ = pings.tick() => {
                    let silent_ms = elapsed_ms(self.started).saturating_sub(self.last_heard_ms.load(Ordering::Relaxed));
                    if silent_ms > reap_after_ms {
                        tracing::info!("reaping a WebSocket that stopped answering pings");
                        return Stop::Drop;
                    }
                    self.send(Message::Ping(axum::body::Bytes::new())).await
                }
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    async fn send(&mut self, frame: Message) -> Result<(), Stop> {
        match tokio::time::timeout(SEND_TIMEOUT, self.sender.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop::Drop),
        }
    }

    async fn send_event(&mut self, notification: &Notification) -> Result<(), Stop> {
        match serde_json::to_string(notification) {
            Ok(text) => self.send(Message::Text(text.into())).await,
            Err(error) => {
                tracing::error!(%error, "cannot encode a notification");
                Err(Stop::Close(close_frame(
                    close_code::ERROR,
                    "internal error",
                )))
            }
        }
    }
}

/// One user's position in their event stream, as this socket has sent it.
struct EventStream {
    subscription: Subscription,
    db: DatabaseConnection,
    user_id: i64,
    /// The highest seq sent on this socket (or the client's `since`).
    last_seq: i64,
    replay_limit: u64,
}

impl EventStream {
    /// Replays after `since` (if given), then sends `ready`.
    async fn start(&mut self, out: &mut Outgoing, since: Option<i64>) -> Result<(), Stop> {
        let latest = events::latest_seq(&self.db, self.user_id)
            .await
            .map_err(database_trouble)?;
        match since {
            // Ahead of the server (a restored backup, a forged number): start over.
            Some(since) if since > latest => self.resync(out, latest).await?,
            Some(since) => {
                self.last_seq = since;
                self.catch_up(out).await?;
            }
            None => self.last_seq = latest,
        }
        out.send_event(&Notification::Ready { seq: self.last_seq })
            .await
    }

    /// Sends a live event unless the client already has it; a gap (a signal
    /// lost or reordered between nodes) is filled from the database.
    async fn deliver(
        &mut self,
        out: &mut Outgoing,
        notification: &Notification,
    ) -> Result<(), Stop> {
        // Passing signals (typing) are outside the numbered stream.
        if notification.is_ephemeral() {
            return out.send_event(notification).await;
        }
        let seq = notification.seq();
        if seq <= self.last_seq {
            Ok(())
        } else if seq == self.last_seq + 1 {
            out.send_event(notification).await?;
            self.last_seq = seq;
            Ok(())
        } else {
            self.catch_up(out).await
        }
    }

    /// Sends every stored event after `last_seq`, in order, or `resync` when
    /// there are more than `replay_limit`.
    async fn catch_up(&mut self, out: &mut Outgoing) -> Result<(), Stop> {
        let behind = events::count_after(&self.db, self.user_id, self.last_seq, self.replay_limit)
            .await
            .map_err(database_trouble)?;
        if behind > self.replay_limit {
            let latest = events::latest_seq(&self.db, self.user_id)
                .await
                .map_err(database_trouble)?;
            return self.resync(out, latest).await;
        }
        loop {
            let batch = events::batch_after(&self.db, self.user_id, self.last_seq)
                .await
                .map_err(database_trouble)?;
            let Some(through) = batch.through else {
                return Ok(());
            };
            for notification in &batch.notifications {
                out.send_event(notification).await?;
            }
            self.last_seq = through;
        }
    }

    async fn resync(&mut self, out: &mut Outgoing, latest: i64) -> Result<(), Stop> {
        out.send_event(&Notification::Resync { seq: latest })
            .await?;
        self.last_seq = latest;
        Ok(())
    }
}

/// Whether the socket's session no longer exists in the database (an
/// unreadable database is not proof of anything: keep the socket).
async fn session_gone(db: &DatabaseConnection, session_id: Option<&str>) -> bool {
    let Some(id) = session_id.and_then(|id| id.parse().ok()) else {
        return false;
    };
    matches!(
        app::domain::session_store::load_uncached(db, &id).await,
        Ok(None)
    )
}

/// The database is down: close with "try again later"; the client reconnects
/// with its `since` and loses nothing.
fn database_trouble(error: sea_orm::DbErr) -> Stop {
    tracing::warn!(%error, "closing a WebSocket: cannot read events");
    Stop::Close(close_frame(
        close_code::AGAIN,
        "database unavailable; reconnect",
    ))
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
