//! The channel layer for several nodes: Redis pub/sub between them, the
//! in-process layer within each.
//!
//! - Every node keeps one subscriber connection (not one per WebSocket) on one
//!   channel, and publishes through the node's shared command connection
//!   ([`RedisLink`]).
//! - A publish is delivered locally at once, then queued for Redis; other nodes
//!   deliver it to their own connections. A node ignores its own echoes.
//! - Redis down: local users are still served. Both connections retry with
//!   backoff; once the subscriber is back, every local connection replays what
//!   it missed from the database, and the session cache is dropped (endings
//!   published meanwhile were lost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{
    ChannelLayer, Delivery, InProcessChannelLayer, LayerStatus, SessionEnding, Subscription,
};
use crate::domain::redis_link::{REDIS_TIMEOUT, RedisLink};

/// The pub/sub channel all nodes share.
const CHANNEL: &str = "chatapp:cluster";
/// Messages waiting for Redis while it is unreachable; past this, the newest
/// are dropped (receivers still replay them from the database on reconnect).
const OUTBOX_CAPACITY: usize = 10_000;
/// How often an idle subscriber checks that Redis still answers.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// Reconnection backoff: from the first to the longest wait, with jitter.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What nodes tell each other.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The sending node, so it can skip its own echo.
    node: String,
    #[serde(flatten)]
    body: Body,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Body {
    Deliveries {
        deliveries: Vec<Delivery>,
    },
    SessionEnded {
        session_id: String,
    },
    UserSessionsEnded {
        user_id: i64,
        except: Option<String>,
    },
    SessionRenamed {
        from: String,
        to: String,
    },
    /// The sender may have failed to publish something: every node's
    /// connections should replay from the database.
    CatchUp,
}

/// Redis pub/sub between nodes; see the module docs.
pub struct RedisChannelLayer {
    local: Arc<InProcessChannelLayer>,
    link: Arc<RedisLink>,
    outbox: mpsc::Sender<String>,
    /// Set when the outbox was full and a signal was dropped.
    dropped: Arc<AtomicBool>,
}

impl RedisChannelLayer {
    /// Starts the layer's publisher and subscriber as tasks of `tasks`, until
    /// `shutdown`. An unreachable Redis is retried, and the node serves its
    /// local users meanwhile.
    pub fn start(link: Arc<RedisLink>, tasks: &TaskTracker, shutdown: &CancellationToken) -> Self {
        let local = Arc::new(InProcessChannelLayer::new());
        let dropped = Arc::new(AtomicBool::new(false));
        let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
        tasks.spawn(run_publisher(
            Arc::clone(&link),
            queued,
            Arc::clone(&dropped),
            shutdown.clone(),
        ));
        tasks.spawn(run_subscriber(
            Arc::clone(&link),
            Arc::clone(&local),
            shutdown.clone(),
        ));
        Self {
            local,
            link,
            outbox,
            dropped,
        }
    }

    fn send(&self, body: Body) {
        let Some(payload) = encode(self.link.node(), body) else {
            return;
        };
        if self.outbox.try_send(payload).is_err() && !self.dropped.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "Redis outbox full: dropping cross-node signals; other nodes catch up once it drains"
            );
        }
    }
}

fn encode(node: &str, body: Body) -> Option<String> {
    let envelope = Envelope {
        node: node.to_owned(),
        body,
    };
    serde_json::to_string(&envelope)
        .inspect_err(|error| tracing::error!(%error, "cannot encode a cluster message"))
        .ok()
}

impl ChannelLayer for RedisChannelLayer {
    fn publish(&self, deliveries: Vec<Delivery>) {
        self.local.publish(deliveries.clone());
        self.send(Body::Deliveries { deliveries });
    }

    fn subscribe(&self, user_id: i64) -> Subscription {
        self.local.subscribe(user_id)
    }

    fn end_session(&self, session_id: &str) {
        self.local.end_session(session_id);
        self.send(Body::SessionEnded {
            session_id: session_id.to_owned(),
        });
    }

    fn end_user_sessions(&self, user_id: i64, except: Option<&str>) {
        self.local.end_user_sessions(user_id, except);
        self.send(Body::UserSessionsEnded {
            user_id,
            except: except.map(str::to_owned),
        });
    }

