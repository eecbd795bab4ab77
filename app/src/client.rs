//! Browser-side access to the REST API and the live notification socket.
//! Compiled for the `hydrate` build only; the server never calls it.

mod live;
mod rest;

pub use live::LiveConnection;
pub use rest::{
    SendFailure, delete_message, edit_message, fetch_message, fetch_presence, mark_read,
    post_message,
};

const FIRST_RETRY_MS: f64 = 500.0;
const MAX_RETRY_MS: f64 = 15_000.0;

/// How long to wait before retry number `attempts` (from 1): exponential up
/// to 15 s, with jitter so that many clients do not retry in lockstep.
pub fn backoff(attempts: u32) -> std::time::Duration {
    let exponent = i32::try_from(attempts.clamp(1, 10)).unwrap_or(10) - 1;
    let ceiling = (FIRST_RETRY_MS * 2f64.powi(exponent)).min(MAX_RETRY_MS);
    let delay = ceiling / 2.0 + js_sys::Math::random() * ceiling / 2.0;
    std::time::Duration::from_secs_f64(delay / 1000.0)
}

/// Resolves after `duration` (a browser timer).
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
