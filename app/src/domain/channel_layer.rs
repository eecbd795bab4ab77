//! The channel layer: delivers notifications to every open connection of a user.
//!
//! One implementation today, in-process (a tokio broadcast channel per connected
//! user). A Redis-backed layer for several nodes implements the same trait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::models::Notification;

/// Notifications a connection may fall behind by before it is closed as a
/// laggard; it then reconnects and reloads instead of slowing anyone down.
pub const CONNECTION_BUFFER: usize = 256;

/// Delivers notifications to users, wherever their connections are.
pub trait ChannelLayer: Send + Sync + 'static {
    /// Sends `notification` to every open connection of `user_id`. Never blocks.
    fn publish(&self, user_id: i64, notification: Notification);

    /// Opens a stream of the notifications for `user_id`.
    fn subscribe(&self, user_id: i64) -> Subscription;
}

/// One connection's stream of notifications.
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Notification>>,
    _registration: Registration,
}

impl Subscription {
    /// The next notification. `Err(Lagged)` means this receiver fell too far
    /// behind and missed some; `Err(Closed)` that the layer is gone.
    pub async fn recv(&mut self) -> Result<Arc<Notification>, broadcast::error::RecvError> {
        self.receiver.recv().await
    }
}

/// Removes a user's channel when their last connection closes.
struct Registration {
    user_id: i64,
    channels: Arc<Mutex<HashMap<i64, broadcast::Sender<Arc<Notification>>>>>,
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

/// Delivers within this process: enough for a single node.
#[derive(Default)]
pub struct InProcessChannelLayer {
    channels: Arc<Mutex<HashMap<i64, broadcast::Sender<Arc<Notification>>>>>,
}

impl InProcessChannelLayer {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many users have at least one open connection on this node.
    pub fn connected_users(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl ChannelLayer for InProcessChannelLayer {
    fn publish(&self, user_id: i64, notification: Notification) {
        let channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = channels.get(&user_id) {
            // An error only means every receiver has just gone away.
            let _ = sender.send(Arc::new(notification));
        }
    }

    fn subscribe(&self, user_id: i64) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = channels
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(CONNECTION_BUFFER).0)
            .subscribe();
        Subscription {
            receiver,
            _registration: Registration {
                user_id,
                channels: Arc::clone(&self.channels),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64) -> Notification {
        Notification::Message {
            message: id.to_string(),
        }
    }

    #[tokio::test]
    async fn every_subscription_of_a_user_gets_each_notification() {
        let layer = InProcessChannelLayer::new();
        let mut first_tab = layer.subscribe(1);
        let mut second_tab = layer.subscribe(1);
        let mut other_user = layer.subscribe(2);
        layer.publish(1, message(7));
        assert_eq!(*first_tab.recv().await.unwrap(), message(7));
        assert_eq!(*second_tab.recv().await.unwrap(), message(7));
        assert!(other_user.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_laggard_is_told_it_missed_notifications() {
        let layer = InProcessChannelLayer::new();
        let mut slow = layer.subscribe(1);
        for id in 0..=i64::try_from(CONNECTION_BUFFER).unwrap() {
            layer.publish(1, message(id));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
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
}
