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
use app::domain::auth::{self, AuthSession, SessionUser};
use app::domain::client_ip::ClientIp;
use app::domain::limits::{SignalLimit, SocketSlot, address_key};
use app::domain::stream::{EventStream, StreamItem, StreamProtocol, StreamSession};
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
/// library's default of 128 KiB each way. The client's frames (pongs, typing,
/// away) are tens of bytes; a larger one grows the buffer to fit.
const READ_BUFFER: usize = 512;
/// What a socket may hold unsent before it counts as stuck (then it is
/// closed and the client replays on reconnect).
const MAX_UNSENT: usize = 256 * 1024;
/// The largest frame a client may send: its frames are a few dozen bytes
/// (typing, away); anything larger closes the socket with 1009.
pub const MAX_CLIENT_FRAME: usize = 4 * 1024;

/// `?since=N`: the last sequence number the client applied.
#[derive(Debug, Deserialize)]
pub struct StreamPosition {
    since: Option<i64>,
}

/// Authenticates (401 without a session, 403 from another site), checks
/// `since` (400) and the socket limits (429) before the upgrade, then serves
/// the socket as a task the node waits for at shutdown.
pub async fn notifications(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Query(position): Query<StreamPosition>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let user = session.user.clone().ok_or(AppError::Unauthorized)?;
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
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .protocols([STREAM_PROTOCOL]);
    let limits = &state.limits;
    limits.sockets_per_ip.check(&address_key(client)).await?;
    limits.sockets_per_user.check(&user.id.to_string()).await?;
    let slot = limits.open_sockets.open(user.id)?;
    // ChatApp's client asks for the whole stream; the original app's client
    // asks for nothing and gets what it understands.
    let protocol = if upgrade.selected_protocol().is_some() {
        StreamProtocol::Full
    } else {
        StreamProtocol::NewMessagesOnly
    };
    // The stream closes (4401) when the session would end: idle past its
    // expiry, or its lifetime over, unless it was used meanwhile.
    let session_id = session.session.id().map(|id| id.to_string());
    let lifetime_end = auth::session_deadline(&session.session, &state.settings).await;
    let idle_end =
        chrono::DateTime::from_timestamp(session.session.expiry_date().unix_timestamp(), 0);
    let stream_session = session_id.map(|id| StreamSession {
        id,
        ends_at: lifetime_end
            .zip(idle_end)
            .map_or_else(chrono::Utc::now, |(lifetime, idle)| lifetime.min(idle)),
    });
    // Subscribed before the upgrade completes: nothing committed from here on is lost.
    let stream = EventStream::open(&state, user.id, stream_session, position.since, protocol);
    let tasks = state.tasks.clone();
    Ok(upgrade.on_upgrade(move |socket| {
        tasks.track_future(serve_socket(socket, stream, state, user, slot))
    }))
}

/// Runs one socket: the outgoing half streams frames and pings, the incoming
/// half reads the client's frames and pongs. When the outgoing half ends,
/// both do; when the incoming half ends with a reason (a frame too large, not
/// UTF-8), the outgoing half says it in a close frame first.
async fn serve_socket(
    socket: WebSocket,
    stream: EventStream,
    state: AppState,
    user: SessionUser,
    _slot: SocketSlot,
) {
    let _counted = crate::monitoring::OpenSocket::opened();
    let (sender, receiver) = socket.split();
    let (heard, last_heard) = watch::channel(Instant::now());
    let (closing, close_reason) = watch::channel(None);
    let ping_interval = state.settings.ws_ping_interval;
    let send = send_frames(sender, stream, ping_interval, last_heard, close_reason);
    tokio::pin!(send);
    tokio::select! {
        () = &mut send => {}
        ended = receive_frames(receiver, &state, &user, heard) => {
            if let Some(reason) = ended {
                closing.send_replace(Some(reason));
                let _ = tokio::time::timeout(SEND_TIMEOUT, send).await;
            }
        }
    }
}

/// Streams the user's frames and a ping every interval; stops (closing with
/// the stream's reason, or the one `close_reason` gives) when the stream ends
/// or the client misbehaved, or drops a socket silent for two intervals.
async fn send_frames(
    mut sender: SplitSink<WebSocket, Message>,
    mut stream: EventStream,
    ping_interval: Duration,
    last_heard: watch::Receiver<Instant>,
    mut close_reason: watch::Receiver<Option<CloseReason>>,
) {
    let mut pings = tokio::time::interval(ping_interval);
    pings.tick().await;
    loop {
        let frame = tokio::select! {
            item = stream.next() => match item {
                StreamItem::Frame(frame) => {
                    crate::monitoring::frame_sent(&frame);
                    encode(&frame)
                }
                StreamItem::Close(reason) => close_frame(reason),
            },
            Ok(()) = close_reason.changed() => match *close_reason.borrow() {
                Some(reason) => close_frame(reason),
                None => continue,
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
/// clients may send more than this server understands. Typing and presence
/// frames past the socket's allowance are dropped. Returns why to close,
/// when the client broke the protocol.
async fn receive_frames(
    mut receiver: SplitStream<WebSocket>,
    state: &AppState,
    user: &SessionUser,
    heard: watch::Sender<Instant>,
) -> Option<CloseReason> {
    // Online while this runs; dropping it when the socket ends.
    let mut presence = state.presence.connect(user.id);
    let signals: SignalLimit = state.limits.signals();
    let mut last_typing: Option<Instant> = None;
    while let Some(frame) = receiver.next().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return protocol_violation(error),
        };
        heard.send_replace(Instant::now());
        let text = match frame {
            Message::Close(_) => return None,
            Message::Text(text) => text,
            _ => continue,
        };
        let Ok(frame) = serde_json::from_str::<ClientFrame>(&text) else {
            continue;
        };
        if !signals.allows() {
            metrics::counter!("chatapp_rate_limited_total", "limit" => "signals_socket")
                .increment(1);
            continue;
        }
        match frame {
            ClientFrame::Typing { to } => {
                if last_typing.is_some_and(|at| at.elapsed() < typing::MIN_INTERVAL) {
                    continue;
                }
                last_typing = Some(Instant::now());
                // Boxed: a directory lookup, rare next to the socket's idle life.
                Box::pin(typing::notify(state, user, &to)).await;
            }
            ClientFrame::Presence { status } => {
                presence.set_away(status == PresenceStatus::Away);
            }
        }
    }
    None
}

/// Why to close after a failed read: the client sent too much (1009) or
/// text that is not UTF-8 (1007); anything else is the connection gone.
fn protocol_violation(error: axum::Error) -> Option<CloseReason> {
    match error.into_inner().downcast::<tungstenite::Error>() {
        Ok(error) => match *error {
            tungstenite::Error::Capacity(_) => Some(CloseReason::MessageTooBig),
            tungstenite::Error::Utf8(_) => Some(CloseReason::InvalidPayload),
            _ => None,
        },
        Err(_) => None,
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
