//! Who is logged in, with the limits the UI enforces as the server does.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The logged-in user as the UI needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub username: String,
    pub max_message_chars: usize,
}

/// The logged-in user, or `None` for a visitor.
#[server(prefix = "/rpc", endpoint = "current_viewer")]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    super::super::respond(async move {
        let session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        Ok(session.user.map(|user| Viewer {
            username: user.username,
            max_message_chars: state.settings.max_message_chars,
        }))
    })
    .await
}
