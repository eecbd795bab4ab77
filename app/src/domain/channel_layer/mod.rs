//! The channel layer: tells every open connection of a user, on any node, that
//! something new happened, and tells every node that a session has ended.
//!
//! Two implementations: in-process (one node; a tokio broadcast channel per
//! connected user) and Redis pub/sub (many nodes; [`redis::RedisChannelLayer`]).
//! Either may drop a signal (a slow socket, a Redis outage): the events
//! themselves are in the database, and a connection that notices a gap in the
//! sequence numbers, or is told to catch up, replays them from there.

pub mod redis;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::wire::ServerFrame;

/// Frames a connection may fall behind by before it stops receiving them one
/// by one and replays from the database instead. Small: every connected user
/// has one such buffer, and a laggard loses nothing by replaying.
pub const CONNECTION_BUFFER: usize = 16;

/// Session endings a node may fall behind by before it drops its whole
/// session cache instead.
const SESSION_ENDINGS_BUFFER: usize = 1024;

/// One frame for every connection of one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub user_id: i64,
    /// Named as earlier nodes name it, so nodes of both versions understand
    /// each other during a rolling upgrade.
    #[serde(rename = "notification")]
    pub frame: ServerFrame,
}

/// A session that stopped being valid, as every node must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnding {
    /// This session id was logged out.
    One(Arc<str>),
    /// Every session of this user but `except` ended (a new password, "log
    /// out other sessions", deactivation).
    User {
        user_id: i64,
        except: Option<Arc<str>>,
    },
    /// Endings may have been missed (the link between nodes was down): forget
    /// every cached session and read them from the database again.
    Unknown,
    /// The session `from` lives on as `to` (its id was rotated, on a new
    /// password): `from` is worthless now, but its connections are the same
    /// browser's and carry on as `to`.
    Renamed { from: Arc<str>, to: Arc<str> },
}

/// How the layer is doing, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerStatus {
    /// Single node: nothing to be connected to.
    InProcess,
    /// Linked to the other nodes.
    Connected,
    /// Serving local users only until the link is back.
    Disconnected,
}

/// Delivers notifications to users, wherever their connections are.
pub trait ChannelLayer: Send + Sync + 'static {
    /// Sends each delivery to every open connection of its user, on every
    /// node. Never blocks.
    fn publish(&self, deliveries: Vec<Delivery>);

    /// Opens a stream of the notifications for `user_id` on this node.
    fn subscribe(&self, user_id: i64) -> Subscription;

    /// Tells every node that `session_id` was logged out.
    fn end_session(&self, session_id: &str);

    /// Tells every node that all of `user_id`'s sessions but `except` ended.
    fn end_user_sessions(&self, user_id: i64, except: Option<&str>);

    /// Tells every node that session `from` is now `to`.
    fn rename_session(&self, from: &str, to: &str);

    /// The sessions that end, on any node, from now on.
    fn session_endings(&self) -> broadcast::Receiver<SessionEnding>;

    fn status(&self) -> LayerStatus;
}

/// What a connection should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this (if it is not older than what the client has).
    Frame(Arc<ServerFrame>),
    /// Notifications may have been missed: replay from the database.
    CatchUp,
    /// The layer is gone (the node is shutting down).
    Closed,
}

/// One connection's stream of frames.
pub struct Subscription {
    receiver: broadcast::Receiver<Published>,
    catch_up: watch::Receiver<u64>,
    _registration: Registration,
}

impl Subscription {
    pub async fn next(&mut self) -> Next {
        tokio::select! {
            biased;
            Ok(()) = self.catch_up.changed() => Next::CatchUp,
            received = self.receiver.recv() => match received {
                Ok((frame, published_at)) => {
                    metrics::histogram!("chatapp_delivery_lag_seconds")
                        .record(published_at.elapsed());
                    Next::Frame(frame)
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "a connection fell behind; it replays from the database");
                    Next::CatchUp
                }
                Err(broadcast::error::RecvError::Closed) => Next::Closed,
            },
        }
    }
}

/// A frame and when it was published on this node (right after its commit,
/// or on arrival from another node): how late it reaches a connection is
/// the delivery lag.
type Published = (Arc<ServerFrame>, std::time::Instant);

type Channels = Arc<Mutex<HashMap<i64, broadcast::Sender<Published>>>>;

/// Removes a user's channel when their last connection closes.
struct Registration {
    user_id: i64,
    channels: Channels,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        // The receiver of this subscription is dropped before its registration,
        // so a count of zero means nobody is listening any more.
        if channels
            .get(&self.user_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.user_id);
        }
    }
}

/// Sees every delivery on its way to this node's connections, whoever
/// published it (this node, or another through Redis).
pub type Observer = Arc<dyn Fn(&[Delivery]) + Send + Sync>;

/// Delivers within this process: enough for a single node, and the local
/// half of the Redis layer.
pub struct InProcessChannelLayer {
    channels: Channels,
    catch_up: watch::Sender<u64>,
    session_endings: broadcast::Sender<SessionEnding>,
    observer: Option<Observer>,
}

