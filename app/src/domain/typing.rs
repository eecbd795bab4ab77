//! "… is typing": passing signals between two people, never stored.

use super::AppState;
use super::auth::SessionUser;
use super::channel_layer::Delivery;
use crate::wire::Signal;

/// The least time between two typing signals from one connection; browsers
/// send one every 3 s while the user types.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells every connection of `to` (an active user other than `from`) that
/// `from` is typing to them. Anything else is ignored: a typing signal is
/// not worth an error.
pub async fn notify(state: &AppState, from: &SessionUser, to: &str) {
    let recipient = match state.directory.by_name(to).await {
        Ok(Some(user)) if user.is_active && user.id != from.id => user,
        Ok(_) => return,
        Err(error) => {
            tracing::debug!(%error, "typing signal dropped");
            return;
        }
    };
    state.channels.publish(vec![Delivery {
        user_id: recipient.id,
        frame: Signal::Typing {
            from: from.username.clone(),
        }
        .into(),
    }]);
}
