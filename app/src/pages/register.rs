//! The sign-up page.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{AuthCard, PasswordField};
use crate::error::AppError;
use crate::server_fns::auth::Register;

#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let error = move || action.value().get().and_then(Result::err);
    let field_errors = move |field: &'static str| {
        Signal::derive(move || {
            error()
                .as_ref()
                .and_then(AppError::field_errors)
                .and_then(|fields| fields.get(field).cloned())
                .unwrap_or_default()
        })
    };
    let general_error = move || error().filter(|error| error.field_errors().is_none());
    let username_errors = field_errors("username");
    let email_errors = field_errors("email");
    view! {
        <AuthCard title="Create an account" subtitle="Create an account to start chatting.">
        <ActionForm action attr:class="auth-form">
            <div class="field">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required autofocus
                    minlength="3" maxlength="32" pattern="[A-Za-z0-9._\\-]+" />
                <span class="field-hint">"3–32 letters, digits, '.', '_' or '-'."</span>
                <FieldErrors errors=username_errors />
            </div>
            <div class="field">
                <label for="email">"E-mail " <span class="field-hint">"(optional)"</span></label>
                <input id="email" name="email" type="email" autocomplete="email" />
                <span class="field-hint">"For password resets. We send a link to confirm it."</span>
                <FieldErrors errors=email_errors />
            </div>
            <PasswordField
                label="Password"
                autocomplete="new-password"
                hint="At least 8 characters."
                errors=field_errors("password")
            />
            {move || general_error().map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })}
            <button class="btn btn-primary" type="submit" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Creating…" } else { "Create account" }}
            </button>
        </ActionForm>
        <p class="auth-switch">"Already have an account? " <A href="/login">"Log in"</A></p>
        </AuthCard>
    }
}

#[component]
fn FieldErrors(errors: Signal<Vec<String>>) -> impl IntoView {
    move || {
        errors
            .get()
            .into_iter()
            .map(|error| view! { <p class="form-error" role="alert">{error}</p> })
            .collect_view()
    }
}
