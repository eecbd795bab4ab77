//! The forgotten-password forms' server functions.

use leptos::prelude::*;

use crate::error::AppError;

/// Sends a reset link if an account has `email`; answers the same either way.
#[server(prefix = "/rpc", endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    super::super::respond(async move {
        let state = crate::domain::AppState::from_context();
        let client = super::super::client_ip(&state);
        crate::domain::password_reset::request(&state, client, &email).await
    })
    .await
}

/// Sets the new password for the link's account, then goes to log in.
#[server(prefix = "/rpc", endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    super::super::respond(async move {
        let state = crate::domain::AppState::from_context();
        crate::domain::password_reset::confirm(&state, &token, password).await?;
        leptos_axum::redirect("/login?reset=done");
        Ok(())
    })
    .await
}
