//! Server functions the UI calls, one per file, grouped by resource. Each is a
//! thin edge over the domain layer, like the REST handlers.

pub mod auth;
pub mod messages;
pub mod users;

use serde::{Deserialize, Serialize};

/// A slice of a longer list, for "load more" and infinite scroll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// The logged-in user, as a server function answers it.
#[cfg(feature = "ssr")]
pub(crate) async fn require_user()
-> Result<crate::domain::auth::SessionUser, crate::error::AppError> {
    let session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
    session.user.ok_or(crate::error::AppError::Unauthorized)
}
