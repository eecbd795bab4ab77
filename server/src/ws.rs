//! `GET /ws`: the notification channel. Each open socket receives
//! `{"type": "message", "message": "<id>"}` for every message its user sends or
//! receives; the browser then GETs the message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app::domain::AppState;
use app::domain::auth::AuthSession;
use app::domain::channel_layer::Subscription;
use app::error::AppError;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// A send that takes longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Authenticates (401 without a session, 403 from another site) before the
/// upgrade, then serves the socket.
pub async fn notifications(
    State(state): State<AppState>,
    session: AuthSession,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let user = session.user.ok_or(AppError::Unauthorized)?;
    if crate::security::is_cross_site(&headers) {
        return Err(crate::security::cross_site_error());
    }
    let upgrade = upgrade.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    // Subscribe before the upgrade completes: nothing sent in between is lost.
    let subscription = state.channels.subscribe(user.id);
    let shutdown = state.shutdown.clone();
    let ping_interval = state.settings.ws_ping_interval;
    Ok(upgrade
        .on_upgrade(move |socket| serve_socket(socket, subscription, shutdown, ping_interval)))
}

/// Runs one socket: a send task forwards notifications and pings, a receive
/// task watches for pongs and the close. When either ends, both do.
async fn serve_socket(
    socket: WebSocket,
    subscription: Subscription,
    shutdown: CancellationToken,
    ping_interval: Duration,
) {
    let started = Instant::now();
    let last_heard_ms = Arc::new(AtomicU64::new(0));
    let (sender, mut receiver) = socket.split();

    let heard = Arc::clone(&last_heard_ms);
    let mut receive_task = tokio::spawn(async move {
        while let Some(Ok(frame)) = receiver.next().await {
            heard.store(elapsed_ms(started), Ordering::Relaxed);
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    });
    let mut send_task = tokio::spawn(forward_notifications(
        sender,
        subscription,
        shutdown,
        started,
        last_heard_ms,
        ping_interval,
    ));

    tokio::select! {
        _ = &mut send_task => receive_task.abort(),
        _ = &mut receive_task => send_task.abort(),
    }
}

async fn forward_notifications(
    mut sender: futures::stream::SplitSink<WebSocket, Message>,
    mut subscription: Subscription,
    shutdown: CancellationToken,
    started: Instant,
    last_heard_ms: Arc<AtomicU64>,
    ping_interval: Duration,
) {
    let mut pings = tokio::time::interval(ping_interval);
    let reap_after_ms = 2 * u64::try_from(ping_interval.as_millis()).unwrap_or(u64::MAX / 2);
    pings.tick().await;
    let close = loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => break close_frame(close_code::AWAY, "server shutting down"),
            notification = subscription.recv() => match notification {
                Ok(notification) => match serde_json::to_string(&*notification) {
                    Ok(text) => Message::Text(text.into()),
                    Err(error) => {
                        tracing::error!(%error, "cannot encode notification");
                        continue;
                    }
                },
                // Too slow to keep up: close, and the client reconnects and reloads.
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "closing a WebSocket that fell behind");
                    break close_frame(close_code::AGAIN, "fell behind; reconnect");
                }
                Err(RecvError::Closed) => break close_frame(close_code::AWAY, "channel closed"),
            },
            _ = pings.tick() => {
                let silent_ms = elapsed_ms(started).saturating_sub(last_heard_ms.load(Ordering::Relaxed));
                if silent_ms > reap_after_ms {
                    tracing::info!("reaping a WebSocket that stopped answering pings");
                    return;
                }
                Message::Ping(axum::body::Bytes::new())
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, sender.send(frame)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, sender.send(close)).await;
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
