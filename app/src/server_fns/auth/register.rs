//! The sign-up form's server function.

use leptos::prelude::*;

use crate::error::AppError;

/// Creates the account, logs it in and sends the browser to the chat.
#[server(prefix = "/rpc", endpoint = "register")]
pub async fn register(
    username: String,
    password: String,
    email: Option<String>,
) -> Result<(), AppError> {
    super::super::respond(async move {
        use crate::domain::auth;
        let mut session: auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        let registration = crate::wire::Registration {
            // A stray space from a phone keyboard is not part of the name.
            username: username.trim().to_owned(),
            password,
            email,
        };
        let client = super::super::client_ip(&state);
        auth::sign_up(&mut session, &state, client, registration).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
