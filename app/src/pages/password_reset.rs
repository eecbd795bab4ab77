//! Forgotten passwords: ask for a link, then choose a new password. Plain
//! forms, so both work before the WASM loads, and without it.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{AuthCard, PasswordField};
use crate::error::AppError;
use crate::server_fns::auth::{RequestPasswordReset, ResetPassword};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let outcome = move || action.value().get();
    view! {
        <AuthCard title="Forgot your password?" subtitle="We will e-mail you a link to choose a new one.">
        <ActionForm action attr:class="auth-form">
            <div class="field">
                <label for="email">"E-mail address"</label>
                <input id="email" name="email" type="email" autocomplete="email" required autofocus />
            </div>
            {move || match outcome() {
                Some(Ok(())) => view! {
                    <p class="form-note" role="status">
                        "If an account has this address, a link is on its way. It works for an hour."
                    </p>
                }.into_any(),
                Some(Err(error)) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                None => ().into_any(),
            }}
            <button class="btn btn-primary" type="submit" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Sending…" } else { "Send the link" }}
            </button>
        </ActionForm>
        <p class="auth-switch"><A href="/login">"Back to log in"</A></p>
        </AuthCard>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let action = ServerAction::<ResetPassword>::new();
    let error = move || action.value().get().and_then(Result::err);
    let password_errors = Signal::derive(move || match error() {
        Some(AppError::Validation(fields)) => {
            fields.get("new_password").cloned().unwrap_or_default()
        }
        _ => Vec::new(),
    });
    let other_error = move || match error() {
        Some(AppError::Validation(fields)) => fields
            .get("token")
            .and_then(|problems| problems.first().cloned()),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    view! {
        <AuthCard title="Choose a new password" subtitle="Then log in with it; every other session ends.">
        <ActionForm action attr:class="auth-form">
            // `value`, not `prop:value`: it must be in the server-rendered
            // HTML for the form to work before (or without) the WASM.
            <input type="hidden" name="token" value=token />
            <PasswordField label="New password" autocomplete="new-password" hint="At least 8 characters." errors=password_errors />
            {move || other_error().map(|error| view! {
                <p class="form-error" role="alert">{error} " " <A href="/forgot-password">"Ask for a new link"</A></p>
            })}
            <button class="btn btn-primary" type="submit" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Saving…" } else { "Set the password" }}
            </button>
        </ActionForm>
        </AuthCard>
    }
}
