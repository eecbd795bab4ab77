//! The log-in form's server function.

use leptos::prelude::*;

use crate::error::AppError;

/// Checks the credentials, starts a session and sends the browser to the chat.
#[server(prefix = "/rpc", endpoint = "log_in")]
pub async fn log_in(username: String, password: String) -> Result<(), AppError> {
    super::super::respond(async move {
        use crate::domain::auth::{self, AuthSession};
        use crate::wire::Credentials;
        let mut session: AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        let client = super::super::client_ip(&state);
        auth::log_in(
            &mut session,
            &state,
            client,
            Credentials { username, password },
        )
        .await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
