//! The settings page's server functions.

use leptos::prelude::*;

use crate::error::AppError;
use crate::wire::AccountSettings;

/// The viewer's account settings.
#[server(prefix = "/rpc", endpoint = "account_settings")]
pub async fn load_account_settings() -> Result<AccountSettings, AppError> {
    super::super::respond(async move {
        let user = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::account_settings::get(&state, &user).await
    })
    .await
}

/// Saves the e-mail address and the read-receipts choice.
#[server(prefix = "/rpc", endpoint = "save_account_settings")]
pub async fn save_account_settings(
    email: String,
    current_password: Option<String>,
    send_read_receipts: Option<String>,
) -> Result<AccountSettings, AppError> {
    super::super::respond(async move {
        let user = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        let changes = crate::wire::AccountChanges {
            email: Some(email),
            current_password,
            // An unticked checkbox is simply absent from a form.
            send_read_receipts: Some(send_read_receipts.is_some()),
        };
        crate::domain::account_settings::update(&state, &user, changes).await
    })
    .await
}

/// Cancels the e-mail change waiting for its link.
#[server(prefix = "/rpc", endpoint = "cancel_email_change")]
pub async fn cancel_email_change() -> Result<AccountSettings, AppError> {
    super::super::respond(async move {
        let user = super::super::require_user().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::account_settings::cancel_email_change(&state, &user).await
    })
    .await
}

/// Changes the password; other sessions end.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(current_password: String, password: String) -> Result<(), AppError> {
    super::super::respond(async move {
        let mut session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::account_settings::change_password(
            &state,
            &mut session,
            &current_password,
            password,
        )
        .await
    })
    .await
}

/// Ends every other session of the viewer.
#[server(prefix = "/rpc", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    super::super::respond(async move {
        let mut session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::account_settings::end_other_sessions(&state, &mut session).await
    })
    .await
}

/// Deletes the viewer's account after checking their password, and sends
/// the browser to the log-in page.
#[server(prefix = "/rpc", endpoint = "delete_account")]
pub async fn delete_account(current_password: String) -> Result<(), AppError> {
    super::super::respond(async move {
        let mut session: crate::domain::auth::AuthSession = leptos_axum::extract().await?;
        let state = crate::domain::AppState::from_context();
        crate::domain::account_data::delete_account(&state, &mut session, &current_password)
            .await?;
        leptos_axum::redirect("/login?account=deleted");
        Ok(())
    })
    .await
}

/// Confirms a new e-mail address with the token its link carried (no
/// session needed: the link may be opened on another device), and sends
/// the browser to the page that says so.
#[server(prefix = "/rpc", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    super::super::respond(async move {
        let state = crate::domain::AppState::from_context();
        let confirmed = crate::domain::email_change::confirm(&state, &token).await?;
        leptos_axum::redirect(if confirmed.restored {
            "/confirm-email?restored=1"
        } else {
            "/confirm-email?confirmed=1"
        });
        Ok(())
    })
    .await
}
