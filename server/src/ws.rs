//! `GET /ws[?since=N]`: the user's event stream over a WebSocket. A client
//! that asks for the `chatapp.v1` subprotocol gets every frame; one that asks
//! for none (the original app's) gets new-message frames only.
//!
//! This module is the transport only: it authenticates and upgrades, pumps
//! the frames of the user's [`EventStream`] (replay, `ready`, live events;
//! see `app::domain::stream`), pings and reaps silent sockets, and hands
//! what the client sends ([`ClientFrame`]) to the domain.

use std::time::{Duration, Instant};

use app::domain::AppState;
use app::domain::auth::{AuthSession, SessionUser};
use app::domain::stream::{EventStream, StreamItem, StreamProtocol};
use app::domain::typing;
use app::error::AppError;
use app::wire::{ClientFrame, CloseReason, PresenceStatus, STREAM_PROTOCOL, ServerFrame};
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::watch;

use crate::api::extract::Query;

/// A send that takes longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Buffers sized for small frames: an idle socket costs a few KiB, not the
/// library's default of 128 KiB each way.
const READ_BUFFER: usize = 4 * 1024;
/// What a socket may hold unsent before it counts as stuck (then it is
/// closed and the client replays on reconnect).
const MAX_UNSENT: usize = 256 * 1024;

/// `?since=N`: the last sequence number the client applied.
#[derive(Debug, Deserialize)]
pub struct StreamPosition {
    since: Option<i64>,
}

/// Authenticates (401 without a session, 403 from another site) and checks
/// `since` (400) before the upgrade, then serves the socket as a task the
/// node waits for at shutdown.
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
    let upgrade = upgrade
        .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_UNSENT)
        .protocols([STREAM_PROTOCOL]);
    // ChatApp's client asks for the whole stream; the original app's client
    // asks for nothing and gets what it understands.
    let protocol = if upgrade.selected_protocol().is_some() {
        StreamProtocol::Full
    } else {
        StreamProtocol::NewMessagesOnly
    };
    // Subscribed before the upgrade completes: nothing committed from here on is lost.
    let session_id = session.session.id().map(|id| id.to_string());
    let stream = EventStream::open(&state, user.id, session_id, position.since, protocol);
    let tasks = state.tasks.clone();
    Ok(upgrade
        .on_upgrade(move |socket| tasks.track_future(serve_socket(socket, stream, state, user))))
}

/// Runs one socket: the outgoing half streams frames and pings, the incoming
/// half reads the client's frames and pongs. When either ends, both do.
async fn serve_socket(socket: WebSocket, stream: EventStream, state: AppState, user: SessionUser) {
    let (sender, receiver) = socket.split();
    let (heard, last_heard) = watch::channel(Instant::now());
    let ping_interval = state.settings.ws_ping_interval;
    tokio::select! {
        () = send_frames(sender, stream, ping_interval, last_heard) => {}
        () = receive_frames(receiver, &state, &user, heard) => {}
    }
}

/// Streams the user's frames and a ping every interval; stops (closing with
/// the stream's reason) when the stream ends, or drops a socket silent for
/// two intervals.
async fn send_frames(
    mut sender: SplitSink<WebSocket, Message>,
    mut stream: EventStream,
    ping_interval: Duration,
    last_heard: watch::Receiver<Instant>,
) {
    let mut pings = tokio::time::interval(ping_interval);
    pings.tick().await;
    loop {
        let frame = tokio::select! {
            item = stream.next() => match item {
                StreamItem::Frame(frame) => encode(&frame),
                StreamItem::Close(reason) => close_frame(reason),
            },
            _ = pings.tick() => {
                if last_heard.borrow().elapsed() > 2 * ping_interval {
                    tracing::info!("reaping a WebSocket that stopped answering pings");
                    return;
                }
                Message::Ping(axum::body::Bytes::new())
            }
        };
        let closing = matches!(frame, Message::Close(_));
        match tokio::time::timeout(SEND_TIMEOUT, sender.send(frame)).await {
            Ok(Ok(())) if !closing => {}
            // Closed, or the client stopped reading: nothing more to say.
            _ => return,
        }
    }
}

/// Reads the client's frames until it closes or goes away; each one (pongs
/// included) proves it alive. Unknown or malformed frames are ignored: newer
/// clients may send more than this server understands.
async fn receive_frames(
    mut receiver: SplitStream<WebSocket>,
    state: &AppState,
    user: &SessionUser,
    heard: watch::Sender<Instant>,
) {
    // Online while this runs; dropping it when the socket ends.
    let mut presence = state.presence.connect(user.id);
    let mut last_typing: Option<Instant> = None;
    while let Some(Ok(frame)) = receiver.next().await {
        heard.send_replace(Instant::now());
        let text = match frame {
            Message::Close(_) => return,
            Message::Text(text) => text,
            _ => continue,
        };
        match serde_json::from_str(&text) {
            Ok(ClientFrame::Typing { to }) => {
                if last_typing.is_some_and(|at| at.elapsed() < typing::MIN_INTERVAL) {
                    continue;
                }
                last_typing = Some(Instant::now());
                typing::notify(state, user, &to).await;
            }
            Ok(ClientFrame::Presence { status }) => {
                presence.set_away(status == PresenceStatus::Away);
            }
            Err(_) => {}
        }
    }
}

fn encode(frame: &ServerFrame) -> Message {
    match serde_json::to_string(frame) {
        Ok(text) => Message::Text(text.into()),
        Err(error) => {
            tracing::error!(%error, "cannot encode a stream frame");
            close_frame(CloseReason::InternalError)
        }
    }
}

fn close_frame(reason: CloseReason) -> Message {
    Message::Close(Some(CloseFrame {
        code: reason.code(),
        reason: Utf8Bytes::from_static(reason.text()),
    }))
}