impl Default for InProcessChannelLayer {
    fn default() -> Self {
        Self {
            channels: Arc::default(),
            catch_up: watch::channel(0).0,
            session_endings: broadcast::channel(SESSION_ENDINGS_BUFFER).0,
            observer: None,
        }
    }
}

impl InProcessChannelLayer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that shows every delivery to `observer` first.
    pub fn observed_by(observer: Observer) -> Self {
        Self {
            observer: Some(observer),
            ..Self::default()
        }
    }

    /// How many users have at least one open connection on this node.
    pub fn connected_users(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Tells every connection on this node to replay from the database.
    pub fn request_catch_up(&self) {
        self.catch_up.send_modify(|generation| *generation += 1);
    }

    /// Announces a session ending to this node's listeners.
    pub fn announce(&self, ending: SessionEnding) {
        // An error only means nobody listens yet.
        let _ = self.session_endings.send(ending);
    }
}

impl ChannelLayer for InProcessChannelLayer {
    fn publish(&self, deliveries: Vec<Delivery>) {
        if let Some(observer) = &self.observer {
            observer(&deliveries);
        }
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        for Delivery { user_id, frame } in deliveries {
            if let Some(sender) = channels.get(&user_id) {
                // An error only means every receiver has just gone away.
                let _ = sender.send((Arc::new(frame), now));
            }
        }
    }

    fn subscribe(&self, user_id: i64) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = channels
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(CONNECTION_BUFFER).0)
            .subscribe();
        let mut catch_up = self.catch_up.subscribe();
        catch_up.mark_unchanged();
        Subscription {
            receiver,
            catch_up,
            _registration: Registration {
                user_id,
                channels: Arc::clone(&self.channels),
            },
        }
    }

    fn end_session(&self, session_id: &str) {
        self.announce(SessionEnding::One(session_id.into()));
    }

    fn end_user_sessions(&self, user_id: i64, except: Option<&str>) {
        self.announce(SessionEnding::User {
            user_id,
            except: except.map(Arc::from),
        });
    }

    fn rename_session(&self, from: &str, to: &str) {
        self.announce(SessionEnding::Renamed {
            from: from.into(),
            to: to.into(),
        });
    }

    fn session_endings(&self) -> broadcast::Receiver<SessionEnding> {
        self.session_endings.subscribe()
    }

    fn status(&self) -> LayerStatus {
        LayerStatus::InProcess
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::wire::{Event, EventBody};

    fn message(user_id: i64, seq: i64) -> Delivery {
        Delivery {
            user_id,
            frame: Event {
                body: EventBody::Message {
                    message: seq,
                    with: "bob".into(),
                    unread: None,
                },
                seq,
            }
            .into(),
        }
    }

    /// The subscription's next step, or a failure after ten seconds.
    async fn next(subscription: &mut Subscription) -> Next {
        tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("a step within 10 s")
    }

    #[tokio::test]
    async fn every_subscription_of_a_user_gets_each_frame() {
        let layer = InProcessChannelLayer::new();
        let mut first_tab = layer.subscribe(1);
        let mut second_tab = layer.subscribe(1);
        let mut other_user = layer.subscribe(2);
        layer.publish(vec![message(1, 7)]);
        let expected = Next::Frame(Arc::new(message(1, 7).frame));
        assert_eq!(next(&mut first_tab).await, expected);
        assert_eq!(next(&mut second_tab).await, expected);
        assert!(other_user.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_laggard_is_told_to_catch_up() {
        let layer = InProcessChannelLayer::new();
        let mut slow = layer.subscribe(1);
        for seq in 0..=i64::try_from(CONNECTION_BUFFER).unwrap() {
            layer.publish(vec![message(1, seq)]);
        }
        assert_eq!(next(&mut slow).await, Next::CatchUp);
    }

    #[tokio::test]
    async fn a_catch_up_request_reaches_every_connection_once() {
        let layer = InProcessChannelLayer::new();
        let mut first = layer.subscribe(1);
        let mut second = layer.subscribe(2);
        layer.request_catch_up();
        assert_eq!(next(&mut first).await, Next::CatchUp);
        assert_eq!(next(&mut second).await, Next::CatchUp);
        // Once: the next step of each is the next frame, not another catch-up.
        layer.publish(vec![message(1, 3), message(2, 4)]);
        assert_eq!(
            next(&mut first).await,
            Next::Frame(Arc::new(message(1, 3).frame))
        );
        assert_eq!(
            next(&mut second).await,
            Next::Frame(Arc::new(message(2, 4).frame))
        );
    }

    #[test]
    fn the_last_closed_connection_frees_the_channel() {
        let layer = InProcessChannelLayer::new();
        let first = layer.subscribe(1);
        let second = layer.subscribe(1);
        assert_eq!(layer.connected_users(), 1);
        drop(first);
        assert_eq!(layer.connected_users(), 1);
        drop(second);
        assert_eq!(layer.connected_users(), 0);
    }

    #[test]
    fn deliveries_keep_the_field_names_earlier_nodes_use() {
        let json = serde_json::to_value(message(5, 2)).unwrap();
        assert_eq!(json["user_id"], 5);
        assert_eq!(json["notification"]["type"], "message");
        assert_eq!(json["notification"]["seq"], 2);
    }
}