    fn rename_session(&self, from: &str, to: &str) {
        self.local.rename_session(from, to);
        self.send(Body::SessionRenamed {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }

    fn session_endings(&self) -> broadcast::Receiver<SessionEnding> {
        self.local.session_endings()
    }

    fn status(&self) -> LayerStatus {
        if self.link.is_linked() {
            LayerStatus::Connected
        } else {
            LayerStatus::Disconnected
        }
    }
}

/// Publishes queued messages in order through the shared connection; on
/// failure, waits (with backoff) and publishes the same message again. After
/// any failure or dropped signal it also publishes a catch-up request, since
/// a node that stayed subscribed throughout would otherwise never replay what
/// this one failed to send. Drains what is queued before it stops.
async fn run_publisher(
    link: Arc<RedisLink>,
    mut queued: mpsc::Receiver<String>,
    dropped: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let mut connection = link.commands();
    let mut failures = 0;
    let mut owe_catch_up = false;
    loop {
        let payload = tokio::select! {
            biased;
            payload = queued.recv() => match payload {
                Some(payload) => payload,
                None => return,
            },
            () = shutdown.cancelled() => return,
        };
        loop {
            match connection.publish::<_, _, ()>(CHANNEL, &payload).await {
                Ok(()) => {
                    failures = 0;
                    owe_catch_up |= dropped.swap(false, Ordering::Relaxed);
                    if owe_catch_up && let Some(catch_up) = encode(link.node(), Body::CatchUp) {
                        owe_catch_up = connection
                            .publish::<_, _, ()>(CHANNEL, catch_up)
                            .await
                            .is_err();
                    }
                    break;
                }
                Err(error) => {
                    failures += 1;
                    owe_catch_up = true;
                    if failures == 1 {
                        tracing::warn!(%error, "cannot publish to Redis; retrying");
                    }
                    if !sleep_or_shutdown(backoff(failures), &shutdown).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Keeps one subscription open, delivering what other nodes publish, and
/// reconnects with backoff whenever it breaks.
async fn run_subscriber(
    link: Arc<RedisLink>,
    local: Arc<InProcessChannelLayer>,
    shutdown: CancellationToken,
) {
    let mut failures = 0_u32;
    loop {
        match subscribe(link.client()).await {
            Ok((mut sink, mut messages)) => {
                link.set_linked(true);
                if failures > 0 {
                    tracing::info!("reconnected to Redis");
                    metrics::counter!("chatapp_redis_reconnects_total").increment(1);
                } else {
                    tracing::info!("connected to Redis");
                }
                failures = 0;
                // Whatever was published while we were not subscribed is lost
                // to us: connections replay it, and cached sessions are re-read.
                local.request_catch_up();
                local.announce(SessionEnding::Unknown);

                let mut heartbeat =
                    tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => {
                            link.set_linked(false);
                            return;
                        }
                        message = messages.next() => match message {
                            Some(message) => receive(&local, link.node(), &message),
                            None => break,
                        },
                        _ = heartbeat.tick() => {
                            // In subscriber mode PING answers ["pong", ""]: any reply will do.
                            let alive = tokio::time::timeout(REDIS_TIMEOUT, sink.ping::<redis::Value>()).await;
                            if !matches!(alive, Ok(Ok(_))) {
                                break;
                            }
                        }
                    }
                }
                link.set_linked(false);
                tracing::warn!("lost the Redis subscription; serving local users until it is back");
            }
            Err(error) => {
                link.set_linked(false);
                if failures == 0 {
                    tracing::warn!(%error, "cannot subscribe to Redis; retrying");
                }
            }
        }
        failures += 1;
        if !sleep_or_shutdown(backoff(failures), &shutdown).await {
            return;
        }
    }
}

async fn subscribe(
    client: &redis::Client,
) -> redis::RedisResult<(redis::aio::PubSubSink, redis::aio::PubSubStream)> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok(pubsub.split())
    };
    tokio::time::timeout(REDIS_TIMEOUT, connect)
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "timed out subscribing",
            )))
        })
}

fn receive(local: &InProcessChannelLayer, node: &str, message: &redis::Msg) {
    let envelope: Envelope = match serde_json::from_slice(message.get_payload_bytes()) {
        Ok(envelope) => envelope,
        Err(error) => {
            // Perhaps a node of another version: whatever it said is lost to
            // this node's connections, so they replay from the database.
            tracing::warn!(%error, "an unreadable cluster message; catching up");
            local.request_catch_up();
            return;
        }
    };
    if envelope.node == node {
        return;
    }
    match envelope.body {
        Body::Deliveries { deliveries } => local.publish(deliveries),
        Body::SessionEnded { session_id } => {
            local.announce(SessionEnding::One(session_id.into()));
        }
        Body::UserSessionsEnded { user_id, except } => {
            local.announce(SessionEnding::User {
                user_id,
                except: except.map(Into::into),
            });
        }
        Body::SessionRenamed { from, to } => {
            local.announce(SessionEnding::Renamed {
                from: from.into(),
                to: to.into(),
            });
        }
        Body::CatchUp => local.request_catch_up(),
    }
}

/// Exponential backoff with full jitter, so restarted nodes do not reconnect
/// in lockstep.
fn backoff(failures: u32) -> Duration {
    let ceiling = BACKOFF_FIRST
        .saturating_mul(2_u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(BACKOFF_MAX);
    ceiling.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// Sleeps; false if the node started shutting down meanwhile.
async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

/// Tells the nodes behind `link`'s Redis that all sessions of `user_id`
/// ended, from a process that is not a node (the admin commands).
pub async fn announce_user_sessions_ended(
    link: &RedisLink,
    user_id: i64,
) -> redis::RedisResult<()> {
    let Some(payload) = encode(
        link.node(),
        Body::UserSessionsEnded {
            user_id,
            except: None,
        },
    ) else {
        return Ok(());
    };
    link.commands().publish::<_, _, ()>(CHANNEL, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        assert!(backoff(1) <= BACKOFF_FIRST);
        assert!(backoff(1) >= BACKOFF_FIRST / 2);
        assert!(backoff(30) <= BACKOFF_MAX);
        assert!(backoff(30) >= BACKOFF_MAX / 2);
    }
}
