//! Browser-side access to the REST API and the live notification socket.
//! Compiled for the `hydrate` build only; the server never calls it.

mod live;
mod rest;

pub use live::LiveConnection;
pub use rest::{fetch_message, post_message};
