//! Browser-side access to the REST API and the live event stream. The
//! connections themselves exist in the `hydrate` build only; the state they
//! report is shared with the UI, which renders on the server too.

#[cfg(feature = "hydrate")]
mod live;
#[cfg(feature = "hydrate")]
mod rest;

#[cfg(feature = "hydrate")]
pub use live::{Handlers, LiveConnection};
#[cfg(feature = "hydrate")]
pub use rest::{
    SendFailure, delete_message, edit_message, fetch_message, fetch_presence, mark_read,
    post_message,
};

/// How the live event stream is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Live,
    Reconnecting,
    /// The browser says it has no network: reconnects once it has.
    Offline,
}

#[cfg(feature = "hydrate")]
const FIRST_RETRY_MS: f64 = 500.0;
#[cfg(feature = "hydrate")]
const MAX_RETRY_MS: f64 = 15_000.0;

/// How long to wait before retry number `attempts` (from 1): exponential up
/// to 15 s, with jitter so that many clients do not retry in lockstep.
#[cfg(feature = "hydrate")]
pub fn backoff(attempts: u32) -> std::time::Duration {
    let exponent = i32::try_from(attempts.clamp(1, 10)).unwrap_or(10) - 1;
    let ceiling = (FIRST_RETRY_MS * 2f64.powi(exponent)).min(MAX_RETRY_MS);
    let delay = ceiling / 2.0 + js_sys::Math::random() * ceiling / 2.0;
    std::time::Duration::from_secs_f64(delay / 1000.0)
}

/// Resolves after `duration` (a browser timer).
#[cfg(feature = "hydrate")]
pub async fn sleep(duration: std::time::Duration) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    leptos::prelude::set_timeout(
        move || {
            let _ = done.send(());
        },
        duration,
    );
    let _ = wait.await;
}
