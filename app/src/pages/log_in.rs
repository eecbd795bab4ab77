//! The log-in page. A plain form: it works before the WASM loads, and without it.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{AuthCard, PasswordField};
use crate::server_fns::auth::LogIn;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = move || action.value().get().and_then(Result::err);
    let query = leptos_router::hooks::use_query_map();
    let reset_done = move || query.read().get("reset").as_deref() == Some("done");
    let account_deleted = move || query.read().get("account").as_deref() == Some("deleted");
    // Refused: the password is selected, ready to be typed again (the
    // button, disabled while waiting, had dropped the focus).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        if action.value().with(|value| matches!(value, Some(Err(_))))
            && let Some(input) = document()
                .get_element_by_id("password")
                .and_then(|element| element.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            let _ = input.focus();
            input.select();
        }
    });
    view! {
        <AuthCard title="Log in" subtitle="Log in to pick up your conversations.">
        <ActionForm action attr:class="auth-form">
            <div class="field">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required autofocus />
            </div>
            <PasswordField label="Password" autocomplete="current-password" />
            {move || reset_done().then(|| view! {
                <p class="form-note" role="status">"Your password is changed. Log in with the new one."</p>
            })}
            {move || account_deleted().then(|| view! {
                <p class="form-note" role="status">"Your account is deleted. Thank you for chatting with us."</p>
            })}
            {move || error().map(|error| view! { <p class="form-error" role="alert">{error.to_string()}</p> })}
            <button class="btn btn-primary" type="submit" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
            </button>
        </ActionForm>
        <p class="auth-switch"><A href="/forgot-password">"Forgot your password?"</A></p>
        <p class="auth-switch">"New here? " <A href="/register">"Create an account"</A></p>
        </AuthCard>
    }
}
