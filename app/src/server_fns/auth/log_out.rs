//! The log-out button's server function.

use leptos::prelude::*;

use crate::error::AppError;

/// Ends the session and sends the browser to the log-in page.
#[server(prefix = "/rpc", endpoint = "log_out")]
pub async fn log_out() -> Result<(), AppError> {
    super::super::respond(async move {
        let mut session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::auth::log_out(&mut session, &state).await?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}
