//! The page an e-mail confirmation link opens. Confirming takes a press of
//! the button, not the visit alone: mail scanners fetch links before their
//! reader does. A plain form, so it works before the WASM loads, and without.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::AuthCard;
use crate::error::AppError;
use crate::server_fns::auth::ConfirmEmail;

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let confirmed = move || query.read().get("confirmed").is_some();
    let restored = move || query.read().get("restored").is_some();
    let action = ServerAction::<ConfirmEmail>::new();
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|error| match error {
                AppError::Validation(fields) | AppError::Conflict(fields) => fields
                    .values()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_default(),
                other => other.to_string(),
            })
    };
    view! {
        <AuthCard title="Confirm your e-mail address" subtitle="Password reset links will go to it.">
            <Show
                when=move || confirmed() || restored()
                fallback=move || view! {
                    <ActionForm action attr:class="auth-form">
                        // `value`, not `prop:value`: it must be in the
                        // server-rendered HTML for the form to work without
                        // the WASM.
                        <input type="hidden" name="token" value=token />
                        {move || error().map(|error| view! {
                            <p class="form-error" role="alert">{error}</p>
                        })}
                        <button class="btn btn-primary" type="submit" disabled=move || action.pending().get()>
                            {move || if action.pending().get() { "Confirming…" } else { "Confirm this address" }}
                        </button>
                    </ActionForm>
                }
            >
                {move || if restored() {
                    view! {
                        <p class="form-note" role="status">
                            "Your address is back, and everyone is logged out of your account. "
                            "If someone changed your password, "
                            <A href="/forgot-password">"choose a new one"</A> "."
                        </p>
                    }.into_any()
                } else {
                    view! {
                        <p class="form-note" role="status">
                            "Your new e-mail address is confirmed. Password reset links now go to it."
                        </p>
                    }.into_any()
                }}
            </Show>
            <p class="auth-switch"><A href="/settings">"Your settings"</A> " · " <A href="/">"Your conversations"</A></p>
        </AuthCard>
    }
}
